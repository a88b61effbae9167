package eventbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"
)

// Handler applies one event inside tx. Return an error wrapped with
// Permanent for an event that can never be handled (it goes to the
// dead-letter topic); any other error is retried with back-off.
type Handler func(ctx context.Context, tx pgx.Tx, env *eventsv1.Envelope) error

// BatchHandler applies several events, in order, inside tx: to the same
// effect as Handler applied to each in turn. It takes its row locks in one
// global order (say, sorted by key), so that batches of different workers
// wait for each other rather than deadlock. It is an optional fast path
// for a backlog (one set of statements for many events); any error rolls
// the batch back and its events are handled one by one with the Handler,
// which alone decides what is permanent.
type BatchHandler func(ctx context.Context, tx pgx.Tx, envs []*eventsv1.Envelope) error

// AfterCommit runs after the handler's transaction committed, for effects
// outside Postgres that can be rebuilt from it (e.g. a Redis queue entry).
type AfterCommit func(ctx context.Context, env *eventsv1.Envelope) error

type permanentError struct{ err error }

func (p permanentError) Error() string { return p.err.Error() }
func (p permanentError) Unwrap() error { return p.err }

// Permanent marks err as one that retrying cannot fix.
func Permanent(err error) error { return permanentError{err} }

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool { var p permanentError; return errors.As(err, &p) }

// Consumer reads topics as consumer group Group and applies each event once.
//
// Messages of one partition are handled strictly in order, by one goroutine;
// different partitions in parallel (see Workers). Offsets are committed in
// the background every CommitInterval, for every partition at once, and at
// shutdown: only ever the offset after a message whose effect, and that of
// every message before it on its partition, is committed in Postgres (or
// dead-lettered). See DESIGN.md.
type Consumer struct {
	Group   string
	Topics  []string
	Brokers []string
	Pool    *pgxpool.Pool
	Handle  Handler
	// HandleBatch, when set, applies the events of a batch together (see
	// MaxBatch); Handle still handles every event on its own.
	HandleBatch BatchHandler
	AfterCommit AfterCommit
	Log         *slog.Logger
	// DeadLetters receives poison messages; NewWriter(brokers) when nil.
	DeadLetters *kafka.Writer

	// Workers is how many partitions are handled at once: each partition
	// this consumer is given gets a goroutine of its own until there are
	// Workers of them; further partitions share them (still in order each).
	// 0 means DefaultWorkers. Each busy worker holds one Pool connection.
	Workers int
	// CommitInterval is how often handled offsets are committed; 0 means
	// DefaultCommitInterval. A crash redelivers at most what was handled
	// since the last commit (processed_events makes the repeat a no-op).
	CommitInterval time.Duration
	// MaxBatch is how many consecutive messages already fetched for a
	// worker go into one Postgres transaction; 0 means DefaultMaxBatch, 1
	// one transaction per message. A batch that fails in any way is rolled
	// back and its messages handled one by one, with the usual retries and
	// dead-lettering, so a poison message never holds its neighbours back.
	MaxBatch int
}

// Defaults of Consumer's tuning fields.
const (
	DefaultWorkers        = 16
	DefaultCommitInterval = 200 * time.Millisecond
	DefaultMaxBatch       = 20
)

// laneDepth is how many fetched messages may wait for one worker. When a
// worker's queue is full the fetch loop waits for it (Kafka's group reader
// delivers every partition in one stream), so a slow partition holds up the
// others only once it has that many waiting, and memory stays bounded.
const laneDepth = 128

// batchLockTimeout bounds each lock wait in a batch transaction (SET LOCAL
// lock_timeout): a batch that waits longer is rolled back and its messages
// handled one by one, rather than hold its own locks while it waits.
const batchLockTimeout = "20ms"

// orderedBatchLockTimeout is batchLockTimeout for a HandleBatch, which
// takes its locks in one global order: batches then wait for each other (as
// single events do) rather than deadlock, so they may wait longer.
const orderedBatchLockTimeout = "2s"

// soloAfterContention is how long a worker handles one message per
// transaction after a batch of its met lock contention.
const soloAfterContention = 5 * time.Second

// lockContention says whether err is a lock wait cut short by
// batchLockTimeout (55P03) or a deadlock (40P01).
func lockContention(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && (pg.Code == "55P03" || pg.Code == "40P01")
}

