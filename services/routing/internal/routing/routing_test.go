// Protects the ownership rules: who owns a new case by the bank's rules,
// who may claim, transfer, escalate and return it, the ladder, and what
// counts as a valid owner. Pure logic, no store.
package routing

import (
	"errors"
	"slices"
	"testing"
	"time"
)

var at = time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)

func on(s Staff) Staff { s.Active, s.OnDuty = true, true; return s }

// demoPool: branch b1 of region r1 with two tellers, a lobby manager, two
// complaint managers, a branch head; the region's supervisor, another
// region's, head office and the departments.
func demoPool() Pool {
	return Pool{
		Branch: Branch{ID: "b1", Region: "r1", Staff: []Staff{
			on(Staff{ID: "t1", Role: RoleTeller, Branch: "b1", Region: "r1", AuthorityLevel: 1, Skills: []string{"foreign_languages"}}),
			on(Staff{ID: "t2", Role: RoleTeller, Branch: "b1", Region: "r1", AuthorityLevel: 1}),
			on(Staff{ID: "lm", Role: RoleLobbyManager, Branch: "b1", Region: "r1", AuthorityLevel: 1}),
			on(Staff{ID: "cm1", Role: RoleComplaintManager, Branch: "b1", Region: "r1", AuthorityLevel: 2, Load: 3}),
			on(Staff{ID: "cm2", Role: RoleComplaintManager, Branch: "b1", Region: "r1", AuthorityLevel: 2, Load: 1}),
			on(Staff{ID: "bh", Role: RoleBranchHead, Branch: "b1", Region: "r1", AuthorityLevel: 2}),
		}},
		Others: []Staff{
			on(Staff{ID: "sup1", Role: RoleRegionalSupervisor, Region: "r1", AuthorityLevel: 3}),
			on(Staff{ID: "sup2", Role: RoleRegionalSupervisor, Region: "r2", AuthorityLevel: 3}),
			on(Staff{ID: "ho", Role: RoleHeadOffice, AuthorityLevel: 4}),
			on(Staff{ID: "tech", Role: RoleTechSupport, AuthorityLevel: 3}),
			on(Staff{ID: "comp", Role: RoleCompliance, AuthorityLevel: 3}),
		},
	}
}

func (p Pool) with(id string, change func(*Staff)) Pool {
	p.Branch.Staff, p.Others = slices.Clone(p.Branch.Staff), slices.Clone(p.Others)
	for i := range p.Branch.Staff {
		if p.Branch.Staff[i].ID == id {
			change(&p.Branch.Staff[i])
		}
	}
	for i := range p.Others {
		if p.Others[i].ID == id {
			change(&p.Others[i])
		}
	}
	return p
}

