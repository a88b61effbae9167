package surveypg_test

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/counterdesk/counterdesk/services/notification/internal/survey"
	"github.com/counterdesk/counterdesk/services/notification/internal/survey/surveypg"
	"github.com/counterdesk/counterdesk/services/notification/migrations"
	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/counterdesk/counterdesk/services/platform/testinfra"
	"github.com/jackc/pgx/v5/pgxpool"
)

func TestMain(m *testing.M) { os.Exit(testinfra.Run(m, testinfra.Postgres)) }

const (
	tenant   = "bank-a"
	caseID   = "0190d6a4-6b59-7000-8000-000000000001"
	surveyID = "0190d6a4-6b59-7000-8000-0000000000ff"
)

var at = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func newStore(t *testing.T) (*surveypg.Store, *pgxpool.Pool) {
	t.Helper()
	pool, err := pgdb.Open(context.Background(), testinfra.NewDatabase(t), migrations.FS, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	// The survey message, as the closure's handler queues it.
	for _, d := range []struct{ id, template string }{{surveyID, "case_survey"}, {"0190d6a4-6b59-7000-8000-0000000000ee", "case_answer"}} {
		if _, err := pool.Exec(context.Background(), `INSERT INTO deliveries (id, tenant_id, case_id, channel, template, status,
			expected_answer_at, time_zone, next_attempt_at, created_at, updated_at)
			VALUES ($1, $2, $3, 'email', $4, 'PENDING', $5, 'Asia/Shanghai', $5, $5, $5)`, d.id, tenant, caseID, d.template, at); err != nil {
			t.Fatal(err)
		}
	}
	return surveypg.New(pool), pool
}

func TestASurveyIsAnsweredOnceAndOnlyWhenItsAnswerWasRecorded(t *testing.T) {
	s, pool := newStore(t)
	ctx := context.Background()
	sv, err := s.Survey(ctx, tenant, caseID, surveyID)
	if err != nil || sv.AnsweredAt != nil {
		t.Fatalf("open survey: %+v %v", sv, err)
	}
	for name, look := range map[string][3]string{
		"another bank's":       {"bank-b", caseID, surveyID},
		"another case's":       {tenant, "0190d6a4-6b59-7000-8000-000000000002", surveyID},
		"not a survey message": {tenant, caseID, "0190d6a4-6b59-7000-8000-0000000000ee"},
		"not an id":            {tenant, caseID, "nope"},
	} {
		if _, err := s.Survey(ctx, look[0], look[1], look[2]); !errors.Is(err, survey.ErrNotFound) {
			t.Errorf("%s: got %v, want ErrNotFound", name, err)
		}
		if err := s.Answer(ctx, look[0], look[1], look[2], at, func(context.Context) error { return nil }); !errors.Is(err, survey.ErrNotFound) {
			t.Errorf("answering %s: got %v, want ErrNotFound", name, err)
		}
	}

	// intake refused or was unreachable: nothing is kept, the customer may try again.
	down := errors.New("intake unavailable")
	if err := s.Answer(ctx, tenant, caseID, surveyID, at, func(context.Context) error { return down }); !errors.Is(err, down) {
		t.Fatalf("got %v, want the recorder's error", err)
	}
	if sv, _ := s.Survey(ctx, tenant, caseID, surveyID); sv.AnsweredAt != nil {
		t.Fatal("a failed answer was kept")
	}

	// Two answers at once through the same link: one is recorded.
	var mu sync.Mutex
	recorded, answered := 0, 0
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			err := s.Answer(ctx, tenant, caseID, surveyID, at.Add(time.Minute), func(context.Context) error {
				mu.Lock()
				defer mu.Unlock()
				recorded++
				return nil
			})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, survey.ErrAnswered):
				answered++
			case err != nil:
				t.Errorf("answer: %v", err)
			}
		})
	}
	wg.Wait()
	if recorded != 1 || answered != 3 {
		t.Fatalf("%d recorded, %d refused as answered; want 1 and 3", recorded, answered)
	}
	sv, err = s.Survey(ctx, tenant, caseID, surveyID)
	if err != nil || sv.AnsweredAt == nil || !sv.AnsweredAt.Equal(at.Add(time.Minute)) {
		t.Fatalf("answered survey: %+v %v", sv, err)
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM survey_answers`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d answers stored (%v), want 1", n, err)
	}
}
