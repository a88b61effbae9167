package localinfra

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
)

func post(t *testing.T, url, body string, header map[string]string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestTheSMSSinkStoresEachMessageOnceAndRefusesBadOnes(t *testing.T) {
	s, err := StartSMSSink(t.TempDir(), "127.0.0.1:0", "tok")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	auth := map[string]string{"Authorization": "Bearer tok"}
	msg := `{"messageId":"m-1","to":"+8613812345678","text":"您的案件 CD-1 已受理"}`
	if st := post(t, s.URL()+"/sms", msg, auth); st != http.StatusAccepted {
		t.Fatalf("first send: %d", st)
	}
	if st := post(t, s.URL()+"/sms", msg, auth); st != http.StatusOK {
		t.Fatalf("resend: %d", st)
	}
	if st := post(t, s.URL()+"/sms", msg, nil); st != http.StatusUnauthorized {
		t.Fatalf("without the credential: %d", st)
	}
	for _, bad := range []string{`{"to":"1","text":"x"}`, `{"messageId":"../x","to":"1","text":"x"}`, `{"messageId":"a","text":"x"}`, `not json`} {
		if st := post(t, s.URL()+"/sms", bad, auth); st != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", bad, st)
		}
	}
	s.FailWith(http.StatusServiceUnavailable)
	if st := post(t, s.URL()+"/sms", `{"messageId":"m-2","to":"1","text":"x"}`, auth); st != http.StatusServiceUnavailable {
		t.Fatalf("failing: %d", st)
	}
	s.FailWith(0)
	got, err := ReadSMS(s.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].MessageID != "m-1" || !strings.Contains(got[0].Text, "CD-1") || s.Duplicates() != 1 {
		t.Fatalf("stored %+v, %d duplicates", got, s.Duplicates())
	}
}

func TestTheWebhookSinkKeepsHeadersAndBodyAsSent(t *testing.T) {
	s, err := StartWebhookSink(t.TempDir(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	h := map[string]string{"X-Counterdesk-Delivery": "d-1", "X-Counterdesk-Timestamp": "1700000000", "X-Counterdesk-Signature": "v1=ab"}
	if st := post(t, s.URL()+"/hooks/bank-a", `{"a": 1}`, h); st != http.StatusAccepted {
		t.Fatalf("post: %d", st)
	}
	if st := post(t, s.URL()+"/hooks/bank-a", `{}`, nil); st != http.StatusBadRequest {
		t.Fatalf("without a delivery id: %d", st)
	}
	got, err := ReadHooks(s.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Body != `{"a": 1}` || got[0].Headers["X-Counterdesk-Signature"] != "v1=ab" || got[0].Path != "/hooks/bank-a" {
		t.Fatalf("stored %+v", got)
	}
}
