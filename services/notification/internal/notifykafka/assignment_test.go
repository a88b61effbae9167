package notifykafka

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	eventsv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	"github.com/counterdesk/counterdesk/services/notification/internal/notify"
	"github.com/counterdesk/counterdesk/services/platform/eventbus"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// staffBook answers StaffContacts from a fixed organisation.
type staffBook struct {
	staff  map[string]notify.StaffRecipient // by tenant/id
	owners []notify.StaffRecipient          // the role queue's on-duty staff
}

func (b staffBook) EscalationContacts(context.Context, string, string) ([]notify.StaffRecipient, []notify.StaffRecipient, error) {
	return b.owners, nil, nil
}

func (b staffBook) StaffByID(_ context.Context, tenant string, ids []string) ([]notify.StaffRecipient, error) {
	var out []notify.StaffRecipient
	for _, id := range ids {
		if r, ok := b.staff[tenant+"/"+id]; ok {
			out = append(out, r)
		}
	}
	return out, nil
}

func (b staffBook) BranchStaff(_ context.Context, tenant, branch, role string) ([]notify.StaffRecipient, error) {
	if tenant == "bank-a" && branch == "br-1" && role == "ROLE_BRANCH_HEAD" {
		return []notify.StaffRecipient{b.staff["bank-a/bh-1"]}, nil
	}
	return nil, nil
}

type fixedRules notify.Rules

func (f fixedRules) Rules(context.Context, string) (notify.Rules, error) { return notify.Rules(f), nil }

func assignment(id string, a *eventsv1.AssignmentMade) *eventsv1.Envelope {
	a.AssignedAt = timestamppb.New(due)
	return &eventsv1.Envelope{EventId: id, TenantId: "bank-a", CaseId: caseID, Payload: &eventsv1.Envelope_AssignmentMade{AssignmentMade: a}}
}

func sent(r *recorder) []string {
	var out []string
	for _, d := range r.queued {
		who := "customer"
		if d.IsStaffAlert() {
			who = d.Staff.ID + "/" + d.Staff.Audience
		}
		s := string(d.Template) + " to " + who
		if d.Urgent {
			s += " (urgent)"
		}
		if d.Status == notify.StatusSkipped {
			s += " skipped: " + d.LastError
		}
		out = append(out, s)
	}
	return out
}

func TestAssignmentsAreToldToWhomTheyConcernOncePerEvent(t *testing.T) {
	book := staffBook{staff: map[string]notify.StaffRecipient{
		"bank-a/teller-1": {ID: "teller-1", Name: "Li", Email: "teller-1@a.example"},
		"bank-a/bh-1":     {ID: "bh-1", Name: "Wang", Email: "bh-1@a.example"},
		"bank-a/ho-1":     {ID: "ho-1", Name: "HO", Email: "ho-1@a.example"},
	}, owners: []notify.StaffRecipient{{ID: "cm-1", Email: "cm-1@a.example"}, {ID: "cm-2", Email: "cm-2@a.example"}}}
	rec := &recorder{}
	h := &Handler{Store: rec, Contacts: book, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return due }}
	ctx := context.Background()
	events := []*eventsv1.Envelope{
		// The teller who received the case keeps it: nobody to tell.
		assignment("a0", &eventsv1.AssignmentMade{Kind: "assign", Reason: "first_responder", OwnerId: "teller-1", Level: "first_receiver"}),
		// A major case to the branch head; head office told at once.
		assignment("a1", &eventsv1.AssignmentMade{Kind: "assign", OwnerId: "bh-1", Level: "branch_head",
			Notify: []*eventsv1.Notify{{Role: "ROLE_HEAD_OFFICE", StaffIds: []string{"ho-1", "gone-1"}, AtOnce: true}}}),
		// The branch head hands it to the complaint managers' queue.
		assignment("a2", &eventsv1.AssignmentMade{Kind: "transfer", OwnerRole: "ROLE_COMPLAINT_MANAGER", ActorId: "bh-1",
			Level: "complaint_manager", PickupPending: true}),
		// Claimed: the claimer knows; nobody else is told.
		assignment("a3", &eventsv1.AssignmentMade{Kind: "claim", OwnerId: "cm-1", ActorId: "cm-1", Level: "complaint_manager"}),
		// Escalated on a breach to the branch head.
		assignment("a4", &eventsv1.AssignmentMade{Kind: "breach", OwnerId: "bh-1", Level: "branch_head"}),
	}
	for _, ev := range append(events, events...) { // every event twice: told once
		if err := h.Handle(ctx, nil, ev); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{
		"staff_case_assigned to bh-1/owner",
		"staff_major_case to ho-1/notify (urgent)",
		"case_handed_over to customer",
		"staff_pickup_waiting to cm-1/owner",
		"staff_pickup_waiting to cm-2/owner",
		"case_handed_over to customer",
		"staff_case_escalated to bh-1/owner (urgent)",
	}
	if got := sent(rec); !slices.Equal(got, want) {
		t.Errorf("told\n%v\nwant\n%v", got, want)
	}
	if d := rec.queued[2]; d.AlertLevel != "complaint_manager" || d.ChangeReason != "transfer" || d.Channel != notify.ChannelEmail {
		t.Errorf("hand-over notice %+v", d)
	}

	// A bank that does not tell customers of hand-overs: recorded, not sent.
	rec2 := &recorder{}
	h.Store = rec2
	h.Rules = fixedRules{ByTemplate: map[notify.Template]notify.Rule{notify.TemplateCaseHandedOver: {Template: notify.TemplateCaseHandedOver}}}
	if err := h.Handle(ctx, nil, events[2]); err != nil {
		t.Fatal(err)
	}
	want = []string{"case_handed_over to customer skipped: " + notify.ReasonRuleDisabled,
		"staff_pickup_waiting to cm-1/owner", "staff_pickup_waiting to cm-2/owner"}
	if got := sent(rec2); !slices.Equal(got, want) {
		t.Errorf("with the rule\n%v\nwant\n%v", got, want)
	}
}

