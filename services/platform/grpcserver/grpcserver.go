// Package grpcserver is the one way a counterdesk service serves its API:
// a gRPC server (authenticated, validated with protovalidate, traced, with
// health and reflection) and, on a second port, the same API as HTTP/JSON
// through grpc-gateway plus /healthz, /readyz and /metrics. Shutdown follows
// a fixed order: report NOT_SERVING, stop taking HTTP, drain gRPC with a
// hard-stop timer.
package grpcserver

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"buf.build/go/protovalidate"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// GatewayRegistrar registers one service's HTTP handlers, forwarding to the
// gRPC endpoint at addr (e.g. intakev1.RegisterIntakeServiceHandlerFromEndpoint).
type GatewayRegistrar func(ctx context.Context, mux *runtime.ServeMux, addr string, opts []grpc.DialOption) error

// Options configure a Server.
type Options struct {
	Service  string
	GRPCAddr string
	HTTPAddr string
	Verifier *auth.Verifier
	Log      *slog.Logger
	Metrics  http.Handler
	// Ready reports whether the service can take traffic (e.g. database reachable).
	Ready           func(context.Context) error
	ShutdownTimeout time.Duration
	// Reflection serves gRPC reflection, to authenticated callers only.
	Reflection bool
	// MaxBodyBytes bounds an HTTP request body (default 1 MiB).
	MaxBodyBytes int64
	// EventHeartbeat is how often an HTTP event stream (a server-streaming
	// RPC, see eventstream.go) gets a comment line (default 15 s).
	EventHeartbeat time.Duration
}

// publicMethods need no token: probes, never data. Reflection is not among
// them: when it is on at all, it answers authenticated callers only.
var publicMethods = []string{"/grpc.health.v1.Health/"}

// gatewayHeader carries a per-process random value on the calls the
// service's own HTTP gateway makes to its gRPC port, so that those calls
// (and calls signed by another counterdesk service) continue the trace they
// belong to, while a trace context sent by anyone else only becomes a link.
const gatewayHeader = "counterdesk-gateway"

// Server is a gRPC server and its HTTP gateway.
type Server struct {
	GRPC      *grpc.Server
	Health    *health.Server
	opts      Options
	gw        []GatewayRegistrar
	pages     []page
	nonce     string
	validator protovalidate.Validator
}

// New builds a server; register services on s.GRPC and gateways with
// AddGateway before calling Serve.
func New(o Options) (*Server, error) {
	v, err := protovalidate.New()
	if err != nil {
		return nil, fmt.Errorf("create request validator: %w", err)
	}
	if o.ShutdownTimeout == 0 {
		o.ShutdownTimeout = 20 * time.Second
	}
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = 1 << 20
	}
	nb := make([]byte, 32)
	if _, err := rand.Read(nb); err != nil {
		return nil, err
	}
	nonce := hex.EncodeToString(nb)
	trusted := func(ctx context.Context) bool {
		md, _ := metadata.FromIncomingContext(ctx)
		if g := md.Get(gatewayHeader); len(g) == 1 && subtle.ConstantTimeCompare([]byte(g[0]), []byte(nonce)) == 1 {
			return true
		}
		return auth.FromTrustedService(ctx, o.Verifier)
	}
	gs := grpc.NewServer(
		grpc.StatsHandler(otelgrpc.NewServerHandler(otelgrpc.WithPublicEndpointFn(
			func(ctx context.Context, _ *stats.RPCTagInfo) bool { return !trusted(ctx) }))),
		grpc.ChainUnaryInterceptor(
			recoverInterceptor(o.Log),
			errorInterceptor(o.Log),
			auth.UnaryServerInterceptor(o.Verifier, publicMethods...),
			validateInterceptor(v),
		),
		grpc.ChainStreamInterceptor(
			recoverStreamInterceptor(o.Log),
			errorStreamInterceptor(o.Log),
			auth.StreamServerInterceptor(o.Verifier, publicMethods...),
			validateStreamInterceptor(v),
		),
	)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(gs, hs)
	if o.Reflection {
		reflection.Register(gs)
	}
	return &Server{GRPC: gs, Health: hs, opts: o, nonce: nonce, validator: v}, nil
}

// AddGateway adds a service's HTTP/JSON handlers to the gateway.
func (s *Server) AddGateway(r GatewayRegistrar) { s.gw = append(s.gw, r) }

type page struct {
	pattern string
	h       http.Handler
	// hidePath: the path is a credential (see HandleLinkPages).
	hidePath bool
}

// HandlePages serves h at pattern (net/http ServeMux syntax, e.g.
// "/dashboard/") on the HTTP port beside the API, without the API's
// credential check: for static web pages a browser loads before it holds a
// token. Pages carry no data; the scripts in them call the API with the
// user's token. Responses get a Content-Security-Policy allowing this origin
// only, and may be cached.
func (s *Server) HandlePages(pattern string, h http.Handler) {
	s.pages = append(s.pages, page{pattern: pattern, h: h})
}

