// Package timergrpc serves slatimer's gRPC API (and through the gateway its
// HTTP/JSON API): a case's deadlines and the bank's SLA policy.
package timergrpc

import (
	"context"
	"errors"
	"time"

	"github.com/counterdesk/counterdesk/proto/gen/counterdesk/slatimer/v1"
	"github.com/counterdesk/counterdesk/services/platform/grpcserver"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/calendar"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/sla"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/timerpg"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Server implements SlaTimerService.
type Server struct {
	slatimerv1.UnimplementedSlaTimerServiceServer
	Store *timerpg.Store
	Now   func() time.Time
}

var levels = map[string]slatimerv1.WarningLevel{
	"none": slatimerv1.WarningLevel_WARNING_LEVEL_NONE, "yellow": slatimerv1.WarningLevel_WARNING_LEVEL_YELLOW,
	"orange": slatimerv1.WarningLevel_WARNING_LEVEL_ORANGE, "red": slatimerv1.WarningLevel_WARNING_LEVEL_RED,
	"breached": slatimerv1.WarningLevel_WARNING_LEVEL_BREACHED,
}

func (s *Server) ListCaseDeadlines(ctx context.Context, req *slatimerv1.ListCaseDeadlinesRequest) (*slatimerv1.ListCaseDeadlinesResponse, error) {
	p, err := authorize(ctx, actReadDeadlines)
	if err != nil {
		return nil, err
	}
	ds, err := s.Store.Deadlines(ctx, p.Tenant, req.GetCaseId())
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
	resp := &slatimerv1.ListCaseDeadlinesResponse{CaseId: req.GetCaseId()}
	for _, d := range ds {
		if !p.CanSeeBranch(d.Branch, d.Region) {
			return nil, status.Error(codes.NotFound, "case not found")
		}
		pd := &slatimerv1.Deadline{
			Kind:  slatimerv1.DeadlineKind(slatimerv1.DeadlineKind_value[d.Kind]),
			Clock: slatimerv1.Clock(slatimerv1.Clock_value[d.Clock]), StartedAt: timestamppb.New(d.StartedAt),
			DueAt: timestamppb.New(d.DueAt), Level: levels[d.Level], Provisional: proto.Bool(d.Provisional),
		}
		if loc, err := time.LoadLocation(d.TimeZone); err == nil && d.TimeZone != "" {
			pd.DueLocal = d.DueAt.In(loc).Format(time.RFC3339)
		}
		if d.MetAt != nil {
			pd.MetAt = timestamppb.New(*d.MetAt)
		}
		resp.Deadlines = append(resp.Deadlines, pd)
	}
	return resp, nil
}

func (s *Server) GetPolicy(ctx context.Context, _ *slatimerv1.GetPolicyRequest) (*slatimerv1.GetPolicyResponse, error) {
	p, err := authorize(ctx, actReadPolicy)
	if err != nil {
		return nil, err
	}
	pol, def, err := s.Store.Policy(ctx, nil, p.Tenant)
	if err != nil {
		return nil, err
	}
	return &slatimerv1.GetPolicyResponse{Policy: toProto(pol), IsDefault: def}, nil
}

func (s *Server) PutPolicy(ctx context.Context, req *slatimerv1.PutPolicyRequest) (*slatimerv1.PutPolicyResponse, error) {
	p, err := authorize(ctx, actPutPolicy)
	if err != nil {
		return nil, err
	}
	pol, err := fromProto(req.GetPolicy())
	if err != nil {
		return nil, err
	}
	if err := pol.Validate(); err != nil {
		return nil, policyStatus(err)
	}
	if err := s.Store.PutPolicy(ctx, p.Tenant, pol, s.Now()); err != nil {
		return nil, err
	}
	return &slatimerv1.PutPolicyResponse{Policy: toProto(pol)}, nil
}

func policyStatus(err error) error {
	br := &errdetails.BadRequest{}
	var joined interface{ Unwrap() []error }
	errs := []error{err}
	if errors.As(err, &joined) {
		errs = joined.Unwrap()
	}
	for _, e := range errs {
		var fe *sla.FieldError
		if errors.As(e, &fe) {
			br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: "policy." + fe.Field, Description: fe.Problem})
		}
	}
	st, _ := status.New(codes.InvalidArgument, "invalid policy: "+err.Error()).WithDetails(br)
	return st.Err()
}

func fromProto(p *slatimerv1.Policy) (sla.Policy, error) {
	out := sla.Policy{WarningFractions: p.GetWarningFractions()}
	if p.GetWorkdayStart() != "" || p.GetWorkdayEnd() != "" {
		wh, err := calendar.ParseWorkHours(p.GetWorkdayStart(), p.GetWorkdayEnd())
		if err != nil {
			return sla.Policy{}, grpcserver.FieldError("policy.workdayStart", err.Error())
		}
		out.WorkHours = wh
	}
	for _, r := range p.GetRules() {
		out.Rules = append(out.Rules, sla.Rule{
			Kind: sla.Kind(r.GetKind().String()), Clock: sla.Clock(r.GetClock().String()),
			Duration: r.GetDuration().AsDuration(), WorkingDays: int(r.GetWorkingDays()),
			Severity: r.GetSeverity(), Category: r.GetCategory(),
		})
	}
	return out, nil
}

func toProto(p sla.Policy) *slatimerv1.Policy {
	wh := p.WorkHours.OrDefault()
	out := &slatimerv1.Policy{WarningFractions: p.Fractions(), WorkdayStart: calendar.FormatClock(wh.Start), WorkdayEnd: calendar.FormatClock(wh.End)}
	for _, r := range p.Rules {
		pr := &slatimerv1.PolicyRule{
			Kind:  slatimerv1.DeadlineKind(slatimerv1.DeadlineKind_value[string(r.Kind)]),
			Clock: slatimerv1.Clock(slatimerv1.Clock_value[string(r.Clock)]), WorkingDays: int32(r.WorkingDays),
			Severity: r.Severity, Category: r.Category,
		}
		if r.Duration > 0 {
			pr.Duration = durationpb.New(r.Duration)
		}
		out.Rules = append(out.Rules, pr)
	}
	return out
}
