package dispatch

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/counterdesk/counterdesk/services/notification/internal/notify"
)

type relayQuoted struct{}

func (relayQuoted) Error() string {
	return "smtp rcpt: relay replied 550 <chen.jing@bank-a.example> (陈静 Chen Jing) unknown"
}
func (relayQuoted) Permanent() bool { return true }

// staffSetup queues one staff warning to r; intake is never to be asked.
func staffSetup(t *testing.T, r notify.StaffRecipient, m Mailer, lang notify.Language) (*Dispatcher, *memStore, notify.Delivery) {
	t.Helper()
	a := notify.DeadlineAlert{Template: notify.TemplateStaffDeadlineWarned, Kind: notify.KindFirstAnswer, Level: notify.LevelRed,
		DueAt: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC), TimeZone: "Asia/Shanghai", CaseNumber: "CD-20261122-000042"}
	d := notify.NewStaffAlertDelivery("0194f0c1-0000-7000-8000-000000000005", "bank-a", "0194f0c1-0000-7000-8000-0000000000c1",
		a, r, "0194f0c1-0000-7000-8000-0000000000e1", nil, now)
	store := &memStore{rows: map[string]notify.Delivery{d.ID: d}}
	disp, err := New(store, fakeContacts{err: errors.New("intake asked for a staff alert")}, m,
		slog.New(slog.NewTextHandler(io.Discard, nil)), Options{Now: func() time.Time { return now }, StaffLanguage: lang})
	if err != nil {
		t.Fatal(err)
	}
	return disp, store, d
}

var chen = notify.StaffRecipient{ID: "st-cm", Name: "陈静 Chen Jing", Email: "chen.jing@bank-a.example", Audience: notify.AudienceOwner}

func TestAStaffAlertGoesToTheWorkAddressWithoutAskingIntake(t *testing.T) {
	for _, lang := range []notify.Language{notify.LanguageZhCN, notify.LanguageEn} {
		mailer := &fakeMailer{}
		disp, store, d := staffSetup(t, chen, mailer, lang)
		if _, err := disp.RunOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		got := store.rows[d.ID]
		if got.Status != notify.StatusSent || got.Recipient != "c***@bank-a.example" || got.Language != lang || !got.SentAt.Equal(now) {
			t.Fatalf("%s: row = %+v", lang, got)
		}
		if len(mailer.sent) != 1 {
			t.Fatalf("%s: sent %d mails", lang, len(mailer.sent))
		}
		m := mailer.sent[0]
		if m.To != chen.Email || m.ToName != chen.Name || m.MessageID != d.ID+"@counterdesk" || !strings.Contains(m.Subject, "CD-20261122-000042") {
			t.Errorf("%s: mail = %+v", lang, m)
		}
	}
}

func TestAStaffMemberWithoutAnAddressIsSkipped(t *testing.T) {
	r := chen
	r.Email = " "
	mailer := &fakeMailer{}
	disp, store, d := staffSetup(t, r, mailer, "")
	if _, err := disp.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := store.rows[d.ID]; got.Status != notify.StatusSkipped || got.LastError != notify.ReasonNoStaffEmail || len(mailer.sent) != 0 {
		t.Fatalf("row = %+v, %d mails", got, len(mailer.sent))
	}
}

func TestAStaffAlertsFailureReasonHoldsNoAddressOrName(t *testing.T) {
	disp, store, d := staffSetup(t, chen, &fakeMailer{err: relayQuoted{}}, "")
	if _, err := disp.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := store.rows[d.ID]
	if got.Status != notify.StatusDeadLetter || strings.Contains(got.LastError, "chen.jing") || strings.Contains(got.LastError, "陈静") {
		t.Fatalf("row = %+v", got)
	}
}
