// Package routing is the domain of case ownership: who becomes the owner of a
// new case under first-responder responsibility (首问负责制), and who stands
// in for a branch when nobody reported the case. It knows nothing of gRPC,
// SQL, Redis or Kafka.
package routing

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Roles as named in the domain (and in tokens).
const (
	RoleTeller           = "teller"
	RoleLobbyManager     = "lobby_manager"
	RoleComplaintManager = "complaint_manager"
	RoleBranchHead       = "branch_head"
)

// Reasons recorded with an assignment.
const (
	ReasonFirstResponder   = "first_responder"
	ReasonComplaintManager = "complaint_manager_default"
)

// Staff is a member of staff as routing knows them.
type Staff struct {
	ID, Name, Role, Branch, Region string
	AuthorityLevel                 int
	Active                         bool
}

// Branch is a branch with its staff.
type Branch struct {
	ID, Region, Name, TimeZone, CalendarID string
	Staff                                  []Staff
}

// ErrNoOwner: the branch has nobody who can own a case.
var ErrNoOwner = errors.New("branch has no active staff who can own a case")

// ComplaintManager returns the branch's complaint manager (投诉管理人). Banks
// where the lobby manager is also complaint manager, or that name none, fall
// back to the lobby manager, then the branch head, so a case always lands
// with someone who has branch-level authority.
func (b Branch) ComplaintManager() (Staff, bool) {
	for _, role := range []string{RoleComplaintManager, RoleLobbyManager, RoleBranchHead} {
		var cands []Staff
		for _, s := range b.Staff {
			if s.Active && s.Role == role {
				cands = append(cands, s)
			}
		}
		if len(cands) > 0 {
			slices.SortFunc(cands, func(a, b Staff) int {
				switch {
				case a.ID < b.ID:
					return -1
				case a.ID > b.ID:
					return 1
				}
				return 0
			})
			return cands[0], true
		}
	}
	return Staff{}, false
}

// Assignment is the decision for a new case.
type Assignment struct {
	CaseID, Tenant, Branch string
	Owner, FirstResponder  string
	Reason                 string
	At                     time.Time
}

// AssignNew decides who owns a new case: the staff member who reported it,
// if they are active at the branch; otherwise the branch's complaint manager.
func AssignNew(b Branch, caseID, tenant, reportedBy string, at time.Time) (Assignment, error) {
	a := Assignment{CaseID: caseID, Tenant: tenant, Branch: b.ID, At: at}
	if reportedBy != "" {
		for _, s := range b.Staff {
			if s.ID == reportedBy && s.Active {
				a.Owner, a.FirstResponder, a.Reason = s.ID, s.ID, ReasonFirstResponder
				return a, nil
			}
		}
	}
	cm, ok := b.ComplaintManager()
	if !ok {
		return Assignment{}, fmt.Errorf("branch %s: %w", b.ID, ErrNoOwner)
	}
	a.Owner, a.FirstResponder, a.Reason = cm.ID, cm.ID, ReasonComplaintManager
	return a, nil
}

// ReasonBreachEscalation is recorded when a breached deadline moves a case
// up the ladder.
const ReasonBreachEscalation = "escalated_on_breach"

// rung is a role's place on the escalation ladder within a branch: a case
// whose deadline breaches goes to the first active member of the next rung
// above its owner's (teller and lobby manager → complaint manager → branch
// head).
func rung(role string) int {
	switch role {
	case RoleTeller, RoleLobbyManager:
		return 0
	case RoleComplaintManager:
		return 1
	case RoleBranchHead:
		return 2
	}
	return -1
}

// EscalateOnBreach decides who owns a case of branch b, now owned by owner,
// after one of its deadlines breached: the first active staff member (by
// id) of the next rung up. ok is false when there is nobody above (the
// branch head owns it, or the branch has nobody higher): the case stays,
// and the breach is for the region to see.
func EscalateOnBreach(b Branch, owner string) (Staff, bool) {
	cur := -1
	for _, s := range b.Staff {
		if s.ID == owner {
			cur = rung(s.Role)
		}
	}
	for _, target := range []int{1, 2} {
		if target <= cur {
			continue
		}
		var first Staff
		for _, s := range b.Staff {
			if s.Active && rung(s.Role) == target && s.ID != owner && (first.ID == "" || s.ID < first.ID) {
				first = s
			}
		}
		if first.ID != "" {
			return first, true
		}
	}
	return Staff{}, false
}
