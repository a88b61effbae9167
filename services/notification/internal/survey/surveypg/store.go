// Package surveypg keeps the return-visit surveys in the notification
// service's Postgres database (survey.Store): a survey is its case_survey
// delivery, and survey_answers says it was answered, once. Queries are
// sqlc-generated (queries/*.sql → survey/surveydb); the bank a query may see
// is the link's, set for row-level security on every call.
package surveypg

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/counterdesk/counterdesk/services/notification/internal/survey"
	"github.com/counterdesk/counterdesk/services/notification/internal/survey/surveydb"
	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Store implements survey.Store.
type Store struct {
	pool *pgxpool.Pool
	q    *surveydb.Queries
}

// New returns a store on pool.
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool, q: surveydb.New(pool)} }

// valid: ids that are no UUID name no survey (and would be a query error).
func valid(caseID, surveyID string) bool {
	_, err1 := uuid.Parse(caseID)
	_, err2 := uuid.Parse(surveyID)
	return err1 == nil && err2 == nil
}

// Survey implements survey.Store.
func (s *Store) Survey(ctx context.Context, tenantID, caseID, surveyID string) (survey.Survey, error) {
	if !valid(caseID, surveyID) {
		return survey.Survey{}, survey.ErrNotFound
	}
	ctx = pgdb.WithTenant(ctx, tenantID)
	row, err := s.q.GetSurvey(ctx, surveydb.GetSurveyParams{TenantID: tenantID, CaseID: caseID, ID: surveyID})
	if errors.Is(err, pgx.ErrNoRows) {
		return survey.Survey{}, survey.ErrNotFound
	}
	if err != nil {
		return survey.Survey{}, fmt.Errorf("read survey %s: %w", surveyID, err)
	}
	return survey.Survey{ID: row.ID, TenantID: row.TenantID, CaseID: row.CaseID, AnsweredAt: row.AnsweredAt}, nil
}

// Answer implements survey.Store: the survey's message row is locked, the
// answer inserted (nothing when there is one: ErrAnswered), then record
// runs; its error rolls the answer back.
func (s *Store) Answer(ctx context.Context, tenantID, caseID, surveyID string, at time.Time, record func(context.Context) error) error {
	if !valid(caseID, surveyID) {
		return survey.ErrNotFound
	}
	ctx = pgdb.WithTenant(ctx, tenantID)
	return pgdb.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		if _, err := q.LockSurvey(ctx, surveydb.LockSurveyParams{TenantID: tenantID, CaseID: caseID, ID: surveyID}); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return survey.ErrNotFound
			}
			return fmt.Errorf("lock survey %s: %w", surveyID, err)
		}
		n, err := q.InsertAnswer(ctx, surveydb.InsertAnswerParams{SurveyID: surveyID, TenantID: tenantID, CaseID: caseID, AnsweredAt: at})
		if err != nil {
			return fmt.Errorf("record answer of survey %s: %w", surveyID, err)
		}
		if n == 0 {
			return survey.ErrAnswered
		}
		return record(ctx)
	})
}
