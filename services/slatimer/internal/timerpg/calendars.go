package timerpg

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/counterdesk/counterdesk/services/slatimer/internal/calendar"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/calendars"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/sla"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/timerpg/timerdb"
	"github.com/jackc/pgx/v5"
)

// calendarLockKey is the advisory lock that orders counting deadlines
// (shared) against changing calendars (exclusive).
const calendarLockKey int64 = 0x636470_63616c // "cdp" "cal"

var _ calendars.Store = (*Store)(nil)

// LockShared implements calendars.Store.
func (s *Store) LockShared(ctx context.Context, tx pgx.Tx) error {
	if err := s.on(tx).LockCalendarsShared(ctx, calendarLockKey); err != nil {
		return fmt.Errorf("lock calendars (shared): %w", err)
	}
	return nil
}

// LockExclusive implements calendars.Store.
func (s *Store) LockExclusive(ctx context.Context, tx pgx.Tx) error {
	if err := s.on(tx).LockCalendarsExclusive(ctx, calendarLockKey); err != nil {
		return fmt.Errorf("lock calendars: %w", err)
	}
	return nil
}

// Version implements calendars.Store.
func (s *Store) Version(ctx context.Context, tx pgx.Tx) (int64, error) {
	v, err := s.on(tx).CalendarVersion(ctx)
	if err != nil {
		return 0, fmt.Errorf("read calendar version: %w", err)
	}
	return v, nil
}

// Changes implements calendars.Store.
func (s *Store) Changes(ctx context.Context, tx pgx.Tx) ([]calendars.YearLoad, []calendars.Closure, error) {
	q := s.on(tx)
	ys, err := q.ListCalendarYears(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("read calendar years: %w", err)
	}
	loads := make([]calendars.YearLoad, 0, len(ys))
	for _, y := range ys {
		l := calendars.YearLoad{Version: y.Version, CalendarID: y.CalendarID, Year: int(y.Year), Source: y.Source,
			LoadedBy: y.LoadedBy, LoadedAt: y.LoadedAt}
		if err := json.Unmarshal(y.Holidays, &l.Holidays); err != nil {
			return nil, nil, fmt.Errorf("decode holidays of calendar change %d: %w", y.Version, err)
		}
		if err := json.Unmarshal(y.Workdays, &l.Workdays); err != nil {
			return nil, nil, fmt.Errorf("decode workdays of calendar change %d: %w", y.Version, err)
		}
		loads = append(loads, l)
	}
	cs, err := q.ListAllBranchClosures(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("read branch closures: %w", err)
	}
	closures := make([]calendars.Closure, 0, len(cs))
	for _, c := range cs {
		closures = append(closures, closureOf(c))
	}
	return loads, closures, nil
}

// AddYear implements calendars.Store.
func (s *Store) AddYear(ctx context.Context, tx pgx.Tx, y calendars.YearLoad) (int64, error) {
	hs, err := json.Marshal(nonNil(y.Holidays))
	if err != nil {
		return 0, err
	}
	ws, err := json.Marshal(nonNil(y.Workdays))
	if err != nil {
		return 0, err
	}
	v, err := s.on(tx).InsertCalendarYear(ctx, timerdb.InsertCalendarYearParams{
		CalendarID: y.CalendarID, Year: int32(y.Year), Holidays: hs, Workdays: ws, Source: y.Source,
		LoadedBy: y.LoadedBy, LoadedAt: y.LoadedAt,
	})
	if err != nil {
		return 0, fmt.Errorf("store calendar year %s %d: %w", y.CalendarID, y.Year, err)
	}
	return v, nil
}

// AddClosure implements calendars.Store.
func (s *Store) AddClosure(ctx context.Context, tx pgx.Tx, c calendars.Closure) (int64, error) {
	v, err := s.on(tx).InsertBranchClosure(ctx, timerdb.InsertBranchClosureParams{
		TenantID: c.Tenant, BranchID: c.Branch, FromDate: c.From.At(0, time.UTC), ToDate: c.To.At(0, time.UTC),
		Reason: c.Reason, CreatedBy: c.CreatedBy, CreatedAt: c.CreatedAt,
	})
	if err != nil {
		return 0, fmt.Errorf("store closure of branch %s: %w", c.Branch, err)
	}
	return v, nil
}

// Closures implements calendars.Store: a branch's closures, newest first.
func (s *Store) Closures(ctx context.Context, tx pgx.Tx, tenant, branch string) ([]calendars.Closure, error) {
	cs, err := s.on(tx).ListClosuresOfBranch(ctx, timerdb.ListClosuresOfBranchParams{TenantID: tenant, BranchID: branch})
	if err != nil {
		return nil, fmt.Errorf("read closures of branch %s: %w", branch, err)
	}
	out := make([]calendars.Closure, 0, len(cs))
	for _, c := range cs {
		out = append(out, closureOf(c))
	}
	return out, nil
}

