// Protects how a server-streaming RPC is served over HTTP: as server-sent events (unnamed unless NameEvents names them; data is the message, not {"result": ...}) whatever the client accepts, flushed event by event, with heartbeats; an error before the first message is the API's JSON error with its status, one after it an error event, neither leaking a plain error's text; and over gRPC a streaming call is validated and its panics and plain errors answer Internal, as unary calls do. Unary routes are untouched.
package grpcserver_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	routingv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/routing/v1"
	"github.com/counterdesk/counterdesk/services/platform/grpcserver"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// WatchQueue: "b1" sends two changes and ends; "idle" sends one and waits
// for the caller to leave; "late-boom" sends one and fails with a plain
// error; "boom" fails with one at once; "panic" panics; any other branch
// is NotFound.
func (r *routing) WatchQueue(req *routingv1.WatchQueueRequest, stream routingv1.RoutingService_WatchQueueServer) error {
	first := &routingv1.WatchQueueResponse{Change: "put", Entry: &routingv1.QueueEntry{CaseId: "c-1", OwnerId: "t-1"}, Total: 1}
	switch req.GetBranchId() {
	case "b1":
		if err := stream.Send(first); err != nil {
			return err
		}
		return stream.Send(&routingv1.WatchQueueResponse{Change: "removed", Entry: &routingv1.QueueEntry{CaseId: "c-1"}, Total: 0})
	case "idle":
		if err := stream.Send(first); err != nil {
			return err
		}
		<-stream.Context().Done()
		return stream.Context().Err()
	case "late-boom":
		if err := stream.Send(first); err != nil {
			return err
		}
		return fmt.Errorf("watch branch: %s", secretFailure)
	case "boom":
		return fmt.Errorf("watch branch: %s", secretFailure)
	case "panic":
		panic("stream handler bug")
	default:
		return status.Error(codes.NotFound, "branch not found")
	}
}

// openStream GETs path and returns the response with its body unread.
func openStream(t *testing.T, url string, headers map[string]string) *http.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestAStreamingRPCIsServedAsServerSentEvents(t *testing.T) {
	t.Parallel()
	s := start(t, 5*time.Second)
	auth := "Bearer " + s.token(t, teller, time.Hour)
	for _, accept := range []string{"", "text/event-stream", "application/json", "*/*"} {
		t.Run("Accept "+accept, func(t *testing.T) {
			headers := map[string]string{"Authorization": auth}
			if accept != "" {
				headers["Accept"] = accept
			}
			resp := openStream(t, s.httpURL+"/v1/branches/b1/queue:watch", headers)
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
				t.Fatalf("%d %q, want 200 text/event-stream", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			if resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", resp.Header.Get("Cache-Control"))
			}
			// No event names are registered in this binary: unnamed events.
			blocks := strings.Split(strings.TrimSuffix(string(body), "\n\n"), "\n\n")
			if len(blocks) != 2 || !strings.HasSuffix(string(body), "\n\n") {
				t.Fatalf("body %q, want two events each ending with a blank line", body)
			}
			wantChanges := []string{"put", "removed"}
			for i, b := range blocks {
				data, ok := strings.CutPrefix(b, "data: ")
				if !ok || strings.Contains(data, "\n") {
					t.Fatalf("event %q, want one data line", b)
				}
				var m map[string]any
				if err := json.Unmarshal([]byte(data), &m); err != nil || m["change"] != wantChanges[i] {
					t.Errorf("data %s, want the message with change %q", data, wantChanges[i])
				}
			}
		})
	}
}

func TestAnEventStreamIsFlushedAndKeptAlive(t *testing.T) {
	t.Parallel()
	s := start(t, 5*time.Second, func(o *grpcserver.Options) { o.EventHeartbeat = 50 * time.Millisecond })
	resp := openStream(t, s.httpURL+"/v1/branches/idle/queue:watch", map[string]string{"Authorization": "Bearer " + s.token(t, teller, time.Hour)})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	next := func() string {
		t.Helper()
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("stream ended")
			}
			return l
		case <-time.After(10 * time.Second):
			t.Fatal("nothing within 10s")
		}
		return ""
	}
	// The first event arrives while the stream stays open (it was flushed).
	if l := next(); !strings.HasPrefix(l, "data: ") || !strings.Contains(l, `"c-1"`) {
		t.Fatalf("first line %q, want the first event's data", l)
	}
	if l := next(); l != "" {
		t.Fatalf("line %q, want the blank line ending the event", l)
	}
	for range 2 {
		if l := next(); l != ": keep-alive" {
			t.Fatalf("line %q, want a heartbeat comment", l)
		}
		if l := next(); l != "" {
			t.Fatalf("line %q, want a blank line after the heartbeat", l)
		}
	}
}

