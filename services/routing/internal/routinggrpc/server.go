// Package routinggrpc serves routing's gRPC API (and through the gateway its
// HTTP/JSON API): branch look-ups, live queues, ownership records and
// hand-overs, staff duty, routing rules and org import.
package routinggrpc

import (
	"context"
	"encoding/base64"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	casesv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/cases/v1"
	"github.com/counterdesk/counterdesk/proto/gen/counterdesk/routing/v1"
	"github.com/counterdesk/counterdesk/services/platform/auth"
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
	// Now is the service's clock; time.Now when nil.
	Now func() time.Time
	svc routing.Service
}

func (s *Server) now() time.Time {
	if s.Now == nil {
		return time.Now() //nolint:forbidigo // the default clock of a server built without one
	}
	return s.Now()
}

// visibleBranch returns a branch the caller may see, NotFound otherwise
// (another bank's or branch's looks exactly like a missing one); with its
// staff when withStaff.
func (s *Server) visibleBranch(ctx context.Context, p auth.Principal, id string, withStaff ...bool) (routing.Branch, error) {
	get := s.Store.BranchOnly
	if len(withStaff) > 0 && withStaff[0] {
		get = s.Store.Branch
	}
	b, err := get(ctx, p.Tenant, id)
	if errors.Is(err, routingpg.ErrNotFound) || (err == nil && !p.CanSeeBranch(b.ID, b.Region)) {
		return routing.Branch{}, status.Error(codes.NotFound, "branch not found")
	}
	return b, err
}

