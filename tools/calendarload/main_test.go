package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestLoadsEveryYearOfTheShippedFiles parses both shipped files and PUTs each
// year with the operator's token, exactly as the API expects it.
func TestLoadsEveryYearOfTheShippedFiles(t *testing.T) {
	var mu sync.Mutex
	got := map[string]putBody{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPut || r.Header.Get("Authorization") != "Bearer op-token" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		raw, _ := io.ReadAll(r.Body)
		var b putBody
		if err := json.Unmarshal(raw, &b); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		got[r.URL.Path] = b
		mu.Unlock()
		_, _ = w.Write([]byte(`{"recomputedDeadlines":2}`))
	}))
	defer srv.Close()
	for _, f := range []string{"cn-2024-2026.json", "cn-2027.json"} {
		path := filepath.Join("..", "..", "services", "slatimer", "internal", "calendar", "data", f)
		var out bytes.Buffer
		if err := run([]string{"--file", path, "--gateway", srv.URL, "--token", "op-token", "--endpoints", os.DevNull}, &out); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if !strings.Contains(out.String(), "2 open deadlines moved") {
			t.Errorf("%s: output %q", f, out.String())
		}
	}
	for _, y := range []string{"2024", "2025", "2026", "2027"} {
		b, ok := got["/v1/calendars/cn/years/"+y]
		if !ok {
			t.Fatalf("year %s was not loaded; got %v", y, got)
		}
		if len(b.Holidays) < 6 || len(b.Workdays) == 0 || b.Source == "" {
			t.Errorf("year %s: %+v", y, b)
		}
	}
	if b := got["/v1/calendars/cn/years/2027"]; !strings.Contains(b.Source, "not read") {
		t.Errorf("2027's source must say the notice was not read: %q", b.Source)
	}
}

func TestRefusesAFileOfAnotherShape(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(path, []byte(`{"years":{"2028":{"holiday":[]}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	err := run([]string{"--file", path, "--gateway", "http://127.0.0.1:1", "--token", "x", "--endpoints", os.DevNull}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "shipped layout") {
		t.Fatalf("err = %v", err)
	}
}
