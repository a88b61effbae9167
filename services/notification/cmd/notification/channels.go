package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/counterdesk/counterdesk/services/notification/internal/dispatch"
	"github.com/counterdesk/counterdesk/services/notification/internal/notify"
	"github.com/counterdesk/counterdesk/services/notification/internal/notifysms"
	"github.com/counterdesk/counterdesk/services/notification/internal/notifysmtp"
	"github.com/counterdesk/counterdesk/services/notification/internal/notifywebhook"
	"github.com/counterdesk/counterdesk/services/platform/service"
)

// ChannelConfig is how messages leave: the bank's SMTP relay, its HTTP SMS
// gateway, its own systems' webhooks, and when customers are not disturbed.
type ChannelConfig struct {
	SMTPAddr string `env:"SMTP_ADDR,required,notEmpty"`
	SMTPFrom string `env:"SMTP_FROM" envDefault:"counterdesk@localhost"`
	// SMTPTLS is none, starttls (required, never a plain fall-back) or tls.
	SMTPTLS      string `env:"SMTP_TLS" envDefault:"none"`
	SMTPUsername string `env:"SMTP_USERNAME"`
	SMTPPassword string `env:"SMTP_PASSWORD" secret:"true"`
	// SMTPAuth is plain, login, cram-md5, scram-sha-256 or auto.
	SMTPAuth string `env:"SMTP_AUTH" envDefault:"plain"`
	// SMTPCAFile is a PEM file of the CAs the relay's certificate must chain
	// to (a bank's private CA); empty: the system's roots.
	SMTPCAFile string `env:"SMTP_CA_FILE"`
	// SMSGatewayURL receives one JSON POST per text message; empty: no SMS.
	SMSGatewayURL string `env:"SMS_GATEWAY_URL"`
	// SMSGatewayAuth is the whole value of SMSGatewayAuthHeader, e.g.
	// "Bearer …".
	SMSGatewayAuthHeader string `env:"SMS_GATEWAY_AUTH_HEADER" envDefault:"Authorization"`
	SMSGatewayAuth       string `env:"SMS_GATEWAY_AUTH" secret:"true"`
	// SMSSender is the registered sender name (签名) the gateway shows.
	SMSSender string `env:"SMS_SENDER"`
	// Webhooks is each bank's endpoint and secret, JSON (see notifywebhook).
	Webhooks string `env:"WEBHOOKS" secret:"true"`
	// QuietHours is the default HH:MM-HH:MM in the branch's zone, or off;
	// QuietHoursByBank overrides it per bank: "bank-a=22:00-07:00,bank-b=off".
	QuietHours       string `env:"QUIET_HOURS" envDefault:"21:00-08:00"`
	QuietHoursByBank string `env:"QUIET_HOURS_BY_BANK"`
	// SendAttemptTimeout bounds one attempt; SendLease is how long a claimed
	// delivery stays hidden from other replicas (at least twice the
	// timeout): after a crash mid-send it is tried again once the lease ends.
	SendAttemptTimeout time.Duration `env:"SEND_ATTEMPT_TIMEOUT" envDefault:"30s"`
	SendLease          time.Duration `env:"SEND_LEASE" envDefault:"2m"`
}

// channels builds the mailer and fills the SMS, webhook and quiet-hours
// options from c, refusing a configuration that can never send.
func (c ChannelConfig) channels(now service.Clock, opts *dispatch.Options) (*notifysmtp.Mailer, error) {
	opts.AttemptTimeout, opts.Lease = c.SendAttemptTimeout, c.SendLease
	mailer := &notifysmtp.Mailer{Addr: c.SMTPAddr, From: c.SMTPFrom, TLS: c.SMTPTLS,
		Username: c.SMTPUsername, Password: c.SMTPPassword, Auth: c.SMTPAuth}
	if err := mailer.Validate(); err != nil {
		return nil, err
	}
	if c.SMTPCAFile != "" {
		pem, err := os.ReadFile(c.SMTPCAFile)
		if err != nil {
			return nil, fmt.Errorf("SMTP_CA_FILE: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("SMTP_CA_FILE %s holds no PEM certificate", c.SMTPCAFile)
		}
		mailer.TLSConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	if c.SMSGatewayURL != "" {
		if u, err := url.Parse(c.SMSGatewayURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, errors.New("SMS_GATEWAY_URL: want an http(s) URL")
		}
	} else if c.SMSGatewayAuth != "" || c.SMSSender != "" {
		return nil, errors.New("SMS_GATEWAY_AUTH or SMS_SENDER is set without SMS_GATEWAY_URL")
	}
	if c.SMSGatewayURL != "" {
		opts.SMS = &notifysms.Gateway{URL: c.SMSGatewayURL, AuthHeader: c.SMSGatewayAuthHeader,
			AuthValue: c.SMSGatewayAuth, Sender: c.SMSSender}
	}
	hooks, err := notifywebhook.ParseConfig(c.Webhooks)
	if err != nil {
		return nil, err
	}
	if len(hooks) > 0 {
		opts.Webhooks = &notifywebhook.Sender{Config: hooks, Now: now}
	}
	def, err := notify.ParseQuietHours(c.QuietHours)
	if err != nil {
		return nil, fmt.Errorf("QUIET_HOURS: %w", err)
	}
	byBank := map[string]notify.QuietHours{}
	for _, part := range strings.Split(c.QuietHoursByBank, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		bank, hours, ok := strings.Cut(part, "=")
		if !ok || strings.TrimSpace(bank) == "" {
			return nil, fmt.Errorf("QUIET_HOURS_BY_BANK: %q: want bank=HH:MM-HH:MM or bank=off", part)
		}
		q, err := notify.ParseQuietHours(strings.TrimSpace(hours))
		if err != nil {
			return nil, fmt.Errorf("QUIET_HOURS_BY_BANK: bank %s: %w", bank, err)
		}
		byBank[strings.TrimSpace(bank)] = q
	}
	opts.QuietHours = func(tenant string) notify.QuietHours {
		if q, ok := byBank[tenant]; ok {
			return q
		}
		return def
	}
	return mailer, nil
}
