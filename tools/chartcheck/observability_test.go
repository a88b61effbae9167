package main

// Tests of deploy/observability: every alert expression and every dashboard query
// may only use metrics and labels the services really expose (as recorded in
// .metrics-sample.txt), plus the labels the Kubernetes scrape adds; none may use a
// label that identifies a case or a person; every alert carries for, severity,
// summary, description and a runbook section that exists. Stdlib only: the rule file
// is read with a minimal line parser, enough for the shape of prometheus-rules.yaml.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
)

var (
	obsDir          = filepath.Join(repoRoot, "deploy", "observability")
	obsSample       = filepath.Join(obsDir, ".metrics-sample.txt")
	obsRules        = filepath.Join(obsDir, "prometheus-rules.yaml")
	obsDashboard    = filepath.Join(obsDir, "grafana-dashboard-counterdesk.json")
	obsRunbook      = filepath.Join(obsDir, "RUNBOOK.md")
	obsDashboardRow = []string{"Intake", "Event flow", "Notifications", "Cases", "Runtime"}
)

// Labels that exist without being in the sample: added by the Kubernetes scrape
// (ServiceMonitor: namespace, pod, service, job, instance, container, endpoint), and
// the ones histograms and summaries carry on their buckets and quantiles.
var obsScrapeLabels = []string{"namespace", "pod", "service", "job", "instance", "container", "endpoint", "le", "quantile"}

// Labels that would identify a case or a person. SREs never see them.
var obsForbiddenLabels = []string{"case_id", "case_number", "customer", "name", "phone", "email", "id_number"}

// obsMetrics is what the services expose, read from the sample.
type obsMetrics struct {
	types  map[string]string // metric family -> counter, gauge, histogram, summary...
	series map[string]bool   // names seen on sample lines
	labels map[string]bool
}

func loadObsMetrics(t *testing.T) obsMetrics {
	t.Helper()
	data, err := os.ReadFile(obsSample)
	if err != nil {
		t.Fatal(err)
	}
	return parseObsMetrics(string(data))
}

var obsSampleLabel = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="(?:[^"\\]|\\.)*"`)

func parseObsMetrics(text string) obsMetrics {
	m := obsMetrics{types: map[string]string{}, series: map[string]bool{}, labels: map[string]bool{}}
	for _, l := range obsScrapeLabels {
		m.labels[l] = true
	}
	for line := range strings.SplitSeq(text, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "":
		case strings.HasPrefix(line, "# TYPE "):
			if f := strings.Fields(line); len(f) >= 4 {
				m.types[f[2]] = f[3]
			}
		case strings.HasPrefix(line, "#"):
		default:
			name, rest, _ := strings.Cut(line, "{")
			if i := strings.IndexAny(name, " \t"); i >= 0 {
				name, rest = name[:i], ""
			}
			m.series[name] = true
			if lbls, _, ok := strings.Cut(rest, "}"); ok {
				for _, sm := range obsSampleLabel.FindAllStringSubmatch(lbls, -1) {
					m.labels[sm[1]] = true
				}
			}
		}
	}
	return m
}

// knows says whether a series name can be queried: a family of the sample (or a
// series seen there), a histogram's _bucket/_sum/_count, a summary's quantiles,
// _sum and _count, or up (made by Prometheus itself).
func (m obsMetrics) knows(name string) bool {
	if name == "up" || m.series[name] {
		return true
	}
	if typ, ok := m.types[name]; ok && typ != "histogram" {
		return true // a summary's quantiles are series of the family's own name
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		base, ok := strings.CutSuffix(name, suffix)
		if !ok {
			continue
		}
		switch m.types[base] {
		case "histogram":
			return true
		case "summary":
			return suffix != "_bucket"
		}
	}
	// A histogram family queried by its bare name has no series.
	return false
}

// promRefs are the names a PromQL expression refers to.
type promRefs struct {
	metrics []string
	labels  []string
	strings []string // string literals (label_replace targets, matcher values)
}

// PromQL words that are neither metrics nor functions.
var promKeywords = map[string]bool{
	"and": true, "or": true, "unless": true, "bool": true, "offset": true, "atan2": true,
	"inf": true, "nan": true,
}

var promAggregators = map[string]bool{
	"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true,
	"stdvar": true, "count": true, "count_values": true, "bottomk": true, "topk": true,
	"quantile": true, "limitk": true, "limit_ratio": true,
}

