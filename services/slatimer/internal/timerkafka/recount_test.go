package timerkafka

import (
	"context"
	"testing"
	"time"

	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/calendar"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/calendars"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/sla"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/timerpg"
	"github.com/jackc/pgx/v5"
)

// change applies a calendar change the way the API does: one transaction,
// recount and announcements included. It uses a registry of its own, as
// another slatimer replica would.
func (f *fixture) change(t *testing.T, fn func(ctx context.Context, tx pgx.Tx, r *calendars.Registry) (string, int64, []calendars.Recounted, error)) []calendars.Recounted {
	t.Helper()
	r := &calendars.Registry{Store: f.store, Base: calendars.ChinaBase}
	var moved []calendars.Recounted
	err := pgdb.InTx(context.Background(), f.pool, func(tx pgx.Tx) error {
		reason, version, m, err := fn(context.Background(), tx, r)
		if err != nil {
			return err
		}
		moved = m
		return PublishRecounted(context.Background(), tx, reason, version, m)
	})
	if err != nil {
		t.Fatalf("calendar change: %v", err)
	}
	return moved
}

func (f *fixture) closeBranch(t *testing.T, tenant, branch, from, to string) []calendars.Recounted {
	t.Helper()
	return f.closeBranchAt(t, tenant, branch, from, to, at(t, "2026-11-21 08:00"))
}

func (f *fixture) closeBranchAt(t *testing.T, tenant, branch, from, to string, when time.Time) []calendars.Recounted {
	t.Helper()
	return f.change(t, func(ctx context.Context, tx pgx.Tx, r *calendars.Registry) (string, int64, []calendars.Recounted, error) {
		c, moved, err := r.CloseBranch(ctx, tx, calendars.Closure{Tenant: tenant, Branch: branch,
			From: calendar.MustParseDate(from), To: calendar.MustParseDate(to), Reason: "台风停业", CreatedBy: "st-head-office",
			CreatedAt: when})
		return calendars.ReasonBranchClosure, c.Version, moved, err
	})
}

func (f *fixture) loadYear(t *testing.T, year int, holidays []calendar.Holiday, workdays []calendar.Date) []calendars.Recounted {
	t.Helper()
	return f.change(t, func(ctx context.Context, tx pgx.Tx, r *calendars.Registry) (string, int64, []calendars.Recounted, error) {
		y, moved, err := r.LoadYear(ctx, tx, calendars.YearLoad{CalendarID: calendar.ChinaID, Year: year, Holidays: holidays,
			Workdays: workdays, Source: "test notice", LoadedBy: "operator-1", LoadedAt: at(t, "2027-11-30 09:00")})
		return calendars.ReasonYearLoaded, y.Version, moved, err
	})
}

// recomputed returns the DeadlineRecomputed events in the outbox, by case
// and kind.
func (f *fixture) recomputed(t *testing.T) map[string]map[string][2]time.Time {
	t.Helper()
	out := map[string]map[string][2]time.Time{}
	for _, r := range f.outbox(t) {
		ev := r.env.GetDeadlineRecomputed()
		if ev == nil {
			continue
		}
		if r.topic != "sla-events" || r.key != r.env.GetCaseId() {
			t.Errorf("DeadlineRecomputed on topic %q key %q", r.topic, r.key)
		}
		if out[r.env.GetCaseId()] == nil {
			out[r.env.GetCaseId()] = map[string][2]time.Time{}
		}
		out[r.env.GetCaseId()][ev.GetKind()] = [2]time.Time{ev.GetOldDueAt().AsTime(), ev.GetNewDueAt().AsTime()}
	}
	return out
}

