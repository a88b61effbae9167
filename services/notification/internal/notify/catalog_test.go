package notify

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// Every shipped template, in every language, on every channel, renders the
// sample case exactly as its golden file says (go test -update rewrites
// them; review the diff).
func TestEveryShippedTemplateMatchesItsGoldenFile(t *testing.T) {
	templates := ShippedTemplates()
	if len(templates) < 11 {
		t.Fatalf("only %d shipped templates: %v", len(templates), templates)
	}
	for _, tmpl := range templates {
		for _, lang := range Languages {
			if _, ok := ShippedSource(tmpl, lang); !ok {
				t.Errorf("%s has no %s wording", tmpl, lang)
				continue
			}
			for _, ch := range TemplateChannels {
				k := TemplateKey{Template: tmpl, Channel: ch, Language: lang}
				t.Run(k.String(), func(t *testing.T) {
					m, bank, err := Preview(context.Background(), nil, "bank-a", k, "")
					if err != nil {
						t.Fatal(err)
					}
					if bank {
						t.Error("a preview without a store used a bank's wording")
					}
					if m.Subject == "" || m.Body == "" {
						t.Errorf("empty subject or body: %+v", m)
					}
					if ch == ChannelSMS {
						if m.SMS == "" || utf8.RuneCountInString(m.SMS) > SMSMaxRunes {
							t.Errorf("SMS %q: %d characters", m.SMS, utf8.RuneCountInString(m.SMS))
						}
						if !strings.Contains(m.SMS, "CD-20261122-000042") && !strings.Contains(m.SMS, "0194f0c1-0000-7000-8000-00000000a001") {
							t.Errorf("SMS %q names neither the case nor the notice", m.SMS)
						}
					}
					got := "subject: " + m.Subject + "\n\n" + m.Body
					if ch == ChannelSMS {
						got = "sms: " + m.SMS + "\n"
					}
					if ch == ChannelEmail {
						got += "\n--- html ---\n" + m.HTML + "\n"
					}
					golden(t, filepath.Join("golden", string(tmpl)+"."+string(lang)+"."+string(ch)+".golden"), got)
				})
			}
		}
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\n--- got ---\n%s\n--- want ---\n%s", name, got, want)
	}
}

// A name with line breaks, header-like text and markup is data in every
// part: one line in the text, escaped in the HTML.
func TestCustomerTextIsDataInEveryPart(t *testing.T) {
	c := SampleContent(TemplateCaseAcknowledgment)
	c.CustomerName = "王\r\nBcc: x@evil.example\r\n<script>alert(1)</script>"
	for _, lang := range Languages {
		m, err := Shipped{}.Render(context.Background(), "bank-a", ChannelEmail, TemplateCaseAcknowledgment, lang, c)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(m.Body, "\n") {
			if strings.HasPrefix(line, "Bcc:") {
				t.Errorf("%s body has a line of the name's: %q", lang, line)
			}
		}
		if strings.Contains(m.HTML, "<script>") || !strings.Contains(m.HTML, "&lt;script&gt;") {
			t.Errorf("%s HTML does not escape the name: %s", lang, m.HTML)
		}
	}
}

func TestABanksOwnWordingIsCheckedBeforeItIsKept(t *testing.T) {
	sms := TemplateKey{Template: TemplateCaseAcknowledgment, Channel: ChannelSMS, Language: LanguageZhCN}
	mail := TemplateKey{Template: TemplateCaseAcknowledgment, Channel: ChannelEmail, Language: LanguageZhCN}
	for _, tc := range []struct {
		name   string
		k      TemplateKey
		source string
		want   string
	}{
		{"unknown template", TemplateKey{Template: "case_bonus", Channel: ChannelEmail, Language: LanguageZhCN}, `{{define "subject"}}x{{end}}{{define "body"}}y{{end}}`, `template "case_bonus" is not one counterdesk sends`},
		{"does not parse", mail, `{{define "subject"}}x{{end}}{{define "body"}}{{if .Late}}y{{end}}`, "unexpected EOF"},
		{"no body", mail, `{{define "subject"}}编号 {{.CaseNumber}}{{end}}`, `must define {{define "body"}}`},
		{"no sms block", sms, `{{define "subject"}}x{{end}}{{define "body"}}y{{end}}`, `must define {{define "sms"}}`},
		{"unknown field", mail, `{{define "subject"}}{{.CaseNumbr}}{{end}}{{define "body"}}y{{end}}`, "can't evaluate field CaseNumbr"},
		{"too long", sms, `{{define "sms"}}` + strings.Repeat("您好", 141) + `{{end}}`, "the SMS is 282 characters with the sample case; at most 280"},
		{"empty subject", mail, `{{define "subject"}} {{end}}{{define "body"}}y{{end}}`, "the subject renders empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := CheckSource(tc.k, tc.source)
			if !errors.Is(err, ErrInvalidTemplate) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want ErrInvalidTemplate saying %q", err, tc.want)
			}
		})
	}
	m, err := CheckSource(sms, `{{define "sms"}}【农商银行】您的问题已受理，编号{{.CaseNumber}}，{{.ExpectedAnswer}}前答复。{{end}}`)
	if err != nil {
		t.Fatal(err)
	}
	if m.SMS != "【农商银行】您的问题已受理，编号CD-20261122-000042，2026年11月23日 17:00前答复。" {
		t.Errorf("sample SMS %q", m.SMS)
	}
}