func TestAssignNewFollowsTheDefaultRules(t *testing.T) {
	tests := []struct {
		name       string
		pool       Pool
		c          Case
		wantOwner  string
		wantReason string
		wantFirst  string
		wantNotify map[string]bool // role → at once
	}{
		{"the reporting teller keeps a normal case", demoPool(), Case{ReportedBy: "t1", Severity: "SEVERITY_NORMAL"},
			"t1", ReasonFirstResponder, "t1", nil},
		{"a complex case is beyond a teller: the least-loaded complaint manager", demoPool(), Case{ReportedBy: "t1", Severity: "SEVERITY_COMPLEX"},
			"cm2", ReasonComplaintManager, "t1", nil},
		{"a bank system alone: the complaint manager, the channel recorded as first receiver", demoPool(),
			Case{Channel: "CHANNEL_ONLINE", Severity: "SEVERITY_NORMAL"}, "cm2", ReasonComplaintManager, "channel:CHANNEL_ONLINE", nil},
		{"an off-duty reporter: the complaint manager, the reporter still the first receiver", demoPool().with("t1", func(s *Staff) { s.OnDuty = false }),
			Case{ReportedBy: "t1"}, "cm2", ReasonComplaintManager, "t1", nil},
		{"equipment failure: tech support, branch head told", demoPool(), Case{ReportedBy: "t1", Category: "CATEGORY_EQUIPMENT_FAILURE"},
			"tech", "rule:equipment", "t1", map[string]bool{RoleBranchHead: false}},
		{"suspected fraud: compliance, branch head told at once", demoPool(), Case{ReportedBy: "t2", Category: "CATEGORY_SUSPECTED_FRAUD"},
			"comp", "rule:fraud", "t2", map[string]bool{RoleBranchHead: true}},
		{"a major case: the branch head, head office told", demoPool(), Case{ReportedBy: "t2", Severity: "SEVERITY_MAJOR", Category: "CATEGORY_SERVICE_ATTITUDE"},
			"bh", "rule:major", "t2", map[string]bool{RoleHeadOffice: true}},
		{"major fraud: compliance owns it, branch head and head office told", demoPool(),
			Case{Severity: "SEVERITY_MAJOR", Category: "CATEGORY_SUSPECTED_FRAUD"},
			"comp", "rule:fraud", "channel:CHANNEL_UNSPECIFIED", map[string]bool{RoleBranchHead: true, RoleHeadOffice: true}},
		{"nobody of the rule's role on duty: the branch head answers for it", demoPool().with("tech", func(s *Staff) { s.OnDuty = false }),
			Case{Category: "CATEGORY_SYSTEM_FAILURE"}, "bh", ReasonOwnerMissing, "channel:CHANNEL_UNSPECIFIED", map[string]bool{RoleBranchHead: false}},
		{"a skill the reporter lacks: the complaint manager", demoPool(), Case{ReportedBy: "t2", Skill: "foreign_languages"},
			"cm2", ReasonComplaintManager, "t2", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.c.ID, tt.c.Tenant, tt.c.Branch = "c1", "bank", "b1"
			a, err := AssignNew(DefaultRules(), tt.pool, tt.c, at)
			if err != nil {
				t.Fatal(err)
			}
			if a.Owner != (Owner{Staff: tt.wantOwner}) || a.Reason != tt.wantReason || a.FirstResponder != tt.wantFirst || a.Kind != KindAssign || a.PickupPending {
				t.Errorf("got owner %v reason %s first %s kind %s, want %s %s %s", a.Owner, a.Reason, a.FirstResponder, a.Kind, tt.wantOwner, tt.wantReason, tt.wantFirst)
			}
			got := map[string]bool{}
			for _, n := range a.Notify {
				got[n.Role] = n.AtOnce
				if len(n.Staff) == 0 {
					t.Errorf("notify %s resolved to nobody", n.Role)
				}
			}
			if len(got) != len(tt.wantNotify) {
				t.Errorf("notify %v, want %v", got, tt.wantNotify)
			}
			for r, once := range tt.wantNotify {
				if g, ok := got[r]; !ok || g != once {
					t.Errorf("notify %v, want %v", got, tt.wantNotify)
				}
			}
		})
	}
}

func TestAssignNewRefusesABranchWithNobody(t *testing.T) {
	p := Pool{Branch: Branch{ID: "b9", Staff: []Staff{{ID: "x", Role: RoleTeller, Branch: "b9"}}}}
	if _, err := AssignNew(DefaultRules(), p, Case{ID: "c", Branch: "b9"}, at); !errors.Is(err, ErrNoOwner) {
		t.Fatalf("err = %v, want ErrNoOwner", err)
	}
}

func TestEqualLoadsGoRoundRobin(t *testing.T) {
	p := demoPool().with("cm1", func(s *Staff) { s.Load = 1; s.LastAssigned = at.Add(-time.Minute) }).
		with("cm2", func(s *Staff) { s.LastAssigned = at.Add(-time.Hour) })
	got, _ := p.Choose(RoleComplaintManager, "")
	if got.ID != "cm2" {
		t.Fatalf("chose %s, want cm2 (same load, assigned longest ago)", got.ID)
	}
	p = p.with("cm2", func(s *Staff) { s.LastAssigned = at })
	if got, _ := p.Choose(RoleComplaintManager, ""); got.ID != "cm1" {
		t.Fatalf("chose %s, want cm1 once cm2 had the last one", got.ID)
	}
}

