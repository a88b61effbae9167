package timerkafka

import (
	"context"
	"log/slog"
	"sync"
	"time"

	eventsv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	"github.com/counterdesk/counterdesk/services/platform/eventbus"
	"github.com/counterdesk/counterdesk/services/platform/outbox"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/timerpg"
	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Defaults of the Firer.
const (
	DefaultFireTick    = 200 * time.Millisecond
	DefaultFireBatch   = 256
	DefaultFireWorkers = 2
)

// Firer is the loop every slatimer replica runs to fire due warnings and
// breaches. Every timer is a timer_fires row in Postgres; any number of
// replicas (and Workers within one) share them through Store.FireDue, which
// claims the deadlines with due fires FOR UPDATE SKIP LOCKED and writes each
// fire's event to the outbox in the transaction that marks it fired: a fire
// happens once, never before its fire_at on the loop's clock, and whatever a
// crashed replica held is rolled back and fired by the next pass anywhere
// (at start, for the replica that comes back: the first pass runs at once).
//
// How late: the loop does not poll at a fixed interval. After a pass it asks
// for the next pending fire_at and sleeps until then, or at most Tick, which
// bounds how late a timer armed meanwhile (due sooner than any it knew of)
// or one a dead replica held is seen. Under load passes follow each other
// back to back, each firing what came due during the last, so the lag is
// about one pass; a full pass (Batch fires: a backlog after downtime, a
// burst) makes Workers passes run at once until the backlog is gone.
//
// Why SKIP LOCKED rows and not a job library such as riverqueue/river: a
// timer here is not a job but part of the deadline's state. Arming, meeting,
// pausing, resuming and recounting a deadline change its fires in the same
// transaction and under the same deadline row lock as the deadline itself
// (a met deadline's warnings are cancelled atomically with the meeting; a
// resumed clock's fires move with its due time), and firing takes that lock
// to fire all of a deadline's due levels in order and raise its level. With
// river every such change would also have to find, cancel or reschedule the
// deadline's jobs in river's own table, and river's "exactly once" is a
// job's, not the deadline's: we would still need the deadline lock inside
// the worker to keep levels in order and to skip a fire met a moment ago.
// The claim is one indexed query on tables we already have, with no second
// schema, migration stream or library runtime to operate and upgrade, and
// row-level security on those tables stays as it is. What river would add —
// retries with backoff, job history, an admin UI — the outbox and the loop
// already cover (a failed pass rolls back and the fire stays due).
type Firer struct {
	Store *timerpg.Store
	Log   *slog.Logger
	// Now is the loop's clock: a fire is due when fire_at <= Now().
	Now func() time.Time
	// Tick is the longest the loop sleeps without looking (default
	// DefaultFireTick).
	Tick time.Duration
	// Batch is the most fires one transaction claims (default
	// DefaultFireBatch).
	Batch int
	// Workers is how many passes run at once while a backlog drains
	// (default DefaultFireWorkers).
	Workers int
	// After returns a channel that receives once d has passed on the
	// loop's clock; nil: real time (time.After). A test owning Now gives
	// one that follows its clock.
	After func(d time.Duration) <-chan time.Time
	// Lag, if set, records how late each fire was (the pass's clock minus
	// fire_at), in seconds.
	Lag metric.Float64Histogram
}

func (f *Firer) defaults() {
	if f.Tick <= 0 {
		f.Tick = DefaultFireTick
	}
	if f.Batch <= 0 {
		f.Batch = DefaultFireBatch
	}
	if f.Workers <= 0 {
		f.Workers = DefaultFireWorkers
	}
	if f.After == nil {
		f.After = time.After
	}
}

// Run fires until ctx ends.
func (f *Firer) Run(ctx context.Context) error {
	f.defaults()
	for first := true; ; first = false {
		now := f.Now()
		n, err := f.pass(ctx, now)
		if ctx.Err() != nil {
			return nil
		}
		if first && err == nil {
			f.Log.InfoContext(ctx, "timer firer running", "fired_at_start", n)
		}
		if err == nil && n >= f.Batch {
			f.drain(ctx)
			continue
		}
		wait := f.Tick
		if err == nil {
			next, ok, nerr := f.Store.NextFireAfter(ctx, now)
			switch {
			case nerr != nil:
				err = nerr
			case ok:
				wait = min(wait, next.Sub(f.Now()))
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			f.Log.WarnContext(ctx, "firing due timers failed; will retry", "err", err, "retry_in", f.Tick.String())
			wait = f.Tick
		}
		if wait <= 0 {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-f.After(wait):
		}
	}
}

// drain runs Workers passes at once until one comes back less than full.
func (f *Firer) drain(ctx context.Context) {
	var wg sync.WaitGroup
	for range f.Workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				n, err := f.pass(ctx, f.Now())
				if err != nil {
					if ctx.Err() == nil {
						f.Log.WarnContext(ctx, "firing due timers failed", "err", err)
					}
					return
				}
				if n < f.Batch {
					return
				}
			}
		})
	}
	wg.Wait()
}

// pass is one FireDue transaction at now.
func (f *Firer) pass(ctx context.Context, now time.Time) (int, error) {
	var lags []float64
	var levels []string
	n, err := f.Store.FireDue(ctx, now, f.Batch, func(ctx context.Context, tx pgx.Tx, fire timerpg.Fire) error {
		if f.Lag != nil {
			lags, levels = append(lags, fire.FiredAt.Sub(fire.FireAt).Seconds()), append(levels, fire.Level)
		}
		return f.publish(ctx, tx, fire)
	})
	if err == nil {
		for i, l := range lags { // only fires that committed count
			f.Lag.Record(ctx, l, metric.WithAttributes(attribute.String("level", levels[i])))
		}
	}
	return n, err
}

func (f *Firer) publish(ctx context.Context, tx pgx.Tx, fire timerpg.Fire) error {
	// Continue the case's trace, so a breach can be followed back to intake.
	pctx := otel.GetTextMapPropagator().Extract(ctx, propagation.MapCarrier(fire.Trace))
	pctx, span := otel.Tracer("counterdesk/slatimer").Start(pctx, "fire "+fire.Level,
		trace.WithAttributes(attribute.String("case.id", fire.CaseID), attribute.String("deadline.kind", fire.Kind)))
	defer span.End()
	// The event occurred when the loop's clock fired it, not when the
	// outbox row was written.
	env := &eventsv1.Envelope{TenantId: fire.Tenant, CaseId: fire.CaseID, OccurredAt: timestamppb.New(fire.FiredAt)}
	if fire.Level == timerpg.LevelBreached {
		env.Payload = &eventsv1.Envelope_DeadlineBreached{DeadlineBreached: &eventsv1.DeadlineBreached{Kind: fire.Kind, DueAt: timestamppb.New(fire.DueAt), Provisional: fire.Provisional}}
	} else {
		env.Payload = &eventsv1.Envelope_DeadlineWarned{DeadlineWarned: &eventsv1.DeadlineWarned{Kind: fire.Kind, Level: fire.Level, DueAt: timestamppb.New(fire.DueAt), Provisional: fire.Provisional}}
	}
	return outbox.Add(pctx, tx, "slatimer", eventbus.TopicSLAEvents, env)
}
