// Protects the lifecycle through the API on a real database: every step
// from every status is taken or refused (409 with the current status and
// what is allowed), refused steps change nothing, roles and scope are
// checked, and each step leaves a history entry, an audit entry and a
// CaseTransitioned event.
package casesgrpc_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	casesv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/cases/v1"
	eventsv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	intakev1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/intake/v1"
	"github.com/counterdesk/counterdesk/services/intake/internal/cases"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// take calls the API method of action on case id as p.
func (f *fixture) take(p auth.Principal, id string, a cases.Action) (*intakev1.Case, error) {
	ctx := as(p, "")
	var c interface{ GetCase() *intakev1.Case }
	var err error
	switch a {
	case cases.ActStartVerification:
		c, err = f.server.StartVerification(ctx, &intakev1.StartVerificationRequest{CaseId: id})
	case cases.ActRecordVerification:
		c, err = f.server.RecordVerification(ctx, &intakev1.RecordVerificationRequest{CaseId: id, Finding: "柜员将收款账号6222021234567890录错一位", Substantiated: true, Departments: []string{"运营管理部"}})
	case cases.ActAnswer:
		c, err = f.server.Answer(ctx, &intakev1.AnswerRequest{CaseId: id, Answer: "已为您更正并补发汇款，致歉。", RootCause: casesv1.RootCause_ROOT_CAUSE_MANUAL_ENTRY_ERROR,
			Compensation: &intakev1.Compensation{Kind: casesv1.CompensationKind_COMPENSATION_KIND_FEE_REFUND, AmountFen: 2500}})
	case cases.ActRecordReturnVisit:
		c, err = f.server.RecordReturnVisit(ctx, &intakev1.RecordReturnVisitRequest{CaseId: id, Satisfaction: 4, Comment: "满意", Reached: true})
	case cases.ActClose:
		c, err = f.server.Close(ctx, &intakev1.CloseRequest{CaseId: id})
	case cases.ActWithdraw:
		c, err = f.server.Withdraw(ctx, &intakev1.WithdrawRequest{CaseId: id, Reason: "客户撤诉"})
	case cases.ActReopen:
		c, err = f.server.Reopen(ctx, &intakev1.ReopenRequest{CaseId: id, Reason: "问题复现"})
	case cases.ActRequestReview:
		c, err = f.server.RequestReview(ctx, &intakev1.RequestReviewRequest{CaseId: id, Reason: "客户不认可答复"})
	case cases.ActDecideReview:
		c, err = f.server.DecideReview(ctx, &intakev1.DecideReviewRequest{CaseId: id, Upheld: true, Decision: "维持原答复"})
	case cases.ActAwaitCustomer:
		c, err = f.server.AwaitCustomer(ctx, &intakev1.AwaitCustomerRequest{CaseId: id, Reason: "等待客户提供汇款回单"})
	case cases.ActResumeFromCustomer:
		c, err = f.server.ResumeFromCustomer(ctx, &intakev1.ResumeFromCustomerRequest{CaseId: id})
	case cases.ActAcknowledge:
		c, err = f.server.Acknowledge(ctx, &intakev1.AcknowledgeRequest{CaseId: id, How: "in person at the counter"})
	case cases.ActAwaitAppraisal:
		c, err = f.server.AwaitAppraisal(ctx, &intakev1.AwaitAppraisalRequest{CaseId: id, Reason: "等待第三方鉴定机构出具鉴定意见"})
	case cases.ActResumeFromAppraisal:
		c, err = f.server.ResumeFromAppraisal(ctx, &intakev1.ResumeFromAppraisalRequest{CaseId: id})
	case cases.ActReclassify:
		c, err = f.server.Reclassify(ctx, &intakev1.ReclassifyRequest{CaseId: id, Severity: casesv1.Severity_SEVERITY_COMPLEX, Reason: "涉及多个部门"})
	case cases.ActMoveBranch:
		c, err = f.server.MoveBranch(ctx, &intakev1.MoveBranchRequest{CaseId: id, BranchId: "br-2", Reason: "客户开户网点"})
	default:
		return nil, fmt.Errorf("no method for %s", a)
	}
	if err != nil {
		return nil, err
	}
	return c.GetCase(), nil
}