func TestAClosureMovesTheOpenDeadlinesOfThatBranchOfThatBankOnly(t *testing.T) {
	f := newFixture(t)
	a := normalCase(t) // bank-a br-1, Friday 2026-11-20 10:00
	b := normalCase(t)
	b.tenant = "bank-b" // same branch id, another bank
	c := normalCase(t)
	c.branch = "br-2"
	for _, x := range []newCase{a, b, c} {
		f.mustHandle(t, x.envelope())
	}
	answerBefore := f.deadline(t, a, sla.KindFirstAnswer).DueAt
	if want := at(t, "2026-11-23 17:00"); !answerBefore.Equal(want) {
		t.Fatalf("first answer armed at %s, want %s", answerBefore, want)
	}

	moved := f.closeBranch(t, "bank-a", "br-1", "2026-11-23", "2026-11-23")

	if got, want := f.deadline(t, a, sla.KindFirstAnswer).DueAt, at(t, "2026-11-24 17:00"); !got.Equal(want) {
		t.Errorf("first answer after closing Monday: %s, want %s", got, want)
	}
	if got, want := f.deadline(t, a, sla.KindResolution).DueAt, at(t, "2026-12-02 17:00"); !got.Equal(want) {
		t.Errorf("resolution after closing Monday: %s, want %s", got, want)
	}
	if got, want := f.deadline(t, a, sla.KindAcknowledge).DueAt, at(t, "2026-11-20 11:00"); !got.Equal(want) {
		t.Errorf("the acknowledgment (wall clock) moved to %s", got)
	}
	for _, other := range []newCase{b, c} {
		if got := f.deadline(t, other, sla.KindFirstAnswer).DueAt; !got.Equal(answerBefore) {
			t.Errorf("%s/%s first answer moved to %s by another bank's or branch's closure", other.tenant, other.branch, got)
		}
	}
	if len(moved) != 2 {
		t.Errorf("moved %d deadlines, want 2 (first answer and resolution of one case)", len(moved))
	}
	ev := f.recomputed(t)
	if len(ev) != 1 || len(ev[a.id]) != 2 {
		t.Fatalf("DeadlineRecomputed events = %v, want first answer and resolution of case %s only", ev, a.id)
	}
	if got := ev[a.id][string(sla.KindFirstAnswer)]; !got[0].Equal(answerBefore) || !got[1].Equal(at(t, "2026-11-24 17:00")) {
		t.Errorf("first answer event old/new = %v", got)
	}
	// The breach and every unfired warning follow the new due time.
	want, err := sla.Recount(sla.KindFirstAnswer, f.deadlineBasis(t, a, sla.KindFirstAnswer), f.branchCalendar(t, "bank-a", "br-1"), a.createdAt)
	if err != nil {
		t.Fatal(err)
	}
	wantAt := map[string]time.Time{"breached": want.DueAt}
	for _, w := range want.Warnings {
		wantAt[w.Level] = w.At
	}
	for _, fr := range f.fires(t, a.id) {
		if fr.kind != string(sla.KindFirstAnswer) {
			continue
		}
		if !fr.fireAt.Equal(wantAt[fr.level]) {
			t.Errorf("%s fire at %s, want %s", fr.level, fr.fireAt, wantAt[fr.level])
		}
	}
}

func TestACaseArmedAfterAClosureByAnotherReplicaIsCountedOnIt(t *testing.T) {
	f := newFixture(t)
	// The handler's registry has cached the calendar before the closure.
	f.mustHandle(t, normalCase(t).envelope())
	f.closeBranch(t, "bank-a", "br-1", "2026-11-23", "2026-11-24")
	late := normalCase(t)
	f.mustHandle(t, late.envelope())
	if got, want := f.deadline(t, late, sla.KindFirstAnswer).DueAt, at(t, "2026-11-25 17:00"); !got.Equal(want) {
		t.Errorf("first answer of a case armed after the closure: %s, want %s", got, want)
	}
	// A case counted on a branch's closures is still found and moved by the
	// next closure and by a reload of the national year.
	if b := f.deadlineBasis(t, late, sla.KindFirstAnswer); b.CalendarID != calendar.ChinaID {
		t.Errorf("deadline counted on calendar %q, want the national %q", b.CalendarID, calendar.ChinaID)
	}
	f.closeBranch(t, "bank-a", "br-1", "2026-11-25", "2026-11-25")
	if got, want := f.deadline(t, late, sla.KindFirstAnswer).DueAt, at(t, "2026-11-26 17:00"); !got.Equal(want) {
		t.Errorf("first answer after a second closure: %s, want %s", got, want)
	}
	f.loadYear(t, 2026, append(shipped2026(t), calendar.Holiday{Name: "临时", From: calendar.MustParseDate("2026-11-26"), To: calendar.MustParseDate("2026-11-26")}), shipped2026Workdays(t))
	if got, want := f.deadline(t, late, sla.KindFirstAnswer).DueAt, at(t, "2026-11-27 17:00"); !got.Equal(want) {
		t.Errorf("first answer after reloading 2026 with 11-26 off: %s, want %s", got, want)
	}
}

