// Protects the API front door every service shares: auth, validation with JSON field names, errors that leak nothing, probes and metrics, header forwarding, and an orderly shutdown that reports NOT_SERVING first.
package grpcserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	reportingv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/reporting/v1"
	routingv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/routing/v1"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/services/platform/auth/authdev"
	"github.com/counterdesk/counterdesk/services/platform/grpcserver"
	"github.com/counterdesk/counterdesk/services/platform/localinfra"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// The text of the error the handler fails with: it must reach the log
// and never the caller.
const secretFailure = "dial 10.0.0.7:5432: password authentication failed for user routing_rw"

// routing is a tiny RoutingService: branch b1 exists, "boom" fails with a
// plain Go error, "panic" panics, every other branch is NotFound.
type routing struct {
	routingv1.UnimplementedRoutingServiceServer
	mu         sync.Mutex
	idemKeys   []string
	principals []auth.Principal
}

func (r *routing) GetBranch(ctx context.Context, req *routingv1.GetBranchRequest) (*routingv1.GetBranchResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	p, _ := auth.FromContext(ctx)
	r.mu.Lock()
	r.idemKeys = append(r.idemKeys, strings.Join(md.Get("idempotency-key"), ","))
	r.principals = append(r.principals, p)
	r.mu.Unlock()
	switch req.GetBranchId() {
	case "b1":
		return &routingv1.GetBranchResponse{
			Branch:             &routingv1.Branch{Id: "b1", RegionId: "r1", Name: "Main Street", TimeZone: "Asia/Shanghai"},
			ComplaintManagerId: "cm-1",
			StaffIds:           []string{"t-1", "t-2"},
		}, nil
	case "boom":
		return nil, fmt.Errorf("load branch: %s", secretFailure)
	case "panic":
		panic("handler bug")
	case "closed":
		return nil, status.Error(codes.FailedPrecondition, "branch is closed for the day")
	default:
		return nil, status.Error(codes.NotFound, "branch not found")
	}
}

func (r *routing) last() (string, auth.Principal) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.idemKeys) == 0 {
		return "", auth.Principal{}
	}
	return r.idemKeys[len(r.idemKeys)-1], r.principals[len(r.principals)-1]
}

// syncBuffer is a log sink the server writes to while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type server struct {
	srv      *grpcserver.Server
	impl     *routing
	grpcAddr string
	httpURL  string
	logs     *syncBuffer
	verifier *auth.Verifier
	inst     *authdev.Installation
	notReady atomic.Bool
	cancel   context.CancelFunc
	done     chan error
}

func freeAddr(t *testing.T) string {
	t.Helper()
	port, err := localinfra.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return "127.0.0.1:" + strconv.Itoa(port)
}