// finalCommitTimeout bounds the offset commit at shutdown.
const finalCommitTimeout = 5 * time.Second

// Run consumes until ctx is cancelled, then commits the offsets of what was
// handled and returns. An offset is committed only after the event's effect
// is committed in Postgres (or it went to the dead-letter topic), so a crash
// at any point leads to redelivery, never to loss.
func (c *Consumer) Run(ctx context.Context) error { return c.run(ctx, nil) }

// run is Run; closing crash stops it as a crash would: at once, with no
// final offset commit (tests).
func (c *Consumer) run(ctx context.Context, crash <-chan struct{}) error {
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:           c.Brokers,
		GroupID:           c.Group,
		GroupTopics:       c.Topics,
		MinBytes:          1,
		MaxBytes:          10 << 20,
		MaxWait:           500 * time.Millisecond,
		SessionTimeout:    6 * time.Second, // the least kfake and default Kafka brokers accept: a dead member is noticed sooner
		HeartbeatInterval: time.Second,
		RebalanceTimeout:  10 * time.Second,
		JoinGroupBackoff:  500 * time.Millisecond,
		StartOffset:       kafka.FirstOffset,
		// Synchronous: CommitMessages returns the broker's answer. The
		// batching is ours (session.commit on a ticker), so that a failed
		// commit is seen, logged and retried with the next one.
		CommitInterval: 0,
	})
	defer r.Close()
	dlq := c.DeadLetters
	if dlq == nil {
		dlq = NewWriter(c.Brokers)
		defer dlq.Close()
	}
	s := &session{c: c, r: r, dlq: dlq, done: newOffsets(), maxBatch: c.MaxBatch, met: newConsumerMetrics()}
	if s.maxBatch <= 0 {
		s.maxBatch = DefaultMaxBatch
	}
	workers := c.Workers
	if workers <= 0 {
		workers = DefaultWorkers
	}
	interval := c.CommitInterval
	if interval <= 0 {
		interval = DefaultCommitInterval
	}

	wctx, stop := context.WithCancel(ctx)
	defer stop()
	crashed := make(chan struct{})
	if crash != nil {
		go func() {
			select {
			case <-crash:
				close(crashed)
				stop()
			case <-wctx.Done():
			}
		}()
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-wctx.Done():
				return
			case <-t.C:
				s.commit(wctx)
			}
		}
	}()
	d := dispatcher{lanes: map[topicPartition]*lane{}, max: workers, start: func(l *lane) {
		wg.Add(1)
		go func() { defer wg.Done(); s.work(wctx, l) }()
	}}
	for {
		m, err := r.FetchMessage(wctx)
		if err != nil {
			if wctx.Err() != nil {
				break
			}
			c.Log.WarnContext(ctx, "kafka fetch failed", "group", c.Group, "err", err)
			if !sleep(wctx, time.Second) {
				break
			}
			continue
		}
		if !d.send(wctx, m) {
			break
		}
	}
	wg.Wait()
	select {
	case <-crashed:
		return nil
	default:
	}
	// The reader's generation is still ours: commit what the workers
	// finished before leaving the group (r.Close), so that whoever takes
	// the partitions over starts right after it.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalCommitTimeout)
	defer cancel()
	s.commit(cctx)
	return nil
}

// topicPartition names a partition of a topic: the unit of order and of
// offsets (a group may read several topics).
type topicPartition struct {
	topic     string
	partition int
}

func partitionOf(m kafka.Message) topicPartition { return topicPartition{m.Topic, m.Partition} }

// lane is one worker's queue; partitions counts those mapped to it (both
// the dispatcher's). soloUntil is its worker's: until then it handles one
// message per transaction, batches having met lock contention.
type lane struct {
	ch         chan kafka.Message
	partitions int
	soloUntil  time.Time
}

// dispatcher maps each partition, at its first message, to a lane: a new
// one while there are fewer than max, else the one with the fewest
// partitions. The mapping never changes, so a partition's messages stay in
// one queue, in order. Only the fetch loop uses it.
type dispatcher struct {
	lanes map[topicPartition]*lane
	all   []*lane
	max   int
	start func(*lane)
}

