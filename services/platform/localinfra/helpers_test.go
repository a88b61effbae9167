package localinfra

import (
	"os"
	"path/filepath"
	"testing"
)

// reachableTempDir returns a fresh temp dir the postgres OS user can
// reach. t.TempDir's parent is a root-owned 0700 directory when tests run
// as root, which Postgres (running as postgres) could not traverse.
func reachableTempDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func freePort(t *testing.T) int {
	t.Helper()
	p, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}
