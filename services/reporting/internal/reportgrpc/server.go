// Package reportgrpc serves the ReportingService API: it reads the caller
// from the request context, turns requests into report filters, asks the
// report domain, and maps its errors to precise gRPC codes (InvalidArgument
// naming the field, PermissionDenied with the reason). Database failures
// become Internal without their detail, which is logged instead.
package reportgrpc

import (
	"context"
	"errors"
	"log/slog"
	"time"

	reportingv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/reporting/v1"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/services/platform/grpcserver"
	"github.com/counterdesk/counterdesk/services/reporting/internal/report"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Server implements reportingv1.ReportingServiceServer.
type Server struct {
	reportingv1.UnimplementedReportingServiceServer
	Reports *report.Reports
	Log     *slog.Logger
	// Zone is the reporting zone hours and months are counted in.
	Zone *time.Location
}

// GetSummary counts the cases the caller may see.
func (s *Server) GetSummary(ctx context.Context, req *reportingv1.GetSummaryRequest) (*reportingv1.GetSummaryResponse, error) {
	caller, err := auth.RequireTenant(ctx)
	if err != nil {
		return nil, err
	}
	f := report.Filter{Branch: req.GetBranchId()}
	if f.From, err = optionalTime("from", req.GetFrom()); err != nil {
		return nil, err
	}
	if f.To, err = optionalTime("to", req.GetTo()); err != nil {
		return nil, err
	}
	sum, err := s.Reports.Summary(ctx, caller, f)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	return &reportingv1.GetSummaryResponse{
		Total:        sum.Total,
		ByStatus:     sum.ByStatus,
		ByCategory:   sum.ByCategory,
		BySeverity:   sum.BySeverity,
		ByChannel:    sum.ByChannel,
		ByBranch:     sum.ByBranch,
		Unassigned:   sum.Unassigned,
		Acknowledged: sum.Acknowledged,
		Breaches:     sum.Breaches,
		AsOf:         timestamppb.New(sum.AsOf),
	}, nil
}

func optionalTime(field string, ts *timestamppb.Timestamp) (time.Time, error) {
	if ts == nil {
		return time.Time{}, nil
	}
	if err := ts.CheckValid(); err != nil {
		return time.Time{}, grpcserver.FieldError(field, "not a valid timestamp")
	}
	return ts.AsTime(), nil
}

// status maps a domain error to the gRPC status the caller should see.
func (s *Server) status(ctx context.Context, err error) error {
	var fe *report.FieldError
	switch {
	case errors.As(err, &fe):
		return grpcserver.FieldError(fe.Field, fe.Description)
	case errors.Is(err, report.ErrNotFound):
		return status.Error(codes.NotFound, "case not found")
	case errors.Is(err, report.ErrPermissionDenied):
		return status.Error(codes.PermissionDenied, err.Error())
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "request cancelled")
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "deadline exceeded")
	default:
		s.Log.ErrorContext(ctx, "report failed", "err", err)
		return status.Error(codes.Internal, "internal error")
	}
}