func (s *Server) GetBranch(ctx context.Context, req *routingv1.GetBranchRequest) (*routingv1.GetBranchResponse, error) {
	p, err := authorize(ctx, actReadBranch)
	if err != nil {
		return nil, err
	}
	b, err := s.visibleBranch(ctx, p, req.GetBranchId(), true)
	if err != nil {
		return nil, err
	}
	resp := &routingv1.GetBranchResponse{Branch: branchProto(b)}
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

func branchProto(b routing.Branch) *routingv1.Branch {
	out := &routingv1.Branch{Id: b.ID, RegionId: b.Region, Name: b.Name, TimeZone: b.TimeZone, CalendarId: b.CalendarID}
	for _, h := range b.Hours {
		wd := make([]int32, len(h.Weekdays))
		for i, d := range h.Weekdays {
			wd[i] = int32(d)
		}
		out.OpeningHours = append(out.OpeningHours, &routingv1.OpeningPeriod{Weekdays: wd, Opens: h.Opens, Closes: h.Closes})
	}
	return out
}

func (s *Server) GetQueue(ctx context.Context, req *routingv1.GetQueueRequest) (*routingv1.GetQueueResponse, error) {
	p, err := authorize(ctx, actReadQueue)
	if err != nil {
		return nil, err
	}
	b, err := s.visibleBranch(ctx, p, req.GetBranchId())
	if err != nil {
		return nil, err
	}
	size := int(req.GetPageSize())
	if size == 0 {
		size = 100
	}
	var owner *routing.Owner
	switch {
	case req.GetOwnerId() != "" && req.GetRole() != routingv1.Role_ROLE_UNSPECIFIED:
		return nil, grpcserver.FieldError("role", "ask for one owner's queue or one role queue, not both")
	case req.GetOwnerId() != "":
		owner = &routing.Owner{Staff: req.GetOwnerId()}
	case req.GetRole() != routingv1.Role_ROLE_UNSPECIFIED:
		owner = &routing.Owner{Role: roleNames[req.GetRole()]}
	}
	var after routingredis.Cursor
	if t := req.GetPageToken(); t != "" {
		if after, err = decodeQueueToken(t); err != nil {
			return nil, grpcserver.FieldError("pageToken", "is not a token this API returned")
		}
	}
	entries, total, next, err := s.Queues.Page(ctx, p.Tenant, b.ID, owner, after, size)
	if err != nil {
		return nil, status.Error(codes.Unavailable, "live queue unavailable")
	}
	loads, err := s.Queues.Loads(ctx, p.Tenant, b.ID)
	if err != nil {
		return nil, status.Error(codes.Unavailable, "live queue unavailable")
	}
	resp := &routingv1.GetQueueResponse{BranchId: b.ID, Total: proto.Int32(int32(total)), OpenByOwner: map[string]int32{}}
	for _, e := range entries {
		resp.Entries = append(resp.Entries, routingredis.EntryProto(e))
	}
	for o, n := range loads {
		k := o.Staff
		if o.IsRole() {
			k = routingpg.EventRole(o.Role)
		}
		resp.OpenByOwner[k] = int32(n)
	}
	if next.CaseID != "" {
		resp.NextPageToken = encodeQueueToken(next)
	}
	return resp, nil
}

// assignment reads a case's ownership for a caller who may see its branch.
func (s *Server) assignment(ctx context.Context, p auth.Principal, caseID string) (*routingv1.GetAssignmentResponse, error) {
	v, err := s.Store.Assignment(ctx, p.Tenant, caseID)
	if errors.Is(err, routingpg.ErrNotFound) || (err == nil && !p.CanSeeBranch(v.Branch, v.Region)) {
		return nil, status.Error(codes.NotFound, "no assignment for this case")
	}
	if err != nil {
		return nil, err
	}
	resp := &routingv1.GetAssignmentResponse{CaseId: v.CaseID, BranchId: v.Branch, OwnerId: v.Owner.Staff,
		OwnerRole: routingredis.RoleProto(v.Owner.Role), FirstResponderId: v.FirstResponder,
		PickupPending: v.PickupPending, Open: v.Open, Level: v.Level}
	for _, h := range v.Handovers {
		resp.Handovers = append(resp.Handovers, &routingv1.Handover{FromStaffId: h.From, ToStaffId: h.To, Reason: h.Reason,
			At: timestamppb.New(h.At), Kind: h.Kind, ActorId: h.Actor, ToRole: routingredis.RoleProto(h.ToRole), Note: h.Note})
	}
	return resp, nil
}

func (s *Server) GetAssignment(ctx context.Context, req *routingv1.GetAssignmentRequest) (*routingv1.GetAssignmentResponse, error) {
	p, err := authorize(ctx, actReadAssignment)
	if err != nil {
		return nil, err
	}
	return s.assignment(ctx, p, req.GetCaseId())
}

// handOver runs a hand-over for the caller on a case of a branch they may
// see, then brings the live queues up to date.
func (s *Server) handOver(ctx context.Context, caseID, note string, op func(routing.Actor, time.Time) routing.Op) (*routingv1.GetAssignmentResponse, error) {
	p, err := authorize(ctx, actHandOver)
	if err != nil {
		return nil, err
	}
	if _, err := s.assignment(ctx, p, caseID); err != nil {
		return nil, err
	}
	actor := routing.Actor{ID: p.Subject, Role: string(p.Role), Branch: p.Branch, Region: p.Region}
	err = s.Store.InTx(ctx, func(tx routing.Tx) error {
		_, err := s.svc.HandOver(ctx, tx, p.Tenant, caseID, p.Subject, note, op(actor, s.now()))
		return err
	})
	if err != nil {
		return nil, handoverError(err)
	}
	resp, err := s.assignment(ctx, p, caseID)
	if err != nil {
		return nil, err
	}
	s.sync(ctx, p.Tenant, caseID)
	return resp, nil
}

// sync brings a case's queue entries up to date after a committed change;
// when Redis fails the watcher rebuilds (Sync drops the marker).
func (s *Server) sync(ctx context.Context, tenant, caseID string) {
	if q, open, err := s.Store.Queued(ctx, tenant, caseID); err == nil {
		_ = s.Queues.Sync(ctx, q, open)
	}
}

func handoverError(err error) error {
	var code codes.Code
	switch {
	case errors.Is(err, routing.ErrNotFound):
		return status.Error(codes.NotFound, "no assignment for this case")
	case errors.Is(err, routing.ErrNotPermitted):
		code = codes.PermissionDenied
	case errors.Is(err, routing.ErrClosed), errors.Is(err, routing.ErrNothingToClaim), errors.Is(err, routing.ErrBadTarget),
		errors.Is(err, routing.ErrTopOfLadder), errors.Is(err, routing.ErrNothingToReturn):
		code = codes.FailedPrecondition
	default:
		return err
	}
	return status.Error(code, err.Error())
}

func (s *Server) ClaimCase(ctx context.Context, req *routingv1.ClaimCaseRequest) (*routingv1.ClaimCaseResponse, error) {
	a, err := s.handOver(ctx, req.GetCaseId(), "", func(actor routing.Actor, now time.Time) routing.Op {
		return func(p routing.Pool, c routing.Current) (routing.Assignment, error) {
			return routing.Claim(p, c, actor, now)
		}
	})
	if err != nil {
		return nil, err
	}
	return &routingv1.ClaimCaseResponse{Assignment: a}, nil
}

func (s *Server) TransferCase(ctx context.Context, req *routingv1.TransferCaseRequest) (*routingv1.TransferCaseResponse, error) {
	var to routing.Owner
	switch {
	case req.GetToStaffId() != "" && req.GetToRole() != routingv1.Role_ROLE_UNSPECIFIED:
		return nil, grpcserver.FieldError("toRole", "give toStaffId or toRole, not both")
	case req.GetToStaffId() != "":
		to.Staff = req.GetToStaffId()
	case req.GetToRole() != routingv1.Role_ROLE_UNSPECIFIED:
		to.Role = roleNames[req.GetToRole()]
	default:
		return nil, grpcserver.FieldError("toStaffId", "is required (or toRole): whom the case goes to")
	}
	a, err := s.handOver(ctx, req.GetCaseId(), req.GetReason(), func(actor routing.Actor, now time.Time) routing.Op {
		return func(p routing.Pool, c routing.Current) (routing.Assignment, error) {
			return routing.Transfer(p, c, actor, to, now)
		}
	})
	if err != nil {
		return nil, err
	}
	return &routingv1.TransferCaseResponse{Assignment: a}, nil
}

func (s *Server) EscalateCase(ctx context.Context, req *routingv1.EscalateCaseRequest) (*routingv1.EscalateCaseResponse, error) {
	dept := ""
	if d := req.GetToDepartment(); d != routingv1.Role_ROLE_UNSPECIFIED {
		dept = roleNames[d]
		if !routing.IsDepartment(dept) {
			return nil, grpcserver.FieldError("toDepartment", "must be ROLE_TECH_SUPPORT, ROLE_COMPLIANCE or ROLE_LEGAL")
		}
	}
	a, err := s.handOver(ctx, req.GetCaseId(), req.GetReason(), func(actor routing.Actor, now time.Time) routing.Op {
		return func(p routing.Pool, c routing.Current) (routing.Assignment, error) {
			return routing.Escalate(p, c, actor, dept, now)
		}
	})
	if err != nil {
		return nil, err
	}
	return &routingv1.EscalateCaseResponse{Assignment: a}, nil
}

func (s *Server) ReturnCase(ctx context.Context, req *routingv1.ReturnCaseRequest) (*routingv1.ReturnCaseResponse, error) {
	a, err := s.handOver(ctx, req.GetCaseId(), req.GetReason(), func(actor routing.Actor, now time.Time) routing.Op {
		return func(p routing.Pool, c routing.Current) (routing.Assignment, error) {
			return routing.Return(p, c, actor, now)
		}
	})
	if err != nil {
		return nil, err
	}
	return &routingv1.ReturnCaseResponse{Assignment: a}, nil
}

var roleNames = map[routingv1.Role]string{
	routingv1.Role_ROLE_TELLER: "teller", routingv1.Role_ROLE_LOBBY_MANAGER: "lobby_manager",
	routingv1.Role_ROLE_COMPLAINT_MANAGER: "complaint_manager", routingv1.Role_ROLE_BRANCH_HEAD: "branch_head",
	routingv1.Role_ROLE_REGIONAL_SUPERVISOR: "regional_supervisor", routingv1.Role_ROLE_HEAD_OFFICE: "head_office",
	routingv1.Role_ROLE_TECH_SUPPORT: "tech_support", routingv1.Role_ROLE_COMPLIANCE: "compliance", routingv1.Role_ROLE_LEGAL: "legal",
}

func staffProto(m routing.Staff) *routingv1.Staff {
	return &routingv1.Staff{Id: m.ID, DisplayName: m.Name, Role: routingredis.RoleProto(m.Role), BranchId: m.Branch,
		RegionId: m.Region, AuthorityLevel: int32(m.AuthorityLevel), Skills: m.Skills, OnDuty: proto.Bool(m.OnDuty),
		Active: m.Active, OpenCases: int32(m.Load), Email: m.Email}
}

func (s *Server) ListStaff(ctx context.Context, req *routingv1.ListStaffRequest) (*routingv1.ListStaffResponse, error) {
	p, err := authorize(ctx, actListStaff)
	if err != nil {
		return nil, err
	}
	b, err := s.visibleBranch(ctx, p, req.GetBranchId(), true)
	if err != nil {
		return nil, err
	}
	resp := &routingv1.ListStaffResponse{}
	for _, m := range b.Staff {
		resp.Staff = append(resp.Staff, staffProto(m))
	}
	return resp, nil
}

// mayManage: the caller may change this staff member's duty: themselves,
// their branch's head or complaint manager, their region's supervisor,
// head office.
func mayManage(p auth.Principal, m routing.Staff) bool {
	switch {
	case p.Subject == m.ID, p.Role == auth.RoleHeadOffice:
		return true
	case p.Role == auth.RoleBranchHead, p.Role == auth.RoleComplaintManager:
		return m.Branch != "" && p.Branch == m.Branch
	case p.Role == auth.RoleRegionalSupervisor:
		return m.Region != "" && p.Region == m.Region
	}
	return false
}

func (s *Server) SetDuty(ctx context.Context, req *routingv1.SetDutyRequest) (*routingv1.SetDutyResponse, error) {
	p, err := authorize(ctx, actSetDuty)
	if err != nil {
		return nil, err
	}
	m, n, err := s.setDuty(ctx, p, req.GetStaffId(), req.GetOnDuty(), false)
	if err != nil {
		return nil, err
	}
	return &routingv1.SetDutyResponse{Staff: staffProto(m), Rerouted: int32(n)}, nil
}

func (s *Server) DeactivateStaff(ctx context.Context, req *routingv1.DeactivateStaffRequest) (*routingv1.DeactivateStaffResponse, error) {
	p, err := authorize(ctx, actDeactivate)
	if err != nil {
		return nil, err
	}
	m, n, err := s.setDuty(ctx, p, req.GetStaffId(), false, true)
	if err != nil {
		return nil, err
	}
	return &routingv1.DeactivateStaffResponse{Staff: staffProto(m), Rerouted: int32(n)}, nil
}

// setDuty changes a staff member's duty and routes their open cases (and
// role queues left with nobody) again by the bank's rules, in one
// transaction, then updates the live queues.
func (s *Server) setDuty(ctx context.Context, p auth.Principal, id string, onDuty, deactivate bool) (routing.Staff, int, error) {
	m, err := s.Store.Staff(ctx, p.Tenant, id)
	if errors.Is(err, routingpg.ErrNotFound) || (err == nil && !deactivate && !mayManage(p, m)) {
		return routing.Staff{}, 0, status.Error(codes.NotFound, "no such staff member you may manage")
	}
	if err != nil {
		return routing.Staff{}, 0, err
	}
	var moved []string
	n := 0
	err = s.Store.InTxPg(ctx, func(tx routingpg.PgTx) error {
		ids, err := s.Store.SetDuty(ctx, tx.Pg, p.Tenant, m, onDuty, deactivate)
		if err != nil {
			return err
		}
		reason := routing.ReasonOffDuty
		if deactivate {
			reason = routing.ReasonDeactivated
		}
		n, err = s.svc.Reroute(ctx, tx.Tx, p.Tenant, ids, reason, s.now())
		moved = ids
		return err
	})
	if err != nil {
		return routing.Staff{}, 0, err
	}
	for _, c := range moved {
		s.sync(ctx, p.Tenant, c)
	}
	m, err = s.Store.Staff(ctx, p.Tenant, id)
	return m, n, err
}

func rulesProto(rs []routing.Rule) []*routingv1.RoutingRule {
	out := make([]*routingv1.RoutingRule, 0, len(rs))
	for _, r := range rs {
		pr := &routingv1.RoutingRule{Name: r.Name, Categories: r.Categories, Severities: r.Severities, Channels: r.Channels,
			CustomerTiers: r.CustomerTiers, RequiredSkill: r.RequiredSkill, OwnerRole: routingredis.RoleProto(r.OwnerRole),
			NotifyAtOnce: r.NotifyAtOnce}
		for _, n := range r.NotifyRoles {
			pr.NotifyRoles = append(pr.NotifyRoles, routingredis.RoleProto(n))
		}
		out = append(out, pr)
	}
	return out
}

func (s *Server) GetRoutingRules(ctx context.Context, _ *routingv1.GetRoutingRulesRequest) (*routingv1.GetRoutingRulesResponse, error) {
	p, err := authorize(ctx, actReadRules)
	if err != nil {
		return nil, err
	}
	rs, defaults, err := s.Store.Rules(ctx, p.Tenant)
	if err != nil {
		return nil, err
	}
	return &routingv1.GetRoutingRulesResponse{Rules: rulesProto(rs), Defaults: defaults}, nil
}

var (
	casesCategory = casesv1.Category_value
	casesSeverity = casesv1.Severity_value
	casesChannel  = casesv1.Channel_value
	casesTier     = casesv1.CustomerTier_value
)

// knownValues are the enum names rules may match on.
func knownValues() map[string][]string {
	names := func(prefix string, m map[string]int32) []string {
		var out []string
		for n, v := range m {
			if v != 0 && strings.HasPrefix(n, prefix) {
				out = append(out, n)
			}
		}
		slices.Sort(out)
		return out
	}
	return map[string][]string{
		"categories": names("CATEGORY_", casesCategory), "severities": names("SEVERITY_", casesSeverity),
		"channels": names("CHANNEL_", casesChannel), "customerTiers": names("CUSTOMER_TIER_", casesTier),
	}
}

func (s *Server) PutRoutingRules(ctx context.Context, req *routingv1.PutRoutingRulesRequest) (*routingv1.PutRoutingRulesResponse, error) {
	p, err := authorize(ctx, actPutRules)
	if err != nil {
		return nil, err
	}
	rules := make([]routing.Rule, 0, len(req.GetRules()))
	for _, r := range req.GetRules() {
		rule := routing.Rule{Name: r.GetName(), Categories: r.GetCategories(), Severities: r.GetSeverities(), Channels: r.GetChannels(),
			CustomerTiers: r.GetCustomerTiers(), RequiredSkill: r.GetRequiredSkill(), OwnerRole: roleNames[r.GetOwnerRole()],
			NotifyAtOnce: r.GetNotifyAtOnce()}
		for _, n := range r.GetNotifyRoles() {
			rule.NotifyRoles = append(rule.NotifyRoles, roleNames[n])
		}
		rules = append(rules, rule)
	}
	if err := routing.ValidateRules(rules, knownValues()); err != nil {
		var re *routing.RuleError
		if errors.As(err, &re) {
			return nil, grpcserver.FieldError(re.Field, re.Problem)
		}
		return nil, err
	}
	if err := s.Store.PutRules(ctx, p.Tenant, rules, p.Subject, s.now()); err != nil {
		return nil, err
	}
	return &routingv1.PutRoutingRulesResponse{Rules: rulesProto(rules)}, nil
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
		at := "branches[" + strconv.Itoa(i) + "]"
		// A branch whose clock slatimer cannot read would get cases with no
		// deadlines and no acknowledgment: refuse it here, where it is typed.
		if _, err := time.LoadLocation(tz); err != nil || tz == "Local" {
			return nil, grpcserver.FieldError(at+".timeZone", "is not an IANA time zone name")
		}
		if !slices.Contains(KnownCalendars, cal) {
			return nil, grpcserver.FieldError(at+".calendarId", "is not a calendar counterdesk has ("+strings.Join(KnownCalendars, ", ")+")")
		}
		hours, err := openingHours(at, b.GetOpeningHours())
		if err != nil {
			return nil, err
		}
		branches = append(branches, routing.Branch{ID: b.GetId(), Region: b.GetRegionId(), Name: b.GetName(), TimeZone: tz, CalendarID: cal, Hours: hours})
	}
	known := map[string]string{} // branch → region, of this import
	for _, b := range branches {
		known[b.ID] = b.Region
	}
	var staff []routing.Staff
	for i, m := range req.GetStaff() {
		role := roleNames[m.GetRole()]
		at := "staff[" + strconv.Itoa(i) + "]"
		if m.GetBranchId() == "" && routing.IsBranchRole(role) {
			return nil, grpcserver.FieldError(at+".branchId", "is required for branch roles")
		}
		if id := m.GetBranchId(); id != "" {
			region, ok := known[id]
			if !ok {
				b, err := s.Store.BranchOnly(ctx, p.Tenant, id)
				if errors.Is(err, routingpg.ErrNotFound) {
					return nil, grpcserver.FieldError(at+".branchId", "names no branch of this bank ("+id+")")
				}
				if err != nil {
					return nil, err
				}
				region, known[id] = b.Region, b.Region
			}
			if m.GetRegionId() != "" && m.GetRegionId() != region {
				return nil, grpcserver.FieldError(at+".regionId", "is not the region of branch "+id+" ("+region+")")
			}
		}
		staff = append(staff, routing.Staff{ID: m.GetId(), Name: m.GetDisplayName(), Role: role, Branch: m.GetBranchId(),
			Region: m.GetRegionId(), AuthorityLevel: int(m.GetAuthorityLevel()), Skills: m.GetSkills(),
			Email: m.GetEmail(), Active: true, OnDuty: m.OnDuty == nil || m.GetOnDuty()})
	}
	if err := s.Store.ImportOrg(ctx, p.Tenant, regions, branches, staff); err != nil {
		if errors.Is(err, routingpg.ErrNotFound) {
			return nil, status.Error(codes.FailedPrecondition, err.Error())
		}
		return nil, err
	}
	return &routingv1.ImportOrgResponse{Regions: int32(len(regions)), Branches: int32(len(branches)), Staff: int32(len(staff))}, nil
}

