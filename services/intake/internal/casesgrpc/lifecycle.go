package casesgrpc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	casesv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/cases/v1"
	eventsv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	intakev1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/intake/v1"
	"github.com/counterdesk/counterdesk/services/intake/internal/cases"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/services/platform/eventbus"
	"github.com/counterdesk/counterdesk/services/platform/outbox"
	"github.com/jackc/pgx/v5"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// step takes one lifecycle step for the caller: the role table first, then
// (inside the case's lock) the caller's scope and the domain's rules.
func (s *Server) step(ctx context.Context, caseID string, st cases.Step) (*intakev1.Case, error) {
	caller, err := authorize(ctx, stepActions[st.Action])
	if err != nil {
		return nil, err
	}
	stored, err := s.stepAs(ctx, caller, caseID, st)
	if err != nil {
		return nil, err
	}
	view, err := cases.View(stored, caller)
	if err != nil {
		return nil, toStatus(err)
	}
	return toProto(view), nil
}

// stepAs takes the step for an authorised caller and returns the stored case.
func (s *Server) stepAs(ctx context.Context, caller auth.Principal, caseID string, st cases.Step) (cases.Case, error) {
	pol, _, err := s.Store.Settings(ctx, caller.Tenant)
	if err != nil {
		return cases.Case{}, err
	}
	stored, err := s.Store.Step(ctx, caller.Tenant, caseID, func(c cases.Case) (cases.Case, cases.HistoryEntry, error) {
		if _, err := cases.View(c, caller); err != nil {
			return c, cases.HistoryEntry{}, err // outside the caller's scope: not found
		}
		c, tr, err := cases.TakeStep(c, st, caller, pol, s.Now())
		if err != nil {
			return c, cases.HistoryEntry{}, err
		}
		h := cases.HistoryEntry{At: tr.At, Kind: cases.HistoryStep, Action: string(tr.Action), Actor: tr.Actor,
			From: tr.From, To: tr.To, Text: cases.StepText(st)}
		return c, h, nil
	}, func(ctx context.Context, tx pgx.Tx, c cases.Case, h cases.HistoryEntry) error {
		return outbox.Add(ctx, tx, "intake", eventbus.TopicCaseEvents, caseTransitioned(c, h))
	})
	if err != nil {
		return cases.Case{}, stepStatus(err)
	}
	return stored, nil
}

// stepStatus turns a refused step into its status: 409 naming the current
// status and the steps allowed now, 403 for a rule needing higher authority.
func stepStatus(err error) error {
	var na *cases.NotAllowedError
	if errors.As(err, &na) {
		allowed := make([]string, len(na.Allowed))
		for i, a := range na.Allowed {
			allowed[i] = string(a)
		}
		st, _ := status.New(codes.FailedPrecondition, na.Error()).WithDetails(&errdetails.PreconditionFailure{
			Violations: []*errdetails.PreconditionFailure_Violation{{
				Type: "CASE_STATUS", Subject: na.Current,
				Description: "allowed now: " + strings.Join(allowed, ", "),
			}},
		}, &errdetails.ErrorInfo{Reason: "STEP_NOT_ALLOWED", Domain: "counterdesk.intake",
			Metadata: map[string]string{"currentStatus": na.Current, "allowedActions": strings.Join(allowed, ",")}})
		return st.Err()
	}
	if errors.Is(err, cases.ErrNeedsHigherAuthority) {
		return status.Error(codes.PermissionDenied, err.Error())
	}
	return toStatus(err)
}

