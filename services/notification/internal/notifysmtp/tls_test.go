package notifysmtp

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/counterdesk/counterdesk/services/platform/localinfra"
)

// selfSigned returns a server certificate for 127.0.0.1 and a client
// configuration that trusts only it: a bank's relay with its private CA.
func selfSigned(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "relay.test"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), //nolint:forbidigo // certificate validity is checked against the real clock
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12},
		&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

// TestMailGoesEncryptedAndAuthenticatedWhenConfigured sends through a relay
// that offers STARTTLS and through one that speaks TLS from the first
// byte, authenticated, and checks the relay saw TLS and the user; a relay
// whose certificate is not trusted gets nothing.
func TestMailGoesEncryptedAndAuthenticatedWhenConfigured(t *testing.T) {
	serverTLS, clientTLS := selfSigned(t)
	for _, mode := range []string{TLSStartTLS, TLSImplicit} {
		t.Run(mode, func(t *testing.T) {
			sink, err := localinfra.StartMailSinkWithOptions(t.TempDir(), "127.0.0.1:0",
				localinfra.MailSinkOptions{TLS: serverTLS, Implicit: mode == TLSImplicit})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = sink.Close() })
			m := &Mailer{Addr: sink.Addr(), From: "counterdesk@localhost", TLS: mode, TLSConfig: clientTLS,
				Username: "counterdesk", Password: "s3cret"}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := m.Send(ctx, testMail()); err != nil {
				t.Fatal(err)
			}
			msgs, err := sink.Messages()
			if err != nil || len(msgs) != 1 {
				t.Fatalf("messages %v, %v", msgs, err)
			}
			if got := msgs[0].Headers.Get("X-Envelope-TLS"); got == "" {
				t.Errorf("the relay did not see TLS")
			}
			if got := msgs[0].Headers.Get("X-Envelope-Auth"); got != "counterdesk" {
				t.Errorf("the relay saw user %q, want counterdesk", got)
			}

			untrusted := &Mailer{Addr: sink.Addr(), From: "counterdesk@localhost", TLS: mode}
			if err := untrusted.Send(ctx, testMail()); err == nil {
				t.Error("a relay with an untrusted certificate took the message")
			}
			if msgs, _ := sink.Messages(); len(msgs) != 1 {
				t.Errorf("%d messages after the untrusted attempt, want 1", len(msgs))
			}
		})
	}
}
