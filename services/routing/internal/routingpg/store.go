// Package routingpg stores routing's org tree, routing rules, assignments
// and hand-overs in Postgres — the system of record from which the Redis
// queues are rebuilt. Queries are sqlc's (queries/*.sql → routingdb).
package routingpg

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	"github.com/counterdesk/counterdesk/services/platform/eventbus"
	"github.com/counterdesk/counterdesk/services/platform/outbox"
	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/counterdesk/counterdesk/services/platform/pii"
	"github.com/counterdesk/counterdesk/services/routing/internal/routing"
	"github.com/counterdesk/counterdesk/services/routing/internal/routingpg/routingdb"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// ErrNotFound is the domain's: no such branch, staff member or assignment.
var ErrNotFound = routing.ErrNotFound

// Store is routing's Postgres store.
type Store struct {
	pool *pgxpool.Pool
	q    *routingdb.Queries
}

// New returns a store on pool.
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool, q: routingdb.New(pool)} }

// Region is a region of a bank.
type Region struct{ ID, Name string }

// EventRole is a routing role as events and the API name it ("ROLE_BRANCH_HEAD").
func EventRole(role string) string {
	if role == "" {
		return ""
	}
	return "ROLE_" + strings.ToUpper(role)
}

// ImportOrg upserts regions, branches and staff of tenant in one transaction.
func (s *Store) ImportOrg(ctx context.Context, tenant string, regions []Region, branches []routing.Branch, staff []routing.Staff) error {
	return pgdb.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		for _, r := range regions {
			if err := q.UpsertRegion(ctx, routingdb.UpsertRegionParams{TenantID: tenant, ID: r.ID, Name: r.Name}); err != nil {
				return fmt.Errorf("upsert region %s: %w", r.ID, err)
			}
		}
		for _, b := range branches {
			hours, err := json.Marshal(nonNil(b.Hours))
			if err != nil {
				return err
			}
			if err := q.UpsertBranch(ctx, routingdb.UpsertBranchParams{TenantID: tenant, ID: b.ID, RegionID: b.Region, Name: b.Name,
				TimeZone: b.TimeZone, CalendarID: b.CalendarID, OpeningHours: hours}); err != nil {
				if isFK(err) {
					return fmt.Errorf("branch %s: region %s is not known: %w", b.ID, b.Region, ErrNotFound)
				}
				return fmt.Errorf("upsert branch %s: %w", b.ID, err)
			}
		}
		for _, m := range staff {
			if err := q.UpsertStaff(ctx, routingdb.UpsertStaffParams{TenantID: tenant, ID: m.ID, DisplayName: m.Name, Role: m.Role,
				BranchID: m.Branch, RegionID: m.Region, AuthorityLevel: int32(m.AuthorityLevel), Skills: nonNil(m.Skills), OnDuty: m.OnDuty,
				Email: m.Email}); err != nil {
				return fmt.Errorf("upsert staff %s: %w", m.ID, err)
			}
		}
		return nil
	})
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func isFK(err error) bool {
	var pe interface{ SQLState() string }
	return errors.As(err, &pe) && pe.SQLState() == "23503"
}

// Branch returns a branch of tenant with its staff.
func (s *Store) Branch(ctx context.Context, tenant, id string) (routing.Branch, error) {
	p, err := pool(ctx, s.q, tenant, id)
	return p.Branch, err
}

// BranchOnly returns a branch of tenant without its staff.
func (s *Store) BranchOnly(ctx context.Context, tenant, id string) (routing.Branch, error) {
	return branch(ctx, s.q, tenant, id)
}

func branch(ctx context.Context, q *routingdb.Queries, tenant, id string) (routing.Branch, error) {
	row, err := q.GetBranch(ctx, routingdb.GetBranchParams{TenantID: tenant, ID: id})
	if errors.Is(err, pgx.ErrNoRows) {
		return routing.Branch{}, ErrNotFound
	}
	if err != nil {
		return routing.Branch{}, fmt.Errorf("read branch %s: %w", id, err)
	}
	b := routing.Branch{ID: row.ID, Region: row.RegionID, Name: row.Name, TimeZone: row.TimeZone, CalendarID: row.CalendarID}
	if err := json.Unmarshal(row.OpeningHours, &b.Hours); err != nil {
		return routing.Branch{}, fmt.Errorf("branch %s opening hours: %w", id, err)
	}
	return b, nil
}

