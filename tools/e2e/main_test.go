// Package e2e drives the whole suite through its HTTP gateway, on a private
// Postgres, Redis and Kafka-protocol broker started by the project's own dev
// stack code on free ports, with the real service binaries.
package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/counterdesk/counterdesk/tools/devstack/stack"
)

var (
	st   *stack.Stack
	toks stack.Tokens
	gw   string
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	root, err := repoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	dir, err := os.MkdirTemp("", "counterdesk-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// Postgres runs as the postgres user, which must be able to enter the dir.
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	bin := filepath.Join(dir, "bin")
	start := time.Now()
	targets := map[string]string{"devstack": "./tools/devstack"}
	for _, s := range stack.Services {
		targets[s] = "./services/" + s + "/cmd/" + s
	}
	for name, pkg := range targets {
		cmd := exec.Command("go", "build", "-o", filepath.Join(bin, name), pkg)
		cmd.Dir, cmd.Stdout, cmd.Stderr = root, os.Stderr, os.Stderr
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build", name, err)
			return 1
		}
	}
	fmt.Fprintf(os.Stderr, "e2e: built binaries in %.1fs\n", time.Since(start).Seconds())
	cfg := stack.Config{Dir: dir, BinDir: bin, ValuesFile: filepath.Join(root, "charts/counterdesk/values.yaml"),
		FastPostgres: true, Log: os.Stderr}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start = time.Now()
	st, err = stack.Up(ctx, cfg)
	defer func() {
		if err := stack.Down(cfg); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: down:", err)
		}
		if os.Getenv("E2E_KEEP") == "" {
			os.RemoveAll(dir)
		}
	}()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: stack up:", err)
		return 1
	}
	if toks, err = st.MintTokens(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := st.Seed(ctx, toks); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: seed:", err)
		return 1
	}
	gw = "http://" + st.Addr("gateway")
	fmt.Fprintf(os.Stderr, "e2e: stack up and seeded in %.1fs (%s)\n", time.Since(start).Seconds(), dir)
	return m.Run()
}

func repoRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", fmt.Errorf("cannot locate the repository")
	}
	return filepath.Abs(filepath.Join(filepath.Dir(file), "..", ".."))
}
