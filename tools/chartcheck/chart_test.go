package main

// Tests of the charts themselves. Those that run helm or kubeconform are skipped
// unless HELM (and KUBECONFORM) name the binaries:
//
//	HELM=.bin/helm KUBECONFORM=.bin/kubeconform go test ./tools/chartcheck        # from the repository root
//	HELM=.bin/helm go test ./tools/chartcheck -run Golden -update               # accept a change

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.yaml from the current charts")

const (
	repoRoot    = "../.."
	kubeVersion = "1.34.1"
	goldenLocal = "testdata/local.golden.yaml"
)

func tool(t *testing.T, env string) string {
	t.Helper()
	p := os.Getenv(env)
	if p == "" {
		if os.Getenv("CHARTCHECK_REQUIRE_TOOLS") != "" {
			t.Fatalf("%s is not set (and CHARTCHECK_REQUIRE_TOOLS is)", env)
		}
		t.Skipf("%s is not set", env)
	}
	if !strings.Contains(p, "/") {
		found, err := exec.LookPath(p)
		if err != nil {
			t.Fatalf("%s=%s: %v", env, p, err)
		}
		return found
	}
	// A relative path may be meant from the package directory (where go test runs
	// the test) or from the repository root (where check.sh runs).
	for _, c := range []string{p, filepath.Join(repoRoot, p)} {
		if _, err := os.Stat(c); err == nil {
			abs, err := filepath.Abs(c)
			if err != nil {
				t.Fatal(err)
			}
			return abs
		}
	}
	t.Fatalf("%s=%s: not found", env, p)
	return ""
}

// builtCharts copies charts/ (without built dependencies) to a temporary directory
// and builds the dependencies there with helm-deps.sh, once per test binary: the
// tests neither depend on nor touch the state of the working tree's charts/*/charts.
var builtCharts = struct {
	once sync.Once
	dir  string
	err  error
}{}

func chartsDir(t *testing.T, helm string) string {
	t.Helper()
	builtCharts.once.Do(func() {
		dir, err := os.MkdirTemp("", "chartcheck-charts-")
		if err != nil {
			builtCharts.err = err
			return
		}
		dst := filepath.Join(dir, "charts")
		if err := copyCharts(filepath.Join(repoRoot, "charts"), dst); err != nil {
			builtCharts.err = err
			return
		}
		cmd := exec.Command("bash", "helm-deps.sh", dst)
		cmd.Env = append(os.Environ(), "HELM="+helm)
		if out, err := cmd.CombinedOutput(); err != nil {
			builtCharts.err = fmt.Errorf("helm-deps.sh: %v\n%s", err, out)
			return
		}
		builtCharts.dir = dst
	})
	if builtCharts.err != nil {
		t.Fatal(builtCharts.err)
	}
	return builtCharts.dir
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if builtCharts.dir != "" {
		os.RemoveAll(filepath.Dir(builtCharts.dir))
	}
	os.Exit(code)
}

