// Package pii protects customer personal data: it seals it with AES-256-GCM
// before it is stored (the key never leaves the service's configuration) and
// masks it for callers whose role does not need it. Nothing here logs.
package pii

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Sealer encrypts and decrypts with one key. The stored form starts with a
// key id byte so keys can be rotated later.
type Sealer struct {
	aead  cipher.AEAD
	keyID byte
}

// NewSealer takes a base64-encoded 32-byte key.
func NewSealer(b64Key string) (*Sealer, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64Key))
	if err != nil {
		return nil, errors.New("PII_ENCRYPTION_KEY is not valid base64")
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("PII_ENCRYPTION_KEY must decode to 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("create cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("create GCM: %w", err)
	}
	return &Sealer{aead: aead, keyID: 1}, nil
}

// Seal encrypts plaintext; aad binds the ciphertext to its row (e.g. the case
// id) so it cannot be copied onto another record.
func (s *Sealer) Seal(plaintext, aad []byte) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("read nonce: %w", err)
	}
	out := append([]byte{s.keyID}, nonce...)
	return s.aead.Seal(out, nonce, plaintext, aad), nil
}

// Open decrypts what Seal produced with the same aad.
func (s *Sealer) Open(sealed, aad []byte) ([]byte, error) {
	ns := s.aead.NonceSize()
	if len(sealed) < 1+ns {
		return nil, errors.New("sealed data too short")
	}
	if sealed[0] != s.keyID {
		return nil, fmt.Errorf("sealed with unknown key id %d", sealed[0])
	}
	pt, err := s.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], aad)
	if err != nil {
		return nil, errors.New("decrypt personal data: authentication failed")
	}
	return pt, nil
}

// MaskID keeps the first 3 and last 4 characters: 110***********1234.
func MaskID(s string) string { return maskMiddle(s, 3, 4) }

// MaskPhone keeps the first 3 and last 4 digits: 138****5678.
func MaskPhone(s string) string { return maskMiddle(s, 3, 4) }

// MaskAccount keeps the last 4 characters.
func MaskAccount(s string) string { return maskMiddle(s, 0, 4) }

// MaskName keeps the first character: 张**.
func MaskName(s string) string {
	n := utf8.RuneCountInString(s)
	if n == 0 {
		return ""
	}
	r, size := utf8.DecodeRuneInString(s)
	_ = size
	return string(r) + strings.Repeat("*", max(n-1, 1))
}

// MaskEmail keeps the first character of the local part and the domain.
func MaskEmail(s string) string {
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" {
		return maskMiddle(s, 1, 0)
	}
	r, _ := utf8.DecodeRuneInString(local)
	return string(r) + "***@" + domain
}

func maskMiddle(s string, keepStart, keepEnd int) string {
	rs := []rune(s)
	n := len(rs)
	if n == 0 {
		return ""
	}
	if n <= keepStart+keepEnd {
		return strings.Repeat("*", n)
	}
	return string(rs[:keepStart]) + strings.Repeat("*", n-keepStart-keepEnd) + string(rs[n-keepEnd:])
}
