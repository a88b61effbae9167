// Package templatepg keeps banks' own message wordings and standard answers
// in Postgres (sqlc queries in queries/, generated templatedb).
package templatepg

import (
	"context"
	"errors"
	"fmt"

	"github.com/counterdesk/counterdesk/services/notification/internal/answers"
	"github.com/counterdesk/counterdesk/services/notification/internal/notify"
	"github.com/counterdesk/counterdesk/services/notification/internal/templatepg/templatedb"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Store implements notify.TemplateStore and answers.Store.
type Store struct {
	q *templatedb.Queries
}

// New returns a store over pool.
func New(pool *pgxpool.Pool) *Store { return &Store{q: templatedb.New(pool)} }

var (
	_ notify.TemplateStore = (*Store)(nil)
	_ answers.Store        = (*Store)(nil)
)

// BankTemplate implements notify.TemplateStore.
func (s *Store) BankTemplate(ctx context.Context, tenantID string, k notify.TemplateKey) (notify.BankTemplate, bool, error) {
	r, err := s.q.GetMessageTemplate(ctx, templatedb.GetMessageTemplateParams{TenantID: tenantID, Template: string(k.Template),
		Channel: string(k.Channel), Language: string(k.Language)})
	if errors.Is(err, pgx.ErrNoRows) {
		return notify.BankTemplate{}, false, nil
	}
	if err != nil {
		return notify.BankTemplate{}, false, fmt.Errorf("read template %s: %w", k, err)
	}
	return toTemplate(r), true, nil
}

// BankTemplates returns every wording tenantID keeps.
func (s *Store) BankTemplates(ctx context.Context, tenantID string) ([]notify.BankTemplate, error) {
	rs, err := s.q.ListMessageTemplates(ctx, tenantID)
	if err != nil {
		return nil, fmt.Errorf("list templates: %w", err)
	}
	out := make([]notify.BankTemplate, 0, len(rs))
	for _, r := range rs {
		out = append(out, toTemplate(r))
	}
	return out, nil
}

// PutBankTemplate keeps t as tenantID's wording of t.Key.
func (s *Store) PutBankTemplate(ctx context.Context, tenantID string, t notify.BankTemplate) error {
	err := s.q.PutMessageTemplate(ctx, templatedb.PutMessageTemplateParams{TenantID: tenantID, Template: string(t.Key.Template),
		Channel: string(t.Key.Channel), Language: string(t.Key.Language), Source: t.Source, UpdatedBy: t.UpdatedBy, UpdatedAt: t.UpdatedAt})
	if err != nil {
		return fmt.Errorf("keep template %s: %w", t.Key, err)
	}
	return nil
}

// DeleteBankTemplate drops tenantID's wording of k and reports whether it
// kept one.
func (s *Store) DeleteBankTemplate(ctx context.Context, tenantID string, k notify.TemplateKey) (bool, error) {
	n, err := s.q.DeleteMessageTemplate(ctx, templatedb.DeleteMessageTemplateParams{TenantID: tenantID, Template: string(k.Template),
		Channel: string(k.Channel), Language: string(k.Language)})
	if err != nil {
		return false, fmt.Errorf("drop template %s: %w", k, err)
	}
	return n > 0, nil
}

func toTemplate(r templatedb.MessageTemplate) notify.BankTemplate {
	return notify.BankTemplate{Key: notify.TemplateKey{Template: notify.Template(r.Template), Channel: notify.Channel(r.Channel),
		Language: notify.Language(r.Language)}, Source: r.Source, UpdatedBy: r.UpdatedBy, UpdatedAt: r.UpdatedAt}
}

// Entries implements answers.Store.
func (s *Store) Entries(ctx context.Context, tenantID string) ([]answers.Entry, error) {
	rs, err := s.q.ListStandardAnswers(ctx, tenantID)
	if err != nil {
		return nil, fmt.Errorf("list standard answers: %w", err)
	}
	out := make([]answers.Entry, 0, len(rs))
	for _, r := range rs {
		out = append(out, answers.Entry{Answer: answers.Answer{ID: r.ID, Category: r.Category, Language: r.Language,
			Title: r.Title, Body: r.Body, UpdatedBy: r.UpdatedBy, UpdatedAt: r.UpdatedAt}, Disabled: r.Disabled})
	}
	return out, nil
}

// Put implements answers.Store.
func (s *Store) Put(ctx context.Context, tenantID string, e answers.Entry) error {
	err := s.q.PutStandardAnswer(ctx, templatedb.PutStandardAnswerParams{TenantID: tenantID, ID: e.ID, Category: e.Category,
		Language: e.Language, Title: e.Title, Body: e.Body, Disabled: e.Disabled, UpdatedBy: e.UpdatedBy, UpdatedAt: e.UpdatedAt})
	if err != nil {
		return fmt.Errorf("keep standard answer %s: %w", e.ID, err)
	}
	return nil
}

// Delete implements answers.Store.
func (s *Store) Delete(ctx context.Context, tenantID, id string) (bool, error) {
	n, err := s.q.DeleteStandardAnswer(ctx, templatedb.DeleteStandardAnswerParams{TenantID: tenantID, ID: id})
	if err != nil {
		return false, fmt.Errorf("drop standard answer %s: %w", id, err)
	}
	return n > 0, nil
}
