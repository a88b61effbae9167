// Protects invariant 3 for paused clocks and the firing loop's speed with
// them: a paused clock's pending fires are out of the due index (so claims
// do not step over the ones piling up while cases wait), come back when it
// resumes, and never fire while paused even if the flag were wrong.
package timerkafka

import (
	"context"
	"testing"
	"time"

	eventsv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/sla"
	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestAPausedClocksFiresLeaveTheDueIndexUntilItResumes(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := normalCase(t) // Friday 2026-11-20 10:00
	f.mustHandle(t, c.envelope())
	step := func(action, when string) {
		t.Helper()
		f.mustHandle(t, &eventsv1.Envelope{EventId: uuid.NewString(), TenantId: c.tenant, CaseId: c.id,
			Payload: &eventsv1.Envelope_CaseTransitioned{CaseTransitioned: &eventsv1.CaseTransitioned{
				Action: action, ActorId: "cm-1", At: timestamppb.New(at(t, when))}}})
	}
	pausedFires := func() map[string]int {
		t.Helper()
		rows, err := f.pool.Query(ctx, `SELECT kind, count(*) FILTER (WHERE paused) FROM timer_fires WHERE case_id = $1 GROUP BY kind`, c.id)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string]int{}
		for rows.Next() {
			var k string
			var n int
			if err := rows.Scan(&k, &n); err != nil {
				t.Fatal(err)
			}
			out[k] = n
		}
		return out
	}
	answer, resolution, ack := string(sla.KindFirstAnswer), string(sla.KindResolution), string(sla.KindAcknowledge)

	step("awaitCustomer", "2026-11-20 10:20")
	if got := pausedFires(); got[answer] != 4 || got[resolution] != 4 || got[ack] != 0 {
		t.Fatalf("paused fires per kind %v, want the four of first answer and of resolution, none of acknowledge", got)
	}
	// The loop wakes for running clocks' fires only: the acknowledge's next
	// at 10:30, and after its breach at 11:00 for none, the paused clocks'
	// eight pending fires notwithstanding.
	next, ok, err := f.store.NextFireAfter(ctx, at(t, "2026-11-20 10:20"))
	if err != nil || !ok || !next.Equal(at(t, "2026-11-20 10:30")) {
		t.Fatalf("NextFireAfter(10:20) = %v, %v, %v; want the acknowledge yellow at 10:30", next.In(shanghai), ok, err)
	}
	if next, ok, err := f.store.NextFireAfter(ctx, at(t, "2026-11-20 11:00")); err != nil || ok {
		t.Fatalf("NextFireAfter(11:00) = %v, %v, %v; want none (only paused clocks have fires left)", next.In(shanghai), ok, err)
	}

	// A week on, only the acknowledge clock's fires fire.
	if n := f.fireDue(t, at(t, "2026-11-27 12:00")); n != 4 {
		t.Fatalf("fired %d, want the acknowledge's four", n)
	}
	// Even a paused fire wrongly flagged running is not fired: the claim
	// checks the deadline.
	if _, err := f.pool.Exec(ctx, `UPDATE timer_fires SET paused = false WHERE case_id = $1 AND kind = $2`, c.id, answer); err != nil {
		t.Fatal(err)
	}
	if n := f.fireDue(t, at(t, "2026-11-27 12:00")); n != 0 {
		t.Fatalf("fired %d of a paused clock", n)
	}

	// Resumed: every fire is running again, and they fire when due.
	step("resumeFromCustomer", "2026-11-25 10:00")
	if got := pausedFires(); got[answer] != 0 || got[resolution] != 0 {
		t.Fatalf("paused fires per kind after resuming %v, want none", got)
	}
	d := f.deadline(t, c, sla.KindResolution)
	if n := f.fireDue(t, d.DueAt.Add(time.Hour)); n != 8 {
		t.Errorf("fired %d after resuming, past both due times, want the eight of first answer and resolution", n)
	}
}
