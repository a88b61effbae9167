package notify

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func TestRenderMatchesGoldenFiles(t *testing.T) {
	due := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC) // 17:00 in Shanghai
	ack := Content{CaseNumber: "CD-20261122-000042", CustomerName: "张三", ExpectedAnswerAt: due, TimeZone: "Asia/Shanghai"}
	provisional := ack
	provisional.Provisional = true
	moved := Content{CaseNumber: "CD-20261122-000042", CustomerName: "张三", TimeZone: "Asia/Shanghai",
		PreviousAnswerAt: due, ExpectedAnswerAt: due.Add(72 * time.Hour), Provisional: true, ChangeReason: ChangeCalendarYearLoaded}
	closed := moved
	closed.Provisional, closed.ChangeReason = false, ChangeBranchClosure
	answer := Content{CaseNumber: "CD-20261122-000042", CustomerName: "张三", TimeZone: "Asia/Shanghai", ExpectedAnswerAt: due,
		Answer: "经核实，柜员录入收款账号时错了一位。\n款项已于今日重新汇出，手续费已退还。\x1b[2J"}
	tests := []struct {
		name     string
		template Template
		lang     Language
		content  Content
		golden   string
		want     []string
	}{
		{"a Chinese customer reads the date in the branch's zone", TemplateCaseAcknowledgment, LanguageZhCN, ack,
			"case_acknowledgment.zh-CN.golden", []string{"CD-20261122-000042", "2026年11月23日 17:00"}},
		{"an English-speaking customer sees the zone offset too", TemplateCaseAcknowledgment, LanguageEn, ack,
			"case_acknowledgment.en.golden", []string{"CD-20261122-000042", "23 Nov 2026 17:00 (GMT+08:00)"}},
		{"a provisional date is only expected, in Chinese", TemplateCaseAcknowledgment, LanguageZhCN, provisional,
			"case_acknowledgment.provisional.zh-CN.golden", []string{"预计在 2026年11月23日 17:00 前", "以国务院公布的节假日安排为准"}},
		{"a provisional date is only expected, in English", TemplateCaseAcknowledgment, LanguageEn, provisional,
			"case_acknowledgment.provisional.en.golden",
			[]string{"expected by 23 Nov 2026 17:00 (GMT+08:00) (subject to the official holiday schedule)"}},
		{"a date moved by a published holiday schedule, in Chinese", TemplateCaseDateMoved, LanguageZhCN, moved,
			"case_date_moved.zh-CN.golden", []string{"2026年11月23日 17:00", "预计 2026年11月26日 17:00", "节假日安排已经公布"}},
		{"a date moved by a branch closure, in English", TemplateCaseDateMoved, LanguageEn, closed,
			"case_date_moved.en.golden", []string{"23 Nov 2026 17:00 (GMT+08:00)", "26 Nov 2026 17:00 (GMT+08:00)", "branch handling your case was closed"}},
		{"the answer, in Chinese, keeps its lines and loses control characters", TemplateCaseAnswer, LanguageZhCN, answer,
			"case_answer.zh-CN.golden", []string{"柜员录入收款账号时错了一位。\n款项已于今日重新汇出", "30日内", "2026年11月23日 17:00"}},
		{"the answer, in English", TemplateCaseAnswer, LanguageEn, answer,
			"case_answer.en.golden", []string{"our answer is:", "review within 30 days"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, err := Render(tt.template, tt.lang, tt.content)
			if err != nil {
				t.Fatal(err)
			}
			if msg.Language != tt.lang {
				t.Errorf("language = %q, want %q", msg.Language, tt.lang)
			}
			if strings.ContainsAny(msg.Subject, "\r\n") {
				t.Errorf("subject spans lines: %q", msg.Subject)
			}
			got := "Subject: " + msg.Subject + "\n\n" + msg.Body
			for _, w := range tt.want {
				if !strings.Contains(msg.Body, w) {
					t.Errorf("body lacks %q", w)
				}
			}
			if !strings.Contains(msg.Subject, "CD-20261122-000042") {
				t.Errorf("subject lacks the case number: %q", msg.Subject)
			}
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

// TestProvisionalWording covers both templates in both languages with and
// without a provisional date: the hedge appears exactly when the date may
// still move.
func TestProvisionalWording(t *testing.T) {
	due := time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC)
	hedges := map[Language][]string{
		LanguageZhCN: {"预计", "该日期按法定节假日推算，以国务院公布的节假日安排为准。"},
		LanguageEn:   {"expected", "(subject to the official holiday schedule)"},
	}
	for _, tmpl := range []Template{TemplateCaseAcknowledgment, TemplateCaseDateMoved} {
		for lang, hedge := range hedges {
			for _, provisional := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%s/provisional=%v", tmpl, lang, provisional), func(t *testing.T) {
					msg, err := Render(tmpl, lang, Content{CaseNumber: "CD-1", ExpectedAnswerAt: due, TimeZone: "Asia/Shanghai",
						Provisional: provisional, PreviousAnswerAt: due.Add(-24 * time.Hour), ChangeReason: ChangeCalendarYearLoaded})
					if err != nil {
						t.Fatal(err)
					}
					date, _ := FormatTime(due, "Asia/Shanghai", lang)
					if !strings.Contains(msg.Body, date) {
						t.Errorf("body lacks the date %q:\n%s", date, msg.Body)
					}
					for _, h := range hedge {
						if strings.Contains(msg.Body, h) != provisional {
							t.Errorf("body holds %q: %v, want %v:\n%s", h, !provisional, provisional, msg.Body)
						}
					}
				})
			}
		}
	}
}

