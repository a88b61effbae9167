// Protects watching a branch queue on a real Redis: a subscriber gets its branch's changes (and no other branch's or bank's) as published by notify, Put and Remove; a change is published even after the writer's context ended; the changes channel closes when the watcher's context ends and when Redis drops the subscription.
package routingredis

import (
	"context"
	"testing"
	"time"

	routingv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/routing/v1"
	"github.com/counterdesk/counterdesk/services/platform/testinfra"
	"github.com/counterdesk/counterdesk/services/routing/internal/routing"
	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// deliveryWait bounds waiting for a published change to arrive.
const deliveryWait = 10 * time.Second

func newWatchQueues(t *testing.T) (*Queues, *redis.Client) {
	t.Helper()
	opts, err := redis.ParseURL(testinfra.NewRedis(t))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { rdb.Close() })
	return New(rdb), rdb
}

func subscribe(t *testing.T, q *Queues, tenant, branch string) (<-chan *routingv1.WatchQueueResponse, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ch, err := q.Subscribe(ctx, tenant, branch)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	return ch, cancel
}

func next(t *testing.T, ch <-chan *routingv1.WatchQueueResponse) *routingv1.WatchQueueResponse {
	t.Helper()
	select {
	case c, ok := <-ch:
		if !ok {
			t.Fatal("changes channel closed, want a change")
		}
		return c
	case <-time.After(deliveryWait):
		t.Fatalf("no change within %s", deliveryWait)
		return nil
	}
}

func wantClosed(t *testing.T, ch <-chan *routingv1.WatchQueueResponse) {
	t.Helper()
	deadline := time.After(deliveryWait)
	for {
		select {
		case c, ok := <-ch:
			if !ok {
				return
			}
			t.Errorf("change %v, want the channel closed", c)
		case <-deadline:
			t.Fatalf("changes channel still open after %s", deliveryWait)
		}
	}
}

func TestWatchersGetTheirBranchsChangesOnly(t *testing.T) {
	q, _ := newWatchQueues(t)
	ctx := context.Background()
	ch, _ := subscribe(t, q, "bank-a", "br-1")

	at := time.Date(2026, 11, 22, 2, 0, 0, 0, time.UTC)
	mine := &routingv1.WatchQueueResponse{Change: "put", Total: 3,
		Entry: &routingv1.QueueEntry{CaseId: "case-1", OwnerId: "teller-1", EnqueuedAt: timestamppb.New(at), Priority: 2}}
	// Another branch, another bank with the same branch id, then ours:
	// Redis delivers in publish order, so if ours comes first the others
	// were not delivered.
	q.notify(ctx, "bank-a", "br-2", &routingv1.WatchQueueResponse{Change: "put", Total: 9})
	q.notify(ctx, "bank-b", "br-1", &routingv1.WatchQueueResponse{Change: "put", Total: 8})
	q.notify(ctx, "bank-a", "br-1", mine)
	if got := next(t, ch); !proto.Equal(got, mine) {
		t.Fatalf("got %v, want %v", got, mine)
	}

	// A writer whose context already ended still tells the watchers: the
	// write it reports was made.
	done, cancel := context.WithCancel(ctx)
	cancel()
	removed := &routingv1.WatchQueueResponse{Change: "removed", Entry: &routingv1.QueueEntry{CaseId: "case-1"}, Total: 2}
	q.notify(done, "bank-a", "br-1", removed)
	if got := next(t, ch); !proto.Equal(got, removed) {
		t.Fatalf("got %v, want %v", got, removed)
	}
}

func TestPutAndRemoveNotifyWatchers(t *testing.T) {
	q, _ := newWatchQueues(t)
	ctx := context.Background()
	ch, _ := subscribe(t, q, "bank-a", "br-1")
	at := time.Date(2026, 11, 22, 2, 0, 0, 0, time.UTC)
	c := routing.Queued{CaseID: "case-1", Tenant: "bank-a", Branch: "br-1", Owner: routing.Owner{Staff: "teller-1"}, EnqueuedAt: at}
	if err := q.Put(ctx, c); err != nil {
		t.Fatal(err)
	}
	got := next(t, ch)
	if got.GetChange() != "put" || got.GetTotal() != 1 || got.GetEntry().GetCaseId() != "case-1" || got.GetEntry().GetOwnerId() != "teller-1" ||
		!got.GetEntry().GetEnqueuedAt().AsTime().Equal(at) {
		t.Fatalf("after Put: %v, want put of case-1 to teller-1, total 1", got)
	}
	if err := q.Remove(ctx, "bank-a", "br-1", "case-1"); err != nil {
		t.Fatal(err)
	}
	if got := next(t, ch); got.GetChange() != "removed" || got.GetTotal() != 0 || got.GetEntry().GetCaseId() != "case-1" {
		t.Fatalf("after Remove: %v, want removed case-1, total 0", got)
	}
}

func TestChangesCloseWhenTheWatcherLeaves(t *testing.T) {
	q, rdb := newWatchQueues(t)
	ch, cancel := subscribe(t, q, "bank-a", "br-1")
	cancel()
	wantClosed(t, ch)
	// And the subscription is gone from Redis.
	deadline := time.Now().Add(deliveryWait)
	for {
		n, err := rdb.PubSubNumSub(context.Background(), changesChannel("bank-a", "br-1")).Result()
		if err != nil {
			t.Fatal(err)
		}
		if n[changesChannel("bank-a", "br-1")] == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %d subscribers after the watcher left", n[changesChannel("bank-a", "br-1")])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestChangesCloseWhenTheSubscriptionIsLost(t *testing.T) {
	q, rdb := newWatchQueues(t)
	ch, _ := subscribe(t, q, "bank-a", "br-1")
	// Redis drops the subscriber (as after a restart, or when it reads too
	// slowly): changes published meanwhile are lost, so the watch must end
	// rather than resume with a gap.
	if err := rdb.ClientKillByFilter(context.Background(), "TYPE", "pubsub").Err(); err != nil {
		t.Fatal(err)
	}
	wantClosed(t, ch)
}

func TestChannelIsTheDocumentedOne(t *testing.T) {
	if got, want := changesChannel("bank-a", "br-1"), "cd:{bank-a:br-1}:changes"; got != want {
		t.Fatalf("channel %q, want %q", got, want)
	}
}
