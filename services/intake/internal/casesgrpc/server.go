// Package casesgrpc serves intake's gRPC API (and through the gateway its
// HTTP/JSON API): it turns requests into domain calls and domain errors into
// precise status codes.
package casesgrpc

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/counterdesk/counterdesk/proto/gen/counterdesk/cases/v1"
	"github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	"github.com/counterdesk/counterdesk/proto/gen/counterdesk/intake/v1"
	"github.com/counterdesk/counterdesk/services/intake/internal/cases"
	"github.com/counterdesk/counterdesk/services/intake/internal/casespg"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/services/platform/eventbus"
	"github.com/counterdesk/counterdesk/services/platform/grpcserver"
	"github.com/counterdesk/counterdesk/services/platform/outbox"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// BranchLookup finds a branch of a tenant.
type BranchLookup interface {
	Get(ctx context.Context, tenant, id string) (cases.Branch, error)
}

// Server implements IntakeService and IntakeInternalService.
type Server struct {
	intakev1.UnimplementedIntakeServiceServer
	Store    *casespg.Store
	Branches BranchLookup
	// Owners gives GetCase the owner routing holds now; nil: intake's copy.
	Owners OwnerLookup
	// HashKey keys the HMAC of requests stored with idempotency keys.
	HashKey []byte
	Now     func() time.Time
}

// Internal is the internal API on the same store.
type Internal struct {
	intakev1.UnimplementedIntakeInternalServiceServer
	Store *casespg.Store
	Now   func() time.Time
}

func (s *Server) CreateCase(ctx context.Context, req *intakev1.CreateCaseRequest) (*intakev1.CreateCaseResponse, error) {
	caller, err := authorize(ctx, actCreateCase)
	if err != nil {
		return nil, err
	}
	key := idempotencyKey(ctx)
	if key == "" {
		return nil, grpcserver.FieldError("Idempotency-Key", "header is required (gRPC metadata idempotency-key)")
	}
	if len(key) > 128 {
		return nil, grpcserver.FieldError("Idempotency-Key", "must be at most 128 characters")
	}
	// A key belongs to the caller that used it: another teller (or system)
	// of the same bank using the same key gets its own case, and cannot
	// learn of, or block, the first caller's request by guessing keys.
	key = fmt.Sprintf("%d:%s:%s", len(caller.Subject), caller.Subject, key) // length-prefixed: no two (caller, key) pairs meet
	br, err := s.Branches.Get(ctx, caller.Tenant, req.GetBranchId())
	if err != nil {
		return nil, err
	}
	pol, _, err := s.Store.Settings(ctx, caller.Tenant)
	if err != nil {
		return nil, err
	}
	c, err := cases.PrepareWith(fromProto(req), br, caller, pol, s.Now())
	if err != nil {
		return nil, toStatus(err)
	}
	c.CustomerKey = s.customerKey(c.Tenant, c.Customer.IDNumber)
	stored, created, err := s.Store.Create(ctx, c, key, s.requestHash(caller, req), func(ctx context.Context, tx pgx.Tx, c cases.Case) error {
		return outbox.Add(ctx, tx, "intake", eventbus.TopicCaseEvents, caseCreated(c, br.Hours))
	})
	if err != nil {
		return nil, toStatus(err)
	}
	trace.SpanFromContext(ctx).SetAttributes(attribute.String("case.id", stored.ID), attribute.Bool("case.created", created))
	v, err := cases.View(stored, caller)
	if err != nil {
		// The caller created it but may not read it back (e.g. another branch): say only the id.
		return &intakev1.CreateCaseResponse{Case: &intakev1.Case{Id: stored.ID, CaseNumber: stored.Number}}, nil
	}
	return &intakev1.CreateCaseResponse{Case: toProto(v)}, nil
}

