package notify

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Staff alerts: a deadline's warnings are told to whoever owns the case, its
// breach also to the level above (whom routing escalates the case to). They
// go by work e-mail, name the case by its number and carry no customer data.
// They are urgent: due at once, waiting for nothing but an earlier alert to
// the same person (there are no quiet hours to respect).
const (
	// TemplateStaffDeadlineWarned tells the owners that a deadline of their
	// case reached a warning level (yellow, orange, red).
	TemplateStaffDeadlineWarned Template = "staff_deadline_warned"
	// TemplateStaffDeadlineBreached tells the owners and the level above
	// that a deadline of the case passed.
	TemplateStaffDeadlineBreached Template = "staff_deadline_breached"
)

// Audiences of a staff alert.
const (
	// AudienceOwner: owns the case, or is on duty for the role queue it
	// waits in.
	AudienceOwner = "owner"
	// AudienceAbove: the level above the owner on the ladder.
	AudienceAbove = "above"
)

// Warning levels, as slatimer names them.
const (
	LevelYellow = "yellow"
	LevelOrange = "orange"
	LevelRed    = "red"
)

// Reasons recorded for skipped staff alerts.
const (
	// ReasonNoStaffEmail: the bank's organisation gives the staff member no
	// work e-mail.
	ReasonNoStaffEmail = "staff member has no work e-mail"
	// ReasonWarningPassed: the warned deadline was due before the warning
	// could go out (after an outage); its breach is told if it breached.
	ReasonWarningPassed = "the warned deadline is already due"
)

// CaseRecord is what notification keeps of a case for staff alerts, as
// CaseCreated told it: its number and its branch's time zone (deadline
// events carry neither). No customer data.
type CaseRecord struct {
	TenantID, CaseID, Number, TimeZone string
	CreatedAt                          time.Time
}

// StaffRecipient is a staff member to alert, as routing names them.
type StaffRecipient struct {
	ID, Name string
	// Email is their work address; empty when the bank gave none.
	Email string
	// Audience is AudienceOwner or AudienceAbove.
	Audience string
}

// DeadlineAlert is a deadline event staff are told of.
type DeadlineAlert struct {
	// Template is TemplateStaffDeadlineWarned or TemplateStaffDeadlineBreached.
	Template Template
	// Kind is the deadline kind ("DEADLINE_KIND_FIRST_ANSWER").
	Kind string
	// Level is a warning's level; empty for a breach.
	Level       string
	DueAt       time.Time
	Provisional bool
	// TimeZone is the branch's, in which DueAt is shown.
	TimeZone string
	// CaseNumber names the case in the message.
	CaseNumber string
}

// Validate reports why a could never be told to anyone. Such an event reads
// the same however often it is handled.
func (a DeadlineAlert) Validate() error {
	switch {
	case a.Template != TemplateStaffDeadlineWarned && a.Template != TemplateStaffDeadlineBreached:
		return fmt.Errorf("%q is not a staff alert", a.Template)
	case a.Kind == "":
		return errors.New("names no deadline kind")
	case a.DueAt.IsZero():
		return errors.New("has no due time")
	case a.Template == TemplateStaffDeadlineWarned && !slices.Contains([]string{LevelYellow, LevelOrange, LevelRed}, a.Level):
		return fmt.Errorf("warning level %q is not yellow, orange or red", a.Level)
	}
	if _, err := time.LoadLocation(zoneOr(a.TimeZone)); err != nil {
		return fmt.Errorf("unknown time zone %q: %w", a.TimeZone, err)
	}
	return nil
}

func zoneOr(z string) string {
	if z == "" {
		return DefaultTimeZone
	}
	return z
}

// Recipients is whom an alert is told to: a warning the owners, a breach
// the owners and then the level above; each person once (as an owner if
// they are both).
func Recipients(t Template, owners, above []StaffRecipient) []StaffRecipient {
	var out []StaffRecipient
	seen := map[string]bool{}
	add := func(rs []StaffRecipient, audience string) {
		for _, r := range rs {
			if r.ID == "" || seen[r.ID] {
				continue
			}
			seen[r.ID] = true
			r.Audience = audience
			out = append(out, r)
		}
	}
	add(owners, AudienceOwner)
	if t == TemplateStaffDeadlineBreached {
		add(above, AudienceAbove)
	}
	return out
}

// NewStaffAlertDelivery returns the pending e-mail telling r of alert a,
// due at once and kept once per event and recipient (DedupKey), so a
// redelivered event alerts nobody twice.
func NewStaffAlertDelivery(id, tenantID, caseID string, a DeadlineAlert, r StaffRecipient, eventID string, trace map[string]string, now time.Time) Delivery {
	return Delivery{
		ID: id, TenantID: tenantID, CaseID: caseID, Channel: ChannelEmail, Template: a.Template, Status: StatusPending,
		ExpectedAnswerAt: a.DueAt, TimeZone: zoneOr(a.TimeZone), DeadlineKind: a.Kind, Provisional: a.Provisional,
		Staff: r, AlertLevel: a.Level, CaseNumber: a.CaseNumber, DedupKey: StaffAlertKey(eventID, r.ID),
		NextAttemptAt: now, TraceContext: trace, CreatedAt: now, UpdatedAt: now,
	}
}

// StaffAlertKey is the DedupKey of event eventID's alert to staff member
// staffID.
func StaffAlertKey(eventID, staffID string) string { return eventID + "/" + staffID }