// send queues m for its partition's worker, waiting while that queue is
// full; false means ctx ended first.
func (d *dispatcher) send(ctx context.Context, m kafka.Message) bool {
	tp := partitionOf(m)
	l, ok := d.lanes[tp]
	if !ok {
		if len(d.all) < d.max {
			l = &lane{ch: make(chan kafka.Message, laneDepth)}
			d.all = append(d.all, l)
			d.start(l)
		} else {
			l = d.all[0]
			for _, o := range d.all[1:] {
				if o.partitions < l.partitions {
					l = o
				}
			}
		}
		l.partitions++
		d.lanes[tp] = l
	}
	select {
	case l.ch <- m:
		return true
	case <-ctx.Done():
		return false
	}
}

// offsets holds, per partition, the last message handled (with every one
// before it) and not yet committed.
type offsets struct {
	mu      sync.Mutex
	pending map[topicPartition]kafka.Message
	// high is the highest offset ever marked per partition: a message
	// delivered again after a rebalance (at or below it) must not move the
	// commit back.
	high map[topicPartition]int64
}

func newOffsets() *offsets {
	return &offsets{pending: map[topicPartition]kafka.Message{}, high: map[topicPartition]int64{}}
}

// handled records that m and everything before it on its partition is done.
func (o *offsets) handled(m kafka.Message) {
	tp := partitionOf(m)
	o.mu.Lock()
	defer o.mu.Unlock()
	if h, ok := o.high[tp]; ok && m.Offset <= h {
		return
	}
	o.high[tp] = m.Offset
	o.pending[tp] = m
}

// take returns the pending messages, one per partition, and forgets them.
func (o *offsets) take() []kafka.Message {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]kafka.Message, 0, len(o.pending))
	for tp, m := range o.pending {
		out = append(out, m)
		delete(o.pending, tp)
	}
	return out
}

// giveBack returns msgs whose commit failed, unless a later message of the
// same partition was handled meanwhile.
func (o *offsets) giveBack(msgs []kafka.Message) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, m := range msgs {
		tp := partitionOf(m)
		if cur, ok := o.pending[tp]; !ok || cur.Offset < m.Offset {
			o.pending[tp] = m
		}
	}
}

type consumerMetrics struct {
	handled metric.Int64Counter
	lag     metric.Float64Histogram
	commits metric.Int64Counter
}

func newConsumerMetrics() consumerMetrics {
	meter := otel.Meter("counterdesk/eventbus")
	handled, _ := meter.Int64Counter("counterdesk_events_consumed_total",
		metric.WithDescription("Events taken from Kafka, by consumer group, topic and outcome."))
	lag, _ := meter.Float64Histogram("counterdesk_event_handle_seconds",
		metric.WithDescription("Time from the event's creation to its effect being committed."),
		// Normal hand-offs take milliseconds; the SLA-relevant tail is minutes.
		metric.WithExplicitBucketBoundaries(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900))
	commits, _ := meter.Int64Counter("counterdesk_event_offset_commits_total",
		metric.WithDescription("Offset commits (each covering every partition with progress), by consumer group and outcome."))
	return consumerMetrics{handled: handled, lag: lag, commits: commits}
}

// session is one Run's state shared by its workers.
type session struct {
	c        *Consumer
	r        *kafka.Reader
	dlq      *kafka.Writer
	done     *offsets
	maxBatch int
	met      consumerMetrics
}

// commit commits the offsets after the messages handled since the last
// commit, one message per partition. A failure (a rebalance under way, a
// partition given to another member meanwhile, the broker away) is logged
// and the offsets are tried again with the next commit: they only ever
// point after effects already committed, so committing them late, or not at
// all, means redelivery, which processed_events turns into a no-op.
func (s *session) commit(ctx context.Context) {
	msgs := s.done.take()
	if len(msgs) == 0 {
		return
	}
	outcome := "ok"
	if err := s.r.CommitMessages(ctx, msgs...); err != nil {
		outcome = "failed"
		s.done.giveBack(msgs)
		s.c.Log.WarnContext(ctx, "kafka offset commit failed; retrying with the next one", "group", s.c.Group,
			"partitions", len(msgs), "err", err)
	}
	s.met.commits.Add(ctx, 1, metric.WithAttributes(attribute.String("group", s.c.Group), attribute.String("outcome", outcome)))
}

