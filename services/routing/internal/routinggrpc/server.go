// Package routinggrpc serves routing's gRPC API (and through the gateway its
// HTTP/JSON API): branch look-ups, live queues, ownership records and org
// import.
package routinggrpc

import (
	"context"
	"encoding/base64"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/counterdesk/counterdesk/proto/gen/counterdesk/routing/v1"
	"github.com/counterdesk/counterdesk/services/platform/grpcserver"
	"github.com/counterdesk/counterdesk/services/routing/internal/routing"
	"github.com/counterdesk/counterdesk/services/routing/internal/routingpg"
	"github.com/counterdesk/counterdesk/services/routing/internal/routingredis"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// KnownCalendars are the business calendars slatimer ships.
var KnownCalendars = []string{"cn"}

// Server implements RoutingService.
type Server struct {
	routingv1.UnimplementedRoutingServiceServer
	Store  *routingpg.Store
	Queues *routingredis.Queues
}

func (s *Server) GetBranch(ctx context.Context, req *routingv1.GetBranchRequest) (*routingv1.GetBranchResponse, error) {
	p, err := authorize(ctx, actReadBranch)
	if err != nil {
		return nil, err
	}
	b, err := s.Store.Branch(ctx, nil, p.Tenant, req.GetBranchId())
	if errors.Is(err, routingpg.ErrNotFound) || (err == nil && !p.CanSeeBranch(b.ID, b.Region)) {
		return nil, status.Error(codes.NotFound, "branch not found")
	}
	if err != nil {
		return nil, err
	}
	resp := &routingv1.GetBranchResponse{Branch: &routingv1.Branch{Id: b.ID, RegionId: b.Region, Name: b.Name, TimeZone: b.TimeZone, CalendarId: b.CalendarID}}
	if cm, ok := b.ComplaintManager(); ok {
		resp.ComplaintManagerId = cm.ID
	}
	for _, m := range b.Staff {
		if m.Active {
			resp.StaffIds = append(resp.StaffIds, m.ID)
		}
	}
	return resp, nil
}

func (s *Server) GetQueue(ctx context.Context, req *routingv1.GetQueueRequest) (*routingv1.GetQueueResponse, error) {
	p, err := authorize(ctx, actReadQueue)
	if err != nil {
		return nil, err
	}
	b, err := s.Store.Branch(ctx, nil, p.Tenant, req.GetBranchId())
	if errors.Is(err, routingpg.ErrNotFound) || (err == nil && !p.CanSeeBranch(b.ID, b.Region)) {
		return nil, status.Error(codes.NotFound, "branch not found")
	}
	if err != nil {
		return nil, err
	}
	size := int(req.GetPageSize())
	if size == 0 {
		size = 100
	}
	var after routingredis.Cursor
	if t := req.GetPageToken(); t != "" {
		if after, err = decodeQueueToken(t); err != nil {
			return nil, grpcserver.FieldError("pageToken", "is not a token this API returned")
		}
	}
	entries, total, next, err := s.Queues.Page(ctx, p.Tenant, b.ID, after, size)
	if err != nil {
		return nil, status.Error(codes.Unavailable, "live queue unavailable")
	}
	resp := &routingv1.GetQueueResponse{BranchId: b.ID, Total: proto.Int32(int32(total))}
	for _, e := range entries {
		resp.Entries = append(resp.Entries, &routingv1.QueueEntry{CaseId: e.CaseID, OwnerId: e.Owner, EnqueuedAt: timestamppb.New(e.EnqueuedAt)})
	}
	if next.CaseID != "" {
		resp.NextPageToken = encodeQueueToken(next)
	}
	return resp, nil
}

func (s *Server) GetAssignment(ctx context.Context, req *routingv1.GetAssignmentRequest) (*routingv1.GetAssignmentResponse, error) {
	p, err := authorize(ctx, actReadAssignment)
	if err != nil {
		return nil, err
	}
	v, err := s.Store.Assignment(ctx, p.Tenant, req.GetCaseId())
	if errors.Is(err, routingpg.ErrNotFound) || (err == nil && !p.CanSeeBranch(v.Branch, v.Region)) {
		return nil, status.Error(codes.NotFound, "no assignment for this case")
	}
	if err != nil {
		return nil, err
	}
	resp := &routingv1.GetAssignmentResponse{CaseId: v.CaseID, BranchId: v.Branch, OwnerId: v.Owner, FirstResponderId: v.FirstResponder}
	for _, h := range v.Handovers {
		resp.Handovers = append(resp.Handovers, &routingv1.Handover{FromStaffId: h.From, ToStaffId: h.To, Reason: h.Reason, At: timestamppb.New(h.At)})
	}
	return resp, nil
}

var roleNames = map[routingv1.Role]string{
	routingv1.Role_ROLE_TELLER: "teller", routingv1.Role_ROLE_LOBBY_MANAGER: "lobby_manager",
	routingv1.Role_ROLE_COMPLAINT_MANAGER: "complaint_manager", routingv1.Role_ROLE_BRANCH_HEAD: "branch_head",
	routingv1.Role_ROLE_REGIONAL_SUPERVISOR: "regional_supervisor", routingv1.Role_ROLE_HEAD_OFFICE: "head_office",
	routingv1.Role_ROLE_TECH_SUPPORT: "tech_support", routingv1.Role_ROLE_COMPLIANCE: "compliance", routingv1.Role_ROLE_LEGAL: "legal",
}

func (s *Server) ImportOrg(ctx context.Context, req *routingv1.ImportOrgRequest) (*routingv1.ImportOrgResponse, error) {
	p, err := authorize(ctx, actImportOrg)
	if err != nil {
		return nil, err
	}
	var regions []routingpg.Region
	for _, r := range req.GetRegions() {
		regions = append(regions, routingpg.Region{ID: r.GetId(), Name: r.GetName()})
	}
	var branches []routing.Branch
	for i, b := range req.GetBranches() {
		tz, cal := b.GetTimeZone(), b.GetCalendarId()
		if tz == "" {
			tz = "Asia/Shanghai"
		}
		if cal == "" {
			cal = "cn"
		}
		// A branch whose clock slatimer cannot read would get cases with no
		// deadlines and no acknowledgment: refuse it here, where it is typed.
		if _, err := time.LoadLocation(tz); err != nil || tz == "Local" {
			return nil, grpcserver.FieldError("branches["+strconv.Itoa(i)+"].timeZone", "is not an IANA time zone name")
		}
		if !slices.Contains(KnownCalendars, cal) {
			return nil, grpcserver.FieldError("branches["+strconv.Itoa(i)+"].calendarId", "is not a calendar counterdesk has ("+strings.Join(KnownCalendars, ", ")+")")
		}
		branches = append(branches, routing.Branch{ID: b.GetId(), Region: b.GetRegionId(), Name: b.GetName(), TimeZone: tz, CalendarID: cal})
	}
	var staff []routing.Staff
	for i, m := range req.GetStaff() {
		role := roleNames[m.GetRole()]
		if m.GetBranchId() == "" && (role == "teller" || role == "lobby_manager" || role == "complaint_manager" || role == "branch_head") {
			return nil, grpcserver.FieldError("staff["+strconv.Itoa(i)+"].branchId", "is required for branch roles")
		}
		staff = append(staff, routing.Staff{ID: m.GetId(), Name: m.GetDisplayName(), Role: role, Branch: m.GetBranchId(),
			Region: m.GetRegionId(), AuthorityLevel: int(m.GetAuthorityLevel()), Active: true})
	}
	if err := s.Store.ImportOrg(ctx, p.Tenant, regions, branches, staff); err != nil {
		if errors.Is(err, routingpg.ErrNotFound) {
			return nil, status.Error(codes.FailedPrecondition, err.Error())
		}
		return nil, err
	}
	return &routingv1.ImportOrgResponse{Regions: int32(len(regions)), Branches: int32(len(branches)), Staff: int32(len(staff))}, nil
}

func encodeQueueToken(c routingredis.Cursor) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.Score, 10) + "|" + c.CaseID))
}

func decodeQueueToken(t string) (routingredis.Cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(t)
	if err != nil {
		return routingredis.Cursor{}, err
	}
	score, id, ok := strings.Cut(string(b), "|")
	if !ok || id == "" {
		return routingredis.Cursor{}, errors.New("malformed")
	}
	n, err := strconv.ParseInt(score, 10, 64)
	if err != nil {
		return routingredis.Cursor{}, err
	}
	return routingredis.Cursor{Score: n, CaseID: id}, nil
}

func (s *Server) RebuildQueues(ctx context.Context, _ *routingv1.RebuildQueuesRequest) (*routingv1.RebuildQueuesResponse, error) {
	p, err := authorize(ctx, actRebuildQueues)
	if err != nil {
		return nil, err
	}
	n, err := s.Queues.RebuildTenant(ctx, p.Tenant, func(put func(routing.Assignment) error) error {
		return s.Store.OpenAssignmentsOf(ctx, p.Tenant, put)
	})
	if err != nil {
		return nil, status.Error(codes.Unavailable, "live queues unavailable; retry")
	}
	return &routingv1.RebuildQueuesResponse{Queued: proto.Int32(int32(n))}, nil
}
