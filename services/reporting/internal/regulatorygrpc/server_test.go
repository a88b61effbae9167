package regulatorygrpc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
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
	"github.com/counterdesk/counterdesk/services/reporting/internal/regulatory"
	"github.com/counterdesk/counterdesk/services/reporting/internal/regulatorygrpc"
	"github.com/counterdesk/counterdesk/services/reporting/internal/regulatorypg"
	"github.com/counterdesk/counterdesk/services/reporting/migrations"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/xuri/excelize/v2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestMain(m *testing.M) { os.Exit(testinfra.Run(m, testinfra.Postgres)) }

const bank = "bank-a"

// asOf is 2026-04-10 10:00 in Shanghai, after the first quarter.
var asOf = time.Date(2026, 4, 10, 2, 0, 0, 0, time.UTC)

var shanghai = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return l
}()

func local(s string) *time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, shanghai)
	if err != nil {
		panic(err)
	}
	return &t
}

// fact is one case_facts row as the other reporting code writes it.
type fact struct {
	tenant, id, branch, region, category, channel, rootCause string
	received, firstAnswered, closed, withdrawn               *time.Time
	extended, underReview                                    bool
}

// facts is the small fixed data set; the figures the tests expect are
// counted by hand from it (see each test).
var facts = []fact{
	// The quarter's first instant; answered at the end of the 15th day.
	{bank, "c1", "br-pudong", "rg-east", "CATEGORY_FEE_DISPUTE", "CHANNEL_ON_SITE", "ROOT_CAUSE_MANUAL_ENTRY_ERROR",
		local("2026-01-01 00:00"), local("2026-01-16 23:59"), nil, nil, false, false},
	// The quarter's last minute; answered the next day (1 day), extended.
	{bank, "c2", "br-pudong", "rg-east", "CATEGORY_FEE_DISPUTE", "CHANNEL_PHONE", "ROOT_CAUSE_FEE_RULE",
		local("2026-03-31 23:59"), local("2026-04-01 10:00"), nil, nil, true, false},
	// The quarter before and the quarter after: not counted.
	{bank, "c3", "br-pudong", "rg-east", "CATEGORY_FEE_DISPUTE", "CHANNEL_ON_SITE", "",
		local("2025-12-31 23:59"), nil, nil, nil, false, false},
	{bank, "c4", "br-pudong", "rg-east", "CATEGORY_FEE_DISPUTE", "CHANNEL_ON_SITE", "",
		local("2026-04-01 00:00"), nil, nil, nil, false, false},
	// Closed without an answer after 47 days: decided by the closure.
	{bank, "c5", "br-xuhui", "rg-east", "CATEGORY_SERVICE_ATTITUDE", "CHANNEL_LETTER", "",
		local("2026-02-01 09:00"), nil, local("2026-03-20 09:00"), nil, false, false},
	// Withdrawn (and closed so): not decided.
	{bank, "c6", "br-xuhui", "rg-east", "CATEGORY_SERVICE_ATTITUDE", "CHANNEL_ONLINE", "",
		local("2026-02-10 09:00"), nil, local("2026-02-12 09:00"), local("2026-02-12 09:00"), false, false},
	// North: answered after 20 days, under review now.
	{bank, "c7", "br-chaoyang", "rg-north", "CATEGORY_PROCESSING_DELAY", "CHANNEL_PHONE", "ROOT_CAUSE_SYSTEM_FAILURE",
		local("2026-01-05 10:00"), local("2026-01-25 10:00"), nil, nil, false, true},
	// A counter exception: not a complaint.
	{bank, "c8", "br-chaoyang", "rg-north", "CATEGORY_SYSTEM_FAILURE", "CHANNEL_ON_SITE", "",
		local("2026-02-02 10:00"), local("2026-02-02 11:00"), nil, nil, false, false},
	// Pending: one extended.
	{bank, "c9", "br-pudong", "rg-east", "CATEGORY_FEE_DISPUTE", "CHANNEL_ON_SITE", "",
		local("2026-03-01 10:00"), nil, nil, nil, true, false},
	{bank, "c10", "br-pudong", "rg-east", "CATEGORY_FEE_DISPUTE", "CHANNEL_ON_SITE", "",
		local("2026-01-02 10:00"), nil, nil, nil, false, false},
	// Answered after 69 days.
	{bank, "c12", "br-pudong", "rg-east", "CATEGORY_FACILITIES", "CHANNEL_HOTLINE", "ROOT_CAUSE_OTHER",
		local("2026-01-10 10:00"), local("2026-03-20 10:00"), nil, nil, false, false},
	// Another bank's complaint in a branch of the same name.
	{"bank-b", "b1", "br-pudong", "rg-east", "CATEGORY_FEE_DISPUTE", "CHANNEL_ON_SITE", "",
		local("2026-02-01 10:00"), nil, nil, nil, false, false},
}

