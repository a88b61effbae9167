package routing

import (
	"fmt"
	"time"
)

// Current is a case's ownership as stored.
type Current struct {
	CaseID, Tenant, Branch, Region string
	Owner                          Owner
	Level                          string
	Severity                       string
	FirstResponder                 string
	PickupPending                  bool
	Open                           bool
	// HandedBy is who handed the case to its current owner (transfer,
	// escalation); the zero Owner when routing assigned it.
	HandedBy Owner
}

// Actor is the person asking for a hand-over.
type Actor struct{ ID, Role, Branch, Region string }

// supervises: the actor stands above the case's branch — its branch head,
// its region's service management, head office.
func (a Actor) supervises(c Current) bool {
	switch a.Role {
	case RoleBranchHead:
		return a.Branch == c.Branch
	case RoleRegionalSupervisor:
		return a.Region == c.Region
	case RoleHeadOffice:
		return true
	}
	return false
}

// mayHandOver: the owner, or somebody who supervises the case's branch.
func (a Actor) mayHandOver(c Current) error {
	if (!c.Owner.IsRole() && c.Owner.Staff == a.ID) || a.supervises(c) {
		return nil
	}
	return fmt.Errorf("%w: only the case's owner (%s) or a supervisor of its branch may hand it over", ErrNotPermitted, c.Owner)
}

func (c Current) assignment(o Owner, level, reason, kind string, pending bool, at time.Time) Assignment {
	return Assignment{CaseID: c.CaseID, Tenant: c.Tenant, Branch: c.Branch, Region: c.Region, Owner: o,
		FirstResponder: c.FirstResponder, Level: level, Reason: reason, Kind: kind, PickupPending: pending, At: at}
}

// Claim: the actor picks up the case. A role-queue case may be claimed by
// any available in-scope staff member of that role; a hand-over to a
// person only by that person.
func Claim(p Pool, c Current, a Actor, at time.Time) (Assignment, error) {
	if !c.Open {
		return Assignment{}, ErrClosed
	}
	s, ok := p.Find(a.ID)
	if !ok || !s.Active {
		return Assignment{}, fmt.Errorf("%w: %s is not active staff who can take cases of branch %s", ErrNotPermitted, a.ID, c.Branch)
	}
	if c.Owner.IsRole() {
		if s.Role != c.Owner.Role || !p.InScope(s) {
			return Assignment{}, fmt.Errorf("%w: the case waits in the %s queue; the %s role may not take cases from it", ErrNotPermitted, c.Owner.Role, s.Role)
		}
		if !s.OnDuty {
			return Assignment{}, fmt.Errorf("%w: %s is off duty", ErrNotPermitted, s.ID)
		}
		return c.assignment(Owner{Staff: s.ID}, LevelOf(s.Role), ReasonClaim, KindClaim, false, at), nil
	}
	if !c.PickupPending {
		return Assignment{}, fmt.Errorf("%w: %s owns the case already", ErrNothingToClaim, c.Owner.Staff)
	}
	if c.Owner.Staff != s.ID {
		return Assignment{}, fmt.Errorf("%w: the case was handed to %s, not to %s", ErrNotPermitted, c.Owner.Staff, s.ID)
	}
	return c.assignment(Owner{Staff: s.ID}, c.Level, ReasonClaim, KindClaim, false, at), nil
}

// Transfer hands the case to a person or to a role queue of its branch.
func Transfer(p Pool, c Current, a Actor, to Owner, at time.Time) (Assignment, error) {
	if !c.Open {
		return Assignment{}, ErrClosed
	}
	if err := a.mayHandOver(c); err != nil {
		return Assignment{}, err
	}
	if to.IsRole() {
		if LevelOf(to.Role) == "" {
			return Assignment{}, fmt.Errorf("%w: %q is not a staff role", ErrBadTarget, to.Role)
		}
		if to == c.Owner {
			return Assignment{}, fmt.Errorf("%w: the case is in the %s queue already", ErrBadTarget, to.Role)
		}
		if _, ok := p.Choose(to.Role, ""); !ok {
			return Assignment{}, fmt.Errorf("%w: nobody of the %s role is on duty for branch %s", ErrBadTarget, to.Role, c.Branch)
		}
		return c.assignment(to, LevelOf(to.Role), ReasonTransfer, KindTransfer, true, at), nil
	}
	s, ok := p.Find(to.Staff)
	switch {
	case !ok || !p.InScope(s):
		return Assignment{}, fmt.Errorf("%w: %s is not staff who can take cases of branch %s", ErrBadTarget, to.Staff, c.Branch)
	case !s.Available():
		return Assignment{}, fmt.Errorf("%w: %s is not on duty", ErrBadTarget, s.ID)
	case s.ID == c.Owner.Staff:
		return Assignment{}, fmt.Errorf("%w: %s owns the case already", ErrBadTarget, s.ID)
	case s.AuthorityLevel < RequiredAuthority(c.Severity):
		return Assignment{}, fmt.Errorf("%w: the case needs authority level %d; %s has %d", ErrBadTarget, RequiredAuthority(c.Severity), s.ID, s.AuthorityLevel)
	}
	return c.assignment(Owner{Staff: s.ID}, LevelOf(s.Role), ReasonTransfer, KindTransfer, true, at), nil
}

// nextUp chooses the owner one level above level: the least-loaded
// available staff member of the first rung above with somebody available,
// skipping rungs the branch lacks.
func nextUp(p Pool, level string) (Staff, bool) {
	cur := rungOf(level)
	for i, r := range ladder {
		if i+1 <= cur {
			continue
		}
		if s, ok := p.Choose(r.role, ""); ok {
			return s, true
		}
	}
	return Staff{}, false
}

