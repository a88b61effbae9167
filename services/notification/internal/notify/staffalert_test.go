package notify

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func staffAlert(t Template, level, audience string) Delivery {
	due := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC) // 17:00 in Shanghai
	a := DeadlineAlert{Template: t, Kind: KindFirstAnswer, Level: level, DueAt: due, TimeZone: "Asia/Shanghai",
		CaseNumber: "CD-20261122-000042"}
	r := StaffRecipient{ID: "st-pudong-complaints", Name: "陈静 Chen Jing", Email: "st-pudong-complaints@demo-bank.example", Audience: audience}
	return NewStaffAlertDelivery("0194f0c1-0000-7000-8000-0000000000d1", "demo-bank", "0194f0c1-0000-7000-8000-0000000000c1",
		a, r, "0194f0c1-0000-7000-8000-0000000000e1", nil, due.Add(-time.Hour))
}

func TestStaffAlertsMatchGoldenFiles(t *testing.T) {
	tests := []struct {
		name   string
		d      Delivery
		lang   Language
		golden string
		want   []string
	}{
		{"a warning to the owner, in Chinese", staffAlert(TemplateStaffDeadlineWarned, LevelYellow, AudienceOwner), LanguageZhCN,
			"staff_deadline_warned.zh-CN.golden", []string{"黄色预警", "答复客户", "2026年11月23日 17:00（网点当地时间）", "请尽快答复客户。"}},
		{"a warning to the owner, in English", staffAlert(TemplateStaffDeadlineWarned, LevelRed, AudienceOwner), LanguageEn,
			"staff_deadline_warned.en.golden", []string{"red warning", "first-answer deadline", "23 Nov 2026 17:00 (GMT+08:00)", "Answer the customer."}},
		{"a breach to the owner, in Chinese", staffAlert(TemplateStaffDeadlineBreached, "", AudienceOwner), LanguageZhCN,
			"staff_deadline_breached.owner.zh-CN.golden", []string{"您负责的案件", "已超时", "超时原因请在系统中记录"}},
		{"a breach to the level above, in Chinese", staffAlert(TemplateStaffDeadlineBreached, "", AudienceAbove), LanguageZhCN,
			"staff_deadline_breached.above.zh-CN.golden", []string{"按规定上报至您这一级", "认领该案件并督办"}},
		{"a breach to the owner, in English", staffAlert(TemplateStaffDeadlineBreached, "", AudienceOwner), LanguageEn,
			"staff_deadline_breached.owner.en.golden", []string{"which you own, has passed", "Record in counterdesk why"}},
		{"a breach to the level above, in English", staffAlert(TemplateStaffDeadlineBreached, "", AudienceAbove), LanguageEn,
			"staff_deadline_breached.above.en.golden", []string{"escalated to you as the level above", "Claim the case"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, err := RenderStaffAlert(tt.d, tt.lang)
			if err != nil {
				t.Fatal(err)
			}
			if msg.Language != tt.lang || strings.ContainsAny(msg.Subject, "\r\n") || !strings.Contains(msg.Subject, "CD-20261122-000042") {
				t.Errorf("language %s, subject %q", msg.Language, msg.Subject)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg.Body, w) {
					t.Errorf("body lacks %q:\n%s", w, msg.Body)
				}
			}
			got := "Subject: " + msg.Subject + "\n\n" + msg.Body
			path := filepath.Join("testdata", tt.golden)
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("read golden file (run with -update to create it): %v", err)
			}
			if got != string(want) {
				t.Errorf("rendered message differs from %s:\n--- got\n%s\n--- want\n%s", path, got, want)
			}
		})
	}
}

// Every deadline slatimer arms reads in words, with what to do, in both
// languages; a kind added later reads as its name.
func TestEveryDeadlineKindHasWordsAndAnAction(t *testing.T) {
	for _, kind := range []string{"DEADLINE_KIND_ACKNOWLEDGE", "DEADLINE_KIND_HANDOVER_PICKUP", "DEADLINE_KIND_EQUIPMENT_RESPONSE",
		"DEADLINE_KIND_MAJOR_REPORT", "DEADLINE_KIND_FIRST_ANSWER", "DEADLINE_KIND_RESOLUTION", "DEADLINE_KIND_REGULATORY_DECISION",
		"DEADLINE_KIND_RETURN_VISIT"} {
		for _, lang := range []Language{LanguageZhCN, LanguageEn} {
			name, action := DeadlineWords(kind, lang)
			if name == "" || strings.Contains(name, "DEADLINE_KIND") || action == "" {
				t.Errorf("%s in %s: %q, %q", kind, lang, name, action)
			}
		}
	}
	if name, action := DeadlineWords("DEADLINE_KIND_NEW_THING", LanguageEn); name != "new thing" || action == "" {
		t.Errorf("an unknown kind in English: %q, %q", name, action)
	}
}