// pathTo is a way from registration to each status (the decider ranks
// above the complaint manager who answers).
var pathTo = map[string][]cases.Action{
	cases.StatusReported:           nil,
	cases.StatusVerifying:          {cases.ActStartVerification},
	cases.StatusHandling:           {cases.ActStartVerification, cases.ActRecordVerification},
	cases.StatusWaitingOnCus:       {cases.ActStartVerification, cases.ActRecordVerification, cases.ActAwaitCustomer},
	cases.StatusWaitingOnAppraisal: {cases.ActStartVerification, cases.ActRecordVerification, cases.ActAwaitAppraisal},
	cases.StatusAnswered:           {cases.ActStartVerification, cases.ActRecordVerification, cases.ActAnswer},
	cases.StatusFollowingUp:        {cases.ActStartVerification, cases.ActRecordVerification, cases.ActAnswer, cases.ActRecordReturnVisit},
	cases.StatusClosed:             {cases.ActStartVerification, cases.ActRecordVerification, cases.ActAnswer, cases.ActRecordReturnVisit, cases.ActClose},
	cases.StatusWithdrawn:          {cases.ActWithdraw},
	cases.StatusUnderReview:        {cases.ActStartVerification, cases.ActRecordVerification, cases.ActAnswer, cases.ActRequestReview},
}

func (f *fixture) walk(t *testing.T, key, to string) string {
	t.Helper()
	id := f.create(t, system, key).GetId()
	for _, a := range pathTo[to] {
		if _, err := f.take(cm, id, a); err != nil {
			t.Fatalf("walking to %s, %s: %v", to, a, err)
		}
	}
	return id
}

func TestEveryStepFromEveryStatusThroughTheAPI(t *testing.T) {
	f := newFixture(t)
	n := 0
	for st := range pathTo {
		for _, a := range cases.Actions {
			n++
			t.Run(string(a)+" from "+st, func(t *testing.T) {
				id := f.walk(t, fmt.Sprintf("walk-%d", n), st)
				before := f.count(t, "case_history")
				// decideReview needs someone above the answering complaint
				// manager; a move between branches needs head office.
				caller := head
				if a == cases.ActMoveBranch {
					caller = headOffice
				}
				c, err := f.take(caller, id, a)
				allowed := slices.Contains(cases.AllowedFrom(st), a)
				if !allowed {
					s, _ := status.FromError(err)
					if s.Code() != codes.FailedPrecondition || !strings.Contains(s.Message(), st) {
						t.Fatalf("err = %v, want FailedPrecondition naming %s", err, st)
					}
					var info *errdetails.ErrorInfo
					for _, d := range s.Details() {
						if i, ok := d.(*errdetails.ErrorInfo); ok {
							info = i
						}
					}
					want := make([]string, 0)
					for _, x := range cases.AllowedFrom(st) {
						want = append(want, string(x))
					}
					if info == nil || info.GetMetadata()["currentStatus"] != st || info.GetMetadata()["allowedActions"] != strings.Join(want, ",") {
						t.Errorf("details %v, want currentStatus %s and allowedActions %v", s.Details(), st, want)
					}
					if after := f.count(t, "case_history"); after != before {
						t.Errorf("a refused step wrote history (%d -> %d)", before, after)
					}
					return
				}
				if err != nil {
					t.Fatalf("allowed step refused: %v", err)
				}
				if c.GetStatus().String() == st && !slices.Contains([]cases.Action{cases.ActRecordReturnVisit, cases.ActAcknowledge,
					cases.ActReclassify, cases.ActMoveBranch}, a) {
					t.Errorf("status stayed %s", st)
				}
				if f.count(t, "case_history") != before+1 {
					t.Errorf("the step wrote no history entry")
				}
			})
		}
	}
}

