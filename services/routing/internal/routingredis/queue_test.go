// Protects the live queues on a real Redis: priority-then-deadline order, one owner queue per case with counts that follow it, idempotent Put and Remove, per-bank keys, paging and rebuilds.
package routingredis_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/counterdesk/counterdesk/services/platform/testinfra"
	"github.com/counterdesk/counterdesk/services/routing/internal/routing"
	"github.com/counterdesk/counterdesk/services/routing/internal/routingredis"
	"github.com/redis/go-redis/v9"
)

func TestMain(m *testing.M) { os.Exit(testinfra.Run(m, testinfra.Redis)) }

var t0 = time.Date(2026, 11, 22, 2, 0, 0, 0, time.UTC)

func newQueues(t *testing.T) *routingredis.Queues {
	t.Helper()
	opts, err := redis.ParseURL(testinfra.NewRedis(t))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { rdb.Close() })
	return routingredis.New(rdb)
}

func put(t *testing.T, q *routingredis.Queues, cs ...routing.Queued) {
	t.Helper()
	for _, c := range cs {
		if err := q.Put(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
}

func list(t *testing.T, q *routingredis.Queues, tenant, branch string, owner *routing.Owner) []routing.Queued {
	t.Helper()
	got, _, _, err := q.Page(context.Background(), tenant, branch, owner, routingredis.Cursor{}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func ids(es []routing.Queued) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, e.CaseID)
	}
	return out
}

func qd(id, owner string, severity string, enq, due time.Time) routing.Queued {
	o := routing.Owner{Staff: owner}
	if r, ok := strings.CutPrefix(owner, "role:"); ok {
		o = routing.Owner{Role: r}
	}
	return routing.Queued{CaseID: id, Tenant: "bank-a", Branch: "br-1", Owner: o, Severity: severity, EnqueuedAt: enq, DueAt: due}
}

// The queue is ordered by priority (major, complex, normal), then by the
// nearest deadline (the enqueued time while none is known).
func TestQueuesOrderByPriorityThenNearestDeadline(t *testing.T) {
	q := newQueues(t)
	put(t, q,
		qd("normal-late", "t1", "SEVERITY_NORMAL", t0, t0.Add(5*time.Hour)),
		qd("normal-soon", "t1", "SEVERITY_NORMAL", t0.Add(time.Minute), t0.Add(time.Hour)),
		qd("complex", "cm", "SEVERITY_COMPLEX", t0.Add(2*time.Minute), t0.Add(48*time.Hour)),
		qd("major", "bh", "SEVERITY_MAJOR", t0.Add(3*time.Minute), time.Time{}),
		qd("normal-unknown", "t2", "SEVERITY_NORMAL", t0.Add(4*time.Minute), time.Time{}),
	)
	got := ids(list(t, q, "bank-a", "br-1", nil))
	want := []string{"major", "complex", "normal-unknown", "normal-soon", "normal-late"}
	if !slices.Equal(got, want) {
		t.Errorf("queue %v, want %v", got, want)
	}
	// Entries keep what was put, to the millisecond.
	es := list(t, q, "bank-a", "br-1", &routing.Owner{Staff: "cm"})
	want1 := []routing.Queued{qd("complex", "cm", "SEVERITY_COMPLEX", t0.Add(2*time.Minute), t0.Add(48*time.Hour))}
	if !reflect.DeepEqual(es, want1) {
		t.Errorf("cm's queue %+v, want %+v", es, want1)
	}
}

// A case lives in exactly one owner's queue; putting it under a new owner
// moves it and its count; removing it takes it off everything.
func TestOwnerQueuesAndCountsFollowTheOwner(t *testing.T) {
	q := newQueues(t)
	ctx := context.Background()
	loads := func() map[routing.Owner]int {
		t.Helper()
		l, err := q.Loads(ctx, "bank-a", "br-1")
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	put(t, q, qd("c1", "t1", "", t0, time.Time{}), qd("c2", "t1", "", t0, time.Time{}), qd("c3", "role:complaint_manager", "", t0, time.Time{}))
	if l := loads(); !reflect.DeepEqual(l, map[routing.Owner]int{{Staff: "t1"}: 2, {Role: "complaint_manager"}: 1}) {
		t.Fatalf("loads %v", l)
	}
	// c3 claimed by cm; c1 put again under t1 (a redelivery) changes nothing.
	put(t, q, qd("c3", "cm", "", t0, time.Time{}), qd("c1", "t1", "", t0, time.Time{}))
	if l := loads(); !reflect.DeepEqual(l, map[routing.Owner]int{{Staff: "t1"}: 2, {Staff: "cm"}: 1}) {
		t.Fatalf("loads after the claim %v", l)
	}
	if got := ids(list(t, q, "bank-a", "br-1", &routing.Owner{Role: "complaint_manager"})); len(got) != 0 {
		t.Errorf("the role queue still holds %v", got)
	}
	if got := ids(list(t, q, "bank-a", "br-1", &routing.Owner{Staff: "cm"})); !slices.Equal(got, []string{"c3"}) {
		t.Errorf("cm's queue %v", got)
	}
	for range 2 { // idempotent
		if err := q.Remove(ctx, "bank-a", "br-1", "c1"); err != nil {
			t.Fatal(err)
		}
	}
	if l := loads(); !reflect.DeepEqual(l, map[routing.Owner]int{{Staff: "t1"}: 1, {Staff: "cm"}: 1}) {
		t.Fatalf("loads after removing c1 %v", l)
	}
	if got := ids(list(t, q, "bank-a", "br-1", nil)); !slices.Equal(got, []string{"c2", "c3"}) {
		t.Errorf("branch queue %v", got)
	}
	// Another bank's branch of the same id is another queue.
	put(t, q, routing.Queued{CaseID: "c9", Tenant: "bank-b", Branch: "br-1", Owner: routing.Owner{Staff: "x"}, EnqueuedAt: t0})
	if got := ids(list(t, q, "bank-a", "br-1", nil)); !slices.Equal(got, []string{"c2", "c3"}) {
		t.Errorf("bank-a's queue %v after bank-b's put", got)
	}
}

// RebuildTenant empties and refills one bank's queues only.
func TestRebuildTenantTouchesOnlyThatBank(t *testing.T) {
	q := newQueues(t)
	ctx := context.Background()
	put(t, q, qd("stale", "t1", "", t0, time.Time{}),
		routing.Queued{CaseID: "b-1", Tenant: "bank-b", Branch: "br-1", Owner: routing.Owner{Staff: "x"}, EnqueuedAt: t0})
	n, err := q.RebuildTenant(ctx, "bank-a", func(fn func(routing.Queued) error) error {
		return fn(qd("fresh", "t2", "", t0, time.Time{}))
	})
	if err != nil || n != 1 {
		t.Fatalf("rebuild: %d %v", n, err)
	}
	if got := ids(list(t, q, "bank-a", "br-1", nil)); !slices.Equal(got, []string{"fresh"}) {
		t.Errorf("bank-a %v, want only fresh", got)
	}
	if l, _ := q.Loads(ctx, "bank-a", "br-1"); !reflect.DeepEqual(l, map[routing.Owner]int{{Staff: "t2"}: 1}) {
		t.Errorf("bank-a loads %v", l)
	}
	if got := ids(list(t, q, "bank-b", "br-1", nil)); !slices.Equal(got, []string{"b-1"}) {
		t.Errorf("bank-b %v, want untouched", got)
	}
}

func TestRebuildReportsTheSourcesError(t *testing.T) {
	q := newQueues(t)
	readErr := errors.New("database gone")
	n, err := q.Rebuild(context.Background(), func(fn func(routing.Queued) error) error {
		if err := fn(qd("c1", "teller-1", "", t0, time.Time{})); err != nil {
			return err
		}
		return readErr
	})
	if !errors.Is(err, readErr) {
		t.Fatalf("err = %v, want the source's error", err)
	}
	if n != 1 {
		t.Errorf("n = %d, want the 1 entry put before the failure", n)
	}
}

// Paging a queue gives every entry once, oldest first (equal times by case
// id), with the total, whatever the page size.
func TestPagingAQueueGivesEveryEntryOnce(t *testing.T) {
	q := newQueues(t)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)
	var want []string
	for i := range 7 {
		id := fmt.Sprintf("case-%d", i)
		at := t0.Add(time.Duration(i/3) * time.Second) // three share each millisecond
		if err := q.Put(ctx, qd(id, "o", "", at, time.Time{})); err != nil {
			t.Fatal(err)
		}
		want = append(want, id)
	}
	for _, size := range []int{1, 2, 3, 7, 100} {
		var got []string
		var after routingredis.Cursor
		for pages := 0; ; pages++ {
			es, total, next, err := q.Page(ctx, "bank-a", "br-1", nil, after, size)
			if err != nil {
				t.Fatal(err)
			}
			if total != 7 {
				t.Fatalf("total %d, want 7", total)
			}
			for _, e := range es {
				got = append(got, e.CaseID)
			}
			if next.CaseID == "" {
				break
			}
			if pages > 10 {
				t.Fatal("no end to the pages")
			}
			after = next
		}
		if !slices.Equal(got, want) {
			t.Errorf("pages of %d gave %v, want %v", size, got, want)
		}
	}
}
