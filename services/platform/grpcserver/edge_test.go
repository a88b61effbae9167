// Protects the public edge: credentials are checked before a body is read,
// bodies are bounded, nothing personal is cached, reflection is closed
// unless turned on (and then only to callers with a credential), and a
// trace context sent from outside never becomes the parent of our spans.
package grpcserver_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	routingv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/routing/v1"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/services/platform/grpcserver"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
)

func post(t *testing.T, url, token string, body []byte, chunked bool) (int, http.Header) {
	t.Helper()
	var rd interface{ Read([]byte) (int, error) } = bytes.NewReader(body)
	if chunked {
		rd = struct{ *bytes.Reader }{bytes.NewReader(body)} // unknown length: sent chunked
	}
	req, err := http.NewRequest(http.MethodPost, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header
}

func TestTheEdgeChecksCredentialsBeforeBodiesAndBoundsThem(t *testing.T) {
	t.Parallel()
	s := start(t, 5*time.Second, func(o *grpcserver.Options) { o.MaxBodyBytes = 64 << 10 })
	tok := s.token(t, teller, time.Hour)
	big := []byte(`{"regions":[],"pad":"` + strings.Repeat("x", 1<<20) + `"}`)
	url := s.httpURL + "/v1/org:import"
	if code, _ := post(t, url, "", big, false); code != http.StatusUnauthorized {
		t.Errorf("1 MiB body without a credential answered %d, want 401 (refused before the body is read)", code)
	}
	if code, _ := post(t, url, "not-a-token", big, true); code != http.StatusUnauthorized {
		t.Errorf("chunked body with a bad credential answered %d, want 401", code)
	}
	if code, _ := post(t, url, tok, big, false); code != http.StatusRequestEntityTooLarge {
		t.Errorf("1 MiB body with a declared length answered %d, want 413", code)
	}
	if code, _ := post(t, url, tok, big, true); code < 400 || code >= 500 {
		t.Errorf("1 MiB chunked body answered %d, want a 4xx", code)
	}
	code, h, _ := s.get(t, "/v1/branches/b1", map[string]string{"Authorization": "Bearer " + tok})
	if code != http.StatusOK || h.Get("Cache-Control") != "no-store" {
		t.Errorf("GET answered %d with Cache-Control %q, want 200 and no-store", code, h.Get("Cache-Control"))
	}
	if _, h, _ := s.get(t, "/v1/branches/b1", nil); h.Get("Cache-Control") != "no-store" {
		t.Errorf("401 carries Cache-Control %q, want no-store", h.Get("Cache-Control"))
	}
}

func reflect(t *testing.T, addr, token string) codes.Code {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	}
	st, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		return status.Code(err)
	}
	// A stream the server already ended makes Send fail with io.EOF; the
	// server's answer is what Recv returns.
	_ = st.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}})
	_, err = st.Recv()
	return status.Code(err)
}

func TestReflectionIsClosedUnlessTurnedOnAndThenAuthenticated(t *testing.T) {
	t.Parallel()
	off := start(t, 5*time.Second)
	if c := reflect(t, off.grpcAddr, off.token(t, teller, time.Hour)); c != codes.Unimplemented {
		t.Errorf("reflection by default answered %v, want Unimplemented", c)
	}
	on := start(t, 5*time.Second, func(o *grpcserver.Options) { o.Reflection = true })
	if c := reflect(t, on.grpcAddr, ""); c != codes.Unauthenticated {
		t.Errorf("reflection without a credential answered %v, want Unauthenticated", c)
	}
	if c := reflect(t, on.grpcAddr, on.token(t, teller, time.Hour)); c != codes.OK {
		t.Errorf("reflection with a credential answered %v, want OK", c)
	}
}

