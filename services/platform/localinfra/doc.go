// Package localinfra starts the real infrastructure counterdesk needs, as
// private processes on 127.0.0.1, for the local dev stack and for
// integration tests: PostgreSQL and Redis (the Debian server binaries),
// a Kafka-compatible broker (franz-go's kfake, in process), an SMTP mail
// sink that stores every message as an .eml file, an HTTP SMS gateway sink
// and a webhook sink that store every message as a JSON file, and an
// OTLP/HTTP trace sink with a small web UI.
//
// Nothing here is a mock: code under test talks to real servers over real
// sockets, so what passes here passes against the production protocols.
// The servers are deliberately dev-grade (no auth, loopback only, trust
// authentication in Postgres); never point production traffic at them.
//
// Every Start function takes an explicit directory and port so that callers
// control where state lives and several stacks can share one machine; use
// FreePort to pick a port. Start functions return errors with context and
// never exit the process.
package localinfra
