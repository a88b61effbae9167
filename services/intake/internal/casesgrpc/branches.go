package casesgrpc

import (
	"context"
	"sync"
	"time"

	"github.com/counterdesk/counterdesk/proto/gen/counterdesk/routing/v1"
	"github.com/counterdesk/counterdesk/services/intake/internal/cases"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Branches asks routing, the owner of the org tree, about branches. Answers
// are cached briefly, and kept longer as a fallback so intake can still take
// cases while routing restarts.
type Branches struct {
	Client routingv1.RoutingServiceClient
	Fresh  time.Duration // serve from cache without asking
	Stale  time.Duration // serve from cache when routing is unreachable
	// Now is the clock the cache ages by.
	Now func() time.Time

	mu    sync.Mutex
	cache map[string]cachedBranch
}

type cachedBranch struct {
	b  cases.Branch
	at time.Time
}

// ErrUnknownBranch: routing does not know the branch.
var errUnknownBranch = status.Error(codes.InvalidArgument, "invalid request: branchId: no such branch in this bank")

// Get returns the branch of tenant. The caller's own credentials are passed
// on, so routing applies the same tenant scoping.
func (b *Branches) Get(ctx context.Context, tenant, id string) (cases.Branch, error) {
	key := tenant + "/" + id
	b.mu.Lock()
	if b.cache == nil {
		b.cache = map[string]cachedBranch{}
	}
	c, ok := b.cache[key]
	b.mu.Unlock()
	if ok && b.Now().Sub(c.at) < b.Fresh {
		return c.b, nil
	}
	rctx, cancel := context.WithTimeout(auth.ForwardCaller(ctx), 3*time.Second)
	defer cancel()
	resp, err := b.Client.GetBranch(rctx, &routingv1.GetBranchRequest{BranchId: id})
	if err != nil {
		switch status.Code(err) {
		case codes.NotFound:
			return cases.Branch{}, errUnknownBranch
		case codes.Unavailable, codes.DeadlineExceeded:
			if ok && b.Now().Sub(c.at) < b.Stale {
				return c.b, nil
			}
			return cases.Branch{}, status.Error(codes.Unavailable, "branch directory unavailable; retry with the same Idempotency-Key")
		case codes.PermissionDenied:
			return cases.Branch{}, status.Error(codes.PermissionDenied, "the caller may not use this branch")
		}
		return cases.Branch{}, status.Errorf(codes.Unavailable, "look up branch: %s", status.Convert(err).Message())
	}
	br := cases.Branch{
		ID: resp.GetBranch().GetId(), Region: resp.GetBranch().GetRegionId(), TimeZone: resp.GetBranch().GetTimeZone(),
		CalendarID: resp.GetBranch().GetCalendarId(), ComplaintManager: resp.GetComplaintManagerId(), Staff: resp.GetStaffIds(),
	}
	for _, h := range resp.GetBranch().GetOpeningHours() {
		br.Hours = append(br.Hours, cases.OpeningPeriod{Weekdays: h.GetWeekdays(), Opens: h.GetOpens(), Closes: h.GetCloses()})
	}
	b.mu.Lock()
	b.cache[key] = cachedBranch{b: br, at: b.Now()}
	b.mu.Unlock()
	return br, nil
}

// Ownership is who owns a case now, as routing (the system of record) says.
type Ownership struct {
	Owner, Role string
	Pending     bool
}

// OwnerLookup asks routing who owns a case now.
type OwnerLookup interface {
	Owner(ctx context.Context, caseID string) (Ownership, error)
}

// Owners asks routing for a case's owner on behalf of the caller (routing
// applies its own scope), so a read right after a claim or a transfer shows
// the new owner before routing's event reaches intake.
type Owners struct {
	Client routingv1.RoutingServiceClient
}

// Owner returns the case's current ownership; an error when routing does
// not answer in time (the caller then shows what intake last heard).
func (o *Owners) Owner(ctx context.Context, caseID string) (Ownership, error) {
	rctx, cancel := context.WithTimeout(auth.ForwardCaller(ctx), 500*time.Millisecond)
	defer cancel()
	a, err := o.Client.GetAssignment(rctx, &routingv1.GetAssignmentRequest{CaseId: caseID})
	if err != nil {
		return Ownership{}, err
	}
	own := Ownership{Owner: a.GetOwnerId(), Pending: a.GetPickupPending()}
	if a.GetOwnerRole() != routingv1.Role_ROLE_UNSPECIFIED {
		own.Role = a.GetOwnerRole().String()
	}
	return own, nil
}