// work handles l's messages in order until ctx ends. A lane may serve
// several partitions, whose messages arrive interleaved: work keeps what is
// queued in one list per partition (at most laneDepth messages beyond the
// queue) and takes turns between partitions, each time up to maxBatch
// messages of one partition (batches never mix them, so that two batches
// lock processed_events rows in one order).
func (s *session) work(ctx context.Context, l *lane) {
	pending := map[topicPartition][]kafka.Message{}
	var turns []topicPartition // partitions with messages pending, in turn
	held := 0
	add := func(m kafka.Message) {
		tp := partitionOf(m)
		if len(pending[tp]) == 0 {
			turns = append(turns, tp)
		}
		pending[tp] = append(pending[tp], m)
		held++
	}
	for {
		if held == 0 {
			select {
			case <-ctx.Done():
				return
			case m := <-l.ch:
				add(m)
			}
		}
	drain:
		for held < laneDepth {
			select {
			case m := <-l.ch:
				add(m)
			default:
				break drain
			}
		}
		limit := s.maxBatch
		if time.Now().Before(l.soloUntil) {
			limit = 1
		}
		tp := turns[0]
		turns = turns[1:]
		queued := pending[tp]
		n := min(limit, len(queued))
		batch := queued[:n:n]
		if rest := queued[n:]; len(rest) > 0 {
			pending[tp] = rest
			turns = append(turns, tp)
		} else {
			delete(pending, tp)
		}
		held -= n
		if ctx.Err() != nil || !s.handle(ctx, l, batch) {
			return
		}
	}
}

// delivery is one message being handled, with its consumer span.
type delivery struct {
	m    kafka.Message
	ctx  context.Context // carries span, under the worker's context
	span trace.Span
	env  *eventsv1.Envelope // nil when the message does not decode
	bad  error              // why it does not
	dup  bool               // set by a batch: the event was processed before
}

func (s *session) open(ctx context.Context, m kafka.Message) *delivery {
	mctx := Extract(ctx, m.Headers)
	mctx, span := otel.Tracer("counterdesk/eventbus").Start(mctx, "consume "+m.Topic, trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(
			attribute.String("messaging.system", "kafka"),
			attribute.String("messaging.destination.name", m.Topic),
			attribute.String("messaging.consumer.group.name", s.c.Group),
			attribute.Int("messaging.kafka.partition", m.Partition),
			attribute.Int64("messaging.kafka.offset", m.Offset),
		))
	d := &delivery{m: m, ctx: mctx, span: span}
	env := &eventsv1.Envelope{}
	if err := proto.Unmarshal(m.Value, env); err != nil || !isUUID(env.GetEventId()) || !isUUID(env.GetCaseId()) {
		if err == nil {
			// Every table keys these as uuid: a malformed one would fail the
			// handler's SQL forever and block the partition.
			err = errors.New("envelope event_id and case_id must be UUIDs")
		}
		d.bad = fmt.Errorf("decode envelope: %w", err)
		return d
	}
	span.SetAttributes(attribute.String("case.id", env.GetCaseId()), attribute.String("event.type", env.GetType()),
		attribute.String("event.id", env.GetEventId()), attribute.String("tenant.id", env.GetTenantId()))
	d.env = env
	return d
}

// handle handles msgs (consecutive in their lane) in order: runs of
// decodable messages in one transaction when there are several, the rest
// one at a time. false means ctx ended first; the message it ended in and
// those after it are left unhandled (and their offsets uncommitted).
func (s *session) handle(ctx context.Context, l *lane, msgs []kafka.Message) bool {
	ds := make([]*delivery, len(msgs))
	for i, m := range msgs {
		ds[i] = s.open(ctx, m)
	}
	defer func() {
		for _, d := range ds {
			d.span.End()
		}
	}()
	for i := 0; i < len(ds); {
		if ds[i].env == nil {
			outcome := s.c.deadLetter(ds[i].ctx, ds[i].span, ds[i].m, s.dlq, ds[i].bad)
			if outcome == "" {
				return false
			}
			s.finish(ds[i], outcome)
			i++
			continue
		}
		j := i + 1
		for j < len(ds) && ds[j].env != nil {
			j++
		}
		if !s.handleRun(ctx, l, ds[i:j]) {
			return false
		}
		i = j
	}
	return true
}

