package localinfra

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"mime"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// MaxTraceSinkSpans bounds the spans a TraceSink keeps in memory; older
// spans are dropped first (the JSON lines file keeps everything).
const MaxTraceSinkSpans = 100_000

// Span is one received span, flattened for humans and assertions. It is
// also the format of the JSON lines file and of the query API.
type Span struct {
	TraceID      string `json:"traceId"`
	SpanID       string `json:"spanId"`
	ParentSpanID string `json:"parentSpanId,omitempty"`
	Name         string `json:"name"`
	// Service is the resource attribute service.name.
	Service    string    `json:"service"`
	Kind       string    `json:"kind,omitempty"`
	StartTime  time.Time `json:"startTime"`
	EndTime    time.Time `json:"endTime"`
	DurationMs float64   `json:"durationMs"`
	// Attributes are the span's attributes with values rendered as
	// strings (arrays and maps as JSON).
	Attributes    map[string]string `json:"attributes"`
	StatusCode    string            `json:"statusCode"` // UNSET, OK or ERROR
	StatusMessage string            `json:"statusMessage,omitempty"`
}

// TraceSink is a minimal OTLP/HTTP trace receiver for the dev stack and
// tests: services export to it exactly as they would to a collector, and
// people (web page) or tests (Go methods, JSON API) look at the result.
type TraceSink struct {
	ln   net.Listener
	srv  *http.Server
	done chan struct{}

	mu    sync.Mutex
	ring  []Span // ring buffer of at most MaxTraceSinkSpans spans
	head  int    // index of the oldest span once the ring is full
	file  *os.File
	fileE error // first write error, reported by Close
}

// StartTraceSink serves OTLP/HTTP on addr ("127.0.0.1:4318", or
// "127.0.0.1:0" for a free port, see Addr):
//
//	POST /v1/traces            OTLP ExportTraceServiceRequest, protobuf or JSON
//	GET  /api/traces?case_id=X spans with attribute case.id=X, grouped by trace
//	GET  /api/traces           summaries of the latest 50 traces
//	GET  /api/traces/{traceId} the spans of one trace
//	GET  /                     HTML list of the latest 50 traces
//	GET  /trace/{traceId}      HTML tree of one trace
//
// If file is not empty, every span is also appended to it as one JSON line.
func StartTraceSink(addr string, file string) (*TraceSink, error) {
	s := &TraceSink{done: make(chan struct{})}
	if file != "" {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			return nil, fmt.Errorf("localinfra: trace file dir: %w", err)
		}
		f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("localinfra: open trace file: %w", err)
		}
		s.file = f
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if s.file != nil {
			s.file.Close()
		}
		return nil, fmt.Errorf("localinfra: trace sink listen on %s: %w", addr, err)
	}
	s.ln = ln
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/traces", s.handleExport)
	mux.HandleFunc("GET /api/traces", s.handleQuery)
	mux.HandleFunc("GET /api/traces/{traceId}", s.handleTraceJSON)
	mux.HandleFunc("GET /{$}", s.handleIndex)
	mux.HandleFunc("GET /trace/{traceId}", s.handleTracePage)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln) // returns on Close
	}()
	return s, nil
}

// Addr is the address the sink listens on, "127.0.0.1:port".
func (s *TraceSink) Addr() string { return s.ln.Addr().String() }

// URL is the base URL, "http://127.0.0.1:port"; exporters want
// URL()+"/v1/traces".
func (s *TraceSink) URL() string { return "http://" + s.Addr() }

// Close stops the server and closes the JSON lines file.
func (s *TraceSink) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.file != nil {
		if cerr := s.file.Close(); err == nil {
			err = cerr
		}
		s.file = nil
	}
	if err == nil {
		err = s.fileE
	}
	if err != nil {
		return fmt.Errorf("localinfra: close trace sink: %w", err)
	}
	return nil
}

// Spans returns the spans held in memory, oldest first.
func (s *TraceSink) Spans() []Span {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Span, 0, len(s.ring))
	out = append(out, s.ring[s.head:]...)
	return append(out, s.ring[:s.head]...)
}

// SpansByTrace returns the spans of one trace (hex id), by start time.
func (s *TraceSink) SpansByTrace(traceID string) []Span {
	traceID = strings.ToLower(traceID)
	var out []Span
	for _, sp := range s.Spans() {
		if sp.TraceID == traceID {
			out = append(out, sp)
		}
	}
	sortByStart(out)
	return out
}

