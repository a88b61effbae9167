package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	eventsv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	"github.com/counterdesk/counterdesk/services/platform/eventbus"
	"github.com/segmentio/kafka-go"
	"google.golang.org/protobuf/proto"
)

// The closure and the reloaded year happen at a branch no other scenario uses.
const (
	calBranch = "br-sh-xuhui"
	calTeller = "st-xuhui-teller-1"
)

var shanghai, _ = time.LoadLocation("Asia/Shanghai")

// firstAnswer returns the case's first-answer due time once it is armed.
func firstAnswer(t *testing.T, id string) time.Time {
	t.Helper()
	var due time.Time
	eventually(t, 20*time.Second, "first-answer deadline", func() string {
		_, ds := call(t, http.MethodGet, "/v1/cases/"+id+"/deadlines", toks.BankSystem, nil)
		for _, d := range list(ds, "deadlines") {
			if d["kind"] == "DEADLINE_KIND_FIRST_ANSWER" {
				due, _ = time.Parse(time.RFC3339, str(d["dueAt"]))
				return ""
			}
		}
		return fmt.Sprint(ds)
	})
	return due
}

// movedPast waits until the case's first answer is due after day (local).
func movedPast(t *testing.T, id string, day time.Time) time.Time {
	t.Helper()
	var due time.Time
	eventually(t, 20*time.Second, "first answer moved past "+day.Format(time.DateOnly), func() string {
		due = firstAnswer(t, id)
		if due.In(shanghai).Format(time.DateOnly) > day.Format(time.DateOnly) {
			return ""
		}
		return "still due " + due.In(shanghai).String()
	})
	return due
}

// yearBody is the PUT /v1/calendars/cn/years/{year} body of one year: the
// shipped data, or for a year the release has none of (from about the end of
// 2027 a case's answer falls in 2028) the statutory holidays the calendar
// counts it with. shipped says which.
func yearBody(t *testing.T, year int) (body obj, shipped bool) {
	t.Helper()
	if b, ok := shippedYear(t, year); ok {
		return b, true
	}
	_, cal := call(t, http.MethodGet, "/v1/calendars/cn", toks.Operator, nil)
	for _, y := range list(cal, "years") {
		if fmt.Sprint(y["year"]) != fmt.Sprint(year) {
			continue
		}
		hs := []any{}
		for _, h := range list(y, "holidays") {
			hs = append(hs, obj{"name": h["name"], "from": h["from"], "to": h["to"]})
		}
		return obj{"holidays": hs, "workdays": []any{}, "source": "statutory holidays, loaded by the e2e test"}, false
	}
	t.Fatalf("the calendar lists no year %d: %v", year, cal)
	return nil, false
}

// shippedYear reads one year of the shipped China calendar data as the
// PUT /v1/calendars/cn/years/{year} body.
func shippedYear(t *testing.T, year int) (obj, bool) {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	matches, _ := filepath.Glob(filepath.Join(root, "services/slatimer/internal/calendar/data/cn-*.json"))
	for _, m := range matches {
		raw, err := os.ReadFile(m)
		if err != nil {
			t.Fatal(err)
		}
		var f struct {
			Years map[string]struct {
				Holidays []struct{ Name, From, To string } `json:"holidays"`
				Workdays []string                          `json:"workdays"`
			} `json:"years"`
		}
		if err := json.Unmarshal(raw, &f); err != nil {
			t.Fatal(err)
		}
		y, ok := f.Years[fmt.Sprint(year)]
		if !ok {
			continue
		}
		hs := []any{}
		for _, h := range y.Holidays {
			hs = append(hs, obj{"name": h.Name, "from": h.From, "to": h.To})
		}
		ws := []any{}
		for _, w := range y.Workdays {
			ws = append(ws, w)
		}
		return obj{"holidays": hs, "workdays": ws, "source": "shipped data, reloaded by the e2e test"}, true
	}
	return nil, false
}

// recomputedEvents reads sla-events from the start and returns the case's
// DeadlineRecomputed events.
func recomputedEvents(t *testing.T, caseID string, want int) []*eventsv1.DeadlineRecomputed {
	t.Helper()
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{st.Addr("kafka")}, GroupID: "e2e-recomputed-" + caseID,
		GroupTopics: []string{eventbus.TopicSLAEvents}, StartOffset: kafka.FirstOffset,
		MaxWait: 500 * time.Millisecond, SessionTimeout: 6 * time.Second})
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out []*eventsv1.DeadlineRecomputed
	for len(out) < want {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("read sla-events (have %d of %d DeadlineRecomputed): %v", len(out), want, err)
		}
		env := &eventsv1.Envelope{}
		if err := proto.Unmarshal(m.Value, env); err != nil {
			t.Fatal(err)
		}
		if ev := env.GetDeadlineRecomputed(); env.GetCaseId() == caseID && ev != nil && ev.GetKind() == "DEADLINE_KIND_FIRST_ANSWER" {
			out = append(out, ev)
		}
	}
	return out
}

