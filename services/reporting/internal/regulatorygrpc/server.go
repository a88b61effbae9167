// Package regulatorygrpc serves the RegulatoryService API over gRPC (and
// through the gateway as HTTP/JSON), and the same quarterly report as file
// downloads on the reporting HTTP server (GET
// /v1/reports/regulatory/quarterly.csv and .xlsx): grpc-gateway answers
// JSON, so the files are plain HTTP handlers on the gateway's mux, behind
// the same credential check, asking the same domain with the same access
// rules. Domain errors map to precise codes; database failures become
// Internal without their detail, which is logged instead.
package regulatorygrpc

import (
	"context"
	"errors"
	"log/slog"

	reportingv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/reporting/v1"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/services/platform/grpcserver"
	"github.com/counterdesk/counterdesk/services/reporting/internal/regulatory"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Server implements reportingv1.RegulatoryServiceServer.
type Server struct {
	reportingv1.UnimplementedRegulatoryServiceServer
	Reports *regulatory.Reports
	Log     *slog.Logger
}

// GetQuarterlyReport counts one quarter for the caller.
func (s *Server) GetQuarterlyReport(ctx context.Context, req *reportingv1.GetQuarterlyReportRequest) (*reportingv1.GetQuarterlyReportResponse, error) {
	caller, err := auth.RequireTenant(ctx)
	if err != nil {
		return nil, err
	}
	r, err := s.Reports.Quarterly(ctx, caller, regulatory.Request{
		Year: int(req.GetYear()), Quarter: int(req.GetQuarter()), Region: req.GetRegionId(), Branch: req.GetBranchId(),
	})
	if err != nil {
		return nil, statusOf(ctx, s.Log, err)
	}
	return toProto(r), nil
}

func toProto(r regulatory.Report) *reportingv1.GetQuarterlyReportResponse {
	return &reportingv1.GetQuarterlyReportResponse{
		Year: int32(r.Year), Quarter: int32(r.Quarter), From: timestamppb.New(r.From), To: timestamppb.New(r.To),
		TimeZone: r.Zone, Total: figures(r.Total), ByBusinessLine: rows(r.ByBusinessLine),
		ByChannel: rows(r.ByChannel), ByRootCause: rows(r.ByRootCause),
		RegionId: r.Region, BranchId: r.Branch, AsOf: timestamppb.New(r.AsOf),
	}
}

func figures(f regulatory.Figures) *reportingv1.RegulatoryFigures {
	return &reportingv1.RegulatoryFigures{
		Received: f.Received, Decided: f.Decided, DecidedWithin_15Days: f.Within15, DecidedWithin_30Days: f.Within30,
		DecidedWithin_60Days: f.Within60, DecidedAfter_60Days: f.After60, Pending: f.Pending, Extended: f.Extended,
		UnderReview: f.UnderReview, Withdrawn: f.Withdrawn,
	}
}

func rows(rs []regulatory.Row) []*reportingv1.RegulatoryBreakdownRow {
	out := make([]*reportingv1.RegulatoryBreakdownRow, len(rs))
	for i, r := range rs {
		out[i] = &reportingv1.RegulatoryBreakdownRow{Key: r.Key, Label: r.Label, Figures: figures(r.Figures)}
	}
	return out
}

// statusOf maps a domain error to the gRPC status the caller should see.
func statusOf(ctx context.Context, log *slog.Logger, err error) error {
	var fe *regulatory.FieldError
	switch {
	case errors.As(err, &fe):
		return grpcserver.FieldError(fe.Field, fe.Description)
	case errors.Is(err, regulatory.ErrPermissionDenied):
		return status.Error(codes.PermissionDenied, err.Error())
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "request cancelled")
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "deadline exceeded")
	default:
		log.ErrorContext(ctx, "regulatory report failed", "err", err)
		return status.Error(codes.Internal, "internal error")
	}
}