// Keywords followed by a parenthesised list of label names.
var promLabelLists = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
}

func isIdentStart(c byte) bool { return c == '_' || c == ':' || unicode.IsLetter(rune(c)) }
func isIdentChar(c byte) bool  { return isIdentStart(c) || (c >= '0' && c <= '9') }

// promQLRefs lists the metric names, label names and string literals of expr. It is
// a lexer, not a parser: enough to tell metric names from functions, keywords,
// numbers, durations and Grafana variables ($namespace, ${x}, $__rate_interval).
func promQLRefs(expr string) (promRefs, error) {
	var r promRefs
	s := expr
	i := 0
	skipSpace := func() {
		for i < len(s) && unicode.IsSpace(rune(s[i])) {
			i++
		}
	}
	ident := func() string {
		start := i
		for i < len(s) && isIdentChar(s[i]) {
			i++
		}
		return s[start:i]
	}
	str := func() (string, error) {
		q := s[i]
		start := i
		i++
		var b strings.Builder
		for i < len(s) && s[i] != q {
			if s[i] == '\\' && q != '`' && i+1 < len(s) {
				i++
			}
			b.WriteByte(s[i])
			i++
		}
		if i >= len(s) {
			return "", fmt.Errorf("unterminated string at %d: %s", start, s[start:])
		}
		i++
		return b.String(), nil
	}
	variable := func() {
		i++ // $
		if i < len(s) && s[i] == '{' {
			for i < len(s) && s[i] != '}' {
				i++
			}
			i++
			return
		}
		ident()
	}
	// labelList reads "(a, b, c)" after by/without/on/ignoring/group_x.
	labelList := func() error {
		i++ // (
		for {
			skipSpace()
			if i >= len(s) {
				return fmt.Errorf("unterminated label list")
			}
			switch c := s[i]; {
			case c == ')':
				i++
				return nil
			case c == ',':
				i++
			case isIdentStart(c):
				r.labels = append(r.labels, ident())
			case c == '"' || c == '\'':
				v, err := str()
				if err != nil {
					return err
				}
				r.labels = append(r.labels, v)
			default:
				return fmt.Errorf("unexpected %q in label list", c)
			}
		}
	}
	matchers := func() error {
		i++ // {
		for {
			skipSpace()
			if i >= len(s) {
				return fmt.Errorf("unterminated matcher list")
			}
			c := s[i]
			switch c {
			case '}':
				i++
				return nil
			case ',':
				i++
				continue
			}
			var name string
			quoted := false
			switch {
			case isIdentStart(c):
				name = ident()
			case c == '"' || c == '\'':
				v, err := str()
				if err != nil {
					return err
				}
				name, quoted = v, true
			default:
				return fmt.Errorf("unexpected %q in matchers", c)
			}
			skipSpace()
			if quoted && i < len(s) && (s[i] == ',' || s[i] == '}') {
				r.metrics = append(r.metrics, name) // {"metric.name"}
				continue
			}
			r.labels = append(r.labels, name)
			for i < len(s) && strings.IndexByte("=!~", s[i]) >= 0 {
				i++
			}
			skipSpace()
			if i >= len(s) || (s[i] != '"' && s[i] != '\'' && s[i] != '`') {
				return fmt.Errorf("matcher on %s has no string value", name)
			}
			v, err := str()
			if err != nil {
				return err
			}
			r.strings = append(r.strings, v)
		}
	}
	nextNonSpace := func() byte {
		j := i
		for j < len(s) && unicode.IsSpace(rune(s[j])) {
			j++
		}
		if j < len(s) {
			return s[j]
		}
		return 0
	}
	for {
		skipSpace()
		if i >= len(s) {
			return r, nil
		}
		c := s[i]
		switch {
		case c == '#': // comment
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '"' || c == '\'' || c == '`':
			v, err := str()
			if err != nil {
				return r, err
			}
			r.strings = append(r.strings, v)
		case c == '$':
			variable()
		case c == '[': // range or subquery: durations and variables only
			for i < len(s) && s[i] != ']' {
				i++
			}
			if i >= len(s) {
				return r, fmt.Errorf("unterminated [")
			}
			i++
		case c == '{':
			if err := matchers(); err != nil {
				return r, err
			}
		case c >= '0' && c <= '9' || (c == '.' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9'):
			for i < len(s) && (isIdentChar(s[i]) || s[i] == '.') {
				i++ // 0.95, 1e3, 30m, 1h30m
			}
		case isIdentStart(c):
			word := ident()
			next := nextNonSpace()
			switch {
			case promLabelLists[word]:
				if next == '(' {
					skipSpace()
					if err := labelList(); err != nil {
						return r, err
					}
				}
			case promKeywords[strings.ToLower(word)]:
			case next == '(':
				// a function or aggregation
			case promAggregators[word] && nextWordIs(s[i:], "by", "without"):
			default:
				r.metrics = append(r.metrics, word)
			}
		default:
			i++
		}
	}
}

func nextWordIs(s string, words ...string) bool {
	s = strings.TrimLeftFunc(s, unicode.IsSpace)
	for _, w := range words {
		if rest, ok := strings.CutPrefix(s, w); ok && (rest == "" || !isIdentChar(rest[0])) {
			return true
		}
	}
	return false
}

var legendLabel = regexp.MustCompile(`\{\{\s*\.?([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}`)

// checkLabels reports labels that are forbidden or unknown.
func (m obsMetrics) checkLabels(where string, labels []string) []string {
	var problems []string
	for _, l := range labels {
		if slices.Contains(obsForbiddenLabels, strings.ToLower(l)) {
			problems = append(problems, fmt.Sprintf("%s: label %q identifies a case or a person", where, l))
		} else if !m.labels[l] {
			problems = append(problems, fmt.Sprintf("%s: label %q is not in %s nor added by the scrape", where, l, filepath.Base(obsSample)))
		}
	}
	return problems
}

// checkExpr reports every metric or label of a PromQL expression that the services
// do not expose, and every label that identifies a case or a person.
func (m obsMetrics) checkExpr(where, expr string) []string {
	refs, err := promQLRefs(expr)
	if err != nil {
		return []string{fmt.Sprintf("%s: %v", where, err)}
	}
	var problems []string
	if len(refs.metrics) == 0 {
		problems = append(problems, fmt.Sprintf("%s: no metric in %q", where, expr))
	}
	for _, name := range refs.metrics {
		if !m.knows(name) {
			problems = append(problems, fmt.Sprintf("%s: metric %q is not exposed by the services (not in %s)", where, name, filepath.Base(obsSample)))
		}
	}
	problems = append(problems, m.checkLabels(where, refs.labels)...)
	for _, v := range refs.strings {
		if slices.Contains(obsForbiddenLabels, strings.ToLower(v)) {
			problems = append(problems, fmt.Sprintf("%s: string %q names a label that identifies a case or a person", where, v))
		}
	}
	return problems
}

// checkLegend checks the {{label}} references of a Grafana legend or an alert text.
func (m obsMetrics) checkLegend(where, legend string) []string {
	var labels []string
	for _, sm := range legendLabel.FindAllStringSubmatch(legend, -1) {
		labels = append(labels, sm[1])
	}
	return m.checkLabels(where, labels)
}

// yamlExpr is one expr: value of the rule file.
type yamlExpr struct {
	line int
	expr string
}

var exprKey = regexp.MustCompile(`^(\s*(?:-\s+)?)expr:\s*(.*)$`)

// yamlExprs extracts every expr: value, plain, quoted or a | or > block.
func yamlExprs(text string) ([]yamlExpr, error) {
	lines := strings.Split(text, "\n")
	var out []yamlExpr
	for n := 0; n < len(lines); n++ {
		m := exprKey.FindStringSubmatch(lines[n])
		if m == nil {
			continue
		}
		keyCol, value := len(m[1]), strings.TrimSpace(m[2])
		switch {
		case strings.HasPrefix(value, "|") || strings.HasPrefix(value, ">"):
			var block []string
			for n+1 < len(lines) {
				l := lines[n+1]
				if strings.TrimSpace(l) != "" && len(l)-len(strings.TrimLeft(l, " ")) <= keyCol {
					break
				}
				block = append(block, strings.TrimSpace(l))
				n++
			}
			out = append(out, yamlExpr{line: n + 1 - len(block), expr: strings.TrimSpace(strings.Join(block, "\n"))})
		case strings.HasPrefix(value, `"`):
			var v string
			if err := json.Unmarshal([]byte(value), &v); err != nil {
				return nil, fmt.Errorf("line %d: %v", n+1, err)
			}
			out = append(out, yamlExpr{line: n + 1, expr: v})
		case strings.HasPrefix(value, "'"):
			if len(value) < 2 || !strings.HasSuffix(value, "'") {
				return nil, fmt.Errorf("line %d: multi-line quoted expr not supported", n+1)
			}
			out = append(out, yamlExpr{line: n + 1, expr: strings.ReplaceAll(value[1:len(value)-1], "''", "'")})
		case value == "":
			return nil, fmt.Errorf("line %d: empty expr", n+1)
		default:
			if i := strings.Index(value, " #"); i >= 0 {
				value = strings.TrimSpace(value[:i])
			}
			out = append(out, yamlExpr{line: n + 1, expr: value})
		}
	}
	return out, nil
}

// markdownAnchors are the GitHub anchors of a Markdown file's headings.
func markdownAnchors(text string) map[string]bool {
	anchors := map[string]bool{}
	for line := range strings.SplitSeq(text, "\n") {
		if !strings.HasPrefix(line, "#") {
			continue
		}
		title := strings.TrimSpace(strings.TrimLeft(line, "#"))
		var b strings.Builder
		for _, r := range strings.ToLower(title) {
			switch {
			case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_':
				b.WriteRune(r)
			case r == ' ':
				b.WriteByte('-')
			}
		}
		anchors[b.String()] = true
	}
	return anchors
}

var (
	alertStart    = regexp.MustCompile(`^\s*-\s+alert:\s*(\S+)`)
	ruleBoundary  = regexp.MustCompile(`^\s*-\s+(alert|record|name):`)
	alertFor      = regexp.MustCompile(`(?m)^\s*for:\s*\d+[smhdwy]\s*$`)
	alertSeverity = regexp.MustCompile(`(?m)^\s*severity:\s*"?(\S+?)"?\s*$`)
	alertRunbook  = regexp.MustCompile(`(?m)^\s*runbook_url:\s*"?(\S+?)"?\s*$`)
	alertText     = regexp.MustCompile(`\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)`)
)

func TestObservabilityRules(t *testing.T) {
	m := loadObsMetrics(t)
	data, err := os.ReadFile(obsRules)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for _, want := range []string{"apiVersion: monitoring.coreos.com/v1", "kind: PrometheusRule"} {
		if !strings.Contains(text, "\n"+want+"\n") {
			t.Errorf("%s: no top-level %q", filepath.Base(obsRules), want)
		}
	}

	exprs, err := yamlExprs(text)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range exprs {
		for _, p := range m.checkExpr(fmt.Sprintf("prometheus-rules.yaml:%d", e.line), e.expr) {
			t.Error(p)
		}
	}

	runbook, err := os.ReadFile(obsRunbook)
	if err != nil {
		t.Fatal(err)
	}
	anchors := markdownAnchors(string(runbook))

	// One chunk of lines per alert, up to the next rule or group.
	lines := strings.Split(text, "\n")
	alerts := 0
	for n := 0; n < len(lines); n++ {
		am := alertStart.FindStringSubmatch(lines[n])
		if am == nil {
			continue
		}
		alerts++
		name, end := am[1], n+1
		for end < len(lines) && !ruleBoundary.MatchString(lines[end]) {
			end++
		}
		chunk := strings.Join(lines[n:end], "\n")
		where := fmt.Sprintf("alert %s (line %d)", name, n+1)
		if c := strings.Count(chunk, "expr:"); c != 1 {
			t.Errorf("%s: %d expr:, want 1", where, c)
		}
		if !alertFor.MatchString(chunk) {
			t.Errorf("%s: no for: duration", where)
		}
		if sm := alertSeverity.FindStringSubmatch(chunk); sm == nil || (sm[1] != "page" && sm[1] != "ticket") {
			t.Errorf("%s: severity label must be page or ticket, got %v", where, sm)
		}
		for _, key := range []string{"summary:", "description:"} {
			if !strings.Contains(chunk, key) {
				t.Errorf("%s: no %s annotation", where, strings.TrimSuffix(key, ":"))
			}
		}
		if rm := alertRunbook.FindStringSubmatch(chunk); rm == nil {
			t.Errorf("%s: no runbook_url annotation", where)
		} else if file, anchor, _ := strings.Cut(rm[1], "#"); file != "deploy/observability/RUNBOOK.md" || !anchors[anchor] {
			t.Errorf("%s: runbook_url %s: no such section in RUNBOOK.md", where, rm[1])
		}
		var used []string
		for _, sm := range alertText.FindAllStringSubmatch(chunk, -1) {
			used = append(used, sm[1])
		}
		for _, p := range m.checkLabels(where+" annotations", used) {
			t.Error(p)
		}
	}
	if alerts == 0 || len(exprs) != alerts {
		t.Errorf("%d alerts and %d expr: values; want as many, and at least one", alerts, len(exprs))
	}
	t.Logf("%d alerts checked against %d metric families", alerts, len(m.types))
}

// Grafana's JSON, only what is checked. datasource and query vary in shape across
// schema versions, hence RawMessage.
type gfPanel struct {
	Type       string          `json:"type"`
	Title      string          `json:"title"`
	Datasource json.RawMessage `json:"datasource"`
	Targets    []struct {
		Expr         string          `json:"expr"`
		LegendFormat string          `json:"legendFormat"`
		Datasource   json.RawMessage `json:"datasource"`
	} `json:"targets"`
	Panels []gfPanel `json:"panels"` // a collapsed row's panels
}

type gfDashboard struct {
	SchemaVersion int       `json:"schemaVersion"`
	Panels        []gfPanel `json:"panels"`
	Templating    struct {
		List []struct {
			Name       string          `json:"name"`
			Type       string          `json:"type"`
			Query      json.RawMessage `json:"query"`
			Definition string          `json:"definition"`
			Datasource json.RawMessage `json:"datasource"`
		} `json:"list"`
	} `json:"templating"`
}

// usesDatasourceVariable: {"type":"prometheus","uid":"${datasource}"}, or the old
// string form "${datasource}".
func usesDatasourceVariable(raw json.RawMessage) bool {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s == "${datasource}" || s == "$datasource"
	}
	var ds struct{ Type, UID string }
	if json.Unmarshal(raw, &ds) != nil {
		return false
	}
	return ds.Type == "prometheus" && (ds.UID == "${datasource}" || ds.UID == "$datasource")
}

