package reportgrpc_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	reportingv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/reporting/v1"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/services/reporting/internal/report"
	"github.com/counterdesk/counterdesk/services/reporting/internal/reportgrpc"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

type reader struct{ err error }

func (r reader) Summarize(context.Context, report.Query) (report.Summary, error) {
	return report.Summary{Total: 2, ByBranch: map[string]int64{"b1": 2}}, r.err
}

func (reader) BranchRegion(context.Context, string, string) (string, bool, error) {
	return "r9", true, nil
}

var asOf = time.Date(2025, 3, 3, 10, 0, 0, 0, time.UTC)

func server(err error) *reportgrpc.Server {
	return &reportgrpc.Server{
		Reports: &report.Reports{Store: reader{err}, Now: func() time.Time { return asOf }},
		Log:     slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

func as(role auth.Role) context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{Tenant: "bank-a", Subject: "u", Role: role, Branch: "b1", Region: "r1"})
}

func TestGetSummaryCodes(t *testing.T) {
	tests := []struct {
		name      string
		ctx       context.Context
		req       *reportingv1.GetSummaryRequest
		storeErr  error
		want      codes.Code
		wantField string
	}{
		{"head office gets the summary", as(auth.RoleHeadOffice), &reportingv1.GetSummaryRequest{}, nil, codes.OK, ""},
		{"a caller without a token is unauthenticated", context.Background(), &reportingv1.GetSummaryRequest{}, nil, codes.Unauthenticated, ""},
		{"an SRE is denied", as(auth.RoleSRE), &reportingv1.GetSummaryRequest{}, nil, codes.PermissionDenied, ""},
		{"a branch outside a supervisor's region is denied", as(auth.RoleRegionalSupervisor),
			&reportingv1.GetSummaryRequest{BranchId: "b9"}, nil, codes.PermissionDenied, ""},
		{"a window that ends before it starts names the field", as(auth.RoleHeadOffice),
			&reportingv1.GetSummaryRequest{From: timestamppb.New(asOf), To: timestamppb.New(asOf.Add(-time.Hour))}, nil, codes.InvalidArgument, "to"},
		{"an impossible timestamp names the field", as(auth.RoleHeadOffice),
			&reportingv1.GetSummaryRequest{From: &timestamppb.Timestamp{Nanos: -1}}, nil, codes.InvalidArgument, "from"},
		{"a database failure is internal and says nothing more", as(auth.RoleHeadOffice), &reportingv1.GetSummaryRequest{},
			errors.New("pq: relation cases_rm does not exist"), codes.Internal, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := server(tt.storeErr).GetSummary(tt.ctx, tt.req)
			st := status.Convert(err)
			if st.Code() != tt.want {
				t.Fatalf("code = %v (%v), want %v", st.Code(), err, tt.want)
			}
			if tt.want == codes.Internal && st.Message() != "internal error" {
				t.Fatalf("internal message leaks detail: %q", st.Message())
			}
			if tt.wantField != "" {
				var br *errdetails.BadRequest
				for _, d := range st.Details() {
					if b, ok := d.(*errdetails.BadRequest); ok {
						br = b
					}
				}
				if br == nil || len(br.GetFieldViolations()) != 1 || br.GetFieldViolations()[0].GetField() != tt.wantField {
					t.Fatalf("details = %v, want one violation on %s", st.Details(), tt.wantField)
				}
			}
			if tt.want == codes.OK && (resp.GetTotal() != 2 || resp.GetByBranch()["b1"] != 2 || !resp.GetAsOf().AsTime().Equal(asOf)) {
				t.Fatalf("response = %v", resp)
			}
		})
	}
}
