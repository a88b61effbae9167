// Package rectifygrpc serves the RectificationService API: it reads the
// caller from the request context, turns requests into the rectify domain's
// terms, and maps its errors to precise gRPC codes (InvalidArgument naming
// the field, PermissionDenied with the reason, NotFound, FailedPrecondition
// naming the current status). Database failures become Internal without
// their detail, which is logged instead.
package rectifygrpc

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	reportingv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/reporting/v1"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/services/platform/grpcserver"
	"github.com/counterdesk/counterdesk/services/reporting/internal/rectify"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Server implements reportingv1.RectificationServiceServer.
type Server struct {
	reportingv1.UnimplementedRectificationServiceServer
	Notices *rectify.Notices
	Log     *slog.Logger
}

// IssueRectificationNotice issues a notice. An Idempotency-Key (HTTP
// header, or gRPC metadata "idempotency-key") is optional: the same key
// from the same issuer with the same request returns the first notice.
func (s *Server) IssueRectificationNotice(ctx context.Context, req *reportingv1.IssueRectificationNoticeRequest) (*reportingv1.IssueRectificationNoticeResponse, error) {
	caller, err := auth.RequireTenant(ctx)
	if err != nil {
		return nil, err
	}
	n, err := s.Notices.Issue(ctx, caller, rectify.IssueRequest{
		BranchID: req.GetBranchId(), Department: req.GetDepartment(), Fault: req.GetFault(),
		CaseIDs: req.GetCaseIds(), DueDate: req.GetDueDate(), IdempotencyKey: idempotencyKey(ctx),
	})
	if err != nil {
		return nil, s.status(ctx, err)
	}
	return &reportingv1.IssueRectificationNoticeResponse{Notice: toProto(n, s.Notices.Now(), true)}, nil
}

// GetRectificationNotice returns one notice with its history.
func (s *Server) GetRectificationNotice(ctx context.Context, req *reportingv1.GetRectificationNoticeRequest) (*reportingv1.GetRectificationNoticeResponse, error) {
	caller, err := auth.RequireTenant(ctx)
	if err != nil {
		return nil, err
	}
	n, err := s.Notices.Get(ctx, caller, req.GetNoticeId())
	if err != nil {
		return nil, s.status(ctx, err)
	}
	return &reportingv1.GetRectificationNoticeResponse{Notice: toProto(n, s.Notices.Now(), true)}, nil
}

// ListRectificationNotices lists the notices the caller may see.
func (s *Server) ListRectificationNotices(ctx context.Context, req *reportingv1.ListRectificationNoticesRequest) (*reportingv1.ListRectificationNoticesResponse, error) {
	caller, err := auth.RequireTenant(ctx)
	if err != nil {
		return nil, err
	}
	lr := rectify.ListRequest{
		Status: filters[req.GetStatus()], BranchID: req.GetBranchId(), RegionID: req.GetRegionId(),
		PageSize: int(req.GetPageSize()),
	}
	fp := filterPrint(req)
	if req.GetPageToken() != "" {
		c, err := decodeToken(req.GetPageToken(), fp)
		if err != nil {
			return nil, grpcserver.FieldError("pageToken", err.Error())
		}
		lr.After = c
	}
	p, err := s.Notices.List(ctx, caller, lr)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	resp := &reportingv1.ListRectificationNoticesResponse{OverdueCount: p.OverdueCount, AsOf: timestamppb.New(p.AsOf)}
	for _, n := range p.Notices {
		resp.Notices = append(resp.Notices, toProto(n, p.AsOf, false))
	}
	if p.Next != nil {
		resp.NextPageToken = encodeToken(*p.Next, fp)
	}
	return resp, nil
}

// RecordMeasures records the branch's measures.
func (s *Server) RecordMeasures(ctx context.Context, req *reportingv1.RecordMeasuresRequest) (*reportingv1.RecordMeasuresResponse, error) {
	caller, err := auth.RequireTenant(ctx)
	if err != nil {
		return nil, err
	}
	n, err := s.Notices.RecordMeasures(ctx, caller, req.GetNoticeId(), req.GetMeasures())
	if err != nil {
		return nil, s.status(ctx, err)
	}
	return &reportingv1.RecordMeasuresResponse{Notice: toProto(n, s.Notices.Now(), true)}, nil
}

// CloseRectificationNotice closes a notice.
func (s *Server) CloseRectificationNotice(ctx context.Context, req *reportingv1.CloseRectificationNoticeRequest) (*reportingv1.CloseRectificationNoticeResponse, error) {
	caller, err := auth.RequireTenant(ctx)
	if err != nil {
		return nil, err
	}
	n, err := s.Notices.Close(ctx, caller, req.GetNoticeId(), req.GetComment())
	if err != nil {
		return nil, s.status(ctx, err)
	}
	return &reportingv1.CloseRectificationNoticeResponse{Notice: toProto(n, s.Notices.Now(), true)}, nil
}