var labelValuesQuery = regexp.MustCompile(`^\s*label_values\(\s*(.*?)\s*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*$`)

func TestObservabilityDashboard(t *testing.T) {
	m := loadObsMetrics(t)
	data, err := os.ReadFile(obsDashboard)
	if err != nil {
		t.Fatal(err)
	}
	var d gfDashboard
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("%s: %v", filepath.Base(obsDashboard), err)
	}
	if d.SchemaVersion < 36 {
		t.Errorf("schemaVersion %d: want a current one (39)", d.SchemaVersion)
	}

	vars := map[string]bool{}
	for _, v := range d.Templating.List {
		vars[v.Name] = true
		where := "variable " + v.Name
		if v.Name == "datasource" {
			var q string
			if v.Type != "datasource" || json.Unmarshal(v.Query, &q) != nil || q != "prometheus" {
				t.Errorf("%s: want type datasource, query prometheus", where)
			}
			continue
		}
		if v.Type != "query" {
			continue
		}
		if !usesDatasourceVariable(v.Datasource) {
			t.Errorf("%s: datasource is not ${datasource}", where)
		}
		q := v.Definition
		var obj struct{ Query string }
		if json.Unmarshal(v.Query, &obj) == nil && obj.Query != "" {
			q = obj.Query
		} else if json.Unmarshal(v.Query, &q) != nil {
			q = v.Definition
		}
		if lv := labelValuesQuery.FindStringSubmatch(q); lv != nil {
			for _, p := range m.checkExpr(where, lv[1]) {
				t.Error(p)
			}
			for _, p := range m.checkLabels(where, []string{lv[2]}) {
				t.Error(p)
			}
		} else {
			for _, p := range m.checkExpr(where, q) {
				t.Error(p)
			}
		}
	}
	for _, want := range []string{"datasource", "namespace"} {
		if !vars[want] {
			t.Errorf("no %q templating variable", want)
		}
	}

	var rows []string
	targets := 0
	var walk func(ps []gfPanel)
	walk = func(ps []gfPanel) {
		for _, p := range ps {
			if p.Type == "row" {
				rows = append(rows, p.Title)
				walk(p.Panels)
				continue
			}
			where := fmt.Sprintf("panel %q", p.Title)
			if !usesDatasourceVariable(p.Datasource) {
				t.Errorf("%s: datasource is not ${datasource}", where)
			}
			if len(p.Targets) == 0 {
				t.Errorf("%s: no query", where)
			}
			for i, tg := range p.Targets {
				targets++
				twhere := fmt.Sprintf("%s target %d", where, i)
				if len(tg.Datasource) > 0 && !usesDatasourceVariable(tg.Datasource) {
					t.Errorf("%s: datasource is not ${datasource}", twhere)
				}
				for _, p := range m.checkExpr(twhere, tg.Expr) {
					t.Error(p)
				}
				for _, p := range m.checkLegend(twhere+" legend", tg.LegendFormat) {
					t.Error(p)
				}
			}
		}
	}
	walk(d.Panels)
	for _, want := range obsDashboardRow {
		if !slices.Contains(rows, want) {
			t.Errorf("no row %q (rows: %v)", want, rows)
		}
	}
	t.Logf("%d queries in %d rows checked", targets, len(rows))
}

