package reportgrpc_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	casesv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/cases/v1"
	intakev1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/intake/v1"
	reportingv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/reporting/v1"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/services/reporting/internal/forms"
	"github.com/counterdesk/counterdesk/services/reporting/internal/reportgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

const caseID = "0193f5c2-7a10-7c3e-9d7e-4d1f2a3b4c5d"

// intake answers one case to whoever forwards a bearer token, NotFound to
// anything else, as the real intake does for a case outside the caller's
// scope; it records the token it was given.
type intake struct {
	gotAuth []string
	down    bool
}

func (i *intake) check(ctx context.Context, id string) error {
	md, _ := metadata.FromOutgoingContext(ctx)
	i.gotAuth = append(i.gotAuth, md.Get("authorization")...)
	if i.down {
		return status.Error(codes.Unavailable, "connection refused")
	}
	if id != caseID || len(md.Get("authorization")) == 0 {
		return status.Error(codes.NotFound, "case not found")
	}
	return nil
}

func (i *intake) GetCase(ctx context.Context, in *intakev1.GetCaseRequest, _ ...grpc.CallOption) (*intakev1.GetCaseResponse, error) {
	if err := i.check(ctx, in.GetCaseId()); err != nil {
		return nil, err
	}
	return &intakev1.GetCaseResponse{Case: &intakev1.Case{
		Id: caseID, CaseNumber: "CD-20261123-000042", BranchId: "b1", RegionId: "r1",
		Channel: casesv1.Channel_CHANNEL_PHONE, Category: casesv1.Category_CATEGORY_FEE_DISPUTE,
		Severity: casesv1.Severity_SEVERITY_NORMAL, Status: casesv1.CaseStatus_CASE_STATUS_HANDLING,
		Summary: "手续费扣收有异议", Customer: &intakev1.Customer{Name: "李*", Phone: "139****0000"},
		CreatedAt: timestamppb.New(asOf),
	}}, nil
}

func (i *intake) GetCaseHistory(ctx context.Context, in *intakev1.GetCaseHistoryRequest, _ ...grpc.CallOption) (*intakev1.GetCaseHistoryResponse, error) {
	if err := i.check(ctx, in.GetCaseId()); err != nil {
		return nil, err
	}
	return &intakev1.GetCaseHistoryResponse{CaseId: caseID, Entries: []*intakev1.HistoryEntry{
		{Seq: 1, At: timestamppb.New(asOf), Kind: "registered", ActorId: "t-1"},
		{Seq: 2, At: timestamppb.New(asOf.Add(time.Hour)), Kind: "step", Action: "startVerification", ActorId: "cm-1",
			FromStatus: casesv1.CaseStatus_CASE_STATUS_REPORTED, ToStatus: casesv1.CaseStatus_CASE_STATUS_VERIFYING},
	}}, nil
}

// withToken is a call as the gateway makes it: the caller authenticated,
// their bearer token in the incoming metadata.
func withToken(role auth.Role) context.Context {
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer tok-"+string(role)))
	return auth.WithPrincipal(ctx, auth.Principal{Tenant: "bank-a", Subject: "u", Role: role, Branch: "b1", Region: "r1"})
}

func formsServer(t *testing.T, in *intake) *reportgrpc.Forms {
	t.Helper()
	r, err := forms.NewRenderer(forms.DefaultFontFile, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	return &reportgrpc.Forms{Cases: in, Renderer: r, Now: func() time.Time { return asOf },
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

func TestCaseFormsAreReadFromIntakeOnTheCallersBehalf(t *testing.T) {
	tests := []struct {
		name   string
		ctx    context.Context
		caseID string
		down   bool
		want   codes.Code
	}{
		{name: "a regional supervisor gets the complaint sheet as a PDF", ctx: withToken(auth.RoleRegionalSupervisor), caseID: caseID, want: codes.OK},
		{name: "a case intake does not show the caller is not found", ctx: withToken(auth.RoleBranchHead), caseID: "0193f5c2-0000-7c3e-9d7e-4d1f2a3b4c5d", want: codes.NotFound},
		{name: "an SRE is denied before intake is asked", ctx: withToken(auth.RoleSRE), caseID: caseID, want: codes.PermissionDenied},
		{name: "a caller without a token is unauthenticated", ctx: context.Background(), caseID: caseID, want: codes.Unauthenticated},
		{name: "intake down is unavailable, naming intake", ctx: withToken(auth.RoleHeadOffice), caseID: caseID, down: true, want: codes.Unavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &intake{down: tt.down}
			s := formsServer(t, in)
			body, err := s.GetComplaintSheetPdf(tt.ctx, &reportingv1.GetComplaintSheetPdfRequest{CaseId: tt.caseID})
			if got := status.Code(err); got != tt.want {
				t.Fatalf("code = %v (%v), want %v", got, err, tt.want)
			}
			if tt.want == codes.PermissionDenied && len(in.gotAuth) > 0 {
				t.Errorf("intake was asked for a caller the role table refuses")
			}
			if tt.want != codes.OK {
				return
			}
			if body.GetContentType() != "application/pdf" || !bytes.HasPrefix(body.GetData(), []byte("%PDF-")) {
				t.Errorf("answer is %q starting %q, want a PDF", body.GetContentType(), body.GetData()[:min(8, len(body.GetData()))])
			}
			for _, a := range in.gotAuth {
				if a != "Bearer tok-regional_supervisor" {
					t.Errorf("intake was asked with authorization %q, want the caller's own token", a)
				}
			}
		})
	}
}

func TestFormsWithoutAFontAreUnavailable(t *testing.T) {
	s := &reportgrpc.Forms{Cases: &intake{}, Now: func() time.Time { return asOf }, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	_, err := s.GetRegisterEntryPdf(withToken(auth.RoleHeadOffice), &reportingv1.GetRegisterEntryPdfRequest{CaseId: caseID})
	if status.Code(err) != codes.Unavailable {
		t.Errorf("without a font: %v, want Unavailable naming FORMS_FONT_FILE", err)
	}
}
