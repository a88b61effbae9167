package rectify

import (
	"context"
	"log/slog"
	"time"
)

// Reminder is a kind of reminder to the branch about a notice not closed.
type Reminder string

const (
	// ReminderDueSoon: the due time is within the reminder lead.
	ReminderDueSoon Reminder = "due_soon"
	// ReminderOverdue: the due time has passed.
	ReminderOverdue Reminder = "overdue"
)

// DueReminder returns the reminder n calls for at now with the given lead,
// if any. A notice found only after its due time passed (the loop was down)
// gets the overdue reminder alone: telling a branch "due soon" about a
// notice already overdue helps nobody.
func DueReminder(n Notice, now time.Time, lead time.Duration) (Reminder, bool) {
	switch {
	case n.Status == StatusClosed:
		return "", false
	case !now.Before(n.DueAt):
		return ReminderOverdue, true
	case !now.Before(n.DueAt.Add(-lead)):
		return ReminderDueSoon, true
	}
	return "", false
}

// ReminderStore finds notices due for a reminder and records each reminder
// with its event in one transaction, once per notice and kind (a notice
// locked by another replica is skipped, not waited for). remind decides
// which reminder, if any, a candidate gets.
type ReminderStore interface {
	SendReminders(ctx context.Context, now time.Time, lead time.Duration, limit int,
		remind func(Notice) (Reminder, bool)) (int, error)
}

// Reminders is the loop that reminds branches of notices due soon or
// overdue. Every pass reads the clock; what was sent is in the database, so
// a restart sends nothing twice.
type Reminders struct {
	Store ReminderStore
	Now   func() time.Time
	// Lead is how long before the due time the due-soon reminder goes.
	Lead time.Duration
	// Interval is the wait between passes.
	Interval time.Duration
	Log      *slog.Logger
}

// batch bounds one transaction of a pass.
const batch = 100

// Pass sends every reminder due at the clock's time and returns how many.
func (r *Reminders) Pass(ctx context.Context) (int, error) {
	now := r.Now()
	total := 0
	for {
		n, err := r.Store.SendReminders(ctx, now, r.Lead, batch, func(n Notice) (Reminder, bool) {
			return DueReminder(n, now, r.Lead)
		})
		total += n
		if err != nil || n < batch {
			return total, err
		}
	}
}

// Run makes a pass every Interval until ctx ends. A failed pass is logged
// and tried again at the next one.
func (r *Reminders) Run(ctx context.Context) error {
	for {
		if n, err := r.Pass(ctx); err != nil && ctx.Err() == nil {
			r.Log.WarnContext(ctx, "rectification reminders: pass failed; will retry", "err", err)
		} else if n > 0 {
			r.Log.InfoContext(ctx, "rectification reminders sent", "count", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(r.Interval):
		}
	}
}