// The checker itself: it must reject what the tests above exist to catch.
func TestObservabilityCheckerCatchesMistakes(t *testing.T) {
	m := parseObsMetrics(`# TYPE counterdesk_outbox_pending gauge
counterdesk_outbox_pending{otel_scope_name="counterdesk/outbox"} 0
# TYPE counterdesk_events_consumed_total counter
counterdesk_events_consumed_total{group="intake",outcome="applied",topic="case-events"} 1
# TYPE counterdesk_event_handle_seconds histogram
counterdesk_event_handle_seconds_count{group="intake",topic="case-events"} 1
# TYPE go_gc_duration_seconds summary
`)
	tests := []struct {
		name, expr string
		ok         bool
	}{
		{"a gauge with scrape labels and a Grafana variable is fine",
			`max by (namespace, job) (counterdesk_outbox_pending{namespace="$namespace", job=~"$job"}) > 60`, true},
		{"a histogram's buckets are fine",
			`histogram_quantile(0.95, sum by (group, le) (rate(counterdesk_event_handle_seconds_bucket[$__rate_interval])))`, true},
		{"binary operators, offset and a summary are fine",
			`sum(counterdesk_events_consumed_total{outcome="dead_lettered"} unless counterdesk_events_consumed_total offset 30m) or on (pod) go_gc_duration_seconds_sum`, true},
		{"a summary's quantile and up are fine",
			`max by (pod) (go_gc_duration_seconds{quantile="1"}) and on (pod) up == 1`, true},
		{"a misspelled metric is caught",
			`sum(rate(counterdesk_event_consumed_total[5m]))`, false},
		{"a metric from a misspelled histogram suffix is caught",
			`rate(counterdesk_event_handle_seconds_buckets[5m])`, false},
		{"buckets of a gauge are caught",
			`counterdesk_outbox_pending_bucket`, false},
		{"a histogram's bare family name has no series",
			`rate(counterdesk_event_handle_seconds[5m])`, false},
		{"an unknown label is caught",
			`sum by (tenant) (counterdesk_outbox_pending)`, false},
		{"a case id in a grouping is caught",
			`sum by (case_id) (counterdesk_events_consumed_total)`, false},
		{"a customer in a matcher is caught",
			`counterdesk_outbox_pending{customer=~".+"}`, false},
		{"a personal label made by label_replace is caught",
			`label_replace(counterdesk_outbox_pending, "phone", "$1", "pod", "(.*)")`, false},
		{"no metric at all is caught",
			`vector(1)`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			problems := m.checkExpr("test", tc.expr)
			if tc.ok && len(problems) > 0 {
				t.Errorf("rejected a good expression: %v", problems)
			}
			if !tc.ok && len(problems) == 0 {
				t.Errorf("accepted %s", tc.expr)
			}
		})
	}
	if p := m.checkLegend("legend", "{{job}} {{ email }}"); len(p) != 1 {
		t.Errorf("legend with {{ email }}: %v, want one problem", p)
	}
}

func TestObservabilityYAMLExprs(t *testing.T) {
	got, err := yamlExprs(`groups:
  - name: g
    rules:
      - alert: A
        expr: up == 0 # a comment
        for: 5m
      - alert: B
        expr: |
          sum(x)
            / sum(y)
        for: 1m
      - alert: C
        expr: "rate(z[5m]) > 0"
      - expr: >-
          a
          and b
        alert: D
`)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"up == 0", "sum(x)\n/ sum(y)", "rate(z[5m]) > 0", "a\nand b"}
	var exprs []string
	for _, e := range got {
		exprs = append(exprs, e.expr)
	}
	if !slices.Equal(exprs, want) {
		t.Errorf("got %q, want %q", exprs, want)
	}
}
