package routingredis

// Watching a branch queue: every write publishes the change (a
// WatchQueueResponse as protojson) on the branch's channel, and watchers
// subscribe to it. Pub/Sub keeps nothing: a change published while nobody
// listens, or while a watcher's connection is down, is gone. So a watcher
// reads the queue (its total) after subscribing, and a subscription that
// breaks ends the watch instead of resuming silently with a gap.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	routingv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/routing/v1"
	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/encoding/protojson"
)

// changesChannel is the Pub/Sub channel of a branch queue's changes:
// "cd:{<tenant>:<branch>}:changes". (Channels are not keys: Pub/Sub is
// shared by all logical databases of a Redis server.)
func changesChannel(tenant, branch string) string { return prefix(tenant, branch) + "changes" }

const (
	// publishTimeout bounds a notification, which runs after the write
	// it reports has already been made.
	publishTimeout = 2 * time.Second
	// subscribeTimeout bounds waiting for Redis to confirm a subscription.
	subscribeTimeout = 5 * time.Second
	// pingEvery is how long a subscription may be silent before it is
	// pinged; a ping unanswered for as long again means it is lost.
	pingEvery = 10 * time.Second
)

var decodeChange = protojson.UnmarshalOptions{DiscardUnknown: true}

// notify tells watchers of a branch queue that it changed (best effort: a
// wall board that misses a change reads the queue again). It publishes even
// when ctx is already cancelled: the write it reports has been made.
func (q *Queues) notify(ctx context.Context, tenant, branch string, change *routingv1.WatchQueueResponse) {
	raw, err := protojson.Marshal(change)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	if err := q.rdb.Publish(ctx, changesChannel(tenant, branch), raw).Err(); err != nil {
		// Ids and a Redis error only; a change carries no personal data.
		slog.Default().WarnContext(ctx, "live queue: change not published to watchers", "tenant", tenant, "branch", branch, "err", err)
	}
}

// Subscribe returns the changes of a branch queue made from now on (the
// subscription is confirmed by Redis before Subscribe returns, so a queue
// read after it plus the changes delivered miss nothing). The channel
// closes when ctx ends, or earlier when the subscription is lost (Redis
// restarted, the connection broke or went silent, or Redis dropped a
// subscriber too slow to read): changes may then have been missed, and the
// caller should read the queue again and subscribe anew.
func (q *Queues) Subscribe(ctx context.Context, tenant, branch string) (<-chan *routingv1.WatchQueueResponse, error) {
	ps := q.rdb.Subscribe(ctx, changesChannel(tenant, branch))
	msg, err := ps.ReceiveTimeout(ctx, subscribeTimeout)
	if err == nil {
		if s, ok := msg.(*redis.Subscription); !ok || s.Kind != "subscribe" {
			err = fmt.Errorf("unexpected reply %T", msg)
		}
	}
	if err != nil {
		_ = ps.Close()
		return nil, fmt.Errorf("watch queue of branch %s: %w", branch, err)
	}
	out := make(chan *routingv1.WatchQueueResponse, 16)
	done := make(chan struct{})
	go func() {
		// A blocked read does not see ctx: closing the subscription ends it.
		select {
		case <-ctx.Done():
		case <-done:
		}
		_ = ps.Close()
	}()
	go func() {
		defer close(out)
		defer close(done)
		pinged := false
		for {
			msg, err := ps.ReceiveTimeout(ctx, pingEvery)
			if err != nil {
				var ne net.Error
				if ctx.Err() == nil && !pinged && errors.As(err, &ne) && ne.Timeout() && ps.Ping(ctx) == nil {
					pinged = true
					continue
				}
				return // ctx ended, or the subscription is lost
			}
			pinged = false
			m, ok := msg.(*redis.Message)
			if !ok {
				continue // a pong
			}
			change := &routingv1.WatchQueueResponse{}
			if err := decodeChange.Unmarshal([]byte(m.Payload), change); err != nil {
				continue // not a change this version understands
			}
			select {
			case out <- change:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}
