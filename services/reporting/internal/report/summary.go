package report

import (
	"context"
	"fmt"
	"time"

	"github.com/counterdesk/counterdesk/services/platform/auth"
)

// Summary counts the cases of one Query.
type Summary struct {
	Total      int64
	ByStatus   map[string]int64
	ByCategory map[string]int64
	BySeverity map[string]int64
	ByChannel  map[string]int64
	ByBranch   map[string]int64
	// Unassigned counts cases no assignment has reached yet.
	Unassigned int64
	// Acknowledged counts cases whose customer received the acknowledgment.
	Acknowledged int64
	// Breaches sums the deadlines breached over all counted cases.
	Breaches int64
	// AsOf is when the counts were taken.
	AsOf time.Time
}

// Reader is the storage a summary needs.
type Reader interface {
	// Summarize counts the created cases matching q (partial records, whose
	// creation is not known yet, are left out). It fills every field but AsOf.
	Summarize(ctx context.Context, q Query) (Summary, error)
	// BranchRegion returns the region of branch in tenant as recorded by the
	// cases created there; known is false when no case of the branch exists.
	BranchRegion(ctx context.Context, tenant, branch string) (region string, known bool, err error)
}

// Reports answers supervisors' questions from the read model.
type Reports struct {
	Store Reader
	// Figures answers every report but the summary.
	Figures FigureStore
	// Now is the clock; tests set it.
	Now func() time.Time
}

// Summary counts the cases caller may see that match f.
func (r *Reports) Summary(ctx context.Context, caller auth.Principal, f Filter) (Summary, error) {
	scope, err := ScopeFor(caller)
	if err != nil {
		return Summary{}, err
	}
	if err := f.Validate(); err != nil {
		return Summary{}, err
	}
	var region string
	var known bool
	if f.Branch != "" && scope.Region != "" {
		if region, known, err = r.Store.BranchRegion(ctx, scope.Tenant, f.Branch); err != nil {
			return Summary{}, fmt.Errorf("look up region of branch %s: %w", f.Branch, err)
		}
	}
	q, err := scope.Narrow(f, region, known)
	if err != nil {
		return Summary{}, err
	}
	asOf := r.Now()
	s, err := r.Store.Summarize(ctx, q)
	if err != nil {
		return Summary{}, fmt.Errorf("summarize cases: %w", err)
	}
	s.AsOf = asOf
	return s, nil
}
