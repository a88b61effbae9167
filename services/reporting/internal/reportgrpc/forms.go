package reportgrpc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	casesv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/cases/v1"
	intakev1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/intake/v1"
	reportingv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/reporting/v1"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/services/reporting/internal/forms"
	"github.com/counterdesk/counterdesk/services/reporting/internal/report"
	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// CaseReader is what the forms need of intake: a case and its history,
// read on the caller's behalf so that intake's scope and masking apply.
type CaseReader interface {
	GetCase(ctx context.Context, in *intakev1.GetCaseRequest, opts ...grpc.CallOption) (*intakev1.GetCaseResponse, error)
	GetCaseHistory(ctx context.Context, in *intakev1.GetCaseHistoryRequest, opts ...grpc.CallOption) (*intakev1.GetCaseHistoryResponse, error)
}

// NoticeReader is what the forms need of rectification notices: one
// notice, under the RectificationService's own access rule (its server, in
// this process, with the caller in the context).
type NoticeReader interface {
	GetRectificationNotice(ctx context.Context, req *reportingv1.GetRectificationNoticeRequest) (*reportingv1.GetRectificationNoticeResponse, error)
}

// Forms implements reportingv1.FormsServiceServer.
type Forms struct {
	reportingv1.UnimplementedFormsServiceServer
	Cases    CaseReader
	Notices  NoticeReader
	Renderer *forms.Renderer // nil: no font configured, forms answer Unavailable
	Now      func() time.Time
	Log      *slog.Logger
}

// GetRegisterEntryPdf renders the 柜面异常情况登记表 of a case.
func (s *Forms) GetRegisterEntryPdf(ctx context.Context, req *reportingv1.GetRegisterEntryPdfRequest) (*httpbody.HttpBody, error) {
	return s.caseForm(ctx, req.GetCaseId(), "register-entry", s.render((*forms.Renderer).RegisterEntry))
}

// GetComplaintSheetPdf renders the 客户投诉处理单 of a case.
func (s *Forms) GetComplaintSheetPdf(ctx context.Context, req *reportingv1.GetComplaintSheetPdfRequest) (*httpbody.HttpBody, error) {
	return s.caseForm(ctx, req.GetCaseId(), "complaint-sheet", s.render((*forms.Renderer).ComplaintSheet))
}

func (s *Forms) render(f func(*forms.Renderer, forms.Case, time.Time) ([]byte, error)) func(forms.Case) ([]byte, error) {
	return func(c forms.Case) ([]byte, error) { return f(s.Renderer, c, s.Now()) }
}

// GetRectificationNoticePdf renders a 客户投诉整改通知单.
func (s *Forms) GetRectificationNoticePdf(ctx context.Context, req *reportingv1.GetRectificationNoticePdfRequest) (*httpbody.HttpBody, error) {
	caller, err := s.authorize(ctx)
	if err != nil {
		return nil, err
	}
	if s.Notices == nil {
		return nil, status.Error(codes.Unimplemented, "rectification notices are not served here")
	}
	resp, err := s.Notices.GetRectificationNotice(ctx, &reportingv1.GetRectificationNoticeRequest{NoticeId: req.GetNoticeId()})
	if err != nil {
		return nil, err // already the notice service's status
	}
	n := resp.GetNotice()
	pdf, err := s.Renderer.RectificationNotice(forms.Notice{
		ID: n.GetId(), Bank: caller.Tenant, Branch: n.GetBranchId(), Region: n.GetRegionId(), Department: n.GetDepartment(),
		Fault: n.GetFault(), Cases: n.GetCaseIds(), DueDate: n.GetDueDate(), Status: forms.Label(n.GetStatus().String()),
		Overdue: n.GetOverdue(), IssuedBy: n.GetIssuedBy(), IssuedAt: at(n.GetIssuedAt()),
		Measures: n.GetMeasures(), MeasuresBy: n.GetMeasuresBy(), MeasuresAt: at(n.GetMeasuresAt()),
		ClosedBy: n.GetClosedBy(), ClosedAt: at(n.GetClosedAt()), Comment: n.GetClosingComment(),
	}, s.Now())
	if err != nil {
		return nil, s.renderStatus(ctx, err)
	}
	return s.pdf(ctx, "rectification-notice-"+n.GetId()+".pdf", pdf)
}

