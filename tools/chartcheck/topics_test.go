package main

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/counterdesk/counterdesk/services/platform/eventbus"
)

// Every topic a service reads or writes (and its dead letters) is declared
// for the production Kafka, where services do not create topics.
func TestEveryTopicIsDeclaredForTheProductionKafka(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "deploy", "infra", "kafka.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	declared := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^kind: KafkaTopic\nmetadata:\n  name: (\S+)`).FindAllSubmatch(raw, -1) {
		declared[string(m[1])] = true
	}
	if len(declared) == 0 {
		t.Fatal("no KafkaTopic in deploy/infra/kafka.yaml")
	}
	for _, topic := range eventbus.AllTopics() {
		if !declared[topic] {
			t.Errorf("topic %s is not declared in deploy/infra/kafka.yaml", topic)
		}
	}
}
