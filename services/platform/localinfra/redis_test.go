package localinfra

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestRedisLifecycle(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	port := freePort(t)

	start := time.Now()
	r, err := StartRedis(ctx, dir, port)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("redis start: %v", time.Since(start))
	t.Cleanup(func() { _ = r.Stop() })
	if want := "redis://127.0.0.1:" + strconv.Itoa(port) + "/0"; r.URL() != want {
		t.Errorf("URL = %q, want %q", r.URL(), want)
	}
	pid := r.PID()
	if pid == 0 {
		t.Fatal("PID() = 0 for a running server")
	}

	opts, err := redis.ParseURL(r.URL())
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	defer c.Close()
	if err := c.Set(ctx, "k", "值", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if v, err := c.Get(ctx, "k").Result(); err != nil || v != "值" {
		t.Fatalf("GET = %q, %v", v, err)
	}
	// Persistence is off: nothing may be written to dir on shutdown.
	if v, err := c.ConfigGet(ctx, "save").Result(); err != nil || v["save"] != "" {
		t.Errorf("save = %q, %v; want empty", v["save"], err)
	}

	again, err := StartRedis(ctx, dir, port)
	if err != nil {
		t.Fatalf("second start on a running server: %v", err)
	}
	if again.PID() != pid {
		t.Errorf("second start: pid %d, want %d", again.PID(), pid)
	}

	// A second server on the same port but another dir must not be
	// mistaken for ours.
	if _, err := StartRedis(ctx, t.TempDir(), port); err == nil {
		t.Error("start on a busy port succeeded")
	}

	if err := r.Stop(); err != nil {
		t.Fatal(err)
	}
	if r.PID() != 0 || ProcessAlive(pid) {
		t.Error("server still running after Stop")
	}
	if err := r.Stop(); err != nil {
		t.Errorf("Stop on a stopped server: %v", err)
	}
}

func TestRedisDatabasesOption(t *testing.T) {
	ctx := context.Background()
	r, err := StartRedisWithOptions(ctx, t.TempDir(), freePort(t), RedisOptions{Databases: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = r.Stop() }()
	c := redis.NewClient(&redis.Options{Addr: r.Addr(), DB: 63})
	defer c.Close()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("select db 63: %v", err)
	}
}
