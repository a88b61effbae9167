package notify

import (
	"fmt"
	"time"
)

// Rectification notices (整改通知单): reporting's supervisors send one to a
// branch for a fault found in cases; its branch head is told when it is
// issued, and reminded when it is due soon and when it is overdue.
const (
	// TemplateStaffRectificationIssued tells the branch head a notice was
	// issued to the branch, with its due date.
	TemplateStaffRectificationIssued Template = "staff_rectification_issued"
	// TemplateStaffRectificationDue reminds the branch head of a notice due
	// soon or overdue.
	TemplateStaffRectificationDue Template = "staff_rectification_due"
)

// Reminder kinds of a rectification notice, as reporting names them.
const (
	ReminderDueSoon = "due_soon"
	ReminderOverdue = "overdue"
	// ReminderIssued is the notice's first message.
	ReminderIssued = "issued"
)

// Rectification is a rectification notice's event as notification reads it.
type Rectification struct {
	NoticeID, BranchID string
	// Department is the department a department's notice is for.
	Department string
	// DueDate is YYYY-MM-DD, the last day (Asia/Shanghai); DueAt its end.
	DueDate  string
	DueAt    time.Time
	Reminder string
	// Cases is how many cases the notice names.
	Cases int
}

// Validate reports why r can never be told to anybody.
func (r Rectification) Validate() error {
	switch {
	case r.NoticeID == "":
		return fmt.Errorf("names no notice")
	case r.DueAt.IsZero() || r.DueDate == "":
		return fmt.Errorf("has no due date")
	case r.Reminder != ReminderIssued && r.Reminder != ReminderDueSoon && r.Reminder != ReminderOverdue:
		return fmt.Errorf("reminder %q is not issued, due_soon or overdue", r.Reminder)
	}
	return nil
}

// ReasonDepartmentNotice is why a department's notice is not told by
// message: counterdesk keeps no directory of a bank's departments' staff;
// the notice is on the supervisors' dashboard.
const ReasonDepartmentNotice = "a department's notice: counterdesk keeps no staff directory of departments; it is on the dashboard"

// NewRectificationDelivery is the pending e-mail telling branch head r of
// notice n (event eventID). Deliveries are per case, and a notice is none:
// its id stands in the case's place.
func NewRectificationDelivery(id, tenantID string, n Rectification, r StaffRecipient, eventID string, trace map[string]string, now time.Time) Delivery {
	t := TemplateStaffRectificationDue
	if n.Reminder == ReminderIssued {
		t = TemplateStaffRectificationIssued
	}
	r.Audience = AudienceOwner
	return Delivery{
		ID: id, TenantID: tenantID, CaseID: n.NoticeID, Channel: ChannelEmail, Template: t, Status: StatusPending,
		ExpectedAnswerAt: n.DueAt, TimeZone: DefaultTimeZone, Staff: r, CaseNumber: n.NoticeID,
		ChangeReason: n.Reminder, Urgent: n.Reminder == ReminderOverdue,
		DedupKey: StaffAlertKey(eventID, r.ID), NextAttemptAt: now, TraceContext: trace, CreatedAt: now, UpdatedAt: now,
	}
}

// StaffRectificationData is what a rectification notice's messages may show.
type StaffRectificationData struct {
	NoticeID, StaffName, Due string
	DueSoon, Overdue         bool
}

func isRectification(t Template) bool {
	return t == TemplateStaffRectificationIssued || t == TemplateStaffRectificationDue
}

func rectificationData(d Delivery, lang Language) (StaffRectificationData, error) {
	due, err := FormatTime(d.ExpectedAnswerAt, d.TimeZone, lang)
	if err != nil {
		return StaffRectificationData{}, err
	}
	return StaffRectificationData{NoticeID: SingleLine(d.CaseNumber), StaffName: SingleLine(d.Staff.Name), Due: due,
		DueSoon: d.ChangeReason == ReminderDueSoon, Overdue: d.ChangeReason == ReminderOverdue}, nil
}