type memTemplates map[string]BankTemplate

func (m memTemplates) BankTemplate(_ context.Context, tenant string, k TemplateKey) (BankTemplate, bool, error) {
	bt, ok := m[tenant+"/"+k.String()]
	return bt, ok, nil
}

func TestTheBanksWordingIsSentWhereItKeepsOneAndForgottenOnChange(t *testing.T) {
	k := TemplateKey{Template: TemplateCaseAcknowledgment, Channel: ChannelSMS, Language: LanguageZhCN}
	store := memTemplates{"bank-a/" + k.String(): {Key: k, Source: `{{define "sms"}}【甲银行】编号{{.CaseNumber}}已受理。{{end}}`}}
	now := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	r := &BankRenderer{Store: store, CacheFor: time.Minute, Now: func() time.Time { return now }}
	c := SampleContent(TemplateCaseAcknowledgment)
	render := func(tenant string, ch Channel) Message {
		t.Helper()
		m, err := r.Render(context.Background(), tenant, ch, TemplateCaseAcknowledgment, LanguageZhCN, c)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	if got := render("bank-a", ChannelSMS).SMS; got != "【甲银行】编号CD-20261122-000042已受理。" {
		t.Errorf("bank-a SMS %q", got)
	}
	if got := render("bank-b", ChannelSMS).SMS; !strings.HasPrefix(got, "您反映的问题已受理") {
		t.Errorf("bank-b (no wording of its own) SMS %q", got)
	}
	if got := render("bank-a", ChannelEmail).Subject; !strings.Contains(got, "已受理") {
		t.Errorf("bank-a's e-mail (no wording of its own) %q", got)
	}
	store["bank-a/"+k.String()] = BankTemplate{Key: k, Source: `{{define "sms"}}【甲银行】新措辞{{.CaseNumber}}{{end}}`}
	if got := render("bank-a", ChannelSMS).SMS; got != "【甲银行】编号CD-20261122-000042已受理。" {
		t.Errorf("within the cache time: %q", got)
	}
	r.Forget("bank-a", k)
	if got := render("bank-a", ChannelSMS).SMS; got != "【甲银行】新措辞CD-20261122-000042" {
		t.Errorf("after Forget: %q", got)
	}
}

// An acknowledgment sent after its promised time says so, in both
// languages and on both channels, instead of promising a time gone by.
func TestALateAcknowledgmentApologisesInsteadOfPromising(t *testing.T) {
	c := SampleContent(TemplateCaseAcknowledgment)
	c.Late = true
	for lang, want := range map[Language][]string{
		LanguageZhCN: {"延迟发出", "未能在原定的 2026年11月23日 17:00 前", "尽快"},
		LanguageEn:   {"late", "apologise", "23 Nov 2026 17:00"},
	} {
		for _, ch := range []Channel{ChannelEmail, ChannelSMS} {
			m, err := Shipped{}.Render(context.Background(), "bank-a", ch, TemplateCaseAcknowledgment, lang, c)
			if err != nil {
				t.Fatal(err)
			}
			text := m.Body
			if ch == ChannelSMS {
				text = m.SMS
			}
			for _, w := range want {
				if !strings.Contains(text, w) {
					t.Errorf("%s %s: %q lacks %q", lang, ch, text, w)
				}
			}
			if strings.Contains(text, "我们将在") || strings.Contains(text, "You will have our answer by") {
				t.Errorf("%s %s still promises the passed time: %q", lang, ch, text)
			}
		}
	}
}
