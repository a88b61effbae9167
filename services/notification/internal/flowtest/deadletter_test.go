package flowtest

import (
	"errors"
	"testing"
	"time"

	"github.com/counterdesk/counterdesk/services/notification/internal/notify"
	"github.com/jackc/pgx/v5"
)

// A bank's dead letters are listed newest first a page at a time, never
// another bank's; a replay finds only a dead letter of the caller's bank,
// once.
func TestDeadLettersAreListedPerBankAPageAtATimeAndReplayedOnce(t *testing.T) {
	e := newEnv(t)
	var ids []string
	for i, tenant := range []string{"bank-a", "bank-a", "bank-a", "bank-b"} {
		e.clock.Set(start.Add(time.Duration(i) * time.Minute))
		caseID := e.addCase(tenant, "b1", "", name, "zh-CN") // a phone and no SMS gateway: nothing reaches them
		e.armed(e.ctx, tenant, caseID, armedDeadlines())
		e.runOnce()
		ids = append(ids, e.deliveriesOf(caseID)[0])
	}
	page, err := e.store.ListByStatus(e.ctx, "bank-a", notify.StatusDeadLetter, time.Time{}, "", 2)
	if err != nil || len(page) != 2 || page[0].ID != ids[2] || page[1].ID != ids[1] {
		t.Fatalf("first page %v (%v), want the two newest of bank-a", idsOf(page), err)
	}
	rest, err := e.store.ListByStatus(e.ctx, "bank-a", notify.StatusDeadLetter, page[1].UpdatedAt, page[1].ID, 2)
	if err != nil || len(rest) != 1 || rest[0].ID != ids[0] {
		t.Fatalf("second page %v (%v), want the oldest of bank-a", idsOf(rest), err)
	}
	now := start.Add(time.Hour)
	d, err := e.store.Replay(e.ctx, "bank-a", ids[0], "replayed by ho-1", now)
	if err != nil || d.Status != notify.StatusPending || !d.NextAttemptAt.Equal(now) || d.AttemptBase != 1 || d.Decision != "replayed by ho-1" {
		t.Fatalf("replay: %+v, %v", d, err)
	}
	if _, err := e.store.Replay(e.ctx, "bank-a", ids[0], "again", now); !errors.Is(err, notify.ErrNotDeadLetter) {
		t.Errorf("a second replay: %v, want ErrNotDeadLetter", err)
	}
	if _, err := e.store.Replay(e.ctx, "bank-a", ids[3], "not ours", now); !errors.Is(err, pgx.ErrNoRows) {
		t.Errorf("bank-a replaying bank-b's dead letter: %v, want not found", err)
	}
	if d, _ := e.store.Get(e.ctx, ids[3]); d.Status != notify.StatusDeadLetter {
		t.Errorf("bank-b's dead letter is %s after bank-a's attempt", d.Status)
	}
}

func idsOf(ds []notify.Delivery) []string {
	out := make([]string, 0, len(ds))
	for _, d := range ds {
		out = append(out, d.ID)
	}
	return out
}
