package rectify_test

import (
	"errors"
	"testing"
	"time"

	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/services/reporting/internal/rectify"
)

// now is 2026-03-10 10:00 in Shanghai.
var now = time.Date(2026, 3, 10, 2, 0, 0, 0, time.UTC)

var (
	ho      = auth.Principal{Tenant: "bank", Subject: "ho-1", Role: auth.RoleHeadOffice}
	east    = auth.Principal{Tenant: "bank", Subject: "sup-east", Role: auth.RoleRegionalSupervisor, Region: "rg-east"}
	north   = auth.Principal{Tenant: "bank", Subject: "sup-north", Role: auth.RoleRegionalSupervisor, Region: "rg-north"}
	pudong  = auth.Principal{Tenant: "bank", Subject: "head-pudong", Role: auth.RoleBranchHead, Branch: "br-pudong"}
	xuhui   = auth.Principal{Tenant: "bank", Subject: "head-xuhui", Role: auth.RoleBranchHead, Branch: "br-xuhui"}
	teller  = auth.Principal{Tenant: "bank", Subject: "t-1", Role: auth.RoleTeller, Branch: "br-pudong"}
	sre     = auth.Principal{Tenant: "bank", Subject: "sre-1", Role: auth.RoleSRE}
	otherHO = auth.Principal{Tenant: "bank-2", Subject: "ho-2", Role: auth.RoleHeadOffice}
)

var known = []rectify.CaseRef{
	{CaseID: "c1", BranchID: "br-pudong", RegionID: "rg-east"},
	{CaseID: "c2", BranchID: "br-pudong", RegionID: "rg-east"},
	{CaseID: "c3", BranchID: "br-chaoyang", RegionID: "rg-north"},
}

func issueReq() rectify.IssueRequest {
	return rectify.IssueRequest{BranchID: "br-pudong", Fault: "柜员未按规定解释手续费", CaseIDs: []string{"c1", "c2"}, DueDate: "2026-03-20"}
}

func TestIssueBuildsAnIssuedNoticeDueAtMidnightShanghai(t *testing.T) {
	n, err := rectify.Issue(issueReq(), east, known, "n1", now)
	if err != nil {
		t.Fatal(err)
	}
	wantDue := time.Date(2026, 3, 20, 16, 0, 0, 0, time.UTC) // 2026-03-21 00:00 +08:00
	if n.Status != rectify.StatusIssued || n.RegionID != "rg-east" || !n.DueAt.Equal(wantDue) || n.DueDate != "2026-03-20" {
		t.Errorf("notice = %+v, want ISSUED in rg-east due %s", n, wantDue)
	}
	if len(n.History) != 1 || n.History[0].ActorID != "sup-east" || n.History[0].To != rectify.StatusIssued || !n.History[0].At.Equal(now) {
		t.Errorf("history = %+v, want one issue entry by sup-east at now", n.History)
	}
}

func TestIssueRefusals(t *testing.T) {
	type tc struct {
		name   string
		caller auth.Principal
		edit   func(*rectify.IssueRequest)
		field  string // a FieldError naming it; "" for permission denied
	}
	for _, c := range []tc{
		{"a regional supervisor may not issue to another region's branch", north, func(*rectify.IssueRequest) {}, ""},
		{"a branch head may not issue", pudong, func(*rectify.IssueRequest) {}, ""},
		{"an SRE may not issue", sre, func(*rectify.IssueRequest) {}, ""},
		{"a regional supervisor may not issue to a department", east, func(r *rectify.IssueRequest) { r.BranchID, r.Department = "", "运营管理部" }, ""},
		{"neither branch nor department", ho, func(r *rectify.IssueRequest) { r.BranchID = "" }, "branchId"},
		{"both branch and department", ho, func(r *rectify.IssueRequest) { r.Department = "运营管理部" }, "department"},
		{"an empty fault", ho, func(r *rectify.IssueRequest) { r.Fault = "  " }, "fault"},
		{"a fault with a customer's mobile number", ho, func(r *rectify.IssueRequest) { r.Fault = "客户13812345678投诉" }, "fault"},
		{"no linked case", ho, func(r *rectify.IssueRequest) { r.CaseIDs = nil }, "caseIds"},
		{"an unknown case", ho, func(r *rectify.IssueRequest) { r.CaseIDs = []string{"c1", "nope"} }, "caseIds[1]"},
		{"a case of another branch", ho, func(r *rectify.IssueRequest) { r.CaseIDs = []string{"c3"} }, "caseIds[0]"},
		{"a due date of today", ho, func(r *rectify.IssueRequest) { r.DueDate = "2026-03-10" }, "dueDate"},
		{"a due date in the past", ho, func(r *rectify.IssueRequest) { r.DueDate = "2026-01-01" }, "dueDate"},
		{"a malformed due date", ho, func(r *rectify.IssueRequest) { r.DueDate = "2026-02-30" }, "dueDate"},
	} {
		t.Run(c.name, func(t *testing.T) {
			req := issueReq()
			c.edit(&req)
			_, err := rectify.Issue(req, c.caller, known, "n1", now)
			var fe *rectify.FieldError
			switch {
			case c.field == "" && !errors.Is(err, rectify.ErrPermissionDenied):
				t.Errorf("err = %v, want permission denied", err)
			case c.field != "" && (!errors.As(err, &fe) || fe.Field != c.field):
				t.Errorf("err = %v, want a field error on %s", err, c.field)
			}
		})
	}
}

