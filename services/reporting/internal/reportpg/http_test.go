package reportpg_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	reportingv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/reporting/v1"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/services/platform/auth/authdev"
	"github.com/counterdesk/counterdesk/services/platform/grpcserver"
	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/counterdesk/counterdesk/services/platform/testinfra"
	"github.com/counterdesk/counterdesk/services/reporting/internal/report"
	"github.com/counterdesk/counterdesk/services/reporting/internal/reportgrpc"
	"github.com/counterdesk/counterdesk/services/reporting/internal/reportkafka"
	"github.com/counterdesk/counterdesk/services/reporting/internal/reportpg"
	"github.com/counterdesk/counterdesk/services/reporting/migrations"
)

// The figures as the dashboard and the banks' systems pull them: HTTP/JSON
// through the gateway with a bearer token, read on the service's app role
// (row-level security by bank).
func TestTheReportsAnswerOverHTTP(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	db := testinfra.NewAppRoleDatabase(t, migrations.FS)
	owner, err := pgdb.Open(ctx, db.OwnerURL, migrations.FS, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(owner.Close)
	ownerStore := &reportpg.Store{Pool: owner}
	h, err := reportkafka.NewHandler(ownerStore, func() time.Time { return dsNow })
	if err != nil {
		t.Fatal(err)
	}
	deliverDataSet(t, &fixture{pool: owner, store: ownerStore, handler: h})

	app, err := pgdb.Connect(ctx, db.AppURL, migrations.FS, time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(app.Close)
	inst, err := authdev.New([]string{"bank-a", "bank-b"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := inst.Verifier(time.Now) //nolint:forbidigo // credentials are checked in real time
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	store := &reportpg.Store{Pool: app}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	grpcAddr := l.Addr().String()
	_ = l.Close()
	l, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	httpAddr := l.Addr().String()
	_ = l.Close()
	srv, err := grpcserver.New(grpcserver.Options{Service: "reporting", GRPCAddr: grpcAddr, HTTPAddr: httpAddr, Verifier: verifier, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	reportingv1.RegisterReportingServiceServer(srv.GRPC, &reportgrpc.Server{
		Reports: &report.Reports{Store: store, Figures: store, Now: func() time.Time { return dsNow }}, Log: log, Zone: shanghai})
	srv.AddGateway(reportingv1.RegisterReportingServiceHandlerFromEndpoint)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	base := "http://" + httpAddr
	deadline := time.Now().Add(10 * time.Second) //nolint:forbidigo // waiting for a real server to listen
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			_ = resp.Body.Close()
			break
		}
		if time.Now().After(deadline) { //nolint:forbidigo // as above
			t.Fatalf("server did not come up: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	get := func(p auth.Principal, path string, out any) int {
		t.Helper()
		tok, err := inst.Mint(p, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		req, err := http.NewRequest(http.MethodGet, base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if out != nil && resp.StatusCode == http.StatusOK {
			if err := json.Unmarshal(b, out); err != nil {
				t.Fatalf("%s: %v: %s", path, err, b)
			}
		}
		return resp.StatusCode
	}
	ho := auth.Principal{Tenant: "bank-a", Subject: "ho", Role: auth.RoleHeadOffice}
	march := "filter.from=" + url.QueryEscape(marchFrom.Format(time.RFC3339)) + "&filter.to=" + url.QueryEscape(marchTo.Format(time.RFC3339))

	var summary struct {
		Total    string            `json:"total"`
		ByStatus map[string]string `json:"byStatus"`
	}
	if code := get(ho, "/v1/reports/summary", &summary); code != 200 || summary.Total != "5" || summary.ByStatus["CASE_STATUS_CLOSED"] != "1" ||
		summary.ByStatus["CASE_STATUS_FOLLOWING_UP"] != "1" || summary.ByStatus["CASE_STATUS_WITHDRAWN"] != "1" {
		t.Errorf("summary %d %+v, want 5 cases by their lifecycle status", code, summary)
	}
	var overview struct {
		Figures struct {
			Received           string  `json:"received"`
			AnsweredInTimeRate float64 `json:"answeredInTimeRate"`
		} `json:"figures"`
		OverdueOpen string `json:"overdueOpen"`
	}
	if code := get(ho, "/v1/reports/overview?"+march, &overview); code != 200 || overview.Figures.Received != "4" || overview.OverdueOpen != "1" {
		t.Errorf("overview %d %+v", code, overview)
	}
	var breakdown struct {
		Rows []struct {
			Key     string `json:"key"`
			Figures struct {
				Received string `json:"received"`
			} `json:"figures"`
		} `json:"rows"`
	}
	if code := get(ho, "/v1/reports/breakdown/DIMENSION_BRANCH?"+march, &breakdown); code != 200 || len(breakdown.Rows) != 3 ||
		breakdown.Rows[0].Key != "b1" || breakdown.Rows[0].Figures.Received != "2" {
		t.Errorf("breakdown %d %+v", code, breakdown)
	}
	var cases struct {
		Cases []struct {
			CaseID string `json:"caseId"`
			Name   string `json:"customerNameMasked"`
		} `json:"cases"`
		NextPageToken string `json:"nextPageToken"`
		Total         string `json:"total"`
	}
	if code := get(ho, "/v1/reports/cases?pageSize=2&filter.regionId=r1", &cases); code != 200 || len(cases.Cases) != 2 || cases.Total != "3" ||
		cases.NextPageToken == "" || cases.Cases[0].Name != "张*" {
		t.Errorf("cases %d %+v", code, cases)
	}
	var history struct {
		Events []struct {
			Type string `json:"type"`
		} `json:"events"`
	}
	if code := get(ho, "/v1/reports/cases/A/history", &history); code != 200 || len(history.Events) == 0 {
		t.Errorf("history %d %+v", code, history)
	}
	var atRisk struct {
		Cases []struct {
			Overdue bool `json:"overdue"`
		} `json:"cases"`
	}
	if code := get(ho, "/v1/reports/at-risk?withinMinutes=60", &atRisk); code != 200 || len(atRisk.Cases) != 1 || !atRisk.Cases[0].Overdue {
		t.Errorf("at risk %d %+v", code, atRisk)
	}
	for _, path := range []string{"/v1/reports/heatmap?" + march, "/v1/reports/trends?period=PERIOD_WEEK", "/v1/reports/root-causes",
		"/v1/reports/compliance", "/v1/reports/compensation"} {
		if code := get(ho, path, nil); code != 200 {
			t.Errorf("%s: %d", path, code)
		}
	}
	for _, c := range []struct {
		name string
		p    auth.Principal
		path string
		want int
	}{
		{"an SRE is refused the figures", auth.Principal{Tenant: "bank-a", Subject: "sre", Role: auth.RoleSRE}, "/v1/reports/overview", 403},
		{"a supervisor is refused another region", auth.Principal{Tenant: "bank-a", Subject: "s", Role: auth.RoleRegionalSupervisor, Region: "r1"},
			"/v1/reports/overview?filter.regionId=r2", 403},
		{"an unknown dimension is refused", ho, "/v1/reports/breakdown/DIMENSION_UNSPECIFIED", 400},
		{"a window ending before it starts is refused", ho, "/v1/reports/overview?filter.from=2025-04-01T00:00:00Z&filter.to=2025-03-01T00:00:00Z", 400},
		{"another bank's case is not found", auth.Principal{Tenant: "bank-b", Subject: "ho", Role: auth.RoleHeadOffice}, "/v1/reports/cases/A/history", 404},
	} {
		if code := get(c.p, c.path, nil); code != c.want {
			t.Errorf("%s: %d, want %d", c.name, code, c.want)
		}
	}
	// Bank-b sees its own one case only.
	if code := get(auth.Principal{Tenant: "bank-b", Subject: "ho", Role: auth.RoleHeadOffice}, "/v1/reports/overview", &overview); code != 200 || overview.Figures.Received != "1" {
		t.Errorf("bank-b overview %d %+v", code, overview)
	}
}