func TestADateMoveNamesItsReasonInPlainWords(t *testing.T) {
	from := time.Date(2026, 10, 8, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		reason string
		lang   Language
		want   string
	}{
		{ChangeCalendarYearLoaded, LanguageZhCN, "国家节假日安排已经公布，我们据此重新计算了工作日。"},
		{ChangeBranchClosure, LanguageZhCN, "受理网点在部分日期暂停营业，这些日期不计入工作日。"},
		{"something_new", LanguageZhCN, "我们的工作日安排有变化，据此重新计算了答复时间。"},
		{ChangeCalendarYearLoaded, LanguageEn, "The official public holiday schedule has been published"},
		{ChangeBranchClosure, LanguageEn, "The branch handling your case was closed on some days"},
		{"something_new", LanguageEn, "Our working calendar has changed"},
	}
	for _, tt := range tests {
		t.Run(tt.reason+"/"+string(tt.lang), func(t *testing.T) {
			msg, err := Render(TemplateCaseDateMoved, tt.lang, Content{CaseNumber: "CD-1", TimeZone: "Asia/Shanghai",
				PreviousAnswerAt: from, ExpectedAnswerAt: from.Add(48 * time.Hour), ChangeReason: tt.reason})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(msg.Body, tt.want) {
				t.Errorf("body lacks %q:\n%s", tt.want, msg.Body)
			}
			if strings.Contains(msg.Body, tt.reason) {
				t.Errorf("body shows the reason code %q", tt.reason)
			}
		})
	}
}

func TestOnlyALaterDateIsApologisedFor(t *testing.T) {
	from := time.Date(2026, 10, 8, 9, 0, 0, 0, time.UTC)
	apologies := map[Language]string{LanguageZhCN: "给您带来不便，敬请谅解。", LanguageEn: "We apologise for the inconvenience."}
	for lang, apology := range apologies {
		for _, later := range []bool{false, true} {
			to := from.Add(-24 * time.Hour)
			if later {
				to = from.Add(24 * time.Hour)
			}
			msg, err := Render(TemplateCaseDateMoved, lang, Content{CaseNumber: "CD-1", TimeZone: "Asia/Shanghai",
				PreviousAnswerAt: from, ExpectedAnswerAt: to, ChangeReason: ChangeCalendarYearLoaded})
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(msg.Body, apology) != later {
				t.Errorf("%s, later %v:\n%s", lang, later, msg.Body)
			}
		}
	}
}