func TestHeadOfficeIssuesToADepartmentForAnyCaseOfTheBank(t *testing.T) {
	req := rectify.IssueRequest{Department: "运营管理部", Fault: "系统升级后手续费参数错误", CaseIDs: []string{"c1", "c3"}, DueDate: "2026-04-01"}
	n, err := rectify.Issue(req, ho, known, "n1", now)
	if err != nil {
		t.Fatal(err)
	}
	if n.Department != "运营管理部" || n.BranchID != "" || n.RegionID != "" {
		t.Errorf("notice = %+v, want the department's with no branch or region", n)
	}
}

func TestStateMachine(t *testing.T) {
	n, err := rectify.Issue(issueReq(), east, known, "n1", now)
	if err != nil {
		t.Fatal(err)
	}
	later := now.Add(time.Hour)
	if _, err := rectify.Close(n, "", east, later); !isStep(err, rectify.StatusIssued) {
		t.Errorf("closing an issued notice: %v, want a step error naming ISSUED", err)
	}
	if _, err := rectify.RecordMeasures(n, "已培训", east, later); !errors.Is(err, rectify.ErrPermissionDenied) {
		t.Errorf("the supervisor recording measures: %v, want permission denied", err)
	}
	if _, err := rectify.RecordMeasures(n, "已培训", xuhui, later); !errors.Is(err, rectify.ErrNotFound) {
		t.Errorf("another branch's head recording measures: %v, want not found", err)
	}
	if _, err := rectify.RecordMeasures(n, "", pudong, later); !isField(err, "measures") {
		t.Errorf("empty measures: %v, want a field error", err)
	}
	m, err := rectify.RecordMeasures(n, "已组织柜员培训并张贴收费标准", pudong, later)
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != rectify.StatusMeasuresRecorded || m.MeasuresBy != "head-pudong" || !m.MeasuresAt.Equal(later) {
		t.Errorf("after measures: %+v", m)
	}
	if len(n.History) != 1 {
		t.Errorf("the step changed the original notice's history: %+v", n.History)
	}
	if _, err := rectify.RecordMeasures(m, "again", pudong, later); !isStep(err, rectify.StatusMeasuresRecorded) {
		t.Errorf("measures twice: %v, want a step error", err)
	}
	if _, err := rectify.Close(m, "", pudong, later); !errors.Is(err, rectify.ErrPermissionDenied) {
		t.Errorf("the branch head closing: %v, want permission denied", err)
	}
	if _, err := rectify.Close(m, "", north, later); !errors.Is(err, rectify.ErrNotFound) {
		t.Errorf("another region's supervisor closing: %v, want not found", err)
	}
	c, err := rectify.Close(m, "整改到位", ho, later.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != rectify.StatusClosed || c.ClosedBy != "ho-1" || len(c.History) != 3 {
		t.Errorf("closed = %+v", c)
	}
	h := c.History[2]
	if h.Action != rectify.ActionClose || h.From != rectify.StatusMeasuresRecorded || h.To != rectify.StatusClosed || h.ActorRole != auth.RoleHeadOffice {
		t.Errorf("close entry = %+v", h)
	}
	if _, err := rectify.Close(c, "", ho, later); !isStep(err, rectify.StatusClosed) {
		t.Errorf("closing twice: %v, want a step error", err)
	}
}

func TestWhoSeesANotice(t *testing.T) {
	n, err := rectify.Issue(issueReq(), east, known, "n1", now)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		who  string
		p    auth.Principal
		sees bool
	}{
		{"head office", ho, true}, {"the region's supervisor", east, true}, {"the branch's head", pudong, true},
		{"another region's supervisor", north, false}, {"another branch's head", xuhui, false},
		{"a teller of the branch", teller, false}, {"an SRE", sre, false}, {"another bank's head office", otherHO, false},
	} {
		if got := rectify.CanSee(c.p, n); got != c.sees {
			t.Errorf("%s sees the notice: %v, want %v", c.who, got, c.sees)
		}
	}
}

