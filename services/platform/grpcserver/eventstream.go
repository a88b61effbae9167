package grpcserver

// Server-streaming RPCs over HTTP are server-sent events. grpc-gateway
// would answer them as newline-delimited JSON, each message wrapped in
// {"result": ...}, in whatever its Marshaler for the Accept header writes;
// here, for every server-streaming RPC with an HTTP rule:
//
//   - eventStreams.middleware (a gateway middleware, so it runs after guard:
//     credential, body limit and no-store apply as to every route) makes
//     the answer text/event-stream whatever the client accepts, lifts any
//     write deadline, sends a comment line every heartbeat, and ends the
//     stream when the HTTP server shuts down;
//   - eventMarshaler, which the middleware selects, frames each message as
//     one event ("event: <name>" when NameEvents names it, "data: <JSON>",
//     a blank line) and a stream error as an "error" event;
//   - eventWriter makes an error before the first message (the gRPC client
//     reports those at the first Recv, so the gateway handles them as
//     stream errors) the API's usual JSON error body with its HTTP status,
//     e.g. 404, as every other route answers.
//
// The 200 and the headers go out with the first message (a stream should
// send one at once: WatchQueue sends its snapshot); the gateway flushes
// after every message.

import (
	"bytes"
	"context"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

const (
	mimeEventStream = "text/event-stream"
	// defaultHeartbeat is how often an idle event stream gets a comment
	// line, so proxies and clients do not take it for dead.
	defaultHeartbeat = 15 * time.Second
	heartbeatLine    = ": keep-alive\n\n"
)

// eventNames holds each message type's event namer (see NameEvents).
var eventNames sync.Map // protoreflect.FullName → func(proto.Message) string

// NameEvents names the server-sent events that carry messages of type M
// on an HTTP event stream (e.g. "snapshot" or "change"); a message not
// named is an unnamed event (type "message" to an EventSource). name must
// return a single line. Call it from an init function.
func NameEvents[M proto.Message](name func(M) string) {
	var zero M
	eventNames.Store(zero.ProtoReflect().Descriptor().FullName(), func(m proto.Message) string {
		if v, ok := m.(M); ok {
			return name(v)
		}
		return ""
	})
}

func eventName(m proto.Message) string {
	f, ok := eventNames.Load(m.ProtoReflect().Descriptor().FullName())
	if !ok {
		return ""
	}
	name := f.(func(proto.Message) string)(m)
	if strings.ContainsAny(name, "\r\n") {
		return ""
	}
	return name
}

// eventMarshaler reads requests exactly as the gateway's JSON marshaler
// does, and writes a stream's messages and errors as server-sent events.
type eventMarshaler struct{ *gatewayMarshaler }

// streamChunk is what ForwardResponseStream hands a Marshaler: a message
// as {"result": m}, an error as {"error": status}; "" and nil for anything
// else.
func streamChunk(v any) (string, proto.Message) {
	switch c := v.(type) {
	case map[string]any:
		if m, ok := c["result"].(proto.Message); ok && len(c) == 1 {
			return eventName(m), m
		}
	case map[string]proto.Message:
		if m, ok := c["error"]; ok && len(c) == 1 {
			return "error", m
		}
	}
	return "", nil
}

// ContentType is asked for an error chunk only when the stream failed
// before its first message: eventWriter then writes the error as JSON.
func (m *eventMarshaler) ContentType(v any) string {
	if name, msg := streamChunk(v); msg != nil && name != "error" {
		return mimeEventStream
	}
	return m.gatewayMarshaler.ContentType(v)
}

func (m *eventMarshaler) StreamContentType(any) string { return mimeEventStream }

// Delimiter is empty: each event is written whole, blank line included, so
// a heartbeat never lands inside one.
func (m *eventMarshaler) Delimiter() []byte { return nil }

func (m *eventMarshaler) Marshal(v any) ([]byte, error) {
	name, msg := streamChunk(v)
	if msg == nil {
		return m.gatewayMarshaler.Marshal(v)
	}
	data, err := m.gatewayMarshaler.Marshal(msg)
	if err != nil {
		return nil, err
	}
	return eventFrame(name, data), nil
}

var lineBreaks = strings.NewReplacer("\r\n", "\n", "\r", "\n")

const errorEventStart = "event: error\ndata: "

// errorEventData is the data of an error event (the status as JSON).
func errorEventData(b []byte) ([]byte, bool) {
	rest, ok := bytes.CutPrefix(b, []byte(errorEventStart))
	if !ok {
		return nil, false
	}
	data, ok := bytes.CutSuffix(rest, []byte("\n\n"))
	if !ok || bytes.ContainsRune(data, '\n') {
		return nil, false
	}
	return data, true
}

// eventFrame is one server-sent event: its name, its data (a line of
// "data: " per line), and the blank line that ends it.
func eventFrame(name string, data []byte) []byte {
	var b bytes.Buffer
	if name != "" {
		b.WriteString("event: " + name + "\n")
	}
	for line := range strings.SplitSeq(lineBreaks.Replace(string(data)), "\n") {
		b.WriteString("data: " + line + "\n")
	}
	b.WriteString("\n")
	return b.Bytes()
}

// eventStreams serves the event-stream routes of one HTTP server.
type eventStreams struct {
	// routes are "GET /v1/branches/{branch_id=*}/queue:watch": method and
	// path pattern as runtime.Pattern prints it.
	routes    map[string]bool
	heartbeat time.Duration
	// closing ends when the HTTP server starts shutting down.
	closing  context.Context
	shutdown context.CancelFunc
}

func newEventStreams(gs *grpc.Server, heartbeat time.Duration) *eventStreams {
	if heartbeat <= 0 {
		heartbeat = defaultHeartbeat
	}
	closing, shutdown := context.WithCancel(context.Background())
	return &eventStreams{routes: streamRoutes(gs), heartbeat: heartbeat, closing: closing, shutdown: shutdown}
}

// streamRoutes lists the HTTP routes of the server-streaming methods of
// the services registered on gs.
func streamRoutes(gs *grpc.Server) map[string]bool {
	routes := map[string]bool{}
	xt, err := protoregistry.GlobalTypes.FindExtensionByName("google.api.http")
	if err != nil {
		return routes
	}
	for name := range gs.GetServiceInfo() {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(name))
		if err != nil {
			continue
		}
		sd, ok := d.(protoreflect.ServiceDescriptor)
		if !ok {
			continue
		}
		for i := range sd.Methods().Len() {
			md := sd.Methods().Get(i)
			opts := md.Options()
			if !md.IsStreamingServer() || md.IsStreamingClient() || opts == nil || !proto.HasExtension(opts, xt) {
				continue
			}
			rule := opts.ProtoReflect().Get(xt.TypeDescriptor()).Message()
			addRoute(routes, rule)
			if bindings := rule.Descriptor().Fields().ByName("additional_bindings"); bindings != nil {
				list := rule.Get(bindings).List()
				for j := range list.Len() {
					addRoute(routes, list.Get(j).Message())
				}
			}
		}
	}
	return routes
}

