package notifykafka

import (
	"strings"
	"testing"

	"github.com/counterdesk/counterdesk/services/notification/internal/notify"
	"github.com/google/uuid"
)

// A staff alert's id is one per event, template and recipient; the
// customer's messages keep the ids they had before staff alerts existed.
func TestAStaffAlertIDIsOnePerEventAndRecipient(t *testing.T) {
	const ev = "0194f0c1-0000-7000-8000-0000000000e1"
	a := StaffAlertID("bank-a", ev, notify.TemplateStaffDeadlineBreached, "st-1")
	if a != StaffAlertID("bank-a", ev, notify.TemplateStaffDeadlineBreached, "st-1") {
		t.Error("the same event and recipient gave two ids")
	}
	for _, other := range []string{
		StaffAlertID("bank-a", ev, notify.TemplateStaffDeadlineBreached, "st-2"),
		StaffAlertID("bank-a", "0194f0c1-0000-7000-8000-0000000000e2", notify.TemplateStaffDeadlineBreached, "st-1"),
		StaffAlertID("bank-a", ev, notify.TemplateStaffDeadlineWarned, "st-1"),
		StaffAlertID("bank-b", ev, notify.TemplateStaffDeadlineBreached, "st-1"),
		AnswerID("bank-a", ev),
	} {
		if other == a {
			t.Errorf("id %s is shared", a)
		}
	}
	before := uuid.NewSHA1(eventDeliveryNamespace, []byte(strings.Join([]string{"bank-a", ev, "case_date_moved", "email"}, "\x00"))).String()
	if got := DateMovedID("bank-a", ev); got != before {
		t.Errorf("a moved date's id changed: %s, was %s", got, before)
	}
}