func caseTransitioned(c cases.Case, h cases.HistoryEntry) *eventsv1.Envelope {
	ev := &eventsv1.CaseTransitioned{
		Action:     h.Action,
		FromStatus: casesv1.CaseStatus(casesv1.CaseStatus_value[h.From]),
		ToStatus:   casesv1.CaseStatus(casesv1.CaseStatus_value[h.To]),
		ActorId:    h.Actor, At: timestamppb.New(h.At), BranchId: c.Branch, RegionId: c.Region,
		Category:     casesv1.Category(casesv1.Category_value[c.Category]),
		Severity:     casesv1.Severity(casesv1.Severity_value[c.Severity]),
		ReopenCount:  int32(c.Life.Reopens),
		Channel:      casesv1.Channel(casesv1.Channel_value[c.Channel]),
		CustomerTier: casesv1.CustomerTier(casesv1.CustomerTier_value[c.Customer.Tier]),
		CalendarId:   c.CalendarID, TimeZone: c.TimeZone,
	}
	switch h.Action {
	case string(cases.ActAnswer):
		if a := c.Work.Answer; a != nil {
			ev.RootCause = casesv1.RootCause(casesv1.RootCause_value[a.RootCause])
			if k := a.Compensation; k != nil {
				ev.CompensationKind = casesv1.CompensationKind(casesv1.CompensationKind_value[k.Kind])
				ev.CompensationAmountFen, ev.CompensationTier = k.AmountFen, k.Tier
			}
		}
	case string(cases.ActRecordReturnVisit):
		if v := c.Work.ReturnVisit; v != nil {
			ev.Satisfaction = int32(v.Satisfaction)
		}
	}
	return &eventsv1.Envelope{TenantId: c.Tenant, CaseId: c.ID, Payload: &eventsv1.Envelope_CaseTransitioned{CaseTransitioned: ev}}
}

func (s *Server) StartVerification(ctx context.Context, r *intakev1.StartVerificationRequest) (*intakev1.StartVerificationResponse, error) {
	c, err := s.step(ctx, r.GetCaseId(), cases.Step{Action: cases.ActStartVerification})
	return &intakev1.StartVerificationResponse{Case: c}, err
}

func (s *Server) RecordVerification(ctx context.Context, r *intakev1.RecordVerificationRequest) (*intakev1.RecordVerificationResponse, error) {
	c, err := s.step(ctx, r.GetCaseId(), cases.Step{Action: cases.ActRecordVerification, Finding: r.GetFinding(),
		Substantiated: r.GetSubstantiated(), Departments: r.GetDepartments()})
	return &intakev1.RecordVerificationResponse{Case: c}, err
}

func (s *Server) Answer(ctx context.Context, r *intakev1.AnswerRequest) (*intakev1.AnswerResponse, error) {
	st := cases.Step{Action: cases.ActAnswer, Text: r.GetAnswer(), RootCause: r.GetRootCause().String()}
	if c := r.GetCompensation(); c != nil {
		st.Compensation = &cases.Compensation{Kind: c.GetKind().String(), AmountFen: c.GetAmountFen(), Tier: c.GetTier(), ApprovedBy: c.GetApprovedBy()}
	}
	c, err := s.step(ctx, r.GetCaseId(), st)
	return &intakev1.AnswerResponse{Case: c}, err
}

func (s *Server) RecordReturnVisit(ctx context.Context, r *intakev1.RecordReturnVisitRequest) (*intakev1.RecordReturnVisitResponse, error) {
	if isServiceCall(ctx) {
		return s.recordSurveyAnswer(ctx, r)
	}
	c, err := s.step(ctx, r.GetCaseId(), cases.Step{Action: cases.ActRecordReturnVisit, Satisfaction: int(r.GetSatisfaction()),
		Text: r.GetComment(), Reached: r.GetReached()})
	return &intakev1.RecordReturnVisitResponse{Case: c}, err
}

func (s *Server) Close(ctx context.Context, r *intakev1.CloseRequest) (*intakev1.CloseResponse, error) {
	c, err := s.step(ctx, r.GetCaseId(), cases.Step{Action: cases.ActClose})
	return &intakev1.CloseResponse{Case: c}, err
}

func (s *Server) Withdraw(ctx context.Context, r *intakev1.WithdrawRequest) (*intakev1.WithdrawResponse, error) {
	c, err := s.step(ctx, r.GetCaseId(), cases.Step{Action: cases.ActWithdraw, Text: r.GetReason()})
	return &intakev1.WithdrawResponse{Case: c}, err
}

func (s *Server) Reopen(ctx context.Context, r *intakev1.ReopenRequest) (*intakev1.ReopenResponse, error) {
	c, err := s.step(ctx, r.GetCaseId(), cases.Step{Action: cases.ActReopen, Text: r.GetReason()})
	return &intakev1.ReopenResponse{Case: c}, err
}