// SpansByCase returns the spans whose attribute case.id is caseID, by
// start time.
func (s *TraceSink) SpansByCase(caseID string) []Span {
	var out []Span
	for _, sp := range s.Spans() {
		if v, ok := sp.Attributes["case.id"]; ok && v == caseID {
			out = append(out, sp)
		}
	}
	sortByStart(out)
	return out
}

// Reset forgets the spans held in memory (not the file).
func (s *TraceSink) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ring, s.head = nil, 0
}

func sortByStart(spans []Span) {
	sort.SliceStable(spans, func(i, j int) bool { return spans[i].StartTime.Before(spans[j].StartTime) })
}

func (s *TraceSink) add(spans []Span) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sp := range spans {
		if len(s.ring) < MaxTraceSinkSpans {
			s.ring = append(s.ring, sp)
		} else {
			s.ring[s.head] = sp
			s.head = (s.head + 1) % MaxTraceSinkSpans
		}
	}
	if s.file == nil || s.fileE != nil {
		return
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, sp := range spans {
		_ = enc.Encode(sp) // cannot fail for this type; Encode adds the newline
	}
	// One write per request keeps lines whole even if another process
	// appends to the same file.
	if _, err := s.file.Write(buf.Bytes()); err != nil {
		s.fileE = fmt.Errorf("append to trace file: %w", err)
	}
}

const maxExportBytes = 64 << 20

func (s *TraceSink) handleExport(w http.ResponseWriter, r *http.Request) {
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	isJSON := mediaType == "application/json"
	if !isJSON && mediaType != "application/x-protobuf" && mediaType != "application/protobuf" {
		http.Error(w, "unsupported content type "+strconv.Quote(mediaType)+"; want application/x-protobuf or application/json", http.StatusUnsupportedMediaType)
		return
	}
	var body io.Reader = http.MaxBytesReader(w, r.Body, maxExportBytes)
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		zr, err := gzip.NewReader(body)
		if err != nil {
			http.Error(w, "bad gzip body: "+err.Error(), http.StatusBadRequest)
			return
		}
		defer zr.Close()
		body = io.LimitReader(zr, maxExportBytes)
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	req := &coltracepb.ExportTraceServiceRequest{}
	if isJSON {
		err = unmarshalOTLPJSON(raw, req)
	} else {
		err = proto.Unmarshal(raw, req)
	}
	if err != nil {
		http.Error(w, "decode ExportTraceServiceRequest: "+err.Error(), http.StatusBadRequest)
		return
	}
	s.add(flattenSpans(req))

	resp := &coltracepb.ExportTraceServiceResponse{}
	var out []byte
	if isJSON {
		out, err = protojson.Marshal(resp)
		w.Header().Set("Content-Type", "application/json")
	} else {
		out, err = proto.Marshal(resp)
		w.Header().Set("Content-Type", "application/x-protobuf")
	}
	if err != nil {
		http.Error(w, "encode response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
}

// unmarshalOTLPJSON decodes OTLP/JSON, which differs from plain protojson
// in one way that matters: trace and span ids are hex strings, where
// protojson expects base64 for bytes fields. Rewrite them, then decode.
func unmarshalOTLPJSON(raw []byte, req *coltracepb.ExportTraceServiceRequest) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // keep 64-bit nanosecond timestamps exact
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return err
	}
	hexIDsToBase64(doc)
	fixed, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	return protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(fixed, req)
}

func hexIDsToBase64(v any) {
	switch t := v.(type) {
	case map[string]any:
		for k, val := range t {
			switch k {
			case "traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id":
				if s, ok := val.(string); ok && s != "" {
					if b, err := hex.DecodeString(s); err == nil {
						t[k] = base64.StdEncoding.EncodeToString(b)
					}
				}
			default:
				hexIDsToBase64(val)
			}
		}
	case []any:
		for _, e := range t {
			hexIDsToBase64(e)
		}
	}
}

