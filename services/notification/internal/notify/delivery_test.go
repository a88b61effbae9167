package notify

import (
	"errors"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)

func pending() Delivery {
	return NewDelivery("d1", "bank-a", "c1", ChannelEmail, TemplateCaseAcknowledgment,
		Acknowledgment{ExpectedAnswerAt: t0.Add(24 * time.Hour), TimeZone: "Asia/Shanghai"}, nil, t0)
}

func TestANewDeliveryIsPendingAndDueAtOnce(t *testing.T) {
	d := pending()
	if d.Status != StatusPending || !d.NextAttemptAt.Equal(t0) || d.Attempts != 0 {
		t.Fatalf("got %+v", d)
	}
}

func TestSendingRecordsTheMaskedRecipientAndTime(t *testing.T) {
	d := pending()
	if err := d.MarkSent(t0, LanguageEn, "z***@example.com"); err != nil {
		t.Fatal(err)
	}
	if d.Status != StatusSent || d.Attempts != 1 || !d.SentAt.Equal(t0) || d.Recipient != "z***@example.com" || d.Language != LanguageEn {
		t.Fatalf("got %+v", d)
	}
}

func TestAFailedAttemptIsRetriedWithBackoffUntilTheTenth(t *testing.T) {
	d := pending()
	now := t0
	for i := 1; i < MaxAttempts; i++ {
		if err := d.MarkFailed(now, LanguageZhCN, "smtp: connection refused", false); err != nil {
			t.Fatal(err)
		}
		if d.Status != StatusPending || d.Attempts != i || !d.NextAttemptAt.Equal(now.Add(Backoff(i))) {
			t.Fatalf("after attempt %d: %+v", i, d)
		}
		now = d.NextAttemptAt
	}
	if err := d.MarkFailed(now, LanguageZhCN, "smtp: connection refused", false); err != nil {
		t.Fatal(err)
	}
	if d.Status != StatusFailed || d.Attempts != MaxAttempts || d.LastError != "smtp: connection refused" {
		t.Fatalf("after the last attempt: %+v", d)
	}
}

func TestAPermanentFailureIsFinalAtOnce(t *testing.T) {
	d := pending()
	if err := d.MarkFailed(t0, LanguageZhCN, "smtp: recipient rejected (550)", true); err != nil {
		t.Fatal(err)
	}
	if d.Status != StatusFailed || d.Attempts != 1 {
		t.Fatalf("got %+v", d)
	}
}

func TestNoAddressSkipsTheDelivery(t *testing.T) {
	d := pending()
	if err := d.MarkSkipped(t0, LanguageZhCN, ReasonNoEmail); err != nil {
		t.Fatal(err)
	}
	if d.Status != StatusSkipped || d.LastError != ReasonNoEmail || d.Attempts != 1 {
		t.Fatalf("got %+v", d)
	}
}

func TestAFinishedDeliveryTakesNoOtherOutcome(t *testing.T) {
	d := pending()
	if err := d.MarkSent(t0, LanguageZhCN, "z***@example.com"); err != nil {
		t.Fatal(err)
	}
	for name, mark := range map[string]func() error{
		"sent again": func() error { return d.MarkSent(t0, LanguageZhCN, "x") },
		"failed":     func() error { return d.MarkFailed(t0, LanguageZhCN, "x", false) },
		"skipped":    func() error { return d.MarkSkipped(t0, LanguageZhCN, "x") },
	} {
		if err := mark(); !errors.Is(err, ErrNotPending) {
			t.Errorf("%s: err = %v, want ErrNotPending", name, err)
		}
	}
	if d.Attempts != 1 {
		t.Errorf("attempts = %d, want 1", d.Attempts)
	}
}

func TestAnAcknowledgmentIsOutdatedOnceItsPromisedTimeHasPassed(t *testing.T) {
	d := pending()
	if d.Outdated(d.ExpectedAnswerAt.Add(-time.Second)) {
		t.Error("outdated before the promised time")
	}
	if !d.Outdated(d.ExpectedAnswerAt) {
		t.Error("not outdated at the promised time")
	}
}

func TestADateMovedDeliveryCarriesBothDatesAndIsKeptPerEvent(t *testing.T) {
	m := DateMove{Kind: KindFirstAnswer, PreviousAnswerAt: t0.Add(24 * time.Hour), ExpectedAnswerAt: t0.Add(48 * time.Hour),
		Provisional: true, Reason: ChangeBranchClosure, TimeZone: "Asia/Shanghai"}
	d := NewDateMovedDelivery("d2", "bank-a", "c1", ChannelEmail, m, "e7", nil, t0)
	if d.Template != TemplateCaseDateMoved || d.Status != StatusPending || !d.NextAttemptAt.Equal(t0) || d.DedupKey != "e7" ||
		!d.PreviousAnswerAt.Equal(m.PreviousAnswerAt) || !d.ExpectedAnswerAt.Equal(m.ExpectedAnswerAt) || !d.Provisional ||
		d.ChangeReason != ChangeBranchClosure || d.DeadlineKind != KindFirstAnswer || d.TimeZone != "Asia/Shanghai" {
		t.Fatalf("got %+v", d)
	}
	if d.Outdated(m.ExpectedAnswerAt.Add(-time.Second)) || !d.Outdated(m.ExpectedAnswerAt) {
		t.Error("a moved date is outdated exactly when its new time has passed")
	}
}

func TestTheAcknowledgmentIsKeptOncePerCase(t *testing.T) {
	if d := pending(); d.DedupKey != "" {
		t.Fatalf("dedup key %q, want empty", d.DedupKey)
	}
}

func TestPromiseOf(t *testing.T) {
	d := NewDelivery("d1", "bank-a", "c1", ChannelEmail, TemplateCaseAcknowledgment,
		Acknowledgment{Kind: KindResolution, ExpectedAnswerAt: t0, TimeZone: "Asia/Shanghai"}, nil, t0)
	for status, lapsed := range map[Status]bool{StatusPending: false, StatusSent: false, StatusSkipped: true, StatusFailed: true} {
		d.Status = status
		if p := PromiseOf(d); p.Kind != KindResolution || !p.DueAt.Equal(t0) || p.Lapsed != lapsed {
			t.Errorf("%s: promise %+v, want lapsed %v", status, p, lapsed)
		}
	}
}
