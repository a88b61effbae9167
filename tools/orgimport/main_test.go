package main

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	routingv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/routing/v1"
	"github.com/counterdesk/counterdesk/tools/orgfile"
	"google.golang.org/protobuf/encoding/protojson"
)

func noEnv(string) string { return "" }

// fakeRouting answers POST /v1/org:import for token ho-token with the counts
// of what it was sent.
func fakeRouting(t *testing.T, posts *atomic.Int32) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		posts.Add(1)
		if r.Method != http.MethodPost || r.URL.Path != "/v1/org:import" || r.Header.Get("Authorization") != "Bearer ho-token" {
			http.Error(w, `{"code":7,"message":"head office only"}`, http.StatusForbidden)
			return
		}
		raw, _ := io.ReadAll(r.Body)
		var req routingv1.ImportOrgRequest
		if err := protojson.Unmarshal(raw, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		resp, _ := protojson.Marshal(&routingv1.ImportOrgResponse{Regions: int32(len(req.GetRegions())),
			Branches: int32(len(req.GetBranches())), Staff: int32(len(req.GetStaff()))})
		_, _ = w.Write(resp)
	}))
	t.Cleanup(srv.Close)
	return srv
}

var demoFile = filepath.Join("..", "..", "deploy", "demo", "org-demo-bank.yaml")

func TestImportsWithTheEndpointsFile(t *testing.T) {
	var posts atomic.Int32
	srv := fakeRouting(t, &posts)
	endpoints := filepath.Join(t.TempDir(), "endpoints.env")
	if err := os.WriteFile(endpoints, []byte("# written by make up\nGATEWAY_URL="+srv.URL+"\nDEMO_HEAD_OFFICE_TOKEN=ho-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run([]string{"--file", demoFile, "--endpoints", endpoints}, &out, noEnv); err != nil {
		t.Fatal(err)
	}
	if want := "imported " + demoFile + ": 2 regions, 4 branches, 26 staff\n"; out.String() != want {
		t.Errorf("output %q, want %q", out.String(), want)
	}
	// The environment wins over the file, a flag over both.
	env := func(k string) string {
		return map[string]string{"GATEWAY_URL": srv.URL, "DEMO_HEAD_OFFICE_TOKEN": "stale"}[k]
	}
	if err := run([]string{"--file", demoFile, "--endpoints", endpoints}, io.Discard, env); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("with the environment's token: %v", err)
	}
	if err := run([]string{"--file", demoFile, "--endpoints", os.DevNull, "--token", "ho-token"}, io.Discard, env); err != nil {
		t.Errorf("with --token: %v", err)
	}
}

func TestRefusesAFileWithProblems(t *testing.T) {
	var posts atomic.Int32
	srv := fakeRouting(t, &posts)
	bad := filepath.Join(t.TempDir(), "org.csv")
	if err := os.WriteFile(bad, []byte("kind,id,name,regionId,branchId,role,authorityLevel\n"+
		"region,rg-a,A,,,,\nstaff,st-1,One,,br-x,teller,1\nstaff,st-2,Two,,,,9\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := run([]string{"--file", bad, "--gateway", srv.URL, "--token", "ho-token"}, io.Discard, noEnv)
	var problems orgfile.Errors
	if !errors.As(err, &problems) || len(problems) != 3 {
		t.Fatalf("want 3 problems, got %v", err)
	}
	if want := bad + ":3: staff[0].branchId: no branch \"br-x\" in the file"; problems[0].Error() != want {
		t.Errorf("first problem %q, want %q", problems[0], want)
	}
	if posts.Load() != 0 {
		t.Error("a file with problems was sent")
	}
}

func TestCheckOnlyAndFailures(t *testing.T) {
	var posts atomic.Int32
	srv := fakeRouting(t, &posts)
	var out bytes.Buffer
	if err := run([]string{"--check", "--file", filepath.Join("..", "..", "deploy", "demo", "org-example.csv")}, &out, noEnv); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "1 regions, 2 branches, 8 staff; no problems") || posts.Load() != 0 {
		t.Errorf("check: %q, %d posts", out.String(), posts.Load())
	}
	if err := run([]string{"--file", demoFile, "--endpoints", os.DevNull}, io.Discard, noEnv); err == nil || !strings.Contains(err.Error(), "no gateway") {
		t.Errorf("no gateway: %v", err)
	}
	if err := run([]string{"--file", demoFile, "--gateway", srv.URL, "--token", "teller"}, io.Discard, noEnv); err == nil || !strings.Contains(err.Error(), "403 {\"code\":7") {
		t.Errorf("refused: %v", err)
	}
	if err := run([]string{}, io.Discard, noEnv); err == nil {
		t.Error("no --file is not an error")
	}
}
