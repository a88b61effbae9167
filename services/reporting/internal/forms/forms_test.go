package forms_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/counterdesk/counterdesk/services/reporting/internal/forms"
)

func renderer(t *testing.T) *forms.Renderer {
	t.Helper()
	if _, err := os.Stat(forms.DefaultFontFile); err != nil {
		t.Fatalf("the CJK font of Debian's fonts-wqy-microhei is missing (tools/scripts/install-deps.sh installs it): %v", err)
	}
	zone, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	r, err := forms.NewRenderer(forms.DefaultFontFile, zone)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// text extracts a PDF's text with poppler's pdftotext, the way a reader
// (or a search index) sees it.
func text(t *testing.T, pdf []byte) string {
	t.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		t.Fatalf("pdftotext (Debian's poppler-utils, installed by tools/scripts/install-deps.sh) is needed to read the PDF: %v", err)
	}
	f := filepath.Join(t.TempDir(), "form.pdf")
	if err := os.WriteFile(f, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-raw", "-enc", "UTF-8", f, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

func sample() forms.Case {
	at := time.Date(2026, 11, 23, 2, 30, 0, 0, time.UTC) // 10:30 in Shanghai
	return forms.Case{
		Number: "CD-20261123-000042", Bank: "demo-bank", Branch: "br-sh-pudong", Region: "rg-east",
		Channel: "现场口头", Category: "业务办理延误", Severity: "复杂", Status: "处理中",
		Summary:     "排队等候超过一小时",
		Description: strings.Repeat("客户反映取号后等候时间过长，大堂经理未及时引导。", 8),
		OccurredAt:  at, ReceivedAt: at.Add(5 * time.Minute), RegisteredAt: at.Add(7 * time.Minute),
		ReportedBy: "st-teller-1", Owner: "st-cm-1",
		CustomerName: "张*", CustomerID: "110***********1234", CustomerPhone: "138****5678", CustomerTier: "金卡",
		Finding: "属实：当日窗口开放不足。", Substantiated: "是", VerifiedBy: "st-cm-1", VerifiedAt: at.Add(time.Hour),
		Answer: "已致歉并增开窗口。", RootCause: "流程设计", AnsweredBy: "st-cm-1", AnsweredAt: at.Add(2 * time.Hour),
		Steps: []forms.Step{
			{At: at.Add(7 * time.Minute), What: "登记", Actor: "st-teller-1", Text: "柜员登记"},
			{At: at.Add(time.Hour), What: "核实", Actor: "st-cm-1", Text: strings.Repeat("调取排队记录核对。", 10)},
		},
	}
}

func TestFormsArePDFsWhoseChineseTextReadsBack(t *testing.T) {
	r := renderer(t)
	now := time.Date(2026, 11, 24, 1, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		render func(forms.Case, time.Time) ([]byte, error)
		want   []string
	}{
		{name: "the register entry names its form, the case and what happened", render: r.RegisterEntry,
			want: []string{"柜面异常情况登记表", "CD-20261123-000042", "排队等候超过一小时", "业务办理延误", "核实结论", "网点负责人", "2026-11-23 10:30"}},
		{name: "the complaint sheet names its form, the case, its steps and the answer", render: r.ComplaintSheet,
			want: []string{"客户投诉处理单", "CD-20261123-000042", "投诉内容", "调取排队记录核对", "已致歉并增开窗口", "金卡", "138****5678"}},
	}
	notice := func(c forms.Case, now time.Time) ([]byte, error) {
		return r.RectificationNotice(forms.Notice{
			ID: "0193f5c2-7a10-7c3e-9d7e-4d1f2a3b4c5d", Bank: "demo-bank", Branch: "br-sh-pudong", Region: "rg-east",
			Fault: "窗口开放不足导致客户长时间等候", Cases: []string{c.Number}, DueDate: "2026-12-15",
			Status: "已下发", Overdue: true, IssuedBy: "st-sup-1", IssuedAt: now,
		}, now)
	}
	tests = append(tests, struct {
		name   string
		render func(forms.Case, time.Time) ([]byte, error)
		want   []string
	}{name: "the rectification notice names its form, the fault, the cases and the due date", render: notice,
		want: []string{"客户投诉整改通知单", "窗口开放不足导致客户长时间等候", "CD-20261123-000042", "2026-12-15", "已逾期", "整改措施"}})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pdf, err := tt.render(sample(), now)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
				t.Fatalf("not a PDF: starts %q", pdf[:min(len(pdf), 8)])
			}
			if len(pdf) > 2<<20 {
				t.Errorf("PDF is %d bytes: the font should be subset, not embedded whole", len(pdf))
			}
			got := strings.Join(strings.Fields(text(t, pdf)), "")
			for _, w := range tt.want {
				if !strings.Contains(got, strings.Join(strings.Fields(w), "")) {
					t.Errorf("PDF text lacks %q; text: %.400s", w, got)
				}
			}
		})
	}
}

func TestWrappedTextKeepsEveryCharacter(t *testing.T) {
	r := renderer(t)
	c := sample()
	c.Description = strings.Repeat("客户反映取号后等候时间过长，大堂经理未及时引导。", 6) +
		"\nThe customer, a foreign visitor, asked for an English reply about the remittance keyed to a wrong account."
	pdf, err := r.RegisterEntry(c, time.Date(2026, 11, 24, 1, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(strings.Fields(text(t, pdf)), "")
	if want := strings.Join(strings.Fields(c.Description), ""); !strings.Contains(got, want) {
		t.Errorf("the wrapped description lost characters:\n got %.600s\nwant %s", got, want)
	}
}

func TestALongDescriptionFlowsOntoMorePages(t *testing.T) {
	r := renderer(t)
	c := sample()
	c.Description = strings.Repeat("客户多次来电反映同一问题，要求书面答复。", 200)
	pdf, err := r.ComplaintSheet(c, time.Date(2026, 11, 24, 1, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	got := text(t, pdf)
	if !strings.Contains(got, "第 2 /") {
		t.Errorf("a long description did not reach a second page; footer text: %.200s", got[len(got)-min(len(got), 200):])
	}
}

func TestARendererRefusesAFontItCannotEmbed(t *testing.T) {
	dir := t.TempDir()
	ttc := filepath.Join(dir, "collection.ttc")
	if err := os.WriteFile(ttc, []byte("ttcf\x00\x02\x00\x00\x00\x00\x00\x01\x00\x00\xff\xff"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := forms.NewRenderer(ttc, nil); err == nil || !strings.Contains(err.Error(), "malformed font collection") {
		t.Errorf("NewRenderer(a broken .ttc) = %v, want an error saying the collection is malformed", err)
	}
	otf := filepath.Join(dir, "cff.otf")
	if err := os.WriteFile(otf, []byte("OTTO\x00\x01\x00\x00"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := forms.NewRenderer(otf, nil); err == nil || !strings.Contains(err.Error(), "not a TrueType font") {
		t.Errorf("NewRenderer(a CFF font) = %v, want an error saying it is not a TrueType font", err)
	}
	if _, err := forms.NewRenderer(filepath.Join(t.TempDir(), "missing.ttf"), nil); err == nil {
		t.Error("NewRenderer(a missing file) succeeded")
	}
}
