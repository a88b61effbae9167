// Package routing is the domain of case ownership under first-responder
// responsibility (首问负责制): who owns a new case (the bank's routing rules),
// how a case changes hands (claim, transfer, escalation up the ladder,
// return), who takes over when an owner leaves duty, and what counts as a
// valid owner. It knows nothing of gRPC, SQL, Redis or Kafka; the store it
// needs is declared in ports.go.
package routing

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Roles as named in the domain (and in tokens).
const (
	RoleTeller             = "teller"
	RoleLobbyManager       = "lobby_manager"
	RoleComplaintManager   = "complaint_manager"
	RoleBranchHead         = "branch_head"
	RoleRegionalSupervisor = "regional_supervisor"
	RoleHeadOffice         = "head_office"
	RoleTechSupport        = "tech_support"
	RoleCompliance         = "compliance"
	RoleLegal              = "legal"
)

// Roles lists every staff role routing knows, in ladder order.
var Roles = []string{RoleTeller, RoleLobbyManager, RoleComplaintManager, RoleBranchHead,
	RoleRegionalSupervisor, RoleHeadOffice, RoleTechSupport, RoleCompliance, RoleLegal}

// Skills rules can ask for.
var Skills = []string{"foreign_exchange", "corporate_accounts", "elderly_service", "foreign_languages",
	"sign_language", "wealth_management", "cash_handling"}

// Ladder levels, lowest first.
const (
	LevelFirstReceiver    = "first_receiver"
	LevelComplaintManager = "complaint_manager"
	LevelBranchHead       = "branch_head"
	LevelRegional         = "regional"
	LevelHeadOffice       = "head_office"
	LevelDepartment       = "department"
)

// ladder is the escalation ladder, one role per rung above the first
// receiver.
var ladder = []struct{ level, role string }{
	{LevelComplaintManager, RoleComplaintManager},
	{LevelBranchHead, RoleBranchHead},
	{LevelRegional, RoleRegionalSupervisor},
	{LevelHeadOffice, RoleHeadOffice},
}

// LevelOf is the ladder level of a role.
func LevelOf(role string) string {
	switch role {
	case RoleTeller, RoleLobbyManager:
		return LevelFirstReceiver
	case RoleComplaintManager:
		return LevelComplaintManager
	case RoleBranchHead:
		return LevelBranchHead
	case RoleRegionalSupervisor:
		return LevelRegional
	case RoleHeadOffice:
		return LevelHeadOffice
	case RoleTechSupport, RoleCompliance, RoleLegal:
		return LevelDepartment
	}
	return ""
}

// rungOf is a level's place on the ladder: first receiver 0 … head office
// 4; departments stand beside the branch head (a department hands a case
// back, or up to head office).
func rungOf(level string) int {
	switch level {
	case LevelFirstReceiver:
		return 0
	case LevelComplaintManager:
		return 1
	case LevelBranchHead, LevelDepartment:
		return 2
	case LevelRegional:
		return 3
	case LevelHeadOffice:
		return 4
	}
	return -1
}

// IsBranchRole: the role works at one branch.
func IsBranchRole(role string) bool {
	switch role {
	case RoleTeller, RoleLobbyManager, RoleComplaintManager, RoleBranchHead:
		return true
	}
	return false
}

// IsDepartment: tech support, compliance, legal.
func IsDepartment(role string) bool { return LevelOf(role) == LevelDepartment }

// Staff is a member of staff as routing knows them.
type Staff struct {
	ID, Name, Role, Branch, Region string
	AuthorityLevel                 int
	Skills                         []string
	Active, OnDuty                 bool
	// Email is their work address for staff alerts; empty when the bank
	// gave none.
	Email string
	// Load is the number of open cases they own now.
	Load int
	// LastAssigned is when routing last gave them a case (round robin
	// among equally loaded staff); zero: never.
	LastAssigned time.Time
}

// Available: may be given cases now.
func (s Staff) Available() bool { return s.Active && s.OnDuty }

// HasSkill reports whether s has skill (an empty skill: everyone has it).
func (s Staff) HasSkill(skill string) bool { return skill == "" || slices.Contains(s.Skills, skill) }