type env struct {
	t      *testing.T
	base   string
	grpc   *regulatorygrpc.Server
	inst   *authdev.Installation
	tokens map[string]string
}

var (
	ho     = auth.Principal{Tenant: bank, Subject: "ho-1", Role: auth.RoleHeadOffice}
	east   = auth.Principal{Tenant: bank, Subject: "sup-east", Role: auth.RoleRegionalSupervisor, Region: "rg-east"}
	north  = auth.Principal{Tenant: bank, Subject: "sup-north", Role: auth.RoleRegionalSupervisor, Region: "rg-north"}
	pudong = auth.Principal{Tenant: bank, Subject: "head-pudong", Role: auth.RoleBranchHead, Branch: "br-pudong"}
	sre    = auth.Principal{Tenant: bank, Subject: "sre-1", Role: auth.RoleSRE}
)

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	db := testinfra.NewAppRoleDatabase(t, migrations.FS)
	owner, err := pgxpool.New(ctx, db.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	for _, f := range facts {
		if _, err := owner.Exec(ctx, `INSERT INTO case_facts (tenant_id, case_id, branch_id, region_id, category, channel,
				root_cause, received_at, created_at, first_answered_at, answered_at, closed_at, withdrawn_at, extended, under_review, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, nullif($7, ''), $8, $8, $9, $9, $10, $11, $12, $13, $8)`,
			f.tenant, f.id, f.branch, f.region, f.category, f.channel, f.rootCause, f.received, f.firstAnswered,
			f.closed, f.withdrawn, f.extended, f.underReview); err != nil {
			t.Fatal(err)
		}
	}
	// A row whose creation is not known yet.
	if _, err := owner.Exec(ctx, `INSERT INTO case_facts (tenant_id, case_id, category, updated_at) VALUES ($1, 'c11', 'CATEGORY_FEE_DISPUTE', now())`, bank); err != nil {
		t.Fatal(err)
	}
	app, err := pgdb.Connect(ctx, db.AppURL, migrations.FS, time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(app.Close)

	inst, err := authdev.New([]string{bank, "bank-b"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Tokens live in real time; the report's clock is the test's.
	verifier, err := inst.Verifier(time.Now) //nolint:forbidigo // credentials are checked in real time
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	reports := &regulatory.Reports{Store: &regulatorypg.Store{Pool: app}, Now: func() time.Time { return asOf }}
	e := &env{t: t, inst: inst, tokens: map[string]string{}, grpc: &regulatorygrpc.Server{Reports: reports, Log: log}}

	grpcAddr, httpAddr := freeAddr(t), freeAddr(t)
	srv, err := grpcserver.New(grpcserver.Options{Service: "reporting", GRPCAddr: grpcAddr, HTTPAddr: httpAddr,
		Verifier: verifier, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	reportingv1.RegisterRegulatoryServiceServer(srv.GRPC, e.grpc)
	srv.AddGateway(reportingv1.RegisterRegulatoryServiceHandlerFromEndpoint)
	srv.AddGateway((&regulatorygrpc.Downloads{Reports: reports, Verifier: verifier, Log: log}).Register)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	e.base = "http://" + httpAddr
	deadline := time.Now().Add(10 * time.Second) //nolint:forbidigo // waiting for a real server to listen
	for {
		resp, err := http.Get(e.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) { //nolint:forbidigo // as above
			t.Fatalf("server did not come up: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return e
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

func (e *env) get(p auth.Principal, path string) (*http.Response, []byte) {
	e.t.Helper()
	tok, err := e.inst.Mint(p, time.Hour)
	if err != nil {
		e.t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodGet, e.base+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, b
}

func figures(r, d, w15, w30, w60, a60, pend, ext, rev, wd int64) *reportingv1.RegulatoryFigures {
	return &reportingv1.RegulatoryFigures{Received: r, Decided: d, DecidedWithin_15Days: w15, DecidedWithin_30Days: w30,
		DecidedWithin_60Days: w60, DecidedAfter_60Days: a60, Pending: pend, Extended: ext, UnderReview: rev, Withdrawn: wd}
}

func same(a, b *reportingv1.RegulatoryFigures) bool {
	return fmt.Sprint(a.GetReceived(), a.GetDecided(), a.GetDecidedWithin_15Days(), a.GetDecidedWithin_30Days(),
		a.GetDecidedWithin_60Days(), a.GetDecidedAfter_60Days(), a.GetPending(), a.GetExtended(), a.GetUnderReview(), a.GetWithdrawn()) ==
		fmt.Sprint(b.GetReceived(), b.GetDecided(), b.GetDecidedWithin_15Days(), b.GetDecidedWithin_30Days(),
			b.GetDecidedWithin_60Days(), b.GetDecidedAfter_60Days(), b.GetPending(), b.GetExtended(), b.GetUnderReview(), b.GetWithdrawn())
}

func TestQuarterlyFiguresByScopeCountedByHand(t *testing.T) {
	e := newEnv(t)
	q1 := &reportingv1.GetQuarterlyReportRequest{Year: 2026, Quarter: 1}
	for _, c := range []struct {
		who  string
		p    auth.Principal
		want *reportingv1.RegulatoryFigures
	}{
		// c1 c2 c5 c6 c7 c9 c10 c12: decided c1 (15 d) c2 (1) c7 (20) c5 (47) c12 (69);
		// pending c9 c10; extended c2 c9; under review c7; withdrawn c6.
		{"head office", ho, figures(8, 5, 2, 3, 4, 1, 2, 2, 1, 1)},
		{"east's supervisor", east, figures(7, 4, 2, 2, 3, 1, 2, 2, 0, 1)},
		{"north's supervisor", north, figures(1, 1, 0, 1, 1, 0, 0, 0, 1, 0)},
		{"Pudong's head", pudong, figures(5, 3, 2, 2, 2, 1, 2, 2, 0, 0)},
	} {
		t.Run(c.who, func(t *testing.T) {
			r, err := e.grpc.GetQuarterlyReport(auth.WithPrincipal(context.Background(), c.p), q1)
			if err != nil {
				t.Fatal(err)
			}
			if !same(r.GetTotal(), c.want) {
				t.Errorf("total = %v\nwant    %v", r.GetTotal(), c.want)
			}
		})
	}
	r, err := e.grpc.GetQuarterlyReport(auth.WithPrincipal(context.Background(), ho), q1)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, row := range r.GetByBusinessLine() {
		lines = append(lines, fmt.Sprintf("%s=%d", row.GetKey(), row.GetFigures().GetReceived()))
	}
	if got := strings.Join(lines, " "); got != "CATEGORY_SERVICE_ATTITUDE=2 CATEGORY_PROCESSING_DELAY=1 CATEGORY_FEE_DISPUTE=4 CATEGORY_FACILITIES=1" {
		t.Errorf("business lines = %s", got)
	}
	if !r.GetFrom().AsTime().Equal(*local("2026-01-01 00:00")) || !r.GetTo().AsTime().Equal(*local("2026-04-01 00:00")) || r.GetTimeZone() != "Asia/Shanghai" {
		t.Errorf("period = %v – %v %s", r.GetFrom().AsTime(), r.GetTo().AsTime(), r.GetTimeZone())
	}
	for _, c := range []struct {
		who  string
		p    auth.Principal
		req  *reportingv1.GetQuarterlyReportRequest
		want codes.Code
	}{
		{"an SRE", sre, q1, codes.PermissionDenied},
		{"a supervisor asking for another region", east, &reportingv1.GetQuarterlyReportRequest{Year: 2026, Quarter: 1, RegionId: "rg-north"}, codes.PermissionDenied},
		{"a fifth quarter", ho, &reportingv1.GetQuarterlyReportRequest{Year: 2026, Quarter: 5}, codes.InvalidArgument},
	} {
		_, err := e.grpc.GetQuarterlyReport(auth.WithPrincipal(context.Background(), c.p), c.req)
		if status.Code(err) != c.want {
			t.Errorf("%s: %v, want %s", c.who, err, c.want)
		}
	}
}

func TestTheJSONAPIAnswersThroughTheGateway(t *testing.T) {
	e := newEnv(t)
	resp, body := e.get(east, "/v1/reports/regulatory/quarterly?year=2026&quarter=1")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	var got struct {
		Total struct {
			Received string `json:"received"`
			Within15 string `json:"decidedWithin15Days"`
		} `json:"total"`
		RegionID string `json:"regionId"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if got.Total.Received != "7" || got.Total.Within15 != "2" || got.RegionID != "rg-east" {
		t.Errorf("JSON = %s", body)
	}
}

func TestTheCSVDownloadIsExact(t *testing.T) {
	e := newEnv(t)
	resp, body := e.get(pudong, "/v1/reports/regulatory/quarterly.csv?year=2026&quarter=1")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	if cd := resp.Header.Get("Content-Disposition"); cd != `attachment; filename="complaints-2026-Q1.csv"` {
		t.Errorf("Content-Disposition = %q", cd)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
	// Pudong: c1 c2 c9 c10 (fee disputes) and c12 (facilities).
	want := "\ufeff" + strings.Join([]string{
		"维度,项目,代码,受理量,已办结,15日内办结,30日内办结,60日内办结,超60日办结,未办结,延期办理,核查中,客户撤回",
		"合计,全部,,5,3,2,2,2,1,2,2,0,0",
		"业务类别,手续费争议,CATEGORY_FEE_DISPUTE,4,2,2,2,2,0,2,2,0,0",
		"业务类别,服务设施,CATEGORY_FACILITIES,1,1,0,0,0,1,0,0,0,0",
		"受理渠道,现场口头,CHANNEL_ON_SITE,3,1,1,1,1,0,2,1,0,0",
		"受理渠道,电话,CHANNEL_PHONE,1,1,1,1,1,0,0,1,0,0",
		"受理渠道,客服热线,CHANNEL_HOTLINE,1,1,0,0,0,1,0,0,0,0",
		"投诉原因,尚未认定,ROOT_CAUSE_UNSPECIFIED,2,0,0,0,0,0,2,1,0,0",
		"投诉原因,手工录入错误,ROOT_CAUSE_MANUAL_ENTRY_ERROR,1,1,1,1,1,0,0,0,0,0",
		"投诉原因,收费规定,ROOT_CAUSE_FEE_RULE,1,1,1,1,1,0,0,1,0,0",
		"投诉原因,其他,ROOT_CAUSE_OTHER,1,1,0,0,0,1,0,0,0,0",
	}, "\r\n") + "\r\n"
	if string(body) != want {
		t.Errorf("CSV =\n%s\nwant\n%s", body, want)
	}
}

func TestTheXLSXDownloadReadsBack(t *testing.T) {
	e := newEnv(t)
	resp, body := e.get(ho, "/v1/reports/regulatory/quarterly.xlsx?year=2026&quarter=1&regionId=rg-north")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" {
		t.Errorf("Content-Type = %q", ct)
	}
	f, err := excelize.OpenReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := strings.Join(f.GetSheetList(), ","); got != "汇总,按业务类别,按受理渠道,按投诉原因" {
		t.Errorf("sheets = %s", got)
	}
	summary, err := f.GetRows("汇总")
	if err != nil {
		t.Fatal(err)
	}
	// North: c7 only, decided on day 20 and under review.
	if len(summary) != 7 || summary[1][1] != "分行 rg-north" ||
		strings.Join(summary[6], ",") != "合计,1,1,0,1,1,0,0,0,1,0" {
		t.Errorf("summary sheet = %q", summary)
	}
	lines, err := f.GetRows("按业务类别")
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 2 || strings.Join(lines[1], ",") != "业务办理延误,CATEGORY_PROCESSING_DELAY,1,1,0,1,1,0,0,0,1,0" {
		t.Errorf("business-line sheet = %q", lines)
	}
}

func TestDownloadsAreRefusedAsTheAPIIs(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		who    string
		p      auth.Principal
		path   string
		status int
		field  string
	}{
		{"an SRE", sre, "/v1/reports/regulatory/quarterly.csv?year=2026&quarter=1", http.StatusForbidden, ""},
		{"a supervisor asking for another region", east, "/v1/reports/regulatory/quarterly.xlsx?year=2026&quarter=1&regionId=rg-north", http.StatusForbidden, ""},
		{"no quarter", ho, "/v1/reports/regulatory/quarterly.csv?year=2026", http.StatusBadRequest, "quarter"},
		{"a fifth quarter", ho, "/v1/reports/regulatory/quarterly.csv?year=2026&quarter=5", http.StatusBadRequest, "quarter"},
		{"a year that is not a number", ho, "/v1/reports/regulatory/quarterly.csv?year=MMXXVI&quarter=1", http.StatusBadRequest, "year"},
	} {
		t.Run(c.who, func(t *testing.T) {
			resp, body := e.get(c.p, c.path)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, body)
			}
			if c.field != "" && !strings.Contains(string(body), `"field":"`+c.field+`"`) {
				t.Errorf("body %s names no field %s", body, c.field)
			}
		})
	}
	// Without a credential nothing is read.
	resp, err := http.Get(e.base + "/v1/reports/regulatory/quarterly.csv?year=2026&quarter=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no token: status %d, want 401", resp.StatusCode)
	}
}
