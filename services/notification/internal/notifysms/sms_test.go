package notifysms

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/counterdesk/counterdesk/services/notification/internal/dispatch"
	"github.com/counterdesk/counterdesk/services/notification/internal/notify"
	"github.com/counterdesk/counterdesk/services/platform/localinfra"
)

func sink(t *testing.T) *localinfra.HTTPSink {
	t.Helper()
	s, err := localinfra.StartSMSSink(t.TempDir(), "127.0.0.1:0", "gw-token")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

var msg = dispatch.SMS{ID: "0194f0c1-0000-7000-8000-000000000001", To: "13812345678", Text: "【银行】您的案件 CD-20261122-000042 已受理", Language: notify.LanguageZhCN}

func TestAGatewayReceivesTheMessageOnceWhateverTheResends(t *testing.T) {
	s := sink(t)
	g := &Gateway{URL: s.URL() + "/v1/sms", AuthValue: "Bearer gw-token", Sender: "某银行"}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for range 2 { // a resend after a crash carries the same id
		if err := g.SendSMS(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
	got, err := localinfra.ReadSMS(s.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].To != msg.To || got[0].Text != msg.Text || got[0].MessageID != msg.ID || got[0].Sender != "某银行" {
		t.Fatalf("stored %+v", got)
	}
	if s.Duplicates() != 1 {
		t.Errorf("%d duplicates acknowledged, want 1", s.Duplicates())
	}
}

func TestGatewayErrorsCarryTheStatusOnlyAndSayWhetherToRetry(t *testing.T) {
	s := sink(t)
	tests := []struct {
		name      string
		g         *Gateway
		fail      int
		permanent bool
	}{
		{"a wrong credential may be fixed: retried", &Gateway{URL: s.URL(), AuthValue: "Bearer wrong"}, 0, false},
		{"a gateway that is down: retried", &Gateway{URL: s.URL(), AuthValue: "Bearer gw-token"}, http.StatusServiceUnavailable, false},
		{"a message the gateway refuses: not retried", &Gateway{URL: s.URL(), AuthValue: "Bearer gw-token"}, http.StatusUnprocessableEntity, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.FailWith(tt.fail)
			defer s.FailWith(0)
			err := tt.g.SendSMS(context.Background(), msg)
			var e *Error
			if !errors.As(err, &e) || e.Permanent() != tt.permanent {
				t.Fatalf("err = %v, want permanent %v", err, tt.permanent)
			}
			if strings.Contains(err.Error(), msg.To) || strings.Contains(err.Error(), "CD-2026") {
				t.Errorf("error %q carries the number or the text", err)
			}
		})
	}
	down := &Gateway{URL: "http://" + closedAddr(t)}
	if err := down.SendSMS(context.Background(), msg); err == nil || (err.(*Error)).Permanent() {
		t.Fatalf("unreachable gateway: %v", err)
	}
}

func closedAddr(t *testing.T) string {
	t.Helper()
	s, err := localinfra.StartSMSSink(t.TempDir(), "127.0.0.1:0", "")
	if err != nil {
		t.Fatal(err)
	}
	addr := s.Addr()
	_ = s.Close()
	return addr
}
