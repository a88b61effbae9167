// Package cases is intake's domain: what a case is when it is registered,
// the rules a new case must satisfy beyond its schema, who may see it and how
// much of the customer they see, and the keyed MAC chain that makes the audit
// trail tamper-evident (audit.go). It knows nothing of gRPC, SQL or Kafka.
package cases

import (
	"errors"
	"fmt"
	"slices"
	"time"
	"unicode"

	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/services/platform/pii"
)

// Customer is the person the case is about. Everything but Tier and
// Language is personal data: sealed at rest, masked on the way out.
type Customer struct {
	Name     string `json:"name"`
	IDNumber string `json:"idNumber,omitempty"`
	Phone    string `json:"phone,omitempty"`
	Email    string `json:"email,omitempty"`
	Account  string `json:"account,omitempty"`
	Tier     string `json:"-"`
	Language string `json:"-"`
	// PreferredChannel is how the customer wants to be told (the
	// ContactChannel name, e.g. "CONTACT_CHANNEL_SMS"); empty for none.
	// Sealed with the addresses it chooses between.
	PreferredChannel string `json:"preferredChannel,omitempty"`
}

// Masked returns the customer as a caller without need-to-know sees them.
func (c Customer) Masked() Customer {
	return Customer{Name: pii.MaskName(c.Name), IDNumber: pii.MaskID(c.IDNumber), Phone: pii.MaskPhone(c.Phone),
		Email: pii.MaskEmail(c.Email), Account: pii.MaskAccount(c.Account), Tier: c.Tier, Language: c.Language,
		PreferredChannel: c.PreferredChannel}
}

// Case is a registered counter exception or complaint.
type Case struct {
	ID, Number, Tenant, Branch, Region string
	Channel, Category, Severity        string
	Summary, Description               string
	OccurredAt                         time.Time
	// ReceivedAt is when the bank received it (at most CreatedAt).
	ReceivedAt           time.Time
	ReportedBy           string
	Customer             Customer
	Status               string
	OwnerID              string
	TimeZone, CalendarID string
	CreatedBy            string
	CreatedAt, UpdatedAt time.Time
	// Life is where the case stands in its lifecycle; Status mirrors
	// Life.Status.
	Life Lifecycle
	Work Work
	// CustomerKey is a keyed hash of the customer's ID number (nil without
	// one): how repeat complaints are matched without the number.
	CustomerKey []byte
	// Repeat: the same customer complained at this bank within RepeatWindow before.
	Repeat bool
}

// RepeatWindow is how close two complaints of one customer must be to be
// linked as a repeat.
const RepeatWindow = 30 * 24 * time.Hour

// Branch is what intake needs to know of a branch (routing owns it).
type Branch struct {
	ID, Region, TimeZone, CalendarID string
	ComplaintManager                 string
	Staff                            []string
	// Hours are the branch's opening periods, passed on to the clocks.
	Hours []OpeningPeriod
}

// OpeningPeriod is a branch's opening period as routing gives it: ISO
// weekdays (1 Monday) and "HH:MM" times.
type OpeningPeriod struct {
	Weekdays      []int32
	Opens, Closes string
}

// New is a request to register a case, after schema validation.
type New struct {
	Branch, Channel, Category, Severity string
	Summary, Description                string
	OccurredAt                          time.Time
	// ReceivedAt is zero when the case is registered as it is received.
	ReceivedAt time.Time
	ReportedBy string
	Customer   Customer
}

// FieldError says which field is wrong and why. Its text never contains the
// field's value.
type FieldError struct{ Field, Reason string }

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

var (
	// ErrNotFound hides cases the caller may not see as well as missing ones.
	ErrNotFound = errors.New("case not found")
	// ErrIdempotencyConflict: the key was used before for a different request.
	ErrIdempotencyConflict = errors.New("idempotency key already used for a different request")
	// ErrForbidden: the caller's role may not do this.
	ErrForbidden = errors.New("not allowed for this caller")
)

// ClockSkew is how far in the future occurredAt may be, for terminals whose
// clocks run a little fast.
const ClockSkew = 5 * time.Minute

// OccurredHorizon is how long ago what a case reports may have happened: a
// complaint about something older is a data-entry error (a year typed
// wrong) far more often than a real case. It is the default of what is
// meant to be a per-bank setting.
const OccurredHorizon = 365 * 24 * time.Hour

// Prepare applies the business rules to a new case and returns it ready to
// store. id and number are assigned by the caller.
func Prepare(in New, b Branch, caller auth.Principal, now time.Time) (Case, error) {
	return PrepareWith(in, b, caller, DefaultPolicy, now)
}