func TestOverdueAndReminders(t *testing.T) {
	n, err := rectify.Issue(issueReq(), east, known, "n1", now)
	if err != nil {
		t.Fatal(err)
	}
	lead := 72 * time.Hour
	due := n.DueAt
	for _, c := range []struct {
		name    string
		at      time.Time
		status  rectify.Status
		overdue bool
		want    rectify.Reminder
	}{
		{"well before the lead", due.Add(-lead - time.Second), rectify.StatusIssued, false, ""},
		{"at the lead", due.Add(-lead), rectify.StatusIssued, false, rectify.ReminderDueSoon},
		{"a second before due", due.Add(-time.Second), rectify.StatusMeasuresRecorded, false, rectify.ReminderDueSoon},
		{"at the due time", due, rectify.StatusIssued, true, rectify.ReminderOverdue},
		{"after due with measures recorded", due.Add(time.Hour), rectify.StatusMeasuresRecorded, true, rectify.ReminderOverdue},
		{"after due but closed", due.Add(time.Hour), rectify.StatusClosed, false, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			n.Status = c.status
			if got := n.Overdue(c.at); got != c.overdue {
				t.Errorf("overdue = %v, want %v", got, c.overdue)
			}
			got, ok := rectify.DueReminder(n, c.at, lead)
			if got != c.want || ok != (c.want != "") {
				t.Errorf("reminder = %q %v, want %q", got, ok, c.want)
			}
		})
	}
}

func TestListQueryKeepsTheCallerInScope(t *testing.T) {
	q, err := rectify.ListQuery(east, rectify.ListRequest{Status: rectify.FilterOverdue, BranchID: "br-pudong"})
	if err != nil || q.Region != "rg-east" || q.Branch != "br-pudong" || q.Limit != rectify.DefaultPageSize {
		t.Errorf("supervisor's query = %+v, %v", q, err)
	}
	if _, err := rectify.ListQuery(east, rectify.ListRequest{RegionID: "rg-north"}); !errors.Is(err, rectify.ErrPermissionDenied) {
		t.Errorf("supervisor asking for another region: %v", err)
	}
	if q, err := rectify.ListQuery(pudong, rectify.ListRequest{}); err != nil || q.Branch != "br-pudong" {
		t.Errorf("branch head's query = %+v, %v", q, err)
	}
	if _, err := rectify.ListQuery(pudong, rectify.ListRequest{BranchID: "br-xuhui"}); !errors.Is(err, rectify.ErrPermissionDenied) {
		t.Errorf("branch head asking for another branch: %v", err)
	}
	if _, err := rectify.ListQuery(sre, rectify.ListRequest{}); !errors.Is(err, rectify.ErrPermissionDenied) {
		t.Errorf("SRE listing: %v", err)
	}
	if q, err := rectify.ListQuery(ho, rectify.ListRequest{PageSize: 10000}); err != nil || q.Limit != rectify.MaxPageSize || q.Region != "" {
		t.Errorf("head office's query = %+v, %v", q, err)
	}
}

func isStep(err error, current rectify.Status) bool {
	var se *rectify.StepError
	return errors.As(err, &se) && se.Current == current
}

func isField(err error, field string) bool {
	var fe *rectify.FieldError
	return errors.As(err, &fe) && fe.Field == field
}

func TestFingerprintTellsARetryFromAnotherRequest(t *testing.T) {
	a := issueReq()
	b := issueReq()
	b.IdempotencyKey = "k" // the key itself is not part of what is asked
	if a.Fingerprint() != b.Fingerprint() {
		t.Error("the same request has two fingerprints")
	}
	for name, edit := range map[string]func(*rectify.IssueRequest){
		"another fault":    func(r *rectify.IssueRequest) { r.Fault += "。" },
		"another due date": func(r *rectify.IssueRequest) { r.DueDate = "2026-03-21" },
		"another case":     func(r *rectify.IssueRequest) { r.CaseIDs = []string{"c1"} },
		"fields shifted":   func(r *rectify.IssueRequest) { r.BranchID, r.Department = "", r.BranchID },
	} {
		c := issueReq()
		edit(&c)
		if c.Fingerprint() == a.Fingerprint() {
			t.Errorf("%s: same fingerprint", name)
		}
	}
}
