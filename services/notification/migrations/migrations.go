// Package migrations holds the notification database's schema changes,
// numbered goose files embedded in the binary and applied at start.
package migrations

import "embed"

// FS holds the migration files at its root.
//
//go:embed *.sql
var FS embed.FS
