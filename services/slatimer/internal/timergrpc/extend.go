package timergrpc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	slatimerv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/slatimer/v1"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/services/platform/grpcserver"
	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/counterdesk/counterdesk/services/platform/pii"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/calendars"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/sla"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/timerpg"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// ReasonRegulatoryExtension is the DeadlineRecomputed reason of an
// extension of the regulatory decision limit.
const ReasonRegulatoryExtension = "regulatory_extension"

// The extension rules of the regulatory decision limit (China's
// consumer-complaint rules): a first extension of exactly 15 days (15 → 30),
// then one more of at most 30 days, then none.
const (
	firstExtensionDays = 15
	maxExtensionDays   = 30
	maxExtensions      = 2
	minReasonRunes     = 2
	maxReasonRunes     = 500
	maxIdempotencyKey  = 128
)

// ExtendDeadline extends a complaint's regulatory decision limit. The
// caller is the approver: a first extension (15 days) needs branch
// authority — the branch head of the case's branch, the regional
// supervisor of its region, or head office; a second (at most 30 days, the
// last) regional authority — the regional supervisor or head office. A
// third is refused (FailedPrecondition), as is an extension of a limit that
// was met or has run out. Every other role is refused (PermissionDenied);
// a case outside the caller's branch or region is not found.
//
// The limit is counted again on the deadline's own clock, from its own
// start, with the longer limit; its warnings and breach move to the new
// times (a warning whose new time is still ahead fires again then). The
// extension is recorded (approver, reason masked, old and new due time) and
// a DeadlineRecomputed with reason "regulatory_extension" goes out in the
// same transaction, from which the customer is told.
//
// A request carrying an Idempotency-Key (gRPC metadata idempotency-key)
// that this case's extension already carried grants nothing more: it
// answers the deadline as it stands, or AlreadyExists when the key came
// with other days or another reason.
func (s *Server) ExtendDeadline(ctx context.Context, req *slatimerv1.ExtendDeadlineRequest) (*slatimerv1.ExtendDeadlineResponse, error) {
	p, err := authorize(ctx, actExtendFirst) // who may grant a first extension may ask; the second is checked below
	if err != nil {
		return nil, err
	}
	if _, err := uuid.Parse(req.GetCaseId()); err != nil {
		return nil, grpcserver.FieldError("caseId", "must be a UUID")
	}
	days := int(req.GetDays())
	if days < 1 || days > maxExtensionDays {
		return nil, grpcserver.FieldError("days", fmt.Sprintf("must be between 1 and %d", maxExtensionDays))
	}
	reason := strings.TrimSpace(req.GetReason())
	if n := utf8.RuneCountInString(reason); n < minReasonRunes || n > maxReasonRunes {
		return nil, grpcserver.FieldError("reason", fmt.Sprintf("must be %d to %d characters: why the case needs more time", minReasonRunes, maxReasonRunes))
	}
	key := idempotencyKey(ctx)
	if len(key) > maxIdempotencyKey {
		return nil, grpcserver.FieldError("Idempotency-Key", fmt.Sprintf("must be at most %d characters", maxIdempotencyKey))
	}
	if s.Recounted == nil {
		return nil, status.Error(codes.Internal, "the server publishes no recount events (Recounted is not set)")
	}
	ext := timerpg.Extension{Days: days, ApprovedBy: p.Subject, ApproverRole: string(p.Role),
		Reason: pii.MaskFreeText(reason), ExtendedAt: s.Now(), IdempotencyKey: key}
	reg := s.registry()
	var st *calendars.State
	// Installation-wide, as every calendar transaction (the registry
	// caches every bank's closures); each query names the caller's bank.
	err = pgdb.InTx(calendarScope(ctx), s.Store.Pool(), func(tx pgx.Tx) error {
		if err := s.Store.LockShared(ctx, tx); err != nil {
			return err
		}
		var err error
		if st, err = reg.Current(ctx, tx); err != nil {
			return err
		}
		return s.extend(ctx, tx, p, reg.Base, st, ext, req.GetCaseId())
	})
	if errors.Is(err, errReplayed) {
		err = nil
	}
	if err != nil {
		return nil, err
	}
	vs, err := s.Store.CaseDeadlineViews(ctx, p.Tenant, req.GetCaseId())
	if err != nil {
		return nil, err
	}
	for _, v := range vs {
		if v.Kind == string(sla.KindRegulatoryDecision) {
			d, err := deadlineProto(v, ext.ExtendedAt, p.Tenant, func() (*calendars.State, calendars.Base, error) { return st, reg.Base, nil })
			if err != nil {
				return nil, err
			}
			return &slatimerv1.ExtendDeadlineResponse{Deadline: d}, nil
		}
	}
	return nil, status.Error(codes.Internal, "the extended deadline was not found again")
}

// errReplayed ends the transaction of a request whose Idempotency-Key was
// already used for the same extension: nothing changes, the deadline is
// answered as it stands.
var errReplayed = errors.New("extension already granted for this Idempotency-Key")