func start(t *testing.T, shutdownTimeout time.Duration, opts ...func(*grpcserver.Options)) *server {
	t.Helper()
	inst, err := authdev.New([]string{"bank-a"}, []string{"routing", "intake"})
	if err != nil {
		t.Fatal(err)
	}
	v, err := inst.Verifier(time.Now)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	requests := prometheus.NewCounter(prometheus.CounterOpts{Name: "counterdesk_test_requests_total", Help: "Requests seen by the test."})
	reg.MustRegister(requests)
	requests.Add(3)

	s := &server{impl: &routing{}, logs: &syncBuffer{}, verifier: v, inst: inst, grpcAddr: freeAddr(t), done: make(chan error, 1)}
	httpAddr := freeAddr(t)
	s.httpURL = "http://" + httpAddr
	o := grpcserver.Options{
		Service: "routing", GRPCAddr: s.grpcAddr, HTTPAddr: httpAddr, Verifier: v,
		Log:     slog.New(slog.NewJSONHandler(s.logs, nil)),
		Metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}),
		Ready: func(context.Context) error {
			if s.notReady.Load() {
				return errors.New("database unreachable")
			}
			return nil
		},
		ShutdownTimeout: shutdownTimeout,
	}
	for _, f := range opts {
		f(&o)
	}
	s.srv, err = grpcserver.New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	routingv1.RegisterRoutingServiceServer(s.srv.GRPC, s.impl)
	s.srv.AddGateway(routingv1.RegisterRoutingServiceHandlerFromEndpoint)
	reportingv1.RegisterFormsServiceServer(s.srv.GRPC, forms{})
	s.srv.AddGateway(reportingv1.RegisterFormsServiceHandlerFromEndpoint)
	s.srv.HandlePages("/pages/", http.StripPrefix("/pages/", http.FileServerFS(fstest.MapFS{
		"index.html": {Data: []byte("<!doctype html><title>sign in</title>")},
	})))
	s.srv.HandleLinkPages("/link/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("path " + r.URL.Path + " query " + r.URL.RawQuery))
	}))

	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go func() { s.done <- s.srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-s.done:
			if err != nil {
				t.Errorf("Serve returned %v", err)
			}
		case <-time.After(shutdownTimeout + 10*time.Second):
			t.Error("Serve did not return after its context was cancelled")
		}
	})

	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(s.httpURL + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		select {
		case err := <-s.done:
			t.Fatalf("Serve returned at start: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not answering on %s: %v", s.httpURL, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return s
}

func (s *server) token(t *testing.T, p auth.Principal, ttl time.Duration) string {
	t.Helper()
	iat := time.Now()
	if ttl < 0 { // an expired token: issued an hour before it ended
		iat = iat.Add(ttl - time.Hour)
		ttl = time.Hour
	}
	tok, err := s.inst.MintAt(p, iat, ttl)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

var teller = auth.Principal{Tenant: "bank-a", Subject: "t-1", Role: auth.RoleTeller, Branch: "b1", Region: "r1"}

func (s *server) get(t *testing.T, path string, headers map[string]string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.httpURL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, body
}

// statusBody is grpc-gateway's JSON error body.
type statusBody struct {
	Code    int               `json:"code"`
	Message string            `json:"message"`
	Details []json.RawMessage `json:"details"`
}

func TestGatewayAnswersOverHTTP(t *testing.T) {
	t.Parallel()
	s := start(t, 5*time.Second)
	other, err := authdev.New([]string{"bank-a"}, nil) // the same bank name, keys nobody trusts
	if err != nil {
		t.Fatal(err)
	}
	forged, err := other.Mint(teller, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	valid := "Bearer " + s.token(t, teller, time.Hour)

	tests := []struct {
		name       string
		path       string
		headers    map[string]string
		wantStatus int
		check      func(t *testing.T, body []byte)
	}{
		{name: "a request without a bearer token is refused with 401", path: "/v1/branches/b1", wantStatus: http.StatusUnauthorized},
		{name: "a request with a token signed by another key is refused with 401", path: "/v1/branches/b1",
			headers: map[string]string{"Authorization": "Bearer " + forged}, wantStatus: http.StatusUnauthorized,
			check: func(t *testing.T, body []byte) {
				if strings.Contains(string(body), forged) {
					t.Errorf("401 body echoes the token: %s", body)
				}
			}},
		{name: "a request with an expired token is refused with 401", path: "/v1/branches/b1",
			headers: map[string]string{"Authorization": "Bearer " + s.token(t, teller, -time.Minute)}, wantStatus: http.StatusUnauthorized},
		{name: "a request with a garbage token is refused with 401", path: "/v1/branches/b1",
			headers: map[string]string{"Authorization": "Bearer not.a.token"}, wantStatus: http.StatusUnauthorized},
		{name: "a valid token gets the branch as JSON with lowerCamel field names", path: "/v1/branches/b1",
			headers: map[string]string{"Authorization": valid}, wantStatus: http.StatusOK,
			check: func(t *testing.T, body []byte) {
				var got map[string]any
				if err := json.Unmarshal(body, &got); err != nil {
					t.Fatalf("body is not JSON: %v: %s", err, body)
				}
				if got["complaintManagerId"] != "cm-1" {
					t.Errorf("complaintManagerId = %v in %s", got["complaintManagerId"], body)
				}
				branch, _ := got["branch"].(map[string]any)
				if branch["regionId"] != "r1" || branch["timeZone"] != "Asia/Shanghai" {
					t.Errorf("branch = %v", branch)
				}
				if ids, _ := got["staffIds"].([]any); len(ids) != 2 {
					t.Errorf("staffIds = %v", got["staffIds"])
				}
				for _, snake := range []string{"complaint_manager_id", "staff_ids", "region_id", "calendarId", "calendar_id"} {
					if strings.Contains(string(body), `"`+snake+`"`) {
						t.Errorf("body has field %q (snake_case, or an unpopulated field): %s", snake, body)
					}
				}
			}},
		{name: "an unknown branch answers 404", path: "/v1/branches/b404",
			headers: map[string]string{"Authorization": valid}, wantStatus: http.StatusNotFound},
		{name: "an empty branch id answers 400 with a BadRequest naming branchId", path: "/v1/branches/",
			headers: map[string]string{"Authorization": valid}, wantStatus: http.StatusBadRequest,
			check: func(t *testing.T, body []byte) {
				var st statusBody
				if err := json.Unmarshal(body, &st); err != nil {
					t.Fatalf("body is not a status: %v: %s", err, body)
				}
				if st.Code != int(codes.InvalidArgument) {
					t.Errorf("code %d, want InvalidArgument", st.Code)
				}
				var found bool
				for _, d := range st.Details {
					var br struct {
						Type            string `json:"@type"`
						FieldViolations []struct {
							Field       string `json:"field"`
							Description string `json:"description"`
						} `json:"fieldViolations"`
					}
					if err := json.Unmarshal(d, &br); err != nil || br.Type != "type.googleapis.com/google.rpc.BadRequest" {
						continue
					}
					for _, fv := range br.FieldViolations {
						if fv.Field == "branchId" && fv.Description != "" {
							found = true
						}
					}
				}
				if !found {
					t.Errorf("no BadRequest field violation for branchId in %s", body)
				}
			}},
		{name: "a handler's plain error answers 500 internal error without its text", path: "/v1/branches/boom",
			headers: map[string]string{"Authorization": valid}, wantStatus: http.StatusInternalServerError,
			check: func(t *testing.T, body []byte) {
				var st statusBody
				if err := json.Unmarshal(body, &st); err != nil {
					t.Fatalf("body is not a status: %v: %s", err, body)
				}
				if st.Message != "internal error" {
					t.Errorf("message %q, want \"internal error\"", st.Message)
				}
				if strings.Contains(string(body), "password") || strings.Contains(string(body), "10.0.0.7") {
					t.Errorf("500 body leaks the error: %s", body)
				}
				if !strings.Contains(s.logs.String(), secretFailure) {
					t.Errorf("the error is not in the log: %s", s.logs.String())
				}
			}},
		{name: "a handler that panics answers 500 and the panic is logged", path: "/v1/branches/panic",
			headers: map[string]string{"Authorization": valid}, wantStatus: http.StatusInternalServerError,
			check: func(t *testing.T, body []byte) {
				if strings.Contains(string(body), "nil map") || strings.Contains(string(body), "goroutine") {
					t.Errorf("500 body leaks the panic: %s", body)
				}
				if !strings.Contains(s.logs.String(), "panic in handler") {
					t.Errorf("the panic is not in the log")
				}
			}},
		{name: "healthz answers 200 without a token", path: "/healthz", wantStatus: http.StatusOK},
		{name: "readyz answers 200 while the service is ready", path: "/readyz", wantStatus: http.StatusOK},
		{name: "metrics serves Prometheus text without a token", path: "/metrics", wantStatus: http.StatusOK,
			check: func(t *testing.T, body []byte) {
				if !strings.Contains(string(body), "# TYPE counterdesk_test_requests_total counter") ||
					!strings.Contains(string(body), "counterdesk_test_requests_total 3") {
					t.Errorf("metrics body lacks the registered counter: %s", body)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, body := s.get(t, tt.path, tt.headers)
			if code != tt.wantStatus {
				t.Fatalf("GET %s = %d %s, want %d", tt.path, code, body, tt.wantStatus)
			}
			if tt.check != nil {
				tt.check(t, body)
			}
		})
	}
}

func TestGatewayForwardsTheCallerAndIdempotencyKey(t *testing.T) {
	t.Parallel()
	s := start(t, 5*time.Second)
	tests := []struct {
		name    string
		header  string
		value   string
		wantKey string
	}{
		{name: "the Idempotency-Key header arrives as idempotency-key metadata", header: "Idempotency-Key", value: "req-42", wantKey: "req-42"},
		{name: "the header name is matched without regard to case", header: "idempotency-key", value: "req-43", wantKey: "req-43"},
		{name: "a request without the header has no idempotency-key metadata", header: "X-Other", value: "x", wantKey: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, body := s.get(t, "/v1/branches/b1", map[string]string{"Authorization": "Bearer " + s.token(t, teller, time.Hour), tt.header: tt.value})
			if code != http.StatusOK {
				t.Fatalf("GET = %d %s", code, body)
			}
			key, p := s.impl.last()
			if key != tt.wantKey {
				t.Errorf("handler saw idempotency-key %q, want %q", key, tt.wantKey)
			}
			if p != teller {
				t.Errorf("handler saw principal %+v, want %+v", p, teller)
			}
		})
	}
}

func TestReadyzFollowsTheReadinessCheck(t *testing.T) {
	t.Parallel()
	s := start(t, 5*time.Second)
	tests := []struct {
		name     string
		notReady bool
		want     int
	}{
		{name: "a ready service answers 200", notReady: false, want: http.StatusOK},
		{name: "a service whose check fails answers 503", notReady: true, want: http.StatusServiceUnavailable},
		{name: "a service that recovers answers 200 again", notReady: false, want: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.notReady.Store(tt.notReady)
			code, _, body := s.get(t, "/readyz", nil)
			if code != tt.want {
				t.Errorf("readyz = %d %s, want %d", code, body, tt.want)
			}
			if strings.Contains(string(body), "database unreachable") {
				t.Errorf("readyz body leaks the check's error: %s", body)
			}
			if code, _, _ := s.get(t, "/healthz", nil); code != http.StatusOK {
				t.Errorf("healthz = %d: liveness must not follow readiness", code)
			}
		})
	}
}

// forms answers a download: raw bytes with their own type and file name.
type forms struct {
	reportingv1.UnimplementedFormsServiceServer
}

var pdfBytes = []byte("%PDF-1.3\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\n")

func (forms) GetComplaintSheetPdf(ctx context.Context, req *reportingv1.GetComplaintSheetPdfRequest) (*httpbody.HttpBody, error) {
	if _, ok := auth.FromContext(ctx); !ok {
		return nil, status.Error(codes.Unauthenticated, "no caller")
	}
	_ = grpc.SetHeader(ctx, metadata.Pairs("content-disposition", `attachment; filename="sheet.pdf"`))
	return &httpbody.HttpBody{ContentType: "application/pdf", Data: pdfBytes}, nil
}

func TestADownloadIsWrittenAsItsBytes(t *testing.T) {
	t.Parallel()
	s := start(t, 5*time.Second)
	path := "/v1/reports/forms/cases/0193f5c2-7a10-7c3e-9d7e-4d1f2a3b4c5d/complaint-sheet.pdf"
	code, h, body := s.get(t, path, map[string]string{"Authorization": "Bearer " + s.token(t, teller, time.Hour)})
	if code != http.StatusOK || !bytes.Equal(body, pdfBytes) {
		t.Fatalf("GET %s = %d %q, want 200 and the PDF's bytes as they are", path, code, body)
	}
	if ct := h.Get("Content-Type"); ct != "application/pdf" {
		t.Errorf("Content-Type = %q, want application/pdf", ct)
	}
	if cd := h.Get("Content-Disposition"); cd != `attachment; filename="sheet.pdf"` {
		t.Errorf("Content-Disposition = %q, want the file name the RPC set", cd)
	}
	if cc := h.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q: a download holds case data and must not be cached", cc)
	}
	if code, _, _ := s.get(t, path, nil); code != http.StatusUnauthorized {
		t.Errorf("a download without a token = %d, want 401", code)
	}
	bad := "/v1/reports/forms/cases/not-a-uuid/complaint-sheet.pdf"
	if code, h, body := s.get(t, bad, map[string]string{"Authorization": "Bearer " + s.token(t, teller, time.Hour)}); code != http.StatusBadRequest ||
		!strings.Contains(h.Get("Content-Type"), "json") || !strings.Contains(string(body), "caseId") {
		t.Errorf("a download with a bad id = %d %s %s, want 400 in JSON naming caseId", code, h.Get("Content-Type"), body)
	}
}

func TestPagesNeedNoTokenAndStayOnTheirOrigin(t *testing.T) {
	t.Parallel()
	s := start(t, 5*time.Second)
	code, h, body := s.get(t, "/pages/", nil)
	if code != http.StatusOK || !strings.Contains(string(body), "sign in") {
		t.Fatalf("GET /pages/ without a token = %d %q, want 200 and the page", code, body)
	}
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-eval") || strings.Contains(csp, "script-src 'self' 'unsafe-inline'") {
		t.Errorf("Content-Security-Policy %q allows inline or evaluated scripts", csp)
	}
	if code, _, _ := s.get(t, "/pages/missing.js", nil); code != http.StatusNotFound {
		t.Errorf("GET a missing page = %d, want 404", code)
	}
	if code, _, _ := s.get(t, "/v1/branches/b1", nil); code != http.StatusUnauthorized {
		t.Errorf("the API beside the pages answered %d without a token, want 401", code)
	}
}

func dial(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func TestGRPCCallsAreAuthenticatedAndValidated(t *testing.T) {
	t.Parallel()
	s := start(t, 5*time.Second)
	conn := dial(t, s.grpcAddr)
	client := routingv1.NewRoutingServiceClient(conn)
	withToken := func(tok string) context.Context {
		return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok)
	}
	valid := s.token(t, teller, time.Hour)

	tests := []struct {
		name     string
		call     func() error
		wantCode codes.Code
		check    func(t *testing.T, st *status.Status)
	}{
		{name: "a call without a token is Unauthenticated", call: func() error {
			_, err := client.GetBranch(context.Background(), &routingv1.GetBranchRequest{BranchId: "b1"})
			return err
		}, wantCode: codes.Unauthenticated},
		{name: "a call with a valid token succeeds", call: func() error {
			_, err := client.GetBranch(withToken(valid), &routingv1.GetBranchRequest{BranchId: "b1"})
			return err
		}, wantCode: codes.OK},
		{name: "authentication comes before validation, so an anonymous caller learns nothing of the rules", call: func() error {
			_, err := client.GetBranch(context.Background(), &routingv1.GetBranchRequest{})
			return err
		}, wantCode: codes.Unauthenticated},
		{name: "an invalid request is InvalidArgument with a BadRequest naming branchId", call: func() error {
			_, err := client.GetBranch(withToken(valid), &routingv1.GetBranchRequest{})
			return err
		}, wantCode: codes.InvalidArgument, check: func(t *testing.T, st *status.Status) {
			var fields []string
			for _, d := range st.Details() {
				if br, ok := d.(*errdetails.BadRequest); ok {
					for _, fv := range br.GetFieldViolations() {
						fields = append(fields, fv.GetField())
					}
				}
			}
			if len(fields) != 1 || fields[0] != "branchId" {
				t.Errorf("field violations %v, want [branchId]", fields)
			}
		}},
		{name: "a violation inside a repeated message is named by its JSON path with the index", call: func() error {
			_, err := client.ImportOrg(withToken(valid), &routingv1.ImportOrgRequest{Staff: []*routingv1.Staff{
				{Id: "s1", DisplayName: "Li Na", Role: routingv1.Role_ROLE_TELLER, BranchId: "b1"},
				{Id: "s2", DisplayName: "", Role: routingv1.Role_ROLE_TELLER, BranchId: "b1"},
			}})
			return err
		}, wantCode: codes.InvalidArgument, check: func(t *testing.T, st *status.Status) {
			var fields []string
			for _, d := range st.Details() {
				if br, ok := d.(*errdetails.BadRequest); ok {
					for _, fv := range br.GetFieldViolations() {
						fields = append(fields, fv.GetField())
					}
				}
			}
			if len(fields) != 1 || fields[0] != "staff[1].displayName" {
				t.Errorf("field violations %v, want [staff[1].displayName]", fields)
			}
			if !strings.Contains(st.Message(), "staff[1].displayName") {
				t.Errorf("message %q does not name the field", st.Message())
			}
		}},
		{name: "a plain handler error is Internal without its text", call: func() error {
			_, err := client.GetBranch(withToken(valid), &routingv1.GetBranchRequest{BranchId: "boom"})
			return err
		}, wantCode: codes.Internal, check: func(t *testing.T, st *status.Status) {
			if st.Message() != "internal error" {
				t.Errorf("message %q leaks more than \"internal error\"", st.Message())
			}
		}},
		{name: "the health check needs no token", call: func() error {
			_, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
			return err
		}, wantCode: codes.OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			st := status.Convert(err)
			if st.Code() != tt.wantCode {
				t.Fatalf("code %v (%v), want %v", st.Code(), err, tt.wantCode)
			}
			if tt.check != nil {
				tt.check(t, st)
			}
		})
	}
}

