package survey

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

var (
	closedAt = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	secretA1 = []byte("bank-a-survey-key-1-0123456789abcdef")
	secretA2 = []byte("bank-a-survey-key-2-0123456789abcdef")
	secretB1 = []byte("bank-b-survey-key-1-0123456789abcdef")
)

func link() Link {
	return Link{TenantID: "bank-a", CaseID: "0190d6a4-6b59-7000-8000-000000000001",
		SurveyID: "0190d6a4-6b59-7000-8000-0000000000ff", Language: "en", ExpiresAt: closedAt.Add(DefaultLifetime)}
}

func TestALinkVerifiesToWhatItWasIssuedFor(t *testing.T) {
	keys := NewKeys(Key{"bank-a", "k1", secretA1}, Key{"bank-b", "k1", secretB1})
	tok, err := keys.Issue(link(), closedAt)
	if err != nil {
		t.Fatal(err)
	}
	// Short enough for an SMS beside its text and the page's address.
	if len(tok) > 180 {
		t.Errorf("a link token of %d characters: %s", len(tok), tok)
	}
	got, err := keys.Verify(tok, closedAt.Add(13*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := link()
	if got.TenantID != want.TenantID || got.CaseID != want.CaseID || got.SurveyID != want.SurveyID ||
		got.Language != want.Language || !got.ExpiresAt.Equal(want.ExpiresAt) {
		t.Fatalf("verified %+v, issued %+v", got, want)
	}
}

func TestALinkExpiresAtItsExpiryAndNotBefore(t *testing.T) {
	keys := NewKeys(Key{"bank-a", "k1", secretA1})
	tok, err := keys.Issue(link(), closedAt)
	if err != nil {
		t.Fatal(err)
	}
	exp := closedAt.Add(DefaultLifetime)
	if _, err := keys.Verify(tok, exp.Add(-time.Second)); err != nil {
		t.Fatalf("a second before expiry: %v", err)
	}
	for _, at := range []time.Time{exp, exp.Add(time.Hour)} {
		if _, err := keys.Verify(tok, at); !errors.Is(err, ErrExpired) {
			t.Fatalf("at %v: got %v, want ErrExpired", at, err)
		}
	}
	if _, err := keys.Issue(link(), exp); !errors.Is(err, ErrExpired) {
		t.Fatalf("issuing an already expired link: got %v, want ErrExpired", err)
	}
}

func TestATamperedLinkIsRefused(t *testing.T) {
	keys := NewKeys(Key{"bank-a", "k1", secretA1})
	tok, err := keys.Issue(link(), closedAt)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	// Another case in the payload, the signature kept.
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	payload[16] ^= 0x01
	forged := string(payload)
	cases := map[string]string{
		"payload changed":   parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(forged)) + "." + parts[2],
		"signature changed": parts[0] + "." + parts[1] + "." + flip(parts[2]),
		"signature dropped": parts[0] + "." + parts[1] + ".",
		"not a token":       "hello",
		"alg none":          base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","kid":"bank-a/k1"}`)) + "." + parts[1] + ".",
	}
	for name, bad := range cases {
		if _, err := keys.Verify(bad, closedAt); !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s: got %v, want ErrBadSignature", name, err)
		}
	}
}

func flip(s string) string {
	b := []byte(s)
	if b[0] == 'A' {
		b[0] = 'B'
	} else {
		b[0] = 'A'
	}
	return string(b)
}

func TestALinkSignedWithAnotherBanksKeyIsRefused(t *testing.T) {
	// Bank B's key signs a link claiming to be bank A's.
	b := NewKeys(Key{"bank-b", "k1", secretB1})
	l := link()
	l.TenantID = "bank-b"
	tok, err := b.Issue(l, closedAt)
	if err != nil {
		t.Fatal(err)
	}
	// Rewrite the tenant claim and re-sign with B's key under B's kid: the
	// signature is good, the bank is not the key's.
	forged := forgeTenant(t, tok, "bank-a", secretB1, "bank-b/k1")
	both := NewKeys(Key{"bank-a", "k1", secretA1}, Key{"bank-b", "k1", secretB1})
	if _, err := both.Verify(forged, closedAt); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("bank A link signed by bank B's key: got %v, want ErrBadSignature", err)
	}
	// And a link signed with B's secret under A's kid does not verify.
	forged = forgeTenant(t, tok, "bank-a", secretB1, "bank-a/k1")
	if _, err := both.Verify(forged, closedAt); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("B's secret under A's kid: got %v, want ErrBadSignature", err)
	}
	if _, err := b.Issue(link(), closedAt); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("issuing for a bank without keys: got %v, want ErrUnknownKey", err)
	}
}