// Not parallel: it installs the global tracer provider the handlers use.
func TestOutsideTraceContextIsOnlyALink(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	prevTP, prevProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() { otel.SetTracerProvider(prevTP); otel.SetTextMapPropagator(prevProp) })
	s := start(t, 5*time.Second)
	const outsideTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	tp1 := "00-" + outsideTrace + "-00f067aa0ba902b7-01"

	spansOf := func(name string) []sdktrace.ReadOnlySpan {
		var out []sdktrace.ReadOnlySpan
		for _, sp := range rec.Ended() {
			if strings.Contains(sp.Name(), name) {
				out = append(out, sp)
			}
		}
		return out
	}
	// Over HTTP, the public edge.
	if code, _, _ := s.get(t, "/v1/branches/b1", map[string]string{"Authorization": "Bearer " + s.token(t, teller, time.Hour), "traceparent": tp1}); code != http.StatusOK {
		t.Fatalf("GET answered %d", code)
	}
	_ = tp.ForceFlush(context.Background())
	httpSpans, grpcSpans := spansOf("GET /v1/branches"), spansOf("RoutingService/GetBranch")
	if len(httpSpans) == 0 || len(grpcSpans) == 0 {
		t.Fatalf("recorded %d HTTP and %d gRPC spans", len(httpSpans), len(grpcSpans))
	}
	h := httpSpans[len(httpSpans)-1]
	if h.SpanContext().TraceID().String() == outsideTrace || h.Parent().IsValid() {
		t.Errorf("the HTTP span continued the caller's trace (trace %s)", h.SpanContext().TraceID())
	}
	if len(h.Links()) != 1 || h.Links()[0].SpanContext.TraceID().String() != outsideTrace {
		t.Errorf("the HTTP span has links %v, want one to the caller's trace", h.Links())
	}
	var sameTrace bool
	for _, g := range grpcSpans {
		if g.SpanKind().String() == "server" && g.SpanContext().TraceID() == h.SpanContext().TraceID() {
			sameTrace = true
		}
	}
	if !sameTrace {
		t.Error("the gRPC span behind the gateway is not in the HTTP span's trace")
	}

	// Over gRPC: a bank's client is outside; another counterdesk service is not.
	call := func(md metadata.MD) string {
		rec.Reset()
		conn, err := grpc.NewClient(s.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		md.Set("traceparent", tp1)
		ctx := metadata.NewOutgoingContext(context.Background(), md)
		if _, err := routingv1.NewRoutingServiceClient(conn).GetBranch(ctx, &routingv1.GetBranchRequest{BranchId: "b1"}); err != nil {
			t.Fatalf("GetBranch: %v", err)
		}
		_ = tp.ForceFlush(context.Background())
		g := spansOf("RoutingService/GetBranch")
		if len(g) == 0 {
			t.Fatal("no gRPC span")
		}
		return g[len(g)-1].SpanContext().TraceID().String()
	}
	if got := call(metadata.Pairs("authorization", "Bearer "+s.token(t, teller, time.Hour))); got == outsideTrace {
		t.Error("a bank client's trace context was continued over gRPC")
	}
	svc, err := s.inst.MintAt(auth.Principal{Tenant: auth.AllTenants, Subject: "intake", Role: auth.RoleService}, time.Now(), 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if got := call(metadata.Pairs("authorization", "Bearer "+s.token(t, teller, time.Hour), auth.ServiceHeader, "Bearer "+svc)); got != outsideTrace {
		t.Errorf("a call signed by another service got trace %s, want its own %s continued", got, outsideTrace)
	}
}

// A step the resource's state does not allow is a conflict: 409, not 400.
func TestFailedPreconditionIsAConflict(t *testing.T) {
	t.Parallel()
	s := start(t, 5*time.Second)
	code, _, body := s.get(t, "/v1/branches/closed", map[string]string{"Authorization": "Bearer " + s.token(t, teller, time.Hour)})
	if code != http.StatusConflict || !strings.Contains(string(body), "closed for the day") {
		t.Errorf("FailedPrecondition answered %d %s, want 409 with the message", code, body)
	}
}

// Not parallel: it installs the global tracer provider the handlers use.
func TestALinkPagesCredentialReachesNoSpan(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	prevTP := otel.GetTracerProvider()
	otel.SetTracerProvider(tp)
	t.Cleanup(func() { otel.SetTracerProvider(prevTP) })
	s := start(t, 5*time.Second)
	const secret = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.c2lnbmF0dXJl"
	code, h, body := s.get(t, "/link/"+secret+"?lang=en", nil)
	if code != http.StatusOK || string(body) != "path /link/"+secret+" query lang=en" {
		t.Fatalf("GET a link page = %d %q, want 200 and the page seeing its real path", code, body)
	}
	if !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'self'") {
		t.Errorf("a link page lacks the pages' headers: %v", h)
	}
	_ = tp.ForceFlush(context.Background())
	var seen int
	for _, sp := range rec.Ended() {
		if !strings.Contains(sp.Name(), "/link/") {
			continue
		}
		seen++
		for _, a := range sp.Attributes() {
			if strings.Contains(a.Value.String(), "c2VjcmV0") {
				t.Errorf("span %q attribute %s holds the link's credential: %s", sp.Name(), a.Key, a.Value.String())
			}
		}
	}
	if seen == 0 {
		t.Fatal("no span of the link page")
	}
}
