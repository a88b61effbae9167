// Protects what the read API says of a deadline at a moment — its state and
// the time left, counted as its clock counts and frozen while paused — and
// the supervisors' due-soon and overdue lists: who sees which part of the
// bank, and paging through them.
package timergrpc_test

import (
	"context"
	"testing"
	"time"

	slatimerv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/slatimer/v1"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/counterdesk/counterdesk/services/platform/testinfra"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/calendar"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/calendars"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/sla"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/timergrpc"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/timerkafka"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/timerpg"
	"github.com/counterdesk/counterdesk/services/slatimer/migrations"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

var shanghai = calendar.DefaultLocation()

// sh parses a wall-clock time in Asia/Shanghai.
func sh(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04", s, shanghai)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// clockFixture is a server on a fresh database whose clock the test sets.
type clockFixture struct {
	s   *timergrpc.Server
	now time.Time
}

func newClockFixture(t *testing.T, now time.Time) *clockFixture {
	t.Helper()
	pool, err := pgdb.Open(context.Background(), testinfra.NewDatabase(t), migrations.FS, nil)
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	t.Cleanup(pool.Close)
	store := timerpg.New(pool)
	f := &clockFixture{now: now}
	f.s = &timergrpc.Server{Store: store, Now: func() time.Time { return f.now },
		Calendars: &calendars.Registry{Store: store, Base: calendars.ChinaBase}, Recounted: timerkafka.PublishRecounted}
	return f
}

// kase is a case to arm.
type kase struct {
	tenant, branch, region string
	category, severity     string
	at                     time.Time
}

func complaint(t *testing.T) kase {
	return kase{tenant: "bank-a", branch: "br-1", region: "rg-1", category: "CATEGORY_FEE_DISPUTE", severity: "SEVERITY_NORMAL",
		at: sh(t, "2026-11-20 10:00")}
}

// arm stores the deadlines policy p gives c at creation (plus the kinds
// in extra, armed from the same moment) and returns the case id.
func (f *clockFixture) arm(t *testing.T, p sla.Policy, c kase, extra ...sla.Kind) string {
	t.Helper()
	cal, err := calendar.China()
	if err != nil {
		t.Fatal(err)
	}
	facts := sla.CaseFacts{Category: c.category, Severity: c.severity, Channel: "CHANNEL_ON_SITE", StartedAt: c.at, Location: shanghai}
	ds, err := sla.ArmAtCreation(p, cal, facts)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range extra {
		d, ok, err := sla.Arm(p, cal, k, facts)
		if err != nil || !ok {
			t.Fatalf("arm %s: %v %v", k, ok, err)
		}
		ds = append(ds, d)
	}
	id := uuid.NewString()
	if _, err := f.s.Store.Arm(context.Background(), nil, timerpg.CaseRef{ID: id, Tenant: c.tenant, Branch: c.branch, Region: c.region}, ds, 0); err != nil {
		t.Fatal(err)
	}
	return id
}

// deadlines lists a case's deadlines by kind, as head office reads them.
func (f *clockFixture) deadlines(t *testing.T, tenant, id string) map[sla.Kind]*slatimerv1.Deadline {
	t.Helper()
	resp, err := f.s.ListCaseDeadlines(as(auth.Principal{Tenant: tenant, Subject: "ho-1", Role: auth.RoleHeadOffice}),
		&slatimerv1.ListCaseDeadlinesRequest{CaseId: id})
	if err != nil {
		t.Fatalf("ListCaseDeadlines: %v", err)
	}
	out := map[sla.Kind]*slatimerv1.Deadline{}
	for _, d := range resp.GetDeadlines() {
		out[sla.Kind(d.GetKind().String())] = d
	}
	return out
}

func TestListCaseDeadlinesSaysEachDeadlinesStateAndTimeLeftAsItsClockCounts(t *testing.T) {
	c := complaint(t) // Friday 2026-11-20 10:00
	f := newClockFixture(t, sh(t, "2026-11-20 16:55"))
	// The hand-over pick-up clock (15 business minutes) armed from 16:50:
	// due Monday 09:05.
	c.at = sh(t, "2026-11-20 16:50")
	pickup := f.arm(t, sla.DefaultPolicy(), c, sla.KindHandoverPickup)
	c.at = sh(t, "2026-11-20 10:00")
	id := f.arm(t, sla.DefaultPolicy(), c)

	type want struct {
		state     string
		remaining time.Duration
	}
	check := func(t *testing.T, ds map[sla.Kind]*slatimerv1.Deadline, kind sla.Kind, w want) {
		t.Helper()
		d, ok := ds[kind]
		if !ok {
			t.Fatalf("no %s deadline", kind)
		}
		if d.GetState() != w.state || d.GetRemaining() == nil || d.GetRemaining().AsDuration() != w.remaining {
			t.Errorf("%s (due %s): state %q, remaining %v; want %q, %v", kind, d.GetDueAt().AsTime().In(shanghai),
				d.GetState(), d.GetRemaining().AsDuration(), w.state, w.remaining)
		}
	}

	t.Run("on Friday at 16:55 the pick-up has 5 business minutes left today and 5 on Monday", func(t *testing.T) {
		check(t, f.deadlines(t, "bank-a", pickup), sla.KindHandoverPickup, want{"open", 10 * time.Minute})
	})

	f.now = sh(t, "2026-11-20 10:30")
	ds := f.deadlines(t, "bank-a", id)
	regulatory := ds[sla.KindRegulatoryDecision]
	t.Run("at 10:30 the 1-hour acknowledgment has half an hour of wall time left", func(t *testing.T) {
		check(t, ds, sla.KindAcknowledge, want{"open", 30 * time.Minute})
	})
	t.Run("the first answer, due Monday 17:00, has Friday's 6.5 and Monday's 8 business hours left", func(t *testing.T) {
		check(t, ds, sla.KindFirstAnswer, want{"open", 14*time.Hour + 30*time.Minute})
	})
	t.Run("the regulatory limit counts wall time, nights and the weekend included", func(t *testing.T) {
		if regulatory == nil {
			t.Fatal("a complaint has no regulatory decision limit")
		}
		check(t, ds, sla.KindRegulatoryDecision, want{"open", regulatory.GetDueAt().AsTime().Sub(f.now)})
		if regulatory.GetExtensions() != 0 || regulatory.GetPausedAt() != nil || regulatory.GetMetAt() != nil {
			t.Errorf("regulatory deadline = %v, want no extension, pause or meeting yet", regulatory)
		}
	})
	t.Run("every deadline names the policy version it was armed with", func(t *testing.T) {
		for k, d := range ds {
			if d.GetPolicyVersion() != 0 {
				t.Errorf("%s: policy version %d, want the default policy's 0", k, d.GetPolicyVersion())
			}
		}
		p := sla.DefaultPolicy()
		p.Version = 4
		for k, d := range f.deadlines(t, "bank-a", f.arm(t, p, complaint(t))) {
			if d.GetPolicyVersion() != 4 {
				t.Errorf("%s: policy version %d, want the bank's version 4", k, d.GetPolicyVersion())
			}
		}
	})

	// Acknowledged at 10:40; the answer and resolution clocks paused at
	// 12:00 while the bank waits for the customer.
	ctx := context.Background()
	if err := f.s.Store.Meet(ctx, nil, id, string(sla.KindAcknowledge), sh(t, "2026-11-20 10:40")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Store.Pause(ctx, nil, id, []sla.Kind{sla.KindFirstAnswer, sla.KindResolution}, sh(t, "2026-11-20 12:00")); err != nil {
		t.Fatal(err)
	}
	for _, now := range []string{"2026-11-20 15:00", "2026-11-24 11:00"} {
		f.now = sh(t, now)
		ds := f.deadlines(t, "bank-a", id)
		t.Run("at "+now+" the met acknowledgment has nothing left", func(t *testing.T) {
			check(t, ds, sla.KindAcknowledge, want{"met", 0})
			if !ds[sla.KindAcknowledge].GetMetAt().AsTime().Equal(sh(t, "2026-11-20 10:40")) {
				t.Errorf("met at %v", ds[sla.KindAcknowledge].GetMetAt().AsTime())
			}
		})
		t.Run("at "+now+" the paused first answer keeps the 13 business hours it had at the pause", func(t *testing.T) {
			check(t, ds, sla.KindFirstAnswer, want{"paused", 13 * time.Hour})
			if !ds[sla.KindFirstAnswer].GetPausedAt().AsTime().Equal(sh(t, "2026-11-20 12:00")) {
				t.Errorf("paused at %v", ds[sla.KindFirstAnswer].GetPausedAt())
			}
		})
	}

	t.Run("past its due time a running deadline is breached with nothing left, fired or not", func(t *testing.T) {
		f.now = sh(t, "2026-11-23 09:06")
		check(t, f.deadlines(t, "bank-a", pickup), sla.KindHandoverPickup, want{"breached", 0})
	})
}

// dueCase is a case for the due lists: its acknowledgment (1 hour, wall
// time) is due an hour after at.
type dueCase struct {
	id, branch, region string
}

func TestListDueDeadlinesIsScopedLikeReports(t *testing.T) {
	created := sh(t, "2026-11-20 10:00")
	f := newClockFixture(t, created)
	// Counter exceptions (acknowledgment, first answer, resolution), one
	// per branch; the acknowledgments fall due 11:00, 11:01, 11:02...
	var all []dueCase
	for i, b := range []struct{ branch, region string }{{"br-1", "rg-1"}, {"br-2", "rg-1"}, {"br-3", "rg-2"}} {
		c := kase{tenant: "bank-a", branch: b.branch, region: b.region, category: "CATEGORY_SYSTEM_FAILURE", severity: "SEVERITY_NORMAL",
			at: created.Add(time.Duration(i) * time.Minute)}
		all = append(all, dueCase{id: f.arm(t, sla.DefaultPolicy(), c), branch: b.branch, region: b.region})
	}
	// Another bank's case in a branch of the same name.
	f.arm(t, sla.DefaultPolicy(), kase{tenant: "bank-b", branch: "br-1", region: "rg-1", category: "CATEGORY_SYSTEM_FAILURE",
		severity: "SEVERITY_NORMAL", at: created})

	soon := func(branch, region string) *slatimerv1.ListDueDeadlinesRequest {
		return &slatimerv1.ListDueDeadlinesRequest{State: slatimerv1.DueState_DUE_STATE_DUE_SOON, BranchId: branch, RegionId: region}
	}
	headOffice := auth.Principal{Tenant: "bank-a", Subject: "ho-1", Role: auth.RoleHeadOffice}
	tests := []struct {
		name   string
		caller auth.Principal
		req    *slatimerv1.ListDueDeadlinesRequest
		want   []dueCase // their acknowledgments, in due order
	}{
		{"head office sees the whole bank, and only its own", headOffice, soon("", ""), all},
		{"head office narrows to a region", headOffice, soon("", "rg-1"), all[:2]},
		{"head office narrows to a branch", headOffice, soon("br-3", ""), all[2:]},
		{"a regional supervisor sees their region", auth.Principal{Tenant: "bank-a", Role: auth.RoleRegionalSupervisor, Region: "rg-1"}, soon("", ""), all[:2]},
		{"a regional supervisor narrows to a branch of their region", auth.Principal{Tenant: "bank-a", Role: auth.RoleRegionalSupervisor, Region: "rg-1"}, soon("br-2", ""), all[1:2]},
		{"a regional supervisor asking for a branch of another region gets nothing", auth.Principal{Tenant: "bank-a", Role: auth.RoleRegionalSupervisor, Region: "rg-1"}, soon("br-3", ""), nil},
		{"a regional supervisor asking for another region gets nothing", auth.Principal{Tenant: "bank-a", Role: auth.RoleRegionalSupervisor, Region: "rg-1"}, soon("", "rg-2"), nil},
		{"a branch head sees their branch", auth.Principal{Tenant: "bank-a", Role: auth.RoleBranchHead, Branch: "br-2", Region: "rg-1"}, soon("", ""), all[1:2]},
		{"a complaint manager sees their branch", auth.Principal{Tenant: "bank-a", Role: auth.RoleComplaintManager, Branch: "br-1", Region: "rg-1"}, soon("", ""), all[:1]},
		{"a branch head asking for another branch gets nothing", auth.Principal{Tenant: "bank-a", Role: auth.RoleBranchHead, Branch: "br-2", Region: "rg-1"}, soon("br-1", ""), nil},
		{"another bank's head office sees only its own case", auth.Principal{Tenant: "bank-c", Role: auth.RoleHeadOffice}, soon("", ""), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := f.s.ListDueDeadlines(as(tt.caller), tt.req)
			if err != nil {
				t.Fatalf("ListDueDeadlines: %v", err)
			}
			var got []dueCase
			for _, d := range resp.GetDeadlines() {
				if d.GetDeadline().GetKind() != slatimerv1.DeadlineKind_DEADLINE_KIND_ACKNOWLEDGE {
					t.Errorf("%s of case %s is due soon too; only acknowledgments are within 4 hours", d.GetDeadline().GetKind(), d.GetCaseId())
					continue
				}
				got = append(got, dueCase{id: d.GetCaseId(), branch: d.GetBranchId(), region: d.GetRegionId()})
				if d.GetDeadline().GetState() != "open" || d.GetDeadline().GetRemaining().AsDuration() <= 0 {
					t.Errorf("a due-soon deadline is %q with %v left", d.GetDeadline().GetState(), d.GetDeadline().GetRemaining().AsDuration())
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("row %d = %v, want %v", i, got[i], tt.want[i])
				}
			}
			if resp.GetNextPageToken() != "" {
				t.Errorf("one page holds it all, yet a next page token came: %q", resp.GetNextPageToken())
			}
		})
	}

	for _, p := range []auth.Principal{
		{Tenant: "bank-a", Subject: "ops", Role: auth.RoleSRE},
		{Tenant: "bank-a", Subject: "terminal-7", Role: auth.RoleBankSystem},
		{Tenant: "bank-a", Subject: "t-1", Role: auth.RoleTeller, Branch: "br-1", Region: "rg-1"},
		{Tenant: auth.AllTenants, Subject: "op", Role: auth.RoleOperator},
		{Tenant: "bank-a", Subject: "rs-0", Role: auth.RoleRegionalSupervisor}, // names no region
	} {
		t.Run("a "+string(p.Role)+" caller is refused", func(t *testing.T) {
			if _, err := f.s.ListDueDeadlines(as(p), soon("", "")); status.Code(err) != codes.PermissionDenied {
				t.Fatalf("ListDueDeadlines = %v, want PermissionDenied", err)
			}
		})
	}

	t.Run("within narrows the due-soon window", func(t *testing.T) {
		req := soon("", "")
		req.Within = durationpb.New(time.Hour + 30*time.Second) // up to 11:00:30: the first acknowledgment only
		resp, err := f.s.ListDueDeadlines(as(headOffice), req)
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.GetDeadlines()) != 1 || resp.GetDeadlines()[0].GetCaseId() != all[0].id {
			t.Fatalf("got %v, want the acknowledgment of %s only", resp.GetDeadlines(), all[0].id)
		}
	})

	t.Run("overdue lists what is past due and not met, the longest overdue first; met and paused clocks are not listed", func(t *testing.T) {
		ctx := context.Background()
		// br-2's case was acknowledged; br-3's first answer waits for the customer.
		if err := f.s.Store.Meet(ctx, nil, all[1].id, string(sla.KindAcknowledge), sh(t, "2026-11-20 10:30")); err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.Store.Pause(ctx, nil, all[2].id, []sla.Kind{sla.KindFirstAnswer}, sh(t, "2026-11-20 12:00")); err != nil {
			t.Fatal(err)
		}
		defer func(was time.Time) { f.now = was }(f.now)
		f.now = sh(t, "2026-11-24 09:00") // past Monday 17:00: the first answers are overdue
		resp, err := f.s.ListDueDeadlines(as(headOffice), &slatimerv1.ListDueDeadlinesRequest{State: slatimerv1.DueState_DUE_STATE_OVERDUE})
		if err != nil {
			t.Fatal(err)
		}
		type row struct {
			id   string
			kind slatimerv1.DeadlineKind
		}
		want := []row{
			{all[0].id, slatimerv1.DeadlineKind_DEADLINE_KIND_ACKNOWLEDGE},  // 11:00
			{all[2].id, slatimerv1.DeadlineKind_DEADLINE_KIND_ACKNOWLEDGE},  // 11:02
			{all[0].id, slatimerv1.DeadlineKind_DEADLINE_KIND_FIRST_ANSWER}, // Monday 17:00
			{all[1].id, slatimerv1.DeadlineKind_DEADLINE_KIND_FIRST_ANSWER},
		}
		// The two first answers fall due at the same moment: case id decides.
		if want[3].id < want[2].id {
			want[2], want[3] = want[3], want[2]
		}
		var got []row
		for _, d := range resp.GetDeadlines() {
			got = append(got, row{d.GetCaseId(), d.GetDeadline().GetKind()})
			if d.GetDeadline().GetState() != "breached" || d.GetDeadline().GetRemaining().AsDuration() != 0 {
				t.Errorf("an overdue deadline is %q with %v left", d.GetDeadline().GetState(), d.GetDeadline().GetRemaining().AsDuration())
			}
		}
		if len(got) != len(want) {
			t.Fatalf("got %v, want %v", got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("row %d = %v, want %v", i, got[i], want[i])
			}
		}
	})
}

func TestListDueDeadlinesPagesThroughTiesWithoutLosingOrRepeatingARow(t *testing.T) {
	created := sh(t, "2026-11-20 10:00")
	f := newClockFixture(t, created)
	// Seven cases: three created at 10:00 (acknowledgments due together at
	// 11:00), four a minute apart after.
	want := map[string]bool{}
	for i := range 7 {
		at := created
		if i >= 3 {
			at = created.Add(time.Duration(i-2) * time.Minute)
		}
		want[f.arm(t, sla.DefaultPolicy(), kase{tenant: "bank-a", branch: "br-1", region: "rg-1", category: "CATEGORY_SYSTEM_FAILURE",
			severity: "SEVERITY_NORMAL", at: at})] = true
	}
	headOffice := as(auth.Principal{Tenant: "bank-a", Role: auth.RoleHeadOffice})
	req := &slatimerv1.ListDueDeadlinesRequest{State: slatimerv1.DueState_DUE_STATE_DUE_SOON, PageSize: 2}
	var seen []*slatimerv1.DueDeadline
	pages := 0
	for {
		resp, err := f.s.ListDueDeadlines(headOffice, req)
		if err != nil {
			t.Fatalf("page %d: %v", pages+1, err)
		}
		pages++
		if len(resp.GetDeadlines()) > 2 {
			t.Fatalf("page %d has %d rows, more than its size", pages, len(resp.GetDeadlines()))
		}
		seen = append(seen, resp.GetDeadlines()...)
		if resp.GetNextPageToken() == "" {
			break
		}
		if pages > 10 {
			t.Fatal("paging does not end")
		}
		req.PageToken = resp.GetNextPageToken()
	}
	if pages != 4 || len(seen) != 7 {
		t.Fatalf("%d rows on %d pages, want 7 on 4", len(seen), pages)
	}
	for i, d := range seen {
		if !want[d.GetCaseId()] {
			t.Errorf("row %d: case %s listed twice or unknown", i, d.GetCaseId())
		}
		delete(want, d.GetCaseId())
		if i == 0 {
			continue
		}
		prev, cur := seen[i-1], d
		pd, cd := prev.GetDeadline().GetDueAt().AsTime(), cur.GetDeadline().GetDueAt().AsTime()
		if cd.Before(pd) || (cd.Equal(pd) && cur.GetCaseId() < prev.GetCaseId()) {
			t.Errorf("row %d (%s %s) comes before row %d (%s %s) in due order", i, cd, cur.GetCaseId(), i-1, pd, prev.GetCaseId())
		}
	}

	t.Run("a token is good only for the list it came from", func(t *testing.T) {
		first, err := f.s.ListDueDeadlines(headOffice, &slatimerv1.ListDueDeadlinesRequest{State: slatimerv1.DueState_DUE_STATE_DUE_SOON, PageSize: 2})
		if err != nil {
			t.Fatal(err)
		}
		for name, r := range map[string]*slatimerv1.ListDueDeadlinesRequest{
			"another state":  {State: slatimerv1.DueState_DUE_STATE_OVERDUE, PageToken: first.GetNextPageToken()},
			"another branch": {State: slatimerv1.DueState_DUE_STATE_DUE_SOON, BranchId: "br-2", PageToken: first.GetNextPageToken()},
			"a made-up one":  {State: slatimerv1.DueState_DUE_STATE_DUE_SOON, PageToken: "bm90IGEgdG9rZW4"},
		} {
			if _, err := f.s.ListDueDeadlines(headOffice, r); status.Code(err) != codes.InvalidArgument {
				t.Errorf("%s: %v, want InvalidArgument", name, err)
			}
		}
	})
}