func TestARectificationNoticeIsToldToTheBranchHeadOncePerEvent(t *testing.T) {
	book := staffBook{staff: map[string]notify.StaffRecipient{"bank-a/bh-1": {ID: "bh-1", Name: "Wang", Email: "bh-1@a.example"}}}
	rec := &recorder{}
	h := &Handler{Store: rec, Contacts: book, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return due }}
	notice := "0194f0c1-0000-7000-8000-00000000a001"
	dueAt := timestamppb.New(time.Date(2026, 12, 9, 16, 0, 0, 0, time.UTC))
	issued := &eventsv1.Envelope{EventId: "r1", TenantId: "bank-a", Payload: &eventsv1.Envelope_RectificationNoticeIssued{
		RectificationNoticeIssued: &eventsv1.RectificationNoticeIssued{NoticeId: notice, BranchId: "br-1", DueDate: "2026-12-09", DueAt: dueAt,
			CaseIds: []string{caseID}}}}
	overdue := &eventsv1.Envelope{EventId: "r2", TenantId: "bank-a", Payload: &eventsv1.Envelope_RectificationNoticeDue{
		RectificationNoticeDue: &eventsv1.RectificationNoticeDue{NoticeId: notice, BranchId: "br-1", DueDate: "2026-12-09", DueAt: dueAt, Reminder: "overdue"}}}
	department := &eventsv1.Envelope{EventId: "r3", TenantId: "bank-a", Payload: &eventsv1.Envelope_RectificationNoticeIssued{
		RectificationNoticeIssued: &eventsv1.RectificationNoticeIssued{NoticeId: "0194f0c1-0000-7000-8000-00000000a002", Department: "运营管理部",
			DueDate: "2026-12-09", DueAt: dueAt}}}
	for _, ev := range []*eventsv1.Envelope{issued, overdue, issued, overdue, department} {
		if err := h.Handle(context.Background(), nil, ev); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"staff_rectification_issued to bh-1/owner", "staff_rectification_due to bh-1/owner (urgent)",
		"staff_rectification_issued to department:运营管理部/owner skipped: " + notify.ReasonDepartmentNotice}
	if got := sent(rec); !slices.Equal(got, want) {
		t.Errorf("told\n%v\nwant\n%v", got, want)
	}
	m, err := notify.Shipped{}.RenderStaff(context.Background(), "bank-a", notify.ChannelEmail, rec.queued[1], notify.LanguageZhCN)
	if err != nil || !strings.Contains(m.Body, "已超过整改期限（2026年12月9日 24:00）") || !strings.Contains(m.Body, notice) {
		t.Errorf("overdue reminder %q %v", m.Body, err)
	}
	bad := &eventsv1.Envelope{EventId: "r4", TenantId: "bank-a", Payload: &eventsv1.Envelope_RectificationNoticeDue{
		RectificationNoticeDue: &eventsv1.RectificationNoticeDue{NoticeId: notice, BranchId: "br-1", DueDate: "2026-12-09", DueAt: dueAt, Reminder: "later"}}}
	if err := h.Handle(context.Background(), nil, bad); !eventbus.IsPermanent(err) {
		t.Errorf("an unknown reminder: %v, want a permanent error", err)
	}
}
