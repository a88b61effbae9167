package sla_test

import (
	"testing"
	"time"

	"github.com/counterdesk/counterdesk/services/slatimer/internal/calendar"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/sla"
)

// A branch with a lunch break: the pick-up's 15 business minutes skip it,
// and a recount from the stored basis keeps the branch's hours.
func TestBusinessHoursFollowTheBranchsOpeningHours(t *testing.T) {
	cal, err := calendar.China()
	if err != nil {
		t.Fatal(err)
	}
	sh, _ := time.LoadLocation("Asia/Shanghai")
	var hours []calendar.Period
	for _, p := range [][2]string{{"09:00", "12:00"}, {"13:30", "17:30"}} {
		pp, err := calendar.ParsePeriod([]int{1, 2, 3, 4, 5}, p[0], p[1])
		if err != nil {
			t.Fatal(err)
		}
		hours = append(hours, pp)
	}
	start := time.Date(2026, 11, 23, 11, 55, 0, 0, sh) // a Monday
	d, ok, err := sla.Arm(sla.DefaultPolicy(), cal, sla.KindHandoverPickup, sla.CaseFacts{StartedAt: start, Location: sh, Hours: hours})
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if want := time.Date(2026, 11, 23, 13, 40, 0, 0, sh); !d.DueAt.Equal(want) {
		t.Errorf("pick-up due %s, want %s (5 minutes before lunch, 10 after)", d.DueAt, want)
	}
	again, err := sla.Recount(sla.KindHandoverPickup, d.Basis, cal, start)
	if err != nil || !again.DueAt.Equal(d.DueAt) {
		t.Errorf("recount from the basis: %s %v, want %s", again.DueAt, err, d.DueAt)
	}
	// Without branch hours the bank's 09:00-17:00 apply.
	plain, _, _ := sla.Arm(sla.DefaultPolicy(), cal, sla.KindHandoverPickup, sla.CaseFacts{StartedAt: start, Location: sh})
	if want := time.Date(2026, 11, 23, 12, 10, 0, 0, sh); !plain.DueAt.Equal(want) {
		t.Errorf("without branch hours: %s, want %s", plain.DueAt, want)
	}
	// The working-days clock ends at the branch's last closing.
	ds, err := sla.ArmAtCreation(sla.DefaultPolicy(), cal, sla.CaseFacts{Category: "CATEGORY_FEE_DISPUTE", Severity: "SEVERITY_NORMAL",
		StartedAt: start, Location: sh, Hours: hours})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range ds {
		if x.Kind == sla.KindFirstAnswer && !x.DueAt.Equal(time.Date(2026, 11, 24, 17, 30, 0, 0, sh)) {
			t.Errorf("first answer due %s, want Tuesday 17:30", x.DueAt)
		}
	}
}
