package routinggrpc

import (
	"context"
	"errors"
	"slices"
	"strings"

	routingv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/routing/v1"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/services/routing/internal/routing"
	"github.com/counterdesk/counterdesk/services/routing/internal/routingpg"
	"github.com/counterdesk/counterdesk/services/routing/internal/routingredis"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// contactReaders are the services that may ask whom to alert about a case:
// notification alone sends staff alerts. GetEscalationContacts is internal:
// it names services, never a role a bank could hold (not in roleTable).
var contactReaders = []string{"notification"}

// CauseHeader is optional gRPC metadata of GetEscalationContacts naming the
// event the caller alerts about (a DeadlineBreached's event id). routing
// escalates on that same event, and the caller may ask before or after it
// did: once routing has moved the case for the event, the answer is as the
// case stood just before (the owner it breached with, and whom routing gave
// it to), so it reads the same either way.
const CauseHeader = "counterdesk-cause-event"

// GetEscalationContacts returns whom to tell about a case's deadline: its
// owner (the available staff of the role queue while it waits in one) and
// the level above, whom routing would escalate it to now (nobody at head
// office). Caller: the notification service only, for itself (any bank:
// case ids are unique across banks) or for a caller it forwards (that
// caller's bank). A deactivated owner is nobody to tell.
func (s *Server) GetEscalationContacts(ctx context.Context, req *routingv1.GetEscalationContactsRequest) (*routingv1.GetEscalationContactsResponse, error) {
	tenant, err := contactsTenant(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.Store.Current(ctx, tenant, req.GetCaseId())
	if errors.Is(err, routingpg.ErrNotFound) {
		return nil, status.Error(codes.NotFound, "no assignment for this case")
	}
	if err != nil {
		return nil, err
	}
	p, err := s.Store.Pool(ctx, c.Tenant, c.Branch)
	if err != nil {
		return nil, err
	}
	resp := &routingv1.GetEscalationContactsResponse{CaseId: c.CaseID, BranchId: c.Branch}
	seen := map[string]bool{} // nobody is told twice
	add := func(to *[]*routingv1.StaffContact, m routing.Staff) {
		if seen[m.ID] {
			return
		}
		seen[m.ID] = true
		*to = append(*to, &routingv1.StaffContact{StaffId: m.ID, DisplayName: m.Name, Role: routingredis.RoleProto(m.Role), Email: m.Email})
	}

	if cause := causeOf(ctx); cause != "" {
		from, to, found, err := s.Store.HandoverCausedBy(ctx, c.CaseID, cause)
		if err != nil {
			return nil, err
		}
		if found {
			owners, _, err := s.owners(ctx, p, c.Tenant, from)
			if err != nil {
				return nil, err
			}
			for _, m := range owners {
				add(&resp.Owners, m)
			}
			above, _, err := s.owners(ctx, p, c.Tenant, to)
			if err != nil {
				return nil, err
			}
			for _, m := range above {
				add(&resp.Above, m)
			}
			return resp, nil
		}
	}

	owners, level, err := s.owners(ctx, p, c.Tenant, c.Owner)
	if err != nil {
		return nil, err
	}
	for _, m := range owners {
		add(&resp.Owners, m)
	}
	// The level the case stands at, as EscalateOnBreach counts it.
	if c.Owner.IsRole() || c.Level == "" {
		c.Level = level
	}
	if c.Level != routing.LevelHeadOffice {
		if m, ok := routing.NextUp(p, c.Level); ok {
			add(&resp.Above, m)
		}
	}
	return resp, nil
}

// owners are the people who own a case held by o: the staff member (if
// still active), or the available staff of the role queue; and the ladder
// level o stands at.
func (s *Server) owners(ctx context.Context, p routing.Pool, tenant string, o routing.Owner) ([]routing.Staff, string, error) {
	if o.IsRole() {
		var out []routing.Staff
		for _, m := range p.OfRole(o.Role) {
			if m.Available() {
				out = append(out, m)
			}
		}
		return out, routing.LevelOf(o.Role), nil
	}
	if o.Staff == "" {
		return nil, "", nil
	}
	m, ok := p.Find(o.Staff)
	if !ok {
		// Not of the branch's pool (moved elsewhere since): still the owner.
		var err error
		m, err = s.Store.Staff(ctx, tenant, o.Staff)
		if errors.Is(err, routingpg.ErrNotFound) {
			return nil, "", nil
		}
		if err != nil {
			return nil, "", err
		}
	}
	if !m.Active {
		return nil, routing.LevelOf(m.Role), nil
	}
	return []routing.Staff{m}, routing.LevelOf(m.Role), nil
}

// contactsTenant is the bank GetEscalationContacts may read for the caller:
// every bank for one of contactReaders calling for itself, the forwarded
// caller's bank when it calls for somebody. Anybody else is refused.
func contactsTenant(ctx context.Context) (string, error) {
	if p, err := auth.RequireService(ctx, contactReaders...); err == nil {
		return p.Tenant, nil
	}
	p, err := auth.RequireTenant(ctx)
	if err != nil {
		return "", err
	}
	if p.Role == auth.RoleService || !slices.Contains(contactReaders, auth.CallingService(ctx)) {
		return "", status.Error(codes.PermissionDenied, "this internal method is not open to the caller")
	}
	return p.Tenant, nil
}

func causeOf(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get(CauseHeader); len(v) > 0 {
		return strings.TrimSpace(v[0])
	}
	return ""
}

// GetStaffContacts returns the work contacts of the named staff of one bank:
// whom notification tells of an assignment (the new owner, the staff a rule
// names). Caller: the notification service only. Unknown and deactivated
// staff are left out; each person once.
func (s *Server) GetStaffContacts(ctx context.Context, req *routingv1.GetStaffContactsRequest) (*routingv1.GetStaffContactsResponse, error) {
	if _, err := auth.RequireService(ctx, contactReaders...); err != nil {
		return nil, status.Error(codes.PermissionDenied, "this internal method is not open to the caller")
	}
	resp := &routingv1.GetStaffContactsResponse{}
	seen := map[string]bool{}
	ids := req.GetStaffIds()
	switch {
	case len(ids) > 0 && (req.GetBranchId() != "" || req.GetRole() != routingv1.Role_ROLE_UNSPECIFIED):
		return nil, status.Error(codes.InvalidArgument, "staff_ids: name staff, or a branch_id and a role, not both")
	case len(ids) == 0 && (req.GetBranchId() == "" || req.GetRole() == routingv1.Role_ROLE_UNSPECIFIED):
		return nil, status.Error(codes.InvalidArgument, "staff_ids: name staff, or a branch_id and a role")
	case len(ids) == 0:
		p, err := s.Store.Pool(ctx, req.GetTenantId(), req.GetBranchId())
		if err != nil {
			return nil, err
		}
		role := strings.ToLower(strings.TrimPrefix(req.GetRole().String(), "ROLE_"))
		for _, m := range p.OfRole(role) {
			ids = append(ids, m.ID)
		}
	}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		m, err := s.Store.Staff(ctx, req.GetTenantId(), id)
		if errors.Is(err, routingpg.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if !m.Active {
			continue
		}
		resp.Contacts = append(resp.Contacts, &routingv1.StaffContact{StaffId: m.ID, DisplayName: m.Name,
			Role: routingredis.RoleProto(m.Role), Email: m.Email})
	}
	return resp, nil
}
