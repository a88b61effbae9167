package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/counterdesk/counterdesk/tools/devstack/stack"
)

// TestStack runs both commands on a whole stack and checks that they end
// verified: every case created, every effect exactly once. It also breaks
// one effect on purpose and checks the verification says so.
//
// Skipped unless LOADGEN_STACK=1. With LOADGEN_ENDPOINTS=path/endpoints.env
// it uses that running stack (e.g. the one `make up` started); otherwise
// it builds the services and starts a private stack on free ports, as
// tools/e2e does, and stops it at the end. LOADGEN_COUNT sets how many
// cases the intake run registers (500).
func TestStack(t *testing.T) {
	if os.Getenv("LOADGEN_STACK") != "1" {
		t.Skip("set LOADGEN_STACK=1 to run loadgen against a whole stack (make loadgen-check)")
	}
	root := repoRoot(t)
	endpoints := os.Getenv("LOADGEN_ENDPOINTS")
	if endpoints == "" {
		endpoints = privateStack(t, root)
	}
	count := 500
	if s := os.Getenv("LOADGEN_COUNT"); s != "" {
		var err error
		if count, err = strconv.Atoi(s); err != nil || count < 1 {
			t.Fatalf("LOADGEN_COUNT=%q", s)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	common := []string{"--endpoints", endpoints, "--repo", root, "--json"}

	t.Run("intake", func(t *testing.T) {
		m := runJSON(ctx, t, append([]string{"intake", "--transport", "grpc", "--count", strconv.Itoa(count),
			"--concurrency", "8", "--pg-duration", "2s"}, common...))
		if m["created"] != float64(count) || m["errors"] != 0.0 {
			t.Errorf("created %v of %d, %v errors", m["created"], count, m["errors"])
		}
		if r, _ := m["pg_commit_rate_per_s"].(float64); r <= 0 {
			t.Errorf("no commit rate: %v", m["pg_commit_rate_per_s"])
		}
	})
	t.Run("pipeline", func(t *testing.T) {
		m := runJSON(ctx, t, append([]string{"pipeline", "--transport", "http", "--rate", "40", "--duration", "5s"}, common...))
		if m["created"] != 200.0 || m["errors"] != 0.0 {
			t.Errorf("created %v of 200, %v errors", m["created"], m["errors"])
		}
		effects, _ := m["effects"].(map[string]any)
		for _, e := range append(effectNames[:], "all") {
			if s, _ := effects[e].(map[string]any); s["count"] != 200.0 {
				t.Errorf("effect %s seen for %v cases, want 200", e, s["count"])
			}
		}
	})
	t.Run("a case in two queues fails the check", func(t *testing.T) {
		doubleQueueIsCaught(ctx, t, endpoints, root)
	})
}

// runJSON runs loadgen and returns its JSON line, failing unless it exited
// 0 with "verified": true.
func runJSON(ctx context.Context, t *testing.T, args []string) map[string]any {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(ctx, args, &out, &errOut)
	t.Logf("loadgen %s\n%s%s", strings.Join(args[:1], " "), out.String(), errOut.String())
	var m map[string]any
	if err := json.Unmarshal(out.Bytes(), &m); err != nil {
		t.Fatalf("exit %d, not one JSON line: %v\n%s", code, err, out.String())
	}
	if code != 0 || m["verified"] != true {
		t.Fatalf("exit %d, verified %v", code, m["verified"])
	}
	return m
}

func doubleQueueIsCaught(ctx context.Context, t *testing.T, endpoints, root string) {
	c := common{endpoints: endpoints, repo: root, transport: "grpc", concurrency: 1, settle: time.Minute, poll: 100 * time.Millisecond}
	s, err := c.open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	since := time.Now()
	spec := specFor(s.run, 0, s.targets)
	id, err := s.create.create(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	tr := newTracker(s.stores)
	tr.add(&tracked{spec: spec, id: id, created: time.Now()})
	if !tr.settle(ctx, c.poll, c.settle, nil) {
		t.Fatalf("case %s: effects missing after %s: %s", id, c.settle, tr.waitingText())
	}
	if vs, err := verify(ctx, s.stores, s.ep.MailDir, since, tr.all()); err != nil || len(vs) != 0 {
		t.Fatalf("before the fault: %v %v", vs, err)
	}
	stray := queuePrefix(spec.Target.Tenant, spec.Target.Branch) + "q:role:LOADGEN_TEST_STRAY"
	if r := s.stores.redis.pipeline(ctx, [][]string{{"ZADD", stray, "1", id}})[0]; r.err != nil {
		t.Fatal(r.err)
	}
	defer s.stores.redis.pipeline(context.WithoutCancel(ctx), [][]string{{"DEL", stray}})
	vs, err := verify(ctx, s.stores, s.ep.MailDir, since, tr.all())
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 1 || vs[0].CaseID != id || vs[0].Effect != "queue" || !strings.Contains(vs[0].Detail, "in 2 owner queues") {
		t.Errorf("violations = %v, want the case in 2 owner queues", vs)
	}
}

func repoRoot(t *testing.T) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the repository")
	}
	root, err := filepath.Abs(filepath.Join(filepath.Dir(file), "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// privateStack builds the services and starts a stack of its own on free
// ports, seeded like `make up`, and returns its endpoints file. Its
// Postgres runs without fsync (test speed), so the commit rate it reports
// is not this machine's.
func privateStack(t *testing.T, root string) string {
	dir, err := os.MkdirTemp("", "counterdesk-loadgen-")
	if err != nil {
		t.Fatal(err)
	}
	// Postgres runs as the postgres user, which must be able to enter the dir.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if os.Getenv("LOADGEN_KEEP") == "" {
			os.RemoveAll(dir)
		}
	})
	bin := filepath.Join(dir, "bin")
	targets := map[string]string{"devstack": "./tools/devstack"}
	for _, s := range stack.Services {
		targets[s] = "./services/" + s + "/cmd/" + s
	}
	for name, pkg := range targets {
		cmd := exec.Command("go", "build", "-o", filepath.Join(bin, name), pkg)
		cmd.Dir, cmd.Stdout, cmd.Stderr = root, os.Stderr, os.Stderr
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if err := cmd.Run(); err != nil {
			t.Fatalf("build %s: %v", name, err)
		}
	}
	cfg := stack.Config{Dir: dir, BinDir: bin, ValuesFile: filepath.Join(root, "charts/counterdesk/values.yaml"),
		RepoDir: root, FastPostgres: true, Log: os.Stderr}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	st, err := stack.Up(ctx, cfg)
	t.Cleanup(func() {
		if err := stack.Down(cfg); err != nil {
			t.Errorf("stack down: %v", err)
		}
	})
	if err != nil {
		t.Fatalf("stack up: %v", err)
	}
	toks, err := st.MintTokens()
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Seed(ctx, toks); err != nil {
		t.Fatalf("seed: %v", err)
	}
	// Every service runs as two replicas, as in Kubernetes: the check below
	// then also proves that two consumers of each group share the work
	// without a double effect (every case owned, queued, timed, mailed and
	// counted exactly once).
	for _, svc := range stack.Services {
		if err := st.StartReplica(ctx, svc, 2); err != nil {
			t.Fatalf("second replica: %v", err)
		}
	}
	if _, err := st.WriteEndpoints(toks); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "endpoints.env")
}