func flattenSpans(req *coltracepb.ExportTraceServiceRequest) []Span {
	var out []Span
	for _, rs := range req.GetResourceSpans() {
		service := ""
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.GetKey() == "service.name" {
				service = anyValueString(kv.GetValue())
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, sp := range ss.GetSpans() {
				start := time.Unix(0, int64(sp.GetStartTimeUnixNano())).UTC()
				end := time.Unix(0, int64(sp.GetEndTimeUnixNano())).UTC()
				attrs := make(map[string]string, len(sp.GetAttributes()))
				for _, kv := range sp.GetAttributes() {
					attrs[kv.GetKey()] = anyValueString(kv.GetValue())
				}
				out = append(out, Span{
					TraceID:       hex.EncodeToString(sp.GetTraceId()),
					SpanID:        hex.EncodeToString(sp.GetSpanId()),
					ParentSpanID:  hex.EncodeToString(sp.GetParentSpanId()),
					Name:          sp.GetName(),
					Service:       service,
					Kind:          strings.TrimPrefix(sp.GetKind().String(), "SPAN_KIND_"),
					StartTime:     start,
					EndTime:       end,
					DurationMs:    float64(end.Sub(start).Microseconds()) / 1000,
					Attributes:    attrs,
					StatusCode:    strings.TrimPrefix(sp.GetStatus().GetCode().String(), "STATUS_CODE_"),
					StatusMessage: sp.GetStatus().GetMessage(),
				})
			}
		}
	}
	return out
}

func anyValueString(v *commonpb.AnyValue) string {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_BoolValue:
		return strconv.FormatBool(x.BoolValue)
	case *commonpb.AnyValue_IntValue:
		return strconv.FormatInt(x.IntValue, 10)
	case *commonpb.AnyValue_DoubleValue:
		return strconv.FormatFloat(x.DoubleValue, 'g', -1, 64)
	case *commonpb.AnyValue_BytesValue:
		return base64.StdEncoding.EncodeToString(x.BytesValue)
	case *commonpb.AnyValue_ArrayValue, *commonpb.AnyValue_KvlistValue:
		b, _ := json.Marshal(anyValueJSON(v))
		return string(b)
	}
	return ""
}

func anyValueJSON(v *commonpb.AnyValue) any {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_ArrayValue:
		arr := []any{}
		for _, e := range x.ArrayValue.GetValues() {
			arr = append(arr, anyValueJSON(e))
		}
		return arr
	case *commonpb.AnyValue_KvlistValue:
		m := map[string]any{}
		for _, kv := range x.KvlistValue.GetValues() {
			m[kv.GetKey()] = anyValueJSON(kv.GetValue())
		}
		return m
	case *commonpb.AnyValue_BoolValue:
		return x.BoolValue
	case *commonpb.AnyValue_IntValue:
		return x.IntValue
	case *commonpb.AnyValue_DoubleValue:
		return x.DoubleValue
	}
	return anyValueString(v)
}

// Trace is a trace's summary and, in per-trace answers, its spans.
type Trace struct {
	TraceID    string    `json:"traceId"`
	RootName   string    `json:"rootName"`
	Services   []string  `json:"services"`
	StartTime  time.Time `json:"startTime"`
	DurationMs float64   `json:"durationMs"`
	SpanCount  int       `json:"spanCount"`
	Error      bool      `json:"error"`
	Spans      []Span    `json:"spans,omitempty"`
}

// summarize builds a Trace from its spans (any order).
func summarize(traceID string, spans []Span) Trace {
	t := Trace{TraceID: traceID, SpanCount: len(spans)}
	ids := map[string]bool{}
	for _, sp := range spans {
		ids[sp.SpanID] = true
	}
	services := map[string]bool{}
	var first, last time.Time
	var root *Span
	for i, sp := range spans {
		if sp.Service != "" {
			services[sp.Service] = true
		}
		if first.IsZero() || sp.StartTime.Before(first) {
			first = sp.StartTime
		}
		if sp.EndTime.After(last) {
			last = sp.EndTime
		}
		if sp.StatusCode == "ERROR" {
			t.Error = true
		}
		isRoot := sp.ParentSpanID == "" || !ids[sp.ParentSpanID]
		if isRoot && (root == nil || sp.StartTime.Before(root.StartTime)) {
			root = &spans[i]
		}
	}
	if root != nil {
		t.RootName = root.Name
		if root.ParentSpanID != "" {
			t.RootName += " (parent not received)"
		}
	}
	for s := range services {
		t.Services = append(t.Services, s)
	}
	sort.Strings(t.Services)
	t.StartTime = first
	t.DurationMs = float64(last.Sub(first).Microseconds()) / 1000
	return t
}

