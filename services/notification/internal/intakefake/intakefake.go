// Package intakefake is a stand-in for the two intake APIs the notification
// service calls (GetCaseContact with the service credential, GetCase as the
// user), for notification's own tests. Its access rules are intake's reduced
// to tenant and branch; it must run behind auth.UnaryServerInterceptor.
package intakefake

import (
	"context"
	"sync"

	intakev1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/intake/v1"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Case is what the stand-in knows about one case.
type Case struct {
	Tenant, Branch, Region string
	Contact                *intakev1.GetCaseContactResponse
}

// Server serves IntakeService.GetCase and IntakeInternalService.GetCaseContact.
type Server struct {
	intakev1.UnimplementedIntakeServiceServer
	intakev1.UnimplementedIntakeInternalServiceServer
	mu    sync.Mutex
	cases map[string]Case
}

// New returns a stand-in that knows no case.
func New() *Server { return &Server{cases: map[string]Case{}} }

// Register adds both services to g.
func (s *Server) Register(g *grpc.Server) {
	intakev1.RegisterIntakeServiceServer(g, s)
	intakev1.RegisterIntakeInternalServiceServer(g, s)
}

// Add makes a case known.
func (s *Server) Add(id string, c Case) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cases[id] = c
}

// Case returns a known case.
func (s *Server) Case(id string) Case {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cases[id]
}

// GetCaseContact answers only the notification service.
func (s *Server) GetCaseContact(ctx context.Context, req *intakev1.GetCaseContactRequest) (*intakev1.GetCaseContactResponse, error) {
	if _, err := auth.RequireService(ctx, "notification"); err != nil {
		return nil, err
	}
	c, ok := s.lookup(req.GetCaseId())
	if !ok {
		return nil, status.Error(codes.NotFound, "no such case")
	}
	return c.Contact, nil
}

// GetCase hides other tenants' cases and refuses other branches' staff.
func (s *Server) GetCase(ctx context.Context, req *intakev1.GetCaseRequest) (*intakev1.GetCaseResponse, error) {
	p, _ := auth.FromContext(ctx)
	c, ok := s.lookup(req.GetCaseId())
	if !ok || c.Tenant != p.Tenant {
		return nil, status.Error(codes.NotFound, "no such case")
	}
	if !p.CanSeeBranch(c.Branch, c.Region) {
		return nil, status.Error(codes.PermissionDenied, "case outside your branch")
	}
	return &intakev1.GetCaseResponse{Case: &intakev1.Case{Id: req.GetCaseId(), TenantId: c.Tenant, BranchId: c.Branch, RegionId: c.Region}}, nil
}

func (s *Server) lookup(id string) (Case, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.cases[id]
	return c, ok
}