// TestANameWithLineBreaksStaysOnItsLine: the customer's name is data. Line
// breaks in it must neither reach a header nor start lines of their own.
func TestANameWithLineBreaksStaysOnItsLine(t *testing.T) {
	due := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	name := "张三\r\nBcc: evil@example.com\n\n\u2028Subject: refund\x00"
	greetings := map[Language]string{
		LanguageZhCN: "尊敬的张三 Bcc: evil@example.com Subject: refund：\n",
		LanguageEn:   "Dear 张三 Bcc: evil@example.com Subject: refund,\n",
	}
	for _, tmpl := range []Template{TemplateCaseAcknowledgment, TemplateCaseDateMoved} {
		for lang, greeting := range greetings {
			for _, provisional := range []bool{false, true} {
				msg, err := Render(tmpl, lang, Content{CaseNumber: "CD-1\r\nBcc: x@example.com", CustomerName: name,
					ExpectedAnswerAt: due, PreviousAnswerAt: due.Add(-time.Hour), TimeZone: "Asia/Shanghai", Provisional: provisional})
				if err != nil {
					t.Fatal(err)
				}
				if strings.ContainsAny(msg.Subject, "\r\n\u2028") {
					t.Errorf("%s/%s: subject spans lines: %q", tmpl, lang, msg.Subject)
				}
				if !strings.HasPrefix(msg.Body, greeting) {
					t.Errorf("%s/%s: body starts %q, want %q", tmpl, lang, msg.Body[:min(len(msg.Body), 60)], greeting)
				}
				for _, line := range strings.Split(msg.Body, "\n") {
					if strings.HasPrefix(line, "Bcc:") || strings.HasPrefix(line, "Subject:") || strings.ContainsAny(line, "\r\x00\u2028") {
						t.Errorf("%s/%s: the name made a line of its own: %q", tmpl, lang, line)
					}
				}
			}
		}
	}
}