// latestTraces summarizes up to n traces, newest first by their most
// recently received span.
func latestTraces(spans []Span, n int) []Trace {
	byTrace := map[string][]Span{}
	var order []string
	for i := len(spans) - 1; i >= 0; i-- {
		id := spans[i].TraceID
		if _, seen := byTrace[id]; !seen {
			if len(order) == n {
				continue
			}
			order = append(order, id)
		}
		byTrace[id] = append(byTrace[id], spans[i])
	}
	out := make([]Trace, 0, len(order))
	for _, id := range order {
		out = append(out, summarize(id, byTrace[id]))
	}
	return out
}

// tracesForCase groups the spans carrying case.id=caseID by trace, in
// order of the traces' first span. With all, every span of those traces
// is included, not only the ones carrying the attribute.
func (s *TraceSink) tracesForCase(caseID string, all bool) []Trace {
	spans := s.Spans()
	match := map[string]bool{}
	for _, sp := range spans {
		if sp.Attributes["case.id"] == caseID {
			match[sp.TraceID] = true
		}
	}
	byTrace := map[string][]Span{}
	for _, sp := range spans {
		if match[sp.TraceID] && (all || sp.Attributes["case.id"] == caseID) {
			byTrace[sp.TraceID] = append(byTrace[sp.TraceID], sp)
		}
	}
	out := make([]Trace, 0, len(byTrace))
	for id, sps := range byTrace {
		sortByStart(sps)
		t := summarize(id, sps)
		t.Spans = sps
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].StartTime.Before(out[j].StartTime) })
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func (s *TraceSink) handleQuery(w http.ResponseWriter, r *http.Request) {
	if caseID := r.URL.Query().Get("case_id"); caseID != "" {
		writeJSON(w, http.StatusOK, map[string]any{"traces": s.tracesForCase(caseID, false)})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"traces": latestTraces(s.Spans(), 50)})
}

func (s *TraceSink) handleTraceJSON(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("traceId")
	spans := s.SpansByTrace(id)
	if len(spans) == 0 {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no spans for trace " + id})
		return
	}
	t := summarize(strings.ToLower(id), spans)
	t.Spans = spans
	writeJSON(w, http.StatusOK, t)
}

func (s *TraceSink) handleIndex(w http.ResponseWriter, r *http.Request) {
	caseID := r.URL.Query().Get("case_id")
	var traces []Trace
	if caseID != "" {
		traces = s.tracesForCase(caseID, true)
		sort.Slice(traces, func(i, j int) bool { return traces[i].StartTime.After(traces[j].StartTime) })
	} else {
		traces = latestTraces(s.Spans(), 50)
	}
	render(w, indexTmpl, map[string]any{"CaseID": caseID, "Traces": traces})
}

// treeRow is one line of the per-trace page.
type treeRow struct {
	Span
	Depth     int
	OffsetPct float64 // where the span starts within the trace, for the bar
	WidthPct  float64
	AttrList  []string
}

func (s *TraceSink) handleTracePage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("traceId")
	spans := s.SpansByTrace(id)
	if len(spans) == 0 {
		w.WriteHeader(http.StatusNotFound)
	}
	t := summarize(strings.ToLower(id), spans)
	render(w, traceTmpl, map[string]any{"Trace": t, "Rows": spanTree(spans, t)})
}

// spanTree orders spans depth first under their parents, children by start
// time; spans whose parent never arrived are shown as roots.
func spanTree(spans []Span, t Trace) []treeRow {
	ids := map[string]bool{}
	for _, sp := range spans {
		ids[sp.SpanID] = true
	}
	children := map[string][]Span{}
	var roots []Span
	for _, sp := range spans { // already sorted by start
		if sp.ParentSpanID == "" || !ids[sp.ParentSpanID] {
			roots = append(roots, sp)
		} else {
			children[sp.ParentSpanID] = append(children[sp.ParentSpanID], sp)
		}
	}
	total := t.DurationMs
	var rows []treeRow
	visited := map[string]bool{}
	var walk func(sp Span, depth int)
	walk = func(sp Span, depth int) {
		if visited[sp.SpanID] { // malformed input with cycles
			return
		}
		visited[sp.SpanID] = true
		row := treeRow{Span: sp, Depth: depth}
		if total > 0 {
			row.OffsetPct = float64(sp.StartTime.Sub(t.StartTime).Microseconds()) / 1000 / total * 100
			row.WidthPct = sp.DurationMs / total * 100
		}
		if row.WidthPct < 0.5 {
			row.WidthPct = 0.5 // keep instant spans visible
		}
		for k, v := range sp.Attributes {
			row.AttrList = append(row.AttrList, k+"="+v)
		}
		sort.Strings(row.AttrList)
		rows = append(rows, row)
		for _, c := range children[sp.SpanID] {
			walk(c, depth+1)
		}
	}
	for _, r := range roots {
		walk(r, 0)
	}
	return rows
}