func (s *Server) RequestReview(ctx context.Context, r *intakev1.RequestReviewRequest) (*intakev1.RequestReviewResponse, error) {
	c, err := s.step(ctx, r.GetCaseId(), cases.Step{Action: cases.ActRequestReview, Text: r.GetReason()})
	return &intakev1.RequestReviewResponse{Case: c}, err
}

func (s *Server) DecideReview(ctx context.Context, r *intakev1.DecideReviewRequest) (*intakev1.DecideReviewResponse, error) {
	c, err := s.step(ctx, r.GetCaseId(), cases.Step{Action: cases.ActDecideReview, Upheld: r.GetUpheld(), Text: r.GetDecision()})
	return &intakev1.DecideReviewResponse{Case: c}, err
}

func (s *Server) AwaitCustomer(ctx context.Context, r *intakev1.AwaitCustomerRequest) (*intakev1.AwaitCustomerResponse, error) {
	c, err := s.step(ctx, r.GetCaseId(), cases.Step{Action: cases.ActAwaitCustomer, Text: r.GetReason()})
	return &intakev1.AwaitCustomerResponse{Case: c}, err
}

func (s *Server) ResumeFromCustomer(ctx context.Context, r *intakev1.ResumeFromCustomerRequest) (*intakev1.ResumeFromCustomerResponse, error) {
	c, err := s.step(ctx, r.GetCaseId(), cases.Step{Action: cases.ActResumeFromCustomer})
	return &intakev1.ResumeFromCustomerResponse{Case: c}, err
}

func (s *Server) Acknowledge(ctx context.Context, r *intakev1.AcknowledgeRequest) (*intakev1.AcknowledgeResponse, error) {
	c, err := s.step(ctx, r.GetCaseId(), cases.Step{Action: cases.ActAcknowledge, Text: r.GetHow()})
	return &intakev1.AcknowledgeResponse{Case: c}, err
}

func (s *Server) AwaitAppraisal(ctx context.Context, r *intakev1.AwaitAppraisalRequest) (*intakev1.AwaitAppraisalResponse, error) {
	c, err := s.step(ctx, r.GetCaseId(), cases.Step{Action: cases.ActAwaitAppraisal, Text: r.GetReason()})
	return &intakev1.AwaitAppraisalResponse{Case: c}, err
}

func (s *Server) ResumeFromAppraisal(ctx context.Context, r *intakev1.ResumeFromAppraisalRequest) (*intakev1.ResumeFromAppraisalResponse, error) {
	c, err := s.step(ctx, r.GetCaseId(), cases.Step{Action: cases.ActResumeFromAppraisal})
	return &intakev1.ResumeFromAppraisalResponse{Case: c}, err
}

func (s *Server) Reclassify(ctx context.Context, r *intakev1.ReclassifyRequest) (*intakev1.ReclassifyResponse, error) {
	c, err := s.step(ctx, r.GetCaseId(), cases.Step{Action: cases.ActReclassify, Severity: r.GetSeverity().String(), Text: r.GetReason()})
	return &intakev1.ReclassifyResponse{Case: c}, err
}

// MoveBranch moves a case to another branch: the branch is looked up in the
// caller's bank through routing (an unknown branch, or one of another bank,
// is refused) before the case is locked.
func (s *Server) MoveBranch(ctx context.Context, r *intakev1.MoveBranchRequest) (*intakev1.MoveBranchResponse, error) {
	caller, err := authorize(ctx, stepActions[cases.ActMoveBranch])
	if err != nil {
		return nil, err
	}
	br, err := s.Branches.Get(ctx, caller.Tenant, r.GetBranchId())
	if err != nil {
		return nil, err
	}
	c, err := s.step(ctx, r.GetCaseId(), cases.Step{Action: cases.ActMoveBranch, Branch: &br, Text: r.GetReason()})
	return &intakev1.MoveBranchResponse{Case: c}, err
}