func pool(ctx context.Context, q *routingdb.Queries, tenant, id string) (routing.Pool, error) {
	b, err := branch(ctx, q, tenant, id)
	if err != nil {
		return routing.Pool{}, err
	}
	rows, err := q.PoolStaff(ctx, routingdb.PoolStaffParams{TenantID: tenant, BranchID: id, RegionID: b.Region})
	if err != nil {
		return routing.Pool{}, fmt.Errorf("read staff for branch %s: %w", id, err)
	}
	p := routing.Pool{}
	for _, r := range rows {
		m := routing.Staff{ID: r.ID, Name: r.DisplayName, Role: r.Role, Branch: r.BranchID, Region: r.RegionID,
			AuthorityLevel: int(r.AuthorityLevel), Skills: r.Skills, Active: r.Active, OnDuty: r.OnDuty, Load: int(r.OpenCases),
			Email: r.Email}
		if r.LastAssignedAt != nil {
			m.LastAssigned = *r.LastAssignedAt
		}
		if m.Branch == id {
			b.Staff = append(b.Staff, m)
		} else {
			p.Others = append(p.Others, m)
		}
	}
	p.Branch = b
	return p, nil
}

// InTx runs fn with the store inside one transaction.
func (s *Store) InTx(ctx context.Context, fn func(routing.Tx) error) error {
	return pgdb.InTx(ctx, s.pool, func(tx pgx.Tx) error { return fn(s.On(tx)) })
}

// On returns the domain's view of the store inside tx (an event handler's
// transaction, which also records the event as processed).
func (s *Store) On(tx pgx.Tx) routing.Tx { return &txStore{q: s.q.WithTx(tx), tx: tx} }

type txStore struct {
	q  *routingdb.Queries
	tx pgx.Tx
}

func (t *txStore) Pool(ctx context.Context, tenant, branch string) (routing.Pool, error) {
	return pool(ctx, t.q, tenant, branch)
}

func (t *txStore) LockCurrent(ctx context.Context, tenant, caseID string) (routing.Current, error) {
	r, err := t.q.LockAssignment(ctx, routingdb.LockAssignmentParams{TenantID: tenant, CaseID: caseID})
	if errors.Is(err, pgx.ErrNoRows) {
		return routing.Current{}, ErrNotFound
	}
	if err != nil {
		return routing.Current{}, fmt.Errorf("lock assignment of case %s: %w", caseID, err)
	}
	return routing.Current{CaseID: r.CaseID, Tenant: r.TenantID, Branch: r.BranchID, Region: r.RegionID,
		Owner: routing.Owner{Staff: r.OwnerID, Role: r.OwnerRole}, Level: r.Level, Severity: r.Severity,
		FirstResponder: r.FirstResponderID, PickupPending: r.PickupPending, Open: r.Open,
		HandedBy: routing.Owner{Staff: r.HandedByID, Role: r.HandedByRole}}, nil
}