// authorize applies the reports' role table: whoever may read reports may
// print forms (SREs and the operator may not).
func (s *Forms) authorize(ctx context.Context) (auth.Principal, error) {
	caller, err := auth.RequireTenant(ctx)
	if err != nil {
		return auth.Principal{}, err
	}
	if _, err := report.ScopeFor(caller); err != nil {
		return auth.Principal{}, status.Error(codes.PermissionDenied, err.Error())
	}
	if s.Renderer == nil {
		return auth.Principal{}, status.Error(codes.Unavailable, "PDF forms are unavailable: no CJK font configured (FORMS_FONT_FILE)")
	}
	return caller, nil
}

func (s *Forms) caseForm(ctx context.Context, caseID, form string, render func(forms.Case) ([]byte, error)) (*httpbody.HttpBody, error) {
	caller, err := s.authorize(ctx)
	if err != nil {
		return nil, err
	}
	out := auth.ForwardCaller(ctx)
	got, err := s.Cases.GetCase(out, &intakev1.GetCaseRequest{CaseId: caseID})
	if err != nil {
		return nil, s.intakeStatus(ctx, err)
	}
	hist, err := s.Cases.GetCaseHistory(out, &intakev1.GetCaseHistoryRequest{CaseId: caseID})
	if err != nil {
		return nil, s.intakeStatus(ctx, err)
	}
	c := formCase(caller.Tenant, got.GetCase(), hist.GetEntries())
	pdf, err := render(c)
	if err != nil {
		return nil, s.renderStatus(ctx, err)
	}
	name := c.Number
	if name == "" {
		name = caseID
	}
	return s.pdf(ctx, form+"-"+name+".pdf", pdf)
}

func (s *Forms) pdf(ctx context.Context, filename string, b []byte) (*httpbody.HttpBody, error) {
	// The name holds only case numbers, ids and ASCII: safe in a header.
	_ = grpc.SetHeader(ctx, metadata.Pairs("content-disposition", `attachment; filename="`+filename+`"`))
	return &httpbody.HttpBody{ContentType: "application/pdf", Data: b}, nil
}

// intakeStatus passes intake's refusal on as it is (NotFound for a case
// the caller may not see, InvalidArgument...), and says which service is
// down when intake cannot be reached.
func (s *Forms) intakeStatus(ctx context.Context, err error) error {
	st, ok := status.FromError(err)
	if !ok {
		s.Log.ErrorContext(ctx, "read case for a form", "err", err)
		return status.Error(codes.Internal, "internal error")
	}
	switch st.Code() {
	case codes.Unavailable, codes.DeadlineExceeded:
		s.Log.WarnContext(ctx, "intake unreachable for a form", "code", st.Code().String())
		return status.Error(codes.Unavailable, "the case service (intake) is unavailable; try again")
	case codes.Internal, codes.Unknown, codes.Unauthenticated:
		s.Log.ErrorContext(ctx, "intake refused a form's read", "code", st.Code().String())
		return status.Error(codes.Internal, "internal error")
	default:
		return st.Err()
	}
}

func (s *Forms) renderStatus(ctx context.Context, err error) error {
	if errors.Is(err, forms.ErrNoFont) {
		return status.Error(codes.Unavailable, "PDF forms are unavailable: no CJK font configured (FORMS_FONT_FILE)")
	}
	s.Log.ErrorContext(ctx, "render form", "err", err)
	return status.Error(codes.Internal, "internal error")
}