// OpeningPeriod is when a branch is open on some weekdays, local time.
type OpeningPeriod struct {
	Weekdays      []int  `json:"weekdays"` // ISO 1 Monday … 7 Sunday
	Opens, Closes string // "HH:MM"
}

// Branch is a branch.
type Branch struct {
	ID, Region, Name, TimeZone, CalendarID string
	Hours                                  []OpeningPeriod
	// Staff who work at the branch.
	Staff []Staff
}

// ComplaintManager returns the branch's complaint manager (投诉管理人), the
// owner of cases nobody at the counter can settle: the available one with
// the least load; banks that name none fall back to the lobby manager, then
// the branch head.
func (b Branch) ComplaintManager() (Staff, bool) {
	for _, role := range []string{RoleComplaintManager, RoleLobbyManager, RoleBranchHead} {
		if s, ok := pick(b.Staff, func(s Staff) bool { return s.Role == role && s.Available() }); ok {
			return s, true
		}
	}
	return Staff{}, false
}

// Pool is everyone who may own a case of one branch: its own staff, its
// region's staff and the bank's head office and departments.
type Pool struct {
	Branch Branch
	// Others are the region's and the bank's staff (no branch).
	Others []Staff
}

// All returns every staff member of the pool.
func (p Pool) All() []Staff { return append(slices.Clone(p.Branch.Staff), p.Others...) }

// Find returns the pool's staff member with id.
func (p Pool) Find(id string) (Staff, bool) {
	for _, s := range p.All() {
		if s.ID == id {
			return s, true
		}
	}
	return Staff{}, false
}

// InScope: s may own a case of the pool's branch in role terms: branch
// roles of this branch, the regional role of its region, head office and
// departments of the bank.
func (p Pool) InScope(s Staff) bool {
	switch {
	case IsBranchRole(s.Role):
		return s.Branch == p.Branch.ID
	case s.Role == RoleRegionalSupervisor:
		return s.Region == p.Branch.Region
	default:
		return LevelOf(s.Role) != ""
	}
}

// OfRole returns the pool's in-scope staff of role.
func (p Pool) OfRole(role string) []Staff {
	var out []Staff
	for _, s := range p.All() {
		if s.Role == role && p.InScope(s) {
			out = append(out, s)
		}
	}
	return out
}

// pick chooses among staff matching ok the one with the least open load,
// ties going to whoever was given a case longest ago (round robin), then by
// id so the choice is deterministic.
func pick(staff []Staff, ok func(Staff) bool) (Staff, bool) {
	var cands []Staff
	for _, s := range staff {
		if ok(s) {
			cands = append(cands, s)
		}
	}
	if len(cands) == 0 {
		return Staff{}, false
	}
	slices.SortFunc(cands, func(a, b Staff) int {
		return cmp.Or(cmp.Compare(a.Load, b.Load), a.LastAssigned.Compare(b.LastAssigned), cmp.Compare(a.ID, b.ID))
	})
	return cands[0], true
}

// Choose returns the available in-scope staff member of role (with skill,
// when given) routing would give a case to now.
func (p Pool) Choose(role, skill string) (Staff, bool) {
	return pick(p.All(), func(s Staff) bool {
		return s.Role == role && p.InScope(s) && s.Available() && s.HasSkill(skill)
	})
}

// Owner is who owns a case: a staff member, or a role queue of the case's
// branch (owned by the role's on-duty staff until one claims it). Exactly
// one of the two is set.
type Owner struct {
	Staff string
	Role  string
}

// IsRole: the case waits in a role queue.
func (o Owner) IsRole() bool { return o.Staff == "" && o.Role != "" }

func (o Owner) String() string {
	if o.IsRole() {
		return "role queue " + o.Role
	}
	return o.Staff
}

// Kinds of hand-over.
const (
	KindAssign   = "assign"
	KindClaim    = "claim"
	KindTransfer = "transfer"
	KindEscalate = "escalate"
	KindReturn   = "return"
	KindBreach   = "breach"
	KindReroute  = "reroute"
)

