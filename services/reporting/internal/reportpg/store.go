// Package reportpg keeps the reporting read model in Postgres: it records
// facts into case_facts inside the consumer's transaction, keeps the
// monthly rollups equal to them, and answers figures and case lists from
// rollups where a query allows and from case_facts otherwise. The rules for
// folding a fact into a case and for the figures live in package report;
// this package loads a row, lets report apply the fact, and writes the row
// back with what report derives from it. SQL lives in queries/ (sqlc,
// generated into reportdb). Every time it stores is passed in by the caller.
package reportpg

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/counterdesk/counterdesk/services/reporting/internal/report"
	"github.com/counterdesk/counterdesk/services/reporting/internal/reportpg/reportdb"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultZone is the reporting zone: months, days and hours of day are
// counted in it.
const DefaultZone = "Asia/Shanghai"

// Store is the read model in one Postgres database.
type Store struct {
	Pool *pgxpool.Pool
	// Zone is the reporting zone (DefaultZone when nil).
	Zone *time.Location
}

func (s *Store) zone() *time.Location {
	if s.Zone != nil {
		return s.Zone
	}
	loc, err := time.LoadLocation(DefaultZone)
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return loc
}

// Record applies fact to case caseID of tenant inside tx, creating a partial
// row when the case is not known yet, and records h in the case's history
// (h.EventID empty: no history line). now is stored as the row's updated_at.
func (s *Store) Record(ctx context.Context, tx pgx.Tx, tenant, caseID string, fact report.Fact, h report.HistoryEntry, now time.Time) error {
	return s.RecordBatch(ctx, tx, []report.Item{{Tenant: tenant, CaseID: caseID, Fact: fact, History: h}}, now)
}

// RecordBatch is Record for several facts, in order, with a few statements
// for all of them: the cases are queued and locked together (in the order
// of their ids), each case's facts are folded into its row in turn,
// and each row is written once.
func (s *Store) RecordBatch(ctx context.Context, tx pgx.Tx, items []report.Item, now time.Time) error {
	type key struct{ tenant, caseID string }
	var keys []key
	seen := map[key]int{}
	for _, it := range items {
		k := key{it.Tenant, it.CaseID}
		if _, ok := seen[k]; !ok {
			seen[k] = 0
			keys = append(keys, k)
		}
	}
	// Rows are locked in (tenant, case) order, by every batch alike: two
	// batches sharing cases wait for each other, never in a circle.
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(strings.Compare(a.tenant, b.tenant), strings.Compare(a.caseID, b.caseID))
	})
	tenants, cases := make([]string, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		seen[k] = i
		tenants[i], cases[i] = k.tenant, k.caseID
	}
	q := reportdb.New(tx)
	if err := q.QueueFacts(ctx, reportdb.QueueFactsParams{TenantIds: tenants, CaseIds: cases}); err != nil {
		return fmt.Errorf("queue %d cases for the rollups: %w", len(keys), err)
	}
	rows, err := q.LockFacts(ctx, reportdb.LockFactsParams{Now: now, TenantIds: tenants, CaseIds: cases})
	if err != nil {
		return fmt.Errorf("lock read-model rows of %d cases: %w", len(keys), err)
	}
	if len(rows) != len(keys) {
		return fmt.Errorf("lock read-model rows: %d rows for %d cases", len(rows), len(keys))
	}
	recs := make([]report.CaseRecord, len(keys))
	for _, r := range rows {
		i, ok := seen[key{r.TenantID, r.CaseID}]
		if !ok {
			return fmt.Errorf("lock read-model rows: case %s was not asked for", r.CaseID)
		}
		if recs[i], err = fromRow(reportdb.GetFactRow(r)); err != nil {
			return err
		}
	}
	var history []reportdb.AddHistoryParams
	for _, it := range items {
		if err := recs[seen[key{it.Tenant, it.CaseID}]].Apply(it.Fact); err != nil {
			return err
		}
		if h := it.History; h.EventID != "" {
			history = append(history, reportdb.AddHistoryParams{TenantID: it.Tenant, CaseID: it.CaseID, EventID: h.EventID,
				At: h.At, Type: h.Type, Producer: h.Producer, ActorID: h.ActorID, Summary: h.Summary})
		}
	}
	saves := make([]reportdb.SaveFactParams, len(recs))
	for i, rec := range recs {
		saves[i] = s.toSave(rec, now)
	}
	if err := execBatch(func(f func(int, error)) { q.SaveFact(ctx, saves).Exec(f) }); err != nil {
		return fmt.Errorf("save read-model rows: %w", err)
	}
	if len(history) > 0 {
		if err := execBatch(func(f func(int, error)) { q.AddHistory(ctx, history).Exec(f) }); err != nil {
			return fmt.Errorf("add case history: %w", err)
		}
	}
	return nil
}