// HandleLinkPages is HandlePages for pages whose path carries a credential
// (a signed link such as /survey/{token}, which is all its holder needs):
// the request's span records pattern as its path, so the credential never
// reaches a trace, and h still sees the real path. h must not cache what
// it serves from such a path.
func (s *Server) HandleLinkPages(pattern string, h http.Handler) {
	s.pages = append(s.pages, page{pattern: pattern, h: h, hidePath: true})
}

// Serve runs until ctx is cancelled, then shuts down in order.
func (s *Server) Serve(ctx context.Context) error {
	lis, err := net.Listen("tcp", s.opts.GRPCAddr)
	if err != nil {
		return fmt.Errorf("listen gRPC on %s: %w", s.opts.GRPCAddr, err)
	}
	hlis, err := net.Listen("tcp", s.opts.HTTPAddr)
	if err != nil {
		lis.Close()
		return fmt.Errorf("listen HTTP on %s: %w", s.opts.HTTPAddr, err)
	}
	gwCtx, cancelGW := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelGW()
	jsonMarshaler := newGatewayMarshaler(&runtime.JSONPb{
		MarshalOptions:   protojson.MarshalOptions{EmitUnpopulated: false, UseProtoNames: false},
		UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
	}, s.validator)
	events := newEventStreams(s.GRPC, s.opts.EventHeartbeat)
	defer events.shutdown()
	mux := runtime.NewServeMux(
		runtime.WithIncomingHeaderMatcher(headerMatcher),
		runtime.WithMetadata(func(context.Context, *http.Request) metadata.MD { return metadata.Pairs(gatewayHeader, s.nonce) }),
		runtime.WithMarshalerOption(runtime.MIMEWildcard, jsonMarshaler),
		runtime.WithMarshalerOption(mimeEventStream, &eventMarshaler{jsonMarshaler}),
		runtime.WithMiddlewares(events.middleware),
		runtime.WithErrorHandler(gatewayErrorHandler),
		runtime.WithOutgoingHeaderMatcher(outgoingHeaderMatcher),
	)
	dialOpts := []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStatsHandler(otelgrpc.NewClientHandler()),
	}
	target := loopbackTarget(lis.Addr())
	for _, r := range s.gw {
		if err := r(gwCtx, mux, target, dialOpts); err != nil {
			return fmt.Errorf("register HTTP gateway: %w", err)
		}
	}
	root := http.NewServeMux()
	root.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	root.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if s.opts.Ready != nil {
			if err := s.opts.Ready(r.Context()); err != nil {
				http.Error(w, "not ready", http.StatusServiceUnavailable)
				return
			}
		}
		w.WriteHeader(http.StatusOK)
	})
	if s.opts.Metrics != nil {
		root.Handle("/metrics", s.opts.Metrics)
	}
	for _, p := range s.pages {
		inner := pageHeaders(p.h)
		if p.hidePath {
			inner = restorePath(inner)
		}
		h := otelhttp.NewHandler(inner, s.opts.Service+" page",
			otelhttp.WithPublicEndpointFn(func(*http.Request) bool { return true }),
			otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method + " " + p.pattern }))
		if p.hidePath {
			h = hidePath(p.pattern, h)
		}
		root.Handle(p.pattern, h)
	}
	// The HTTP API is the public edge: a client's traceparent is recorded as
	// a link, never continued, so nobody outside can graft spans onto our
	// traces or choose our trace ids.
	root.Handle("/", otelhttp.NewHandler(s.guard(mux), s.opts.Service+" http", otelhttp.WithPublicEndpointFn(func(*http.Request) bool { return true }),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method + " " + routePattern(r) })))
	hsrv := &http.Server{Handler: root, ReadHeaderTimeout: 10 * time.Second}
	hsrv.RegisterOnShutdown(events.shutdown) // open event streams end, so Shutdown need not wait for them

	errc := make(chan error, 2)
	go func() { errc <- s.GRPC.Serve(lis) }()
	go func() {
		if err := hsrv.Serve(hlis); !errors.Is(err, http.ErrServerClosed) {
			errc <- err
			return
		}
		errc <- nil
	}()
	s.Health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	s.opts.Log.InfoContext(ctx, "serving", "grpc", lis.Addr().String(), "http", hlis.Addr().String())

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	s.Health.Shutdown() // NOT_SERVING: load balancers stop sending
	sctx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
	defer cancel()
	_ = hsrv.Shutdown(sctx)
	done := make(chan struct{})
	go func() { s.GRPC.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-sctx.Done():
		s.GRPC.Stop()
	}
	return serveErr
}

// guard is what every HTTP API request passes before the gateway reads its
// body: the credential is checked first (401 without reading anything),
// the body is bounded (413), and responses are never cached — they carry
// personal data.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Pragma", "no-cache")
		if _, err := s.opts.Verifier.Verify(r.Context(), r.Header.Get("Authorization")); err != nil {
			writeHTTPError(w, http.StatusUnauthorized, codes.Unauthenticated, err.Error())
			return
		}
		if r.ContentLength > s.opts.MaxBodyBytes {
			writeHTTPError(w, http.StatusRequestEntityTooLarge, codes.InvalidArgument,
				fmt.Sprintf("request body larger than %d bytes", s.opts.MaxBodyBytes))
			return
		}
		r.Body = &requestBody{ReadCloser: http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes)}
		next.ServeHTTP(w, r)
	})
}

