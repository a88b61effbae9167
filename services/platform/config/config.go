// Package config parses a service's configuration once, from the environment,
// into one struct with defaults, and renders it for the start-up log with
// secrets masked. Services embed Common and add their own fields.
package config

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
)

// Common is what every counterdesk service needs. Fields tagged secret:"true"
// never appear in logs.
type Common struct {
	ServiceName  string   `env:"OTEL_SERVICE_NAME"`
	GRPCAddr     string   `env:"GRPC_ADDR" envDefault:":9090"`
	HTTPAddr     string   `env:"HTTP_ADDR" envDefault:":8080"`
	DatabaseURL  string   `env:"DATABASE_URL,required,notEmpty" secret:"true"`
	KafkaBrokers []string `env:"KAFKA_BROKERS,required,notEmpty" envSeparator:","`
	// AuthTrustFile is the installation's trust: each bank's issuer keys
	// and API key digests, the operators' issuer, the services' public keys.
	AuthTrustFile string `env:"AUTH_TRUST_FILE,required,notEmpty"`
	// ServiceKeyFile is this service's own private key (a JWK, kid = name).
	ServiceKeyFile string `env:"SERVICE_KEY_FILE,required,notEmpty"`
	// GRPCReflection serves gRPC reflection (to authenticated callers only);
	// off in production.
	GRPCReflection  bool          `env:"GRPC_REFLECTION" envDefault:"false"`
	OTLPEndpoint    string        `env:"OTEL_EXPORTER_OTLP_ENDPOINT"`
	LogLevel        string        `env:"LOG_LEVEL" envDefault:"info"`
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"20s"`
	// KafkaPartitions is used when the service creates its topics itself
	// (local and test brokers); in Kubernetes topics are declared by the operator.
	KafkaPartitions int `env:"KAFKA_PARTITIONS" envDefault:"6"`
	// KafkaConsumerWorkers bounds the partitions a consumer handles at once
	// (one goroutine, and at most one Postgres connection, each); 0 means
	// eventbus.DefaultWorkers. Size DATABASE_URL's pool_max_conns above it.
	KafkaConsumerWorkers int `env:"KAFKA_CONSUMER_WORKERS" envDefault:"0"`
	// KafkaConsumerBatch is how many queued messages of a partition a
	// consumer applies in one transaction (1: one each); 0 means
	// eventbus.DefaultMaxBatch.
	KafkaConsumerBatch int `env:"KAFKA_CONSUMER_BATCH" envDefault:"0"`
	// KafkaCommitInterval is how often consumers commit their offsets: a
	// crash redelivers (and processed_events skips) at most this much work.
	KafkaCommitInterval time.Duration `env:"KAFKA_COMMIT_INTERVAL" envDefault:"200ms"`
	// PprofAddr, when set, serves Go's profiles (net/http/pprof) on a
	// listener of its own, never on the API port: the devstack binds it to
	// 127.0.0.1 so tools/loadgen --profile can take CPU profiles under load.
	// Empty (the chart's default): no profiles.
	PprofAddr string `env:"PPROF_ADDR"`
}

// Load fills cfg (a pointer to a struct) from the environment.
func Load(cfg any) error {
	if err := env.Parse(cfg); err != nil {
		return fmt.Errorf("read configuration from environment: %w", err)
	}
	return nil
}

// Masked returns the configuration as key/value pairs for logging, with every
// field tagged secret:"true" replaced by "***" (or "" when unset).
func Masked(cfg any) map[string]any {
	out := map[string]any{}
	mask(reflect.ValueOf(cfg), out)
	return out
}

func mask(v reflect.Value, out map[string]any) {
	for v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		fv := v.Field(i)
		if f.Anonymous && fv.Kind() == reflect.Struct {
			mask(fv, out)
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("env"), ",")
		if name == "" {
			name = f.Name
		}
		if f.Tag.Get("secret") == "true" {
			if fv.IsZero() {
				out[name] = ""
			} else {
				out[name] = "***"
			}
			continue
		}
		out[name] = fv.Interface()
	}
}

// Base returns the common part of a service configuration that embeds Common.
func (c Common) Base() Common { return c }
