package rectifygrpc_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	reportingv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/reporting/v1"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/services/platform/auth/authdev"
	"github.com/counterdesk/counterdesk/services/platform/grpcserver"
	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/counterdesk/counterdesk/services/platform/testinfra"
	"github.com/counterdesk/counterdesk/services/reporting/internal/rectify"
	"github.com/counterdesk/counterdesk/services/reporting/internal/rectifygrpc"
	"github.com/counterdesk/counterdesk/services/reporting/internal/rectifypg"
	"github.com/counterdesk/counterdesk/services/reporting/migrations"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
)

func TestMain(m *testing.M) { os.Exit(testinfra.Run(m, testinfra.Postgres)) }

const bank = "bank-a"

// now is 2026-03-10 10:00 in Shanghai.
var now = time.Date(2026, 3, 10, 2, 0, 0, 0, time.UTC)

var (
	east   = auth.Principal{Tenant: bank, Subject: "sup-east", Role: auth.RoleRegionalSupervisor, Region: "rg-east"}
	pudong = auth.Principal{Tenant: bank, Subject: "head-pudong", Role: auth.RoleBranchHead, Branch: "br-pudong"}
	xuhui  = auth.Principal{Tenant: bank, Subject: "head-xuhui", Role: auth.RoleBranchHead, Branch: "br-xuhui"}
	sre    = auth.Principal{Tenant: bank, Subject: "sre-1", Role: auth.RoleSRE}
)

type client struct {
	t    *testing.T
	base string
	inst *authdev.Installation
}

// serve runs the RectificationService as the reporting service does: the
// real gRPC server and its HTTP gateway, on a migrated database as the app
// role, with one case of Pudong in the read model.
func serve(t *testing.T) *client {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	db := testinfra.NewAppRoleDatabase(t, migrations.FS)
	owner, err := pgxpool.New(ctx, db.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	if _, err := owner.Exec(ctx, `INSERT INTO case_facts (tenant_id, case_id, branch_id, region_id, category, received_at, updated_at)
		VALUES ($1, 'c-pd-1', 'br-pudong', 'rg-east', 'CATEGORY_FEE_DISPUTE', $2, $2)`, bank, now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	app, err := pgdb.Connect(ctx, db.AppURL, migrations.FS, time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(app.Close)
	inst, err := authdev.New([]string{bank}, nil)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := inst.Verifier(time.Now) //nolint:forbidigo // credentials are checked in real time
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	grpcAddr, httpAddr := freeAddr(t), freeAddr(t)
	srv, err := grpcserver.New(grpcserver.Options{Service: "reporting", GRPCAddr: grpcAddr, HTTPAddr: httpAddr, Verifier: verifier, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	reportingv1.RegisterRectificationServiceServer(srv.GRPC, &rectifygrpc.Server{Log: log, Notices: &rectify.Notices{
		Store: &rectifypg.Store{Pool: app}, Now: func() time.Time { return now },
		NewID: func() (string, error) { id, err := uuid.NewV7(); return id.String(), err },
	}})
	srv.AddGateway(reportingv1.RegisterRectificationServiceHandlerFromEndpoint)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	c := &client{t: t, base: "http://" + httpAddr, inst: inst}
	deadline := time.Now().Add(10 * time.Second) //nolint:forbidigo // waiting for a real server to listen
	for {
		resp, err := http.Get(c.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			return c
		}
		if time.Now().After(deadline) { //nolint:forbidigo // as above
			t.Fatalf("server did not come up: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// do sends a request as p and returns the status and decoded JSON body.
func (c *client) do(p auth.Principal, method, path, body string) (int, map[string]any) {
	c.t.Helper()
	tok, err := c.inst.Mint(p, time.Hour)
	if err != nil {
		c.t.Fatal(err)
	}
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]any{}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		c.t.Fatalf("%s %s: decode: %v", method, path, err)
	}
	return resp.StatusCode, out
}

func TestTheNoticeAPIOverHTTP(t *testing.T) {
	c := serve(t)
	st, n := c.do(east, http.MethodPost, "/v1/rectification-notices",
		`{"branchId":"br-pudong","fault":"柜员未解释手续费","caseIds":["c-pd-1"],"dueDate":"2026-03-20"}`)
	if st != http.StatusOK || n["status"] != "RECTIFICATION_STATUS_ISSUED" || n["dueAt"] != "2026-03-20T16:00:00Z" || n["regionId"] != "rg-east" {
		t.Fatalf("issue: %d %v", st, n)
	}
	id, _ := n["id"].(string)
	for _, x := range []struct {
		name        string
		p           auth.Principal
		method, url string
		body        string
		want        int
	}{
		{"a due date in the past names the field", east, http.MethodPost, "/v1/rectification-notices",
			`{"branchId":"br-pudong","fault":"x","caseIds":["c-pd-1"],"dueDate":"2026-03-01"}`, http.StatusBadRequest},
		{"no linked case is refused by the schema", east, http.MethodPost, "/v1/rectification-notices",
			`{"branchId":"br-pudong","fault":"x","caseIds":[],"dueDate":"2026-03-20"}`, http.StatusBadRequest},
		{"an SRE may not list", sre, http.MethodGet, "/v1/rectification-notices", "", http.StatusForbidden},
		{"another branch's head does not find it", xuhui, http.MethodGet, "/v1/rectification-notices/" + id, "", http.StatusNotFound},
		{"closing before measures conflicts", east, http.MethodPost, "/v1/rectification-notices/" + id + ":close", `{}`, http.StatusConflict},
	} {
		t.Run(x.name, func(t *testing.T) {
			if st, body := c.do(x.p, x.method, x.url, x.body); st != x.want {
				t.Errorf("status %d, want %d: %v", st, x.want, body)
			}
		})
	}
	if st, body := c.do(east, http.MethodPost, "/v1/rectification-notices", `{"branchId":"br-pudong","fault":"x","caseIds":["c-pd-1"],"dueDate":"2026-03-01"}`); !strings.Contains(jsonText(body), `"field":"dueDate"`) {
		t.Errorf("bad due date: %d %v names no field dueDate", st, body)
	}
	if st, m := c.do(pudong, http.MethodPost, "/v1/rectification-notices/"+id+":recordMeasures", `{"measures":"已培训"}`); st != http.StatusOK || m["status"] != "RECTIFICATION_STATUS_MEASURES_RECORDED" {
		t.Fatalf("recordMeasures: %d %v", st, m)
	}
	if st, m := c.do(east, http.MethodPost, "/v1/rectification-notices/"+id+":close", `{"comment":"整改到位"}`); st != http.StatusOK || m["status"] != "RECTIFICATION_STATUS_CLOSED" {
		t.Fatalf("close: %d %v", st, m)
	}
	st, l := c.do(pudong, http.MethodGet, "/v1/rectification-notices?status=RECTIFICATION_FILTER_CLOSED", "")
	if ns, _ := l["notices"].([]any); st != http.StatusOK || len(ns) != 1 {
		t.Errorf("Pudong's closed notices: %d %v", st, l)
	}
	if st, g := c.do(east, http.MethodGet, "/v1/rectification-notices/"+id, ""); st != http.StatusOK || len(g["history"].([]any)) != 3 {
		t.Errorf("get: %d %v, want three history entries", st, g)
	}
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
