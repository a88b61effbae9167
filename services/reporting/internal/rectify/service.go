package rectify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/counterdesk/counterdesk/services/platform/auth"
)

// Store keeps notices. Implementations publish the notice's events in the
// same transaction as the change (RectificationNoticeIssued on Create,
// RectificationNoticeClosed when Update closes it), and keep History as
// append-only rows.
type Store interface {
	// CaseRefs returns the read model's record of those of caseIDs that the
	// bank has and whose creation is known.
	CaseRefs(ctx context.Context, tenant string, caseIDs []string) ([]CaseRef, error)
	// Create stores a new notice. It stores nothing and returns false when
	// the issuer already used n's idempotency key (ByKey then finds that
	// notice).
	Create(ctx context.Context, n Notice) (bool, error)
	// ByKey returns the notice issuer issued with an idempotency key, or
	// ErrNotFound.
	ByKey(ctx context.Context, tenant, issuer, key string) (Notice, error)
	// Get returns one notice with its history, or ErrNotFound.
	Get(ctx context.Context, tenant, id string) (Notice, error)
	// Update locks a notice, passes it to change and stores what change
	// returns (with the history entries it appended), all in one
	// transaction; an error from change rolls everything back and is
	// returned as is. ErrNotFound when there is no such notice.
	Update(ctx context.Context, tenant, id string, change func(Notice) (Notice, error)) (Notice, error)
	// List returns a page of q at now (without history), earliest due first.
	List(ctx context.Context, q Query, now time.Time) ([]Notice, error)
	// CountOverdue counts the notices q's scope and branch/region select
	// (whatever its status filter) that are overdue at now.
	CountOverdue(ctx context.Context, q Query, now time.Time) (int64, error)
}

// Notices is the application of the domain: it reads the caller's request,
// asks the store, and applies the rules above at the clock's time.
type Notices struct {
	Store Store
	Now   func() time.Time
	// NewID returns a new notice id (a UUIDv7 in production).
	NewID func() (string, error)
}

// Issue issues a notice for caller. A request with an idempotency key the
// caller used before returns the notice issued then, unchanged, if it asks
// for the same; another request with that key is refused.
func (s *Notices) Issue(ctx context.Context, caller auth.Principal, req IssueRequest) (Notice, error) {
	if err := authorize(caller, ActionIssue); err != nil {
		return Notice{}, err
	}
	req.IdempotencyKey = strings.TrimSpace(req.IdempotencyKey)
	if len(req.IdempotencyKey) > MaxIdempotencyKey {
		return Notice{}, &FieldError{"Idempotency-Key", fmt.Sprintf("at most %d characters", MaxIdempotencyKey)}
	}
	if req.IdempotencyKey != "" {
		// Looked up before validating: a retry after the due date passed
		// still finds what the first request issued.
		if n, err := s.replay(ctx, caller, req); !errors.Is(err, ErrNotFound) {
			return n, err
		}
	}
	known, err := s.Store.CaseRefs(ctx, caller.Tenant, req.CaseIDs)
	if err != nil {
		return Notice{}, fmt.Errorf("look up linked cases: %w", err)
	}
	id, err := s.NewID()
	if err != nil {
		return Notice{}, fmt.Errorf("new notice id: %w", err)
	}
	n, err := Issue(req, caller, known, id, s.Now())
	if err != nil {
		return Notice{}, err
	}
	created, err := s.Store.Create(ctx, n)
	if err != nil {
		return Notice{}, fmt.Errorf("store notice: %w", err)
	}
	if !created {
		// The same key from the same issuer won a race with this request.
		return s.replay(ctx, caller, req)
	}
	return n, nil
}

// replay returns the notice caller issued with req's idempotency key, or
// ErrNotFound.
func (s *Notices) replay(ctx context.Context, caller auth.Principal, req IssueRequest) (Notice, error) {
	n, err := s.Store.ByKey(ctx, caller.Tenant, caller.Subject, req.IdempotencyKey)
	if err != nil {
		return Notice{}, err
	}
	if n.Fingerprint != req.Fingerprint() {
		return Notice{}, &FieldError{"Idempotency-Key", "was used before for a different request"}
	}
	return n, nil
}

// Get returns one notice the caller may see.
func (s *Notices) Get(ctx context.Context, caller auth.Principal, id string) (Notice, error) {
	if err := authorize(caller, actRead); err != nil {
		return Notice{}, err
	}
	n, err := s.Store.Get(ctx, caller.Tenant, id)
	if err != nil {
		return Notice{}, err
	}
	if err := View(caller, n); err != nil {
		return Notice{}, err
	}
	return n, nil
}

// Page is one page of a list.
type Page struct {
	Notices      []Notice
	OverdueCount int64
	// Next continues the list; nil on the last page.
	Next *Cursor
	AsOf time.Time
}

// List lists the notices the caller may see.
func (s *Notices) List(ctx context.Context, caller auth.Principal, req ListRequest) (Page, error) {
	q, err := ListQuery(caller, req)
	if err != nil {
		return Page{}, err
	}
	now := s.Now()
	// One more than the page shows whether another follows.
	probe := q
	probe.Limit = q.Limit + 1
	ns, err := s.Store.List(ctx, probe, now)
	if err != nil {
		return Page{}, fmt.Errorf("list notices: %w", err)
	}
	p := Page{AsOf: now}
	if len(ns) > q.Limit {
		ns = ns[:q.Limit]
		last := ns[len(ns)-1]
		p.Next = &Cursor{DueAt: last.DueAt.UTC().Format(time.RFC3339Nano), ID: last.ID}
	}
	p.Notices = ns
	if p.OverdueCount, err = s.Store.CountOverdue(ctx, q, now); err != nil {
		return Page{}, fmt.Errorf("count overdue notices: %w", err)
	}
	return p, nil
}

// RecordMeasures records the branch's measures on notice id.
func (s *Notices) RecordMeasures(ctx context.Context, caller auth.Principal, id, measures string) (Notice, error) {
	return s.step(ctx, caller, id, ActionRecordMeasures, func(n Notice, now time.Time) (Notice, error) {
		return RecordMeasures(n, measures, caller, now)
	})
}

// Close closes notice id.
func (s *Notices) Close(ctx context.Context, caller auth.Principal, id, comment string) (Notice, error) {
	return s.step(ctx, caller, id, ActionClose, func(n Notice, now time.Time) (Notice, error) {
		return Close(n, comment, caller, now)
	})
}

func (s *Notices) step(ctx context.Context, caller auth.Principal, id string, a Action, fn func(Notice, time.Time) (Notice, error)) (Notice, error) {
	if err := authorize(caller, a); err != nil {
		return Notice{}, err
	}
	return s.Store.Update(ctx, caller.Tenant, id, func(n Notice) (Notice, error) {
		return fn(n, s.Now())
	})
}
