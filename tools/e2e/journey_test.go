package e2e

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/counterdesk/counterdesk/services/platform/localinfra"
	"github.com/counterdesk/counterdesk/tools/devstack/stack"
)

// smsFor returns the text messages the SMS gateway sink received naming
// caseNumber, oldest first.
func smsFor(t *testing.T, caseNumber string) []localinfra.SMS {
	t.Helper()
	all, err := localinfra.ReadSMS(st.SMSDir())
	if err != nil {
		t.Fatal(err)
	}
	var out []localinfra.SMS
	for _, m := range all {
		if strings.Contains(m.Text, caseNumber) {
			out = append(out, m)
		}
	}
	slices.SortStableFunc(out, func(a, b localinfra.SMS) int { return a.ReceivedAt.Compare(b.ReceivedAt) })
	return out
}

// staffMailsFor returns the e-mails to staff (work addresses of the demo
// bank) naming caseNumber, oldest first, as "recipient: subject".
func staffMailsFor(t *testing.T, caseNumber string) []string {
	t.Helper()
	var out []string
	for _, m := range mailsFor(t, caseNumber) {
		for _, to := range m.To {
			if strings.HasSuffix(to, "@demo-bank.example") {
				out = append(out, strings.TrimSuffix(to, "@demo-bank.example")+": "+m.Subject)
			}
		}
	}
	return out
}

// One complaint of an English-speaking customer who asked for text
// messages, worked to closure up the ladder: the customer hears of every
// step by SMS in English, in order and once each; the staff it passes
// through are told by work e-mail in Chinese, once each; the case's
// notification list says the same.
func TestOneComplaintTellsEveryoneTheRightThingInOrderOnTheRightChannel(t *testing.T) {
	ladder := demoLadder(t) // teller, complaint manager, branch head, …
	teller, cm, head := ladder[0], ladder[1], ladder[2]
	body := newCaseBody("Transfer fee charged twice")
	body["customer"] = obj{"name": "John Smith", "phone": "13912345678", "email": fmt.Sprintf("john.%d@example.com", time.Now().UnixNano()),
		"language": "en", "preferredChannel": "CONTACT_CHANNEL_SMS", "tier": "CUSTOMER_TIER_REGULAR"}
	c := createCase(t, "journey-"+time.Now().Format("150405.000"), body)
	id, number := str(c["id"]), str(c["caseNumber"])
	path := "/v1/cases/" + id
	checkStep(t, id, teller, false, 1)

	step := func(token, action string, b obj) {
		t.Helper()
		if code, r := call(t, http.MethodPost, path+":"+action, token, b); code != http.StatusOK {
			t.Fatalf("%s: %d %v", action, code, r)
		}
	}
	waitSMS := func(n int, what string) {
		t.Helper()
		eventually(t, 30*time.Second, what, func() string {
			if got := len(smsFor(t, number)); got < n {
				return fmt.Sprintf("%d SMS so far", got)
			}
			return ""
		})
	}
	waitSMS(1, "the acknowledgment by SMS")
	step(teller.token, "escalate", obj{"reason": "Customer asks for the complaint manager"})
	checkStep(t, id, cm, true, 2)
	step(cm.token, "claim", obj{})
	waitSMS(2, "the first hand-over told by SMS")
	step(cm.token, "escalate", obj{"reason": "Refund above my authority"})
	checkStep(t, id, head, true, 4)
	step(head.token, "claim", obj{})
	waitSMS(3, "the second hand-over told by SMS")
	step(head.token, "startVerification", obj{})
	step(head.token, "recordVerification", obj{"finding": "The fee was charged twice by a teller error", "substantiated": true})
	step(head.token, "answer", obj{"answer": "We refunded the second fee today and apologise.", "rootCause": "ROOT_CAUSE_MANUAL_ENTRY_ERROR",
		"compensation": obj{"kind": "COMPENSATION_KIND_FEE_REFUND", "amountFen": 1500}})
	waitSMS(4, "the answer by SMS")
	step(head.token, "recordReturnVisit", obj{"satisfaction": 4, "comment": "called back", "reached": true})
	step(head.token, "close", obj{})
	waitSMS(5, "the return-visit survey by SMS")

	// The customer: five texts, in English, in this order, once each (the
	// gateway keeps one per message id; the list below shows one delivery
	// per event).
	texts := smsFor(t, number)
	want := []string{"We received your case", "is now handled by the branch's complaint manager",
		"is now handled by the head of the branch", "Our answer on case", "Please rate how we did: http"}
	if len(texts) != len(want) {
		t.Fatalf("%d SMS, want %d: %v", len(texts), len(want), texts)
	}
	for i, w := range want {
		if !strings.Contains(texts[i].Text, w) {
			t.Errorf("SMS %d: %q, want it to say %q", i+1, texts[i].Text, w)
		}
		if texts[i].To == "" || strings.ContainsAny(texts[i].Text, "王张李") {
			t.Errorf("SMS %d to %q: %q", i+1, texts[i].To, texts[i].Text)
		}
	}
	if !strings.Contains(texts[3].Text, "We refunded the second fee today") {
		t.Errorf("the answer SMS lacks the answer: %q", texts[3].Text)
	}
	// No e-mail to the customer: they asked for SMS.
	for _, m := range mailsFor(t, number) {
		if slices.Contains(m.To, str(body["customer"].(obj)["email"])) {
			t.Errorf("an e-mail to the customer, who asked for SMS: %q", m.Subject)
		}
	}

	// The staff: each hand-over told to whom it concerns, in Chinese, once.
	wantStaff := []string{
		cm.id + ": 【升级】案件 " + number + " 已升级至您",
		head.id + ": 【升级】案件 " + number + " 已升级至您",
	}
	eventually(t, 30*time.Second, "the staff told of the hand-overs", func() string {
		if got := staffMailsFor(t, number); !slices.Equal(got, wantStaff) {
			return fmt.Sprintf("staff mails %v, want %v", got, wantStaff)
		}
		return ""
	})

	// The case's notification list tells the same story.
	_, ns := call(t, http.MethodGet, path+"/notifications", toks.HeadOffice, nil)
	var got []string
	for _, n := range list(ns, "notifications") {
		if str(n["status"]) != "DELIVERY_STATUS_SENT" {
			t.Errorf("notification %s: %s (%s)", str(n["template"]), str(n["status"]), str(n["lastError"]))
		}
		got = append(got, str(n["template"])+"/"+strings.TrimPrefix(str(n["channel"]), "NOTIFICATION_CHANNEL_"))
	}
	wantList := []string{"case_acknowledgment/SMS", "staff_case_escalated/EMAIL", "case_handed_over/SMS", "staff_case_escalated/EMAIL",
		"case_handed_over/SMS", "case_answer/SMS", "case_survey/SMS"}
	if !sameItems(got, wantList) {
		t.Errorf("the case's notifications %v, want (in any order of creation) %v", got, wantList)
	}
	_ = stack.DemoBranch
}

// sameItems reports whether a and b hold the same strings, counted.
func sameItems(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}
