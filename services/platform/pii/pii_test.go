package pii

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"testing"
)

func newKey(t *testing.T) string {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(k)
}

func TestSealedDataOpensOnlyWithItsKeyAndRow(t *testing.T) {
	s, err := NewSealer(newKey(t))
	if err != nil {
		t.Fatal(err)
	}
	pt := []byte(`{"idNumber":"110101199003071234"}`)
	sealed, err := s.Seal(pt, []byte("case-1"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("1101011990")) {
		t.Fatal("ciphertext contains the plaintext")
	}
	got, err := s.Open(sealed, []byte("case-1"))
	if err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("open = %q, %v", got, err)
	}
	if _, err := s.Open(sealed, []byte("case-2")); err == nil {
		t.Fatal("opened with another row's aad")
	}
	other, _ := NewSealer(newKey(t))
	if _, err := other.Open(sealed, []byte("case-1")); err == nil {
		t.Fatal("opened with another key")
	}
}

func TestNewSealerRejectsBadKeys(t *testing.T) {
	for _, k := range []string{"", "not base64!", base64.StdEncoding.EncodeToString([]byte("short"))} {
		if _, err := NewSealer(k); err == nil {
			t.Errorf("key %q accepted", k)
		}
	}
}

func TestMasks(t *testing.T) {
	cases := []struct{ name, got, want string }{
		{"id number keeps 3 and 4", MaskID("110101199003071234"), "110***********1234"},
		{"phone keeps 3 and 4", MaskPhone("13812345678"), "138****5678"},
		{"account keeps last 4", MaskAccount("6222020200112233"), "************2233"},
		{"chinese name keeps first character", MaskName("张三丰"), "张**"},
		{"one-character name still masked", MaskName("李"), "李*"},
		{"email keeps first letter and domain", MaskEmail("zhang.san@example.com"), "z***@example.com"},
		{"short value fully masked", MaskID("12"), "**"},
		{"empty stays empty", MaskPhone(""), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.got != c.want {
				t.Errorf("got %q, want %q", c.got, c.want)
			}
		})
	}
}
