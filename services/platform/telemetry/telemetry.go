// Package telemetry sets up OpenTelemetry for a service: traces exported over
// OTLP/HTTP when an endpoint is configured, W3C trace-context propagation (so
// a trace crosses gRPC calls and Kafka messages), and metrics served in
// Prometheus format on /metrics. Shutdown flushes whatever is buffered and is
// meant to run last.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	promexporter "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Telemetry holds the providers of one process.
type Telemetry struct {
	// Metrics serves the Prometheus exposition format.
	Metrics  http.Handler
	tracer   *sdktrace.TracerProvider
	meter    *sdkmetric.MeterProvider
	Registry *prometheus.Registry
}

// Setup installs global tracer and meter providers for service. With an empty
// otlpEndpoint spans are still created (trace ids appear in logs and Kafka
// headers) but not exported.
func Setup(ctx context.Context, service, otlpEndpoint string) (*Telemetry, error) {
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(attribute.String("service.name", service)))
	if err != nil {
		return nil, fmt.Errorf("build telemetry resource: %w", err)
	}
	opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	if otlpEndpoint != "" {
		// The exporter reads OTEL_EXPORTER_OTLP_* itself; the endpoint may be a
		// base URL (http://collector:4318), as the specification says.
		exp, err := otlptracehttp.New(ctx)
		if err != nil {
			return nil, fmt.Errorf("create OTLP trace exporter: %w", err)
		}
		opts = append(opts, sdktrace.WithBatcher(exp))
	}
	tp := sdktrace.NewTracerProvider(opts...)
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	pexp, err := promexporter.New(promexporter.WithRegisterer(reg))
	if err != nil {
		return nil, fmt.Errorf("create prometheus exporter: %w", err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithResource(res), sdkmetric.WithReader(pexp))
	otel.SetMeterProvider(mp)
	return &Telemetry{
		Metrics:  promhttp.HandlerFor(reg, promhttp.HandlerOpts{}),
		tracer:   tp,
		meter:    mp,
		Registry: reg,
	}, nil
}

// Shutdown flushes and stops the providers.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	return errors.Join(t.tracer.Shutdown(ctx), t.meter.Shutdown(ctx))
}