func TestAStaffAlertNamesNoMoreThanItShould(t *testing.T) {
	d := staffAlert(TemplateStaffDeadlineWarned, LevelOrange, AudienceOwner)
	d.Staff.Name = "陈静\r\nBcc: everyone@example.com"
	d.CaseNumber = ""
	d.Provisional = true
	for _, lang := range []Language{LanguageZhCN, LanguageEn} {
		msg, err := RenderStaffAlert(d, lang)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(msg.Body, "\nBcc:") {
			t.Errorf("a name with a line break added a line:\n%s", msg.Body)
		}
		if !strings.Contains(msg.Subject, d.CaseID) {
			t.Errorf("without its number the case is named by its id: %q", msg.Subject)
		}
		hedge := map[Language]string{LanguageZhCN: "以国务院公布的节假日安排为准", LanguageEn: "official holiday schedule"}[lang]
		if !strings.Contains(msg.Body, hedge) {
			t.Errorf("a provisional due time is not hedged in %s:\n%s", lang, msg.Body)
		}
	}
	// The level above asked to claim a pick-up is not asked twice.
	p := staffAlert(TemplateStaffDeadlineBreached, "", AudienceAbove)
	p.DeadlineKind = "DEADLINE_KIND_HANDOVER_PICKUP"
	msg, err := RenderStaffAlert(p, LanguageZhCN)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(msg.Body, "认领") != 1 {
		t.Errorf("pick-up breach to the level above:\n%s", msg.Body)
	}
}

func TestAMalformedStaffAlertIsRefused(t *testing.T) {
	for name, change := range map[string]func(*DeadlineAlert){
		"no kind":            func(a *DeadlineAlert) { a.Kind = "" },
		"no due time":        func(a *DeadlineAlert) { a.DueAt = time.Time{} },
		"an unknown level":   func(a *DeadlineAlert) { a.Level = "purple" },
		"an unknown zone":    func(a *DeadlineAlert) { a.TimeZone = "Mars/Olympus" },
		"a customer message": func(a *DeadlineAlert) { a.Template = TemplateCaseAcknowledgment },
	} {
		a := DeadlineAlert{Template: TemplateStaffDeadlineWarned, Kind: KindFirstAnswer, Level: LevelRed, DueAt: time.Now(), TimeZone: "Asia/Shanghai"} //nolint:forbidigo // any time will do
		change(&a)
		if a.Validate() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	ok := DeadlineAlert{Template: TemplateStaffDeadlineBreached, Kind: KindFirstAnswer, DueAt: time.Unix(1, 0)}
	if err := ok.Validate(); err != nil {
		t.Errorf("a breach (no level, the default zone): %v", err)
	}
}

func TestRecipientsAreTheOwnersAndForABreachTheLevelAbove(t *testing.T) {
	owners := []StaffRecipient{{ID: "cm-1"}, {ID: "cm-2"}, {ID: "cm-1"}}
	above := []StaffRecipient{{ID: "bh-1"}, {ID: "cm-2"}}
	ids := func(rs []StaffRecipient) string {
		var out []string
		for _, r := range rs {
			out = append(out, r.ID+":"+r.Audience)
		}
		return strings.Join(out, " ")
	}
	if got := ids(Recipients(TemplateStaffDeadlineWarned, owners, above)); got != "cm-1:owner cm-2:owner" {
		t.Errorf("a warning goes to %s", got)
	}
	if got := ids(Recipients(TemplateStaffDeadlineBreached, owners, above)); got != "cm-1:owner cm-2:owner bh-1:above" {
		t.Errorf("a breach goes to %s", got)
	}
}

func TestAStaffAlertIsKeptOncePerEventAndRecipientAndDueAtOnce(t *testing.T) {
	d := staffAlert(TemplateStaffDeadlineWarned, LevelRed, AudienceOwner)
	if !d.IsStaffAlert() || d.DedupKey != "0194f0c1-0000-7000-8000-0000000000e1/st-pudong-complaints" ||
		!d.NextAttemptAt.Equal(d.CreatedAt) || d.Status != StatusPending {
		t.Errorf("%+v", d)
	}
	if d.Outdated(d.ExpectedAnswerAt.Add(-time.Second)) || !d.Outdated(d.ExpectedAnswerAt) || d.OutdatedReason() != ReasonWarningPassed {
		t.Error("a warning is outdated exactly when its deadline is due")
	}
	if b := staffAlert(TemplateStaffDeadlineBreached, "", AudienceAbove); b.Outdated(b.ExpectedAnswerAt.Add(time.Hour)) {
		t.Error("a breach is told however late")
	}
}