func TestALoadedYearMovesArmedDeadlinesAndEndsTheirProvisionalState(t *testing.T) {
	f := newFixture(t)
	c := normalCase(t)
	c.createdAt = at(t, "2027-12-28 10:00") // Tuesday; 7 working days run into 2028
	f.mustHandle(t, c.envelope())
	res := f.deadline(t, c, sla.KindResolution)
	// 2028 has no data: weekends and statutory days only (New Year's Day is a Saturday).
	if want := at(t, "2028-01-06 17:00"); !res.DueAt.Equal(want) || !res.Provisional {
		t.Fatalf("resolution armed %s provisional=%v, want %s provisional", res.DueAt, res.Provisional, want)
	}
	if d := f.deadline(t, c, sla.KindFirstAnswer); d.Provisional {
		t.Errorf("a first answer due inside 2027 is provisional")
	}
	armedEv := false
	for _, r := range f.outbox(t) {
		for _, d := range r.env.GetDeadlinesArmed().GetDeadlines() {
			if d.GetKind() == string(sla.KindResolution) && d.GetProvisional() {
				armedEv = true
			}
		}
	}
	if !armedEv {
		t.Error("DeadlinesArmed does not mark the resolution provisional")
	}

	newYear := []calendar.Holiday{{Name: "元旦", From: calendar.MustParseDate("2028-01-01"), To: calendar.MustParseDate("2028-01-03")}}
	f.loadYear(t, 2028, newYear, nil)
	res = f.deadline(t, c, sla.KindResolution)
	if want := at(t, "2028-01-07 17:00"); !res.DueAt.Equal(want) || res.Provisional {
		t.Errorf("resolution after loading 2028: %s provisional=%v, want %s official", res.DueAt, res.Provisional, want)
	}
	if got := f.recomputed(t)[c.id][string(sla.KindResolution)]; !got[1].Equal(at(t, "2028-01-07 17:00")) {
		t.Errorf("DeadlineRecomputed for the resolution = %v", got)
	}

	// A corrected load (another version) moves it again; nothing is lost.
	newYear[0].To = calendar.MustParseDate("2028-01-04")
	f.loadYear(t, 2028, newYear, []calendar.Date{calendar.MustParseDate("2028-01-08")})
	if got, want := f.deadline(t, c, sla.KindResolution).DueAt, at(t, "2028-01-08 17:00"); !got.Equal(want) {
		t.Errorf("resolution after reloading 2028 (Jan 4 off, Saturday Jan 8 working): %s, want %s", got, want)
	}
	if n := f.count(t, `SELECT count(*) FROM calendar_years WHERE year = 2028`); n != 2 {
		t.Errorf("%d versions of 2028 stored, want 2", n)
	}
}

func TestCalendarChangesAreAppendOnly(t *testing.T) {
	f := newFixture(t)
	f.closeBranch(t, "bank-a", "br-1", "2026-11-23", "2026-11-23")
	for _, q := range []string{`UPDATE branch_closures SET reason = 'x'`, `DELETE FROM branch_closures`, `TRUNCATE calendar_years`} {
		if _, err := f.pool.Exec(context.Background(), q); err == nil {
			t.Errorf("%s succeeded", q)
		}
	}
}

func TestAnInvalidChangeChangesNothing(t *testing.T) {
	f := newFixture(t)
	c := normalCase(t)
	f.mustHandle(t, c.envelope())
	r := &calendars.Registry{Store: f.store, Base: calendars.ChinaBase}
	err := pgdb.InTx(context.Background(), f.pool, func(tx pgx.Tx) error {
		_, _, err := r.CloseBranch(context.Background(), tx, calendars.Closure{Tenant: "bank-a", Branch: "br-1",
			From: calendar.MustParseDate("2026-11-24"), To: calendar.MustParseDate("2026-11-23"), Reason: "x", CreatedAt: at(t, "2026-11-21 08:00")})
		return err
	})
	fes := calendar.FieldErrors(err)
	if len(fes) != 1 || fes[0].Field != "to" {
		t.Fatalf("err = %v, want one field error on to", err)
	}
	if n := f.count(t, `SELECT count(*) FROM branch_closures`); n != 0 {
		t.Errorf("%d closures stored", n)
	}
	if got := f.deadline(t, c, sla.KindFirstAnswer).DueAt; !got.Equal(at(t, "2026-11-23 17:00")) {
		t.Errorf("first answer moved to %s", got)
	}
}

// deadlineBasis reads a stored deadline's basis.
func (f *fixture) deadlineBasis(t *testing.T, c newCase, kind sla.Kind) sla.Basis {
	t.Helper()
	var b sla.Basis
	if err := f.pool.QueryRow(context.Background(), `SELECT basis FROM deadlines WHERE case_id = $1 AND kind = $2`, c.id, string(kind)).Scan(&b); err != nil {
		t.Fatal(err)
	}
	return b
}

