// Package calendars keeps the business calendars in force: the national
// calendar shipped with the release, overlaid with every year the operator
// has loaded since, and each branch's closures. Every change is a new
// version; a change recounts the open deadlines it can move and announces
// each one that moved.
//
// The package declares the store it needs (Store) and stays free of SQL; the
// Postgres adapter is timerpg. Transactions are the caller's: a deadline is
// counted, and a change applied, inside the transaction that records it, and
// the calendar lock (shared for counting, exclusive for changing) makes sure
// no deadline is ever counted on a calendar a committed change has replaced.
package calendars

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/counterdesk/counterdesk/services/slatimer/internal/calendar"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/sla"
	"github.com/jackc/pgx/v5"
)

// YearLoad is one national year as the operator loaded it.
type YearLoad struct {
	Version    int64
	CalendarID string
	Year       int
	Holidays   []calendar.Holiday
	Workdays   []calendar.Date
	Source     string
	LoadedBy   string
	LoadedAt   time.Time
}

// Closure closes one branch of one bank for whole days, From to To inclusive.
type Closure struct {
	Version        int64
	Tenant, Branch string
	From, To       calendar.Date
	Reason         string
	CreatedBy      string
	CreatedAt      time.Time
}

// OpenDeadline is a stored deadline a calendar change may move.
type OpenDeadline struct {
	CaseID, Kind, Tenant, Branch string
	StartedAt, DueAt             time.Time
	Provisional                  bool
	Basis                        sla.Basis
}

// Store is what the calendars need from storage. Every method runs in the
// caller's transaction.
type Store interface {
	// LockShared is taken by whoever counts deadlines on the calendars,
	// LockExclusive by whoever changes them; both last until the
	// transaction ends.
	LockShared(ctx context.Context, tx pgx.Tx) error
	LockExclusive(ctx context.Context, tx pgx.Tx) error
	// Version is the newest calendar change visible in tx (0: none).
	Version(ctx context.Context, tx pgx.Tx) (int64, error)
	// Changes returns every year load and closure, in version order.
	Changes(ctx context.Context, tx pgx.Tx) ([]YearLoad, []Closure, error)
	AddYear(ctx context.Context, tx pgx.Tx, y YearLoad) (version int64, err error)
	AddClosure(ctx context.Context, tx pgx.Tx, c Closure) (version int64, err error)
	Closures(ctx context.Context, tx pgx.Tx, tenant, branch string) ([]Closure, error)
	// OpenOnCalendar and OpenOfBranch return open, unbreached deadlines due
	// at or after dueFrom.
	OpenOnCalendar(ctx context.Context, tx pgx.Tx, calendarID string, dueFrom time.Time) ([]OpenDeadline, error)
	OpenOfBranch(ctx context.Context, tx pgx.Tx, tenant, branch string, dueFrom time.Time) ([]OpenDeadline, error)
	// Reschedule stores a recounted deadline and moves its warnings and
	// breach: a warning already fired fires again when its new time is after
	// changedAt, and the deadline's level follows.
	Reschedule(ctx context.Context, tx pgx.Tx, old OpenDeadline, recounted sla.Deadline, version int64, changedAt time.Time) error
	// Uncountable counts open deadlines due at or after dueFrom that were
	// armed without a basis (before migration 2) in a branch (tenant and
	// branch) or everywhere (both empty): no change can recount them.
	Uncountable(ctx context.Context, tx pgx.Tx, tenant, branch string, dueFrom time.Time) (int, error)
}

// Errors a caller maps to its API.
var (
	ErrUnknownCalendar = errors.New("unknown calendar")
)

// Base returns a fresh copy of a national calendar as shipped, or false.
type Base func(id string) (*calendar.Calendar, bool)

// ChinaBase is the shipped national calendar of mainland China.
func ChinaBase(id string) (*calendar.Calendar, bool) {
	if id != calendar.ChinaID {
		return nil, false
	}
	c, err := calendar.China()
	if err != nil {
		return nil, false
	}
	return c, true
}

// State is the calendars in force at one version. It is immutable; branch
// views are built on first use and cached.
type State struct {
	Version  int64
	national map[string]*calendar.Calendar
	loads    map[string]map[int]YearLoad // the load in force per calendar and year
	closures map[branchKey][]Closure

	mu    sync.Mutex
	views map[viewKey]*calendar.Calendar
}

type branchKey struct{ tenant, branch string }

type viewKey struct {
	calendarID string
	branchKey
}