// NextUp is whom routing would escalate a case owned at level to now (by
// Escalate or EscalateOnBreach): the least-loaded available staff member of
// the first rung above level with somebody available. False at head office
// and when nobody above is on duty.
func NextUp(p Pool, level string) (Staff, bool) { return nextUp(p, level) }

// Escalate moves the case one level up the ladder, or to a department.
func Escalate(p Pool, c Current, a Actor, department string, at time.Time) (Assignment, error) {
	if !c.Open {
		return Assignment{}, ErrClosed
	}
	if err := a.mayHandOver(c); err != nil {
		return Assignment{}, err
	}
	if department != "" {
		if !IsDepartment(department) {
			return Assignment{}, fmt.Errorf("%w: %q is not a department (tech_support, compliance, legal)", ErrBadTarget, department)
		}
		s, ok := p.Choose(department, "")
		if !ok {
			return Assignment{}, fmt.Errorf("%w: nobody of %s is on duty", ErrBadTarget, department)
		}
		return c.assignment(Owner{Staff: s.ID}, LevelDepartment, ReasonEscalation, KindEscalate, true, at), nil
	}
	if c.Level == LevelHeadOffice {
		return Assignment{}, ErrTopOfLadder
	}
	s, ok := nextUp(p, c.Level)
	if !ok {
		return Assignment{}, fmt.Errorf("%w: nobody above %s is on duty", ErrBadTarget, c.Level)
	}
	return c.assignment(Owner{Staff: s.ID}, LevelOf(s.Role), ReasonEscalation, KindEscalate, true, at), nil
}

// Return hands the case back to whoever handed it to its owner.
func Return(p Pool, c Current, a Actor, at time.Time) (Assignment, error) {
	if !c.Open {
		return Assignment{}, ErrClosed
	}
	if c.Owner.IsRole() || c.Owner.Staff != a.ID {
		return Assignment{}, fmt.Errorf("%w: only the case's owner (%s) may return it", ErrNotPermitted, c.Owner)
	}
	back := c.HandedBy
	if back == (Owner{}) {
		return Assignment{}, ErrNothingToReturn
	}
	if back.IsRole() {
		return c.assignment(back, LevelOf(back.Role), ReasonReturn, KindReturn, true, at), nil
	}
	s, ok := p.Find(back.Staff)
	if !ok || !s.Available() {
		return Assignment{}, fmt.Errorf("%w: %s, who handed the case over, is not on duty", ErrBadTarget, back.Staff)
	}
	return c.assignment(back, LevelOf(s.Role), ReasonReturn, KindReturn, true, at), nil
}

// EscalateOnBreach moves a case whose deadline breached one level up. ok is
// false when there is nobody above (head office owns it): the case stays
// and the breach is for head office to see.
func EscalateOnBreach(p Pool, c Current, deadline string, at time.Time) (Assignment, bool) {
	if !c.Open || c.Level == LevelHeadOffice {
		return Assignment{}, false
	}
	level := c.Level
	if c.Owner.IsRole() || level == "" {
		level = LevelOf(c.Owner.Role)
	}
	s, ok := nextUp(p, level)
	if !ok {
		return Assignment{}, false
	}
	a := c.assignment(Owner{Staff: s.ID}, LevelOf(s.Role), ReasonBreachEscalation+":"+deadline, KindBreach, true, at)
	return a, true
}

// Valid reports whether o is a valid owner of a case of the pool's branch
// now: an active staff member on duty (a branch head answers for their
// branch on duty or not), or a role queue with somebody of the role on duty.
func Valid(p Pool, o Owner) bool {
	if o.IsRole() {
		_, ok := p.Choose(o.Role, "")
		return ok
	}
	s, ok := p.Find(o.Staff)
	return ok && s.Active && (s.OnDuty || s.Role == RoleBranchHead)
}

// Reroute finds a new owner for a case whose owner left duty or the bank:
// the least-loaded available staff member of the same role, else the role
// queue when somebody of the role is on duty, else the branch head (and
// the caller raises an alert: alert is true).
func Reroute(p Pool, c Current, reason string, at time.Time) (a Assignment, alert bool, err error) {
	role := c.Owner.Role
	if !c.Owner.IsRole() {
		if s, ok := p.Find(c.Owner.Staff); ok {
			role = s.Role
		}
	}
	if role != "" {
		if s, ok := pick(p.All(), func(s Staff) bool {
			return s.Role == role && p.InScope(s) && s.Available() && s.ID != c.Owner.Staff
		}); ok {
			return c.assignment(Owner{Staff: s.ID}, LevelOf(s.Role), reason, KindReroute, true, at), false, nil
		}
	}
	fb, err := fallback(p, c.assignment(Owner{}, "", reason, KindReroute, true, at), Case{ID: c.CaseID})
	if err != nil {
		return Assignment{}, true, err
	}
	fb.Reason = ReasonOwnerMissing
	return fb, true, nil
}

// MoveToBranch routes a case that moved to another branch afresh there, by
// the bank's rules as a new case at that branch (p is the new branch's
// pool, c the case's facts with its new branch): a rule's owner role, else
// the branch's complaint manager, else the branch head and up. Nobody at
// the old branch keeps it, and the first receiver is not asked again (they
// are not of the new branch). The new owner has to pick it up; the reason
// is branch_changed whoever it went to.
func MoveToBranch(rules []Rule, p Pool, cur Current, c Case, at time.Time) (Assignment, error) {
	if !cur.Open {
		return Assignment{}, ErrClosed
	}
	c.ReportedBy = ""
	a, err := AssignNew(rules, p, c, at)
	if err != nil {
		return Assignment{}, err
	}
	a.Kind, a.Reason, a.PickupPending = KindReroute, ReasonBranchChanged, true
	a.FirstResponder = cur.FirstResponder
	return a, nil
}
