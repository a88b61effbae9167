package e2e

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/counterdesk/counterdesk/tools/devstack/stack"
)

// Invariant 1: a case accepted by intake is never lost. Each process that
// acts on a case after intake accepted it is killed (SIGKILL), the case is
// accepted while it is down, and after the restart the case still ends up
// owned, queued, timed, acknowledged and counted exactly once.
//
// Intake checks a new case's branch with routing and, while routing is
// unreachable, answers from what it learnt in the last hour; the first case
// below teaches it the demo branch.
func TestKillingAProcessMidFlightLosesNothing(t *testing.T) {
	createCase(t, "crash-warm-up", newCaseBody("Before anything is killed"))
	for _, name := range []string{"routing", "slatimer", "notification", "reporting", "broker"} {
		t.Run(name, func(t *testing.T) {
			before := settledSummary(t)
			if err := st.Kill(name); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { restart(t, name) }) // harmless when already running
			c := createCase(t, "crash-"+name, newCaseBody("Accepted while "+name+" is down"))
			id := str(c["id"])
			if name == "routing" {
				time.Sleep(500 * time.Millisecond)
				if _, got := call(t, http.MethodGet, "/v1/cases/"+id, toks.BankSystem, nil); got["ownerId"] != nil {
					t.Fatalf("owned while routing was down: %v", got)
				}
			}
			restart(t, name)
			assertHandledExactlyOnce(t, c)
			eventually(t, 20*time.Second, "reporting counts the case once", func() string {
				_, after := call(t, http.MethodGet, "/v1/reports/summary", toks.Supervisor, nil)
				if count(after, "total", "") != count(before, "total", "")+1 {
					return fmt.Sprintf("total went from %v to %v", before["total"], after["total"])
				}
				return ""
			})
		})
	}
}

func restart(t *testing.T, name string) {
	t.Helper()
	// Not t.Context(): this also runs from Cleanup, after that is cancelled.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var err error
	if name == "broker" {
		err = st.StartHelper(ctx, name)
	} else {
		err = st.StartService(ctx, name)
	}
	if err != nil {
		t.Fatalf("restart %s: %v", name, err)
	}
}

// Invariant 4: Redis holds nothing that cannot be rebuilt. Redis restarts
// empty while routing keeps running; the queue comes back by itself.
func TestRedisRestartLosesNoQueueEntry(t *testing.T) {
	c := createCase(t, "redis-restart", newCaseBody("Queued before Redis restarts"))
	id := str(c["id"])
	eventually(t, 10*time.Second, "queued", func() string { return queued(t, id, 1) })
	if err := st.RestartRedis(t.Context()); err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, "queue rebuilt after Redis came back empty", func() string { return queued(t, id, 1) })
	after := createCase(t, "redis-restart-2", newCaseBody("Created after Redis restarted"))
	assertHandledExactlyOnce(t, after)
}

// settledSummary waits until reporting has counted every case intake holds
// in the supervisor's region, and returns that summary.
func settledSummary(t *testing.T) obj {
	t.Helper()
	var sum obj
	eventually(t, 20*time.Second, "reporting caught up with intake", func() string {
		_, cases := call(t, http.MethodGet, "/v1/cases?pageSize=200", toks.Supervisor, nil)
		_, sum = call(t, http.MethodGet, "/v1/reports/summary", toks.Supervisor, nil)
		if n := len(list(cases, "cases")); count(sum, "total", "") != n {
			return fmt.Sprintf("intake holds %d cases, reporting counts %v", n, sum["total"])
		}
		return ""
	})
	return sum
}

func queued(t *testing.T, id string, want int) string {
	_, q := call(t, http.MethodGet, "/v1/branches/"+stack.DemoBranch+"/queue", toks.Teller, nil)
	n := 0
	for _, e := range list(q, "entries") {
		if e["caseId"] == id {
			n++
		}
	}
	if n != want {
		return fmt.Sprintf("case queued %d times, want %d", n, want)
	}
	return ""
}

// assertHandledExactlyOnce waits for every service's effect on case c and
// then checks none happened twice.
func assertHandledExactlyOnce(t *testing.T, c obj) {
	t.Helper()
	id, number := str(c["id"]), str(c["caseNumber"])
	eventually(t, 30*time.Second, "owned by the reporting teller", func() string {
		_, got := call(t, http.MethodGet, "/v1/cases/"+id, toks.BankSystem, nil)
		if got["ownerId"] != stack.DemoTeller {
			return fmt.Sprintf("case is %v", got)
		}
		return ""
	})
	eventually(t, 30*time.Second, "acknowledged by e-mail", func() string {
		if len(mailsFor(t, number)) == 0 {
			return "no mail"
		}
		return ""
	})
	eventually(t, 10*time.Second, "queued", func() string { return queued(t, id, 1) })
	time.Sleep(time.Second) // room for a duplicate to show up
	code, a := call(t, http.MethodGet, "/v1/cases/"+id+"/assignment", toks.BankSystem, nil)
	if code != http.StatusOK || len(list(a, "handovers")) != 1 || a["ownerId"] != stack.DemoTeller {
		t.Errorf("assignment: %d %v, want exactly one owner and one hand-over record", code, a)
	}
	if msg := queued(t, id, 1); msg != "" {
		t.Error(msg)
	}
	_, d := call(t, http.MethodGet, "/v1/cases/"+id+"/deadlines", toks.BankSystem, nil)
	kinds := map[string]int{}
	for _, dl := range list(d, "deadlines") {
		kinds[str(dl["kind"])]++
	}
	if kinds["DEADLINE_KIND_ACKNOWLEDGE"] != 1 || kinds["DEADLINE_KIND_FIRST_ANSWER"] != 1 {
		t.Errorf("deadlines %v, want each armed once", kinds)
	}
	if ms := mailsFor(t, number); len(ms) != 1 {
		t.Errorf("%d acknowledgment mails, want exactly 1", len(ms))
	}
	_, n := call(t, http.MethodGet, "/v1/cases/"+id+"/notifications", toks.BankSystem, nil)
	if len(list(n, "notifications")) != 1 {
		t.Errorf("notifications %v, want exactly one delivery", n)
	}
}

// Routing starting on an empty Redis (both lost at once) rebuilds every
// bank's queues from its database before taking traffic.
func TestRoutingStartingOnAnEmptyRedisRebuildsTheQueues(t *testing.T) {
	c := createCase(t, "routing-empty-redis", newCaseBody("Queued before routing and Redis go"))
	id := str(c["id"])
	eventually(t, 10*time.Second, "queued", func() string { return queued(t, id, 1) })
	if err := st.Kill("routing"); err != nil {
		t.Fatal(err)
	}
	if err := st.RestartRedis(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := st.StartService(ctx, "routing"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "queue rebuilt at start", func() string { return queued(t, id, 1) })
}
