package notify

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func TestRenderMatchesGoldenFiles(t *testing.T) {
	due := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC) // 17:00 in Shanghai
	tests := []struct {
		name   string
		lang   Language
		golden string
		want   []string
	}{
		{"a Chinese customer reads the date in the branch's zone", LanguageZhCN, "case_acknowledgment.zh-CN.golden",
			[]string{"CD-20261122-000042", "2026年11月23日 17:00"}},
		{"an English-speaking customer sees the zone offset too", LanguageEn, "case_acknowledgment.en.golden",
			[]string{"CD-20261122-000042", "23 Nov 2026 17:00 (GMT+08:00)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, err := Render(TemplateCaseAcknowledgment, tt.lang, Content{
				CaseNumber: "CD-20261122-000042", CustomerName: "张三",
				ExpectedAnswerAt: due, TimeZone: "Asia/Shanghai",
			})
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

func TestRenderWithoutANameGreetsTheCustomer(t *testing.T) {
	for lang, greeting := range map[Language]string{LanguageZhCN: "尊敬的客户：", LanguageEn: "Dear customer,"} {
		msg, err := Render(TemplateCaseAcknowledgment, lang, Content{CaseNumber: "CD-1", ExpectedAnswerAt: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(msg.Body, greeting) {
			t.Errorf("%s body starts %q, want %q", lang, msg.Body[:min(len(msg.Body), 30)], greeting)
		}
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
