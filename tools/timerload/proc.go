package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

const kindOverdue = "DEADLINE_KIND_RETURN_VISIT"

// process is a running slatimer as the devstack started it.
type process struct {
	pid     int
	argv    []string
	environ []string
	dir     string
	logPath string // where its stdout goes, when a file
}

// slatimerPID reads the PID file and checks the process is a live slatimer.
func slatimerPID(pidFile string) (int, error) {
	raw, err := os.ReadFile(pidFile)
	if err != nil {
		return 0, fmt.Errorf("slatimer's PID file: %w (is the stack up? make up)", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		return 0, fmt.Errorf("%s: %w", pidFile, err)
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return 0, fmt.Errorf("slatimer (pid %d from %s) is not running", pid, pidFile)
	}
	argv0 := string(bytes.SplitN(cmdline, []byte{0}, 2)[0])
	if !strings.HasSuffix(argv0, "slatimer") {
		return 0, fmt.Errorf("pid %d from %s is %q, not slatimer", pid, pidFile, argv0)
	}
	return pid, nil
}

func inspect(pid int) (*process, error) {
	p := &process{pid: pid}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return nil, err
	}
	p.argv = splitNUL(cmdline)
	environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		return nil, fmt.Errorf("read slatimer's environment: %w", err)
	}
	p.environ = splitNUL(environ)
	if p.dir, err = os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid)); err != nil {
		return nil, fmt.Errorf("slatimer's working directory: %w", err)
	}
	if out, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/1", pid)); err == nil {
		if fi, err := os.Stat(out); err == nil && fi.Mode().IsRegular() {
			p.logPath = out
		}
	}
	if len(p.argv) == 0 {
		return nil, fmt.Errorf("pid %d has no command line", pid)
	}
	return p, nil
}

func (p *process) env(key string) string {
	for _, kv := range p.environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}

func splitNUL(b []byte) []string {
	var out []string
	for _, s := range bytes.Split(bytes.TrimRight(b, "\x00"), []byte{0}) {
		if len(s) > 0 {
			out = append(out, string(s))
		}
	}
	return out
}

// rssMiB is the process's VmRSS.
func rssMiB(pid int) (float64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return parseVmRSS(f)
}

func parseVmRSS(r io.Reader) (float64, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			fields := strings.Fields(rest)
			if len(fields) != 2 || fields[1] != "kB" {
				return 0, fmt.Errorf("unexpected VmRSS line %q", sc.Text())
			}
			kb, err := strconv.ParseFloat(fields[0], 64)
			if err != nil {
				return 0, err
			}
			return kb / 1024, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New("no VmRSS (a zombie?)")
}

func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// pid (comm) state ...: a zombie has exited.
	if i := bytes.LastIndexByte(raw, ')'); i >= 0 && i+2 < len(raw) && raw[i+2] == 'Z' {
		return false
	}
	return true
}