func TestShutdownReportsNotServingThenStops(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// keepWatching: the client never ends its health stream, so only
		// the hard-stop timer can end the drain.
		keepWatching bool
	}{
		{name: "on cancel the health status turns NOT_SERVING before the server stops, and Serve returns", keepWatching: false},
		{name: "a stream that never ends is cut after ShutdownTimeout", keepWatching: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			const shutdownTimeout = 2 * time.Second
			s := start(t, shutdownTimeout)
			conn := dial(t, s.grpcAddr)
			health := healthpb.NewHealthClient(conn)
			if resp, err := health.Check(context.Background(), &healthpb.HealthCheckRequest{}); err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
				t.Fatalf("Check = %v, %v; want SERVING", resp.GetStatus(), err)
			}
			wctx, wcancel := context.WithCancel(context.Background())
			defer wcancel()
			watch, err := health.Watch(wctx, &healthpb.HealthCheckRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if m, err := watch.Recv(); err != nil || m.GetStatus() != healthpb.HealthCheckResponse_SERVING {
				t.Fatalf("first Watch status %v, %v; want SERVING", m.GetStatus(), err)
			}

			s.cancel()
			m, err := watch.Recv()
			if err != nil || m.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
				t.Fatalf("after cancel Watch got %v, %v; want NOT_SERVING while the server still runs", m.GetStatus(), err)
			}
			stopping := time.Now()
			if !tt.keepWatching {
				wcancel()
			}
			select {
			case err := <-s.done:
				if err != nil {
					t.Errorf("Serve = %v, want nil after a cancel", err)
				}
			case <-time.After(shutdownTimeout + 10*time.Second):
				t.Fatal("Serve did not return")
			}
			took := time.Since(stopping)
			switch {
			case !tt.keepWatching && took >= shutdownTimeout:
				t.Errorf("Serve took %v with nothing in flight: it waited for the hard stop", took)
			case tt.keepWatching && took < shutdownTimeout-200*time.Millisecond:
				t.Errorf("Serve returned after %v, before the %v drain", took, shutdownTimeout)
			}
			s.done <- nil // for the cleanup
			if _, err := http.Get(s.httpURL + "/healthz"); err == nil {
				t.Errorf("HTTP still answers after Serve returned")
			}
		})
	}
}

func TestFieldErrorNamesOneField(t *testing.T) {
	tests := []struct {
		name, field, description string
	}{
		{name: "a domain check names the JSON field it refused", field: "customer.idNumber", description: "does not match the ID card checksum"},
		{name: "a field inside a list keeps its index", field: "staff[2].branchId", description: "branch does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := status.Convert(grpcserver.FieldError(tt.field, tt.description))
			if st.Code() != codes.InvalidArgument {
				t.Errorf("code %v, want InvalidArgument", st.Code())
			}
			var got []*errdetails.BadRequest_FieldViolation
			for _, d := range st.Details() {
				if br, ok := d.(*errdetails.BadRequest); ok {
					got = append(got, br.GetFieldViolations()...)
				}
			}
			if len(got) != 1 || got[0].GetField() != tt.field || got[0].GetDescription() != tt.description {
				t.Errorf("field violations %v, want one for %s", got, tt.field)
			}
		})
	}
}
