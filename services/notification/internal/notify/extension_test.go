// Protects what the customer is told when a complaint's regulatory decision
// limit is extended: that they are told at all (whatever the acknowledgment
// promised), and that the message speaks of an approved extension of the
// handling time limit, not of a calendar change, in both languages.
package notify

import (
	"strings"
	"testing"
	"time"
)

func TestAnExtensionOfTheRegulatoryLimitIsToldWhateverWasPromised(t *testing.T) {
	old := time.Date(2026, 12, 5, 16, 0, 0, 0, time.UTC) // 2026-12-06 00:00 in Shanghai: the end of 12-05, shown as 24:00
	extension := Recount{Kind: KindRegulatoryDecision, OldDueAt: old, NewDueAt: old.Add(15 * 24 * time.Hour),
		Reason: ChangeRegulatoryExtension, TimeZone: "Asia/Shanghai"}
	tests := []struct {
		name    string
		promise Promise
		recount Recount
		want    bool
	}{
		{"an acknowledgment promising the first answer", Promise{Kind: KindFirstAnswer, DueAt: old.Add(-10 * 24 * time.Hour)}, extension, true},
		{"an acknowledgment promising the resolution", Promise{Kind: KindResolution, DueAt: old.Add(-5 * 24 * time.Hour)}, extension, true},
		{"an acknowledgment recorded without its kind", Promise{DueAt: old.Add(-10 * 24 * time.Hour)}, extension, true},
		{"an acknowledgment never read is still not built on", Promise{Kind: KindFirstAnswer, DueAt: old, Lapsed: true}, extension, false},
		{"the regulatory limit moved by a calendar change is not the customer's", Promise{Kind: KindFirstAnswer, DueAt: old},
			Recount{Kind: KindRegulatoryDecision, OldDueAt: old, NewDueAt: old.Add(24 * time.Hour), Reason: ChangeBranchClosure, TimeZone: "Asia/Shanghai"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, ok, err := DateMoveFor(tt.promise, tt.recount)
			if err != nil {
				t.Fatal(err)
			}
			if ok != tt.want {
				t.Fatalf("told = %v, want %v", ok, tt.want)
			}
			if ok && (m.Reason != ChangeRegulatoryExtension || !m.PreviousAnswerAt.Equal(tt.recount.OldDueAt) || !m.ExpectedAnswerAt.Equal(tt.recount.NewDueAt)) {
				t.Errorf("move = %+v", m)
			}
		})
	}
}

func TestAnExtendedLimitSaysItWasExtendedWithApproval(t *testing.T) {
	old := time.Date(2026, 12, 5, 16, 0, 0, 0, time.UTC)
	c := Content{CaseNumber: "CD-20261120-000007", CustomerName: "李四", TimeZone: "Asia/Shanghai",
		PreviousAnswerAt: old, ExpectedAnswerAt: old.Add(15 * 24 * time.Hour), ChangeReason: ChangeRegulatoryExtension}
	tests := []struct {
		lang               Language
		subject, want, not []string
	}{
		{LanguageZhCN, []string{"处理期限已延长", "CD-20261120-000007"},
			[]string{"处理期限已延长", "情况较为复杂", "经我行审批", "原处理期限：2026年12月5日 24:00", "延长后处理期限：2026年12月20日 24:00", "敬请谅解"},
			[]string{"工作日安排有变化", "答复时间有调整", "调整后答复时间"}},
		{LanguageEn, []string{"time limit", "has been extended", "CD-20261120-000007"},
			[]string{"has been extended", "approved by the bank", "Previous time limit: 5 Dec 2026 24:00 (GMT+08:00)",
				"New time limit: 20 Dec 2026 24:00 (GMT+08:00)", "apologise"},
			[]string{"working calendar has changed", "answer date", "New date:"}},
	}
	for _, tt := range tests {
		t.Run(string(tt.lang), func(t *testing.T) {
			msg, err := Render(TemplateCaseDateMoved, tt.lang, c)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.subject {
				if !strings.Contains(msg.Subject, w) {
					t.Errorf("subject %q lacks %q", msg.Subject, w)
				}
			}
			for _, w := range tt.want {
				if !strings.Contains(msg.Body, w) {
					t.Errorf("body lacks %q:\n%s", w, msg.Body)
				}
			}
			for _, w := range tt.not {
				if strings.Contains(msg.Subject+msg.Body, w) {
					t.Errorf("message says %q, which is not why the date moved:\n%s\n%s", w, msg.Subject, msg.Body)
				}
			}
		})
	}
}