func TestClaimFromARoleQueue(t *testing.T) {
	c := Current{CaseID: "c", Branch: "b1", Region: "r1", Owner: Owner{Role: RoleComplaintManager}, Open: true, PickupPending: true}
	p := demoPool()
	a, err := Claim(p, c, Actor{ID: "cm1"}, at)
	if err != nil || a.Owner != (Owner{Staff: "cm1"}) || a.PickupPending || a.Kind != KindClaim {
		t.Fatalf("claim by a complaint manager: %+v, %v", a, err)
	}
	for _, who := range []string{"t1", "bh", "sup1", "nobody"} {
		if _, err := Claim(p, c, Actor{ID: who}, at); !errors.Is(err, ErrNotPermitted) {
			t.Errorf("claim by %s: %v, want ErrNotPermitted", who, err)
		}
	}
	if _, err := Claim(p.with("cm1", func(s *Staff) { s.OnDuty = false }), c, Actor{ID: "cm1"}, at); !errors.Is(err, ErrNotPermitted) {
		t.Errorf("an off-duty claim: %v", err)
	}
	claimed := c
	claimed.Owner, claimed.PickupPending = Owner{Staff: "cm1"}, false
	if _, err := Claim(p, claimed, Actor{ID: "cm2"}, at); !errors.Is(err, ErrNothingToClaim) {
		t.Errorf("a second claim: %v, want ErrNothingToClaim", err)
	}
	closed := c
	closed.Open = false
	if _, err := Claim(p, closed, Actor{ID: "cm1"}, at); !errors.Is(err, ErrClosed) {
		t.Errorf("claim of a closed case: %v", err)
	}
}

func TestClaimOfAPersonalHandOver(t *testing.T) {
	c := Current{CaseID: "c", Branch: "b1", Owner: Owner{Staff: "bh"}, Level: LevelBranchHead, Open: true, PickupPending: true}
	if _, err := Claim(demoPool(), c, Actor{ID: "cm1"}, at); !errors.Is(err, ErrNotPermitted) {
		t.Errorf("somebody else picked up bh's hand-over: %v", err)
	}
	a, err := Claim(demoPool(), c, Actor{ID: "bh"}, at)
	if err != nil || a.PickupPending || a.Owner.Staff != "bh" || a.Level != LevelBranchHead {
		t.Errorf("bh picks up: %+v %v", a, err)
	}
}

