package rectifypg_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	eventsv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	"github.com/counterdesk/counterdesk/services/platform/eventbus"
	"github.com/counterdesk/counterdesk/services/platform/outbox"
	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/counterdesk/counterdesk/services/platform/testinfra"
	"github.com/counterdesk/counterdesk/services/reporting/internal/rectify"
	"github.com/counterdesk/counterdesk/services/reporting/internal/rectifypg"
	"github.com/counterdesk/counterdesk/services/reporting/migrations"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/segmentio/kafka-go"
	"google.golang.org/protobuf/proto"
)

// process is one run of the reporting service's parts that matter here:
// its pool, the outbox relay and the reminder loop.
type process struct {
	pool      *pgxpool.Pool
	reminders *rectify.Reminders
	stop      func()
}

func (e *env) start(url string) *process {
	e.t.Helper()
	pool, err := pgdb.Connect(context.Background(), url, migrations.FS, time.Minute, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(pgdb.WithTenant(context.Background(), pgdb.AllTenants))
	w := eventbus.NewWriter([]string{testinfra.Brokers(e.t)})
	relay := &outbox.Relay{Pool: pool, Writer: w, Log: log, Service: "reporting", Poll: 20 * time.Millisecond}
	done := make(chan error, 1)
	go func() { done <- relay.Run(ctx) }()
	p := &process{pool: pool, reminders: &rectify.Reminders{Store: &rectifypg.Store{Pool: pool}, Now: func() time.Time { return e.now },
		Lead: 72 * time.Hour, Log: log}}
	p.stop = func() {
		cancel()
		if err := <-done; err != nil {
			e.t.Errorf("relay: %v", err)
		}
		_ = w.Close()
		pool.Close()
	}
	return p
}

// waitPublished waits until the outbox is empty: the relay deletes a row
// only after the broker acknowledged it.
func (e *env) waitPublished() {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second) //nolint:forbidigo // waiting for a real relay
	for {
		var n int
		if err := e.owner.QueryRow(context.Background(), `SELECT count(*) FROM outbox`).Scan(&n); err != nil {
			e.t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) { //nolint:forbidigo // as above
			e.t.Fatalf("outbox still holds %d events", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// topicEvents reads every message of the rectification topic.
func (e *env) topicEvents() []*eventsv1.Envelope {
	e.t.Helper()
	ctx := context.Background()
	broker := testinfra.Brokers(e.t)
	var out []*eventsv1.Envelope
	for p := range testinfra.KafkaPartitions {
		conn, err := kafka.DialLeader(ctx, "tcp", broker, rectifypg.TopicRectificationEvents, p)
		if err != nil {
			e.t.Fatal(err)
		}
		last, err := conn.ReadLastOffset()
		conn.Close()
		if err != nil {
			e.t.Fatal(err)
		}
		if last == 0 {
			continue
		}
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{broker}, Topic: rectifypg.TopicRectificationEvents,
			Partition: p, MaxWait: 500 * time.Millisecond})
		for range last {
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			m, err := r.ReadMessage(rctx)
			cancel()
			if err != nil {
				e.t.Fatal(err)
			}
			env := &eventsv1.Envelope{}
			if err := proto.Unmarshal(m.Value, env); err != nil {
				e.t.Fatal(err)
			}
			out = append(out, env)
		}
		_ = r.Close()
	}
	return out
}

func TestRemindersReachKafkaOnceAcrossARestart(t *testing.T) {
	e := newEnv(t)
	if err := eventbus.EnsureTopics(context.Background(), []string{testinfra.Brokers(t)}, testinfra.KafkaPartitions,
		rectifypg.TopicRectificationEvents); err != nil {
		t.Fatal(err)
	}
	url := e.app.Config().ConnString()
	n, err := e.issue(east, pudongReq("2026-03-12")) // ends 2026-03-12 16:00 UTC
	if err != nil {
		t.Fatal(err)
	}
	bg := pgdb.WithTenant(context.Background(), pgdb.AllTenants)

	// The first run finds it due soon, twice, and publishes once.
	first := e.start(url)
	for range 2 {
		if _, err := first.reminders.Pass(bg); err != nil {
			t.Fatal(err)
		}
	}
	e.waitPublished()
	first.stop()

	// The restarted service, at the same time and then past due.
	second := e.start(url)
	defer second.stop()
	if _, err := second.reminders.Pass(bg); err != nil {
		t.Fatal(err)
	}
	e.now = time.Date(2026, 3, 13, 1, 0, 0, 0, time.UTC)
	for range 2 {
		if _, err := second.reminders.Pass(bg); err != nil {
			t.Fatal(err)
		}
	}
	e.waitPublished()

	kinds := map[string]int{}
	for _, ev := range e.topicEvents() {
		switch {
		case ev.GetRectificationNoticeIssued() != nil:
			kinds["issued"]++
		case ev.GetRectificationNoticeDue() != nil:
			d := ev.GetRectificationNoticeDue()
			if d.GetNoticeId() != n.GetId() || d.GetBranchId() != "br-pudong" || ev.GetTenantId() != bank ||
				!d.GetDueAt().AsTime().Equal(n.GetDueAt().AsTime()) {
				t.Errorf("reminder = %v", ev)
			}
			kinds[d.GetReminder()]++
		}
	}
	if kinds["issued"] != 1 || kinds["due_soon"] != 1 || kinds["overdue"] != 1 || len(kinds) != 3 {
		t.Errorf("events on the topic = %v, want one issued, one due_soon, one overdue", kinds)
	}
}