// Reasons recorded with an assignment.
const (
	ReasonFirstResponder   = "first_responder"
	ReasonComplaintManager = "complaint_manager_default"
	ReasonClaim            = "claim"
	ReasonTransfer         = "transfer"
	ReasonEscalation       = "escalation"
	ReasonReturn           = "return"
	ReasonBreachEscalation = "escalated_on_breach"
	ReasonOffDuty          = "rerouted_off_duty"
	ReasonDeactivated      = "rerouted_deactivated"
	ReasonOwnerMissing     = "owner_missing"
	// ReasonBranchChanged: the case moved to another branch (intake's
	// moveBranch) and was routed there afresh.
	ReasonBranchChanged = "branch_changed"
)

// Case is what routing knows of a case.
type Case struct {
	ID, Tenant, Branch, Region string
	Category, Severity         string
	Channel, Tier, Skill       string
	// ReportedBy is the staff member who registered it; empty when a bank
	// system registered it alone.
	ReportedBy string
}

// Notify is a role to tell of an assignment.
type Notify struct {
	Role    string
	Staff   []string
	AtOnce  bool
	Because string
}

// Assignment is routing's decision for a case.
type Assignment struct {
	CaseID, Tenant, Branch, Region string
	Owner                          Owner
	FirstResponder                 string
	Level                          string
	Reason, Kind                   string
	PickupPending                  bool
	Notify                         []Notify
	At                             time.Time
	// Cause is the event that caused the hand-over (a breach), recorded
	// once.
	Cause string
}

// Domain errors; adapters translate them.
var (
	// ErrNoOwner: the branch has nobody who can own a case.
	ErrNoOwner = errors.New("branch has no active staff who can own a case")
	// ErrClosed: the case is answered, closed or withdrawn; nobody hands it over.
	ErrClosed = errors.New("the case is not open (answered, closed or withdrawn)")
	// ErrNothingToClaim: nothing waits to be picked up (somebody claimed it first).
	ErrNothingToClaim = errors.New("nothing waits to be picked up")
	// ErrNotPermitted: the caller's role or place may not do this to this case.
	ErrNotPermitted = errors.New("not permitted")
	// ErrBadTarget: the target of a hand-over cannot take the case.
	ErrBadTarget = errors.New("cannot take the case")
	// ErrTopOfLadder: head office owns the case; there is no level above.
	ErrTopOfLadder = errors.New("head office owns the case; there is no level above")
	// ErrNothingToReturn: the case was never handed to its owner by anybody.
	ErrNothingToReturn = errors.New("nobody handed the case over; there is nobody to return it to")
)

// RequiredAuthority is the authority level a case's complexity needs of
// its owner: a normal case 1 (counter), a complex or major case 2 (branch).
func RequiredAuthority(severity string) int {
	switch severity {
	case "SEVERITY_COMPLEX", "SEVERITY_MAJOR":
		return 2
	}
	return 1
}

// ChannelResponder is how a case registered by a bank system alone records
// who received it: the channel, truthfully.
func ChannelResponder(channel string) string {
	if channel == "" {
		channel = "CHANNEL_UNSPECIFIED"
	}
	return "channel:" + channel
}

