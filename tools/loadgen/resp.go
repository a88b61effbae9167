package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// redisConn is the few Redis commands loadgen needs (ZSCORE, HGET, SCAN),
// pipelined, over the plain RESP protocol: enough to read the live queues
// without adding a client library to the tools module.
type redisConn struct {
	mu sync.Mutex
	c  net.Conn
	r  *bufio.Reader
	w  *bufio.Writer
}

// errNil is Redis's nil answer (no such member, field or key).
var errNil = errors.New("redis: nil")

// dialRedis connects to a redis:// URL (password and database number
// honoured).
func dialRedis(ctx context.Context, raw string) (*redisConn, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "redis" {
		return nil, fmt.Errorf("REDIS_URL %q: want redis://host:port/db", raw)
	}
	c, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return nil, err
	}
	rc := &redisConn{c: c, r: bufio.NewReader(c), w: bufio.NewWriter(c)}
	var setup [][]string
	if pw, ok := u.User.Password(); ok {
		setup = append(setup, []string{"AUTH", u.User.Username(), pw})
	}
	if db := strings.Trim(u.Path, "/"); db != "" && db != "0" {
		setup = append(setup, []string{"SELECT", db})
	}
	if len(setup) > 0 {
		for _, r := range rc.pipeline(ctx, setup) {
			if r.err != nil {
				rc.close()
				return nil, r.err
			}
		}
	}
	return rc, nil
}

func (rc *redisConn) close() { _ = rc.c.Close() }

// reply is one answer: a string (bulk, simple or integer as text), an
// array, or an error (errNil for a nil).
type reply struct {
	str string
	arr []reply
	err error
}

// pipeline sends every command, then reads every answer, in one round
// trip. A connection error is every command's error.
func (rc *redisConn) pipeline(ctx context.Context, cmds [][]string) []reply {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := make([]reply, len(cmds))
	fail := func(err error) []reply {
		for i := range out {
			out[i].err = err
		}
		return out
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = rc.c.SetDeadline(dl)
	} else {
		_ = rc.c.SetDeadline(time.Now().Add(30 * time.Second))
	}
	for _, cmd := range cmds {
		fmt.Fprintf(rc.w, "*%d\r\n", len(cmd))
		for _, a := range cmd {
			fmt.Fprintf(rc.w, "$%d\r\n%s\r\n", len(a), a)
		}
	}
	if err := rc.w.Flush(); err != nil {
		return fail(err)
	}
	for i := range out {
		r, err := readReply(rc.r)
		if err != nil {
			return fail(err)
		}
		out[i] = r
	}
	return out
}

// readReply reads one RESP2 answer.
func readReply(r *bufio.Reader) (reply, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return reply{}, err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return reply{}, errors.New("redis: empty reply line")
	}
	body := line[1:]
	switch line[0] {
	case '+', ':':
		return reply{str: body}, nil
	case '-':
		return reply{err: errors.New("redis: " + body)}, nil
	case '$':
		n, err := strconv.Atoi(body)
		if err != nil {
			return reply{}, fmt.Errorf("redis: bad bulk length %q", body)
		}
		if n < 0 {
			return reply{err: errNil}, nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return reply{}, err
		}
		return reply{str: string(buf[:n])}, nil
	case '*':
		n, err := strconv.Atoi(body)
		if err != nil {
			return reply{}, fmt.Errorf("redis: bad array length %q", body)
		}
		if n < 0 {
			return reply{err: errNil}, nil
		}
		arr := make([]reply, n)
		for i := range arr {
			if arr[i], err = readReply(r); err != nil {
				return reply{}, err
			}
		}
		return reply{arr: arr}, nil
	}
	return reply{}, fmt.Errorf("redis: unknown reply %q", line)
}

// scan lists every key matching pattern (SCAN with MATCH, all pages).
func (rc *redisConn) scan(ctx context.Context, pattern string) ([]string, error) {
	var keys []string
	cursor := "0"
	for {
		r := rc.pipeline(ctx, [][]string{{"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"}})[0]
		if r.err != nil {
			return nil, r.err
		}
		if len(r.arr) != 2 {
			return nil, errors.New("redis: SCAN answered no cursor and keys")
		}
		for _, k := range r.arr[1].arr {
			keys = append(keys, k.str)
		}
		if cursor = r.arr[0].str; cursor == "0" {
			return keys, nil
		}
	}
}
