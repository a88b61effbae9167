package survey

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/counterdesk/counterdesk/services/notification/internal/notify"
)

// MaxCommentRunes bounds the comment a customer may leave.
const MaxCommentRunes = 500

// Answer is what the customer gave: satisfaction 1 (very dissatisfied) to 5
// (very satisfied) and an optional comment. The comment is free text and
// may hold personal data: it goes to intake, which seals it, and is never
// logged, stored here or put in an error.
type Answer struct {
	Satisfaction int
	Comment      string
}

// FieldError names the field of an answer that is wrong and why.
type FieldError struct {
	Field, Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Validate reports the first thing wrong with a.
func (a Answer) Validate() error {
	if a.Satisfaction < 1 || a.Satisfaction > 5 {
		return &FieldError{"satisfaction", "must be 1 to 5"}
	}
	if !utf8.ValidString(a.Comment) {
		return &FieldError{"comment", "must be UTF-8 text"}
	}
	if n := utf8.RuneCountInString(a.Comment); n > MaxCommentRunes {
		return &FieldError{"comment", fmt.Sprintf("must be at most %d characters (has %d)", MaxCommentRunes, n)}
	}
	for _, r := range a.Comment {
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			return &FieldError{"comment", "must not contain control characters"}
		}
	}
	return nil
}

// Normalized returns a with the comment's line breaks as "\n" (a browser
// sends "\r\n") and its ends trimmed.
func (a Answer) Normalized() Answer {
	a.Comment = strings.TrimSpace(strings.ReplaceAll(a.Comment, "\r\n", "\n"))
	return a
}

// Survey is one survey message as the store keeps it.
type Survey struct {
	ID, TenantID, CaseID string
	// AnsweredAt is when the survey was answered; nil while it is open.
	AnsweredAt *time.Time
}

// Store keeps which surveys were sent and which were answered.
type Store interface {
	// Survey returns tenantID's survey surveyID of case caseID, or
	// ErrNotFound.
	Survey(ctx context.Context, tenantID, caseID, surveyID string) (Survey, error)
	// Answer marks the survey answered at at, in one transaction with
	// record: record runs while the survey is held (a concurrent answer
	// waits), and its error rolls everything back so the customer may try
	// again. ErrAnswered when it was answered already, ErrNotFound when no
	// such survey was sent.
	Answer(ctx context.Context, tenantID, caseID, surveyID string, at time.Time, record func(context.Context) error) error
}

// Recorder records the answer on the case (intake's RecordReturnVisit).
type Recorder interface {
	// RecordReturnVisit returns ErrClosed when the case takes no survey
	// answer now. Its errors carry nothing the customer wrote.
	RecordReturnVisit(ctx context.Context, tenantID, caseID string, a Answer) error
}

// Service opens and answers surveys.
type Service struct {
	Keys     Keys
	Store    Store
	Recorder Recorder
}

// Open checks that token is a link to a survey that may be answered at now.
func (s Service) Open(ctx context.Context, token string, now time.Time) (Link, error) {
	l, err := s.Keys.Verify(token, now)
	if err != nil {
		return Link{}, err
	}
	sv, err := s.Store.Survey(ctx, l.TenantID, l.CaseID, l.SurveyID)
	if err != nil {
		return l, err
	}
	if sv.AnsweredAt != nil {
		return l, ErrAnswered
	}
	return l, nil
}

// Submit records answer a through token at now: on the case at intake and,
// in the same transaction, as this survey's one answer. A second answer
// through the same link is ErrAnswered and changes nothing.
func (s Service) Submit(ctx context.Context, token string, a Answer, now time.Time) (Link, error) {
	l, err := s.Keys.Verify(token, now)
	if err != nil {
		return Link{}, err
	}
	a = a.Normalized()
	if err := a.Validate(); err != nil {
		return l, err
	}
	err = s.Store.Answer(ctx, l.TenantID, l.CaseID, l.SurveyID, now, func(ctx context.Context) error {
		return s.Recorder.RecordReturnVisit(ctx, l.TenantID, l.CaseID, a)
	})
	if err != nil {
		return l, err
	}
	return l, nil
}

// Links mints the links survey messages carry, when they are sent
// (notify.SurveyLinks): the page is at BaseURL + "/survey/" + token, and a
// link lives Lifetime from the case's closure.
type Links struct {
	Keys    Keys
	BaseURL string
	// Lifetime of a link from the closure; DefaultLifetime when zero.
	Lifetime time.Duration
	// Now is the service's clock.
	Now func() time.Time
}

// SurveyURL implements notify.SurveyLinks for survey delivery d (its
// ExpectedAnswerAt is when the case was closed), for a reader of lang.
func (l Links) SurveyURL(d notify.Delivery, lang notify.Language) (string, error) {
	if l.BaseURL == "" {
		return "", errors.New("SURVEY_BASE_URL is not set")
	}
	life := l.Lifetime
	if life <= 0 {
		life = DefaultLifetime
	}
	tok, err := l.Keys.Issue(Link{TenantID: d.TenantID, CaseID: d.CaseID, SurveyID: d.ID, Language: string(lang),
		ExpiresAt: d.ExpectedAnswerAt.Add(life)}, l.Now())
	if err != nil {
		return "", err
	}
	return strings.TrimRight(l.BaseURL, "/") + "/survey/" + tok, nil
}
