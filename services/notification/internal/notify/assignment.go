package notify

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Messages about who owns a case (routing's AssignmentMade).
const (
	// TemplateStaffCaseAssigned tells a staff member a case is theirs now
	// (first assignment, transfer, return, re-route).
	TemplateStaffCaseAssigned Template = "staff_case_assigned"
	// TemplateStaffCaseEscalated tells the staff member a case was escalated
	// to (by a colleague, or on a breach) that it is theirs now.
	TemplateStaffCaseEscalated Template = "staff_case_escalated"
	// TemplateStaffPickupWaiting tells the on-duty staff of a role queue that
	// a case waits there for one of them to claim it.
	TemplateStaffPickupWaiting Template = "staff_pickup_waiting"
	// TemplateStaffCaseNotice tells the staff a routing rule names (e.g. the
	// branch head of a compliance case) of a case they do not own.
	TemplateStaffCaseNotice Template = "staff_case_notice"
	// TemplateStaffMajorCase tells head office of a major case.
	TemplateStaffMajorCase Template = "staff_major_case"
	// TemplateCaseHandedOver tells the customer their case went to another
	// level of the bank (transfer, escalation), without naming anybody.
	TemplateCaseHandedOver Template = "case_handed_over"
)

// AudienceNotify: staff a routing rule names, who are told of a case they
// do not own.
const AudienceNotify = "notify"

// Assignment is an AssignmentMade as notification reads it.
type Assignment struct {
	CaseNumber string
	// Kind: assign, claim, transfer, escalate, return, breach, reroute.
	Kind string
	// Reason is routing's why ("first_responder", "rule:<name>", …).
	Reason string
	// OwnerID is the staff member who owns the case now; empty while it
	// waits in the role queue OwnerRole.
	OwnerID, OwnerRole string
	// ActorID did the hand-over; empty when routing did.
	ActorID string
	// Level is the ladder level of the new owner (first_receiver …
	// head_office, department).
	Level         string
	PickupPending bool
	AssignedAt    time.Time
	TimeZone      string
	// Notify are the staff routing's rules say to tell besides the owner.
	Notify []AssignmentNotify
}

// AssignmentNotify is one role routing's rules say to tell, resolved to
// staff ids.
type AssignmentNotify struct {
	Role     string
	StaffIDs []string
	AtOnce   bool
}

// Validate reports why a can never be told to anybody.
func (a Assignment) Validate() error {
	switch {
	case a.Kind == "":
		return errors.New("names no kind")
	case a.AssignedAt.IsZero():
		return errors.New("has no assignment time")
	case a.OwnerID == "" && a.OwnerRole == "":
		return errors.New("names neither an owner nor a role queue")
	}
	return nil
}

// StaffNotice is one staff message an assignment calls for.
type StaffNotice struct {
	Template Template
	// StaffID names one person; Owners asks for the on-duty staff of the
	// role queue the case waits in (routing answers who they are).
	StaffID  string
	Owners   bool
	Audience string
	// Urgent messages go out at once, whatever the hour.
	Urgent bool
}

// Customer-visible hand-over kinds: the case went to another person or
// level because somebody decided it (or a breach did). Claims, first
// assignments, returns and re-routes of an absent owner change nothing the
// customer needs to hear.
var customerKinds = []string{"transfer", "escalate", "breach"}

// AssignmentNotices decides whom an assignment is told to: the new owner
// (unless they took it themselves), or the role queue's on-duty staff when
// it waits to be claimed; the staff routing's rules name (head office of a
// major case); and whether the customer hears that the case changed hands.
// Each person once, the owner's message first.
func AssignmentNotices(a Assignment) (staff []StaffNotice, customer bool) {
	seen := map[string]bool{}
	escalated := a.Kind == "escalate" || a.Kind == "breach"
	switch {
	case a.Reason == "first_responder":
		// The staff member who received the case keeps it: they know.
	case a.OwnerID != "" && a.OwnerID != a.ActorID:
		t := TemplateStaffCaseAssigned
		if escalated {
			t = TemplateStaffCaseEscalated
		}
		staff = append(staff, StaffNotice{Template: t, StaffID: a.OwnerID, Audience: AudienceOwner, Urgent: escalated})
		seen[a.OwnerID] = true
	case a.OwnerID == "" && a.OwnerRole != "":
		staff = append(staff, StaffNotice{Template: TemplateStaffPickupWaiting, Owners: true, Audience: AudienceOwner, Urgent: escalated})
	}
	if a.ActorID != "" {
		seen[a.ActorID] = true // who did it knows
	}
	for _, n := range a.Notify {
		t := TemplateStaffCaseNotice
		if roleName(n.Role) == "head_office" {
			t = TemplateStaffMajorCase
		}
		for _, id := range n.StaffIDs {
			if id == "" || seen[id] {
				continue
			}
			seen[id] = true
			staff = append(staff, StaffNotice{Template: t, StaffID: id, Audience: AudienceNotify, Urgent: n.AtOnce})
		}
	}
	return staff, slices.Contains(customerKinds, a.Kind)
}

// roleName reads a role as routing's events name it ("ROLE_HEAD_OFFICE")
// or as tokens do ("head_office").
func roleName(r string) string {
	return strings.ToLower(strings.TrimPrefix(strings.TrimSpace(r), "ROLE_"))
}

// NewStaffNoticeDelivery is the pending e-mail telling r of assignment a
// (announced by event eventID), kept once per event and recipient.
func NewStaffNoticeDelivery(id, tenantID, caseID string, a Assignment, n StaffNotice, r StaffRecipient, eventID string, trace map[string]string, now time.Time) Delivery {
	r.Audience = n.Audience
	return Delivery{
		ID: id, TenantID: tenantID, CaseID: caseID, Channel: ChannelEmail, Template: n.Template, Status: StatusPending,
		ExpectedAnswerAt: a.AssignedAt, TimeZone: zoneOr(a.TimeZone), Staff: r, CaseNumber: a.CaseNumber,
		// The assignment's kind and ladder level, which the message words.
		ChangeReason: a.Kind, AlertLevel: a.Level, Urgent: n.Urgent,
		DedupKey: StaffAlertKey(eventID, r.ID), NextAttemptAt: now, TraceContext: trace, CreatedAt: now, UpdatedAt: now,
	}
}

// NewHandedOverDelivery is the pending message telling the customer their
// case went to another level (a.Level), kept once per event.
func NewHandedOverDelivery(id, tenantID, caseID string, ch Channel, a Assignment, eventID string, trace map[string]string, now time.Time) Delivery {
	return Delivery{
		ID: id, TenantID: tenantID, CaseID: caseID, Channel: ch, Template: TemplateCaseHandedOver, Status: StatusPending,
		ExpectedAnswerAt: a.AssignedAt, TimeZone: zoneOr(a.TimeZone), ChangeReason: a.Kind, AlertLevel: a.Level,
		DedupKey: eventID, NextAttemptAt: now, TraceContext: trace, CreatedAt: now, UpdatedAt: now,
	}
}

// ladderWords name a ladder level to staff and to customers.
var ladderWords = map[string]map[Language][2]string{
	"first_receiver":    {LanguageZhCN: {"首问柜员", "网点首问柜员"}, LanguageEn: {"first receiver", "the branch staff who first received it"}},
	"complaint_manager": {LanguageZhCN: {"网点投诉管理员", "网点投诉管理人员"}, LanguageEn: {"branch complaint manager", "the branch's complaint manager"}},
	"branch_head":       {LanguageZhCN: {"网点负责人", "网点负责人"}, LanguageEn: {"branch head", "the head of the branch"}},
	"regional":          {LanguageZhCN: {"区域主管", "上级管理部门"}, LanguageEn: {"regional supervisor", "the bank's regional management"}},
	"head_office":       {LanguageZhCN: {"总行", "总行"}, LanguageEn: {"head office", "the bank's head office"}},
	"department":        {LanguageZhCN: {"总行专业部门", "总行专业部门"}, LanguageEn: {"head-office department", "a specialist department of the bank"}},
}

// LadderWords names ladder level lvl in lang: to staff, and to a customer.
func LadderWords(lvl string, lang Language) (staff, customer string) {
	if lang != LanguageEn {
		lang = LanguageZhCN
	}
	if w, ok := ladderWords[lvl][lang]; ok {
		return w[0], w[1]
	}
	if lang == LanguageEn {
		return "staff", "another team of the bank"
	}
	return "相关人员", "相关部门"
}

var kindWords = map[string]map[Language]string{
	"assign":   {LanguageZhCN: "分派", LanguageEn: "assigned"},
	"claim":    {LanguageZhCN: "认领", LanguageEn: "claimed"},
	"transfer": {LanguageZhCN: "转交", LanguageEn: "transferred"},
	"escalate": {LanguageZhCN: "升级", LanguageEn: "escalated"},
	"breach":   {LanguageZhCN: "超时升级", LanguageEn: "escalated on a breached deadline"},
	"return":   {LanguageZhCN: "退回", LanguageEn: "returned"},
	"reroute":  {LanguageZhCN: "改派", LanguageEn: "re-routed"},
}

// KindWords words an assignment kind in lang.
func KindWords(kind string, lang Language) string {
	if lang != LanguageEn {
		lang = LanguageZhCN
	}
	if w, ok := kindWords[kind][lang]; ok {
		return w
	}
	return kind
}

// isStaffNotice reports whether t is one of the assignment messages to staff.
func isStaffNotice(t Template) bool {
	switch t {
	case TemplateStaffCaseAssigned, TemplateStaffCaseEscalated, TemplateStaffPickupWaiting,
		TemplateStaffCaseNotice, TemplateStaffMajorCase:
		return true
	}
	return false
}

// StaffNoticeData is what an assignment message to staff may show.
type StaffNoticeData struct {
	CaseNumber, StaffName, Level, Kind, At string
	Owner, Notify                          bool
}

func staffNoticeContent(d Delivery, lang Language) (StaffNoticeData, error) {
	at, err := FormatTime(d.ExpectedAnswerAt, d.TimeZone, lang)
	if err != nil {
		return StaffNoticeData{}, err
	}
	number := SingleLine(d.CaseNumber)
	if number == "" {
		number = d.CaseID
	}
	lvl, _ := LadderWords(d.AlertLevel, lang)
	if d.AlertLevel == "" {
		lvl = ""
	}
	return StaffNoticeData{CaseNumber: number, StaffName: SingleLine(d.Staff.Name), Level: lvl,
		Kind: KindWords(d.ChangeReason, lang), At: at,
		Owner: d.Staff.Audience == AudienceOwner, Notify: d.Staff.Audience == AudienceNotify}, nil
}

func errTemplate(t Template, lang Language) error { return fmt.Errorf("no template %s in %s", t, lang) }

// RenderStaffNotice writes assignment message d (a delivery of one of the
// assignment templates to staff) in lang.
func RenderStaffNotice(d Delivery, lang Language) (Message, error) {
	lang = normLang(lang)
	if !isStaffNotice(d.Template) {
		return Message{}, fmt.Errorf("%q is not an assignment message to staff", d.Template)
	}
	data, err := staffNoticeContent(d, lang)
	if err != nil {
		return Message{}, err
	}
	return execute(d.Template, lang, data)
}
