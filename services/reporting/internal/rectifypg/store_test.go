package rectifypg_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	eventsv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	reportingv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/reporting/v1"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/counterdesk/counterdesk/services/platform/testinfra"
	"github.com/counterdesk/counterdesk/services/reporting/internal/rectify"
	"github.com/counterdesk/counterdesk/services/reporting/internal/rectifygrpc"
	"github.com/counterdesk/counterdesk/services/reporting/internal/rectifypg"
	"github.com/counterdesk/counterdesk/services/reporting/migrations"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

func TestMain(m *testing.M) { os.Exit(testinfra.Run(m, testinfra.Postgres|testinfra.Kafka)) }

const bank = "bank-a"

var (
	// t0 is Tuesday 2026-03-10 10:00 in Shanghai.
	t0 = time.Date(2026, 3, 10, 2, 0, 0, 0, time.UTC)

	ho      = auth.Principal{Tenant: bank, Subject: "ho-1", Role: auth.RoleHeadOffice}
	east    = auth.Principal{Tenant: bank, Subject: "sup-east", Role: auth.RoleRegionalSupervisor, Region: "rg-east"}
	north   = auth.Principal{Tenant: bank, Subject: "sup-north", Role: auth.RoleRegionalSupervisor, Region: "rg-north"}
	pudong  = auth.Principal{Tenant: bank, Subject: "head-pudong", Role: auth.RoleBranchHead, Branch: "br-pudong"}
	xuhui   = auth.Principal{Tenant: bank, Subject: "head-xuhui", Role: auth.RoleBranchHead, Branch: "br-xuhui"}
	chaoy   = auth.Principal{Tenant: bank, Subject: "head-chaoyang", Role: auth.RoleBranchHead, Branch: "br-chaoyang"}
	sre     = auth.Principal{Tenant: bank, Subject: "sre-1", Role: auth.RoleSRE}
	otherHO = auth.Principal{Tenant: "bank-b", Subject: "ho-b", Role: auth.RoleHeadOffice}
)