func (s *Server) GetCase(ctx context.Context, req *intakev1.GetCaseRequest) (*intakev1.GetCaseResponse, error) {
	caller, err := authorize(ctx, actReadCase)
	if err != nil {
		return nil, err
	}
	c, err := s.Store.Get(ctx, caller.Tenant, req.GetCaseId())
	if err != nil {
		return nil, toStatus(err)
	}
	v, err := cases.View(c, caller)
	if err != nil {
		return nil, toStatus(err)
	}
	// A person reading the customer's data in clear is audited, as the
	// notification service's reads are.
	if caller.IsStaff() && cases.SeesClear(c, caller) {
		if err := s.Store.RecordAccess(ctx, c, caller.Subject, "case read in clear by "+string(caller.Role), s.Now()); err != nil {
			return nil, fmt.Errorf("audit personal data read: %w", err)
		}
	}
	pc := toProto(v)
	if s.Owners != nil {
		if own, err := s.Owners.Owner(ctx, c.ID); err == nil {
			pc.OwnerId, pc.OwnerRole, pc.PickupPending = own.Owner, own.Role, own.Pending
		}
	}
	return &intakev1.GetCaseResponse{Case: pc}, nil
}

func (s *Server) ListCases(ctx context.Context, req *intakev1.ListCasesRequest) (*intakev1.ListCasesResponse, error) {
	caller, err := authorize(ctx, actReadCase)
	if err != nil {
		return nil, err
	}
	f := casespg.Filter{Tenant: caller.Tenant, Branch: req.GetBranchId(), Limit: int(req.GetPageSize()), Owner: req.GetOwnerId()}
	if f.Limit == 0 {
		f.Limit = 50
	}
	if v := req.GetStatus(); v != casesv1.CaseStatus_CASE_STATUS_UNSPECIFIED {
		f.Status = v.String()
	}
	if v := req.GetCategory(); v != casesv1.Category_CATEGORY_UNSPECIFIED {
		f.Category = v.String()
	}
	if v := req.GetSeverity(); v != casesv1.Severity_SEVERITY_UNSPECIFIED {
		f.Severity = v.String()
	}
	if req.Repeat != nil {
		f.Repeat = proto.Bool(req.GetRepeat())
	}
	if req.GetFrom() != nil {
		f.From = req.GetFrom().AsTime()
	}
	if req.GetTo() != nil {
		f.To = req.GetTo().AsTime()
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return nil, grpcserver.FieldError("to", "must be after from")
	}
	switch caller.Role {
	case auth.RoleRegionalSupervisor:
		f.Region = caller.Region
	case auth.RoleBankSystem, auth.RoleHeadOffice, auth.RoleCompliance, auth.RoleLegal, auth.RoleTechSupport:
	default:
		if f.Branch != "" && f.Branch != caller.Branch {
			return nil, status.Error(codes.PermissionDenied, "branchId: outside the caller's branch")
		}
		f.Branch = caller.Branch
	}
	bound := s.filterMAC(caller, f)
	if t := req.GetPageToken(); t != "" {
		at, id, mac, err := decodePageToken(t)
		if err != nil {
			return nil, grpcserver.FieldError("pageToken", "is not a token this API returned")
		}
		if !hmac.Equal(mac, bound) {
			return nil, grpcserver.FieldError("pageToken", "was issued for another filter (or caller): start again without it")
		}
		f.AfterTime, f.AfterID = at, id
	}
	// One more than asked tells whether another page follows.
	want := f.Limit
	f.Limit++
	list, err := s.Store.List(ctx, f)
	if err != nil {
		return nil, err
	}
	more := len(list) > want
	if more {
		list = list[:want]
	}
	resp := &intakev1.ListCasesResponse{More: proto.Bool(more)}
	var clear []cases.Case
	for _, c := range list {
		v, err := cases.View(c, caller)
		if err != nil {
			continue
		}
		if caller.IsStaff() && cases.SeesClear(c, caller) {
			clear = append(clear, c)
		}
		resp.Cases = append(resp.Cases, toProto(v))
	}
	// People listing cases in clear are audited, case by case, like reads.
	if err := s.Store.RecordAccesses(ctx, clear, caller.Subject, "case list read in clear by "+string(caller.Role), s.Now()); err != nil {
		return nil, fmt.Errorf("audit personal data read: %w", err)
	}
	if more {
		last := list[len(list)-1]
		resp.NextPageToken = encodePageToken(last.CreatedAt, last.ID, bound)
	}
	return resp, nil
}

