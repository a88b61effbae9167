// Protects the live branch queues on a real Redis: idempotent Put, oldest-first order, per-bank and per-branch keys, and Rebuild's errors.
package routingredis_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
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

func put(t *testing.T, q *routingredis.Queues, as ...routing.Assignment) {
	t.Helper()
	for _, a := range as {
		if err := q.Put(context.Background(), a); err != nil {
			t.Fatal(err)
		}
	}
}

func list(t *testing.T, q *routingredis.Queues, tenant, branch string, limit int64) []routingredis.Entry {
	t.Helper()
	got, err := q.List(context.Background(), tenant, branch, limit)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestQueues(t *testing.T) {
	tests := []struct {
		name   string
		puts   []routing.Assignment
		tenant string
		branch string
		limit  int64
		want   []routingredis.Entry
	}{
		{name: "an empty queue lists nothing", tenant: "bank-a", branch: "br-1", limit: 10},
		{name: "cases list oldest first whatever the order they were put in",
			puts: []routing.Assignment{
				{CaseID: "c2", Tenant: "bank-a", Branch: "br-1", Owner: "cm-1", At: t0.Add(time.Minute)},
				{CaseID: "c1", Tenant: "bank-a", Branch: "br-1", Owner: "teller-1", At: t0},
			},
			tenant: "bank-a", branch: "br-1", limit: 10,
			want: []routingredis.Entry{{CaseID: "c1", Owner: "teller-1", EnqueuedAt: t0}, {CaseID: "c2", Owner: "cm-1", EnqueuedAt: t0.Add(time.Minute)}}},
		{name: "the limit keeps the oldest",
			puts: []routing.Assignment{
				{CaseID: "c1", Tenant: "bank-a", Branch: "br-1", Owner: "teller-1", At: t0},
				{CaseID: "c2", Tenant: "bank-a", Branch: "br-1", Owner: "cm-1", At: t0.Add(time.Minute)},
			},
			tenant: "bank-a", branch: "br-1", limit: 1,
			want: []routingredis.Entry{{CaseID: "c1", Owner: "teller-1", EnqueuedAt: t0}}},
		{name: "putting a case again keeps its place and takes the new owner",
			puts: []routing.Assignment{
				{CaseID: "c1", Tenant: "bank-a", Branch: "br-1", Owner: "teller-1", At: t0},
				{CaseID: "c2", Tenant: "bank-a", Branch: "br-1", Owner: "cm-1", At: t0.Add(time.Minute)},
				{CaseID: "c1", Tenant: "bank-a", Branch: "br-1", Owner: "cm-1", At: t0.Add(time.Hour)},
			},
			tenant: "bank-a", branch: "br-1", limit: 10,
			want: []routingredis.Entry{{CaseID: "c1", Owner: "cm-1", EnqueuedAt: t0}, {CaseID: "c2", Owner: "cm-1", EnqueuedAt: t0.Add(time.Minute)}}},
		{name: "another bank's branch of the same id is another queue",
			puts: []routing.Assignment{
				{CaseID: "c1", Tenant: "bank-a", Branch: "br-1", Owner: "teller-1", At: t0},
				{CaseID: "c9", Tenant: "bank-b", Branch: "br-1", Owner: "x-1", At: t0},
			},
			tenant: "bank-b", branch: "br-1", limit: 10,
			want: []routingredis.Entry{{CaseID: "c9", Owner: "x-1", EnqueuedAt: t0}}},
		{name: "another branch of the bank is another queue",
			puts: []routing.Assignment{
				{CaseID: "c1", Tenant: "bank-a", Branch: "br-1", Owner: "teller-1", At: t0},
			},
			tenant: "bank-a", branch: "br-2", limit: 10},
		{name: "enqueued times keep millisecond precision",
			puts: []routing.Assignment{
				{CaseID: "c1", Tenant: "bank-a", Branch: "br-1", Owner: "teller-1", At: t0.Add(1234567890)},
			},
			tenant: "bank-a", branch: "br-1", limit: 10,
			want: []routingredis.Entry{{CaseID: "c1", Owner: "teller-1", EnqueuedAt: t0.Add(1234 * time.Millisecond)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := newQueues(t)
			put(t, q, tt.puts...)
			if got := list(t, q, tt.tenant, tt.branch, tt.limit); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("queue %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRebuildReportsTheSourcesError(t *testing.T) {
	q := newQueues(t)
	readErr := errors.New("database gone")
	n, err := q.Rebuild(context.Background(), func(fn func(routing.Assignment) error) error {
		if err := fn(routing.Assignment{CaseID: "c1", Tenant: "bank-a", Branch: "br-1", Owner: "teller-1", At: t0}); err != nil {
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
		if err := q.Put(ctx, routing.Assignment{CaseID: id, Tenant: "bank-a", Branch: "br-1", Owner: "o", At: at}); err != nil {
			t.Fatal(err)
		}
		want = append(want, id)
	}
	for _, size := range []int{1, 2, 3, 7, 100} {
		var got []string
		var after routingredis.Cursor
		for pages := 0; ; pages++ {
			es, total, next, err := q.Page(ctx, "bank-a", "br-1", after, size)
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