// restart stops slatimer (SIGTERM), makes --overdue timers due while it is
// down, starts it again as it was, and measures how long until it is ready
// and until it fired the overdue timers.
func restart(ctx context.Context, pool *pgxpool.Pool, o options, progress io.Writer) (any, error) {
	pid, err := slatimerPID(o.pidFile)
	if err != nil {
		return nil, err
	}
	p, err := inspect(pid)
	if err != nil {
		return nil, err
	}
	httpAddr := p.env("HTTP_ADDR")
	if httpAddr == "" {
		return nil, errors.New("slatimer's environment has no HTTP_ADDR: cannot tell when it is ready")
	}
	var pending int64
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM timer_fires WHERE fired_at IS NULL AND NOT cancelled`).Scan(&pending); err != nil {
		return nil, err
	}
	fmt.Fprintf(progress, "restarting slatimer (pid %d) with %d pending timers\n", pid, pending)

	stopAt := wall()
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return nil, fmt.Errorf("stop slatimer: %w", err)
	}
	for alive(pid) {
		if wall().Sub(stopAt) > 30*time.Second {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			fmt.Fprintln(progress, "slatimer did not stop within 30s of SIGTERM: killed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	stopped := wall().Sub(stopAt)

	// Timers that fall due while it is down: due now, fired at its start.
	if _, err := pool.Exec(ctx, `DELETE FROM timer_fires f USING deadlines d
		WHERE d.case_id = f.case_id AND d.kind = f.kind AND d.tenant_id = $1 AND d.kind = $2`, o.tenant, kindOverdue); err != nil {
		return nil, err
	}
	if _, err := pool.Exec(ctx, `DELETE FROM deadlines WHERE tenant_id = $1 AND kind = $2`, o.tenant, kindOverdue); err != nil {
		return nil, err
	}
	dueAt := wall().Add(-time.Millisecond)
	if err := copyTimers(ctx, pool, o.tenant, kindOverdue, o.overdue, func(int) (time.Time, time.Time) {
		return dueAt.Add(-time.Hour), dueAt
	}, func(int) []string { return levels[3:] }, func(int, int) time.Time { return dueAt }); err != nil {
		return nil, fmt.Errorf("seed overdue timers: %w", err)
	}

	bin := p.argv[0]
	if !filepath.IsAbs(bin) {
		bin = filepath.Join(p.dir, bin) // as the devstack started it, from its directory
	}
	cmd := exec.Command(bin, p.argv[1:]...)
	cmd.Env, cmd.Dir = p.environ, p.dir
	logPath := p.logPath
	if logPath == "" {
		logPath = os.DevNull
	}
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // outlives this tool, as the devstack's processes do
	startAt := wall()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start slatimer again: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	newPID := cmd.Process.Pid
	if err := os.WriteFile(o.pidFile, []byte(strconv.Itoa(newPID)+"\n"), 0o644); err != nil {
		return nil, err
	}

	var ready time.Duration
	var firstFire, allFired *time.Time
	deadline := startAt.Add(o.timeout)
	client := &http.Client{Timeout: time.Second}
	for ready == 0 || allFired == nil {
		select {
		case err := <-exited:
			return nil, fmt.Errorf("slatimer exited at start (%v); see %s", err, logPath)
		case <-ctx.Done():
			return nil, ctx.Err()
		default:
		}
		if wall().After(deadline) {
			return nil, fmt.Errorf("after %v slatimer is ready: %v, has fired the overdue timers: %v", o.timeout, ready > 0, allFired != nil)
		}
		if ready == 0 {
			if resp, err := client.Get("http://" + httpAddr + "/readyz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					ready = wall().Sub(startAt)
				}
			}
		}
		var first, last *time.Time
		var unfired int64
		if err := pool.QueryRow(ctx, `SELECT min(f.fired_at), max(f.fired_at), count(*) FILTER (WHERE f.fired_at IS NULL)
			FROM timer_fires f JOIN deadlines d ON d.case_id = f.case_id AND d.kind = f.kind
			WHERE d.tenant_id = $1 AND d.kind = $2`, o.tenant, kindOverdue).Scan(&first, &last, &unfired); err != nil {
			return nil, err
		}
		firstFire = first
		if unfired == 0 && last != nil {
			allFired = last
		}
		time.Sleep(10 * time.Millisecond)
	}
	rss, _ := rssMiB(newPID)
	fmt.Fprintf(progress, "slatimer pid %d ready after %.2fs; %s\n", newPID, ready.Seconds(), logPath)
	return map[string]any{
		"command": "restart", "pending": pending, "stop_s": round(stopped.Seconds(), 3),
		"ready_s": round(ready.Seconds(), 3), "first_fire_s": round(firstFire.Sub(startAt).Seconds(), 3),
		"overdue": o.overdue, "overdue_fired_s": round(allFired.Sub(startAt).Seconds(), 3),
		"rss_mib": round(rss, 1), "slatimer_pid": newPID,
	}, nil
}

// newUUID is a random (version 4) UUID.
func newUUID() [16]byte {
	var u [16]byte
	_, _ = rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return u
}