func TestStreamErrorsOverHTTP(t *testing.T) {
	t.Parallel()
	s := start(t, 5*time.Second)
	auth := "Bearer " + s.token(t, teller, time.Hour)

	t.Run("an error before the first message is the API's JSON error with its status", func(t *testing.T) {
		for branch, want := range map[string]struct {
			status int
			code   codes.Code
			msg    string
		}{
			"nowhere": {http.StatusNotFound, codes.NotFound, "branch not found"},
			"boom":    {http.StatusInternalServerError, codes.Internal, "internal error"},
			"panic":   {http.StatusInternalServerError, codes.Internal, "internal error"},
		} {
			resp := openStream(t, s.httpURL+"/v1/branches/"+branch+"/queue:watch", map[string]string{"Authorization": auth, "Accept": "text/event-stream"})
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			var st statusBody
			if resp.StatusCode != want.status || resp.Header.Get("Content-Type") != "application/json" || json.Unmarshal(body, &st) != nil ||
				st.Code != int(want.code) || st.Message != want.msg {
				t.Errorf("%s: %d %q %s, want %d application/json with code %d %q", branch, resp.StatusCode, resp.Header.Get("Content-Type"), body, want.status, want.code, want.msg)
			}
		}
	})

	t.Run("an error after the first message is an error event, its text withheld", func(t *testing.T) {
		resp := openStream(t, s.httpURL+"/v1/branches/late-boom/queue:watch", map[string]string{"Authorization": auth})
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		blocks := strings.Split(strings.TrimSuffix(string(body), "\n\n"), "\n\n")
		if resp.StatusCode != http.StatusOK || len(blocks) != 2 {
			t.Fatalf("%d %q, want 200 with an event and an error event", resp.StatusCode, body)
		}
		data, ok := strings.CutPrefix(blocks[1], "event: error\ndata: ")
		var st statusBody
		if !ok || json.Unmarshal([]byte(data), &st) != nil || st.Code != int(codes.Internal) || st.Message != "internal error" {
			t.Errorf("last event %q, want an error event with Internal and no details", blocks[1])
		}
		if strings.Contains(string(body), "password") {
			t.Errorf("the handler's error text reached the caller: %s", body)
		}
		if !strings.Contains(s.logs.String(), secretFailure) {
			t.Error("the handler's error was not logged")
		}
	})

	t.Run("no credential is 401 before the stream", func(t *testing.T) {
		resp := openStream(t, s.httpURL+"/v1/branches/b1/queue:watch", map[string]string{"Accept": "text/event-stream"})
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%d %q, want 401 application/json", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	})

	t.Run("a unary route asked for an event stream still answers JSON", func(t *testing.T) {
		code, h, body := s.get(t, "/v1/branches/b1", map[string]string{"Authorization": auth, "Accept": "text/event-stream"})
		var m map[string]any
		if code != http.StatusOK || h.Get("Content-Type") != "application/json" || json.Unmarshal(body, &m) != nil || m["branch"] == nil {
			t.Errorf("%d %q %s, want 200 with the branch as JSON", code, h.Get("Content-Type"), body)
		}
	})
}

func TestStreamingCallsAreValidatedAndTheirFailuresWithheld(t *testing.T) {
	t.Parallel()
	s := start(t, 5*time.Second)
	client := routingv1.NewRoutingServiceClient(dial(t, s.grpcAddr))
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+s.token(t, teller, time.Hour))
	recv := func(ctx context.Context, branch string) error {
		stream, err := client.WatchQueue(ctx, &routingv1.WatchQueueRequest{BranchId: branch})
		if err != nil {
			return err
		}
		for {
			if _, err := stream.Recv(); err != nil {
				if errors.Is(err, io.EOF) {
					return nil
				}
				return err
			}
		}
	}
	if err := recv(context.Background(), "b1"); status.Code(err) != codes.Unauthenticated {
		t.Errorf("without a token: %v, want Unauthenticated", err)
	}
	err := recv(ctx, "")
	var fields []string
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, fv := range br.GetFieldViolations() {
				fields = append(fields, fv.GetField())
			}
		}
	}
	if status.Code(err) != codes.InvalidArgument || len(fields) != 1 || fields[0] != "branchId" {
		t.Errorf("an empty branch id: %v %v, want InvalidArgument naming branchId", err, fields)
	}
	for _, branch := range []string{"boom", "late-boom", "panic"} {
		err := recv(ctx, branch)
		if st := status.Convert(err); st.Code() != codes.Internal || st.Message() != "internal error" {
			t.Errorf("%s: %v, want Internal \"internal error\"", branch, err)
		}
	}
	if err := recv(ctx, "b1"); err != nil {
		t.Errorf("b1: %v", err)
	}
}