// filterMAC binds a page token to the caller and the filter it pages
// through, so a token cannot be replayed with another filter (or by
// another caller) to page through something else.
func (s *Server) filterMAC(caller auth.Principal, f casespg.Filter) []byte {
	m := hmac.New(sha256.New, s.HashKey)
	repeat := "any"
	if f.Repeat != nil {
		repeat = fmt.Sprint(*f.Repeat)
	}
	fmt.Fprintf(m, "page\x00%s\x00%s\x00%s\x00%s\x00%s\x00%s\x00%s\x00%s\x00%s\x00%d\x00%d\x00%d\x00%s",
		caller.Tenant, caller.Subject, f.Branch, f.Region, f.Status, f.Category, f.Severity, f.Owner, caller.Role,
		f.From.UnixNano(), f.To.UnixNano(), f.Limit, repeat)
	return m.Sum(nil)[:12]
}

// GetCaseContact reveals a customer's contact details to another service.
func (s *Internal) GetCaseContact(ctx context.Context, req *intakev1.GetCaseContactRequest) (*intakev1.GetCaseContactResponse, error) {
	// Only notification writes to customers; no other service (and no
	// bank, whatever its token says) needs their contact details.
	caller, err := auth.RequireService(ctx, contactReaders...)
	if err != nil {
		return nil, err
	}
	c, err := s.Store.GetAnyTenant(ctx, req.GetCaseId())
	if err != nil {
		return nil, toStatus(err)
	}
	if err := s.Store.RecordAccess(ctx, c, caller.Subject, "notify customer", s.Now()); err != nil {
		return nil, fmt.Errorf("audit personal data read: %w", err)
	}
	return &intakev1.GetCaseContactResponse{
		CaseId: c.ID, CaseNumber: c.Number, TenantId: c.Tenant, CustomerName: c.Customer.Name,
		Email: c.Customer.Email, Phone: c.Customer.Phone, Language: c.Customer.Language,
		Answer:           answerText(c),
		PreferredChannel: intakev1.ContactChannel(intakev1.ContactChannel_value[c.Customer.PreferredChannel]),
	}, nil
}

func idempotencyKey(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get("idempotency-key"); len(v) > 0 {
		return strings.TrimSpace(v[0])
	}
	return ""
}

func (s *Server) requestHash(caller auth.Principal, req *intakev1.CreateCaseRequest) []byte {
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(req)
	m := hmac.New(sha256.New, s.HashKey)
	m.Write([]byte(caller.Subject + "\x00"))
	m.Write(b)
	return m.Sum(nil)
}

func toStatus(err error) error {
	var fe *cases.FieldError
	switch {
	case errors.As(err, &fe):
		return grpcserver.FieldError(fe.Field, fe.Reason)
	case errors.Is(err, cases.ErrNotFound):
		return status.Error(codes.NotFound, "case not found")
	case errors.Is(err, cases.ErrIdempotencyConflict):
		return status.Error(codes.AlreadyExists, "Idempotency-Key was already used for a different request")
	case errors.Is(err, cases.ErrForbidden):
		return status.Error(codes.PermissionDenied, "not allowed for this caller")
	}
	return err // the server's error interceptor logs it and answers Internal
}

func fromProto(r *intakev1.CreateCaseRequest) cases.New {
	c := r.GetCustomer()
	return cases.New{
		Branch: r.GetBranchId(), Channel: r.GetChannel().String(), Category: r.GetCategory().String(),
		Severity: r.GetSeverity().String(), Summary: r.GetSummary(), Description: r.GetDescription(),
		OccurredAt: r.GetOccurredAt().AsTime(), ReportedBy: r.GetReportedBy(), ReceivedAt: receivedAt(r),
		Customer: cases.Customer{Name: c.GetName(), IDNumber: c.GetIdNumber(), Phone: c.GetPhone(), Email: c.GetEmail(),
			Account: c.GetAccountNumber(), Tier: c.GetTier().String(), Language: c.GetLanguage(),
			PreferredChannel: c.GetPreferredChannel().String()},
	}
}

