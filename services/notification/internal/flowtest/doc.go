// Package flowtest holds the notification service's integration tests: the
// event handler, the Postgres store, the sender and the API working together
// against a real Postgres, a real SMTP server and intake's gRPC API served
// by a small stand-in. It has no code of its own.
package flowtest