// Build applies the changes (in version order) to the shipped calendars.
func Build(base Base, version int64, loads []YearLoad, closures []Closure) (*State, error) {
	st := &State{Version: version, national: map[string]*calendar.Calendar{}, loads: map[string]map[int]YearLoad{},
		closures: map[branchKey][]Closure{}, views: map[viewKey]*calendar.Calendar{}}
	for _, l := range loads {
		c, ok := st.national[l.CalendarID]
		if !ok {
			if c, ok = base(l.CalendarID); !ok {
				return nil, fmt.Errorf("calendar change %d: %w %q", l.Version, ErrUnknownCalendar, l.CalendarID)
			}
			st.national[l.CalendarID] = c
		}
		if err := c.LoadYear(l.Year, l.Holidays, l.Workdays, yearSource(l)); err != nil {
			return nil, fmt.Errorf("calendar change %d (%s %d): %w", l.Version, l.CalendarID, l.Year, err)
		}
		if st.loads[l.CalendarID] == nil {
			st.loads[l.CalendarID] = map[int]YearLoad{}
		}
		st.loads[l.CalendarID][l.Year] = l
	}
	for _, c := range closures {
		k := branchKey{c.Tenant, c.Branch}
		st.closures[k] = append(st.closures[k], c)
	}
	return st, nil
}

// National returns a national calendar as in force (shared: do not change it).
func (st *State) National(base Base, id string) (*calendar.Calendar, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if c, ok := st.national[id]; ok {
		return c, true
	}
	c, ok := base(id)
	if ok {
		st.national[id] = c
	}
	return c, ok
}

// Load returns the operator's load in force for a year, if any.
func (st *State) Load(calendarID string, year int) (YearLoad, bool) {
	l, ok := st.loads[calendarID][year]
	return l, ok
}

// Branch returns the calendar a branch's deadlines are counted on: the
// national calendar with the branch's closures as days off. One bank's
// closure never reaches another bank's branch, even with the same id.
func (st *State) Branch(base Base, tenant, branch, calendarID string) (*calendar.Calendar, bool) {
	if calendarID == "" {
		calendarID = calendar.ChinaID
	}
	nat, ok := st.National(base, calendarID)
	if !ok {
		return nil, false
	}
	k := branchKey{tenant, branch}
	cs := st.closures[k]
	if len(cs) == 0 {
		return nat, true
	}
	vk := viewKey{calendarID, k}
	st.mu.Lock()
	defer st.mu.Unlock()
	if v, ok := st.views[vk]; ok {
		return v, true
	}
	// The view keeps the national calendar's id: deadlines record it as
	// what they were counted on, and a change of that calendar finds them by it.
	v := nat.Clone(calendarID)
	for _, c := range cs {
		for d := c.From; !c.To.Before(d); d = d.AddDays(1) {
			if err := v.AddClosure(d, c.Reason); err != nil {
				return nil, false
			}
		}
	}
	st.views[vk] = v
	return v, true
}

// Registry caches the State of the newest version and rebuilds it when the
// store shows a newer one, so every replica counts on the same calendar.
type Registry struct {
	Store Store
	Base  Base
	// Log, when set, is told of deadlines a change could not recount.
	Log *slog.Logger

	mu  sync.Mutex
	cur *State
}

// Current returns the calendars in force as tx sees them. Take the shared or
// exclusive lock first.
func (r *Registry) Current(ctx context.Context, tx pgx.Tx) (*State, error) {
	v, err := r.Store.Version(ctx, tx)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	cur := r.cur
	r.mu.Unlock()
	// Versions come from a sequence, so a version built inside a transaction
	// that rolled back is never reused by a later change: equality is enough.
	if cur != nil && cur.Version == v {
		return cur, nil
	}
	loads, closures, err := r.Store.Changes(ctx, tx)
	if err != nil {
		return nil, err
	}
	st, err := Build(r.Base, v, loads, closures)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.cur = st
	r.mu.Unlock()
	return st, nil
}

// Recounted is a deadline a change counted differently: its due time moved,
// or it stopped (or started) being provisional.
type Recounted struct {
	Old OpenDeadline
	New sla.Deadline
}

// Reasons for a recount, as DeadlineRecomputed carries them.
const (
	ReasonYearLoaded    = "calendar_year_loaded"
	ReasonBranchClosure = "branch_closure"
)

// LoadYear validates and records a national year, then recounts every open
// deadline on that calendar it can move. It returns the stored load and the
// deadlines it counted differently, for the caller to announce.
func (r *Registry) LoadYear(ctx context.Context, tx pgx.Tx, y YearLoad) (YearLoad, []Recounted, error) {
	if _, ok := r.Base(y.CalendarID); !ok {
		return YearLoad{}, nil, fmt.Errorf("%w %q", ErrUnknownCalendar, y.CalendarID)
	}
	if err := calendar.ValidateYear(y.Year, y.Holidays, y.Workdays); err != nil {
		return YearLoad{}, nil, err
	}
	// A deadline due before the year starts (anywhere on earth) was counted
	// without any of its days.
	from := time.Date(y.Year, time.January, 1, 0, 0, 0, 0, time.UTC).Add(-14 * time.Hour)
	v, moved, err := r.apply(ctx, tx, y.LoadedAt, "", "", from,
		func() (int64, error) { return r.Store.AddYear(ctx, tx, y) },
		func() ([]OpenDeadline, error) { return r.Store.OpenOnCalendar(ctx, tx, y.CalendarID, from) })
	y.Version = v
	return y, moved, err
}