func toProto(c cases.Case) *intakev1.Case {
	pc := &intakev1.Case{
		Id: c.ID, CaseNumber: c.Number, TenantId: c.Tenant, BranchId: c.Branch, RegionId: c.Region,
		Channel:  casesv1.Channel(casesv1.Channel_value[c.Channel]),
		Category: casesv1.Category(casesv1.Category_value[c.Category]),
		Severity: casesv1.Severity(casesv1.Severity_value[c.Severity]),
		Summary:  c.Summary, Description: c.Description, OccurredAt: timestamppb.New(c.OccurredAt), ReportedBy: c.ReportedBy,
		Customer: &intakev1.Customer{Name: c.Customer.Name, IdNumber: c.Customer.IDNumber, Phone: c.Customer.Phone,
			Email: c.Customer.Email, AccountNumber: c.Customer.Account,
			Tier: casesv1.CustomerTier(casesv1.CustomerTier_value[c.Customer.Tier]), Language: c.Customer.Language,
			PreferredChannel: intakev1.ContactChannel(intakev1.ContactChannel_value[c.Customer.PreferredChannel])},
		Status:    casesv1.CaseStatus(casesv1.CaseStatus_value[c.Status]),
		OwnerId:   c.OwnerID,
		CreatedAt: timestamppb.New(c.CreatedAt), UpdatedAt: timestamppb.New(c.UpdatedAt),
		ReopenCount: int32(c.Life.Reopens),
		Repeat:      c.Repeat,
		// Domain: a major case goes up to head office.
		HeadOfficeCase: c.Severity == "SEVERITY_MAJOR",
	}
	if !c.ReceivedAt.IsZero() {
		pc.ReceivedAt = timestamppb.New(c.ReceivedAt)
	}
	for _, a := range cases.AllowedFrom(c.Status) {
		pc.AllowedActions = append(pc.AllowedActions, string(a))
	}
	if v := c.Work.Verification; v != nil {
		pc.Verification = &intakev1.Verification{Finding: v.Finding, Substantiated: v.Substantiated, Departments: v.Departments,
			VerifiedBy: v.By, VerifiedAt: timestamppb.New(v.At)}
	}
	if a := c.Work.Answer; a != nil {
		pc.Answer = &intakev1.CaseAnswer{Text: a.Text, RootCause: casesv1.RootCause(casesv1.RootCause_value[a.RootCause]),
			AnsweredBy: a.By, AnsweredAt: timestamppb.New(a.At)}
		if k := a.Compensation; k != nil {
			pc.Answer.Compensation = &intakev1.Compensation{Kind: casesv1.CompensationKind(casesv1.CompensationKind_value[k.Kind]),
				AmountFen: k.AmountFen, Tier: k.Tier, ApprovedBy: k.ApprovedBy}
		}
	}
	if r := c.Work.ReturnVisit; r != nil {
		pc.ReturnVisit = &intakev1.ReturnVisit{Satisfaction: int32(r.Satisfaction), Comment: r.Comment, Reached: r.Reached,
			VisitedBy: r.By, VisitedAt: timestamppb.New(r.At)}
	}
	return pc
}

