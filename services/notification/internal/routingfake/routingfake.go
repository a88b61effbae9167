// Package routingfake is a stand-in for the routing API the notification
// service calls (GetEscalationContacts, with the service credential), for
// notification's own tests: a real gRPC service answering from what the
// test told it. It must run behind auth.UnaryServerInterceptor.
package routingfake

import (
	"context"
	"strings"
	"sync"

	routingv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/routing/v1"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// CauseHeader is routing's metadata naming the event a call alerts about.
const CauseHeader = "counterdesk-cause-event"

// Call is one GetEscalationContacts the stand-in answered.
type Call struct{ CaseID, Cause string }

// Server serves RoutingService.GetEscalationContacts.
type Server struct {
	routingv1.UnimplementedRoutingServiceServer
	mu     sync.Mutex
	cases  map[string]*routingv1.GetEscalationContactsResponse
	staff  map[string]*routingv1.StaffContact // by tenant + "/" + staff id
	branch map[string]string                  // their branch, by the same key
	calls  []Call
	fail   codes.Code
}

// New returns a stand-in that knows no case.
func New() *Server {
	return &Server{cases: map[string]*routingv1.GetEscalationContactsResponse{}, staff: map[string]*routingv1.StaffContact{},
		branch: map[string]string{}}
}

// SetStaff makes a bank's staff member of a branch known to GetStaffContacts.
func (s *Server) SetStaff(tenantID, branchID string, c *routingv1.StaffContact) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.staff[tenantID+"/"+c.GetStaffId()] = c
	s.branch[tenantID+"/"+c.GetStaffId()] = branchID
}

// GetStaffContacts answers only the notification service.
func (s *Server) GetStaffContacts(ctx context.Context, req *routingv1.GetStaffContactsRequest) (*routingv1.GetStaffContactsResponse, error) {
	if _, err := auth.RequireService(ctx, "notification"); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != codes.OK {
		return nil, status.Error(s.fail, "routing stand-in told to fail")
	}
	resp := &routingv1.GetStaffContactsResponse{}
	for _, id := range req.GetStaffIds() {
		if c, ok := s.staff[req.GetTenantId()+"/"+id]; ok {
			resp.Contacts = append(resp.Contacts, proto.CloneOf(c))
		}
	}
	if req.GetBranchId() != "" {
		for k, c := range s.staff {
			if strings.HasPrefix(k, req.GetTenantId()+"/") && c.GetRole() == req.GetRole() && s.branch[k] == req.GetBranchId() {
				resp.Contacts = append(resp.Contacts, proto.CloneOf(c))
			}
		}
	}
	return resp, nil
}

// Register adds the service to g.
func (s *Server) Register(g *grpc.Server) { routingv1.RegisterRoutingServiceServer(g, s) }

// Set makes a case's owners and the level above known.
func (s *Server) Set(caseID, branchID string, owners, above []*routingv1.StaffContact) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cases[caseID] = &routingv1.GetEscalationContactsResponse{CaseId: caseID, BranchId: branchID, Owners: owners, Above: above}
}

// FailWith makes every call fail with code until FailWith(codes.OK).
func (s *Server) FailWith(code codes.Code) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = code
}

// Calls returns the calls answered so far (refused ones included).
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// GetEscalationContacts answers only the notification service.
func (s *Server) GetEscalationContacts(ctx context.Context, req *routingv1.GetEscalationContactsRequest) (*routingv1.GetEscalationContactsResponse, error) {
	if _, err := auth.RequireService(ctx, "notification"); err != nil {
		return nil, err
	}
	md, _ := metadata.FromIncomingContext(ctx)
	cause := ""
	if v := md.Get(CauseHeader); len(v) > 0 {
		cause = v[0]
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, Call{CaseID: req.GetCaseId(), Cause: cause})
	if s.fail != codes.OK {
		return nil, status.Error(s.fail, "routing stand-in told to fail")
	}
	resp, ok := s.cases[req.GetCaseId()]
	if !ok {
		return nil, status.Error(codes.NotFound, "no assignment for this case")
	}
	return proto.CloneOf(resp), nil
}
