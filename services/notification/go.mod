module github.com/counterdesk/counterdesk/services/notification

go 1.26.0

require (
	github.com/counterdesk/counterdesk/proto/gen v0.0.0
	github.com/counterdesk/counterdesk/services/platform v0.0.0
	github.com/google/uuid v1.6.0
	github.com/jackc/pgx/v5 v5.12.0
	go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc v0.72.0
	go.opentelemetry.io/otel v1.47.0
	go.opentelemetry.io/otel/metric v1.47.0
	go.opentelemetry.io/otel/sdk v1.47.0
	go.opentelemetry.io/otel/trace v1.47.0
	google.golang.org/grpc v1.84.0
	google.golang.org/protobuf v1.36.12
)

replace (
	github.com/counterdesk/counterdesk/proto/gen => ../../proto/gen
	github.com/counterdesk/counterdesk/services/platform => ../platform
)
