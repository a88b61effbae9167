// Protects staff alerts end to end on real Postgres, a real SMTP server and
// a routing stand-in served over gRPC: a deadline warning reaches the
// case's owners, a breach the owners and the level above, each person once
// however often the event comes; an owner without a work e-mail is
// recorded as skipped; an alert never waits behind a customer's message;
// and no alert carries the customer's data.
package flowtest

import (
	"slices"
	"strings"
	"testing"
	"time"

	eventsv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	notificationv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/notification/v1"
	routingv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/routing/v1"
	"github.com/counterdesk/counterdesk/services/notification/internal/notify"
	"github.com/counterdesk/counterdesk/services/notification/internal/notifykafka"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/services/platform/eventbus"
	"github.com/counterdesk/counterdesk/services/platform/localinfra"
	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"
)

var (
	complaintManager = &routingv1.StaffContact{StaffId: "st-cm", DisplayName: "陈静 Chen Jing", Role: routingv1.Role_ROLE_COMPLAINT_MANAGER,
		Email: "chen.jing@bank-a.example"}
	otherManager = &routingv1.StaffContact{StaffId: "st-cm-2", DisplayName: "周婷 Zhou Ting", Role: routingv1.Role_ROLE_COMPLAINT_MANAGER,
		Email: "zhou.ting@bank-a.example"}
	branchHead = &routingv1.StaffContact{StaffId: "st-head", DisplayName: "刘伟 Liu Wei", Role: routingv1.Role_ROLE_BRANCH_HEAD,
		Email: "liu.wei@bank-a.example"}
	tellerWithoutEmail = &routingv1.StaffContact{StaffId: "st-teller", DisplayName: "王芳 Wang Fang", Role: routingv1.Role_ROLE_TELLER}
)