func idempotencyKey(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get("idempotency-key"); len(v) > 0 {
		return v[0]
	}
	return ""
}

var filters = map[reportingv1.RectificationFilter]rectify.Filter{
	reportingv1.RectificationFilter_RECTIFICATION_FILTER_UNSPECIFIED: rectify.FilterAll,
	reportingv1.RectificationFilter_RECTIFICATION_FILTER_OPEN:        rectify.FilterOpen,
	reportingv1.RectificationFilter_RECTIFICATION_FILTER_OVERDUE:     rectify.FilterOverdue,
	reportingv1.RectificationFilter_RECTIFICATION_FILTER_CLOSED:      rectify.FilterClosed,
}

var statuses = map[rectify.Status]reportingv1.RectificationStatus{
	rectify.StatusIssued:           reportingv1.RectificationStatus_RECTIFICATION_STATUS_ISSUED,
	rectify.StatusMeasuresRecorded: reportingv1.RectificationStatus_RECTIFICATION_STATUS_MEASURES_RECORDED,
	rectify.StatusClosed:           reportingv1.RectificationStatus_RECTIFICATION_STATUS_CLOSED,
}

func toProto(n rectify.Notice, now time.Time, history bool) *reportingv1.RectificationNotice {
	p := &reportingv1.RectificationNotice{
		Id: n.ID, BranchId: n.BranchID, RegionId: n.RegionID, Department: n.Department, Fault: n.Fault,
		CaseIds: n.CaseIDs, DueDate: n.DueDate, DueAt: timestamppb.New(n.DueAt), Status: statuses[n.Status],
		Overdue: n.Overdue(now), IssuedBy: n.IssuedBy, IssuedAt: timestamppb.New(n.IssuedAt),
		Measures: n.Measures, MeasuresBy: n.MeasuresBy, MeasuresAt: ts(n.MeasuresAt),
		ClosedBy: n.ClosedBy, ClosedAt: ts(n.ClosedAt), ClosingComment: n.ClosingComment,
	}
	if history {
		for _, h := range n.History {
			p.History = append(p.History, &reportingv1.RectificationHistoryEntry{
				Action: string(h.Action), ActorId: h.ActorID, ActorRole: string(h.ActorRole), At: timestamppb.New(h.At),
				FromStatus: statuses[h.From], ToStatus: statuses[h.To],
			})
		}
	}
	return p
}

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// A page token is the last notice's position and a digest of the filter
// it was given for, so that it cannot continue another list.
type token struct {
	DueAt  string `json:"d"`
	ID     string `json:"i"`
	Filter string `json:"f"`
}

func filterPrint(req *reportingv1.ListRectificationNoticesRequest) string {
	sum := sha256.Sum256([]byte(req.GetStatus().String() + "\x00" + req.GetBranchId() + "\x00" + req.GetRegionId()))
	return hex.EncodeToString(sum[:8])
}

func encodeToken(c rectify.Cursor, fp string) string {
	b, _ := json.Marshal(token{DueAt: c.DueAt, ID: c.ID, Filter: fp})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeToken(s, fp string) (*rectify.Cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	var t token
	if err != nil || json.Unmarshal(b, &t) != nil || t.ID == "" {
		return nil, errors.New("not a token this list gave")
	}
	if t.Filter != fp {
		return nil, errors.New("given for another filter")
	}
	return &rectify.Cursor{DueAt: t.DueAt, ID: t.ID}, nil
}

// status maps a domain error to the gRPC status the caller should see.
func (s *Server) status(ctx context.Context, err error) error {
	var fe *rectify.FieldError
	var se *rectify.StepError
	switch {
	case errors.As(err, &fe):
		return grpcserver.FieldError(fe.Field, fe.Description)
	case errors.As(err, &se):
		st, _ := status.New(codes.FailedPrecondition, se.Error()).WithDetails(&errdetails.PreconditionFailure{
			Violations: []*errdetails.PreconditionFailure_Violation{{
				Type: "RECTIFICATION_STATUS", Subject: statuses[se.Current].String(),
				Description: string(se.Action) + " needs " + statuses[se.Needs].String(),
			}},
		})
		return st.Err()
	case errors.Is(err, rectify.ErrPermissionDenied):
		return status.Error(codes.PermissionDenied, err.Error())
	case errors.Is(err, rectify.ErrNotFound):
		return status.Error(codes.NotFound, "rectification notice not found")
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "request cancelled")
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "deadline exceeded")
	default:
		s.Log.ErrorContext(ctx, "rectification request failed", "err", err)
		return status.Error(codes.Internal, "internal error")
	}
}