// copyCharts copies the chart sources: not <chart>/charts/, Chart.lock or tmpcharts/.
func copyCharts(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		parts := strings.Split(rel, string(filepath.Separator))
		if d.IsDir() {
			if (len(parts) == 2 && parts[1] == "charts") || d.Name() == "tmpcharts" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if d.Name() == "Chart.lock" {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
}

// render runs helm template on the umbrella chart, as check.sh does.
func render(t *testing.T, helm string, valueFiles ...string) []byte {
	t.Helper()
	args := []string{"template", "counterdesk", filepath.Join(chartsDir(t, helm), "counterdesk"),
		"--namespace", "counterdesk", "--kube-version", kubeVersion}
	for _, f := range valueFiles {
		args = append(args, "-f", filepath.Join(repoRoot, f))
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(helm, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes()
}

// TestGoldenLocal pins what a developer cluster gets: any change to the charts or to
// deploy/values-local.yaml shows up as a diff of testdata/local.golden.yaml.
func TestGoldenLocal(t *testing.T) {
	helm := tool(t, "HELM")
	got := render(t, helm, "deploy/values-local.yaml")
	if *update {
		if err := os.MkdirAll(filepath.Dir(goldenLocal), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(goldenLocal, got, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", goldenLocal)
		return
	}
	want, err := os.ReadFile(goldenLocal)
	if err != nil {
		t.Fatalf("%v (create it with -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("helm template with deploy/values-local.yaml differs from %s (if intended, rerun with -update):\n%s",
			goldenLocal, firstDiff(string(want), string(got)))
	}
}

// firstDiff describes the first differing line of two texts, with some context.
func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g || i >= len(wl) || i >= len(gl) {
			from := max(0, i-3)
			var b strings.Builder
			for j := from; j < i && j < len(gl); j++ {
				fmt.Fprintf(&b, "  %5d   %s\n", j+1, gl[j])
			}
			fmt.Fprintf(&b, "  %5d - %s\n  %5d + %s\n", i+1, w, i+1, g)
			return b.String()
		}
	}
	return "(no difference)"
}

// TestKubeconformCatchesErrors proves the strict check has teeth: the rendered charts
// pass, and the same render with a misspelled field, or a string where a number
// belongs, fails.
func TestKubeconformCatchesErrors(t *testing.T) {
	helm := tool(t, "HELM")
	kubeconform := tool(t, "KUBECONFORM")
	dir, err := moduleDir("k8s.io/kubernetes", "v"+kubeVersion)
	if err != nil {
		t.Skipf("no Kubernetes OpenAPI document: %v", err)
	}
	swagger, err := os.ReadFile(filepath.Join(dir, "api", "openapi-spec", "swagger.json"))
	if err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	if _, err := writeSchemas(swagger, filepath.Join(cache, "v"+kubeVersion+"-standalone-strict"), true); err != nil {
		t.Fatal(err)
	}
	validate := func(manifests []byte) (bool, string) {
		cmd := exec.Command(kubeconform, "-strict", "-summary", "-kubernetes-version", kubeVersion,
			"-schema-location", cache, "-")
		cmd.Stdin = bytes.NewReader(manifests)
		out, err := cmd.CombinedOutput()
		return err == nil, string(out)
	}

	good := render(t, helm, "deploy/values-production.yaml")
	if ok, out := validate(good); !ok {
		t.Fatalf("the production render does not validate:\n%s", out)
	}
	for _, tc := range []struct{ name, old, new, want string }{
		{"misspelled field", "readinessProbe:", "readinesProbe:", "additional properties 'readinesProbe' not allowed"},
		{"string for an integer", "containerPort: 9090", `containerPort: "9090"`, "want integer"},
		{"missing required field", "      containers:\n", "      initContainers:\n", "missing property 'containers'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := bytes.Replace(good, []byte(tc.old), []byte(tc.new), 1)
			if bytes.Equal(bad, good) {
				t.Fatalf("%q not found in the render", tc.old)
			}
			ok, out := validate(bad)
			if ok {
				t.Fatalf("kubeconform accepted the broken manifests:\n%s", out)
			}
			if !strings.Contains(out, tc.want) {
				t.Errorf("kubeconform output lacks %q:\n%s", tc.want, out)
			}
		})
	}
}

type route struct{ Path, Service string }

// routes reads ingress.routes from the umbrella chart's values.yaml. It only knows
// the layout used there ("- path: X" followed by "service: Y"), which the dev gateway
// relies on too; anything else in that block fails the test.
func routes(t *testing.T) []route {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot, "charts/counterdesk/values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []route
	in := false
	pathRE := regexp.MustCompile(`^    - path: (\S+)$`)
	svcRE := regexp.MustCompile(`^      service: (\S+)$`)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "  routes:":
			in = true
		case !in || strings.HasPrefix(strings.TrimSpace(line), "#"):
		case line == "" || !strings.HasPrefix(line, "    "):
			in = false
		case pathRE.MatchString(line):
			out = append(out, route{Path: pathRE.FindStringSubmatch(line)[1]})
		case svcRE.MatchString(line) && len(out) > 0 && out[len(out)-1].Service == "":
			out[len(out)-1].Service = svcRE.FindStringSubmatch(line)[1]
		default:
			t.Fatalf("unexpected line in ingress.routes: %q", line)
		}
	}
	if len(out) == 0 {
		t.Fatal("no ingress.routes in charts/counterdesk/values.yaml")
	}
	return out
}

// TestIngressRoutes checks the route table on the paths of the HTTP API: the first
// matching route (the table's meaning) and ingress-nginx's choice (regex locations
// tried longest first) must both pick the owning service.
func TestIngressRoutes(t *testing.T) {
	table := routes(t)
	type compiled struct {
		route
		re *regexp.Regexp
	}
	var inOrder []compiled
	for _, r := range table {
		// nginx matches a location regex case-insensitively from the start of the path.
		re, err := regexp.Compile("(?i)^" + r.Path)
		if err != nil {
			t.Fatalf("route %q: %v", r.Path, err)
		}
		inOrder = append(inOrder, compiled{r, re})
	}
	byLength := append([]compiled(nil), inOrder...)
	sort.SliceStable(byLength, func(i, j int) bool { return len(byLength[i].Path) > len(byLength[j].Path) })
	first := func(rs []compiled, path string) string {
		for _, r := range rs {
			if r.re.MatchString(path) {
				return r.Service
			}
		}
		return "(none)"
	}
	for path, want := range map[string]string{
		"/v1/cases":                         "intake",
		"/v1/cases/c-1":                     "intake",
		"/v1/cases/c-1/deadlines":           "slatimer",
		"/v1/cases/c-1/notifications":       "notification",
		"/v1/cases/c-1/assignment":          "routing",
		"/v1/cases/c-1:claim":               "routing",
		"/v1/cases/c-1:transfer":            "routing",
		"/v1/cases/c-1:escalate":            "routing",
		"/v1/cases/c-1:return":              "routing",
		"/v1/cases/c-1:acknowledge":         "intake",
		"/v1/cases/c-1:answer":              "intake",
		"/v1/cases/c-1:returnedVisit":       "intake",
		"/v1/cases/c-1:extendDeadline":      "slatimer",
		"/v1/cases/c-1:extendDeadlineX":     "intake",
		"/v1/deadlines":                     "slatimer",
		"/v1/branches/b-1/queue:watch":      "routing",
		"/v1/branches/b-1/staff":            "routing",
		"/v1/staff/s-1:setDuty":             "routing",
		"/v1/routing/rules":                 "routing",
		"/v1/branches/b-1":                  "routing",
		"/v1/branches/b-1/queue":            "routing",
		"/v1/branches/b-1/calendar:add":     "slatimer",
		"/v1/branches/b-1/calendar:between": "slatimer",
		"/v1/branches/b-1/closures":         "slatimer",
		"/v1/calendars/cn":                  "slatimer",
		"/v1/calendars/cn/years/2028":       "slatimer",
		"/v1/org:import":                    "routing",
		"/v1/sla/policy":                    "slatimer",
		"/v1/reports/summary":               "reporting",
		"/survey/eyJhbGci.AQGQ.ID6N":        "notification",
		"/v2/cases":                         "(none)",
	} {
		if got := first(inOrder, path); got != want {
			t.Errorf("%s: first matching route goes to %s, want %s", path, got, want)
		}
		if got := first(byLength, path); got != want {
			t.Errorf("%s: ingress-nginx (longest regex first) sends it to %s, want %s", path, got, want)
		}
	}
}

// TestSchemaKnowsEverySetting keeps values.schema.json, which rejects unknown keys
// under each service, in step with the settings the library chart accepts.
func TestSchemaKnowsEverySetting(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, "charts/counterdesk/values.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Definitions struct {
			Service struct {
				AdditionalProperties *bool          `json:"additionalProperties"`
				Properties           map[string]any `json:"properties"`
			} `json:"service"`
		} `json:"definitions"`
	}
	if err := json.Unmarshal(data, &schema); err != nil {
		t.Fatal(err)
	}
	defaults, err := os.ReadFile(filepath.Join(repoRoot, "charts/counterdesk-service/templates/_defaults.tpl"))
	if err != nil {
		t.Fatal(err)
	}
	// Top-level keys of the "counterdesk-service.defaults" block.
	block := string(defaults)
	block = block[strings.Index(block, `define "counterdesk-service.defaults"`):]
	block = block[:strings.Index(block, "{{- end }}")]
	keys := regexp.MustCompile(`(?m)^([A-Za-z][A-Za-z0-9]*):`).FindAllStringSubmatch(block, -1)
	if len(keys) < 10 {
		t.Fatalf("found only %d settings in _defaults.tpl", len(keys))
	}
	for _, k := range keys {
		if _, ok := schema.Definitions.Service.Properties[k[1]]; !ok {
			t.Errorf("values.schema.json definitions.service lacks %q, a setting of the library chart", k[1])
		}
	}
	for _, k := range []string{"enabled", "global"} {
		if _, ok := schema.Definitions.Service.Properties[k]; !ok {
			t.Errorf("values.schema.json definitions.service lacks %q", k)
		}
	}
}