func TestRotationSignsWithTheNewKeyAndStillAcceptsTheOld(t *testing.T) {
	old := NewKeys(Key{"bank-a", "k1", secretA1})
	oldTok, err := old.Issue(link(), closedAt)
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := ParseKeys("bank-a:k2:" + base64.StdEncoding.EncodeToString(secretA2) +
		",bank-a:k1:" + base64.StdEncoding.EncodeToString(secretA1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rotated.Verify(oldTok, closedAt); err != nil {
		t.Fatalf("a link signed before the rotation: %v", err)
	}
	newTok, err := rotated.Issue(link(), closedAt)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.Verify(newTok, closedAt); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("new link against the old key set: got %v, want ErrUnknownKey (signed with k2)", err)
	}
	retired := NewKeys(Key{"bank-a", "k2", secretA2})
	if _, err := retired.Verify(oldTok, closedAt); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("old link after k1 was dropped: got %v, want ErrUnknownKey", err)
	}
}

func TestParseKeysNamesTheBadEntryWithoutItsKey(t *testing.T) {
	good := base64.StdEncoding.EncodeToString(secretA1)
	short := base64.StdEncoding.EncodeToString([]byte("short"))
	for spec, want := range map[string]string{
		"bank-a:k1": "entry 1: want tenant:keyid:base64key",
		"bank-a:k1:" + good + ",bank-a:k1:" + good: "entry 2: key id k1 is listed twice for bank-a",
		"bank-a:k1:" + short:                       "entry 1 (bank-a:k1): key has 5 bytes, want at least 32",
		"bank-a:k1:%%%":                            "entry 1 (bank-a:k1): key is not base64",
		"bank/a:k1:" + good:                        "entry 1: tenant and key id must not contain '/'",
	} {
		_, err := ParseKeys(spec)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", spec, err, want)
		}
		if err != nil && strings.Contains(err.Error(), good) {
			t.Errorf("%q: error shows the key", spec)
		}
	}
	k, err := ParseKeys(" bank-a:k1:" + good + " , bank-b:k9:" + base64.RawURLEncoding.EncodeToString(secretB1))
	if err != nil {
		t.Fatal(err)
	}
	if !k.Has("bank-a") || !k.Has("bank-b") || k.Has("bank-c") || strings.Join(k.Tenants(), ",") != "bank-a,bank-b" {
		t.Fatalf("parsed %v", k.Tenants())
	}
	if empty, _ := ParseKeys(""); !empty.Empty() {
		t.Fatal("an empty spec holds keys")
	}
}

func TestAnAnswerIsOneToFiveAndABoundedComment(t *testing.T) {
	for _, tc := range []struct {
		name  string
		a     Answer
		field string
	}{
		{"four and a comment", Answer{4, "满意，谢谢"}, ""},
		{"five, no comment", Answer{5, ""}, ""},
		{"zero", Answer{0, ""}, "satisfaction"},
		{"six", Answer{6, ""}, "satisfaction"},
		{"a comment of 500 characters", Answer{3, strings.Repeat("好", 500)}, ""},
		{"a comment of 501 characters", Answer{3, strings.Repeat("好", 501)}, "comment"},
		{"a NUL in the comment", Answer{3, "a\x00b"}, "comment"},
		{"line breaks are fine", Answer{3, "a\nb"}, ""},
	} {
		err := tc.a.Validate()
		var fe *FieldError
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.field != "" && (!errors.As(err, &fe) || fe.Field != tc.field):
			t.Errorf("%s: got %v, want an error on %s", tc.name, err, tc.field)
		}
	}
	if got := (Answer{4, "  a\r\nb  "}).Normalized().Comment; got != "a\nb" {
		t.Fatalf("normalized %q", got)
	}
}

// forgeTenant re-signs tok's payload with tenant replaced, using secret
// under header kid.
func forgeTenant(t *testing.T, tok, tenant string, secret []byte, kid string) string {
	t.Helper()
	obj, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.HS256})
	if err != nil {
		t.Fatal(err)
	}
	l, ok := decodePayload(obj.UnsafePayloadWithoutVerification())
	if !ok {
		t.Fatal("cannot read the payload")
	}
	l.TenantID = tenant
	payload, err := encodePayload(l)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: secret},
		(&jose.SignerOptions{}).WithHeader(jose.HeaderKey("kid"), kid))
	if err != nil {
		t.Fatal(err)
	}
	out, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, err := out.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}