// openingHours checks a branch's periods: opens before closes, no two
// periods of one weekday overlapping.
func openingHours(at string, ps []*routingv1.OpeningPeriod) ([]routing.OpeningPeriod, error) {
	var out []routing.OpeningPeriod
	type span struct{ from, to string }
	byDay := map[int32][]span{}
	for i, h := range ps {
		field := at + ".openingHours[" + strconv.Itoa(i) + "]"
		if h.GetOpens() >= h.GetCloses() {
			return nil, grpcserver.FieldError(field+".closes", "must be after opens")
		}
		var days []int
		for _, d := range h.GetWeekdays() {
			for _, o := range byDay[d] {
				if h.GetOpens() < o.to && o.from < h.GetCloses() {
					return nil, grpcserver.FieldError(field, "overlaps another period on weekday "+strconv.Itoa(int(d)))
				}
			}
			byDay[d] = append(byDay[d], span{h.GetOpens(), h.GetCloses()})
			days = append(days, int(d))
		}
		out = append(out, routing.OpeningPeriod{Weekdays: days, Opens: h.GetOpens(), Closes: h.GetCloses()})
	}
	return out, nil
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
	n, err := s.Queues.RebuildTenant(ctx, p.Tenant, func(put func(routing.Queued) error) error {
		return s.Store.OpenAssignments(ctx, p.Tenant, put)
	})
	if err != nil {
		return nil, status.Error(codes.Unavailable, "live queues unavailable; retry")
	}
	return &routingv1.RebuildQueuesResponse{Queued: proto.Int32(int32(n))}, nil
}