// PrepareWith is Prepare under the bank's policy pol.
func PrepareWith(in New, b Branch, caller auth.Principal, pol Policy, now time.Time) (Case, error) {
	if caller.Role == auth.RoleSRE {
		return Case{}, ErrForbidden
	}
	if !caller.CanSeeBranch(b.ID, b.Region) {
		return Case{}, &FieldError{"branchId", "the caller may not register cases for this branch"}
	}
	if err := checkText(in); err != nil {
		return Case{}, err
	}
	if pol.OccurredHorizon <= 0 {
		pol.OccurredHorizon = OccurredHorizon
	}
	if in.OccurredAt.Before(now.Add(-pol.OccurredHorizon)) {
		return Case{}, &FieldError{"occurredAt", fmt.Sprintf("must be within the last %d days (the bank's horizon for registering what happened)",
			int(pol.OccurredHorizon/(24*time.Hour)))}
	}
	if in.OccurredAt.After(now.Add(ClockSkew)) {
		return Case{}, &FieldError{"occurredAt", "must not be in the future"}
	}
	received := now
	if !in.ReceivedAt.IsZero() {
		switch {
		case in.ReceivedAt.After(now.Add(ClockSkew)):
			return Case{}, &FieldError{"receivedAt", "must not be in the future"}
		case in.ReceivedAt.Before(in.OccurredAt):
			return Case{}, &FieldError{"receivedAt", "must not be before occurredAt"}
		}
		received = in.ReceivedAt
		if received.After(now) {
			received = now
		}
	}
	reporter := in.ReportedBy
	if reporter == "" && caller.IsStaff() && caller.Branch == b.ID {
		// Staff registering a case themselves are its first responder.
		reporter = caller.Subject
	}
	if reporter != "" && !slices.Contains(b.Staff, reporter) {
		return Case{}, &FieldError{"reportedBy", "is not a staff member of the branch"}
	}
	if reporter == "" && b.ComplaintManager == "" {
		// Accepting it would leave a case nobody owns.
		return Case{}, &FieldError{"reportedBy", "is required: the branch has no complaint manager, lobby manager or branch head to own the case"}
	}
	cust := in.Customer
	if cust.PreferredChannel == "CONTACT_CHANNEL_UNSPECIFIED" {
		cust.PreferredChannel = ""
	}
	switch {
	case cust.PreferredChannel == "CONTACT_CHANNEL_SMS" && cust.Phone == "":
		return Case{}, &FieldError{"customer.preferredChannel", "is CONTACT_CHANNEL_SMS, which needs customer.phone"}
	case cust.PreferredChannel == "CONTACT_CHANNEL_EMAIL" && cust.Email == "":
		return Case{}, &FieldError{"customer.preferredChannel", "is CONTACT_CHANNEL_EMAIL, which needs customer.email"}
	}
	if cust.Tier == "" || cust.Tier == "CUSTOMER_TIER_UNSPECIFIED" {
		cust.Tier = "CUSTOMER_TIER_REGULAR"
	}
	if cust.Language == "" {
		cust.Language = "zh-CN"
	}
	tz := b.TimeZone
	if tz == "" {
		tz = "Asia/Shanghai"
	}
	cal := b.CalendarID
	if cal == "" {
		cal = "cn"
	}
	return Case{
		Tenant: caller.Tenant, Branch: b.ID, Region: b.Region,
		Channel: in.Channel, Category: in.Category, Severity: in.Severity,
		Summary: in.Summary, Description: in.Description, OccurredAt: in.OccurredAt.UTC(), ReceivedAt: received.UTC(),
		ReportedBy: reporter, Customer: cust, Status: StatusReported,
		TimeZone: tz, CalendarID: cal, CreatedBy: caller.Subject,
		CreatedAt: now.UTC(), UpdatedAt: now.UTC(),
	}, nil
}

// Number formats the customer-facing case number: CD-20261122-000042, the
// date being the branch's local date.
func Number(createdAt time.Time, tz string, seq int) string {
	loc, err := time.LoadLocation(tz)
	if err != nil {
		loc = time.UTC
	}
	return fmt.Sprintf("CD-%s-%06d", createdAt.In(loc).Format("20060102"), seq)
}

// View returns the case as caller may see it, or ErrNotFound.
func View(c Case, caller auth.Principal) (Case, error) {
	if caller.Tenant != c.Tenant || !caller.CanSeeBranch(c.Branch, c.Region) {
		return Case{}, ErrNotFound
	}
	if !SeesClear(c, caller) {
		c.Customer = c.Customer.Masked()
		c.Summary, c.Description = MaskText(c.Summary), MaskText(c.Description)
		c.Work = c.Work.masked()
	}
	return c, nil
}

// SeesClear reports whether caller sees the case's personal data in clear:
// the roles with need-to-know, and the case's owner whatever their role (a
// teller who owns a case must be able to call the customer back).
func SeesClear(c Case, caller auth.Principal) bool {
	return caller.SeesPersonalData() || (c.OwnerID != "" && caller.IsStaff() && caller.Subject == c.OwnerID)
}

// MaskText masks the personal numbers (ID, mobile, card and account
// numbers) recognised in free text.
func MaskText(s string) string { return pii.MaskFreeText(s) }

func (w Work) masked() Work {
	if v := w.Verification; v != nil {
		vv := *v
		vv.Finding = MaskText(vv.Finding)
		w.Verification = &vv
	}
	if a := w.Answer; a != nil {
		aa := *a
		aa.Text = MaskText(aa.Text)
		w.Answer = &aa
	}
	if r := w.ReturnVisit; r != nil {
		rr := *r
		rr.Comment = MaskText(rr.Comment)
		w.ReturnVisit = &rr
	}
	return w
}

// checkText refuses control characters in free text: a NUL cannot be
// stored at all, and the others (escape sequences, backspaces) forge what a
// reader of the case, a log or a mail sees. Line breaks and tabs are text
// in the description only.
func checkText(in New) error {
	fields := []struct {
		name, value string
		multiline   bool
	}{
		{"summary", in.Summary, false}, {"description", in.Description, true}, {"reportedBy", in.ReportedBy, false},
		{"customer.name", in.Customer.Name, false}, {"customer.idNumber", in.Customer.IDNumber, false},
		{"customer.phone", in.Customer.Phone, false}, {"customer.email", in.Customer.Email, false},
		{"customer.account", in.Customer.Account, false},
	}
	for _, f := range fields {
		if hasControl(f.value, f.multiline) {
			return &FieldError{f.name, "must not contain control characters"}
		}
	}
	return nil
}

// hasControl reports whether s holds a control character; in multiline
// text, line breaks and tabs are text.
func hasControl(s string, multiline bool) bool {
	for _, r := range s {
		if multiline && (r == '\n' || r == '\t' || r == '\r') {
			continue
		}
		if unicode.IsControl(r) {
			return true
		}
	}
	return false
}