// execBatch runs a sqlc batch and returns its first error.
func execBatch(run func(func(int, error))) error {
	var first error
	run(func(_ int, err error) {
		if err != nil && first == nil {
			first = err
		}
	})
	return first
}

// Case returns the read-model record of one case, for tests and admin tools.
func (s *Store) Case(ctx context.Context, tenant, caseID string) (report.CaseRecord, bool, error) {
	row, err := reportdb.New(s.Pool).GetFact(ctx, reportdb.GetFactParams{TenantID: tenant, CaseID: caseID})
	if errors.Is(err, pgx.ErrNoRows) {
		return report.CaseRecord{}, false, nil
	}
	if err != nil {
		return report.CaseRecord{}, false, fmt.Errorf("read case %s: %w", caseID, err)
	}
	rec, err := fromRow(row)
	return rec, err == nil, err
}

// CaseWithHistory returns one case and what reporting recorded about it.
func (s *Store) CaseWithHistory(ctx context.Context, tenant, caseID string) (report.CaseRecord, []report.HistoryEntry, bool, error) {
	rec, ok, err := s.Case(ctx, tenant, caseID)
	if err != nil || !ok {
		return rec, nil, ok, err
	}
	rows, err := reportdb.New(s.Pool).HistoryOf(ctx, reportdb.HistoryOfParams{TenantID: tenant, CaseID: caseID})
	if err != nil {
		return rec, nil, false, fmt.Errorf("read history of case %s: %w", caseID, err)
	}
	h := make([]report.HistoryEntry, len(rows))
	for i, r := range rows {
		h[i] = report.HistoryEntry{EventID: r.EventID, At: r.At.UTC(), Type: r.Type, Producer: r.Producer, ActorID: r.ActorID, Summary: r.Summary}
	}
	return rec, h, true, nil
}

// deadlineJSON is one deadline in case_facts.deadlines.
type deadlineJSON struct {
	Due      *time.Time     `json:"due,omitempty"`
	Breached bool           `json:"breached,omitempty"`
	Met      bool           `json:"met,omitempty"`
	Warnings int            `json:"warnings,omitempty"`
	Level    string         `json:"level,omitempty"`
	W        map[string]int `json:"w,omitempty"`
}

func fromRow(r reportdb.GetFactRow) (report.CaseRecord, error) {
	rec := report.CaseRecord{
		TenantID: r.TenantID, CaseID: r.CaseID, CaseNumber: str(r.CaseNumber), BranchID: str(r.BranchID), RegionID: str(r.RegionID),
		Channel: str(r.Channel), Category: str(r.Category), Severity: str(r.Severity), CustomerTier: str(r.CustomerTier),
		TimeZone: str(r.TimeZone), CustomerNameMasked: str(r.CustomerNameMasked), CustomerPhoneMasked: str(r.CustomerPhoneMasked),
		Repeat: r.Repeat, CreatedAt: tm(r.CreatedAt), ReceivedAt: tm(r.ReceivedAt), Status: str(r.Status), StatusAt: tm(r.StatusAt),
		AcknowledgedAt: tm(r.AcknowledgedAt), FirstAnsweredAt: tm(r.FirstAnsweredAt), AnsweredAt: tm(r.AnsweredAt),
		ClosedAt: tm(r.ClosedAt), WithdrawnAt: tm(r.WithdrawnAt), Reopened: int(r.Reopened), ReviewAt: tm(r.ReviewRequestedAt),
		ReturnVisitAt: tm(r.ReturnVisitAt), RootCause: str(r.RootCause),
		Compensation: report.Compensation{Kind: str(r.CompensationKind), Tier: str(r.CompensationTier), AmountFen: r.CompensationFen},
		OwnerID:      str(r.OwnerID), OwnerLevel: str(r.OwnerLevel), FirstAssignedAt: tm(r.FirstAssignedAt), LastAssignedAt: tm(r.LastAssignedAt),
		Assignments: int(r.Assignments), Handovers: int(r.Handovers), Escalations: int(r.Escalations), LeftBranch: r.LeftBranch,
		Extended: r.Extended, Warnings: int(r.Warnings), Breaches: int(r.Breaches),
	}
	if r.Satisfaction != nil {
		rec.Satisfaction = int(*r.Satisfaction)
	}
	ds, err := decodeDeadlines(r.Deadlines)
	if err != nil {
		return report.CaseRecord{}, fmt.Errorf("deadlines of case %s: %w", r.CaseID, err)
	}
	rec.Deadlines = ds
	return rec, nil
}

func decodeDeadlines(b []byte) (map[string]*report.Deadline, error) {
	if len(b) == 0 {
		return nil, nil
	}
	var m map[string]deadlineJSON
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	if len(m) == 0 {
		return nil, nil
	}
	out := make(map[string]*report.Deadline, len(m))
	for k, d := range m {
		out[k] = &report.Deadline{Kind: k, DueAt: tm(d.Due), Breached: d.Breached, Warnings: d.Warnings, WarnLevel: d.Level, ByLevel: d.W}
	}
	return out, nil
}