var bareVariable = regexp.MustCompile(`\{([^}=]+)\}`)

func addRoute(routes map[string]bool, rule protoreflect.Message) {
	method, path := ruleMethod(rule), rulePath(rule)
	if method == "" || path == "" {
		return
	}
	// runtime.Pattern prints {name} as {name=*}.
	routes[method+" "+bareVariable.ReplaceAllString(path, "{$1=*}")] = true
}

// ruleMethod is the HTTP method of an HttpRule (GET for get, ..., the kind
// of a custom one).
func ruleMethod(rule protoreflect.Message) string {
	od := rule.Descriptor().Oneofs().ByName("pattern")
	if od == nil {
		return ""
	}
	fd := rule.WhichOneof(od)
	if fd == nil {
		return ""
	}
	if fd.Kind() == protoreflect.MessageKind {
		c := rule.Get(fd).Message()
		if k := c.Descriptor().Fields().ByName("kind"); k != nil {
			return c.Get(k).String()
		}
		return ""
	}
	return strings.ToUpper(string(fd.Name()))
}

// middleware serves the event-stream routes as such and passes every other
// route through untouched.
func (e *eventStreams) middleware(next runtime.HandlerFunc) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
		pat, ok := runtime.HTTPPattern(r.Context())
		if !ok || !e.routes[r.Method+" "+pat.String()] {
			next(w, r, params)
			return
		}
		// The answer is an event stream whatever the client accepts (an
		// EventSource sends Accept: text/event-stream; curl sends */*).
		r.Header.Set("Accept", mimeEventStream)
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		stopOnShutdown := context.AfterFunc(e.closing, cancel)
		defer stopOnShutdown()

		rc := http.NewResponseController(w)
		_ = rc.SetWriteDeadline(time.Time{}) // a stream outlives any write timeout
		w.Header().Set("X-Accel-Buffering", "no")
		ew := &eventWriter{ResponseWriter: w, rc: rc}
		beating := make(chan struct{})
		go ew.beat(ctx, e.heartbeat, beating)
		next(ew, r.WithContext(ctx), params)
		cancel()
		<-beating // nothing writes after the handler returned
	}
}

// eventWriter is an event stream's response: the gateway and the heartbeat
// write through it in turn.
type eventWriter struct {
	http.ResponseWriter
	rc *http.ResponseController
	mu sync.Mutex
	// status is the status sent (0 before the headers went out); streaming
	// is set once they went out as a 200 event stream (heartbeats may go).
	status    int
	streaming bool
}

func (w *eventWriter) WriteHeader(code int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.status != 0 {
		return
	}
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *eventWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.status == 0 {
		w.status = http.StatusOK
		w.streaming = w.ResponseWriter.Header().Get("Content-Type") == mimeEventStream
	}
	if w.status != http.StatusOK {
		// The RPC failed before its first message: the error as the API's
		// JSON error body, not as an event.
		if data, ok := errorEventData(b); ok {
			if _, err := w.ResponseWriter.Write(data); err != nil {
				return 0, err
			}
			return len(b), nil
		}
	}
	return w.ResponseWriter.Write(b)
}

// FlushError is what http.ResponseController (and so the gateway) flushes
// with.
func (w *eventWriter) FlushError() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.rc.Flush()
}

func (w *eventWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// beat writes a comment line every interval while the stream is open,
// until ctx ends.
func (w *eventWriter) beat(ctx context.Context, every time.Duration, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		w.mu.Lock()
		if w.streaming {
			if _, err := w.ResponseWriter.Write([]byte(heartbeatLine)); err == nil {
				_ = w.rc.Flush()
			}
		}
		w.mu.Unlock()
	}
}
