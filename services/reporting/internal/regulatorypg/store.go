// Package regulatorypg counts the quarterly regulatory figures from
// reporting's read model (case_facts) in Postgres, with the query in
// queries/quarterly.sql compiled by sqlc into regulatorydb. It groups the
// quarter's complaints by every dimension and outcome the report needs, so
// the database returns a few hundred rows however many cases there were;
// package regulatory folds them.
package regulatorypg

import (
	"context"
	"fmt"

	"github.com/counterdesk/counterdesk/services/reporting/internal/regulatory"
	"github.com/counterdesk/counterdesk/services/reporting/internal/regulatorypg/regulatorydb"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Store implements regulatory.Store.
type Store struct {
	Pool *pgxpool.Pool
}

var _ regulatory.Store = (*Store)(nil)

// QuarterGroups implements regulatory.Store.
func (s *Store) QuarterGroups(ctx context.Context, q regulatory.Query) ([]regulatory.Group, error) {
	rows, err := regulatorydb.New(s.Pool).QuarterGroups(ctx, regulatorydb.QuarterGroupsParams{
		AsOf: q.AsOf, Zone: q.Zone, TenantID: q.Tenant, FromTime: q.From, ToTime: q.To,
		Categories: q.Categories, RegionID: null(q.Region), BranchID: null(q.Branch),
	})
	if err != nil {
		return nil, fmt.Errorf("group the quarter's complaints: %w", err)
	}
	out := make([]regulatory.Group, len(rows))
	for i, r := range rows {
		out[i] = regulatory.Group{
			Category: r.Category, Channel: r.Channel, RootCause: r.RootCause, Decided: r.Decided,
			DecidedDays: int(r.DecidedDays), Extended: r.Extended, UnderReview: r.UnderReview,
			Withdrawn: r.Withdrawn, Cases: r.Cases,
		}
	}
	return out, nil
}

func null(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