func caseCreated(c cases.Case, hours []cases.OpeningPeriod) *eventsv1.Envelope {
	var oh []*eventsv1.OpeningPeriod
	for _, h := range hours {
		oh = append(oh, &eventsv1.OpeningPeriod{Weekdays: h.Weekdays, Opens: h.Opens, Closes: h.Closes})
	}
	masked := c.Customer.Masked()
	return &eventsv1.Envelope{
		TenantId: c.Tenant, CaseId: c.ID,
		Payload: &eventsv1.Envelope_CaseCreated{CaseCreated: &eventsv1.CaseCreated{
			CaseNumber: c.Number, BranchId: c.Branch, RegionId: c.Region,
			Channel:      casesv1.Channel(casesv1.Channel_value[c.Channel]),
			Category:     casesv1.Category(casesv1.Category_value[c.Category]),
			Severity:     casesv1.Severity(casesv1.Severity_value[c.Severity]),
			CustomerTier: casesv1.CustomerTier(casesv1.CustomerTier_value[c.Customer.Tier]),
			Status:       casesv1.CaseStatus(casesv1.CaseStatus_value[c.Status]),
			ReportedBy:   c.ReportedBy, OccurredAt: timestamppb.New(c.OccurredAt), CreatedAt: timestamppb.New(c.CreatedAt),
			TimeZone: c.TimeZone, CalendarId: c.CalendarID, HasEmail: c.Customer.Email != "", HasPhone: c.Customer.Phone != "",
			OpeningHours: oh,
			ReceivedAt:   timestamppb.New(c.ReceivedAt),
			Repeat:       c.Repeat,
			// Masked as for a caller without need-to-know: reports list cases with these only.
			CustomerNameMasked: masked.Name, CustomerPhoneMasked: masked.Phone,
		}},
	}
}

func encodePageToken(at time.Time, id string, mac []byte) string {
	return base64.RawURLEncoding.EncodeToString([]byte(at.UTC().Format(time.RFC3339Nano)+"|"+id+"|")) + "." +
		base64.RawURLEncoding.EncodeToString(mac)
}

func decodePageToken(t string) (time.Time, string, []byte, error) {
	body, macPart, ok := strings.Cut(t, ".")
	if !ok {
		return time.Time{}, "", nil, errors.New("malformed")
	}
	b, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		return time.Time{}, "", nil, err
	}
	mac, err := base64.RawURLEncoding.DecodeString(macPart)
	if err != nil {
		return time.Time{}, "", nil, err
	}
	parts := strings.Split(string(b), "|")
	if len(parts) != 3 {
		return time.Time{}, "", nil, errors.New("malformed")
	}
	if _, err := uuid.Parse(parts[1]); err != nil {
		return time.Time{}, "", nil, errors.New("malformed")
	}
	at, err := time.Parse(time.RFC3339Nano, parts[0])
	return at, parts[1], mac, err
}

// customerKey is the keyed hash repeat complaints are matched on: the ID
// number, normalised (trimmed, upper-case X), under the server's hash key
// and the bank; nil without an ID number.
func (s *Server) customerKey(tenant, idNumber string) []byte {
	n := strings.ToUpper(strings.TrimSpace(idNumber))
	if n == "" {
		return nil
	}
	m := hmac.New(sha256.New, s.HashKey)
	fmt.Fprintf(m, "customer\x00%s\x00%s", tenant, n)
	return m.Sum(nil)
}

func (s *Server) ListRelatedCases(ctx context.Context, req *intakev1.ListRelatedCasesRequest) (*intakev1.ListRelatedCasesResponse, error) {
	caller, err := authorize(ctx, actReadCase)
	if err != nil {
		return nil, err
	}
	c, err := s.Store.Get(ctx, caller.Tenant, req.GetCaseId())
	if err != nil {
		return nil, toStatus(err)
	}
	if _, err := cases.View(c, caller); err != nil {
		return nil, toStatus(err)
	}
	rel, err := s.Store.Related(ctx, caller.Tenant, c.ID)
	if err != nil {
		return nil, err
	}
	resp := &intakev1.ListRelatedCasesResponse{CaseId: c.ID}
	for _, r := range rel {
		if v, err := cases.View(r, caller); err == nil {
			resp.Cases = append(resp.Cases, toProto(v))
		}
	}
	return resp, nil
}

func answerText(c cases.Case) string {
	if a := c.Work.Answer; a != nil {
		return a.Text
	}
	return ""
}

func receivedAt(r *intakev1.CreateCaseRequest) time.Time {
	if r.GetReceivedAt() == nil {
		return time.Time{}
	}
	return r.GetReceivedAt().AsTime()
}
