package dashboard_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/counterdesk/counterdesk/services/reporting/internal/dashboard"
)

func TestTheDashboardIsServedFromTheBinary(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle(dashboard.Prefix, dashboard.Handler())
	srv := httptest.NewServer(mux)
	defer srv.Close()
	tests := []struct {
		name, method, path string
		want               int
		body, ctype, cache string
	}{
		{name: "the page", method: "GET", path: "/dashboard/", want: 200, body: `<script src="./app.js"`, ctype: "text/html", cache: "no-cache"},
		{name: "a page route falls back to the page (routing is by fragment)", method: "GET", path: "/dashboard/overview", want: 200, body: "<!doctype html>", ctype: "text/html"},
		{name: "the script", method: "GET", path: "/dashboard/app.js", want: 200, body: "takeTokenFromFragment", ctype: "javascript"},
		{name: "the words in both languages", method: "GET", path: "/dashboard/i18n.js", want: 200, body: `"en": {`, ctype: "javascript"},
		{name: "ECharts, vendored, cached a day", method: "GET", path: "/dashboard/vendor/echarts.min.js", want: 200, body: "Apache", ctype: "javascript", cache: "max-age=86400"},
		{name: "its common build, which the page loads first", method: "GET", path: "/dashboard/vendor/echarts.common.min.js", want: 200, body: "Apache", ctype: "javascript", cache: "max-age=86400"},
		{name: "a missing file is not found, not the page", method: "GET", path: "/dashboard/missing.js", want: 404},
		{name: "a path climbing out finds nothing", method: "GET", path: "/dashboard/../../go.mod", want: 404},
		{name: "an escaped climb finds nothing either", method: "GET", path: "/dashboard/..%2f..%2fgo.mod", want: 404},
		{name: "nothing is written to", method: "POST", path: "/dashboard/", want: 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.want {
				t.Fatalf("%s %s = %d, want %d", tt.method, tt.path, resp.StatusCode, tt.want)
			}
			if tt.body != "" && !strings.Contains(string(b), tt.body) {
				t.Errorf("body lacks %q: %.200s", tt.body, b)
			}
			if ct := resp.Header.Get("Content-Type"); tt.ctype != "" && !strings.Contains(ct, tt.ctype) {
				t.Errorf("Content-Type = %q, want %q", ct, tt.ctype)
			}
			if cc := resp.Header.Get("Cache-Control"); tt.cache != "" && !strings.Contains(cc, tt.cache) {
				t.Errorf("Cache-Control = %q, want %q", cc, tt.cache)
			}
		})
	}
}