func TestSingleLine(t *testing.T) {
	for in, want := range map[string]string{
		"  张三  ":                  "张三",
		"John\r\nSmith":           "John Smith",
		"a\tb\u2028c\u0085d\x07e": "a b c d e",
		"":                        "",
	} {
		if got := SingleLine(in); got != want {
			t.Errorf("SingleLine(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRenderWithoutANameGreetsTheCustomer(t *testing.T) {
	at := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	for _, tmpl := range []Template{TemplateCaseAcknowledgment, TemplateCaseDateMoved} {
		for lang, greeting := range map[Language]string{LanguageZhCN: "尊敬的客户：", LanguageEn: "Dear customer,"} {
			msg, err := Render(tmpl, lang, Content{CaseNumber: "CD-1", ExpectedAnswerAt: at, PreviousAnswerAt: at.Add(-time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(msg.Body, greeting) {
				t.Errorf("%s %s body starts %q, want %q", tmpl, lang, msg.Body[:min(len(msg.Body), 30)], greeting)
			}
		}
	}
}

func TestADateMoveWithoutThePreviousDateIsAnError(t *testing.T) {
	_, err := Render(TemplateCaseDateMoved, LanguageZhCN, Content{CaseNumber: "CD-1", ExpectedAnswerAt: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)})
	if err == nil {
		t.Fatal("want an error")
	}
}

func TestRenderRejectsAnUnknownZone(t *testing.T) {
	_, err := Render(TemplateCaseAcknowledgment, LanguageZhCN, Content{CaseNumber: "CD-1", TimeZone: "Mars/Olympus"})
	if err == nil {
		t.Fatal("want an error for an unknown zone")
	}
}

func TestRenderUnknownTemplateIsAnError(t *testing.T) {
	if _, err := Render("no_such_template", LanguageEn, Content{}); err == nil {
		t.Fatal("want an error")
	}
}

func TestFormatTime(t *testing.T) {
	at := time.Date(2026, 1, 5, 1, 30, 0, 0, time.UTC)
	tests := []struct {
		name string
		zone string
		lang Language
		want string
	}{
		{"Chinese uses year, month and day characters", "Asia/Shanghai", LanguageZhCN, "2026年1月5日 09:30"},
		{"English names the offset", "Asia/Shanghai", LanguageEn, "5 Jan 2026 09:30 (GMT+08:00)"},
		{"an empty zone means China", "", LanguageEn, "5 Jan 2026 09:30 (GMT+08:00)"},
		{"a branch abroad shows its own offset", "Europe/London", LanguageEn, "5 Jan 2026 01:30 (GMT+00:00)"},
	}
	// A limit ending at midnight is the end of the day before: "24:00".
	midnight := time.Date(2026, 1, 4, 16, 0, 0, 0, time.UTC) // 2026-01-05 00:00 in Shanghai
	for lang, want := range map[Language]string{LanguageZhCN: "2026年1月4日 24:00", LanguageEn: "4 Jan 2026 24:00 (GMT+08:00)"} {
		if got, err := FormatTime(midnight, "Asia/Shanghai", lang); err != nil || got != want {
			t.Errorf("midnight in %s: %q %v, want %q", lang, got, err, want)
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FormatTime(at, tt.zone, tt.lang)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLanguageFor(t *testing.T) {
	tests := []struct {
		tag  string
		want Language
	}{
		{"", LanguageZhCN},
		{"zh-CN", LanguageZhCN},
		{"zh-Hant-HK", LanguageZhCN},
		{"en", LanguageEn},
		{"en-GB", LanguageEn},
		{"EN-us", LanguageEn},
		{"eng", LanguageZhCN}, // not an "en" tag; Chinese is the safe default
		{"fr", LanguageZhCN},
	}
	for _, tt := range tests {
		if got := LanguageFor(tt.tag); got != tt.want {
			t.Errorf("LanguageFor(%q) = %q, want %q", tt.tag, got, tt.want)
		}
	}
}

func TestAnAnswerMessageNeedsTheAnswer(t *testing.T) {
	if _, err := Render(TemplateCaseAnswer, LanguageZhCN, Content{CaseNumber: "CD-1", TimeZone: "Asia/Shanghai",
		ExpectedAnswerAt: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}); err == nil {
		t.Fatal("an answer message without the answer was rendered")
	}
}

func TestADateMovedByAPauseOrAReopeningSaysSo(t *testing.T) {
	due := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	for reason, want := range map[string]string{ChangeResumed: "暂停了计时", ChangeReopened: "重新受理"} {
		msg, err := Render(TemplateCaseDateMoved, LanguageZhCN, Content{CaseNumber: "CD-1", TimeZone: "Asia/Shanghai",
			PreviousAnswerAt: due, ExpectedAnswerAt: due.Add(72 * time.Hour), ChangeReason: reason})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(msg.Body, want) || strings.Contains(msg.Body, "工作日安排有变化") {
			t.Errorf("%s: body %q, want it to say %q and not blame the calendar", reason, msg.Body, want)
		}
	}
}

// A date moved by an appraisal's end, a reclassification or a move to
// another branch says why, in both languages, and does not blame the
// calendar.
func TestADateMovedByAppraisalComplexityOrBranchSaysSo(t *testing.T) {
	due := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	want := map[string]map[Language]string{
		ChangeResumedAppraisal: {LanguageZhCN: "第三方鉴定", LanguageEn: "appraisal"},
		ChangeComplexity:       {LanguageZhCN: "复杂程度", LanguageEn: "how complex"},
		ChangeBranch:           {LanguageZhCN: "其他网点", LanguageEn: "another of our branches"},
	}
	for reason, byLang := range want {
		for lang, phrase := range byLang {
			msg, err := Render(TemplateCaseDateMoved, lang, Content{CaseNumber: "CD-1", TimeZone: "Asia/Shanghai",
				PreviousAnswerAt: due, ExpectedAnswerAt: due.Add(96 * time.Hour), ChangeReason: reason})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(msg.Body, phrase) || strings.Contains(msg.Body, "工作日安排有变化") || strings.Contains(msg.Body, "working calendar has changed") {
				t.Errorf("%s in %s: body %q, want it to say %q and not blame the calendar", reason, lang, msg.Body, phrase)
			}
		}
	}
}
