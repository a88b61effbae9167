package stack

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"regexp"

	"go.yaml.in/yaml/v3"
)

// Route sends requests whose path matches Path (anchored at the start) to
// Service's HTTP port.
type Route struct {
	Path    string `yaml:"path"`
	Service string `yaml:"service"`
}

// LoadRoutes reads the Ingress route table from the umbrella chart's values,
// so the local gateway and the Kubernetes Ingress cannot drift apart.
func LoadRoutes(valuesFile string) ([]Route, error) {
	raw, err := os.ReadFile(valuesFile)
	if err != nil {
		return nil, fmt.Errorf("read ingress routes: %w", err)
	}
	var v struct {
		Ingress struct {
			Routes []Route `yaml:"routes"`
		} `yaml:"ingress"`
	}
	if err := yaml.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("parse %s: %w", valuesFile, err)
	}
	if len(v.Ingress.Routes) == 0 {
		return nil, fmt.Errorf("%s has no ingress.routes", valuesFile)
	}
	return v.Ingress.Routes, nil
}

// Gateway plays the Ingress locally: first matching route wins.
func Gateway(routes []Route, backends map[string]string) (http.Handler, error) {
	type compiled struct {
		re    *regexp.Regexp
		proxy *httputil.ReverseProxy
	}
	var table []compiled
	for _, r := range routes {
		re, err := regexp.Compile("^" + r.Path)
		if err != nil {
			return nil, fmt.Errorf("route %q: %w", r.Path, err)
		}
		addr, ok := backends[r.Service]
		if !ok {
			return nil, fmt.Errorf("route %q: no address for service %s", r.Path, r.Service)
		}
		u, err := url.Parse("http://" + addr)
		if err != nil {
			return nil, err
		}
		table = append(table, compiled{re, httputil.NewSingleHostReverseProxy(u)})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			w.WriteHeader(http.StatusOK)
			return
		}
		for _, c := range table {
			if c.re.MatchString(r.URL.Path) {
				c.proxy.ServeHTTP(w, r)
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_ = json.NewEncoder(w).Encode(map[string]any{"code": 5, "message": "no route for " + r.URL.Path})
	}), nil
}