func render(w http.ResponseWriter, t *template.Template, data any) {
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		http.Error(w, "render: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}

var tmplFuncs = template.FuncMap{
	"join":   strings.Join,
	"indent": func(depth int) string { return fmt.Sprintf("%.1fem", float64(depth)*1.5) },
	"pct":    func(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) + "%" },
	"ms": func(f float64) string {
		prec := 1
		if f < 1 {
			prec = 3 // sub-millisecond spans are common (cache hits, in-process calls)
		}
		return strconv.FormatFloat(f, 'f', prec, 64) + " ms"
	},
}

const pageStyle = `<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;width:100%}
td,th{padding:.25em .6em;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
th{background:#f6f6f6}
.err{background:#fff0f0}
.num{text-align:right;white-space:nowrap}
.bar{position:relative;height:.8em;background:#f3f3f3;min-width:12em}
.bar span{position:absolute;top:0;bottom:0;background:#5b8def}
.err .bar span{background:#d9534f}
.attrs{color:#666;font-size:12px}
</style>`

var indexTmpl = template.Must(template.New("index").Funcs(tmplFuncs).Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Traces</title>` + pageStyle + `</head><body>
<h1>Traces</h1>
<form method="get" action="/"><label>case.id <input name="case_id" value="{{.CaseID}}"></label> <button>Filter</button>{{if .CaseID}} <a href="/">all traces</a>{{end}}</form>
<p>{{if .CaseID}}Traces with a span for case {{.CaseID}}{{else}}Latest {{len .Traces}} traces, newest first{{end}}.</p>
<table>
<tr><th>Start (UTC)</th><th>Root span</th><th>Services</th><th class="num">Spans</th><th class="num">Duration</th></tr>
{{range .Traces}}<tr{{if .Error}} class="err"{{end}}><td>{{.StartTime.Format "2006-01-02 15:04:05.000"}}</td><td><a href="/trace/{{.TraceID}}">{{.RootName}}</a></td><td>{{join .Services ", "}}</td><td class="num">{{.SpanCount}}</td><td class="num">{{ms .DurationMs}}</td></tr>
{{else}}<tr><td colspan="5">No traces received yet.</td></tr>
{{end}}</table>
</body></html>
`))

var traceTmpl = template.Must(template.New("trace").Funcs(tmplFuncs).Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Trace {{.Trace.TraceID}}</title>` + pageStyle + `</head><body>
<p><a href="/">&larr; all traces</a></p>
<h1>{{if .Trace.RootName}}{{.Trace.RootName}}{{else}}Trace{{end}}</h1>
<p>Trace {{.Trace.TraceID}} &middot; {{.Trace.SpanCount}} spans &middot; {{ms .Trace.DurationMs}} &middot; {{join .Trace.Services ", "}}</p>
<table>
<tr><th>Span</th><th>Service</th><th class="num">Duration</th><th>Timeline</th><th>Status</th></tr>
{{range .Rows}}<tr{{if eq .StatusCode "ERROR"}} class="err"{{end}}>
<td><div style="padding-left: {{indent .Depth}}">{{.Name}}{{if .Kind}} <small>({{.Kind}})</small>{{end}}</div>{{if .AttrList}}<div class="attrs" style="padding-left: {{indent .Depth}}">{{join .AttrList " · "}}</div>{{end}}</td>
<td>{{.Service}}</td><td class="num">{{ms .DurationMs}}</td>
<td><div class="bar"><span style="left: {{pct .OffsetPct}}; width: {{pct .WidthPct}}"></span></div></td>
<td>{{.StatusCode}}{{if .StatusMessage}}: {{.StatusMessage}}{{end}}</td></tr>
{{else}}<tr><td colspan="5">No spans for this trace.</td></tr>
{{end}}</table>
</body></html>
`))
