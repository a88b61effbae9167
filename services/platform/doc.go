// Package platform is the root of counterdesk's shared plumbing module. The
// code lives in sub-packages, each named for what it provides: config,
// logging, telemetry, pgstore, outbox, eventbus, grpcserver, auth, localinfra.
package platform
