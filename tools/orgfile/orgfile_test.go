package orgfile

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	routingv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/routing/v1"
)

// want is one expected problem: its line, its field and a part of its text.
type want struct {
	line    int
	field   string
	problem string
}

// assertErrors checks that err is an Errors with exactly the wanted
// problems, in order.
func assertErrors(t *testing.T, err error, wants []want) {
	t.Helper()
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("want Errors, got %v", err)
	}
	if len(es) != len(wants) {
		t.Fatalf("got %d problems, want %d:\n%v", len(es), len(wants), err)
	}
	for i, w := range wants {
		e := es[i]
		if e.Line != w.line || e.Field != w.field || !strings.Contains(e.Problem, w.problem) {
			t.Errorf("problem %d: got line %d field %q %q; want line %d field %q containing %q",
				i, e.Line, e.Field, e.Problem, w.line, w.field, w.problem)
		}
		if e.File != "org.test" {
			t.Errorf("problem %d names file %q", i, e.File)
		}
	}
}

// yamlHead is a valid start every YAML case goes on from, at line 10.
const yamlHead = `regions:
  - id: rg-a
    name: Region A
  - id: rg-b
    name: Region B
branches:
  - id: br-a
    regionId: rg-a
    name: Branch A
`

func TestYAMLProblems(t *testing.T) {
	for _, tc := range []struct {
		name  string
		body  string // after yamlHead; its first line is line 10
		wants []want
	}{
		{"staff of an unknown branch", `staff:
  - id: st-1
    displayName: One
    role: teller
    branchId: br-nowhere
    authorityLevel: 1
`, []want{{14, "staff[0].branchId", `no branch "br-nowhere" in the file`}}},
		{"branch of an unknown region", `  - id: br-b
    regionId: rg-nowhere
    name: Branch B
`, []want{{11, "branches[1].regionId", `no region "rg-nowhere" in the file`}}},
		{"branch without a region", `  - id: br-b
    name: Branch B
`, []want{{10, "branches[1].regionId", "is required"}}},
		{"staff region differs from branch's", `staff:
  - id: st-1
    displayName: One
    role: teller
    branchId: br-a
    regionId: rg-b
    authorityLevel: 1
  - id: st-2
    displayName: Two
    role: teller
    branchId: br-a
    regionId: rg-nowhere
    authorityLevel: 1
`, []want{{15, "staff[0].regionId", `"rg-b" differs from the region "rg-a" of branch "br-a"`},
			{21, "staff[1].regionId", `no region "rg-nowhere" in the file`}}},
		{"unknown role and skill", `staff:
  - id: st-1
    displayName: One
    role: cashier
    branchId: br-a
    authorityLevel: 1
    skills:
      - cash_handling
      - juggling
      - cash_handling
`, []want{{13, "staff[0].role", `"cashier" is not a role`},
			{18, "staff[0].skills[1]", `"juggling" is not a skill`},
			{19, "staff[0].skills[2]", `"cash_handling" is listed twice (first at line 17)`}}},
		{"branch roles without a branch", `staff:
  - id: st-1
    displayName: One
    role: lobby_manager
    authorityLevel: 1
  - id: st-2
    displayName: Two
    role: ROLE_BRANCH_HEAD
    regionId: rg-a
    authorityLevel: 2
`, []want{{11, "staff[0].branchId", "is required for branch roles"},
			{15, "staff[1].branchId", "is required for branch roles"}}},
		{"duplicate ids", `  - id: br-a
    regionId: rg-a
    name: Branch A again
staff:
  - id: st-1
    displayName: One
    role: head_office
    authorityLevel: 4
  - id: st-1
    displayName: One again
    role: head_office
    authorityLevel: 4
`, []want{{10, "branches[1].id", `branch "br-a" is already defined at line 7`},
			{18, "staff[1].id", `staff member "st-1" is already defined at line 14`}}},
		{"bad time zone", `    timeZone: Asia/Atlantis
  - id: br-b
    regionId: rg-a
    name: Branch B
    timeZone: Local
`, []want{{10, "branches[0].timeZone", `"Asia/Atlantis" is not an IANA time zone`},
			{14, "branches[1].timeZone", `"Local" is not an IANA time zone`}}},
		{"bad clock and order", `    openingHours:
      - weekdays: [1, 2]
        opens: "9:00"
        closes: "12:00"
      - weekdays: [3]
        opens: "13:00"
        closes: "24:00"
      - weekdays: [4]
        opens: "17:00"
        closes: "09:00"
`, []want{{12, "branches[0].openingHours[0].opens", `"9:00" is not a time of day HH:MM`},
			{16, "branches[0].openingHours[1].closes", `"24:00" is not a time of day`},
			{19, "branches[0].openingHours[2].closes", "09:00 is not after opens 17:00"}}},
		{"bad weekdays", `    openingHours:
      - weekdays: [0, 1, 8, 1]
        opens: "09:00"
        closes: "12:00"
      - opens: "13:00"
        closes: "17:00"
      - weekdays: {monday: true}
        opens: "13:00"
        closes: "17:00"
      - weekdays: []
        opens: "18:00"
        closes: "19:00"
      - weekdays: 6
        opens: "09:00"
        closes: "12:00"
`, []want{{11, "branches[0].openingHours[0].weekdays[0]", `"0" is not a weekday`},
			{11, "branches[0].openingHours[0].weekdays[2]", `"8" is not a weekday`},
			{11, "branches[0].openingHours[0].weekdays[3]", "1 is listed twice (first at line 11)"},
			{14, "branches[0].openingHours[1].weekdays", "is required"},
			{16, "branches[0].openingHours[2].weekdays", "want a list, e.g. [a, b], not a mapping"},
			{19, "branches[0].openingHours[3].weekdays", "is empty"}}},
		{"overlapping periods", `    openingHours:
      - {weekdays: [1, 2, 3, 4, 5], opens: "09:00", closes: "12:00"}
      - {weekdays: [1, 2, 3, 4, 5], opens: "12:00", closes: "17:00"}
      - {weekdays: [4, 5, 6], opens: "16:00", closes: "18:00"}
      - {weekdays: [3], opens: "08:00", closes: "09:30"}
`, []want{{13, "branches[0].openingHours[2]", "16:00-18:00 overlaps 12:00-17:00 (line 12) on Thu, Fri"},
			{14, "branches[0].openingHours[3]", "08:00-09:30 overlaps 09:00-12:00 (line 11) on Wed"}}},
		{"authority level out of range", `staff:
  - id: st-1
    displayName: One
    role: teller
    branchId: br-a
    authorityLevel: 5
  - id: st-2
    displayName: Two
    role: teller
    branchId: br-a
    authorityLevel: -1
  - id: st-3
    displayName: Three
    role: teller
    branchId: br-a
`, []want{{15, "staff[0].authorityLevel", `"5" is not 0-4`},
			{20, "staff[1].authorityLevel", `"-1" is not 0-4`},
			{21, "staff[2].authorityLevel", "is required"}}},
		{"regional and head-office placement", `staff:
  - id: st-1
    displayName: One
    role: regional_supervisor
    authorityLevel: 3
  - id: st-2
    displayName: Two
    role: regional_supervisor
    branchId: br-a
    authorityLevel: 3
  - id: st-3
    displayName: Three
    role: head_office
    regionId: rg-a
    authorityLevel: 4
`, []want{{11, "staff[0].regionId", "is required for a regional supervisor"},
			{18, "staff[1].branchId", "belongs to a region, not a branch"},
			{23, "staff[2].regionId", "head office belongs to no region"}}},
		{"unknown, repeated and mistyped fields", `    name: Twice
    regionID: rg-a
staff:
  - id: [st-1]
    displayName: One
    role: teller
    branchId: br-a
    authorityLevel: 1
    onDuty: maybe
`, []want{{10, "branches[0].name", "is given twice (first at line 9)"},
			{11, "branches[0].regionID", "is not a field here"},
			{13, "staff[0].id", "want a single value, not a list"},
			{13, "staff[0].id", "is required"},
			{18, "staff[0].onDuty", `"maybe" is not true or false`}}},
		{"bad work e-mails", `staff:
  - id: st-1
    displayName: One
    role: teller
    branchId: br-a
    authorityLevel: 1
    email: wang.fang
  - id: st-2
    displayName: Two
    role: teller
    branchId: br-a
    authorityLevel: 1
    email: Wang Fang <wang.fang@bank.example>
  - id: st-3
    displayName: Three
    role: teller
    branchId: br-a
    authorityLevel: 1
    email: [a@bank.example, b@bank.example]
  - id: st-4
    displayName: Four
    role: teller
    branchId: br-a
    authorityLevel: 1
    email: st-4@bank.example.
  - id: st-5
    displayName: Five
    role: teller
    branchId: br-a
    authorityLevel: 1
    email: ` + strings.Repeat("x", 250) + `@bank.example
`, []want{{16, "staff[0].email", `"wang.fang" is not a work e-mail address`},
			{22, "staff[1].email", `"Wang Fang <wang.fang@bank.example>" is not a work e-mail address`},
			{28, "staff[2].email", "want a single value, not a list"},
			{34, "staff[3].email", `"st-4@bank.example." is not a work e-mail address`},
			{40, "staff[4].email", "at most 254 characters"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseYAML("org.test", []byte(yamlHead+tc.body))
			assertErrors(t, err, tc.wants)
		})
	}
}

// TestYAMLCollectsEveryProblem: several problems of different records come
// back together, sorted by line.
func TestYAMLCollectsEveryProblem(t *testing.T) {
	_, err := ParseYAML("org.test", []byte(`staff:
  - id: st-1
    displayName: One
    role: teller
    branchId: br-x
    authorityLevel: 9
regions:
  - id: rg-a
  - id: "bad id"
    name: B
`))
	assertErrors(t, err, []want{
		{5, "staff[0].branchId", `no branch "br-x"`},
		{6, "staff[0].authorityLevel", `"9" is not 0-4`},
		{8, "regions[0].name", "is required"},
		{9, "regions[1].id", `"bad id" is not an id`},
	})
}

func TestYAMLSyntaxAndShape(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		wants      []want
	}{
		{"syntax", "regions:\n  - id: rg-a\n    name: A: B\n", []want{{3, "", "not YAML: mapping values are not allowed"}}},
		{"empty", "# nothing\n", []want{{1, "", "no regions, branches or staff"}}},
		{"not a mapping", "- a\n- b\n", []want{{1, "", "want a mapping"}, {1, "", "no regions"}}},
		{"unknown top-level key", "regions:\n  - {id: rg-a, name: A}\npeople: []\n", []want{{3, "people", "is not a field here"}}},
		{"records not a list", "regions: rg-a\n", []want{{1, "regions", "want a list of records"}, {1, "", "no regions"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseYAML("org.test", []byte(tc.body))
			assertErrors(t, err, tc.wants)
		})
	}
}

func TestYAMLBuildsTheRequest(t *testing.T) {
	req, err := ParseYAML("org.test", []byte(yamlHead+`    timeZone: Asia/Shanghai
    calendarId: cn
    openingHours:
      - {weekdays: [1, 2, 3, 4, 5], opens: "09:00", closes: "12:00"}
      - {weekdays: [1, 2, 3, 4, 5], opens: "13:00", closes: "17:00"}
staff:
  - id: st-1
    displayName: 王芳 Wang Fang
    role: teller
    branchId: br-a
    authorityLevel: 1
    skills: [foreign_exchange, foreign_languages]
    onDuty: false
    email: wang.fang@bank-a.example
  - id: st-2
    displayName: Head office
    role: ROLE_HEAD_OFFICE
    authorityLevel: 4
`))
	if err != nil {
		t.Fatal(err)
	}
	b := req.GetBranches()[0]
	if b.GetTimeZone() != "Asia/Shanghai" || b.GetCalendarId() != "cn" || len(b.GetOpeningHours()) != 2 ||
		b.GetOpeningHours()[1].GetOpens() != "13:00" || len(b.GetOpeningHours()[1].GetWeekdays()) != 5 {
		t.Errorf("branch: %v", b)
	}
	s := req.GetStaff()[0]
	if s.GetRole() != routingv1.Role_ROLE_TELLER || s.GetRegionId() != "rg-a" || s.GetAuthorityLevel() != 1 ||
		strings.Join(s.GetSkills(), ",") != "foreign_exchange,foreign_languages" || s.OnDuty == nil || s.GetOnDuty() ||
		s.GetEmail() != "wang.fang@bank-a.example" {
		t.Errorf("teller (region from the branch, off duty, with a work e-mail): %v", s)
	}
	if h := req.GetStaff()[1]; h.GetRole() != routingv1.Role_ROLE_HEAD_OFFICE || h.OnDuty != nil || h.GetRegionId() != "" || h.GetEmail() != "" {
		t.Errorf("head office (on duty by default): %v", h)
	}
}

// csvHead is a valid start every CSV case goes on from, at line 4.
const csvHead = `kind,id,name,regionId,branchId,timeZone,calendarId,role,authorityLevel,skills,onDuty,weekdays,opens,closes
region,rg-a,Region A,,,,,,,,,,,
branch,br-a,Branch A,rg-a,,,,,,,,,,
`

func TestCSVProblems(t *testing.T) {
	for _, tc := range []struct {
		name  string
		body  string // after csvHead; its first line is line 4
		wants []want
	}{
		{"staff of an unknown branch", "staff,st-1,One,,br-nowhere,,,teller,1,,,,,\n",
			[]want{{4, "staff[0].branchId", `no branch "br-nowhere" in the file`}}},
		{"branch of an unknown region", "branch,br-b,Branch B,rg-nowhere,,,,,,,,,,\n",
			[]want{{4, "branches[1].regionId", `no region "rg-nowhere" in the file`}}},
		{"staff region differs from branch's", "region,rg-b,Region B,,,,,,,,,,,\nstaff,st-1,One,rg-b,br-a,,,teller,1,,,,,\n",
			[]want{{5, "staff[0].regionId", `"rg-b" differs from the region "rg-a" of branch "br-a"`}}},
		{"unknown role and skill", "staff,st-1,One,,br-a,,,cashier,1,cash_handling;juggling,,,,\n",
			[]want{{4, "staff[0].role", `"cashier" is not a role`}, {4, "staff[0].skills[1]", `"juggling" is not a skill`}}},
		{"branch role without a branch", "staff,st-1,One,rg-a,,,,complaint_manager,2,,,,,\n",
			[]want{{4, "staff[0].branchId", "is required for branch roles"}}},
		{"duplicate ids", "\nregion,rg-a,Again,,,,,,,,,,,\nstaff,st-1,One,,,,,legal,3,,,,,\nstaff,st-1,Two,,,,,legal,3,,,,,\n",
			[]want{{5, "regions[1].id", `region "rg-a" is already defined at line 2`},
				{7, "staff[1].id", `staff member "st-1" is already defined at line 6`}}},
		{"bad time zone", "branch,br-b,Branch B,rg-a,,Mars/Olympus,,,,,,,,\n",
			[]want{{4, "branches[1].timeZone", `"Mars/Olympus" is not an IANA time zone`}}},
		{"bad opening hours", `hours,,,,br-a,,,,,,,1;2;3,09:00,12:00
hours,,,,br-a,,,,,,,3;9,11:00,13:00
hours,,,,br-a,,,,,,,6,9am,12:00
hours,,,,br-a,,,,,,,7,12:00,12:00
hours,,,,br-b,,,,,,,1,09:00,12:00
`, []want{{5, "branches[0].openingHours[1].weekdays[1]", `"9" is not a weekday`},
			{5, "branches[0].openingHours[1]", "11:00-13:00 overlaps 09:00-12:00 (line 4) on Wed"},
			{6, "branches[0].openingHours[2].opens", `"9am" is not a time of day`},
			{7, "branches[0].openingHours[3].closes", "12:00 is not after opens 12:00"},
			{8, "hours[4].branchId", `no branch "br-b" in the file`}}},
		{"authority level out of range", "staff,st-1,One,,br-a,,,teller,7,,,,,\nstaff,st-2,Two,,br-a,,,teller,,,,,,\n",
			[]want{{4, "staff[0].authorityLevel", `"7" is not 0-4`}, {5, "staff[1].authorityLevel", "is required"}}},
		{"column of another kind, unknown kind, short row", "region,rg-b,Region B,,,Asia/Shanghai,,,,,,,,\nperson,p,P,,,,,,,,,,,\nstaff,st-1\n",
			[]want{{4, "regions[1].timeZone", "is not used by region rows"},
				{5, "kind", `"person" is not region, branch, staff or hours`},
				{6, "", "has 2 fields; the header has 14"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseCSV("org.test", []byte(csvHead+tc.body))
			assertErrors(t, err, tc.wants)
		})
	}
}

func TestCSVHeader(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		wants      []want
	}{
		{"no kind column", "# comment\nid,name\nrg-a,A\n", []want{{2, "", "no kind column"}}},
		{"unknown column", "kind,id,name,colour\nregion,rg-a,A,red\n", []want{{1, "", `column "colour" is not one of`}}},
		{"empty", "", []want{{1, "", "no header row"}}},
		{"bad quoting", "kind,id,name\nregion,\"rg-a,A\n", []want{{2, "", "not CSV"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseCSV("org.test", []byte(tc.body))
			assertErrors(t, err, tc.wants)
		})
	}
}

func TestCSVBuildsTheRequest(t *testing.T) {
	// Columns in another order and case, a BOM, comments, hours before their branch.
	req, err := ParseCSV("org.test", []byte("\uFEFF# a bank\nKind,ID,Name,BranchId,Weekdays,Opens,Closes,RegionId,Role,AuthorityLevel,Skills,OnDuty\n"+
		"hours,,,br-a,1;2;3;4;5,09:00,12:00,,,,,\n"+
		"region,rg-a,Region A,,,,,,,,,\n"+
		"branch,br-a,\"Branch A, the main one\",,,,,rg-a,,,,\n"+
		"hours,,,br-a,1;2;3;4;5,13:00,17:00,,,,,\n"+
		"staff,st-1,One,br-a,,,,,teller,1,foreign_exchange; cash_handling,false\n"))
	if err != nil {
		t.Fatal(err)
	}
	b := req.GetBranches()[0]
	if b.GetName() != "Branch A, the main one" || len(b.GetOpeningHours()) != 2 || b.GetOpeningHours()[0].GetCloses() != "12:00" {
		t.Errorf("branch: %v", b)
	}
	s := req.GetStaff()[0]
	if s.GetRegionId() != "rg-a" || s.GetRole() != routingv1.Role_ROLE_TELLER || len(s.GetSkills()) != 2 || s.GetOnDuty() {
		t.Errorf("staff: %v", s)
	}
}

func TestCSVWorkEmails(t *testing.T) {
	head := "kind,id,name,regionId,branchId,role,authorityLevel,Email\nregion,rg-a,Region A,,,,,\nbranch,br-a,Branch A,rg-a,,,,\n"
	req, err := ParseCSV("org.test", []byte(head+"staff,st-1,One,,br-a,teller,1,st-1@bank-a.example\nstaff,st-2,Two,,br-a,teller,1,\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := []string{req.GetStaff()[0].GetEmail(), req.GetStaff()[1].GetEmail()}; got[0] != "st-1@bank-a.example" || got[1] != "" {
		t.Errorf("e-mails %q, want st-1's and none", got)
	}
	_, err = ParseCSV("org.test", []byte(head+"staff,st-1,One,,br-a,teller,1,st-1 at bank-a\nregion,rg-b,Region B,,,,,rg-b@bank-a.example\n"))
	assertErrors(t, err, []want{{4, "staff[0].email", `"st-1 at bank-a" is not a work e-mail address`},
		{5, "regions[1].email", "is not used by region rows"}})
}

// TestDemoFiles: the shipped files parse, to the org the dev stack seeds.
func TestDemoFiles(t *testing.T) {
	for _, tc := range []struct {
		file                      string
		regions, branches, staff  int
		hoursAt                   string
		periods                   int
		teller, tellerBranch, sup string
	}{
		{"org-demo-bank.yaml", 2, 4, 26, "br-bj-chaoyang", 3, "st-pudong-teller-1", "br-sh-pudong", "st-east-supervisor"},
		{"org-demo-bank-2.yaml", 1, 1, 4, "br-gz-tianhe", 3, "st2-tianhe-teller-1", "br-gz-tianhe", ""},
		{"org-example.csv", 1, 2, 8, "br-town", 3, "st-town-teller-1", "br-town", "st-county-supervisor"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			req, err := ParseFile(filepath.Join("..", "..", "deploy", "demo", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if len(req.GetRegions()) != tc.regions || len(req.GetBranches()) != tc.branches || len(req.GetStaff()) != tc.staff {
				t.Fatalf("%d regions, %d branches, %d staff; want %d, %d, %d",
					len(req.GetRegions()), len(req.GetBranches()), len(req.GetStaff()), tc.regions, tc.branches, tc.staff)
			}
			staff := map[string]*routingv1.Staff{}
			emails := map[string]string{}
			for _, s := range req.GetStaff() {
				staff[s.GetId()] = s
				// Everyone has a work e-mail of their own, for staff alerts.
				if s.GetEmail() == "" {
					t.Errorf("%s has no e-mail", s.GetId())
				} else if other, dup := emails[s.GetEmail()]; dup {
					t.Errorf("%s has the e-mail of %s", s.GetId(), other)
				}
				emails[s.GetEmail()] = s.GetId()
			}
			if s := staff[tc.teller]; s.GetRole() != routingv1.Role_ROLE_TELLER || s.GetBranchId() != tc.tellerBranch || s.GetRegionId() == "" {
				t.Errorf("teller %s: %v", tc.teller, s)
			}
			if tc.sup != "" && staff[tc.sup].GetRole() != routingv1.Role_ROLE_REGIONAL_SUPERVISOR {
				t.Errorf("supervisor %s: %v", tc.sup, staff[tc.sup])
			}
			for _, b := range req.GetBranches() {
				if b.GetId() == tc.hoursAt && len(b.GetOpeningHours()) != tc.periods {
					t.Errorf("%s has %d opening periods, want %d", b.GetId(), len(b.GetOpeningHours()), tc.periods)
				}
			}
		})
	}
}

func TestDemoBankIsTheSeededOrg(t *testing.T) {
	req, err := ParseFile(filepath.Join("..", "..", "deploy", "demo", "org-demo-bank.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range req.GetStaff() {
		got = append(got, s.GetId()+"/"+RoleName(s.GetRole())+"/"+s.GetBranchId()+"/"+s.GetRegionId())
	}
	var wantIDs []string
	for _, b := range []struct{ id, short, region string }{
		{"br-sh-pudong", "pudong", "rg-east"}, {"br-sh-xuhui", "xuhui", "rg-east"},
		{"br-bj-chaoyang", "chaoyang", "rg-north"}, {"br-bj-haidian", "haidian", "rg-north"},
	} {
		for _, m := range []struct{ suffix, role string }{{"teller-1", "teller"}, {"teller-2", "teller"},
			{"lobby", "lobby_manager"}, {"complaints", "complaint_manager"}, {"head", "branch_head"}} {
			wantIDs = append(wantIDs, "st-"+b.short+"-"+m.suffix+"/"+m.role+"/"+b.id+"/"+b.region)
		}
	}
	wantIDs = append(wantIDs, "st-east-supervisor/regional_supervisor//rg-east", "st-north-supervisor/regional_supervisor//rg-north",
		"st-head-office/head_office//", "st-tech/tech_support//", "st-compliance/compliance//", "st-legal/legal//")
	if strings.Join(got, "\n") != strings.Join(wantIDs, "\n") {
		t.Errorf("staff:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantIDs, "\n"))
	}
}

func TestErrorText(t *testing.T) {
	_, err := Parse("org.yaml", []byte("regions:\n  - id: rg-a\n"))
	if err == nil || err.Error() != "org.yaml:2: regions[0].name: is required" {
		t.Errorf("got %v", err)
	}
	if _, err := Parse("org.json", nil); err == nil || !strings.Contains(err.Error(), "unknown format") {
		t.Errorf("got %v", err)
	}
}
