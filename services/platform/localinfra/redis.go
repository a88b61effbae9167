package localinfra

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// RedisInstallCommand installs redis-server on the Debian machines this
// project runs on.
const RedisInstallCommand = "apt-get install -y redis-server"

// RedisOptions tunes StartRedisWithOptions. The zero value is what
// StartRedis uses.
type RedisOptions struct {
	// Binary is the redis-server executable; empty means redis-server on
	// PATH, else /usr/bin/redis-server.
	Binary string
	// Databases is the number of logical databases (redis' default is 16).
	// Test helpers hand one database to each test, so they want more.
	Databases int
}

// Redis is a private, non-persistent redis-server on 127.0.0.1 whose pid
// file and log live in one directory.
type Redis struct {
	dir  string
	port int
}

// StartRedis starts a daemonized redis-server on 127.0.0.1:port with
// persistence off, its pid file and log in dir, and waits until it answers
// PING. If the redis-server recorded in dir/redis.pid is already running
// and answering on port, it is returned as is.
func StartRedis(ctx context.Context, dir string, port int) (*Redis, error) {
	return StartRedisWithOptions(ctx, dir, port, RedisOptions{})
}

// StartRedisWithOptions is StartRedis with options.
func StartRedisWithOptions(ctx context.Context, dir string, port int, opts RedisOptions) (*Redis, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("localinfra: redis dir %q: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("localinfra: create redis dir: %w", err)
	}
	r := &Redis{dir: abs, port: port}

	// Already running (make up twice)? Only if the server on the port is
	// the one whose pid we recorded: another redis on that port is not ours.
	if pid := r.PID(); pid != 0 {
		if got, err := redisServerPID(port); err == nil && got == pid {
			return r, nil
		}
		return nil, fmt.Errorf("localinfra: redis-server pid %d from %s is running but is not the server answering on 127.0.0.1:%d; stop it first", pid, r.pidFile(), port)
	}
	if portInUse(port) {
		return nil, fmt.Errorf("localinfra: start redis on 127.0.0.1:%d: port already in use", port)
	}

	bin := opts.Binary
	if bin == "" {
		if bin, err = FindRedisServer(); err != nil {
			return nil, err
		}
	}
	args := []string{
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no",
		"--dir", abs, "--daemonize", "yes",
		"--pidfile", r.pidFile(), "--logfile", r.logFile(),
	}
	if opts.Databases > 0 {
		args = append(args, "--databases", strconv.Itoa(opts.Databases))
	}
	// A stale pid file would make PID() lie until the daemon rewrites it.
	os.Remove(r.pidFile())
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = abs
	// redis daemonizes (setsid) itself; Setpgid also shields the short-lived
	// parent from the caller's terminal signals.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("localinfra: start redis-server: %w: %s", err, strings.TrimSpace(string(out)))
	}

	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		pid := r.PID()
		if pid != 0 {
			if got, err := redisServerPID(port); err == nil && got == pid {
				return r, nil
			}
		}
		select {
		case <-ctx.Done():
			if pid != 0 {
				// Do not leave a half-started daemon behind.
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
			return nil, fmt.Errorf("localinfra: redis-server on 127.0.0.1:%d did not answer PING: %w\n--- %s (tail) ---\n%s",
				port, ctx.Err(), r.logFile(), tailFile(r.logFile(), 2000))
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// FindRedisServer locates redis-server; its error says how to install it.
func FindRedisServer() (string, error) {
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p, nil
	}
	// PATH may be minimal (e.g. under a CI runner); Debian installs here.
	if st, err := os.Stat("/usr/bin/redis-server"); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
		return "/usr/bin/redis-server", nil
	}
	return "", fmt.Errorf("localinfra: redis-server not found on PATH nor at /usr/bin/redis-server; install it with: %s", RedisInstallCommand)
}

func (r *Redis) pidFile() string { return filepath.Join(r.dir, "redis.pid") }
func (r *Redis) logFile() string { return filepath.Join(r.dir, "redis.log") }

// Port is the TCP port the server listens on.
func (r *Redis) Port() int { return r.port }

// Addr is "127.0.0.1:port".
func (r *Redis) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(r.port)) }

// URL is a redis:// URL for logical database 0.
func (r *Redis) URL() string { return "redis://" + r.Addr() + "/0" }

// PID returns the server's process id, or 0 if it is not running.
func (r *Redis) PID() int {
	pid, err := ReadPIDFile(r.pidFile())
	if err != nil || !processIs(pid, "redis") {
		return 0
	}
	return pid
}

// Stop terminates the server (SIGTERM: with persistence off it exits at
// once) and waits until the process is gone. Stopping a server that is not
// running is not an error.
func (r *Redis) Stop() error {
	pid := r.PID()
	if pid == 0 {
		return nil
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && err != syscall.ESRCH {
		return fmt.Errorf("localinfra: stop redis-server pid %d: %w", pid, err)
	}
	if !WaitProcessExit(pid, 10*time.Second) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		if !WaitProcessExit(pid, 5*time.Second) {
			return fmt.Errorf("localinfra: redis-server pid %d did not exit", pid)
		}
	}
	os.Remove(r.pidFile())
	return nil
}

// redisServerPID asks the server on 127.0.0.1:port for its process id
// (INFO server), which doubles as the readiness check: a server that is
// still loading answers with an error instead.
func redisServerPID(port int) (int, error) {
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n")); err != nil {
		return 0, err
	}
	br := bufio.NewReader(c)
	head, err := br.ReadString('\n')
	if err != nil {
		return 0, err
	}
	if !strings.HasPrefix(head, "$") {
		return 0, fmt.Errorf("redis INFO: %s", strings.TrimSpace(head))
	}
	n, err := strconv.Atoi(strings.TrimSpace(head[1:]))
	if err != nil || n < 0 {
		return 0, fmt.Errorf("redis INFO: bad length %q", head)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(br, body); err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(body), "\r\n") {
		if v, ok := strings.CutPrefix(line, "process_id:"); ok {
			return strconv.Atoi(strings.TrimSpace(v))
		}
	}
	return 0, fmt.Errorf("redis INFO: no process_id")
}