func TestTransfer(t *testing.T) {
	c := Current{CaseID: "c", Branch: "b1", Region: "r1", Owner: Owner{Staff: "t1"}, Level: LevelFirstReceiver, Severity: "SEVERITY_COMPLEX", Open: true}
	p := demoPool()
	a, err := Transfer(p, c, Actor{ID: "t1", Role: RoleTeller, Branch: "b1"}, Owner{Role: RoleComplaintManager}, at)
	if err != nil || !a.Owner.IsRole() || a.Owner.Role != RoleComplaintManager || !a.PickupPending || a.Level != LevelComplaintManager {
		t.Fatalf("transfer to the complaint managers' queue: %+v %v", a, err)
	}
	cases := []struct {
		name  string
		actor Actor
		to    Owner
		want  error
	}{
		{"somebody else's case", Actor{ID: "t2", Role: RoleTeller, Branch: "b1"}, Owner{Staff: "cm1"}, ErrNotPermitted},
		{"to a teller without the authority a complex case needs", Actor{ID: "t1"}, Owner{Staff: "t2"}, ErrBadTarget},
		{"to staff of another branch's region", Actor{ID: "t1"}, Owner{Staff: "sup2"}, ErrBadTarget},
		{"to a role nobody is on duty for", Actor{ID: "t1"}, Owner{Role: RoleLegal}, ErrBadTarget},
		{"to the owner", Actor{ID: "t1"}, Owner{Staff: "t1"}, ErrBadTarget},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Transfer(p, c, tt.actor, tt.to, at); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := Transfer(p.with("cm1", func(s *Staff) { s.OnDuty = false }), c, Actor{ID: "t1"}, Owner{Staff: "cm1"}, at); !errors.Is(err, ErrBadTarget) {
		t.Errorf("transfer to somebody off duty: %v", err)
	}
	// The branch head may move any case of the branch.
	if a, err := Transfer(p, c, Actor{ID: "bh", Role: RoleBranchHead, Branch: "b1"}, Owner{Staff: "cm1"}, at); err != nil || a.Owner.Staff != "cm1" {
		t.Errorf("branch head transfers: %+v %v", a, err)
	}
}

func TestEscalationClimbsTheWholeLadder(t *testing.T) {
	p := demoPool()
	c := Current{CaseID: "c", Branch: "b1", Region: "r1", Owner: Owner{Staff: "t1"}, Level: LevelFirstReceiver, Open: true}
	for _, want := range []struct{ owner, level string }{
		{"cm2", LevelComplaintManager}, {"bh", LevelBranchHead}, {"sup1", LevelRegional}, {"ho", LevelHeadOffice},
	} {
		a, err := Escalate(p, c, Actor{ID: c.Owner.Staff}, "", at)
		if err != nil || a.Owner.Staff != want.owner || a.Level != want.level || !a.PickupPending || a.Kind != KindEscalate {
			t.Fatalf("escalate from %s: %+v %v, want %s at %s", c.Owner.Staff, a, err, want.owner, want.level)
		}
		c.Owner, c.Level = a.Owner, a.Level
	}
	if _, err := Escalate(p, c, Actor{ID: "ho"}, "", at); !errors.Is(err, ErrTopOfLadder) {
		t.Errorf("escalate from head office: %v", err)
	}
	// A branch without a complaint manager on duty skips the rung.
	p2 := p.with("cm1", func(s *Staff) { s.OnDuty = false }).with("cm2", func(s *Staff) { s.Active = false })
	c2 := Current{CaseID: "c", Branch: "b1", Region: "r1", Owner: Owner{Staff: "t1"}, Level: LevelFirstReceiver, Open: true}
	if a, err := Escalate(p2, c2, Actor{ID: "t1"}, "", at); err != nil || a.Owner.Staff != "bh" {
		t.Errorf("escalate with no complaint manager: %+v %v, want bh", a, err)
	}
	// To a department.
	if a, err := Escalate(p, c2, Actor{ID: "t1"}, RoleCompliance, at); err != nil || a.Owner.Staff != "comp" || a.Level != LevelDepartment {
		t.Errorf("escalate to compliance: %+v %v", a, err)
	}
}

func TestBreachEscalatesOneLevelAndStopsAtTheTop(t *testing.T) {
	p := demoPool()
	c := Current{CaseID: "c", Branch: "b1", Region: "r1", Owner: Owner{Staff: "cm1"}, Level: LevelComplaintManager, Open: true}
	a, ok := EscalateOnBreach(p, c, "DEADLINE_KIND_FIRST_ANSWER", at)
	if !ok || a.Owner.Staff != "bh" || a.Reason != "escalated_on_breach:DEADLINE_KIND_FIRST_ANSWER" || a.Kind != KindBreach {
		t.Fatalf("breach: %+v %v", a, ok)
	}
	// A role-queue case nobody claimed climbs from the queue's level.
	q := Current{CaseID: "c", Branch: "b1", Region: "r1", Owner: Owner{Role: RoleComplaintManager}, Level: LevelComplaintManager, Open: true, PickupPending: true}
	if a, ok := EscalateOnBreach(p, q, "DEADLINE_KIND_HANDOVER_PICKUP", at); !ok || a.Owner.Staff != "bh" {
		t.Errorf("unclaimed queue breach: %+v %v", a, ok)
	}
	top := Current{CaseID: "c", Branch: "b1", Owner: Owner{Staff: "ho"}, Level: LevelHeadOffice, Open: true}
	if _, ok := EscalateOnBreach(p, top, "x", at); ok {
		t.Error("head office escalated further")
	}
	closed := c
	closed.Open = false
	if _, ok := EscalateOnBreach(p, closed, "x", at); ok {
		t.Error("a closed case escalated")
	}
}

func TestReturnGoesBackToWhoeverHandedItOver(t *testing.T) {
	p := demoPool()
	c := Current{CaseID: "c", Branch: "b1", Owner: Owner{Staff: "comp"}, Level: LevelDepartment, Open: true, HandedBy: Owner{Staff: "cm1"}}
	a, err := Return(p, c, Actor{ID: "comp"}, at)
	if err != nil || a.Owner.Staff != "cm1" || !a.PickupPending || a.Kind != KindReturn || a.Level != LevelComplaintManager {
		t.Fatalf("return: %+v %v", a, err)
	}
	if _, err := Return(p, c, Actor{ID: "cm2"}, at); !errors.Is(err, ErrNotPermitted) {
		t.Errorf("return by a non-owner: %v", err)
	}
	c.HandedBy = Owner{}
	if _, err := Return(p, c, Actor{ID: "comp"}, at); !errors.Is(err, ErrNothingToReturn) {
		t.Errorf("return of a case nobody handed over: %v", err)
	}
}

func TestValidOwnersAndRerouting(t *testing.T) {
	p := demoPool().with("t1", func(s *Staff) { s.OnDuty = false })
	for o, want := range map[Owner]bool{
		{Staff: "t2"}: true, {Staff: "t1"}: false, {Staff: "gone"}: false,
		{Role: RoleComplaintManager}: true, {Role: RoleLegal}: false,
	} {
		if got := Valid(p, o); got != want {
			t.Errorf("Valid(%v) = %v, want %v", o, got, want)
		}
	}
	// The branch head answers for the branch even off duty.
	if !Valid(p.with("bh", func(s *Staff) { s.OnDuty = false }), Owner{Staff: "bh"}) {
		t.Error("an off-duty branch head is not a valid owner")
	}
	c := Current{CaseID: "c", Branch: "b1", Owner: Owner{Staff: "t1"}, Level: LevelFirstReceiver, Open: true}
	a, alert, err := Reroute(p, c, ReasonOffDuty, at)
	if err != nil || alert || a.Owner.Staff != "t2" || a.Reason != ReasonOffDuty || a.Kind != KindReroute {
		t.Fatalf("reroute to the other teller: %+v %v %v", a, alert, err)
	}
	p = p.with("t2", func(s *Staff) { s.Active = false })
	a, alert, err = Reroute(p, c, ReasonOffDuty, at)
	if err != nil || !alert || a.Owner.Staff != "bh" || a.Reason != ReasonOwnerMissing {
		t.Fatalf("reroute with no teller left: %+v %v %v, want the branch head and an alert", a, alert, err)
	}
}

func TestValidateRules(t *testing.T) {
	known := map[string][]string{"categories": {"CATEGORY_SUSPECTED_FRAUD", "CATEGORY_IDENTITY_MISMATCH"}, "severities": {"SEVERITY_MAJOR"}}
	if err := ValidateRules(DefaultRules()[1:2], known); err != nil {
		t.Fatalf("the fraud default: %v", err)
	}
	for rs, field := range map[*[]Rule]string{
		{{Name: "Bad Name"}}:                                 "rules[0].name",
		{{Name: "a"}, {Name: "a"}}:                           "rules[1].name",
		{{Name: "a", Categories: []string{"CATEGORY_NOPE"}}}: "rules[0].categories[0]",
		{{Name: "a", OwnerRole: "janitor"}}:                  "rules[0].ownerRole",
		{{Name: "a", NotifyRoles: []string{"x"}}}:            "rules[0].notifyRoles[0]",
		{{Name: "a", RequiredSkill: "juggling"}}:             "rules[0].requiredSkill",
	} {
		var re *RuleError
		if err := ValidateRules(*rs, known); !errors.As(err, &re) || re.Field != field {
			t.Errorf("%v: err %v, want a problem with %s", *rs, err, field)
		}
	}
}

// A case moved to another branch is routed there as a new case would be,
// to its complaint manager by default, whoever first received it; the
// first receiver is kept on record, and the new owner has to pick it up.
func TestAMovedCaseGoesToTheNewBranchsComplaintManager(t *testing.T) {
	p := demoPool()
	cur := Current{CaseID: "c", Tenant: "bank-a", Branch: "b0", Region: "r0", Owner: Owner{Staff: "t9"}, Level: LevelFirstReceiver,
		FirstResponder: "t9", Open: true}
	c := Case{ID: "c", Tenant: "bank-a", Branch: "b1", Region: "r1", Category: "CATEGORY_FEE_DISPUTE", Severity: "SEVERITY_NORMAL",
		ReportedBy: "t1"}
	a, err := MoveToBranch(DefaultRules(), p, cur, c, at)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := p.Find(a.Owner.Staff)
	if s.Role != RoleComplaintManager || a.Branch != "b1" || a.Region != "r1" || a.Kind != KindReroute ||
		a.Reason != ReasonBranchChanged || !a.PickupPending || a.FirstResponder != "t9" {
		t.Errorf("moved: %+v, want the b1 complaint manager, kind reroute, reason branch_changed, to be picked up", a)
	}
	cur.Open = false
	if _, err := MoveToBranch(DefaultRules(), p, cur, c, at); !errors.Is(err, ErrClosed) {
		t.Errorf("moving a closed case: %v, want ErrClosed", err)
	}
}
