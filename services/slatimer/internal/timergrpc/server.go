// Package timergrpc serves slatimer's gRPC API (and through the gateway its
// HTTP/JSON API): a case's deadlines and the bank's SLA policy.
package timergrpc

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/counterdesk/counterdesk/proto/gen/counterdesk/slatimer/v1"
	"github.com/counterdesk/counterdesk/services/platform/grpcserver"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/calendar"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/calendars"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/sla"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/timerpg"
	"github.com/jackc/pgx/v5"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Server implements SlaTimerService.
type Server struct {
	slatimerv1.UnimplementedSlaTimerServiceServer
	Store *timerpg.Store
	Now   func() time.Time
	// Calendars are the calendars in force, on which remaining business
	// time is counted and an extended deadline counted again.
	Calendars *calendars.Registry
	// Recounted publishes the deadlines an extension moved, in its
	// transaction (timerkafka.PublishRecounted).
	Recounted func(ctx context.Context, tx pgx.Tx, reason string, version int64, moved []calendars.Recounted) error
}

var levels = map[string]slatimerv1.WarningLevel{
	"none": slatimerv1.WarningLevel_WARNING_LEVEL_NONE, "yellow": slatimerv1.WarningLevel_WARNING_LEVEL_YELLOW,
	"orange": slatimerv1.WarningLevel_WARNING_LEVEL_ORANGE, "red": slatimerv1.WarningLevel_WARNING_LEVEL_RED,
	"breached": slatimerv1.WarningLevel_WARNING_LEVEL_BREACHED,
}

// ListCaseDeadlines returns a case's deadlines in due order, each with its
// state and remaining time at s.Now (see deadlineProto).
func (s *Server) ListCaseDeadlines(ctx context.Context, req *slatimerv1.ListCaseDeadlinesRequest) (*slatimerv1.ListCaseDeadlinesResponse, error) {
	p, err := authorize(ctx, actReadDeadlines)
	if err != nil {
		return nil, err
	}
	ds, err := s.Store.CaseDeadlineViews(ctx, p.Tenant, req.GetCaseId())
	if err != nil {
		return nil, err
	}
	// Another bank's case and a case not armed yet look the same: not
	// found, so nothing (not even an echo of the id) tells a caller that a
	// case exists elsewhere. Armed deadlines follow registration within
	// about a second.
	if len(ds) == 0 {
		return nil, status.Error(codes.NotFound, "no deadlines for this case in the caller's bank (not armed yet, or no such case)")
	}
	now := s.Now()
	cals := s.lazyCalendars(ctx)
	resp := &slatimerv1.ListCaseDeadlinesResponse{CaseId: req.GetCaseId()}
	for _, d := range ds {
		if !p.CanSeeBranch(d.Branch, d.Region) {
			return nil, status.Error(codes.NotFound, "case not found")
		}
		pd, err := deadlineProto(d, now, p.Tenant, cals)
		if err != nil {
			return nil, err
		}
		resp.Deadlines = append(resp.Deadlines, pd)
	}
	return resp, nil
}

// GetPolicy returns the bank's policy in force: its newest version, or the
// default (version 0) until the bank sets its own.
func (s *Server) GetPolicy(ctx context.Context, _ *slatimerv1.GetPolicyRequest) (*slatimerv1.GetPolicyResponse, error) {
	p, err := authorize(ctx, actReadPolicy)
	if err != nil {
		return nil, err
	}
	v, def, err := s.Store.CurrentPolicy(ctx, nil, p.Tenant)
	if err != nil {
		return nil, err
	}
	resp := &slatimerv1.GetPolicyResponse{Policy: toProto(v.Policy), IsDefault: def, Version: v.Version, UpdatedBy: v.UpdatedBy}
	if !def {
		resp.UpdatedAt = timestamppb.New(v.UpdatedAt)
	}
	return resp, nil
}

// PutPolicy validates the policy and stores it as the bank's next version,
// set by the caller; cases armed before keep the version they were armed
// with.
func (s *Server) PutPolicy(ctx context.Context, req *slatimerv1.PutPolicyRequest) (*slatimerv1.PutPolicyResponse, error) {
	p, err := authorize(ctx, actPutPolicy)
	if err != nil {
		return nil, err
	}
	pol, convErrs, err := fromProto(req.GetPolicy())
	if err != nil {
		return nil, err
	}
	if err := policyErrors(convErrs, pol.Validate()); err != nil {
		return nil, policyStatus(err)
	}
	version, err := s.Store.PutPolicy(ctx, p.Tenant, p.Subject, pol, s.Now())
	if err != nil {
		return nil, err
	}
	return &slatimerv1.PutPolicyResponse{Policy: toProto(pol), Version: version}, nil
}

