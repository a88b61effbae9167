// Package migrations holds the reporting service's schema as numbered goose
// migrations, embedded in the binary so the service never runs against a
// schema older than its code.
package migrations

import "embed"

// FS holds the migrations at its root, as pgdb.Open expects.
//
//go:embed *.sql
var FS embed.FS