// CloseBranch validates and records a closure, then recounts the branch's
// open deadlines it can move.
func (r *Registry) CloseBranch(ctx context.Context, tx pgx.Tx, c Closure) (Closure, []Recounted, error) {
	if err := ValidateClosure(c); err != nil {
		return Closure{}, nil, err
	}
	from := c.From.At(0, time.UTC).Add(-14 * time.Hour)
	v, moved, err := r.apply(ctx, tx, c.CreatedAt, c.Tenant, c.Branch, from,
		func() (int64, error) { return r.Store.AddClosure(ctx, tx, c) },
		func() ([]OpenDeadline, error) { return r.Store.OpenOfBranch(ctx, tx, c.Tenant, c.Branch, from) })
	c.Version = v
	return c, moved, err
}

// apply records a change made at changedAt under the exclusive calendar
// lock, then recounts the open deadlines it can move on the calendars as they
// now are (of one branch, or all when tenant and branch are empty).
func (r *Registry) apply(ctx context.Context, tx pgx.Tx, changedAt time.Time, tenant, branch string, dueFrom time.Time,
	record func() (int64, error), open func() ([]OpenDeadline, error)) (int64, []Recounted, error) {
	if err := r.Store.LockExclusive(ctx, tx); err != nil {
		return 0, nil, err
	}
	v, err := record()
	if err != nil {
		return 0, nil, err
	}
	st, err := r.Current(ctx, tx)
	if err != nil {
		return 0, nil, err
	}
	ds, err := open()
	if err != nil {
		return 0, nil, err
	}
	moved, err := r.recount(ctx, tx, st, ds, changedAt)
	if err != nil {
		return 0, nil, err
	}
	if n, err := r.Store.Uncountable(ctx, tx, tenant, branch, dueFrom); err != nil {
		return 0, nil, err
	} else if n > 0 && r.Log != nil {
		r.Log.WarnContext(ctx, "calendar change left deadlines armed before recounting existed as they were",
			"calendar_version", v, "deadlines", n)
	}
	return v, moved, nil
}

// MaxClosureDays bounds one closure; a longer one is a mistake or a branch
// that should be closed in the organisation.
const MaxClosureDays = 31

// ValidateClosure checks a closure, naming the API field.
func ValidateClosure(c Closure) error {
	var errs []error
	if !c.From.Valid() {
		errs = append(errs, &calendar.FieldError{Field: "from", Problem: "must be a date YYYY-MM-DD"})
	}
	if !c.To.Valid() {
		errs = append(errs, &calendar.FieldError{Field: "to", Problem: "must be a date YYYY-MM-DD"})
	}
	if len(errs) == 0 {
		switch {
		case c.To.Before(c.From):
			errs = append(errs, &calendar.FieldError{Field: "to", Problem: fmt.Sprintf("must not be before from (%s)", c.From)})
		case c.From.AddDays(MaxClosureDays - 1).Before(c.To):
			errs = append(errs, &calendar.FieldError{Field: "to", Problem: fmt.Sprintf("a closure lasts at most %d days", MaxClosureDays)})
		}
	}
	if c.Reason == "" {
		errs = append(errs, &calendar.FieldError{Field: "reason", Problem: "must not be empty"})
	}
	return errors.Join(errs...)
}

func (r *Registry) recount(ctx context.Context, tx pgx.Tx, st *State, open []OpenDeadline, changedAt time.Time) ([]Recounted, error) {
	var moved []Recounted
	for _, d := range open {
		cal, ok := st.Branch(r.Base, d.Tenant, d.Branch, d.Basis.CalendarID)
		if !ok {
			// Never silently left behind: a deadline nobody can recount is a
			// fault the operator must see, and the change is refused.
			return nil, fmt.Errorf("recount %s of case %s: %w %q", d.Kind, d.CaseID, ErrUnknownCalendar, d.Basis.CalendarID)
		}
		nd, err := sla.Recount(sla.Kind(d.Kind), d.Basis, cal, d.StartedAt)
		if err != nil {
			return nil, fmt.Errorf("recount %s of case %s: %w", d.Kind, d.CaseID, err)
		}
		if nd.DueAt.Equal(d.DueAt) && nd.Provisional == d.Provisional {
			continue
		}
		if err := r.Store.Reschedule(ctx, tx, d, nd, st.Version, changedAt); err != nil {
			return nil, err
		}
		moved = append(moved, Recounted{Old: d, New: nd})
	}
	return moved, nil
}

func yearSource(l YearLoad) calendar.YearSource {
	return calendar.YearSource{Year: l.Year, Source: l.Source}
}