// ListPolicyVersions lists every version of the bank's policy, newest
// first, with who set it and when; empty while the default applies.
func (s *Server) ListPolicyVersions(ctx context.Context, _ *slatimerv1.ListPolicyVersionsRequest) (*slatimerv1.ListPolicyVersionsResponse, error) {
	p, err := authorize(ctx, actReadPolicyVersions)
	if err != nil {
		return nil, err
	}
	vs, err := s.Store.PolicyVersions(ctx, p.Tenant)
	if err != nil {
		return nil, err
	}
	resp := &slatimerv1.ListPolicyVersionsResponse{Versions: make([]*slatimerv1.PolicyVersion, 0, len(vs))}
	for _, v := range vs {
		resp.Versions = append(resp.Versions, &slatimerv1.PolicyVersion{
			Version: v.Version, UpdatedBy: v.UpdatedBy, UpdatedAt: timestamppb.New(v.UpdatedAt), Policy: toProto(v.Policy),
		})
	}
	return resp, nil
}

// policyErrors joins the conversion errors with the validation errors,
// leaving out validation errors of a field whose conversion already failed
// (an overflowing duration is not also "longer than 90 days").
func policyErrors(conv []*sla.FieldError, validation error) error {
	failed := map[string]bool{}
	var errs []error
	for _, fe := range conv {
		failed[fe.Field] = true
		errs = append(errs, fe)
	}
	for _, e := range unjoin(validation) {
		var fe *sla.FieldError
		if errors.As(e, &fe) && failed[fe.Field] {
			continue
		}
		errs = append(errs, e)
	}
	return errors.Join(errs...)
}

func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	var joined interface{ Unwrap() []error }
	if errors.As(err, &joined) {
		return joined.Unwrap()
	}
	return []error{err}
}

func policyStatus(err error) error {
	br := &errdetails.BadRequest{}
	for _, e := range unjoin(err) {
		var fe *sla.FieldError
		if errors.As(e, &fe) {
			br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: "policy." + fe.Field, Description: fe.Problem})
		}
	}
	st, _ := status.New(codes.InvalidArgument, "invalid policy: "+err.Error()).WithDetails(br)
	return st.Err()
}

// fromProto converts an API policy. A duration that does not convert
// exactly (invalid, or beyond the ~292 years a time.Duration holds, which
// AsDuration would silently clamp) is refused as a field error rather than
// counted as something else. The API's working_days carries the number of
// days of both day clocks.
func fromProto(p *slatimerv1.Policy) (sla.Policy, []*sla.FieldError, error) {
	out := sla.Policy{WarningFractions: p.GetWarningFractions()}
	if p.GetWorkdayStart() != "" || p.GetWorkdayEnd() != "" {
		wh, err := calendar.ParseWorkHours(p.GetWorkdayStart(), p.GetWorkdayEnd())
		if err != nil {
			return sla.Policy{}, nil, grpcserver.FieldError("policy.workdayStart", err.Error())
		}
		out.WorkHours = wh
	}
	var errs []*sla.FieldError
	for i, r := range p.GetRules() {
		rule := sla.Rule{
			Kind: sla.Kind(r.GetKind().String()), Clock: sla.Clock(r.GetClock().String()),
			Severity: r.GetSeverity(), Category: r.GetCategory(), Channel: r.GetChannel(), CustomerTier: r.GetCustomerTier(),
		}
		if d := r.GetDuration(); d != nil {
			var problem string
			rule.Duration, problem = exactDuration(d)
			if problem != "" {
				errs = append(errs, &sla.FieldError{Field: fmt.Sprintf("rules[%d].duration", i), Problem: problem})
			}
		}
		if rule.Clock == sla.ClockCalendarDays {
			rule.CalendarDays = int(r.GetWorkingDays())
		} else {
			rule.WorkingDays = int(r.GetWorkingDays())
		}
		out.Rules = append(out.Rules, rule)
	}
	return out, errs, nil
}

// exactDuration converts d, or says why it cannot be converted exactly.
func exactDuration(d *durationpb.Duration) (time.Duration, string) {
	if err := d.CheckValid(); err != nil {
		return 0, "not a valid duration: " + err.Error()
	}
	got := d.AsDuration()
	if back := durationpb.New(got); back.GetSeconds() != d.GetSeconds() || back.GetNanos() != d.GetNanos() {
		return got, fmt.Sprintf("%ds is beyond any limit that can be counted (at most %v, 90 days)", d.GetSeconds(), sla.MaxDuration)
	}
	return got, ""
}

func toProto(p sla.Policy) *slatimerv1.Policy {
	wh := p.WorkHours.OrDefault()
	out := &slatimerv1.Policy{WarningFractions: p.Fractions(), WorkdayStart: calendar.FormatClock(wh.Start), WorkdayEnd: calendar.FormatClock(wh.End)}
	for _, r := range p.Rules {
		days := r.WorkingDays
		if r.Clock == sla.ClockCalendarDays {
			days = r.CalendarDays
		}
		pr := &slatimerv1.PolicyRule{
			Kind:  slatimerv1.DeadlineKind(slatimerv1.DeadlineKind_value[string(r.Kind)]),
			Clock: slatimerv1.Clock(slatimerv1.Clock_value[string(r.Clock)]), WorkingDays: int32(days),
			Severity: r.Severity, Category: r.Category, Channel: r.Channel, CustomerTier: r.CustomerTier,
		}
		if r.Duration > 0 {
			pr.Duration = durationpb.New(r.Duration)
		}
		out.Rules = append(out.Rules, pr)
	}
	return out
}