// handleRun handles decoded deliveries: together in one transaction when
// there are several and that works, else one by one.
func (s *session) handleRun(ctx context.Context, l *lane, run []*delivery) bool {
	if len(run) > 1 {
		for _, d := range run {
			d.span.SetAttributes(attribute.Int("messaging.batch.message_count", len(run)))
		}
		err := s.c.applyBatch(ctx, run)
		if err == nil {
			for _, d := range run {
				if d.dup {
					d.span.SetAttributes(attribute.Bool("event.duplicate", true))
					s.finish(d, "duplicate")
				} else {
					s.afterCommit(d)
					s.finish(d, "applied")
				}
			}
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		if lockContention(err) {
			// Batches lock the rows of many events in no particular
			// order: against other workers' they deadlock or wait on hot
			// rows. One event per transaction holds locks briefly.
			l.soloUntil = time.Now().Add(soloAfterContention)
		}
		// Whatever failed, and for whichever message, each gets its own
		// transaction now: a poison message is dead-lettered alone and
		// the others are applied.
		for _, d := range run {
			d.dup = false
			d.span.AddEvent("batch rolled back", trace.WithAttributes(attribute.String("error", err.Error()), attribute.Int("batch.size", len(run))))
		}
	}
	for _, d := range run {
		outcome := s.process(ctx, d)
		if outcome == "" {
			return false
		}
		s.finish(d, outcome)
	}
	return true
}

// finish records d's outcome and marks its offset for the next commit.
func (s *session) finish(d *delivery, outcome string) {
	attrs := metric.WithAttributes(attribute.String("group", s.c.Group), attribute.String("topic", d.m.Topic), attribute.String("outcome", outcome))
	s.met.handled.Add(d.ctx, 1, attrs)
	if outcome == "applied" {
		s.met.lag.Record(d.ctx, time.Since(d.env.GetOccurredAt().AsTime()).Seconds(),
			metric.WithAttributes(attribute.String("group", s.c.Group), attribute.String("topic", d.m.Topic)))
	}
	s.done.handled(d.m)
}

func (s *session) afterCommit(d *delivery) {
	if s.c.AfterCommit == nil {
		return
	}
	if err := s.c.AfterCommit(d.ctx, d.env); err != nil {
		// The committed state is the truth; the side effect is rebuilt from it.
		s.c.Log.WarnContext(d.ctx, "after-commit effect failed", "group", s.c.Group, "event_type", d.env.GetType(), "err", err)
	}
}

// process handles one decoded message in its own transaction until it is
// applied, skipped as a duplicate or dead-lettered, and says which; ""
// means ctx ended first.
func (s *session) process(ctx context.Context, d *delivery) string {
	backoff := 100 * time.Millisecond
	for {
		dup, err := s.c.apply(d.ctx, d.env)
		switch {
		case err == nil && dup:
			d.span.SetAttributes(attribute.Bool("event.duplicate", true))
			return "duplicate"
		case err == nil:
			s.afterCommit(d)
			return "applied"
		case IsPermanent(err):
			return s.c.deadLetter(d.ctx, d.span, d.m, s.dlq, err)
		default:
			d.span.AddEvent("retry", trace.WithAttributes(attribute.String("error", err.Error())))
			s.c.Log.WarnContext(d.ctx, "event handling failed; retrying", "group", s.c.Group, "event_type", d.env.GetType(),
				"event_id", d.env.GetEventId(), "err", err, "backoff", backoff.String())
			if !sleep(ctx, backoff) {
				return ""
			}
			backoff = min(backoff*2, 30*time.Second)
		}
	}
}

// recordProcessed inserts (group, event) into processed_events in tx, and
// says whether it was there already.
func (c *Consumer) recordProcessed(ctx context.Context, tx pgx.Tx, env *eventsv1.Envelope) (dup bool, err error) {
	tag, err := tx.Exec(ctx, `INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
		c.Group, env.GetEventId())
	if err != nil {
		return false, fmt.Errorf("record processed event: %w", err)
	}
	return tag.RowsAffected() == 0, nil
}

func (c *Consumer) apply(ctx context.Context, env *eventsv1.Envelope) (dup bool, err error) {
	tx, err := c.Pool.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if dup, err := c.recordProcessed(ctx, tx, env); err != nil || dup {
		return dup, err
	}
	if err := c.Handle(ctx, tx, env); err != nil {
		return false, err
	}
	if err := tx.Commit(ctx); err != nil {
		return false, fmt.Errorf("commit: %w", err)
	}
	return false, nil
}

// applyBatch applies run in one transaction, each message's statements
// under its own span, and sets each one's dup. Any error rolls back all.
func (c *Consumer) applyBatch(ctx context.Context, run []*delivery) error {
	tx, err := c.Pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	timeout := batchLockTimeout
	if c.HandleBatch != nil {
		timeout = orderedBatchLockTimeout
	}
	if _, err := tx.Exec(ctx, `SET LOCAL lock_timeout = '`+timeout+`'`); err != nil {
		return fmt.Errorf("set lock_timeout: %w", err)
	}
	if c.HandleBatch != nil {
		return c.applyBatchTogether(ctx, tx, run)
	}
	for _, d := range run {
		if d.dup, err = c.recordProcessed(d.ctx, tx, d.env); err != nil {
			return err
		}
		if d.dup {
			continue
		}
		if err := c.Handle(d.ctx, tx, d.env); err != nil {
			return fmt.Errorf("event %s: %w", d.env.GetEventId(), err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// applyBatchTogether is applyBatch with HandleBatch: processed_events
// takes the whole run in one statement, and the events not seen before go
// to HandleBatch at once, under a span of their own linked to each event's.
func (c *Consumer) applyBatchTogether(ctx context.Context, tx pgx.Tx, run []*delivery) error {
	ids := make([]string, len(run))
	links := make([]trace.Link, len(run))
	for i, d := range run {
		ids[i] = d.env.GetEventId()
		links[i] = trace.LinkFromContext(d.ctx)
	}
	bctx, span := otel.Tracer("counterdesk/eventbus").Start(run[0].ctx, "handle batch", trace.WithLinks(links...),
		trace.WithAttributes(attribute.String("messaging.consumer.group.name", c.Group), attribute.Int("messaging.batch.message_count", len(run))))
	defer span.End()
	rows, err := tx.Query(bctx, `INSERT INTO processed_events (consumer, event_id) SELECT $1, unnest($2::uuid[])
		ON CONFLICT DO NOTHING RETURNING event_id::text`, c.Group, ids)
	if err != nil {
		return fmt.Errorf("record processed events: %w", err)
	}
	fresh, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("record processed events: %w", err)
	}
	isNew := make(map[string]bool, len(fresh))
	for _, id := range fresh {
		isNew[id] = true
	}
	envs := make([]*eventsv1.Envelope, 0, len(run))
	for _, d := range run {
		// The same event twice in one run: the first applies. Postgres
		// writes a uuid in lower case.
		id := strings.ToLower(d.env.GetEventId())
		d.dup = !isNew[id]
		if !d.dup {
			envs = append(envs, d.env)
			delete(isNew, id)
		}
	}
	if len(envs) > 0 {
		if err := c.HandleBatch(bctx, tx, envs); err != nil {
			span.RecordError(err)
			return fmt.Errorf("batch of %d events: %w", len(envs), err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func (c *Consumer) deadLetter(ctx context.Context, span trace.Span, m kafka.Message, dlq *kafka.Writer, reason error) string {
	span.RecordError(reason)
	span.SetStatus(codes.Error, "dead-lettered")
	c.Log.ErrorContext(ctx, "event sent to dead-letter topic", "group", c.Group, "topic", m.Topic,
		"partition", m.Partition, "offset", m.Offset, "reason", reason.Error())
	headers := append([]kafka.Header{}, m.Headers...)
	headers = append(headers,
		kafka.Header{Key: "x-dlq-reason", Value: []byte(reason.Error())},
		kafka.Header{Key: "x-dlq-consumer", Value: []byte(c.Group)},
		kafka.Header{Key: "x-dlq-source", Value: fmt.Appendf(nil, "%s/%d/%d", m.Topic, m.Partition, m.Offset)},
	)
	for {
		err := dlq.WriteMessages(ctx, kafka.Message{Topic: DeadLetterTopic(m.Topic), Key: m.Key, Value: m.Value, Headers: headers})
		if err == nil {
			return "dead_lettered"
		}
		c.Log.WarnContext(ctx, "dead-letter write failed; retrying", "err", err)
		if !sleep(ctx, time.Second) {
			return ""
		}
	}
}

func isUUID(s string) bool {
	_, err := uuid.Parse(s)
	return err == nil && len(s) == 36
}

func sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}