// consume hands env to the handler as the consumer does: in one
// transaction with its processed-event record, skipping an event already
// processed (a redelivery).
func (e *env) consume(env *eventsv1.Envelope) {
	e.t.Helper()
	err := pgdb.InTx(e.ctx, e.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(e.ctx, `INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
			notifykafka.Group, env.GetEventId())
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		return e.handler.Handle(e.ctx, tx, env)
	})
	if err != nil {
		e.t.Fatalf("handle %s: %v", env.GetType(), err)
	}
}

// staffCase registers a case with intake's stand-in and tells notification
// it was created and armed; routing's stand-in names owners and above.
func (e *env) staffCase(owners, above []*routingv1.StaffContact) string {
	e.t.Helper()
	id := e.addCase("bank-a", "b1", email, name, "zh-CN")
	e.consume(&eventsv1.Envelope{EventId: uuid.Must(uuid.NewV7()).String(), TenantId: "bank-a", CaseId: id, Type: "CaseCreated",
		OccurredAt: timestamppb.New(e.clock.Now()), Producer: "intake", Payload: &eventsv1.Envelope_CaseCreated{CaseCreated: &eventsv1.CaseCreated{
			CaseNumber: e.caseNumber(id), BranchId: "b1", RegionId: "r1", TimeZone: "Asia/Shanghai", CreatedAt: timestamppb.New(e.clock.Now())}}})
	e.armed(e.ctx, "bank-a", id, armedDeadlines())
	e.routing.Set(id, "b1", owners, above)
	return id
}

func deadlineEvent(caseID string, payload any) *eventsv1.Envelope {
	env := &eventsv1.Envelope{EventId: uuid.Must(uuid.NewV7()).String(), TenantId: "bank-a", CaseId: caseID,
		OccurredAt: timestamppb.New(firstAnswer), Producer: "slatimer"}
	switch p := payload.(type) {
	case *eventsv1.DeadlineWarned:
		env.Type, env.Payload = "DeadlineWarned", &eventsv1.Envelope_DeadlineWarned{DeadlineWarned: p}
	case *eventsv1.DeadlineBreached:
		env.Type, env.Payload = "DeadlineBreached", &eventsv1.Envelope_DeadlineBreached{DeadlineBreached: p}
	}
	return env
}

// sendAll runs the sender until nothing is due.
func (e *env) sendAll() {
	e.t.Helper()
	for range 10 {
		if e.runOnce() == 0 {
			return
		}
	}
	e.t.Fatal("the sender never ran out of due deliveries")
}

// mailsTo returns the mails sent to addr.
func (e *env) mailsTo(addr string) []localinfra.Message {
	e.t.Helper()
	var out []localinfra.Message
	for _, m := range e.mails() {
		if slices.Contains(m.To, addr) {
			out = append(out, m)
		}
	}
	return out
}

// staffDeliveries returns a case's staff alerts by staff id.
func (e *env) staffDeliveries(caseID string) map[string]notify.Delivery {
	e.t.Helper()
	ds, err := e.store.ListByCase(e.ctx, "bank-a", caseID)
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]notify.Delivery{}
	for _, d := range ds {
		if d.IsStaffAlert() {
			if _, dup := out[d.Staff.ID]; dup {
				e.t.Errorf("%s has two staff alerts", d.Staff.ID)
			}
			out[d.Staff.ID] = d
		}
	}
	return out
}

// noCustomerData checks a staff mail holds nothing of the customer.
func noCustomerData(t *testing.T, m localinfra.Message) {
	t.Helper()
	for _, secret := range []string{email, name, "13812345678"} {
		if strings.Contains(m.Subject+m.Body, secret) {
			t.Errorf("staff mail %q holds the customer's %q:\n%s", m.Subject, secret, m.Body)
		}
	}
}

func TestADeadlineWarningReachesTheOwnersOnceEvenWhenRedelivered(t *testing.T) {
	e := newEnv(t)
	// The case waits in the complaint managers' queue: both on duty own it.
	caseID := e.staffCase([]*routingv1.StaffContact{complaintManager, otherManager}, []*routingv1.StaffContact{branchHead})
	number := e.caseNumber(caseID)
	warned := deadlineEvent(caseID, &eventsv1.DeadlineWarned{Kind: notify.KindFirstAnswer, Level: "orange", DueAt: timestamppb.New(firstAnswer)})
	e.consume(warned)
	e.consume(warned)                       // redelivered: the consumer's record stops it
	e.handleBypassingTheConsumer(warned)    // and with that record lost, the deliveries' key does
	e.handleBypassingTheConsumer(warned)    // however often
	e.clock.Set(start.Add(2 * time.Second)) // before the deadline
	e.sendAll()

	for _, c := range []*routingv1.StaffContact{complaintManager, otherManager} {
		ms := e.mailsTo(c.GetEmail())
		if len(ms) != 1 {
			t.Fatalf("%d mails to %s, want 1", len(ms), c.GetStaffId())
		}
		m := ms[0]
		if !strings.Contains(m.Subject, number) || !strings.Contains(m.Subject, "橙色预警") {
			t.Errorf("subject %q lacks the case number or the level", m.Subject)
		}
		for _, want := range []string{c.GetDisplayName() + "，您好", "您负责的案件 " + number + " 的答复客户期限已到橙色预警",
			"到期时间：2026年11月23日 17:00（网点当地时间）", "处理要求：请尽快答复客户。"} {
			if !strings.Contains(m.Body, want) {
				t.Errorf("mail to %s lacks %q:\n%s", c.GetStaffId(), want, m.Body)
			}
		}
		noCustomerData(t, m)
		if want := notifykafka.StaffAlertID("bank-a", warned.GetEventId(), notify.TemplateStaffDeadlineWarned, c.GetStaffId()) + "@counterdesk"; m.MessageID != want {
			t.Errorf("Message-ID %q, want %q", m.MessageID, want)
		}
	}
	if ms := e.mailsTo(branchHead.GetEmail()); len(ms) != 0 {
		t.Errorf("a warning went to the level above: %q", ms[0].Subject)
	}
	ds := e.staffDeliveries(caseID)
	if len(ds) != 2 {
		t.Fatalf("%d staff alerts, want one per owner: %v", len(ds), ds)
	}
	if d := ds["st-cm"]; d.Status != notify.StatusSent || d.Recipient != "c***@bank-a.example" || d.Staff.Audience != notify.AudienceOwner ||
		d.AlertLevel != "orange" || d.DeadlineKind != notify.KindFirstAnswer || d.Language != notify.LanguageZhCN {
		t.Errorf("the complaint manager's alert is recorded as %+v", d)
	}
	sent := 0
	for _, ev := range e.outboxEvents() {
		if ev.GetCaseId() == caseID && ev.GetNotificationSent().GetTemplate() == string(notify.TemplateStaffDeadlineWarned) {
			sent++
		}
	}
	if sent != 2 {
		t.Errorf("%d NotificationSent for the warning, want 2", sent)
	}
	// A warning moves no case: routing is asked as things stand.
	for _, c := range e.routing.Calls() {
		if c.CaseID == caseID && c.Cause != "" {
			t.Errorf("a warning named event %s to routing", c.Cause)
		}
	}
}

func TestADeadlineBreachReachesTheOwnerAndTheLevelAbove(t *testing.T) {
	e := newEnv(t)
	caseID := e.staffCase([]*routingv1.StaffContact{complaintManager}, []*routingv1.StaffContact{branchHead})
	number := e.caseNumber(caseID)
	breached := deadlineEvent(caseID, &eventsv1.DeadlineBreached{Kind: notify.KindFirstAnswer, DueAt: timestamppb.New(firstAnswer)})
	e.clock.Set(firstAnswer.Add(time.Second))
	e.consume(breached)
	e.handleBypassingTheConsumer(breached)
	e.sendAll()

	owner, above := e.mailsTo(complaintManager.GetEmail()), e.mailsTo(branchHead.GetEmail())
	if len(owner) != 1 || len(above) != 1 {
		t.Fatalf("%d mails to the owner and %d to the level above, want 1 each", len(owner), len(above))
	}
	for _, m := range []localinfra.Message{owner[0], above[0]} {
		if !strings.Contains(m.Subject, "已超时") || !strings.Contains(m.Subject, number) || !strings.Contains(m.Body, "到期时间：2026年11月23日 17:00") {
			t.Errorf("breach mail %q:\n%s", m.Subject, m.Body)
		}
		noCustomerData(t, m)
	}
	if !strings.Contains(owner[0].Body, "您负责的案件 "+number+" 的答复客户期限已超时") {
		t.Errorf("the owner's mail:\n%s", owner[0].Body)
	}
	if !strings.Contains(above[0].Body, "按规定上报至您这一级") || !strings.Contains(above[0].Body, "认领该案件并督办") {
		t.Errorf("the level above's mail:\n%s", above[0].Body)
	}
	ds := e.staffDeliveries(caseID)
	if ds["st-cm"].Staff.Audience != notify.AudienceOwner || ds["st-head"].Staff.Audience != notify.AudienceAbove ||
		ds["st-cm"].Status != notify.StatusSent || ds["st-head"].Status != notify.StatusSent || len(ds) != 2 {
		t.Errorf("staff alerts %+v", ds)
	}
	// routing is told which breach, so that it answers as the case stood
	// before it escalated on that breach.
	calls := e.routing.Calls()
	if len(calls) == 0 || calls[len(calls)-1].Cause != breached.GetEventId() {
		t.Errorf("routing calls %v, want the breach's event id named", calls)
	}
}

func TestAWarningForAnOwnerWithoutEmailIsRecordedAsSkipped(t *testing.T) {
	e := newEnv(t)
	caseID := e.staffCase([]*routingv1.StaffContact{tellerWithoutEmail}, []*routingv1.StaffContact{complaintManager})
	e.consume(deadlineEvent(caseID, &eventsv1.DeadlineWarned{Kind: notify.KindFirstAnswer, Level: "red", DueAt: timestamppb.New(firstAnswer)}))
	e.clock.Set(start.Add(time.Second))
	e.sendAll()

	d, ok := e.staffDeliveries(caseID)["st-teller"]
	if !ok || d.Status != notify.StatusSkipped || d.LastError != notify.ReasonNoStaffEmail || d.Attempts != 1 || d.Recipient != "" {
		t.Fatalf("the teller's alert is %+v (found %v), want skipped: %s", d, ok, notify.ReasonNoStaffEmail)
	}
	for _, m := range e.mails() {
		if strings.Contains(m.Subject, "预警") {
			t.Errorf("a warning was mailed to %v", m.To)
		}
	}
	// The API lists it like any other delivery.
	resp, err := e.api.ListCaseNotifications(e.as(auth.Principal{Tenant: "bank-a", Subject: "st-cm", Role: auth.RoleComplaintManager, Branch: "b1", Region: "r1"}),
		&notificationv1.ListCaseNotificationsRequest{CaseId: caseID})
	if err != nil {
		t.Fatal(err)
	}
	var listed bool
	for _, n := range resp.GetNotifications() {
		if n.GetTemplate() == string(notify.TemplateStaffDeadlineWarned) && strings.HasSuffix(n.GetStatus().String(), "SKIPPED") &&
			n.GetLastError() == notify.ReasonNoStaffEmail {
			listed = true
		}
	}
	if !listed {
		t.Errorf("ListCaseNotifications %v lacks the skipped staff alert", resp.GetNotifications())
	}
}

// A customer's acknowledgment being retried (intake unreachable for its
// contact) holds back the customer's later messages, never a staff alert.
func TestAStaffAlertDoesNotWaitBehindACustomersMessage(t *testing.T) {
	e := newEnv(t)
	caseID := uuid.Must(uuid.NewV7()).String() // unknown to intake's stand-in: its contact look-up fails
	e.consume(&eventsv1.Envelope{EventId: uuid.Must(uuid.NewV7()).String(), TenantId: "bank-a", CaseId: caseID, Type: "CaseCreated",
		Payload: &eventsv1.Envelope_CaseCreated{CaseCreated: &eventsv1.CaseCreated{CaseNumber: "CD-20261122-000777", TimeZone: "Asia/Shanghai"}}})
	e.armed(e.ctx, "bank-a", caseID, armedDeadlines())
	e.routing.Set(caseID, "b1", []*routingv1.StaffContact{complaintManager}, nil)
	e.clock.Set(start.Add(time.Second))
	e.sendAll() // the acknowledgment fails and waits for its retry
	e.consume(deadlineEvent(caseID, &eventsv1.DeadlineWarned{Kind: notify.KindFirstAnswer, Level: "yellow", DueAt: timestamppb.New(firstAnswer)}))
	e.sendAll()

	if ms := e.mailsTo(complaintManager.GetEmail()); len(ms) != 1 || !strings.Contains(ms[0].Subject, "CD-20261122-000777") {
		t.Fatalf("mails to the owner: %v", ms)
	}
	ds, err := e.store.ListByCase(e.ctx, "bank-a", caseID)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if d.Template == notify.TemplateCaseAcknowledgment && (d.Status != notify.StatusPending || d.Attempts != 1) {
			t.Errorf("the acknowledgment is %s after %d attempts, want pending after 1", d.Status, d.Attempts)
		}
	}
}

// A warning that could not go out before its deadline was due (an outage)
// is skipped: the breach is told instead.
func TestAWarningIsNotSentOnceItsDeadlineIsDue(t *testing.T) {
	e := newEnv(t)
	caseID := e.staffCase([]*routingv1.StaffContact{complaintManager}, []*routingv1.StaffContact{branchHead})
	e.consume(deadlineEvent(caseID, &eventsv1.DeadlineWarned{Kind: notify.KindFirstAnswer, Level: "red", DueAt: timestamppb.New(firstAnswer)}))
	e.clock.Set(firstAnswer)
	e.sendAll()
	if d := e.staffDeliveries(caseID)["st-cm"]; d.Status != notify.StatusSkipped || d.LastError != notify.ReasonWarningPassed {
		t.Errorf("a late warning is %s (%s), want skipped", d.Status, d.LastError)
	}
	if ms := e.mailsTo(complaintManager.GetEmail()); len(ms) != 0 {
		t.Errorf("a warning past its deadline was mailed: %q", ms[0].Subject)
	}
}

// routing being unreachable holds the event back (the consumer retries);
// once it answers, the alert goes out.
func TestRoutingUnreachableIsRetried(t *testing.T) {
	e := newEnv(t)
	caseID := e.staffCase([]*routingv1.StaffContact{complaintManager}, nil)
	warned := deadlineEvent(caseID, &eventsv1.DeadlineWarned{Kind: notify.KindFirstAnswer, Level: "yellow", DueAt: timestamppb.New(firstAnswer)})
	e.routing.FailWith(codes.Unavailable)
	err := pgdb.InTx(e.ctx, e.pool, func(tx pgx.Tx) error { return e.handler.Handle(e.ctx, tx, warned) })
	if err == nil || eventbus.IsPermanent(err) {
		t.Fatalf("with routing down: %v, want an error to retry", err)
	}
	e.routing.FailWith(codes.OK)
	e.consume(warned)
	e.clock.Set(start.Add(time.Second))
	e.sendAll()
	if ms := e.mailsTo(complaintManager.GetEmail()); len(ms) != 1 {
		t.Errorf("%d mails once routing answered, want 1", len(ms))
	}
}
