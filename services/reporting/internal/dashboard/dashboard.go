// Package dashboard is the supervisors' web dashboard: static pages, styles
// and scripts (Apache ECharts vendored under static/vendor) embedded in the
// reporting binary and served under one path prefix, so the page works with
// no internet. The pages hold no data: their scripts call the public API
// through the gateway with the signed-in user's bearer token, and the API
// applies that user's role and scope to every figure.
package dashboard

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed static
var static embed.FS

// Prefix is where the dashboard is served (the gateway routes it to reporting).
const Prefix = "/dashboard/"

// Handler serves the dashboard under Prefix: files as they are, anything
// else the single page (its script routes by the URL fragment). Scripts and
// styles are revalidated on each load, so a new release shows at once.
func Handler() http.Handler {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree always has static/
	}
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name := strings.TrimPrefix(path.Clean("/"+strings.TrimPrefix(r.URL.Path, Prefix)), "/")
		if name == "" || name == "." {
			name = "index.html"
		}
		if _, err := fs.Stat(sub, name); err != nil {
			if path.Ext(name) != "" {
				http.NotFound(w, r)
				return
			}
			name = "index.html"
		}
		if strings.HasPrefix(name, "vendor/") {
			w.Header().Set("Cache-Control", "public, max-age=86400")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/" + name
		if name == "index.html" {
			r2.URL.Path = "/" // FileServer redirects /index.html to ./
		}
		files.ServeHTTP(w, r2)
	})
}
