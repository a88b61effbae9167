package localinfra

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

func newReader(addr, group, topic string) *kafka.Reader {
	return kafka.NewReader(kafka.ReaderConfig{
		Brokers:        []string{addr},
		GroupID:        group,
		Topic:          topic,
		StartOffset:    kafka.FirstOffset,
		SessionTimeout: 6 * time.Second,        // kfake's minimum
		MaxWait:        500 * time.Millisecond, // lower values time out on a busy 2-core box
	})
}

func TestBrokerConsumerGroupAndRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := filepath.Join(t.TempDir(), "kafka")
	port := freePort(t)

	start := time.Now()
	b, err := StartBroker(dir, port, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("broker start: %v", time.Since(start))
	if b.Cluster() == nil {
		t.Fatal("Cluster() = nil")
	}
	// The data dir is locked while the broker runs.
	if b2, err := StartBroker(dir, 0, 1); err == nil {
		b2.Close()
		t.Fatal("second broker on the same data dir started")
	}

	w := &kafka.Writer{
		Addr:                   kafka.TCP(b.Addr()),
		Topic:                  "case-events",
		RequiredAcks:           kafka.RequireAll,
		AllowAutoTopicCreation: true,
		BatchTimeout:           5 * time.Millisecond,
	}
	if err := w.WriteMessages(ctx,
		kafka.Message{Key: []byte("c1"), Value: []byte("opened")},
		kafka.Message{Key: []byte("c1"), Value: []byte("assigned")},
	); err != nil {
		t.Fatal(err)
	}
	w.Close()

	r := newReader(b.Addr(), "routing", "case-events")
	start = time.Now()
	m, err := r.FetchMessage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("consumer group join + first fetch: %v", time.Since(start))
	if string(m.Value) != "opened" {
		t.Fatalf("first message %q, want opened", m.Value)
	}
	if err := r.CommitMessages(ctx, m); err != nil {
		t.Fatal(err)
	}
	r.Close()
	b.Close()

	// Same data dir, same port: the second message is still there and the
	// group resumes after its committed offset.
	b, err = StartBroker(dir, port, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	r = newReader(b.Addr(), "routing", "case-events")
	defer r.Close()
	m, err = r.FetchMessage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Value) != "assigned" || m.Offset != 1 {
		t.Fatalf("after restart got %q at offset %d, want assigned at 1", m.Value, m.Offset)
	}

	// And the committed message itself survived too.
	pr := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{b.Addr()}, Topic: "case-events", Partition: 0, MaxWait: 500 * time.Millisecond})
	defer pr.Close()
	m, err = pr.ReadMessage(ctx)
	if err != nil || string(m.Value) != "opened" {
		t.Fatalf("offset 0 after restart: %q, %v", m.Value, err)
	}
}

func TestBrokerInMemoryPickPort(t *testing.T) {
	b, err := StartBroker("", 0, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Addr() == "" || b.Addr() == "127.0.0.1:0" {
		t.Fatalf("Addr = %q", b.Addr())
	}
	conn, err := kafka.Dial("tcp", b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.CreateTopics(kafka.TopicConfig{Topic: "t", NumPartitions: -1, ReplicationFactor: -1}); err != nil {
		t.Fatal(err)
	}
	parts, err := conn.ReadPartitions("t")
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 3 {
		t.Errorf("auto partitions = %d, want 3", len(parts))
	}
}