func TestStepsCheckRoleScopeAndAuthority(t *testing.T) {
	f := newFixture(t)
	id := f.walk(t, "roles", cases.StatusHandling)
	tests := []struct {
		name   string
		caller auth.Principal
		action cases.Action
		want   codes.Code
	}{
		{"a bank system takes no step", system, cases.ActAnswer, codes.PermissionDenied},
		{"an SRE takes no step", sre, cases.ActAnswer, codes.PermissionDenied},
		{"a teller does not verify", teller, cases.ActStartVerification, codes.PermissionDenied},
		{"a teller of another branch does not find the case", farTeller, cases.ActAwaitCustomer, codes.NotFound},
		{"another bank does not find the case", auth.Principal{Tenant: "bank-b", Subject: "cm-1", Role: auth.RoleComplaintManager, Branch: "br-1"}, cases.ActAwaitCustomer, codes.NotFound},
		{"the operator takes no step", auth.Principal{Tenant: auth.AllTenants, Subject: "op", Role: auth.RoleOperator}, cases.ActAnswer, codes.PermissionDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.take(tt.caller, id, tt.action)
			if status.Code(err) != tt.want {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	// A complaint manager answers; a peer may not decide the review, the
	// branch head may.
	if _, err := f.take(cm, id, cases.ActAnswer); err != nil {
		t.Fatal(err)
	}
	if _, err := f.take(cm, id, cases.ActRequestReview); err != nil {
		t.Fatal(err)
	}
	peer := auth.Principal{Tenant: "bank-a", Subject: "cm-2", Role: auth.RoleComplaintManager, Branch: "br-1", Region: "rg-1"}
	if _, err := f.take(peer, id, cases.ActDecideReview); status.Code(err) != codes.PermissionDenied {
		t.Errorf("a peer deciding the review: %v, want PermissionDenied", err)
	}
	c, err := f.take(head, id, cases.ActDecideReview)
	if err != nil || c.GetStatus() != casesv1.CaseStatus_CASE_STATUS_ANSWERED {
		t.Errorf("the branch head deciding the review: %v %v", c.GetStatus(), err)
	}
	// Compensation over the bank's threshold needs a branch head.
	id2 := f.walk(t, "comp", cases.StatusHandling)
	_, err = f.server.Answer(as(cm, ""), &intakev1.AnswerRequest{CaseId: id2, Answer: "赔偿", RootCause: casesv1.RootCause_ROOT_CAUSE_OTHER,
		Compensation: &intakev1.Compensation{Kind: casesv1.CompensationKind_COMPENSATION_KIND_CASH, AmountFen: cases.DefaultPolicy.CompensationApprovalFen + 1}})
	if status.Code(err) != codes.PermissionDenied {
		t.Errorf("a complaint manager granting compensation over the threshold: %v, want PermissionDenied", err)
	}
}

func TestAWalkedCaseTellsItsWholeStory(t *testing.T) {
	f := newFixture(t)
	id := f.walk(t, "story", cases.StatusClosed)
	if _, err := f.server.AddNote(as(cm, ""), &intakev1.AddNoteRequest{CaseId: id, Text: "客户来电，手机13812345678，已说明",
		Evidence: []*intakev1.Evidence{{Kind: "voucher", Sha256: strings.Repeat("a", 64), Reference: "dms://2026/11/voucher-1"}}}); err != nil {
		t.Fatal(err)
	}
	h, err := f.server.GetCaseHistory(as(cm, ""), &intakev1.GetCaseHistoryRequest{CaseId: id})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range h.GetEntries() {
		kinds = append(kinds, e.GetKind()+":"+e.GetAction())
	}
	want := []string{"registered:", "step:startVerification", "step:recordVerification", "step:answer", "step:recordReturnVisit", "step:close", "note:"}
	if !slices.Equal(kinds, want) {
		t.Fatalf("history %v, want %v", kinds, want)
	}
	note := h.GetEntries()[len(h.GetEntries())-1]
	if !strings.Contains(note.GetText(), "13812345678") || len(note.GetEvidence()) != 1 {
		t.Errorf("the complaint manager's view of the note: %q %v", note.GetText(), note.GetEvidence())
	}
	// A teller (no need-to-know, not the owner) sees the phone masked in the
	// note and the card number masked in the finding.
	tv, err := f.server.GetCaseHistory(as(teller, ""), &intakev1.GetCaseHistoryRequest{CaseId: id})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range tv.GetEntries() {
		if strings.Contains(e.GetText(), "13812345678") || strings.Contains(e.GetText(), "6222021234567890") {
			t.Errorf("a teller sees a personal number in clear: %q", e.GetText())
		}
	}
	c, err := f.server.GetCase(as(teller, ""), &intakev1.GetCaseRequest{CaseId: id})
	if err != nil {
		t.Fatal(err)
	}
	if c.GetCase().GetAnswer().GetRootCause() != casesv1.RootCause_ROOT_CAUSE_MANUAL_ENTRY_ERROR || c.GetCase().GetReturnVisit().GetSatisfaction() != 4 ||
		c.GetCase().GetVerification().GetVerifiedBy() != "cm-1" || strings.Contains(c.GetCase().GetVerification().GetFinding(), "6222021234567890") ||
		!slices.Equal(c.GetCase().GetAllowedActions(), []string{"reopen", "requestReview"}) {
		t.Errorf("the closed case as a teller sees it: %v", c.GetCase())
	}
	reads := func() int {
		return f.countWhere(t, "case_audit", "case_id = '"+id+"' AND action = 'personal_data_read'")
	}
	before := reads()
	if _, err := f.server.GetCase(as(cm, ""), &intakev1.GetCaseRequest{CaseId: id}); err != nil {
		t.Fatal(err)
	}
	if reads() != before+1 {
		t.Errorf("the complaint manager's clear read was not audited")
	}
	if _, err := f.server.GetCase(as(teller, ""), &intakev1.GetCaseRequest{CaseId: id}); err != nil || reads() != before+1 {
		t.Errorf("a masked read was audited as a clear one (%v)", err)
	}
	if n := f.countWhere(t, "case_audit", "case_id = '"+id+"' AND action LIKE 'step:%'"); n != 5 {
		t.Errorf("%d step audit entries, want 5", n)
	}
	if n := f.countWhere(t, "outbox", "topic = 'case-events'"); n < 6 {
		t.Errorf("%d case events in the outbox, want the creation and 5 steps", n)
	}
	// What reports count travels in the events: the masked customer (never
	// in clear) with the creation, the compensation with the answer.
	var sawCreated, sawAnswer bool
	for _, env := range f.outboxEvents(t, id) {
		if cc := env.GetCaseCreated(); cc != nil {
			sawCreated = true
			if cc.GetCustomerNameMasked() != masked.GetName() || cc.GetCustomerPhoneMasked() != masked.GetPhone() || cc.GetRepeat() {
				t.Errorf("CaseCreated customer %q %q repeat %v, want %q %q and no repeat",
					cc.GetCustomerNameMasked(), cc.GetCustomerPhoneMasked(), cc.GetRepeat(), masked.GetName(), masked.GetPhone())
			}
		}
		if ct := env.GetCaseTransitioned(); ct.GetAction() == "answer" {
			sawAnswer = true
			if ct.GetCompensationKind() != casesv1.CompensationKind_COMPENSATION_KIND_FEE_REFUND || ct.GetCompensationAmountFen() != 2500 {
				t.Errorf("answer event compensation %v %d, want a fee refund of 2500 fen", ct.GetCompensationKind(), ct.GetCompensationAmountFen())
			}
		}
	}
	if !sawCreated || !sawAnswer {
		t.Errorf("outbox holds creation %v, answer %v; want both", sawCreated, sawAnswer)
	}
}

// outboxEvents returns the events of case id waiting in the outbox, in order.
func (f *fixture) outboxEvents(t *testing.T, id string) []*eventsv1.Envelope {
	t.Helper()
	rows, err := f.pool.Query(context.Background(), `SELECT payload FROM outbox WHERE msg_key = $1 ORDER BY id`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []*eventsv1.Envelope
	for rows.Next() {
		var payload []byte
		if err := rows.Scan(&payload); err != nil {
			t.Fatal(err)
		}
		env := &eventsv1.Envelope{}
		if err := proto.Unmarshal(payload, env); err != nil {
			t.Fatal(err)
		}
		out = append(out, env)
	}
	return out
}

func (f *fixture) countWhere(t *testing.T, table, where string) int {
	t.Helper()
	var n int
	if err := f.pool.QueryRow(context.Background(), "SELECT count(*) FROM "+table+" WHERE "+where).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestListingFiltersAndPagesWithACursorBoundToTheFilter(t *testing.T) {
	f := newFixture(t)
	var handling []string
	for i := range 5 {
		id := f.walk(t, fmt.Sprintf("list-%d", i), cases.StatusReported)
		if i%2 == 0 {
			for _, a := range pathTo[cases.StatusHandling] {
				if _, err := f.take(cm, id, a); err != nil {
					t.Fatal(err)
				}
			}
			handling = append(handling, id)
		}
	}
	req := &intakev1.ListCasesRequest{Status: casesv1.CaseStatus_CASE_STATUS_HANDLING, PageSize: 2}
	var seen []string
	for page := 0; ; page++ {
		resp, err := f.server.ListCases(as(head, ""), req)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range resp.GetCases() {
			if c.GetStatus() != casesv1.CaseStatus_CASE_STATUS_HANDLING {
				t.Errorf("listed a case in %v", c.GetStatus())
			}
			seen = append(seen, c.GetId())
		}
		if !resp.GetMore() {
			if resp.GetNextPageToken() != "" {
				t.Error("the last page has a next page token")
			}
			break
		}
		if page > 5 {
			t.Fatal("no end to the pages")
		}
		// The token is bound to the filter: with another filter it is refused.
		other := &intakev1.ListCasesRequest{Status: casesv1.CaseStatus_CASE_STATUS_REPORTED, PageSize: 2, PageToken: resp.GetNextPageToken()}
		if _, err := f.server.ListCases(as(head, ""), other); status.Code(err) != codes.InvalidArgument {
			t.Errorf("a token used with another filter: %v, want InvalidArgument", err)
		}
		req.PageToken = resp.GetNextPageToken()
	}
	slices.Sort(seen)
	slices.Sort(handling)
	if !slices.Equal(seen, handling) {
		t.Errorf("listed %v, want exactly the handling cases %v", seen, handling)
	}
	// The branch head listed them in clear: one audited read per case shown.
	if n := f.countWhere(t, "case_audit", "action = 'personal_data_read' AND details->>'purpose' LIKE 'case list read in clear%'"); n != len(handling) {
		t.Errorf("%d audited list reads, want %d", n, len(handling))
	}
	// A teller of the branch sees them masked: nothing to audit.
	if _, err := f.server.ListCases(as(teller, ""), &intakev1.ListCasesRequest{}); err != nil {
		t.Fatal(err)
	}
	if n := f.countWhere(t, "case_audit", "action = 'personal_data_read' AND details->>'purpose' LIKE 'case list read in clear%'"); n != len(handling) {
		t.Errorf("a masked listing was audited as clear (%d entries)", n)
	}
}

// The same customer at the same bank within 30 days is a repeat complaint:
// flagged, linked both ways, and filterable; another customer, another bank
// or a complaint 31 days later is not.
func TestRepeatComplaintsAreLinkedAndFlagged(t *testing.T) {
	f := newFixture(t)
	at := now
	f.server.Now = func() time.Time { return at }
	createFor := func(key, idNumber string, p auth.Principal) *intakev1.Case {
		r := request()
		r.OccurredAt = timestamppb.New(at.Add(-time.Hour))
		r.Customer.IdNumber = idNumber
		resp, err := f.server.CreateCase(as(p, key), r)
		if err != nil {
			t.Fatalf("create %s: %v", key, err)
		}
		return resp.GetCase()
	}
	first := createFor("r-1", "110101199003071233", system)
	other := createFor("r-2", "310101198001011234", system)
	at = now.Add(10 * 24 * time.Hour)
	second := createFor("r-3", "110101199003071233", system)
	elsewhere := createFor("r-4", "110101199003071233", otherBank)
	at = now.Add(41 * 24 * time.Hour) // 31 days after the second
	late := createFor("r-5", "110101199003071233", system)
	for _, c := range []struct {
		c    *intakev1.Case
		want bool
	}{{first, false}, {other, false}, {second, true}, {elsewhere, false}, {late, false}} {
		if c.c.GetRepeat() != c.want {
			t.Errorf("case %s repeat = %v, want %v", c.c.GetId(), c.c.GetRepeat(), c.want)
		}
	}
	related := func(id string) []string {
		r, err := f.server.ListRelatedCases(as(head, ""), &intakev1.ListRelatedCasesRequest{CaseId: id})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, c := range r.GetCases() {
			ids = append(ids, c.GetId())
		}
		return ids
	}
	if got := related(second.GetId()); !slices.Equal(got, []string{first.GetId()}) {
		t.Errorf("related of the second: %v, want the first", got)
	}
	if got := related(first.GetId()); !slices.Equal(got, []string{second.GetId()}) {
		t.Errorf("related of the first: %v, want the second", got)
	}
	if got := related(late.GetId()); len(got) != 0 {
		t.Errorf("related of the late one: %v, want none", got)
	}
	resp, err := f.server.ListCases(as(head, ""), &intakev1.ListCasesRequest{Repeat: proto.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetCases()) != 1 || resp.GetCases()[0].GetId() != second.GetId() {
		t.Errorf("repeat filter listed %v, want only the second", resp.GetCases())
	}
	for _, env := range f.outboxEvents(t, second.GetId()) {
		if cc := env.GetCaseCreated(); cc != nil && !cc.GetRepeat() {
			t.Errorf("the second's CaseCreated does not say it repeats")
		}
	}
	var clear int
	if err := f.pool.QueryRow(context.Background(), `SELECT count(*) FROM cases WHERE position('110101199003071233'::bytea in coalesce(customer_key, ''::bytea)) > 0`).Scan(&clear); err != nil || clear != 0 {
		t.Errorf("the ID number is in the customer key (%d, %v)", clear, err)
	}
}

// Head office sets the bank's case rules; the steps and registration
// follow them; nobody else may change them.
func TestEachBankSetsItsOwnCaseRules(t *testing.T) {
	f := newFixture(t)
	got, err := f.server.GetCaseSettings(as(cm, ""), &intakev1.GetCaseSettingsRequest{})
	if err != nil || !got.GetIsDefault() || got.GetSettings().GetCompensationApprovalFen() != cases.DefaultPolicy.CompensationApprovalFen {
		t.Fatalf("before any setting: %v %v, want the defaults", got, err)
	}
	strict := &intakev1.CaseSettings{CompensationApprovalFen: 1000, OccurredHorizonDays: 30}
	for _, p := range []auth.Principal{system, cm, head} {
		if _, err := f.server.PutCaseSettings(as(p, ""), &intakev1.PutCaseSettingsRequest{Settings: strict}); status.Code(err) != codes.PermissionDenied {
			t.Errorf("%s setting the bank's rules: %v, want PermissionDenied", p.Role, err)
		}
	}
	ho := auth.Principal{Tenant: "bank-a", Subject: "ho-1", Role: auth.RoleHeadOffice}
	if _, err := f.server.PutCaseSettings(as(ho, ""), &intakev1.PutCaseSettingsRequest{Settings: strict}); err != nil {
		t.Fatal(err)
	}
	// ¥20 of compensation now needs a branch head.
	id := f.walk(t, "rules", cases.StatusHandling)
	_, err = f.server.Answer(as(cm, ""), &intakev1.AnswerRequest{CaseId: id, Answer: "退费", RootCause: casesv1.RootCause_ROOT_CAUSE_FEE_RULE,
		Compensation: &intakev1.Compensation{Kind: casesv1.CompensationKind_COMPENSATION_KIND_FEE_REFUND, AmountFen: 2000}})
	if status.Code(err) != codes.PermissionDenied {
		t.Errorf("¥20 under the bank's ¥10 threshold: %v, want PermissionDenied", err)
	}
	// Something of 40 days ago is outside its 30-day horizon; another bank keeps the default.
	r := request()
	r.OccurredAt = timestamppb.New(now.Add(-40 * 24 * time.Hour))
	if _, err := f.server.CreateCase(as(system, "old"), r); status.Code(err) != codes.InvalidArgument {
		t.Errorf("a case of 40 days ago under a 30-day horizon: %v, want InvalidArgument", err)
	}
	if _, err := f.server.CreateCase(as(otherBank, "old-b"), r); err != nil {
		t.Errorf("another bank's case of 40 days ago (default horizon): %v", err)
	}
}

// An external appraisal pauses the case and resumes it where it was; the
// complexity is changed by a complaint manager or above, stored, in the
// history and the audit trail and in the event; a case moves to another
// branch of the bank by head office or by a supervisor of both regions.
func TestAppraisalReclassifyAndMoveBranch(t *testing.T) {
	f := newFixture(t)
	id := f.walk(t, "appraisal", cases.StatusHandling)
	c, err := f.take(cm, id, cases.ActAwaitAppraisal)
	if err != nil || c.GetStatus() != casesv1.CaseStatus_CASE_STATUS_WAITING_FOR_APPRAISAL {
		t.Fatalf("await appraisal: %v %v", c.GetStatus(), err)
	}
	if _, err := f.take(cm, id, cases.ActResumeFromCustomer); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("resuming from the customer while waiting for an appraisal: %v, want FailedPrecondition", err)
	}
	if _, err := f.server.AwaitAppraisal(as(cm, ""), &intakev1.AwaitAppraisalRequest{CaseId: id}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("awaiting again: %v", err)
	}
	if c, err = f.take(cm, id, cases.ActResumeFromAppraisal); err != nil || c.GetStatus() != casesv1.CaseStatus_CASE_STATUS_HANDLING {
		t.Fatalf("resume from appraisal: %v %v", c.GetStatus(), err)
	}

	if _, err := f.take(teller, id, cases.ActReclassify); status.Code(err) != codes.PermissionDenied {
		t.Errorf("a teller reclassifying: %v, want PermissionDenied", err)
	}
	if c, err = f.take(cm, id, cases.ActReclassify); err != nil || c.GetSeverity() != casesv1.Severity_SEVERITY_COMPLEX {
		t.Fatalf("reclassify: %v %v", c.GetSeverity(), err)
	}
	if _, err := f.take(cm, id, cases.ActReclassify); status.Code(err) != codes.InvalidArgument {
		t.Errorf("reclassifying to the same severity: %v, want InvalidArgument", err)
	}
	stored, err := f.store.Get(context.Background(), "bank-a", id)
	if err != nil || stored.Severity != "SEVERITY_COMPLEX" {
		t.Fatalf("stored severity %q %v", stored.Severity, err)
	}
	if n := f.countWhere(t, "case_history", "action = 'reclassify'"); n != 1 {
		t.Errorf("%d reclassify history entries, want 1", n)
	}
	if n := f.countWhere(t, "case_audit", "case_id = '"+id+"' AND action = 'step:reclassify'"); n != 1 {
		t.Errorf("%d reclassify audit entries, want 1", n)
	}

	// Moves: a branch head may not; a supervisor of another region may not;
	// a branch of another region needs head office; an unknown branch is
	// refused.
	move := func(p auth.Principal, to string) (*intakev1.Case, error) {
		r, err := f.server.MoveBranch(as(p, ""), &intakev1.MoveBranchRequest{CaseId: id, BranchId: to, Reason: "客户开户网点"})
		return r.GetCase(), err
	}
	farSup := auth.Principal{Tenant: "bank-a", Subject: "sup-9", Role: auth.RoleRegionalSupervisor, Region: "rg-9"}
	for _, tt := range []struct {
		name string
		p    auth.Principal
		to   string
		want codes.Code
	}{
		{"a branch head", head, "br-2", codes.PermissionDenied},
		{"a supervisor of another region", farSup, "br-2", codes.NotFound},
		{"a supervisor, to another region", supervisor, "br-7", codes.PermissionDenied},
		{"head office, to an unknown branch", headOffice, "br-404", codes.InvalidArgument},
		{"head office, to the same branch", headOffice, "br-1", codes.InvalidArgument},
	} {
		if _, err := move(tt.p, tt.to); status.Code(err) != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
	if c, err = move(supervisor, "br-2"); err != nil || c.GetBranchId() != "br-2" {
		t.Fatalf("a supervisor of both regions moving the case: %v %v", c.GetBranchId(), err)
	}
	if c, err = move(headOffice, "br-7"); err != nil || c.GetBranchId() != "br-7" || c.GetRegionId() != "rg-7" {
		t.Fatalf("head office moving the case to another region: %v %v", c, err)
	}
	if n := f.countWhere(t, "case_history", "action = 'moveBranch'"); n != 2 {
		t.Errorf("%d moveBranch history entries, want 2", n)
	}
	// The events carry the new severity and the new branch.
	rows, err := f.pool.Query(context.Background(), `SELECT payload FROM outbox ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string][]*eventsv1.CaseTransitioned{}
	for rows.Next() {
		var payload []byte
		if err := rows.Scan(&payload); err != nil {
			t.Fatal(err)
		}
		env := &eventsv1.Envelope{}
		if err := proto.Unmarshal(payload, env); err != nil {
			t.Fatal(err)
		}
		if ct := env.GetCaseTransitioned(); ct != nil && env.GetCaseId() == id {
			got[ct.GetAction()] = append(got[ct.GetAction()], ct)
		}
	}
	if r := got["reclassify"]; len(r) != 1 || r[0].GetSeverity() != casesv1.Severity_SEVERITY_COMPLEX {
		t.Errorf("reclassify events %v, want one with SEVERITY_COMPLEX", r)
	}
	if m := got["moveBranch"]; len(m) != 2 || m[1].GetBranchId() != "br-7" || m[1].GetRegionId() != "rg-7" || m[1].GetSeverity() != casesv1.Severity_SEVERITY_COMPLEX {
		t.Errorf("moveBranch events %v, want the last at br-7/rg-7", m)
	}
	for _, a := range []string{"awaitAppraisal", "resumeFromAppraisal"} {
		if len(got[a]) != 1 {
			t.Errorf("%d %s events, want 1", len(got[a]), a)
		}
	}
}
