// Package eventbus is all of counterdesk's Kafka code: topic names, topic
// creation for local brokers, a synchronous writer, and the idempotent
// consumer that records each processed event id in the same Postgres
// transaction as its effect and sends poison messages to a dead-letter topic.
// See DESIGN.md beside this file for the delivery guarantees.
package eventbus

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"
)

// Topics, one per producing service, keyed by case id.
const (
	TopicCaseEvents         = "case-events"
	TopicAssignmentEvents   = "assignment-events"
	TopicSLAEvents          = "sla-events"
	TopicNotificationEvents = "notification-events"
)

// TopicAuditEvents carries intake's audit anchors (AuditAnchored), one per
// bank and anchoring round, with no case id and so no key. It is apart from
// case-events because it is a witness kept outside intake's database, with
// its own retention and readers (a bank's auditors), and the case consumers
// have no use for it.
const TopicAuditEvents = "audit-events"

// TopicRectificationEvents carries reporting's rectification notices
// (issued, due soon or overdue, closed), keyed by nothing: a notice is no
// case. notification tells the branch.
const TopicRectificationEvents = "rectification-events"

// AllTopics lists every topic with its dead-letter companion.
func AllTopics() []string {
	base := []string{TopicCaseEvents, TopicAssignmentEvents, TopicSLAEvents, TopicNotificationEvents, TopicAuditEvents,
		TopicRectificationEvents}
	out := append([]string{}, base...)
	for _, t := range base {
		out = append(out, DeadLetterTopic(t))
	}
	return out
}

// DeadLetterTopic is where a consumer puts messages of topic it cannot handle.
func DeadLetterTopic(topic string) string { return topic + ".dlq" }

// EnsureTopics creates the topics that do not exist yet. In Kubernetes the
// Kafka operator declares them; locally and in tests the service does.
func EnsureTopics(ctx context.Context, brokers []string, partitions int, topics ...string) error {
	var lastErr error
	for attempt := 0; attempt < 40; attempt++ {
		if lastErr = createTopics(ctx, brokers, partitions, topics); lastErr == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	return fmt.Errorf("create kafka topics: %w", lastErr)
}

func createTopics(ctx context.Context, brokers []string, partitions int, topics []string) error {
	d := &kafka.Dialer{Timeout: 5 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", brokers[0])
	if err != nil {
		return err
	}
	defer conn.Close()
	ctrl, err := conn.Controller()
	if err != nil {
		return err
	}
	cc, err := d.DialContext(ctx, "tcp", net.JoinHostPort(ctrl.Host, strconv.Itoa(ctrl.Port)))
	if err != nil {
		return err
	}
	defer cc.Close()
	cfgs := make([]kafka.TopicConfig, 0, len(topics))
	for _, t := range topics {
		cfgs = append(cfgs, kafka.TopicConfig{Topic: t, NumPartitions: partitions, ReplicationFactor: 1})
	}
	err = cc.CreateTopics(cfgs...)
	if err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
		return err
	}
	return nil
}

// NewWriter returns a writer that waits for every in-sync replica and sends
// each call's messages at once (no linger), partitioning by key with the
// same murmur2 hash as Java clients.
func NewWriter(brokers []string) *kafka.Writer {
	return &kafka.Writer{
		Addr:                   kafka.TCP(brokers...),
		Balancer:               &kafka.Murmur2Balancer{},
		RequiredAcks:           kafka.RequireAll,
		BatchTimeout:           2 * time.Millisecond,
		BatchSize:              500,
		MaxAttempts:            5,
		WriteTimeout:           10 * time.Second,
		AllowAutoTopicCreation: false,
	}
}
