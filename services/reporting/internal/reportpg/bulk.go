package reportpg

import (
	"context"
	"fmt"
	"time"

	"github.com/counterdesk/counterdesk/services/reporting/internal/report"
	"github.com/jackc/pgx/v5"
)

// factColumns are the case_facts columns BulkLoad writes, in the order of
// factValues.
var factColumns = []string{
	"tenant_id", "case_id", "case_number", "region_id", "branch_id", "channel", "category", "severity", "customer_tier",
	"status", "status_at", "time_zone", "customer_name_masked", "customer_phone_masked", "repeat", "received_at",
	"created_at", "received_month", "acknowledged_at", "first_answered_at", "answered_at", "closed_at", "withdrawn_at",
	"reopened", "under_review", "review_requested_at", "return_visit_at", "satisfaction", "root_cause",
	"compensation_kind", "compensation_tier", "compensation_fen", "owner_id", "owner_level", "first_assigned_at",
	"last_assigned_at", "assignments", "handovers", "escalations", "left_branch", "ack_due_at", "ack_breached",
	"answer_due_at", "answer_breached", "resolve_due_at", "resolve_breached", "regulatory_due_at", "regulatory_breached",
	"extended", "next_due_at", "next_due_kind", "warnings", "breaches", "ack_met", "ack_settled", "answer_met",
	"answer_settled", "resolve_met", "resolve_settled", "handling_s", "handling_bucket", "settled", "settled_at_branch",
	"received_weekday", "received_hour", "deadlines", "updated_at",
}

// BulkLoad writes whole case records (folded by package report, as the
// consumer would have left them) with COPY, queued for the rollups: call
// DrainRollups after the last batch. For loading history (tools/reportgen),
// never for live events.
func (s *Store) BulkLoad(ctx context.Context, recs []report.CaseRecord, now time.Time) error {
	rows := make([][]any, len(recs))
	for i, r := range recs {
		p := s.toSave(r, now)
		rows[i] = []any{
			p.TenantID, p.CaseID, p.CaseNumber, p.RegionID, p.BranchID, p.Channel, p.Category, p.Severity, p.CustomerTier,
			p.Status, p.StatusAt, p.TimeZone, p.CustomerNameMasked, p.CustomerPhoneMasked, p.Repeat, p.ReceivedAt,
			p.CreatedAt, p.ReceivedMonth, p.AcknowledgedAt, p.FirstAnsweredAt, p.AnsweredAt, p.ClosedAt, p.WithdrawnAt,
			p.Reopened, p.UnderReview, p.ReviewRequestedAt, p.ReturnVisitAt, p.Satisfaction, p.RootCause,
			p.CompensationKind, p.CompensationTier, p.CompensationFen, p.OwnerID, p.OwnerLevel, p.FirstAssignedAt,
			p.LastAssignedAt, p.Assignments, p.Handovers, p.Escalations, p.LeftBranch, p.AckDueAt, p.AckBreached,
			p.AnswerDueAt, p.AnswerBreached, p.ResolveDueAt, p.ResolveBreached, p.RegulatoryDueAt, p.RegulatoryBreached,
			p.Extended, p.NextDueAt, p.NextDueKind, p.Warnings, p.Breaches, p.AckMet, p.AckSettled, p.AnswerMet,
			p.AnswerSettled, p.ResolveMet, p.ResolveSettled, p.HandlingS, p.HandlingBucket, p.Settled, p.SettledAtBranch,
			p.ReceivedWeekday, p.ReceivedHour, string(p.Deadlines), now,
		}
	}
	if _, err := s.Pool.CopyFrom(ctx, pgx.Identifier{"case_facts"}, factColumns, pgx.CopyFromRows(rows)); err != nil {
		return fmt.Errorf("copy %d case records: %w", len(recs), err)
	}
	queued := make([][]any, len(recs))
	for i, r := range recs {
		queued[i] = []any{r.TenantID, r.CaseID}
	}
	if _, err := s.Pool.CopyFrom(ctx, pgx.Identifier{"rollup_queue"}, []string{"tenant_id", "case_id"}, pgx.CopyFromRows(queued)); err != nil {
		return fmt.Errorf("queue %d case records: %w", len(recs), err)
	}
	return nil
}
