package main

import (
	"bufio"
	"context"
	"net"
	"strings"
	"testing"
)

func TestReadReply(t *testing.T) {
	in := "+OK\r\n:42\r\n$5\r\nhello\r\n$-1\r\n-ERR wrong type\r\n*2\r\n$1\r\n0\r\n*2\r\n$3\r\nkey\r\n$0\r\n\r\n"
	r := bufio.NewReader(strings.NewReader(in))
	want := []func(reply) bool{
		func(x reply) bool { return x.err == nil && x.str == "OK" },
		func(x reply) bool { return x.err == nil && x.str == "42" },
		func(x reply) bool { return x.err == nil && x.str == "hello" },
		func(x reply) bool { return x.err == errNil },
		func(x reply) bool {
			return x.err != nil && x.err != errNil && strings.Contains(x.err.Error(), "wrong type")
		},
		func(x reply) bool {
			return len(x.arr) == 2 && x.arr[0].str == "0" && len(x.arr[1].arr) == 2 && x.arr[1].arr[0].str == "key" && x.arr[1].arr[1].str == ""
		},
	}
	for i, ok := range want {
		got, err := readReply(r)
		if err != nil || !ok(got) {
			t.Errorf("reply %d = %+v, %v", i, got, err)
		}
	}
	if _, err := readReply(r); err == nil {
		t.Error("read past the end without an error")
	}
}

// The pipeline writes every command as a RESP array, then reads as many
// answers.
func TestPipelineRoundTrip(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		r := bufio.NewReader(c)
		var cmds []string
		for range 3 { // SELECT 2, then the two commands
			x, err := readReply(r) // a command is an array of bulk strings
			if err != nil {
				return
			}
			var parts []string
			for _, a := range x.arr {
				parts = append(parts, a.str)
			}
			cmds = append(cmds, strings.Join(parts, " "))
			switch parts[0] {
			case "SELECT":
				_, _ = c.Write([]byte("+OK\r\n"))
			case "ZSCORE":
				if parts[2] == "there" {
					_, _ = c.Write([]byte("$3\r\n1.5\r\n"))
				} else {
					_, _ = c.Write([]byte("$-1\r\n"))
				}
			}
		}
		got <- strings.Join(cmds, "|")
	}()
	rc, err := dialRedis(context.Background(), "redis://"+ln.Addr().String()+"/2")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.close()
	rs := rc.pipeline(context.Background(), [][]string{{"ZSCORE", "cd:{t:b}:queue", "there"}, {"ZSCORE", "cd:{t:b}:queue", "gone"}})
	if rs[0].err != nil || rs[0].str != "1.5" || rs[1].err != errNil {
		t.Errorf("replies = %+v", rs)
	}
	if cmds := <-got; cmds != "SELECT 2|ZSCORE cd:{t:b}:queue there|ZSCORE cd:{t:b}:queue gone" {
		t.Errorf("server saw %q", cmds)
	}
}