// branchCalendar is the calendar in force for a branch.
func (f *fixture) branchCalendar(t *testing.T, tenant, branch string) *calendar.Calendar {
	t.Helper()
	r := &calendars.Registry{Store: f.store, Base: calendars.ChinaBase}
	var cal *calendar.Calendar
	err := pgdb.InTx(context.Background(), f.pool, func(tx pgx.Tx) error {
		st, err := r.Current(context.Background(), tx)
		if err != nil {
			return err
		}
		cal, _ = st.Branch(r.Base, tenant, branch, calendar.ChinaID)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return cal
}

// shipped2026 and shipped2026Workdays are the 2026 data as shipped.
func shipped2026(t *testing.T) []calendar.Holiday {
	t.Helper()
	y, ok := chinaCalendar(t).Year(2026)
	if !ok {
		t.Fatal("no 2026 data")
	}
	return y.Holidays
}

func shipped2026Workdays(t *testing.T) []calendar.Date {
	t.Helper()
	y, _ := chinaCalendar(t).Year(2026)
	return y.Workdays
}

func (f *fixture) level(t *testing.T, c newCase, kind sla.Kind) string {
	t.Helper()
	return f.deadline(t, c, kind).Level
}

func TestAWarningThatFiredFiresAgainWhenItsDeadlineMovesLater(t *testing.T) {
	f := newFixture(t)
	c := normalCase(t) // first answer Monday 2026-11-23 17:00, yellow at 09:30
	f.mustHandle(t, c.envelope())
	f.fireDue(t, at(t, "2026-11-23 10:00"))
	if got := f.level(t, c, sla.KindFirstAnswer); got != sla.LevelYellow {
		t.Fatalf("level %q after yellow, want yellow", got)
	}
	f.closeBranchAt(t, "bank-a", "br-1", "2026-11-23", "2026-11-23", at(t, "2026-11-23 10:30"))
	if got := f.level(t, c, sla.KindFirstAnswer); got != "none" {
		t.Errorf("level %q after the deadline moved a day later, want none (yellow now falls on Tuesday)", got)
	}
	yellows := func() int {
		n := 0
		for _, k := range f.firedEvents(t) {
			if k.caseID == c.id && k.kind == string(sla.KindFirstAnswer) && k.level == sla.LevelYellow {
				n++
			}
		}
		return n
	}
	if n := yellows(); n != 1 {
		t.Fatalf("%d yellow warnings before Tuesday, want 1", n)
	}
	f.fireDue(t, at(t, "2026-11-24 09:31"))
	if got := f.level(t, c, sla.KindFirstAnswer); got != sla.LevelYellow {
		t.Errorf("level %q on Tuesday 09:31, want yellow again", got)
	}
	if n := yellows(); n != 2 {
		t.Errorf("%d yellow warnings, want 2: the moved one fires at its new time", n)
	}
}

func TestABreachIsFinal(t *testing.T) {
	f := newFixture(t)
	c := normalCase(t)
	f.mustHandle(t, c.envelope())
	f.fireDue(t, at(t, "2026-11-23 18:00")) // the first answer breached at Monday 17:00
	due := f.deadline(t, c, sla.KindFirstAnswer).DueAt
	f.closeBranchAt(t, "bank-a", "br-1", "2026-11-23", "2026-11-23", at(t, "2026-11-23 18:30"))
	if d := f.deadline(t, c, sla.KindFirstAnswer); !d.DueAt.Equal(due) || d.Level != timerpg.LevelBreached {
		t.Errorf("breached first answer now due %s level %s: a breach must stay as it was", d.DueAt, d.Level)
	}
	if got, want := f.deadline(t, c, sla.KindResolution).DueAt, at(t, "2026-12-02 17:00"); !got.Equal(want) {
		t.Errorf("the open resolution is due %s, want %s (moved a day by the closure)", got, want)
	}
	if ev := f.recomputed(t)[c.id]; len(ev) != 1 || ev[string(sla.KindResolution)][1].IsZero() {
		t.Errorf("DeadlineRecomputed = %v, want the resolution only", ev)
	}
}

func TestAYearThatOnlyConfirmsADateIsAnnounced(t *testing.T) {
	f := newFixture(t)
	c := normalCase(t)
	c.createdAt = at(t, "2027-12-28 10:00") // resolution 2028-01-06 17:00, provisional
	f.mustHandle(t, c.envelope())
	before := f.deadline(t, c, sla.KindResolution)
	f.loadYear(t, 2028, []calendar.Holiday{{Name: "元旦", From: calendar.MustParseDate("2028-01-01"), To: calendar.MustParseDate("2028-01-01")}}, nil)
	after := f.deadline(t, c, sla.KindResolution)
	if !after.DueAt.Equal(before.DueAt) || after.Provisional {
		t.Fatalf("resolution %s provisional=%v, want the same %s confirmed", after.DueAt, after.Provisional, before.DueAt)
	}
	found := false
	for _, r := range f.outbox(t) {
		if ev := r.env.GetDeadlineRecomputed(); ev != nil && r.env.GetCaseId() == c.id && ev.GetKind() == string(sla.KindResolution) {
			found = !ev.GetProvisional() && ev.GetOldDueAt().AsTime().Equal(ev.GetNewDueAt().AsTime())
		}
	}
	if !found {
		t.Error("no DeadlineRecomputed saying the resolution date is now confirmed")
	}
}