func (t *txStore) Rules(ctx context.Context, tenant string) ([]routing.Rule, error) {
	raw, err := t.q.GetRules(ctx, tenant)
	if errors.Is(err, pgx.ErrNoRows) {
		return routing.DefaultRules(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("read routing rules: %w", err)
	}
	var rules []routing.Rule
	if err := json.Unmarshal(raw, &rules); err != nil {
		return nil, fmt.Errorf("decode routing rules: %w", err)
	}
	return rules, nil
}

func (t *txStore) SaveNew(ctx context.Context, a routing.Assignment, c routing.Case) (bool, error) {
	n, err := t.q.InsertAssignment(ctx, routingdb.InsertAssignmentParams{CaseID: a.CaseID, TenantID: a.Tenant, BranchID: a.Branch,
		RegionID: a.Region, OwnerID: a.Owner.Staff, OwnerRole: a.Owner.Role, FirstResponderID: a.FirstResponder, Level: a.Level,
		Severity: c.Severity, Category: c.Category, PickupPending: a.PickupPending, EnqueuedAt: a.At})
	if err != nil {
		return false, fmt.Errorf("insert assignment of case %s: %w", a.CaseID, err)
	}
	if n == 0 {
		return false, nil
	}
	if err := t.q.InsertHandover(ctx, routingdb.InsertHandoverParams{CaseID: a.CaseID, Seq: 1, ToStaffID: a.Owner.Staff,
		ToRole: a.Owner.Role, Reason: a.Reason, Kind: a.Kind, At: a.At}); err != nil {
		return false, fmt.Errorf("record first hand-over of case %s: %w", a.CaseID, err)
	}
	return true, t.touch(ctx, a)
}

func (t *txStore) touch(ctx context.Context, a routing.Assignment) error {
	if a.Owner.Staff == "" {
		return nil
	}
	if err := t.q.TouchStaff(ctx, routingdb.TouchStaffParams{TenantID: a.Tenant, ID: a.Owner.Staff, LastAssignedAt: &a.At}); err != nil {
		return fmt.Errorf("record assignment time of %s: %w", a.Owner.Staff, err)
	}
	return nil
}

func (t *txStore) Apply(ctx context.Context, prev routing.Current, a routing.Assignment, actor, note string) (int, error) {
	handedBy := prev.HandedBy
	switch a.Kind {
	case routing.KindTransfer, routing.KindEscalate, routing.KindBreach:
		handedBy = prev.Owner
	case routing.KindReturn, routing.KindReroute:
		handedBy = routing.Owner{}
	}
	if err := t.q.UpdateOwner(ctx, routingdb.UpdateOwnerParams{TenantID: a.Tenant, CaseID: a.CaseID, OwnerID: a.Owner.Staff,
		OwnerRole: a.Owner.Role, Level: a.Level, PickupPending: a.PickupPending, HandedByID: handedBy.Staff,
		HandedByRole: handedBy.Role, UpdatedAt: a.At}); err != nil {
		return 0, fmt.Errorf("reassign case %s: %w", a.CaseID, err)
	}
	if !a.PickupPending {
		if err := t.q.SetPickupDue(ctx, routingdb.SetPickupDueParams{TenantID: a.Tenant, CaseID: a.CaseID}); err != nil {
			return 0, err
		}
	}
	seq, err := t.q.NextHandoverSeq(ctx, a.CaseID)
	if err != nil {
		return 0, fmt.Errorf("number hand-over of case %s: %w", a.CaseID, err)
	}
	from := prev.Owner.Staff
	if err := t.q.InsertHandover(ctx, routingdb.InsertHandoverParams{CaseID: a.CaseID, Seq: seq, FromStaffID: from,
		ToStaffID: a.Owner.Staff, ToRole: a.Owner.Role, Reason: a.Reason, Kind: a.Kind, ActorID: actor,
		Note: pii.MaskFreeText(note), Cause: a.Cause, At: a.At}); err != nil {
		return 0, fmt.Errorf("record hand-over of case %s: %w", a.CaseID, err)
	}
	// A hand-over to another branch (the case moved) moves the assignment
	// and remembers the branch it came from, whose queues lose the case.
	if a.Branch != "" && a.Branch != prev.Branch {
		if err := t.q.MoveAssignment(ctx, routingdb.MoveAssignmentParams{TenantID: a.Tenant, CaseID: a.CaseID,
			BranchID: a.Branch, RegionID: a.Region}); err != nil {
			return 0, fmt.Errorf("move case %s to branch %s: %w", a.CaseID, a.Branch, err)
		}
		if err := t.q.MarkHandoverFromBranch(ctx, routingdb.MarkHandoverFromBranchParams{CaseID: a.CaseID, Seq: seq,
			FromBranchID: prev.Branch}); err != nil {
			return 0, fmt.Errorf("record the branch case %s left: %w", a.CaseID, err)
		}
	}
	return int(seq), t.touch(ctx, a)
}

func (t *txStore) Announce(ctx context.Context, prev routing.Current, a routing.Assignment, actor string, seq int) error {
	ev := &eventsv1.AssignmentMade{BranchId: a.Branch, RegionId: a.Region, OwnerId: a.Owner.Staff, OwnerRole: EventRole(a.Owner.Role),
		PreviousOwnerId: prev.Owner.Staff, Reason: a.Reason, AssignedAt: timestamppb.New(a.At), PickupPending: a.PickupPending,
		Kind: a.Kind, ActorId: actor, Level: a.Level, FirstResponderId: a.FirstResponder, Seq: int32(seq)}
	for _, n := range a.Notify {
		ev.Notify = append(ev.Notify, &eventsv1.Notify{Role: EventRole(n.Role), StaffIds: n.Staff, AtOnce: n.AtOnce})
	}
	return outbox.Add(ctx, t.tx, "routing", eventbus.TopicAssignmentEvents, &eventsv1.Envelope{
		TenantId: a.Tenant, CaseId: a.CaseID, Payload: &eventsv1.Envelope_AssignmentMade{AssignmentMade: ev}})
}

func (t *txStore) CauseSeen(ctx context.Context, caseID, cause string) (bool, error) {
	if cause == "" {
		return false, nil
	}
	return t.q.CauseSeen(ctx, routingdb.CauseSeenParams{CaseID: caseID, Cause: cause})
}

func (t *txStore) Alert(ctx context.Context, a routing.Assignment, missing string) error {
	return outbox.Add(ctx, t.tx, "routing", eventbus.TopicAssignmentEvents, &eventsv1.Envelope{
		TenantId: a.Tenant, CaseId: a.CaseID, Payload: &eventsv1.Envelope_OwnershipAlert{OwnershipAlert: &eventsv1.OwnershipAlert{
			Kind: "owner_missing", BranchId: a.Branch, MissingOwnerId: missing, NewOwnerId: a.Owner.Staff, At: timestamppb.New(a.At)}}})
}

// Handover is one change of owner.
type Handover struct {
	From, To, ToRole, Reason, Kind, Actor, Note string
	At                                          time.Time
}

// AssignmentView is a case's ownership record.
type AssignmentView struct {
	routing.Queued
	Region, FirstResponder, Level string
	Open                          bool
	Handovers                     []Handover
}

// Assignment returns the ownership record of a case of tenant.
func (s *Store) Assignment(ctx context.Context, tenant, caseID string) (AssignmentView, error) {
	r, err := s.q.GetAssignment(ctx, routingdb.GetAssignmentParams{TenantID: tenant, CaseID: caseID})
	if errors.Is(err, pgx.ErrNoRows) {
		return AssignmentView{}, ErrNotFound
	}
	if err != nil {
		return AssignmentView{}, fmt.Errorf("read assignment of case %s: %w", caseID, err)
	}
	v := AssignmentView{Queued: queued(r.CaseID, r.TenantID, r.BranchID, r.OwnerID, r.OwnerRole, r.Severity, r.PickupPending,
		r.EnqueuedAt, r.AnswerDueAt, r.PickupDueAt), Region: r.RegionID, FirstResponder: r.FirstResponderID, Level: r.Level, Open: r.Open}
	hs, err := s.q.ListHandovers(ctx, caseID)
	if err != nil {
		return AssignmentView{}, fmt.Errorf("read hand-overs of case %s: %w", caseID, err)
	}
	for _, h := range hs {
		v.Handovers = append(v.Handovers, Handover{From: h.FromStaffID, To: h.ToStaffID, ToRole: h.ToRole, Reason: h.Reason,
			Kind: h.Kind, Actor: h.ActorID, Note: h.Note, At: h.At})
	}
	return v, nil
}

func queued(caseID, tenant, branch, owner, role, severity string, pending bool, enq time.Time, answerDue, pickupDue *time.Time) routing.Queued {
	q := routing.Queued{CaseID: caseID, Tenant: tenant, Branch: branch, Owner: routing.Owner{Staff: owner, Role: role},
		Severity: severity, PickupPending: pending, EnqueuedAt: enq}
	switch {
	case pending && pickupDue != nil:
		q.DueAt = *pickupDue
	case answerDue != nil:
		q.DueAt = *answerDue
	}
	return q
}

// OpenAssignments calls fn for every open assignment of tenant (or of every
// bank: pgdb.AllTenants), for rebuilding queues.
func (s *Store) OpenAssignments(ctx context.Context, tenant string, fn func(routing.Queued) error) error {
	rows, err := s.q.OpenAssignments(ctx, tenant)
	if err != nil {
		return fmt.Errorf("read open assignments: %w", err)
	}
	for _, r := range rows {
		if err := fn(queued(r.CaseID, r.TenantID, r.BranchID, r.OwnerID, r.OwnerRole, r.Severity, r.PickupPending,
			r.EnqueuedAt, r.AnswerDueAt, r.PickupDueAt)); err != nil {
			return err
		}
	}
	return nil
}

// SetOpen records whether a case's assignment is open (queued): a closed,
// withdrawn or answered case leaves the open queues, a reopened one comes
// back. It reports whether the case has an assignment.
func (s *Store) SetOpen(ctx context.Context, tx pgx.Tx, tenant, caseID string, open bool, at time.Time) (bool, error) {
	n, err := s.q.WithTx(tx).SetOpen(ctx, routingdb.SetOpenParams{TenantID: tenant, CaseID: caseID, Open: open, UpdatedAt: at})
	if err != nil {
		return false, fmt.Errorf("set assignment of case %s open=%v: %w", caseID, open, err)
	}
	return n > 0, nil
}

// SetSeverity records a case's complexity and category (its queue priority).
func (s *Store) SetSeverity(ctx context.Context, tx pgx.Tx, tenant, caseID, severity, category string) error {
	return s.q.WithTx(tx).SetSeverity(ctx, routingdb.SetSeverityParams{TenantID: tenant, CaseID: caseID, Severity: severity, Category: category})
}

// SetDue records the nearest answer deadline (answer) or the pick-up
// deadline of the pending hand-over.
func (s *Store) SetDue(ctx context.Context, tx pgx.Tx, tenant, caseID string, answer, pickup *time.Time) error {
	q := s.q.WithTx(tx)
	if answer != nil {
		if err := q.SetAnswerDue(ctx, routingdb.SetAnswerDueParams{TenantID: tenant, CaseID: caseID, AnswerDueAt: answer}); err != nil {
			return err
		}
	}
	if pickup != nil {
		return q.SetPickupDue(ctx, routingdb.SetPickupDueParams{TenantID: tenant, CaseID: caseID, PickupDueAt: pickup})
	}
	return nil
}

// Staff returns a staff member of tenant with their open load.
func (s *Store) Staff(ctx context.Context, tenant, id string) (routing.Staff, error) {
	r, err := s.q.GetStaff(ctx, routingdb.GetStaffParams{TenantID: tenant, ID: id})
	if errors.Is(err, pgx.ErrNoRows) {
		return routing.Staff{}, ErrNotFound
	}
	if err != nil {
		return routing.Staff{}, fmt.Errorf("read staff %s: %w", id, err)
	}
	return routing.Staff{ID: r.ID, Name: r.DisplayName, Role: r.Role, Branch: r.BranchID, Region: r.RegionID,
		AuthorityLevel: int(r.AuthorityLevel), Skills: r.Skills, Active: r.Active, OnDuty: r.OnDuty, Load: int(r.OpenCases),
		Email: r.Email}, nil
}

// SetDuty puts a staff member on or off duty (deactivate: out of the bank)
// and returns the open cases that need another owner now, in the same
// transaction tx.
func (s *Store) SetDuty(ctx context.Context, tx pgx.Tx, tenant string, m routing.Staff, onDuty, deactivate bool) ([]string, error) {
	q := s.q.WithTx(tx)
	var err error
	if deactivate {
		err = q.DeactivateStaff(ctx, routingdb.DeactivateStaffParams{TenantID: tenant, ID: m.ID})
	} else {
		err = q.SetStaffDuty(ctx, routingdb.SetStaffDutyParams{TenantID: tenant, ID: m.ID, OnDuty: onDuty})
	}
	if err != nil {
		return nil, fmt.Errorf("set duty of %s: %w", m.ID, err)
	}
	if onDuty && !deactivate {
		return nil, nil
	}
	ids, err := q.OpenCasesOwnedBy(ctx, routingdb.OpenCasesOwnedByParams{TenantID: tenant, OwnerID: m.ID})
	if err != nil {
		return nil, err
	}
	// The last of a role going off duty leaves that role's queues with
	// nobody: they are routed again too.
	branch := m.Branch
	queued, err := q.OpenCasesInRoleQueues(ctx, routingdb.OpenCasesInRoleQueuesParams{TenantID: tenant, Role: m.Role, BranchID: branch})
	if err != nil {
		return nil, err
	}
	return append(ids, queued...), nil
}

// Rules returns the bank's routing rules and whether they are the defaults.
func (s *Store) Rules(ctx context.Context, tenant string) ([]routing.Rule, bool, error) {
	raw, err := s.q.GetRules(ctx, tenant)
	if errors.Is(err, pgx.ErrNoRows) {
		return routing.DefaultRules(), true, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read routing rules: %w", err)
	}
	var rules []routing.Rule
	return rules, false, json.Unmarshal(raw, &rules)
}

// PutRules replaces the bank's routing rules.
func (s *Store) PutRules(ctx context.Context, tenant string, rules []routing.Rule, by string, at time.Time) error {
	raw, err := json.Marshal(nonNil(rules))
	if err != nil {
		return err
	}
	return s.q.PutRules(ctx, routingdb.PutRulesParams{TenantID: tenant, Rules: raw, UpdatedAt: at, UpdatedBy: by})
}

// CountUnowned returns, per bank, the open cases without a valid owner.
func (s *Store) CountUnowned(ctx context.Context) (map[string]int, error) {
	rows, err := s.q.CountUnowned(ctx)
	if err != nil {
		return nil, fmt.Errorf("count unowned cases: %w", err)
	}
	out := map[string]int{}
	for _, r := range rows {
		out[r.TenantID] = int(r.Unowned)
	}
	return out, nil
}

// Unowned lists up to 1,000 open cases of tenant without a valid owner.
func (s *Store) Unowned(ctx context.Context, tenant string) ([]string, error) {
	return s.q.ListUnowned(ctx, tenant)
}

// Pool returns everyone who may own a case of branch, with loads.
func (s *Store) Pool(ctx context.Context, tenant, branch string) (routing.Pool, error) {
	return pool(ctx, s.q, tenant, branch)
}

// PgTx is one transaction seen both ways: the domain's Tx and the raw pgx
// transaction for this package's own methods.
type PgTx struct {
	Pg pgx.Tx
	Tx routing.Tx
}

// InTxPg runs fn in one transaction.
func (s *Store) InTxPg(ctx context.Context, fn func(PgTx) error) error {
	return pgdb.InTx(ctx, s.pool, func(tx pgx.Tx) error { return fn(PgTx{Pg: tx, Tx: s.On(tx)}) })
}

// Queued returns a case's queue entry as its committed assignment says,
// and whether it is open (no hand-over history: for queue writes).
func (s *Store) Queued(ctx context.Context, tenant, caseID string) (routing.Queued, bool, error) {
	r, err := s.q.GetAssignment(ctx, routingdb.GetAssignmentParams{TenantID: tenant, CaseID: caseID})
	if errors.Is(err, pgx.ErrNoRows) {
		return routing.Queued{}, false, ErrNotFound
	}
	if err != nil {
		return routing.Queued{}, false, fmt.Errorf("read assignment of case %s: %w", caseID, err)
	}
	return queued(r.CaseID, r.TenantID, r.BranchID, r.OwnerID, r.OwnerRole, r.Severity, r.PickupPending,
		r.EnqueuedAt, r.AnswerDueAt, r.PickupDueAt), r.Open, nil
}

// Current returns a case's ownership, unlocked: in tenant, or in whichever
// bank has the case when tenant is pgdb.AllTenants (a service's internal
// call; row-level security lets it see every bank).
func (s *Store) Current(ctx context.Context, tenant, caseID string) (routing.Current, error) {
	r, err := s.q.GetCurrent(ctx, routingdb.GetCurrentParams{TenantID: tenant, CaseID: caseID})
	if errors.Is(err, pgx.ErrNoRows) {
		return routing.Current{}, ErrNotFound
	}
	if err != nil {
		return routing.Current{}, fmt.Errorf("read assignment of case %s: %w", caseID, err)
	}
	return routing.Current{CaseID: r.CaseID, Tenant: r.TenantID, Branch: r.BranchID, Region: r.RegionID,
		Owner: routing.Owner{Staff: r.OwnerID, Role: r.OwnerRole}, Level: r.Level, Severity: r.Severity,
		FirstResponder: r.FirstResponderID, PickupPending: r.PickupPending, Open: r.Open,
		HandedBy: routing.Owner{Staff: r.HandedByID, Role: r.HandedByRole}}, nil
}

// MovedFromBranch returns the branch the hand-over caused by event cause
// (a move to another branch) took the case from; false when that event
// moved nothing.
func (s *Store) MovedFromBranch(ctx context.Context, caseID, cause string) (string, bool, error) {
	b, err := s.q.MovedFromBranch(ctx, routingdb.MovedFromBranchParams{CaseID: caseID, Cause: cause})
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read the branch case %s left: %w", caseID, err)
	}
	return b, true, nil
}

// HandoverCausedBy returns whom the hand-over of a case caused by event
// cause (a breach escalation) took the case from and gave it to; false
// when that event moved nothing (yet).
func (s *Store) HandoverCausedBy(ctx context.Context, caseID, cause string) (from, to routing.Owner, found bool, err error) {
	r, err := s.q.HandoverCausedBy(ctx, routingdb.HandoverCausedByParams{CaseID: caseID, Cause: cause})
	if errors.Is(err, pgx.ErrNoRows) {
		return routing.Owner{}, routing.Owner{}, false, nil
	}
	if err != nil {
		return routing.Owner{}, routing.Owner{}, false, fmt.Errorf("read the hand-over of case %s caused by %s: %w", caseID, cause, err)
	}
	from = routing.Owner{Staff: r.FromStaffID}
	if from.Staff == "" {
		from.Role = r.FromRole
	}
	return from, routing.Owner{Staff: r.ToStaffID, Role: r.ToRole}, true, nil
}
