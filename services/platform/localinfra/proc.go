package localinfra

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// FreePort asks the kernel for a TCP port that is free on 127.0.0.1 right
// now. Another process may take it before the caller binds it, so callers
// that start servers on it should retry with a new port when the start
// fails because the address is in use.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("localinfra: find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// portInUse reports whether something accepts connections on
// 127.0.0.1:port. Checking before a start turns a confusing
// "server did not come up" (or, worse, talking to someone else's server)
// into a clear error.
func portInUse(port int) bool {
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), 200*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// ProcessAlive reports whether pid names a live process. A zombie counts
// as dead: daemons we started are reparented to init, but in containers
// without a reaping init they can linger as zombies after exiting.
func ProcessAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); err == nil {
		// Format: "pid (comm) S ..."; comm may contain spaces or ')' so
		// look after the last ')'.
		s := string(b)
		if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
			return s[i+2] != 'Z' && s[i+2] != 'X'
		}
		return true
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// processIs reports whether pid is alive and its command line mentions
// name. Pid files outlive crashes and pids get reused: without this check a
// stale pid file could make us report, or stop, an unrelated process.
func processIs(pid int, name string) bool {
	if !ProcessAlive(pid) {
		return false
	}
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return true // no /proc: trust the pid
	}
	return strings.Contains(string(cmdline), name)
}

// WaitProcessExit polls until pid is gone or the timeout passes.
func WaitProcessExit(pid int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for ProcessAlive(pid) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// ReadPIDFile returns the integer on the first line of a pid file
// (redis.pid, postmaster.pid).
func ReadPIDFile(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		return 0, fmt.Errorf("parse pid file %s: %w", path, err)
	}
	return pid, nil
}

// tailFile returns the last n bytes of a log file for error messages, so a
// failed start explains itself without the caller digging for the log.
func tailFile(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return ""
	}
	off := st.Size() - n
	if off < 0 {
		off = 0
	}
	buf := make([]byte, st.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil {
		return ""
	}
	return strings.TrimSpace(string(buf))
}

// shellQuote quotes s for /bin/sh. pg_ctl hands its -o options to a shell,
// so paths with spaces or quotes must be quoted there.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