func closureOf(c timerdb.BranchClosure) calendars.Closure {
	return calendars.Closure{Version: c.Version, Tenant: c.TenantID, Branch: c.BranchID,
		From: calendar.DateOf(c.FromDate.UTC()), To: calendar.DateOf(c.ToDate.UTC()),
		Reason: c.Reason, CreatedBy: c.CreatedBy, CreatedAt: c.CreatedAt}
}

// OpenOnCalendar implements calendars.Store.
func (s *Store) OpenOnCalendar(ctx context.Context, tx pgx.Tx, calendarID string, dueFrom time.Time) ([]calendars.OpenDeadline, error) {
	rows, err := s.on(tx).OpenDeadlinesOnCalendar(ctx, timerdb.OpenDeadlinesOnCalendarParams{CalendarID: calendarID, DueFrom: dueFrom})
	if err != nil {
		return nil, fmt.Errorf("read open deadlines on calendar %s: %w", calendarID, err)
	}
	return openDeadlines(rows)
}

// OpenOfBranch implements calendars.Store.
func (s *Store) OpenOfBranch(ctx context.Context, tx pgx.Tx, tenant, branch string, dueFrom time.Time) ([]calendars.OpenDeadline, error) {
	rows, err := s.on(tx).OpenDeadlinesOfBranch(ctx, timerdb.OpenDeadlinesOfBranchParams{TenantID: tenant, BranchID: branch, DueFrom: dueFrom})
	if err != nil {
		return nil, fmt.Errorf("read open deadlines of branch %s: %w", branch, err)
	}
	same := make([]timerdb.OpenDeadlinesOnCalendarRow, len(rows))
	for i, r := range rows {
		same[i] = timerdb.OpenDeadlinesOnCalendarRow(r) // both queries select the same columns
	}
	return openDeadlines(same)
}

func openDeadlines(rows []timerdb.OpenDeadlinesOnCalendarRow) ([]calendars.OpenDeadline, error) {
	out := make([]calendars.OpenDeadline, 0, len(rows))
	for _, r := range rows {
		d := calendars.OpenDeadline{CaseID: r.CaseID, Kind: r.Kind, Tenant: r.TenantID, Branch: r.BranchID,
			StartedAt: r.StartedAt, DueAt: r.DueAt, Provisional: r.Provisional}
		if err := json.Unmarshal(r.Basis, &d.Basis); err != nil {
			return nil, fmt.Errorf("decode basis of %s of case %s: %w", r.Kind, r.CaseID, err)
		}
		out = append(out, d)
	}
	return out, nil
}

// Reschedule implements calendars.Store.
func (s *Store) Reschedule(ctx context.Context, tx pgx.Tx, old calendars.OpenDeadline, nd sla.Deadline, version int64, changedAt time.Time) error {
	q := s.on(tx)
	if err := q.RescheduleDeadline(ctx, timerdb.RescheduleDeadlineParams{CaseID: old.CaseID, Kind: old.Kind,
		DueAt: nd.DueAt, Provisional: nd.Provisional, CalendarVersion: version}); err != nil {
		return fmt.Errorf("reschedule %s of case %s: %w", old.Kind, old.CaseID, err)
	}
	for _, w := range fires(nd) {
		if err := q.RescheduleFire(ctx, timerdb.RescheduleFireParams{CaseID: old.CaseID, Kind: old.Kind, Level: w.Level, FireAt: w.At, ChangedAt: changedAt}); err != nil {
			return fmt.Errorf("reschedule %s fire of %s of case %s: %w", w.Level, old.Kind, old.CaseID, err)
		}
	}
	if err := q.ResetLevel(ctx, timerdb.ResetLevelParams{CaseID: old.CaseID, Kind: old.Kind}); err != nil {
		return fmt.Errorf("reset level of %s of case %s: %w", old.Kind, old.CaseID, err)
	}
	return nil
}

// Uncountable implements calendars.Store.
func (s *Store) Uncountable(ctx context.Context, tx pgx.Tx, tenant, branch string, dueFrom time.Time) (int, error) {
	n, err := s.on(tx).CountUncountableOpen(ctx, timerdb.CountUncountableOpenParams{TenantID: tenant, BranchID: branch, DueFrom: dueFrom})
	if err != nil {
		return 0, fmt.Errorf("count deadlines without a basis: %w", err)
	}
	return int(n), nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