type realPathKey struct{}

// hidePath hands next (the tracing handler) the request with pattern as its
// path; restorePath, inside it, gives the page the real one back.
func hidePath(pattern string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := *r.URL
		r = r.WithContext(context.WithValue(r.Context(), realPathKey{}, u))
		hidden := *r.URL
		hidden.Path, hidden.RawPath, hidden.RawQuery = pattern, "", ""
		r.URL = &hidden
		next.ServeHTTP(w, r)
	})
}

func restorePath(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, ok := r.Context().Value(realPathKey{}).(url.URL); ok {
			r = r.WithContext(r.Context())
			r.URL = &u
		}
		next.ServeHTTP(w, r)
	})
}

// pageHeaders keeps a web page to its own origin: scripts, styles, images
// and API calls from this origin only, no framing by another site.
func pageHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; "+
			"script-src 'self'; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

// writeHTTPError answers in grpc-gateway's error shape.
func writeHTTPError(w http.ResponseWriter, httpCode int, code codes.Code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(httpCode)
	b, _ := json.Marshal(map[string]any{"code": int(code), "message": msg, "details": []any{}})
	_, _ = w.Write(b)
}

func loopbackTarget(a net.Addr) string {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	return fmt.Sprintf("127.0.0.1:%d", ta.Port)
}

func routePattern(r *http.Request) string {
	// Case ids in span names would make every name unique; keep the shape.
	parts := strings.Split(r.URL.Path, "/")
	for i, p := range parts {
		if len(p) == 36 && strings.Count(p, "-") == 4 {
			parts[i] = "{id}"
		}
	}
	return strings.Join(parts, "/")
}

// headerMatcher forwards the Idempotency-Key header as gRPC metadata, and
// everything grpc-gateway forwards by default (Authorization among them).
func headerMatcher(key string) (string, bool) {
	if strings.EqualFold(key, "Idempotency-Key") {
		return "idempotency-key", true
	}
	return runtime.DefaultHeaderMatcher(key)
}

// outgoingHeaderMatcher lets a download name its file (Content-Disposition,
// set by the RPC with grpc.SetHeader); other response metadata keeps the
// gateway's Grpc-Metadata- prefix.
func outgoingHeaderMatcher(key string) (string, bool) {
	if strings.EqualFold(key, "content-disposition") {
		return "Content-Disposition", true
	}
	return runtime.MetadataHeaderPrefix + key, true
}

func recoverInterceptor(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if r := recover(); r != nil {
				log.ErrorContext(ctx, "panic in handler", "method", info.FullMethod, "stack", string(debug.Stack()))
				err = status.Error(codes.Internal, "internal error")
			}
		}()
		return handler(ctx, req)
	}
}

// errorInterceptor logs errors that are not already gRPC statuses (they are
// bugs or infrastructure failures, and their text carries no personal data
// by this codebase's rule) and answers Internal without details.
func errorInterceptor(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		resp, err := handler(ctx, req)
		if err == nil {
			return resp, nil
		}
		if _, ok := status.FromError(err); ok {
			return resp, err
		}
		if errors.Is(err, context.Canceled) {
			return nil, status.Error(codes.Canceled, "request cancelled")
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, status.Error(codes.DeadlineExceeded, "deadline exceeded")
		}
		log.ErrorContext(ctx, "request failed", "method", info.FullMethod, "err", err)
		return nil, status.Error(codes.Internal, "internal error")
	}
}

func validateInterceptor(v protovalidate.Validator) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if m, ok := req.(proto.Message); ok {
			if err := v.Validate(m); err != nil {
				return nil, ValidationStatus(err)
			}
		}
		return handler(ctx, req)
	}
}

// ValidationStatus turns a protovalidate error into InvalidArgument with one
// field violation per broken rule, fields named as in JSON (customer.idNumber).
// Rule messages never contain the offending value.
func ValidationStatus(err error) error {
	var ve *protovalidate.ValidationError
	if !errors.As(err, &ve) {
		return status.Error(codes.InvalidArgument, "invalid request")
	}
	br := &errdetails.BadRequest{}
	var msgs []string
	for _, v := range ve.Violations {
		field := jsonPath(v.Proto.GetField())
		desc := v.Proto.GetMessage()
		if desc == "" {
			desc = v.Proto.GetRuleId()
		}
		br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: field, Description: desc})
		msgs = append(msgs, field+": "+desc)
	}
	st, _ := status.New(codes.InvalidArgument, "invalid request: "+strings.Join(msgs, "; ")).WithDetails(br)
	return st.Err()
}

// FieldError is InvalidArgument naming one field, for checks made by domain
// code after the schema rules passed.
func FieldError(field, description string) error {
	br := &errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: field, Description: description}}}
	st, _ := status.New(codes.InvalidArgument, "invalid request: "+field+": "+description).WithDetails(br)
	return st.Err()
}
