package localinfra

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

func startTraceSink(t *testing.T) (*TraceSink, string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "traces", "spans.jsonl")
	s, err := StartTraceSink("127.0.0.1:0", file)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s, file
}

// exportWithSDK sends spans the way the services do: the OTel SDK's
// OTLP/HTTP exporter (protobuf). It returns the root span's trace id.
func exportWithSDK(t *testing.T, s *TraceSink, caseID string) string {
	t.Helper()
	ctx := context.Background()
	exp, err := otlptracehttp.New(ctx,
		otlptracehttp.WithEndpointURL(s.URL()+"/v1/traces"),
		otlptracehttp.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	res := resource.NewSchemaless(attribute.String("service.name", "intake"))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithResource(res))
	tr := tp.Tracer("test")
	ctx, root := tr.Start(ctx, "POST /cases", trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("case.id", caseID), attribute.Int("http.status_code", 201)))
	_, child := tr.Start(ctx, "INSERT cases", trace.WithAttributes(attribute.StringSlice("db.tags", []string{"a", "b"})))
	child.SetStatus(codes.Error, "duplicate key")
	child.End()
	root.End()
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatalf("export: %v", err)
	}
	return root.SpanContext().TraceID().String()
}

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("decode %s: %v", url, err)
	}
	return resp.StatusCode
}

func TestTraceSinkOTelSDK(t *testing.T) {
	s, file := startTraceSink(t)
	traceID := exportWithSDK(t, s, "case-7")
	exportWithSDK(t, s, "case-8")

	// Go API.
	spans := s.SpansByTrace(traceID)
	if len(spans) != 2 {
		t.Fatalf("SpansByTrace: %d spans, want 2", len(spans))
	}
	root, child := spans[0], spans[1]
	if root.Name != "POST /cases" || root.Service != "intake" || root.Kind != "SERVER" || root.ParentSpanID != "" {
		t.Errorf("root span: %+v", root)
	}
	if root.Attributes["case.id"] != "case-7" || root.Attributes["http.status_code"] != "201" {
		t.Errorf("root attributes: %v", root.Attributes)
	}
	if child.ParentSpanID != root.SpanID || child.StatusCode != "ERROR" || child.StatusMessage != "duplicate key" {
		t.Errorf("child span: %+v", child)
	}
	if child.Attributes["db.tags"] != `["a","b"]` {
		t.Errorf("array attribute = %q", child.Attributes["db.tags"])
	}
	if len(s.Spans()) != 4 || len(s.SpansByCase("case-7")) != 1 {
		t.Errorf("Spans: %d, SpansByCase: %d", len(s.Spans()), len(s.SpansByCase("case-7")))
	}

	// Query API by case id: matching spans grouped by trace.
	var byCase struct{ Traces []Trace }
	if code := getJSON(t, s.URL()+"/api/traces?case_id=case-7", &byCase); code != 200 {
		t.Fatalf("status %d", code)
	}
	if len(byCase.Traces) != 1 || byCase.Traces[0].TraceID != traceID || len(byCase.Traces[0].Spans) != 1 ||
		byCase.Traces[0].Spans[0].Name != "POST /cases" {
		t.Errorf("by case: %+v", byCase)
	}

	var one Trace
	if code := getJSON(t, s.URL()+"/api/traces/"+traceID, &one); code != 200 || len(one.Spans) != 2 || !one.Error {
		t.Errorf("trace %s: status %d %+v", traceID, code, one)
	}
	var missing map[string]string
	if code := getJSON(t, s.URL()+"/api/traces/00000000000000000000000000000000", &missing); code != 404 {
		t.Errorf("missing trace: status %d", code)
	}

	// HTML pages.
	index := getText(t, s.URL()+"/")
	if !strings.Contains(index, `href="/trace/`+traceID+`"`) || !strings.Contains(index, "POST /cases") {
		t.Errorf("index page lacks the trace:\n%s", index)
	}
	page := getText(t, s.URL()+"/trace/"+traceID)
	if !strings.Contains(page, "INSERT cases") || !strings.Contains(page, "padding-left: 1.5em") || strings.Contains(page, "ZgotmplZ") {
		t.Errorf("trace page:\n%s", page)
	}

	// JSON lines file: one line per span.
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		var sp map[string]any
		if err := json.Unmarshal(sc.Bytes(), &sp); err != nil {
			t.Fatalf("line %d: %v", n+1, err)
		}
		for _, k := range []string{"traceId", "spanId", "name", "service", "startTime", "endTime", "durationMs", "attributes", "statusCode"} {
			if _, ok := sp[k]; !ok {
				t.Errorf("line %d lacks %s: %s", n+1, k, sc.Text())
			}
		}
		n++
	}
	if n != 4 {
		t.Errorf("%d lines in %s, want 4", n, file)
	}
}

// TestTraceSinkJSON posts OTLP/JSON, whose ids are hex (not protojson's
// base64).
func TestTraceSinkJSON(t *testing.T) {
	s, _ := startTraceSink(t)
	body := `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"routing"}}]},
	"scopeSpans":[{"scope":{"name":"x"},"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
	"name":"route case","kind":1,"startTimeUnixNano":"1544712660000000000","endTimeUnixNano":"1544712661500000000",
	"attributes":[{"key":"case.id","value":{"stringValue":"c-1"}},{"key":"n","value":{"intValue":"3"}}],"status":{"code":1}}]}]}]}`
	resp, err := http.Post(s.URL()+"/v1/traces", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, type %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), out)
	}
	spans := s.SpansByCase("c-1")
	if len(spans) != 1 {
		t.Fatalf("%d spans", len(spans))
	}
	sp := spans[0]
	if sp.TraceID != "5b8efff798038103d269b633813fc60c" || sp.SpanID != "eee19b7ec3c1b174" ||
		sp.Service != "routing" || sp.DurationMs != 1500 || sp.Attributes["n"] != "3" || sp.StatusCode != "OK" {
		t.Errorf("span: %+v", sp)
	}

	resp, err = http.Post(s.URL()+"/v1/traces", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain: status %d, want 415", resp.StatusCode)
	}
}

func TestTraceSinkRingBound(t *testing.T) {
	s := &TraceSink{}
	batch := make([]Span, 1000)
	for i := 0; i < MaxTraceSinkSpans/1000+5; i++ {
		for j := range batch {
			batch[j] = Span{SpanID: itoa(i*1000 + j)}
		}
		s.add(batch)
	}
	all := s.Spans()
	if len(all) != MaxTraceSinkSpans {
		t.Fatalf("%d spans kept, want %d", len(all), MaxTraceSinkSpans)
	}
	if all[0].SpanID != "5000" || all[len(all)-1].SpanID != itoa(MaxTraceSinkSpans+4999) {
		t.Errorf("oldest %s newest %s", all[0].SpanID, all[len(all)-1].SpanID)
	}
}

func getText(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return string(b)
}
