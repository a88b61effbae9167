package routing

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrNotFound: no such case, branch or staff member in the bank.
var ErrNotFound = errors.New("not found")

// Tx is what the ownership rules need of routing's store inside one
// transaction (routingpg implements it on Postgres). Every change of owner
// and its event commit together.
type Tx interface {
	// Pool returns everyone who may own a case of a branch, with their
	// open loads. ErrNotFound for an unknown branch.
	Pool(ctx context.Context, tenant, branch string) (Pool, error)
	// LockCurrent returns a case's ownership, locked until the end of the
	// transaction. ErrNotFound when routing has no assignment for it.
	LockCurrent(ctx context.Context, tenant, caseID string) (Current, error)
	// Rules returns the bank's routing rules (DefaultRules when it set none).
	Rules(ctx context.Context, tenant string) ([]Rule, error)
	// SaveNew stores a new case's first assignment; false when the case has
	// one already (a redelivered event).
	SaveNew(ctx context.Context, a Assignment, c Case) (bool, error)
	// Apply records a hand-over of an existing assignment: who, why, and
	// the caller's note. It returns the hand-over's sequence number.
	Apply(ctx context.Context, prev Current, a Assignment, actor, note string) (int, error)
	// Announce publishes the assignment (through the outbox, in this
	// transaction).
	Announce(ctx context.Context, prev Current, a Assignment, actor string, seq int) error
	// CauseSeen reports whether a hand-over of the case was already caused
	// by this event.
	CauseSeen(ctx context.Context, caseID, cause string) (bool, error)
	// Alert publishes an ownership alert.
	Alert(ctx context.Context, a Assignment, missing string) error
}

// Service applies the ownership rules to the store.
type Service struct{}

// New decides and stores the first owner of a new case.
func (Service) New(ctx context.Context, tx Tx, c Case, at time.Time) (Assignment, bool, error) {
	p, err := tx.Pool(ctx, c.Tenant, c.Branch)
	if err != nil {
		return Assignment{}, false, err
	}
	rules, err := tx.Rules(ctx, c.Tenant)
	if err != nil {
		return Assignment{}, false, err
	}
	a, err := AssignNew(rules, p, c, at)
	if err != nil {
		return Assignment{}, false, err
	}
	saved, err := tx.SaveNew(ctx, a, c)
	if err != nil || !saved {
		return a, false, err
	}
	if a.Reason == ReasonOwnerMissing {
		if err := tx.Alert(ctx, a, ""); err != nil {
			return a, false, err
		}
	}
	return a, true, tx.Announce(ctx, Current{}, a, "", 1)
}

// Op is a hand-over someone asked for.
type Op func(p Pool, c Current) (Assignment, error)

// HandOver locks the case, applies op and records and announces the
// result.
func (Service) HandOver(ctx context.Context, tx Tx, tenant, caseID, actor, note string, op Op) (Assignment, error) {
	c, err := tx.LockCurrent(ctx, tenant, caseID)
	if err != nil {
		return Assignment{}, err
	}
	p, err := tx.Pool(ctx, tenant, c.Branch)
	if err != nil {
		return Assignment{}, err
	}
	a, err := op(p, c)
	if err != nil {
		return Assignment{}, err
	}
	return a, record(ctx, tx, c, a, actor, note)
}

func record(ctx context.Context, tx Tx, c Current, a Assignment, actor, note string) error {
	seq, err := tx.Apply(ctx, c, a, actor, note)
	if err != nil {
		return err
	}
	return tx.Announce(ctx, c, a, actor, seq)
}

// Breached escalates a case one level after a deadline breached, once per
// breach event (cause). moved is false when it stays (closed, at the top,
// nobody above, unknown, seen before).
func (Service) Breached(ctx context.Context, tx Tx, tenant, caseID, deadline, cause string, at time.Time) (moved bool, err error) {
	c, err := tx.LockCurrent(ctx, tenant, caseID)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if seen, err := tx.CauseSeen(ctx, caseID, cause); err != nil || seen {
		return false, err
	}
	p, err := tx.Pool(ctx, tenant, c.Branch)
	if err != nil {
		return false, err
	}
	a, ok := EscalateOnBreach(p, c, deadline, at)
	if !ok {
		return false, nil
	}
	a.Cause = cause
	return true, record(ctx, tx, c, a, "", "")
}

// Reroute gives each of the cases a new owner when their owner is no
// longer valid (off duty, deactivated), raising an alert for a case that
// had to go to the branch head. It returns how many moved.
func (Service) Reroute(ctx context.Context, tx Tx, tenant string, caseIDs []string, reason string, at time.Time) (int, error) {
	n := 0
	for _, id := range caseIDs {
		c, err := tx.LockCurrent(ctx, tenant, id)
		if err != nil {
			return n, fmt.Errorf("case %s: %w", id, err)
		}
		p, err := tx.Pool(ctx, tenant, c.Branch)
		if err != nil {
			return n, err
		}
		if !c.Open || Valid(p, c.Owner) {
			continue
		}
		a, alert, err := Reroute(p, c, reason, at)
		if err != nil {
			return n, err
		}
		if err := record(ctx, tx, c, a, "", ""); err != nil {
			return n, err
		}
		if alert {
			if err := tx.Alert(ctx, a, c.Owner.String()); err != nil {
				return n, err
			}
		}
		n++
	}
	return n, nil
}

// MovedBranch routes a case that moved to another branch of the bank
// (c with its new branch and region) afresh there, once per event (cause):
// moved is false when routing has no assignment for it, it is at that
// branch already or the event was seen before.
func (Service) MovedBranch(ctx context.Context, tx Tx, c Case, cause string, at time.Time) (moved bool, err error) {
	cur, err := tx.LockCurrent(ctx, c.Tenant, c.ID)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if cur.Branch == c.Branch {
		return false, nil
	}
	if seen, err := tx.CauseSeen(ctx, c.ID, cause); err != nil || seen {
		return false, err
	}
	p, err := tx.Pool(ctx, c.Tenant, c.Branch)
	if err != nil {
		return false, err
	}
	rules, err := tx.Rules(ctx, c.Tenant)
	if err != nil {
		return false, err
	}
	a, err := MoveToBranch(rules, p, cur, c, at)
	if err != nil {
		return false, err
	}
	a.Cause = cause
	if err := record(ctx, tx, cur, a, "", ""); err != nil {
		return false, err
	}
	return true, nil
}
