package main

import (
	"fmt"
	"net/url"
	"time"

	"github.com/counterdesk/counterdesk/services/notification/internal/dispatch"
	"github.com/counterdesk/counterdesk/services/notification/internal/survey"
	"github.com/counterdesk/counterdesk/services/notification/internal/survey/surveygrpc"
	"github.com/counterdesk/counterdesk/services/notification/internal/survey/surveyhttp"
	"github.com/counterdesk/counterdesk/services/notification/internal/survey/surveypg"
	"github.com/counterdesk/counterdesk/services/platform/service"
	"google.golang.org/grpc"
)

// SurveyConfig is the return-visit survey sent when a case is closed.
type SurveyConfig struct {
	// SurveySigningKeys: each bank's survey keys, "tenant:keyid:base64key,..."
	// (at least 32 bytes each); the first key of a bank signs, all verify.
	// Empty: no survey link can be minted (survey messages are
	// dead-lettered, replayable once keys are set).
	SurveySigningKeys string `env:"SURVEY_SIGNING_KEYS" secret:"true"`
	// SurveyBaseURL is the public gateway's URL; links are
	// SURVEY_BASE_URL/survey/<token>.
	SurveyBaseURL string `env:"SURVEY_BASE_URL"`
	// SurveyLinkLifetime is how long a link lives from the closure.
	SurveyLinkLifetime time.Duration `env:"SURVEY_LINK_LIFETIME" envDefault:"336h"`
}

// surveys mints the survey links for the sender (opts) and serves the
// public page at /survey/ (its path, the link, kept out of traces), answers
// going to intake over conn.
func (c SurveyConfig) surveys(b *service.Base, conn grpc.ClientConnInterface, now service.Clock, opts *dispatch.Options) error {
	keys, err := survey.ParseKeys(c.SurveySigningKeys)
	if err != nil {
		return err
	}
	if c.SurveyLinkLifetime <= 0 || c.SurveyLinkLifetime > 90*24*time.Hour {
		return fmt.Errorf("SURVEY_LINK_LIFETIME %s: want more than 0 and at most 90 days", c.SurveyLinkLifetime)
	}
	if keys.Empty() {
		b.Log.Warn("return-visit survey off: SURVEY_SIGNING_KEYS is empty; survey messages wait as dead letters until it is set")
	} else {
		u, err := url.Parse(c.SurveyBaseURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return fmt.Errorf("SURVEY_BASE_URL %q: want the gateway's http(s) URL, without query or fragment", c.SurveyBaseURL)
		}
		opts.SurveyLinks = survey.Links{Keys: keys, BaseURL: c.SurveyBaseURL, Lifetime: c.SurveyLinkLifetime, Now: now}
		b.Log.Info("return-visit survey on", "banks", keys.Tenants(), "base_url", c.SurveyBaseURL,
			"link_lifetime", c.SurveyLinkLifetime.String())
	}
	svc := survey.Service{Keys: keys, Store: surveypg.New(b.Pool), Recorder: surveygrpc.NewIntake(conn)}
	b.Server.HandleLinkPages("/survey/", surveyhttp.New(svc, now, b.Log))
	return nil
}