// env is a migrated database as the app role (row-level security on), the
// store and the API on a clock the test sets.
type env struct {
	t     *testing.T
	owner *pgxpool.Pool
	app   *pgxpool.Pool
	now   time.Time
	srv   *rectifygrpc.Server
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	db := testinfra.NewAppRoleDatabase(t, migrations.FS)
	owner, err := pgxpool.New(ctx, db.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(owner.Close)
	e := &env{t: t, owner: owner, now: t0}
	e.app = e.connect(db.AppURL)
	e.srv = e.server(e.app)
	// Cases the read model knows: two of Pudong (east), one of Xuhui
	// (east), one of Chaoyang (north), one of bank-b's Pudong.
	for _, c := range []struct{ tenant, id, branch, region string }{
		{bank, "c-pd-1", "br-pudong", "rg-east"}, {bank, "c-pd-2", "br-pudong", "rg-east"},
		{bank, "c-xh-1", "br-xuhui", "rg-east"}, {bank, "c-cy-1", "br-chaoyang", "rg-north"},
		{"bank-b", "c-b-1", "br-pudong", "rg-east"},
	} {
		if _, err := owner.Exec(ctx, `INSERT INTO case_facts (tenant_id, case_id, branch_id, region_id, category, channel, received_at, updated_at)
			VALUES ($1, $2, $3, $4, 'CATEGORY_FEE_DISPUTE', 'CHANNEL_ON_SITE', $5, $5)`, c.tenant, c.id, c.branch, c.region, t0.Add(-48*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	// A case whose creation reporting has not seen yet.
	if _, err := owner.Exec(ctx, `INSERT INTO case_facts (tenant_id, case_id, updated_at) VALUES ($1, 'c-partial', $2)`, bank, t0); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) connect(url string) *pgxpool.Pool {
	pool, err := pgdb.Connect(context.Background(), url, migrations.FS, time.Minute, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(pool.Close)
	return pool
}

func (e *env) server(pool *pgxpool.Pool) *rectifygrpc.Server {
	return &rectifygrpc.Server{
		Notices: &rectify.Notices{Store: &rectifypg.Store{Pool: pool}, Now: func() time.Time { return e.now },
			NewID: func() (string, error) { id, err := uuid.NewV7(); return id.String(), err }},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

func as(p auth.Principal) context.Context { return auth.WithPrincipal(context.Background(), p) }

func (e *env) issue(p auth.Principal, req *reportingv1.IssueRectificationNoticeRequest) (*reportingv1.RectificationNotice, error) {
	resp, err := e.srv.IssueRectificationNotice(as(p), req)
	return resp.GetNotice(), err
}

func pudongReq(due string) *reportingv1.IssueRectificationNoticeRequest {
	return &reportingv1.IssueRectificationNoticeRequest{BranchId: "br-pudong", Fault: "柜员未向客户解释手续费标准",
		CaseIds: []string{"c-pd-1", "c-pd-2"}, DueDate: due}
}

// events returns the outbox's events of the rectification topic, oldest first.
func (e *env) events() []*eventsv1.Envelope {
	e.t.Helper()
	rows, err := e.owner.Query(context.Background(), `SELECT payload FROM outbox WHERE topic = $1 ORDER BY id`, rectifypg.TopicRectificationEvents)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var out []*eventsv1.Envelope
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			e.t.Fatal(err)
		}
		env := &eventsv1.Envelope{}
		if err := proto.Unmarshal(b, env); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, env)
	}
	return out
}

func code(err error) codes.Code { return status.Code(err) }

func TestANoticeGoesFromIssuedToClosedWithItsHistoryAndEvents(t *testing.T) {
	e := newEnv(t)
	n, err := e.issue(east, pudongReq("2026-03-20"))
	if err != nil {
		t.Fatal(err)
	}
	if n.GetStatus() != reportingv1.RectificationStatus_RECTIFICATION_STATUS_ISSUED || n.GetRegionId() != "rg-east" ||
		!n.GetDueAt().AsTime().Equal(time.Date(2026, 3, 20, 16, 0, 0, 0, time.UTC)) || len(n.GetCaseIds()) != 2 {
		t.Fatalf("issued = %v", n)
	}

	// Closing before measures: 409 naming the current status; nothing changes.
	_, err = e.srv.CloseRectificationNotice(as(east), &reportingv1.CloseRectificationNoticeRequest{NoticeId: n.GetId()})
	if code(err) != codes.FailedPrecondition {
		t.Errorf("close before measures: %v, want FailedPrecondition", err)
	}
	// The supervisor may not record the branch's measures; another branch's head does not find it.
	if _, err := e.srv.RecordMeasures(as(east), &reportingv1.RecordMeasuresRequest{NoticeId: n.GetId(), Measures: "x"}); code(err) != codes.PermissionDenied {
		t.Errorf("supervisor recording measures: %v, want PermissionDenied", err)
	}
	if _, err := e.srv.RecordMeasures(as(xuhui), &reportingv1.RecordMeasuresRequest{NoticeId: n.GetId(), Measures: "x"}); code(err) != codes.NotFound {
		t.Errorf("another branch's head recording measures: %v, want NotFound", err)
	}

	e.now = t0.Add(24 * time.Hour)
	m, err := e.srv.RecordMeasures(as(pudong), &reportingv1.RecordMeasuresRequest{NoticeId: n.GetId(), Measures: "已组织全员培训，张贴收费标准"})
	if err != nil {
		t.Fatal(err)
	}
	if m.GetNotice().GetStatus() != reportingv1.RectificationStatus_RECTIFICATION_STATUS_MEASURES_RECORDED || m.GetNotice().GetMeasuresBy() != "head-pudong" {
		t.Errorf("after measures = %v", m.GetNotice())
	}
	if _, err := e.srv.RecordMeasures(as(pudong), &reportingv1.RecordMeasuresRequest{NoticeId: n.GetId(), Measures: "again"}); code(err) != codes.FailedPrecondition {
		t.Errorf("measures twice: %v, want FailedPrecondition", err)
	}
	if _, err := e.srv.CloseRectificationNotice(as(pudong), &reportingv1.CloseRectificationNoticeRequest{NoticeId: n.GetId()}); code(err) != codes.PermissionDenied {
		t.Errorf("branch head closing: %v, want PermissionDenied", err)
	}

	e.now = t0.Add(48 * time.Hour)
	c, err := e.srv.CloseRectificationNotice(as(east), &reportingv1.CloseRectificationNoticeRequest{NoticeId: n.GetId(), Comment: "整改到位"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.srv.GetRectificationNotice(as(ho), &reportingv1.GetRectificationNoticeRequest{NoticeId: n.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	g := got.GetNotice()
	if g.GetStatus() != reportingv1.RectificationStatus_RECTIFICATION_STATUS_CLOSED || g.GetClosedBy() != "sup-east" ||
		g.GetClosingComment() != "整改到位" || !g.GetClosedAt().AsTime().Equal(e.now) || c.GetNotice().GetOverdue() {
		t.Errorf("closed notice = %v", g)
	}
	h := g.GetHistory()
	want := []struct {
		action, actor string
		at            time.Time
	}{{"issue", "sup-east", t0}, {"recordMeasures", "head-pudong", t0.Add(24 * time.Hour)}, {"close", "sup-east", t0.Add(48 * time.Hour)}}
	if len(h) != len(want) {
		t.Fatalf("history = %v, want %d entries", h, len(want))
	}
	for i, w := range want {
		if h[i].GetAction() != w.action || h[i].GetActorId() != w.actor || !h[i].GetAt().AsTime().Equal(w.at) {
			t.Errorf("history[%d] = %v, want %s by %s at %s", i, h[i], w.action, w.actor, w.at)
		}
	}

	evs := e.events()
	if len(evs) != 2 || evs[0].GetType() != "RectificationNoticeIssued" || evs[1].GetType() != "RectificationNoticeClosed" {
		t.Fatalf("events = %v, want Issued then Closed", evs)
	}
	iss := evs[0].GetRectificationNoticeIssued()
	if evs[0].GetTenantId() != bank || iss.GetNoticeId() != n.GetId() || iss.GetBranchId() != "br-pudong" || iss.GetDueDate() != "2026-03-20" || len(iss.GetCaseIds()) != 2 {
		t.Errorf("issued event = %v", evs[0])
	}
	if cl := evs[1].GetRectificationNoticeClosed(); cl.GetClosedBy() != "sup-east" || cl.GetLate() {
		t.Errorf("closed event = %v", evs[1])
	}

	// The history is append-only for the app role.
	if _, err := e.app.Exec(as(ho), `UPDATE rectification_notice_history SET actor_id = 'someone' WHERE notice_id = $1`, n.GetId()); err == nil {
		t.Error("the app role could rewrite a notice's history")
	}
}

func TestIssuingIsScopedAndValidated(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		name   string
		caller auth.Principal
		req    *reportingv1.IssueRectificationNoticeRequest
		want   codes.Code
	}{
		{"a regional supervisor to another region's branch", north, pudongReq("2026-03-20"), codes.PermissionDenied},
		{"a branch head", pudong, pudongReq("2026-03-20"), codes.PermissionDenied},
		{"an SRE", sre, pudongReq("2026-03-20"), codes.PermissionDenied},
		{"another bank's head office, about this bank's cases", otherHO, pudongReq("2026-03-20"), codes.InvalidArgument},
		{"a due date of today", east, pudongReq("2026-03-10"), codes.InvalidArgument},
		{"a case of another branch", east, &reportingv1.IssueRectificationNoticeRequest{BranchId: "br-pudong", Fault: "x",
			CaseIds: []string{"c-pd-1", "c-xh-1"}, DueDate: "2026-03-20"}, codes.InvalidArgument},
		{"a case whose creation is unknown", ho, &reportingv1.IssueRectificationNoticeRequest{Department: "运营管理部", Fault: "x",
			CaseIds: []string{"c-partial"}, DueDate: "2026-03-20"}, codes.InvalidArgument},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := e.issue(c.caller, c.req); code(err) != c.want {
				t.Errorf("err = %v, want %s", err, c.want)
			}
		})
	}
	if evs := e.events(); len(evs) != 0 {
		t.Errorf("refused requests left %d events", len(evs))
	}
	var n int
	if err := e.owner.QueryRow(context.Background(), `SELECT count(*) FROM rectification_notices`).Scan(&n); err != nil || n != 0 {
		t.Errorf("refused requests left %d notices (%v)", n, err)
	}
	// Head office sends one to a department, about cases of two regions.
	d, err := e.issue(ho, &reportingv1.IssueRectificationNoticeRequest{Department: "运营管理部", Fault: "收费参数配置错误",
		CaseIds: []string{"c-pd-1", "c-cy-1"}, DueDate: "2026-04-10"})
	if err != nil || d.GetDepartment() != "运营管理部" || d.GetBranchId() != "" {
		t.Fatalf("department notice = %v, %v", d, err)
	}
	// Only head office sees it.
	if _, err := e.srv.GetRectificationNotice(as(east), &reportingv1.GetRectificationNoticeRequest{NoticeId: d.GetId()}); code(err) != codes.NotFound {
		t.Errorf("a supervisor reading a department's notice: %v, want NotFound", err)
	}
}

func TestListsAreScopedAndCountOverdueAtTheClock(t *testing.T) {
	e := newEnv(t)
	// Pudong: due 03-12 and 03-20; Xuhui: due 03-15; Chaoyang: due 03-13.
	mk := func(p auth.Principal, branch, caseID, due string) string {
		n, err := e.issue(p, &reportingv1.IssueRectificationNoticeRequest{BranchId: branch, Fault: "整改", CaseIds: []string{caseID}, DueDate: due})
		if err != nil {
			t.Fatalf("issue to %s: %v", branch, err)
		}
		return n.GetId()
	}
	pd1 := mk(east, "br-pudong", "c-pd-1", "2026-03-12")
	pd2 := mk(ho, "br-pudong", "c-pd-2", "2026-03-20")
	xh := mk(east, "br-xuhui", "c-xh-1", "2026-03-15")
	cy := mk(north, "br-chaoyang", "c-cy-1", "2026-03-13")
	// Pudong's first is dealt with and closed in time.
	e.now = t0.Add(time.Hour)
	if _, err := e.srv.RecordMeasures(as(pudong), &reportingv1.RecordMeasuresRequest{NoticeId: pd1, Measures: "已整改"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.srv.CloseRectificationNotice(as(ho), &reportingv1.CloseRectificationNoticeRequest{NoticeId: pd1}); err != nil {
		t.Fatal(err)
	}
	// 2026-03-16 09:00 Shanghai: Xuhui's and Chaoyang's are overdue.
	e.now = time.Date(2026, 3, 16, 1, 0, 0, 0, time.UTC)
	list := func(p auth.Principal, req *reportingv1.ListRectificationNoticesRequest) ([]string, int64, error) {
		resp, err := e.srv.ListRectificationNotices(as(p), req)
		var ids []string
		for _, n := range resp.GetNotices() {
			ids = append(ids, n.GetId())
		}
		return ids, resp.GetOverdueCount(), err
	}
	overdue := &reportingv1.ListRectificationNoticesRequest{Status: reportingv1.RectificationFilter_RECTIFICATION_FILTER_OVERDUE}
	for _, c := range []struct {
		who         string
		p           auth.Principal
		req         *reportingv1.ListRectificationNoticesRequest
		want        []string
		wantOverdue int64
	}{
		{"head office, all", ho, &reportingv1.ListRectificationNoticesRequest{}, []string{pd1, cy, xh, pd2}, 2},
		{"head office, overdue", ho, overdue, []string{cy, xh}, 2},
		{"head office, open", ho, &reportingv1.ListRectificationNoticesRequest{Status: reportingv1.RectificationFilter_RECTIFICATION_FILTER_OPEN}, []string{cy, xh, pd2}, 2},
		{"head office, closed", ho, &reportingv1.ListRectificationNoticesRequest{Status: reportingv1.RectificationFilter_RECTIFICATION_FILTER_CLOSED}, []string{pd1}, 2},
		{"head office, region north", ho, &reportingv1.ListRectificationNoticesRequest{RegionId: "rg-north"}, []string{cy}, 1},
		{"east's supervisor", east, &reportingv1.ListRectificationNoticesRequest{}, []string{pd1, xh, pd2}, 1},
		{"east's supervisor, overdue", east, overdue, []string{xh}, 1},
		{"east's supervisor asking for a north branch", east, &reportingv1.ListRectificationNoticesRequest{BranchId: "br-chaoyang"}, nil, 0},
		{"Pudong's head", pudong, &reportingv1.ListRectificationNoticesRequest{}, []string{pd1, pd2}, 0},
		{"Chaoyang's head, overdue", chaoy, overdue, []string{cy}, 1},
	} {
		t.Run(c.who, func(t *testing.T) {
			ids, od, err := list(c.p, c.req)
			if err != nil {
				t.Fatal(err)
			}
			if !equal(ids, c.want) || od != c.wantOverdue {
				t.Errorf("list = %v (overdue %d), want %v (overdue %d)", ids, od, c.want, c.wantOverdue)
			}
		})
	}
	if _, _, err := list(pudong, &reportingv1.ListRectificationNoticesRequest{BranchId: "br-xuhui"}); code(err) != codes.PermissionDenied {
		t.Errorf("Pudong's head listing Xuhui: %v, want PermissionDenied", err)
	}
	if _, _, err := list(sre, &reportingv1.ListRectificationNoticesRequest{}); code(err) != codes.PermissionDenied {
		t.Errorf("SRE listing: %v, want PermissionDenied", err)
	}
	if ids, _, err := list(otherHO, &reportingv1.ListRectificationNoticesRequest{}); err != nil || len(ids) != 0 {
		t.Errorf("another bank's head office lists %v, %v; want nothing", ids, err)
	}
	// Pages of two follow the same order; a token does not serve another filter.
	resp, err := e.srv.ListRectificationNotices(as(ho), &reportingv1.ListRectificationNoticesRequest{PageSize: 2})
	if err != nil || len(resp.GetNotices()) != 2 || resp.GetNextPageToken() == "" {
		t.Fatalf("first page = %v, %v", resp, err)
	}
	next, err := e.srv.ListRectificationNotices(as(ho), &reportingv1.ListRectificationNoticesRequest{PageSize: 2, PageToken: resp.GetNextPageToken()})
	if err != nil || len(next.GetNotices()) != 2 || next.GetNotices()[0].GetId() != xh || next.GetNextPageToken() != "" {
		t.Errorf("second page = %v, %v; want xuhui, pudong-2 and no more", next, err)
	}
	if _, err := e.srv.ListRectificationNotices(as(ho), &reportingv1.ListRectificationNoticesRequest{PageSize: 2, PageToken: resp.GetNextPageToken(),
		Status: reportingv1.RectificationFilter_RECTIFICATION_FILTER_CLOSED}); code(err) != codes.InvalidArgument {
		t.Errorf("a token with another filter: %v, want InvalidArgument", err)
	}
}

func TestRemindersArePublishedOncePerNoticeAndKindAcrossARestart(t *testing.T) {
	e := newEnv(t)
	soon, err := e.issue(east, pudongReq("2026-03-12")) // ends 2026-03-12 16:00 UTC
	if err != nil {
		t.Fatal(err)
	}
	later, err := e.issue(east, &reportingv1.IssueRectificationNoticeRequest{BranchId: "br-xuhui", Fault: "整改",
		CaseIds: []string{"c-xh-1"}, DueDate: "2026-04-30"})
	if err != nil {
		t.Fatal(err)
	}
	lead := 72 * time.Hour
	loop := func(pool *pgxpool.Pool) *rectify.Reminders {
		return &rectify.Reminders{Store: &rectifypg.Store{Pool: pool}, Now: func() time.Time { return e.now }, Lead: lead,
			Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	}
	// Background work acts for every bank, as service.Base runs it.
	bg := pgdb.WithTenant(context.Background(), pgdb.AllTenants)
	pass := func(r *rectify.Reminders) int {
		t.Helper()
		n, err := r.Pass(bg)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	r := loop(e.app)
	if n := pass(r); n != 1 {
		t.Errorf("first pass sent %d, want 1 (the notice due within the lead)", n)
	}
	if n := pass(r); n != 0 {
		t.Errorf("second pass at the same time sent %d, want 0", n)
	}
	// A restart: a new pool and loop on the same database, past the due time.
	e.now = time.Date(2026, 3, 13, 1, 0, 0, 0, time.UTC)
	r2 := loop(e.connect(testinfraAppURL(t, e)))
	if n := pass(r2); n != 1 {
		t.Errorf("after the restart, past due: sent %d, want 1 (overdue)", n)
	}
	if n := pass(r2); n != 0 {
		t.Errorf("again: sent %d, want 0", n)
	}
	// The other notice is not yet within its lead.
	e.now = time.Date(2026, 4, 26, 0, 0, 0, 0, time.UTC)
	if n := pass(r2); n != 0 {
		t.Errorf("well before the second's lead: sent %d, want 0", n)
	}
	var dues []*eventsv1.RectificationNoticeDue
	for _, ev := range e.events() {
		if d := ev.GetRectificationNoticeDue(); d != nil {
			if ev.GetTenantId() != bank {
				t.Errorf("reminder event of tenant %q", ev.GetTenantId())
			}
			dues = append(dues, d)
		}
	}
	if len(dues) != 2 || dues[0].GetReminder() != "due_soon" || dues[1].GetReminder() != "overdue" ||
		dues[0].GetNoticeId() != soon.GetId() || dues[1].GetNoticeId() != soon.GetId() ||
		dues[0].GetBranchId() != "br-pudong" || dues[0].GetDueDate() != "2026-03-12" {
		t.Errorf("reminders = %v, want due_soon then overdue for %s", dues, soon.GetId())
	}
	_ = later
}

// testinfraAppURL is the app role's URL of e's database, read back from the
// pool it already has.
func testinfraAppURL(t *testing.T, e *env) string {
	t.Helper()
	return e.app.Config().ConnString()
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestAnIdempotencyKeyIssuesOneNotice(t *testing.T) {
	e := newEnv(t)
	withKey := func(p auth.Principal, key string) context.Context {
		return metadata.NewIncomingContext(as(p), metadata.Pairs("idempotency-key", key))
	}
	first, err := e.srv.IssueRectificationNotice(withKey(east, "k-1"), pudongReq("2026-03-20"))
	if err != nil {
		t.Fatal(err)
	}
	// A retry, even after the due date passed, returns the same notice.
	e.now = time.Date(2026, 3, 25, 0, 0, 0, 0, time.UTC)
	again, err := e.srv.IssueRectificationNotice(withKey(east, "k-1"), pudongReq("2026-03-20"))
	if err != nil || again.GetNotice().GetId() != first.GetNotice().GetId() {
		t.Errorf("retry = %v, %v; want notice %s again", again.GetNotice().GetId(), err, first.GetNotice().GetId())
	}
	// The key with another request is refused, naming the header.
	other := pudongReq("2026-03-20")
	other.Fault = "另一个问题"
	if _, err := e.srv.IssueRectificationNotice(withKey(east, "k-1"), other); code(err) != codes.InvalidArgument ||
		!strings.Contains(err.Error(), "Idempotency-Key") {
		t.Errorf("key reused for another request: %v, want InvalidArgument naming Idempotency-Key", err)
	}
	// Another issuer's same key is their own.
	e.now = t0
	byHO, err := e.srv.IssueRectificationNotice(withKey(ho, "k-1"), pudongReq("2026-03-20"))
	if err != nil || byHO.GetNotice().GetId() == first.GetNotice().GetId() {
		t.Errorf("head office with the same key: %v, %v; want a notice of its own", byHO.GetNotice().GetId(), err)
	}
	issued := 0
	for _, ev := range e.events() {
		if ev.GetRectificationNoticeIssued() != nil {
			issued++
		}
	}
	if issued != 2 {
		t.Errorf("%d RectificationNoticeIssued events, want 2 (one per issuer)", issued)
	}
}