func (s *Server) AddNote(ctx context.Context, r *intakev1.AddNoteRequest) (*intakev1.AddNoteResponse, error) {
	caller, err := authorize(ctx, actAddNote)
	if err != nil {
		return nil, err
	}
	var ev []cases.Evidence
	for _, e := range r.GetEvidence() {
		ev = append(ev, cases.Evidence{Kind: e.GetKind(), SHA256: e.GetSha256(), Reference: e.GetReference()})
	}
	if err := cases.CheckNote(r.GetText(), ev); err != nil {
		return nil, toStatus(err)
	}
	h, err := s.Store.AddNote(ctx, caller.Tenant, r.GetCaseId(), func(c cases.Case) bool {
		_, err := cases.View(c, caller)
		return err == nil
	}, cases.HistoryEntry{At: s.Now(), Kind: cases.HistoryNote, Actor: caller.Subject, Text: r.GetText(), Evidence: ev})
	if err != nil {
		return nil, toStatus(err)
	}
	return &intakev1.AddNoteResponse{Entry: historyProto(h, caller.SeesPersonalData())}, nil
}

func (s *Server) GetCaseHistory(ctx context.Context, r *intakev1.GetCaseHistoryRequest) (*intakev1.GetCaseHistoryResponse, error) {
	caller, err := authorize(ctx, actReadCase)
	if err != nil {
		return nil, err
	}
	c, err := s.Store.Get(ctx, caller.Tenant, r.GetCaseId())
	if err != nil {
		return nil, toStatus(err)
	}
	if _, err := cases.View(c, caller); err != nil {
		return nil, toStatus(err)
	}
	hs, err := s.Store.History(ctx, caller.Tenant, c.ID)
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	clear := cases.SeesClear(c, caller)
	if clear && caller.IsStaff() {
		if err := s.Store.RecordAccess(ctx, c, caller.Subject, "history read in clear by "+string(caller.Role), s.Now()); err != nil {
			return nil, fmt.Errorf("audit personal data read: %w", err)
		}
	}
	resp := &intakev1.GetCaseHistoryResponse{CaseId: c.ID}
	for _, h := range hs {
		resp.Entries = append(resp.Entries, historyProto(h, clear))
	}
	return resp, nil
}

func historyProto(h cases.HistoryEntry, clear bool) *intakev1.HistoryEntry {
	text := h.Text
	if !clear {
		text = cases.MaskText(text)
	}
	e := &intakev1.HistoryEntry{Seq: int32(h.Seq), At: timestamppb.New(h.At), Kind: h.Kind, Action: h.Action, ActorId: h.Actor,
		FromStatus: casesv1.CaseStatus(casesv1.CaseStatus_value[h.From]),
		ToStatus:   casesv1.CaseStatus(casesv1.CaseStatus_value[h.To]), Text: text, OwnerId: h.Owner}
	for _, ev := range h.Evidence {
		e.Evidence = append(e.Evidence, &intakev1.Evidence{Kind: ev.Kind, Sha256: ev.SHA256, Reference: ev.Reference})
	}
	return e
}

func settingsProto(p cases.Policy) *intakev1.CaseSettings {
	return &intakev1.CaseSettings{CompensationApprovalFen: p.CompensationApprovalFen, OccurredHorizonDays: int32(p.OccurredHorizon / (24 * time.Hour))}
}

func (s *Server) GetCaseSettings(ctx context.Context, _ *intakev1.GetCaseSettingsRequest) (*intakev1.GetCaseSettingsResponse, error) {
	caller, err := authorize(ctx, actReadSettings)
	if err != nil {
		return nil, err
	}
	p, set, err := s.Store.Settings(ctx, caller.Tenant)
	if err != nil {
		return nil, err
	}
	return &intakev1.GetCaseSettingsResponse{Settings: settingsProto(p), IsDefault: proto.Bool(!set)}, nil
}

func (s *Server) PutCaseSettings(ctx context.Context, r *intakev1.PutCaseSettingsRequest) (*intakev1.PutCaseSettingsResponse, error) {
	caller, err := authorize(ctx, actPutSettings)
	if err != nil {
		return nil, err
	}
	p := cases.Policy{CompensationApprovalFen: r.GetSettings().GetCompensationApprovalFen(),
		OccurredHorizon: time.Duration(r.GetSettings().GetOccurredHorizonDays()) * 24 * time.Hour}
	if err := s.Store.PutSettings(ctx, caller.Tenant, p, caller.Subject, s.Now()); err != nil {
		return nil, err
	}
	return &intakev1.PutCaseSettingsResponse{Settings: settingsProto(p)}, nil
}
