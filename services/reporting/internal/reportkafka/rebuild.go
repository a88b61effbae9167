package reportkafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	eventsv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	"github.com/counterdesk/counterdesk/services/platform/eventbus"
	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/segmentio/kafka-go"
	"google.golang.org/protobuf/proto"
)

// Position is an offset per topic and partition.
type Position map[string]map[int]int64

// Ends returns the next offset to be written of every partition of topics
// (the high watermarks): a replay up to them has read everything published
// so far.
func Ends(ctx context.Context, brokers []string, topics []string) (Position, error) {
	conn, err := kafka.DialContext(ctx, "tcp", brokers[0])
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", brokers[0], err)
	}
	defer func() { _ = conn.Close() }()
	parts, err := conn.ReadPartitions(topics...)
	if err != nil {
		return nil, fmt.Errorf("read partitions: %w", err)
	}
	out := Position{}
	for _, p := range parts {
		lc, err := kafka.DialLeader(ctx, "tcp", brokers[0], p.Topic, p.ID)
		if err != nil {
			return nil, fmt.Errorf("dial leader of %s/%d: %w", p.Topic, p.ID, err)
		}
		end, err := lc.ReadLastOffset()
		_ = lc.Close()
		if err != nil {
			return nil, fmt.Errorf("last offset of %s/%d: %w", p.Topic, p.ID, err)
		}
		if out[p.Topic] == nil {
			out[p.Topic] = map[int]int64{}
		}
		out[p.Topic][p.ID] = end
	}
	return out, nil
}

// Replay reads every partition of to from from (missing: the start) up to
// to, and hands the envelopes to apply in batches of at most batch. Events
// of one partition are applied in order.
func Replay(ctx context.Context, brokers []string, from, to Position, batch int, apply func(context.Context, []*eventsv1.Envelope) error) (int, error) {
	var n int
	for topic, parts := range to {
		for p, end := range parts {
			start := from[topic][p]
			if start >= end {
				continue
			}
			r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, Partition: p, MinBytes: 1, MaxBytes: 16 << 20,
				MaxWait: 500 * time.Millisecond})
			if err := r.SetOffset(start); err != nil {
				_ = r.Close()
				return n, fmt.Errorf("seek %s/%d: %w", topic, p, err)
			}
			var envs []*eventsv1.Envelope
			for off := start; off < end; {
				m, err := r.ReadMessage(ctx)
				if err != nil {
					_ = r.Close()
					return n, fmt.Errorf("read %s/%d at %d: %w", topic, p, off, err)
				}
				off = m.Offset + 1
				env := &eventsv1.Envelope{}
				if err := proto.Unmarshal(m.Value, env); err != nil {
					continue // the live consumer dead-lettered it too
				}
				envs = append(envs, env)
				if len(envs) >= batch || off >= end {
					if err := apply(ctx, envs); err != nil {
						_ = r.Close()
						return n, err
					}
					n += len(envs)
					envs = envs[:0]
				}
			}
			_ = r.Close()
		}
	}
	return n, nil
}

// ApplyIn applies envs in tx as the live consumer would: each event once
// (processed_events), events that can never apply skipped (the live
// consumer dead-lettered them), each inside a savepoint so a skipped one
// leaves nothing behind.
func (h *Handler) ApplyIn(ctx context.Context, tx pgx.Tx, group string, envs []*eventsv1.Envelope) (skipped int, err error) {
	for _, env := range envs {
		sp, err := tx.Begin(ctx)
		if err != nil {
			return skipped, fmt.Errorf("savepoint: %w", err)
		}
		tag, err := sp.Exec(ctx, `INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, group, env.GetEventId())
		if err != nil {
			_ = sp.Rollback(ctx)
			skipped++ // not a UUID: dead-lettered live
			continue
		}
		if tag.RowsAffected() == 1 {
			if err := h.Handle(ctx, sp, env); err != nil {
				_ = sp.Rollback(ctx)
				if eventbus.IsPermanent(err) {
					skipped++
					continue
				}
				return skipped, err
			}
		}
		if err := sp.Commit(ctx); err != nil {
			return skipped, fmt.Errorf("release savepoint: %w", err)
		}
	}
	return skipped, nil
}

// Rebuilder replays the topics from the start into fresh tables and swaps
// them in; see Rebuild.
type Rebuilder struct {
	Brokers []string
	Topics  []string
	Handler *Handler
	// Fresh is a pool on the fresh tables (reportpg.RebuildPool).
	Fresh *pgxpool.Pool
	// Recompute recomputes every rollup inside tx (reportpg.RecomputeAllIn).
	Recompute func(ctx context.Context, tx pgx.Tx) error
	// Refresh recomputes the rollups of changed cases inside tx, up to
	// limit of them, returning how many it took (reportpg.RefreshRollupsIn).
	Refresh func(ctx context.Context, tx pgx.Tx, limit int) (int, error)
	// Swap swaps the tables in, running catchUp inside its transaction
	// after the live tables are locked (reportpg.SwapRebuild).
	Swap  func(ctx context.Context, catchUp func(pgx.Tx) error) error
	Batch int
	// Group is the consumer group whose processed ids the rebuild records
	// (Group when empty).
	Group string
	Log   *slog.Logger
}

// Rebuild replays every topic from the start to the current ends into the
// fresh tables, recomputes the rollups, then (with the live tables locked)
// applies what arrived meanwhile and swaps the fresh tables in. The live
// consumer is not stopped: it waits on the lock, and events it applies after
// the swap are already in processed_events when the catch-up had them.
func (b *Rebuilder) Rebuild(ctx context.Context) (events int, err error) {
	batch := b.Batch
	if batch <= 0 {
		batch = 500
	}
	group := b.Group
	if group == "" {
		group = Group
	}
	skipped := 0
	apply := func(ctx context.Context, envs []*eventsv1.Envelope) error {
		return pgdb.InTx(ctx, b.Fresh, func(tx pgx.Tx) error {
			s, err := b.Handler.ApplyIn(ctx, tx, group, envs)
			skipped += s
			return err
		})
	}
	ends, err := Ends(ctx, b.Brokers, b.Topics)
	if err != nil {
		return 0, err
	}
	n, err := Replay(ctx, b.Brokers, Position{}, ends, batch, apply)
	if err != nil {
		return n, fmt.Errorf("replay: %w", err)
	}
	b.Log.InfoContext(ctx, "replayed", "events", n, "skipped", skipped)
	if err := pgdb.InTx(ctx, b.Fresh, func(tx pgx.Tx) error { return b.Recompute(ctx, tx) }); err != nil {
		return n, fmt.Errorf("recompute rollups: %w", err)
	}
	err = b.Swap(ctx, func(tx pgx.Tx) error {
		now, err := Ends(ctx, b.Brokers, b.Topics)
		if err != nil {
			return err
		}
		m, err := Replay(ctx, b.Brokers, ends, now, batch, func(ctx context.Context, envs []*eventsv1.Envelope) error {
			_, err := b.Handler.ApplyIn(ctx, tx, group, envs)
			return err
		})
		n += m
		if err != nil {
			return err
		}
		for {
			k, err := b.Refresh(ctx, tx, 5000)
			if err != nil || k < 5000 {
				return err
			}
		}
	})
	if err != nil {
		return n, errors.Join(errors.New("swap"), err)
	}
	return n, nil
}
