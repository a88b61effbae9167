package dispatch

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/counterdesk/counterdesk/services/notification/internal/notify"
	"github.com/counterdesk/counterdesk/services/notification/internal/survey"
)

func surveySetup(t *testing.T, links notify.SurveyLinks) (*Dispatcher, *memStore, *fakeMailer, notify.Delivery) {
	t.Helper()
	d := notify.NewSurveyDelivery("0194f0c1-0000-5000-8000-0000000000aa", "bank-a", "0194f0c1-0000-7000-8000-0000000000c1",
		notify.ChannelEmail, now.Add(-time.Hour), "Asia/Shanghai", "event-1", nil, now)
	store := &memStore{rows: map[string]notify.Delivery{d.ID: d}}
	mailer := &fakeMailer{}
	disp, err := New(store, fakeContacts{contact: zhang}, mailer, slog.New(slog.NewTextHandler(io.Discard, nil)),
		Options{Now: func() time.Time { return now }, Jitter: func() float64 { return 1 }, SurveyLinks: links})
	if err != nil {
		t.Fatal(err)
	}
	return disp, store, mailer, d
}

// The survey's link is minted as it is sent, in the customer's language,
// naming the delivery as its survey; it verifies with the bank's key.
func TestASurveyMessageCarriesALinkMintedForIt(t *testing.T) {
	keys := survey.NewKeys(survey.Key{TenantID: "bank-a", ID: "k1", Secret: bytes.Repeat([]byte{9}, 32)})
	disp, store, mailer, d := surveySetup(t, survey.Links{Keys: keys, BaseURL: "https://gw.example/", Now: func() time.Time { return now }})
	if _, err := disp.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := store.rows[d.ID]; got.Status != notify.StatusSent || len(mailer.sent) != 1 {
		t.Fatalf("row %+v, %d mails", got, len(mailer.sent))
	}
	body := mailer.sent[0].Body
	i := strings.Index(body, "https://gw.example/survey/")
	if i < 0 {
		t.Fatalf("no link in\n%s", body)
	}
	token := strings.Fields(body[i+len("https://gw.example/survey/"):])[0]
	l, err := keys.Verify(token, now)
	if err != nil {
		t.Fatal(err)
	}
	if l.SurveyID != d.ID || l.CaseID != d.CaseID || l.TenantID != "bank-a" || l.Language != "en" ||
		!l.ExpiresAt.Equal(d.ExpectedAnswerAt.Add(survey.DefaultLifetime)) {
		t.Fatalf("link %+v", l)
	}
}

func TestASurveyWithoutSurveyKeysIsDeadLetteredWithTheReason(t *testing.T) {
	disp, store, mailer, d := surveySetup(t, nil)
	if _, err := disp.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := store.rows[d.ID]
	if got.Status != notify.StatusDeadLetter || !strings.Contains(got.LastError, "SURVEY_SIGNING_KEYS") || len(mailer.sent) != 0 {
		t.Fatalf("row %+v, %d mails", got, len(mailer.sent))
	}
}