func (s *Store) toSave(r report.CaseRecord, now time.Time) reportdb.SaveFactParams {
	p := reportdb.SaveFactParams{
		TenantID: r.TenantID, CaseID: r.CaseID, CaseNumber: null(r.CaseNumber), RegionID: null(r.RegionID), BranchID: null(r.BranchID),
		Channel: null(r.Channel), Category: null(r.Category), Severity: null(r.Severity), CustomerTier: null(r.CustomerTier),
		Status: null(r.Status), StatusAt: nullTime(r.StatusAt), TimeZone: null(r.TimeZone),
		CustomerNameMasked: null(r.CustomerNameMasked), CustomerPhoneMasked: null(r.CustomerPhoneMasked), Repeat: r.Repeat,
		ReceivedAt: nullTime(r.ReceivedAt), CreatedAt: nullTime(r.CreatedAt), AcknowledgedAt: nullTime(r.AcknowledgedAt),
		FirstAnsweredAt: nullTime(r.FirstAnsweredAt), AnsweredAt: nullTime(r.AnsweredAt), ClosedAt: nullTime(r.ClosedAt),
		WithdrawnAt: nullTime(r.WithdrawnAt), Reopened: int32(r.Reopened), UnderReview: r.UnderReview(),
		ReviewRequestedAt: nullTime(r.ReviewAt), ReturnVisitAt: nullTime(r.ReturnVisitAt), RootCause: null(r.RootCause),
		CompensationKind: null(r.Compensation.Kind), CompensationTier: null(r.Compensation.Tier), CompensationFen: r.Compensation.AmountFen,
		OwnerID: null(r.OwnerID), OwnerLevel: null(r.OwnerLevel), FirstAssignedAt: nullTime(r.FirstAssignedAt),
		LastAssignedAt: nullTime(r.LastAssignedAt), Assignments: int32(r.Assignments), Handovers: int32(r.Handovers),
		Escalations: int32(r.Escalations), LeftBranch: r.LeftBranch, Extended: r.Extended,
		Warnings: int32(r.Warnings), Breaches: int32(r.Breaches), Settled: r.Settled(), SettledAtBranch: r.SettledAtBranch(), Now: now,
	}
	if r.Satisfaction > 0 {
		v := int16(r.Satisfaction)
		p.Satisfaction = &v
	}
	if r.Created() {
		loc := s.zone()
		m := report.LocalMonth(r.ReceivedAt, loc)
		p.ReceivedMonth = &m
		l := r.ReceivedAt.In(loc)
		wd, hr := int16((int(l.Weekday())+6)%7+1), int16(l.Hour())
		p.ReceivedWeekday, p.ReceivedHour = &wd, &hr
	}
	if d, ok := r.Deadlines[report.KindAcknowledge]; ok {
		p.AckDueAt, p.AckBreached = nullTime(d.DueAt), d.Breached
	}
	if d, ok := r.Deadlines[report.KindFirstAnswer]; ok {
		p.AnswerDueAt, p.AnswerBreached = nullTime(d.DueAt), d.Breached
	}
	if d, ok := r.Deadlines[report.KindResolution]; ok {
		p.ResolveDueAt, p.ResolveBreached = nullTime(d.DueAt), d.Breached
	}
	if d, ok := r.Deadlines[report.KindRegulatory]; ok {
		p.RegulatoryDueAt, p.RegulatoryBreached = nullTime(d.DueAt), d.Breached
	}
	if d, ok := r.NextDeadline(); ok {
		p.NextDueAt, p.NextDueKind = nullTime(d.DueAt), null(d.Kind)
	}
	p.AckMet, p.AckSettled = r.Compliance(report.KindAcknowledge)
	p.AnswerMet, p.AnswerSettled = r.Compliance(report.KindFirstAnswer)
	p.ResolveMet, p.ResolveSettled = r.Compliance(report.KindResolution)
	if d, ok := r.HandlingTime(); ok {
		sec := d.Seconds()
		b := int16(report.Bucket(d))
		p.HandlingS, p.HandlingBucket = &sec, &b
	}
	m := make(map[string]deadlineJSON, len(r.Deadlines))
	for k, d := range r.Deadlines {
		m[k] = deadlineJSON{Due: nullTime(d.DueAt), Breached: d.Breached, Met: r.DeadlineMet(d), Warnings: d.Warnings, Level: d.WarnLevel, W: d.ByLevel}
	}
	p.Deadlines, _ = json.Marshal(m) // a map of plain values always encodes
	return p
}

// The read model keeps "not known yet" as NULL and the domain as zero values.

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func tm(p *time.Time) time.Time {
	if p == nil {
		return time.Time{}
	}
	return p.UTC()
}

func null(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