// AssignNew decides who owns a new case: the first rule that names an owner
// role chooses it (least-loaded available staff of that role, with the
// rule's skill); with no such rule the first receiver keeps it when within
// their authority, else the branch's complaint manager. Every matching
// rule's notifications apply. The first receiver is recorded as it was: a
// staff member, or the channel when a bank system registered the case.
func AssignNew(rules []Rule, p Pool, c Case, at time.Time) (Assignment, error) {
	a := Assignment{CaseID: c.ID, Tenant: c.Tenant, Branch: p.Branch.ID, Region: p.Branch.Region, Kind: KindAssign, At: at}
	a.FirstResponder = c.ReportedBy
	if a.FirstResponder == "" {
		a.FirstResponder = ChannelResponder(c.Channel)
	}
	var ruleOwner *Rule
	for i, r := range rules {
		if !r.Matches(c) {
			continue
		}
		if r.OwnerRole != "" && ruleOwner == nil {
			ruleOwner = &rules[i]
		}
		for _, role := range r.NotifyRoles {
			a.Notify = addNotify(a.Notify, p, role, r.NotifyAtOnce, r.Name)
		}
	}
	if ruleOwner != nil {
		skill := cmp.Or(ruleOwner.RequiredSkill, c.Skill)
		s, ok := p.Choose(ruleOwner.OwnerRole, skill)
		if !ok && skill != "" {
			s, ok = p.Choose(ruleOwner.OwnerRole, "")
		}
		if ok {
			a.Owner, a.Level, a.Reason = Owner{Staff: s.ID}, LevelOf(s.Role), "rule:"+ruleOwner.Name
			return a, nil
		}
		// Nobody of the rule's role is on duty: the branch head answers for it.
		return fallback(p, a, c)
	}
	if c.ReportedBy != "" {
		if s, ok := p.Find(c.ReportedBy); ok && s.Available() && s.Branch == p.Branch.ID &&
			s.AuthorityLevel >= RequiredAuthority(c.Severity) && s.HasSkill(c.Skill) {
			a.Owner, a.Level, a.Reason = Owner{Staff: s.ID}, LevelOf(s.Role), ReasonFirstResponder
			return a, nil
		}
	}
	if s, ok := p.Branch.ComplaintManager(); ok {
		a.Owner, a.Level, a.Reason = Owner{Staff: s.ID}, LevelOf(s.Role), ReasonComplaintManager
		return a, nil
	}
	return fallback(p, a, c)
}

// fallback gives a case whose owner cannot be found to the branch head
// (on duty or not: they answer for the branch); with no branch head, to
// whoever of the branch's complaint chain is on duty, then up the ladder
// (regional service management, head office); as a last resort to anyone
// still at the branch.
func fallback(p Pool, a Assignment, c Case) (Assignment, error) {
	take := func(s Staff) (Assignment, error) {
		a.Owner, a.Level, a.Reason = Owner{Staff: s.ID}, LevelOf(s.Role), ReasonOwnerMissing
		return a, nil
	}
	if s, ok := pick(p.Branch.Staff, func(s Staff) bool { return s.Role == RoleBranchHead && s.Active }); ok {
		return take(s)
	}
	for _, role := range []string{RoleComplaintManager, RoleLobbyManager, RoleRegionalSupervisor, RoleHeadOffice} {
		if s, ok := p.Choose(role, ""); ok {
			return take(s)
		}
	}
	for _, role := range []string{RoleComplaintManager, RoleLobbyManager} {
		if s, ok := pick(p.Branch.Staff, func(s Staff) bool { return s.Role == role && s.Active }); ok {
			return take(s)
		}
	}
	return Assignment{}, fmt.Errorf("branch %s, case %s: %w", p.Branch.ID, c.ID, ErrNoOwner)
}

func addNotify(ns []Notify, p Pool, role string, atOnce bool, because string) []Notify {
	for i := range ns {
		if ns[i].Role == role {
			ns[i].AtOnce = ns[i].AtOnce || atOnce
			return ns
		}
	}
	n := Notify{Role: role, AtOnce: atOnce, Because: because}
	for _, s := range p.OfRole(role) {
		if s.Active {
			n.Staff = append(n.Staff, s.ID)
		}
	}
	return append(ns, n)
}

// Queued is an open case as the live queues show it.
type Queued struct {
	CaseID, Tenant, Branch string
	Owner                  Owner
	Severity               string
	PickupPending          bool
	EnqueuedAt             time.Time
	// DueAt is the nearest deadline routing heard of: the pick-up while a
	// hand-over waits, else the answer; zero when none is known yet.
	DueAt time.Time
}

// Priority orders the queues: 0 major, 1 complex, 2 normal.
func (q Queued) Priority() int {
	switch q.Severity {
	case "SEVERITY_MAJOR":
		return 0
	case "SEVERITY_COMPLEX":
		return 1
	}
	return 2
}

// Score is the queue order: priority first, then the nearest deadline (the
// time the case was queued while no deadline is known), in milliseconds.
func (q Queued) Score() int64 {
	at := q.DueAt
	if at.IsZero() {
		at = q.EnqueuedAt
	}
	return int64(q.Priority())*1e13 + at.UnixMilli()
}