// extend applies the rules and stores the extension, in tx.
func (s *Server) extend(ctx context.Context, tx pgx.Tx, p auth.Principal, base calendars.Base, st *calendars.State, ext timerpg.Extension, caseID string) error {
	d, ok, err := s.Store.LockForExtension(ctx, tx, p.Tenant, caseID, sla.KindRegulatoryDecision)
	if err != nil {
		return err
	}
	if !ok {
		vs, err := s.Store.CaseDeadlineViews(ctx, p.Tenant, caseID)
		if err != nil {
			return err
		}
		if len(vs) == 0 || !p.CanSeeBranch(vs[0].Branch, vs[0].Region) {
			return status.Error(codes.NotFound, "case not found in the caller's bank (or its deadlines are not armed yet)")
		}
		return status.Error(codes.FailedPrecondition, "the case has no regulatory decision limit to extend: only complaints have one")
	}
	if !p.CanSeeBranch(d.Branch, d.Region) {
		return status.Error(codes.NotFound, "case not found in the caller's bank (or its deadlines are not armed yet)")
	}
	if ext.IdempotencyKey != "" {
		for _, e := range d.Extensions {
			if e.IdempotencyKey != ext.IdempotencyKey {
				continue
			}
			if e.Days != ext.Days || e.Reason != ext.Reason {
				return status.Error(codes.AlreadyExists, "Idempotency-Key was already used for a different extension of this case")
			}
			return errReplayed
		}
	}
	n := len(d.Extensions)
	switch {
	case d.MetAt != nil:
		return status.Errorf(codes.FailedPrecondition, "the regulatory decision limit was met at %s: there is nothing to extend",
			d.MetAt.UTC().Format(time.RFC3339))
	case n >= maxExtensions:
		return status.Errorf(codes.FailedPrecondition,
			"the regulatory decision limit was extended %d times already (by %s): the rules allow a first extension of %d days and one more of at most %d, no third",
			n, extensionDays(d.Extensions), firstExtensionDays, maxExtensionDays)
	case n == 0 && ext.Days != firstExtensionDays:
		return grpcserver.FieldError("days", fmt.Sprintf("the first extension is %d days (the limit goes from 15 to 30 days), got %d", firstExtensionDays, ext.Days))
	case n == 1 && !permits(p.Role, actExtendSecond):
		return status.Errorf(codes.PermissionDenied,
			"a second extension of the regulatory decision limit needs the approval of a regional supervisor or head office; the %s role may grant the first only", p.Role)
	case !d.HasBasis:
		return status.Error(codes.FailedPrecondition, "the regulatory decision limit was armed before deadlines kept what they were counted from, and cannot be counted again")
	}
	// A limit that has run out is breached, and a breach is final: the
	// extension has to be approved while the limit runs. (A paused clock
	// is compared as it stood when paused.)
	at := ext.ExtendedAt
	if d.PausedAt != nil {
		at = *d.PausedAt
	}
	if d.Level == timerpg.LevelBreached || !at.Before(d.DueAt) {
		return status.Errorf(codes.FailedPrecondition,
			"the regulatory decision limit ran out at %s: an extension has to be approved before the limit runs out",
			d.DueAt.UTC().Format(time.RFC3339))
	}
	longer, err := lengthen(d.Basis, ext.Days)
	if err != nil {
		return err
	}
	cal, ok := st.Branch(base, d.Tenant, d.Branch, d.Basis.CalendarID)
	if !ok {
		return status.Errorf(codes.FailedPrecondition, "the case's deadlines are counted on calendar %q, which this installation does not have", d.Basis.CalendarID)
	}
	nd, err := sla.Recount(sla.Kind(d.Kind), longer, cal, d.StartedAt)
	if err != nil {
		return fmt.Errorf("count %s of case %s again: %w", d.Kind, caseID, err)
	}
	ext.Seq = n + 1
	if err := s.Store.Extend(ctx, tx, d.OpenDeadline, nd, st.Version, ext); err != nil {
		return err
	}
	return s.Recounted(ctx, tx, ReasonRegulatoryExtension, st.Version, []calendars.Recounted{{Old: d.OpenDeadline, New: nd}})
}

// lengthen returns b with its limit longer by days, in the unit of its own
// clock: whole days of wall time for the calendar clock, calendar days for
// the calendar-days clock, working days for the working-days clock. A limit
// in business hours has no days to add to.
func lengthen(b sla.Basis, days int) (sla.Basis, error) {
	switch b.Clock {
	case sla.ClockCalendar:
		b.Duration += time.Duration(days) * 24 * time.Hour
	case sla.ClockCalendarDays:
		b.CalendarDays += days
	case sla.ClockWorkingDays:
		b.WorkingDays += days
	default:
		return sla.Basis{}, status.Errorf(codes.FailedPrecondition, "the regulatory decision limit is counted on the %s clock, which has no days to extend by", b.Clock)
	}
	return b, nil
}

// extensionDays lists the days of each extension, e.g. "15 and 10 days".
func extensionDays(es []timerpg.Extension) string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = fmt.Sprint(e.Days)
	}
	return strings.Join(parts, " and ") + " days"
}

// idempotencyKey is the request's Idempotency-Key (the gateway forwards
// the HTTP header as gRPC metadata idempotency-key), or "".
func idempotencyKey(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get("idempotency-key"); len(v) > 0 {
		return strings.TrimSpace(v[0])
	}
	return ""
}
