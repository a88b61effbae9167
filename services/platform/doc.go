// Package platform is the root of counterdesk's shared plumbing module. The
// code lives in sub-packages, each named for what it provides: config,
// logging, telemetry, pgdb (pool + migrations), outbox, eventbus (Kafka),
// grpcserver (gRPC + HTTP gateway), auth, pii, service (wiring and shutdown
// order), localinfra (real local Postgres/Redis/broker/SMTP/trace viewer) and
// testinfra (the test helper built on it).
package platform
