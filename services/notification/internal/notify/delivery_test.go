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

func TestAFailedAttemptIsRetriedWithJitteredBackoffUntilTheLastThenDeadLettered(t *testing.T) {
	d := pending()
	now := t0
	for i := 1; i < MaxAttempts; i++ {
		jitter := float64(i%4) / 4
		if err := d.MarkFailed(now, LanguageZhCN, "smtp: connection refused", false, jitter); err != nil {
			t.Fatal(err)
		}
		if d.Status != StatusPending || d.Attempts != i || !d.NextAttemptAt.Equal(now.Add(Backoff(i, jitter))) {
			t.Fatalf("after attempt %d: %+v", i, d)
		}
		now = d.NextAttemptAt
	}
	if err := d.MarkFailed(now, LanguageZhCN, "smtp: connection refused", false, 0.5); err != nil {
		t.Fatal(err)
	}
	if d.Status != StatusDeadLetter || d.Attempts != MaxAttempts || d.LastError != "smtp: connection refused" {
		t.Fatalf("after the last attempt: %+v", d)
	}
}

func TestAPermanentFailureIsDeadLetteredAtOnce(t *testing.T) {
	d := pending()
	if err := d.MarkFailed(t0, LanguageZhCN, "smtp: recipient rejected (550)", true, 0); err != nil {
		t.Fatal(err)
	}
	if d.Status != StatusDeadLetter || d.Attempts != 1 || !d.Status.Undelivered() {
		t.Fatalf("got %+v", d)
	}
}

func TestAReplayedDeadLetterIsDueAtOnceWithAFreshRetryBudgetAndTheSameID(t *testing.T) {
	d := pending()
	for i := 0; i < MaxAttempts; i++ {
		if err := d.MarkFailed(t0, LanguageZhCN, "smtp: connection refused", false, 0); err != nil {
			t.Fatal(err)
		}
	}
	later := t0.Add(48 * time.Hour)
	if err := d.Replay(later); err != nil {
		t.Fatal(err)
	}
	if d.Status != StatusPending || !d.NextAttemptAt.Equal(later) || d.ID != "d1" || d.AttemptBase != MaxAttempts {
		t.Fatalf("after replay: %+v", d)
	}
	if err := d.MarkFailed(later, LanguageZhCN, "smtp: connection refused", false, 0); err != nil || d.Status != StatusPending {
		t.Fatalf("the first failure after a replay is retried: %v %+v", err, d)
	}
	if err := d.Replay(later); !errors.Is(err, ErrNotDeadLetter) {
		t.Fatalf("replaying a pending delivery: %v, want ErrNotDeadLetter", err)
	}
}

func TestACustomerNobodyCanReachIsDeadLetteredNotSkipped(t *testing.T) {
	d := pending()
	if err := d.MarkUndeliverable(t0, LanguageZhCN, ReasonNoChannel); err != nil {
		t.Fatal(err)
	}
	if d.Status != StatusDeadLetter || d.LastError != ReasonNoChannel || d.Attempts != 1 {
		t.Fatalf("got %+v", d)
	}
}

func TestDeferringWaitsWithoutAnAttempt(t *testing.T) {
	d := pending()
	at := t0.Add(3 * time.Hour)
	if err := d.Defer(t0, at, "quiet hours"); err != nil {
		t.Fatal(err)
	}
	if d.Attempts != 0 || !d.NextAttemptAt.Equal(at) || d.Decision != "quiet hours" || d.Status != StatusPending {
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
		"failed":     func() error { return d.MarkFailed(t0, LanguageZhCN, "x", false, 0) },
		"deferred":   func() error { return d.Defer(t0, t0, "x") },
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

func TestAnAcknowledgmentIsNeverOutdatedButLateOnceItsPromisedTimeHasPassed(t *testing.T) {
	d := pending()
	if d.PromisePassed(d.ExpectedAnswerAt.Add(-time.Second)) {
		t.Error("late before the promised time")
	}
	if !d.PromisePassed(d.ExpectedAnswerAt) {
		t.Error("not late at the promised time")
	}
	if d.Outdated(d.ExpectedAnswerAt.Add(time.Hour)) {
		t.Error("an acknowledgment is dropped once its promised time passed")
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
	if d.PromisePassed(m.ExpectedAnswerAt.Add(-time.Second)) || !d.PromisePassed(m.ExpectedAnswerAt) {
		t.Error("a moved date is late exactly when its new time has passed")
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
	for status, lapsed := range map[Status]bool{StatusPending: false, StatusSent: false, StatusSkipped: true, StatusFailed: true, StatusDeadLetter: true} {
		d.Status = status
		if p := PromiseOf(d); p.Kind != KindResolution || !p.DueAt.Equal(t0) || p.Lapsed != lapsed {
			t.Errorf("%s: promise %+v, want lapsed %v", status, p, lapsed)
		}
	}
}