func at(ts *timestamppb.Timestamp) time.Time {
	if ts == nil {
		return time.Time{}
	}
	return ts.AsTime()
}

// formCase fills a form from the case as intake showed it to the caller.
func formCase(bank string, c *intakev1.Case, hist []*intakev1.HistoryEntry) forms.Case {
	cu := c.GetCustomer()
	f := forms.Case{
		Number: c.GetCaseNumber(), Bank: bank, Branch: c.GetBranchId(), Region: c.GetRegionId(),
		Channel: forms.Label(c.GetChannel().String()), Category: forms.Label(c.GetCategory().String()),
		Severity: forms.Label(c.GetSeverity().String()), Status: forms.Label(c.GetStatus().String()),
		Summary: c.GetSummary(), Description: c.GetDescription(),
		OccurredAt: at(c.GetOccurredAt()), ReceivedAt: at(c.GetReceivedAt()), RegisteredAt: at(c.GetCreatedAt()),
		ReportedBy: c.GetReportedBy(), Owner: c.GetOwnerId(),
		CustomerName: cu.GetName(), CustomerID: cu.GetIdNumber(), CustomerPhone: cu.GetPhone(),
		CustomerAccount: cu.GetAccountNumber(), CustomerTier: forms.Label(cu.GetTier().String()),
	}
	if f.Owner == "" && c.GetOwnerRole() != "" {
		f.Owner = c.GetOwnerRole()
	}
	if v := c.GetVerification(); v != nil {
		f.Finding, f.VerifiedBy, f.VerifiedAt = v.GetFinding(), v.GetVerifiedBy(), at(v.GetVerifiedAt())
		f.Departments = strings.Join(v.GetDepartments(), "、")
		if !f.VerifiedAt.IsZero() {
			f.Substantiated = map[bool]string{true: "属实", false: "不属实"}[v.GetSubstantiated()]
		}
	}
	if a := c.GetAnswer(); a != nil {
		f.Answer, f.AnsweredBy, f.AnsweredAt = a.GetText(), a.GetAnsweredBy(), at(a.GetAnsweredAt())
		f.RootCause = forms.Label(a.GetRootCause().String())
		if comp := a.GetCompensation(); comp != nil && comp.GetKind() != casesv1.CompensationKind_COMPENSATION_KIND_UNSPECIFIED {
			f.Compensation = forms.Label(comp.GetKind().String())
			if comp.GetAmountFen() > 0 {
				f.Compensation += fmt.Sprintf(" %s 元", yuan(comp.GetAmountFen()))
			}
			if comp.GetApprovedBy() != "" {
				f.Compensation += "，审批人 " + comp.GetApprovedBy()
			}
		}
	}
	if rv := c.GetReturnVisit(); rv != nil {
		if rv.GetSatisfaction() > 0 {
			f.Satisfaction = strconv.Itoa(int(rv.GetSatisfaction())) + " / 5"
		}
		f.VisitComment = rv.GetComment()
	}
	for _, h := range hist {
		what := h.GetAction()
		if what == "" {
			what = h.GetKind()
		}
		text := h.GetText()
		if h.GetKind() == "handover" && h.GetOwnerId() != "" {
			text = strings.TrimSpace("移交给 " + h.GetOwnerId() + " " + text)
		}
		if h.GetToStatus() != casesv1.CaseStatus_CASE_STATUS_UNSPECIFIED && h.GetFromStatus() != h.GetToStatus() {
			text = strings.TrimSpace(fmt.Sprintf("%s → %s %s", forms.Label(h.GetFromStatus().String()),
				forms.Label(h.GetToStatus().String()), text))
		}
		f.Steps = append(f.Steps, forms.Step{At: at(h.GetAt()), What: forms.Label(what), Actor: h.GetActorId(), Text: text})
	}
	return f
}

func yuan(fen int64) string { return fmt.Sprintf("%d.%02d", fen/100, fen%100) }
