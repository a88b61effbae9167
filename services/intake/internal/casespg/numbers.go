package casespg

import (
	"context"
	"fmt"
	"sync"
)

// numberBlock is how many case numbers a process takes from a bank's
// counter for the day at once.
const numberBlock = 20

// numbers hands out case numbers from blocks taken from case_numbers in a
// statement of their own, so the counter row is locked for one short
// statement instead of the whole registration transaction (it serialised
// every registration of a bank). Numbers stay unique per bank and day and
// readable; they are not gapless: a block left unused by a stopped process,
// or a number of a registration that failed, is skipped. Across replicas
// they are not in registration order. Banks count cases, not numbers, and
// the regulator's registers are by received date.
type numbers struct {
	mu     sync.Mutex
	blocks map[string]*block
}

type block struct{ next, last int }

func (s *Store) nextNumber(ctx context.Context, tenant, day string) (int, error) {
	key := tenant + "/" + day
	s.nums.mu.Lock()
	if b := s.nums.blocks[key]; b != nil && b.next <= b.last {
		n := b.next
		b.next++
		s.nums.mu.Unlock()
		return n, nil
	}
	s.nums.mu.Unlock()
	var last int
	if err := s.pool.QueryRow(ctx, `INSERT INTO case_numbers (tenant_id, day, last) VALUES ($1, $2, $3)
		ON CONFLICT (tenant_id, day) DO UPDATE SET last = case_numbers.last + $3 RETURNING last`,
		tenant, day, numberBlock).Scan(&last); err != nil {
		return 0, fmt.Errorf("allocate case numbers: %w", err)
	}
	first := last - numberBlock + 1
	s.nums.mu.Lock()
	defer s.nums.mu.Unlock()
	if s.nums.blocks == nil {
		s.nums.blocks = map[string]*block{}
	}
	if len(s.nums.blocks) > 10000 { // old days' blocks: start afresh
		s.nums.blocks = map[string]*block{}
	}
	if b := s.nums.blocks[key]; b == nil || b.next > b.last {
		s.nums.blocks[key] = &block{next: first + 1, last: last}
	}
	return first, nil
}