// IsStaffAlert reports whether d is a staff alert rather than a message to
// the customer.
func (d Delivery) IsStaffAlert() bool { return d.Staff.ID != "" }

// deadlineWords are a deadline kind in each language, and what its owner
// is to do about it.
var deadlineWords = map[string]map[Language][2]string{
	"DEADLINE_KIND_ACKNOWLEDGE": {
		LanguageZhCN: {"受理确认", "请尽快告知客户问题已受理及预计处理时间。"},
		LanguageEn:   {"acknowledgment", "Tell the customer the case was received and when to expect an answer."}},
	"DEADLINE_KIND_HANDOVER_PICKUP": {
		LanguageZhCN: {"转交接收", "请尽快在系统中认领该案件。"},
		LanguageEn:   {"hand-over pick-up", "Claim the case in counterdesk."}},
	"DEADLINE_KIND_EQUIPMENT_RESPONSE": {
		LanguageZhCN: {"设备故障响应", "请尽快响应设备故障并安排维修。"},
		LanguageEn:   {"equipment-failure response", "Respond to the equipment failure and arrange the repair."}},
	"DEADLINE_KIND_MAJOR_REPORT": {
		LanguageZhCN: {"重大事件书面报告", "请尽快向总行提交书面报告。"},
		LanguageEn:   {"major-case report", "Send the written report to head office."}},
	"DEADLINE_KIND_FIRST_ANSWER": {
		LanguageZhCN: {"答复客户", "请尽快答复客户。"},
		LanguageEn:   {"first-answer", "Answer the customer."}},
	"DEADLINE_KIND_RESOLUTION": {
		LanguageZhCN: {"办结", "请尽快办结该案件。"},
		LanguageEn:   {"resolution", "Resolve the case."}},
	"DEADLINE_KIND_REGULATORY_DECISION": {
		LanguageZhCN: {"监管处理时限", "请在时限内作出处理决定并告知客户；确需延长的，请按规定报批。"},
		LanguageEn:   {"regulatory decision", "Decide on the complaint and tell the customer; if more time is needed, have an extension approved."}},
	"DEADLINE_KIND_RETURN_VISIT": {
		LanguageZhCN: {"回访", "请尽快完成客户回访。"},
		LanguageEn:   {"return-visit", "Make the return visit to the customer."}},
}

var levelWords = map[string]map[Language]string{
	LevelYellow: {LanguageZhCN: "黄色", LanguageEn: "yellow"},
	LevelOrange: {LanguageZhCN: "橙色", LanguageEn: "orange"},
	LevelRed:    {LanguageZhCN: "红色", LanguageEn: "red"},
}

// DeadlineWords names a deadline kind in lang and says what its owner is to
// do; a kind without words reads as its name.
func DeadlineWords(kind string, lang Language) (name, action string) {
	if lang != LanguageEn {
		lang = LanguageZhCN
	}
	if w, ok := deadlineWords[kind][lang]; ok {
		return w[0], w[1]
	}
	if lang == LanguageEn {
		return strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(kind, "DEADLINE_KIND_"), "_", " ")), "Deal with the case now."
	}
	return kind, "请尽快处理该案件。"
}

// StaffAlertData is what a deadline alert to staff may show. Names come
// from routing and the case number from intake's event: each stays on its
// one line.
type StaffAlertData struct {
	CaseNumber, StaffName, Kind, Action, Level, Due string
	Provisional, Above                              bool
}

func staffAlertData(d Delivery, lang Language) (StaffAlertData, error) {
	a := DeadlineAlert{Template: d.Template, Kind: d.DeadlineKind, Level: d.AlertLevel, DueAt: d.ExpectedAnswerAt,
		Provisional: d.Provisional, TimeZone: d.TimeZone, CaseNumber: d.CaseNumber}
	if err := a.Validate(); err != nil {
		return StaffAlertData{}, fmt.Errorf("staff alert %s: %w", d.ID, err)
	}
	due, err := FormatTime(a.DueAt, a.TimeZone, lang)
	if err != nil {
		return StaffAlertData{}, err
	}
	kind, action := DeadlineWords(a.Kind, lang)
	above := d.Staff.Audience == AudienceAbove
	if above && a.Kind == "DEADLINE_KIND_HANDOVER_PICKUP" {
		action = "" // claiming it is what the level above is asked anyway
	}
	number := SingleLine(a.CaseNumber)
	if number == "" {
		number = d.CaseID
	}
	return StaffAlertData{
		CaseNumber: number, StaffName: SingleLine(d.Staff.Name), Kind: kind, Action: action,
		Level: levelWords[a.Level][lang], Due: due, Provisional: a.Provisional, Above: above,
	}, nil
}

// staffData is what staff message d shows, whichever kind it is.
func staffData(d Delivery, lang Language) (any, error) {
	if isStaffNotice(d.Template) {
		return staffNoticeContent(d, lang)
	}
	if isRectification(d.Template) {
		return rectificationData(d, lang)
	}
	return staffAlertData(d, lang)
}

// RenderStaffAlert writes staff alert d (a delivery of one of the staff
// templates) in lang with the shipped template.
func RenderStaffAlert(d Delivery, lang Language) (Message, error) {
	lang = normLang(lang)
	data, err := staffAlertData(d, lang)
	if err != nil {
		return Message{}, err
	}
	return execute(d.Template, lang, data)
}
