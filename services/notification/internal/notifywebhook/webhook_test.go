package notifywebhook

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/counterdesk/counterdesk/services/notification/internal/dispatch"
	"github.com/counterdesk/counterdesk/services/platform/localinfra"
)

const secretA = "bank-a-webhook-secret-0123456789abcdef"

var signedAt = time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)

// TestAHookVerifiesWithTheDocumentedRecipeAndAReplayIsRefused posts a real
// hook to the webhook sink and checks what it stored the way the README
// tells a bank's receiver to: the signature over timestamp "." body under
// the bank's own secret, within the replay window.
func TestAHookVerifiesWithTheDocumentedRecipeAndAReplayIsRefused(t *testing.T) {
	s, err := localinfra.StartWebhookSink(t.TempDir(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	sender := &Sender{
		Config: Config{"bank-a": {URL: s.URL() + "/hooks/bank-a", Secret: secretA},
			"bank-b": {URL: s.URL() + "/hooks/bank-b", Secret: "bank-b-webhook-secret-0123456789abcdef"}},
		Now: func() time.Time { return signedAt },
	}
	h := dispatch.Hook{ID: "0194f0c1-0000-7000-8000-000000000001", TenantID: "bank-a", CaseID: "c1", CaseNumber: "CD-20261122-000042",
		Template: "case_acknowledgment", Language: "zh-CN", Subject: "已受理", Body: "尊敬的客户：您的案件已受理。", At: signedAt}
	if err := sender.Send(context.Background(), h); err != nil {
		t.Fatal(err)
	}
	hooks, err := localinfra.ReadHooks(s.Dir())
	if err != nil || len(hooks) != 1 {
		t.Fatalf("hooks %v, %v", hooks, err)
	}
	got := hooks[0]
	ts, sig, body := got.Headers[HeaderTimestamp], got.Headers[HeaderSignature], []byte(got.Body)
	if got.Path != "/hooks/bank-a" || got.Headers[HeaderDelivery] != h.ID || ts != strconv.FormatInt(signedAt.Unix(), 10) {
		t.Fatalf("hook %+v", got)
	}
	var p Payload
	if err := json.Unmarshal(body, &p); err != nil || p.CaseNumber != h.CaseNumber || p.ID != h.ID || p.Body != h.Body {
		t.Fatalf("payload %+v, %v", p, err)
	}
	if err := Verify([]byte(secretA), ts, body, sig, signedAt.Add(time.Minute), 0); err != nil {
		t.Fatalf("a fresh hook does not verify: %v", err)
	}
	tests := []struct {
		name   string
		secret string
		ts     string
		body   []byte
		now    time.Time
		want   error
	}{
		{"a hook replayed after the window", secretA, ts, body, signedAt.Add(DefaultWindow + time.Second), ErrStale},
		{"a hook from the future", secretA, ts, body, signedAt.Add(-DefaultWindow - time.Second), ErrStale},
		{"a replay with a fresh timestamp and the old signature", secretA, strconv.FormatInt(signedAt.Add(10*time.Minute).Unix(), 10), body, signedAt.Add(10 * time.Minute), ErrBadSignature},
		{"a changed body", secretA, ts, []byte(strings.Replace(got.Body, "已受理", "已退款", 1)), signedAt, ErrBadSignature},
		{"another bank's secret", "bank-b-webhook-secret-0123456789abcdef", ts, body, signedAt, ErrBadSignature},
		{"a timestamp that is not a number", secretA, "yesterday", body, signedAt, ErrStale},
	}
	for _, tt := range tests {
		if err := Verify([]byte(tt.secret), tt.ts, tt.body, sig, tt.now, 0); !errors.Is(err, tt.want) {
			t.Errorf("%s: Verify = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestAHookToABankWithoutAWebhookIsPermanentAndAReceiverErrorNamesOnlyTheStatus(t *testing.T) {
	s, err := localinfra.StartWebhookSink(t.TempDir(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	sender := &Sender{Config: Config{"bank-a": {URL: s.URL(), Secret: secretA}}}
	err = sender.Send(context.Background(), dispatch.Hook{ID: "x1", TenantID: "bank-z"})
	var e *Error
	if !errors.As(err, &e) || !e.Permanent() {
		t.Fatalf("no webhook: %v", err)
	}
	s.FailWith(503)
	err = sender.Send(context.Background(), dispatch.Hook{ID: "x2", TenantID: "bank-a", Body: "秘密"})
	if !errors.As(err, &e) || e.Permanent() || e.Status != 503 || strings.Contains(err.Error(), "秘密") {
		t.Fatalf("receiver down: %v", err)
	}
}

func TestParseConfigRefusesWhatCanNeverSign(t *testing.T) {
	if c, err := ParseConfig(""); err != nil || len(c) != 0 {
		t.Fatalf("empty: %v %v", c, err)
	}
	good := `{"bank-a": {"url": "https://hooks.bank-a.example/counterdesk", "secret": "` + secretA + `"}}`
	if c, err := ParseConfig(good); err != nil || c["bank-a"].Secret != secretA {
		t.Fatalf("good: %v %v", c, err)
	}
	for _, bad := range []string{
		`{"bank-a": {"url": "ftp://x", "secret": "` + secretA + `"}}`,
		`{"bank-a": {"url": "https://x", "secret": "short"}}`,
		`{"bank-a": {"url": "https://x", "secret": "` + secretA + `", "extra": 1}}`,
		`not json`,
	} {
		_, err := ParseConfig(bad)
		if err == nil || strings.Contains(err.Error(), secretA) {
			t.Errorf("%s: %v", bad, err)
		}
	}
}