// TestCalendarChangesThroughTheGatewayMoveOpenDeadlinesAndTellTheCustomer:
// head office closes the branch on the day a case's answer is due, then the
// operator reloads that year with one more holiday on the new due day. Each
// time the open deadline moves, slatimer announces it, and the customer gets
// a mail naming the new date.
func TestCalendarChangesThroughTheGatewayMoveOpenDeadlinesAndTellTheCustomer(t *testing.T) {
	body := newCaseBody("Calendar changes move this case's answer date")
	body["branchId"], body["reportedBy"] = calBranch, calTeller
	c := createCase(t, "e2e-calendar-1", body)
	id, number := str(c["id"]), str(c["caseNumber"])
	due0 := firstAnswer(t, id).In(shanghai)
	eventually(t, 20*time.Second, "the acknowledgment", func() string {
		if n := len(mailsFor(t, number)); n != 1 {
			return fmt.Sprintf("%d mails", n)
		}
		return ""
	})

	// The operator runs national calendars and sees no bank's data.
	for _, path := range []string{"/v1/cases/" + id, "/v1/cases/" + id + "/deadlines", "/v1/cases/" + id + "/notifications",
		"/v1/cases/" + id + "/assignment", "/v1/branches/" + calBranch + "/queue", "/v1/reports/summary"} {
		if code, r := call(t, http.MethodGet, path, toks.Operator, nil); code != http.StatusForbidden {
			t.Errorf("operator GET %s: %d %v, want 403", path, code, r)
		}
	}
	if code, r := call(t, http.MethodGet, "/v1/calendars/cn", toks.Operator, nil); code != http.StatusOK || r["dataHorizon"] == nil {
		t.Errorf("operator GET /v1/calendars/cn: %d %v", code, r)
	}

	// Only head office closes a branch; only the operator loads a year.
	closure := obj{"from": due0.Format(time.DateOnly), "to": due0.Format(time.DateOnly), "reason": "台风停业"}
	for _, tok := range []string{toks.BankSystem, toks.Operator} {
		if code, r := call(t, http.MethodPost, "/v1/branches/"+calBranch+"/closures", tok, closure); code != http.StatusForbidden {
			t.Errorf("closure by a non-head-office token: %d %v", code, r)
		}
	}
	code, r := call(t, http.MethodPost, "/v1/branches/"+calBranch+"/closures", toks.HeadOffice, closure)
	if code != http.StatusOK || r["recomputedDeadlines"] == nil {
		t.Fatalf("closure: %d %v", code, r)
	}
	due1 := movedPast(t, id, due0).In(shanghai)
	// The moved deadline is what the calendar API says for the same limit.
	_, add := call(t, http.MethodGet, "/v1/branches/"+calBranch+"/calendar:add?workingDays=1&from="+url.QueryEscape(str(c["createdAt"])), toks.BankSystem, nil)
	if got, _ := time.Parse(time.RFC3339, str(add["result"])); got.Format(time.DateOnly) != due1.Format(time.DateOnly) {
		t.Errorf("calendar:add says %v, the deadline is due %s", add, due1)
	}

	// Reload the year of the new due day with that day off as well.
	year, shipped := yearBody(t, due1.Year())
	yearPath := fmt.Sprintf("/v1/calendars/cn/years/%d", due1.Year())
	if shipped {
		t.Cleanup(func() {
			orig, _ := shippedYear(t, due1.Year())
			if code, r := call(t, http.MethodPut, yearPath, toks.Operator, orig); code != http.StatusOK {
				t.Errorf("restore the shipped year: %d %v", code, r)
			}
		})
	}
	workdays := []any{}
	for _, w := range year["workdays"].([]any) {
		if w != due1.Format(time.DateOnly) {
			workdays = append(workdays, w)
		}
	}
	year["workdays"] = workdays
	year["holidays"] = append(year["holidays"].([]any), obj{"name": "e2e 临时放假", "from": due1.Format(time.DateOnly), "to": due1.Format(time.DateOnly)})
	if code, r := call(t, http.MethodPut, yearPath, toks.BankSystem, year); code != http.StatusForbidden {
		t.Errorf("a bank system loading a year: %d %v", code, r)
	}
	if code, r := call(t, http.MethodPut, yearPath, toks.Operator, year); code != http.StatusOK {
		t.Fatalf("operator loading %s: %d %v", yearPath, code, r)
	}
	due2 := movedPast(t, id, due1).In(shanghai)

	evs := recomputedEvents(t, id, 2)
	if !evs[0].GetOldDueAt().AsTime().Equal(due0) || !evs[0].GetNewDueAt().AsTime().Equal(due1) || evs[0].GetReason() != "branch_closure" {
		t.Errorf("first DeadlineRecomputed = %v, want %s -> %s by branch_closure", evs[0], due0, due1)
	}
	if !evs[1].GetOldDueAt().AsTime().Equal(due1) || !evs[1].GetNewDueAt().AsTime().Equal(due2) || evs[1].GetReason() != "calendar_year_loaded" {
		t.Errorf("second DeadlineRecomputed = %v, want %s -> %s by calendar_year_loaded", evs[1], due1, due2)
	}
	for _, move := range [][2]time.Time{{due0, due1}, {due1, due2}} {
		was, now := move[0].Format("2006年1月2日 15:04"), move[1].Format("2006年1月2日 15:04")
		eventually(t, 20*time.Second, "a mail saying the answer date moved from "+was+" to "+now, func() string {
			for _, m := range mailsFor(t, number) {
				if strings.Contains(m.Body, was) && strings.Contains(m.Body, now) {
					return ""
				}
			}
			return fmt.Sprintf("%d mails for the case, none naming both", len(mailsFor(t, number)))
		})
	}
}
