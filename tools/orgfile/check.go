package orgfile

import (
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // time zones are checked the same on every machine
	"unicode/utf8"

	routingv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/routing/v1"
	"google.golang.org/protobuf/proto"
)

// Limits and patterns of the API (routing.proto's field rules).
var (
	idPattern    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
	clockPattern = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)
	emailPattern = regexp.MustCompile(`^[^@\s]+@[^@\s]+$`)
)

const (
	maxIDLen       = 64
	maxNameLen     = 100
	maxTimeZoneLen = 64
	maxCalendarLen = 32
	maxPeriods     = 28
	maxEmailLen    = 254
)

// skills are the skills routing rules can ask for.
var skills = []string{"foreign_exchange", "corporate_accounts", "elderly_service", "foreign_languages",
	"sign_language", "wealth_management", "cash_handling"}

// roleNames are the domain's names of the API's roles, in the API's order.
var roleNames = []string{"teller", "lobby_manager", "complaint_manager", "branch_head", "regional_supervisor",
	"head_office", "tech_support", "compliance", "legal"}

// RoleName is the domain's name of an API role ("teller" for ROLE_TELLER),
// as tokens carry it; empty for ROLE_UNSPECIFIED or an unknown value.
func RoleName(r routingv1.Role) string {
	if r < 1 || int(r) > len(roleNames) {
		return ""
	}
	return roleNames[r-1]
}

// parseRole accepts the domain's name (teller) or the API's (ROLE_TELLER).
func parseRole(s string) (routingv1.Role, bool) {
	if i := slices.Index(roleNames, s); i >= 0 {
		return routingv1.Role(i + 1), true
	}
	if v, ok := routingv1.Role_value[s]; ok && v != 0 {
		return routingv1.Role(v), true
	}
	return 0, false
}

func isBranchRole(r routingv1.Role) bool {
	switch r {
	case routingv1.Role_ROLE_TELLER, routingv1.Role_ROLE_LOBBY_MANAGER, routingv1.Role_ROLE_COMPLAINT_MANAGER, routingv1.Role_ROLE_BRANCH_HEAD:
		return true
	}
	return false
}

var weekdayNames = [...]string{1: "Mon", 2: "Tue", 3: "Wed", 4: "Thu", 5: "Fri", 6: "Sat", 7: "Sun"}

// check checks o and builds the request; problems go to c.
func check(c *collector, o org) *routingv1.ImportOrgRequest {
	req := &routingv1.ImportOrgRequest{}
	if len(o.regions)+len(o.branches)+len(o.staff) == 0 {
		c.add(1, "", "no regions, branches or staff")
		return req
	}
	regions := map[string]int{} // id → line
	for i, r := range o.regions {
		f := fmt.Sprintf("regions[%d]", i)
		checkID(c, r.id, r.line, f+".id", "region", regions)
		checkName(c, r.name, r.line, f+".name")
		req.Regions = append(req.Regions, &routingv1.Region{Id: r.id.text, Name: r.name.text})
	}
	branches := map[string]int{}        // id → line
	branchRegion := map[string]string{} // id → region id
	for i, b := range o.branches {
		f := fmt.Sprintf("branches[%d]", i)
		checkID(c, b.id, b.line, f+".id", "branch", branches)
		checkName(c, b.name, b.line, f+".name")
		checkRef(c, b.regionID, b.line, f+".regionId", "region", regions, true)
		if b.id.set {
			branchRegion[b.id.text] = b.regionID.text
		}
		if v := b.timeZone; v.set {
			if _, err := time.LoadLocation(v.text); err != nil || v.text == "Local" || len(v.text) > maxTimeZoneLen {
				c.add(v.line, f+".timeZone", "%q is not an IANA time zone name (e.g. Asia/Shanghai)", v.text)
			}
		}
		if v := b.calendarID; v.set && (len(v.text) > maxCalendarLen || !idPattern.MatchString(v.text)) {
			c.add(v.line, f+".calendarId", "%q is not a calendar id (e.g. cn; at most %d letters, digits, _ . -)", v.text, maxCalendarLen)
		}
		req.Branches = append(req.Branches, &routingv1.Branch{Id: b.id.text, RegionId: b.regionID.text, Name: b.name.text,
			TimeZone: b.timeZone.text, CalendarId: b.calendarID.text, OpeningHours: checkHours(c, b.hours, b.line, f)})
	}
	staffIDs := map[string]int{}
	for i, m := range o.staff {
		f := fmt.Sprintf("staff[%d]", i)
		checkID(c, m.id, m.line, f+".id", "staff member", staffIDs)
		checkName(c, m.displayName, m.line, f+".displayName")
		s := &routingv1.Staff{Id: m.id.text, DisplayName: m.displayName.text, BranchId: m.branchID.text, RegionId: m.regionID.text}
		role, roleOK := parseRole(m.role.text)
		switch {
		case !m.role.set:
			c.add(m.line, f+".role", "is required (%s)", strings.Join(roleNames, ", "))
		case !roleOK:
			c.add(m.role.line, f+".role", "%q is not a role (%s)", m.role.text, strings.Join(roleNames, ", "))
		default:
			s.Role = role
		}
		branchOK := checkRef(c, m.branchID, m.line, f+".branchId", "branch", branches, false)
		regionOK := checkRef(c, m.regionID, m.line, f+".regionId", "region", regions, false)
		if branchOK && m.branchID.set {
			br := branchRegion[m.branchID.text]
			switch {
			case !m.regionID.set:
				s.RegionId = br // a branch's staff belong to its region
			case regionOK && m.regionID.text != br:
				c.add(m.regionID.line, f+".regionId", "%q differs from the region %q of branch %q", m.regionID.text, br, m.branchID.text)
			}
		}
		if isBranchRole(role) && !m.branchID.set {
			c.add(m.line, f+".branchId", "is required for branch roles (teller, lobby_manager, complaint_manager, branch_head)")
		}
		if role == routingv1.Role_ROLE_REGIONAL_SUPERVISOR {
			if m.branchID.set {
				c.add(m.branchID.line, f+".branchId", "a regional supervisor belongs to a region, not a branch")
			} else if !m.regionID.set {
				c.add(m.line, f+".regionId", "is required for a regional supervisor")
			}
		}
		if role == routingv1.Role_ROLE_HEAD_OFFICE {
			if m.branchID.set {
				c.add(m.branchID.line, f+".branchId", "head office belongs to no branch")
			}
			if m.regionID.set {
				c.add(m.regionID.line, f+".regionId", "head office belongs to no region")
			}
		}
		if v := m.authority; !v.set {
			c.add(m.line, f+".authorityLevel", "is required (0-4: 1 counter, 2 branch, 3 region, 4 head office)")
		} else if n, err := strconv.Atoi(v.text); err != nil || n < 0 || n > 4 {
			c.add(v.line, f+".authorityLevel", "%q is not 0-4 (1 counter, 2 branch, 3 region, 4 head office)", v.text)
		} else {
			s.AuthorityLevel = int32(n)
		}
		seen := map[string]int{}
		for j, sk := range m.skills {
			sf := fmt.Sprintf("%s.skills[%d]", f, j)
			switch first, dup := seen[sk.text]; {
			case !slices.Contains(skills, sk.text):
				c.add(sk.line, sf, "%q is not a skill (%s)", sk.text, strings.Join(skills, ", "))
			case dup:
				c.add(sk.line, sf, "%q is listed twice (first at line %d)", sk.text, first)
			default:
				seen[sk.text] = sk.line
				s.Skills = append(s.Skills, sk.text)
			}
		}
		if v := m.onDuty; v.set {
			switch strings.ToLower(v.text) {
			case "true":
				s.OnDuty = proto.Bool(true)
			case "false":
				s.OnDuty = proto.Bool(false)
			default:
				c.add(v.line, f+".onDuty", "%q is not true or false", v.text)
			}
		}
		if v := m.email; v.set {
			if checkEmail(v.text) {
				s.Email = v.text
			} else {
				c.add(v.line, f+".email", "%q is not a work e-mail address (name@domain, at most %d characters)", v.text, maxEmailLen)
			}
		}
		req.Staff = append(req.Staff, s)
	}
	return req
}

// checkEmail: one plain address as the API takes it (no display name, no
// angle brackets, no spaces), with a local part and a domain.
func checkEmail(s string) bool {
	if len(s) > maxEmailLen || !emailPattern.MatchString(s) {
		return false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return false
	}
	local, domain, _ := strings.Cut(s, "@")
	return local != "" && domain != "" && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}

// checkID checks a required id and that it is the first of its kind.
func checkID(c *collector, v value, line int, field, kind string, seen map[string]int) {
	switch first, dup := seen[v.text]; {
	case !v.set:
		c.add(line, field, "is required")
	case len(v.text) > maxIDLen || !idPattern.MatchString(v.text):
		c.add(v.line, field, "%q is not an id (at most %d letters, digits, _ . -, starting with a letter or digit)", v.text, maxIDLen)
	case dup:
		c.add(v.line, field, "%s %q is already defined at line %d", kind, v.text, first)
	default:
		seen[v.text] = v.line
	}
}

func checkName(c *collector, v value, line int, field string) {
	if !v.set {
		c.add(line, field, "is required")
	} else if n := utf8.RuneCountInString(v.text); n > maxNameLen {
		c.add(v.line, field, "is %d characters long; at most %d", n, maxNameLen)
	}
}

// checkRef checks that v names a record of the file; it reports whether v
// is set and known.
func checkRef(c *collector, v value, line int, field, kind string, known map[string]int, required bool) bool {
	if !v.set {
		if required {
			c.add(line, field, "is required")
		}
		return false
	}
	if _, ok := known[v.text]; !ok {
		c.add(v.line, field, "no %s %q in the file", kind, v.text)
		return false
	}
	return true
}

// checkHours checks a branch's opening periods, each on its own and that no
// two overlap on a day (periods are half-open: 09:00-12:00 and 12:00-13:00
// do not overlap).
func checkHours(c *collector, ps []period, line int, branchField string) []*routingv1.OpeningPeriod {
	if len(ps) > maxPeriods {
		c.add(line, branchField+".openingHours", "has %d periods; at most %d", len(ps), maxPeriods)
	}
	type span struct {
		opens, closes string
		index, line   int
	}
	byDay := map[int32][]span{}
	var out []*routingv1.OpeningPeriod
	for j, p := range ps {
		f := fmt.Sprintf("%s.openingHours[%d]", branchField, j)
		op := &routingv1.OpeningPeriod{Opens: p.opens.text, Closes: p.closes.text}
		switch {
		case !p.weekdaysSet:
			c.add(p.line, f+".weekdays", "is required (1 Monday … 7 Sunday)")
		case len(p.weekdays) == 0 && !p.weekdaysBad:
			c.add(p.line, f+".weekdays", "is empty: name at least one day (1 Monday … 7 Sunday)")
		}
		seen := map[int32]int{}
		for k, d := range p.weekdays {
			n, err := strconv.Atoi(d.text)
			first, dup := seen[int32(n)]
			switch {
			case err != nil || n < 1 || n > 7:
				c.add(d.line, fmt.Sprintf("%s.weekdays[%d]", f, k), "%q is not a weekday (1 Monday … 7 Sunday)", d.text)
			case dup:
				c.add(d.line, fmt.Sprintf("%s.weekdays[%d]", f, k), "%d is listed twice (first at line %d)", n, first)
			default:
				seen[int32(n)] = d.line
				op.Weekdays = append(op.Weekdays, int32(n))
			}
		}
		clockOK := true
		for _, x := range []struct {
			v    value
			name string
		}{{p.opens, "opens"}, {p.closes, "closes"}} {
			if !x.v.set {
				c.add(p.line, f+"."+x.name, "is required (HH:MM)")
				clockOK = false
			} else if !clockPattern.MatchString(x.v.text) {
				c.add(x.v.line, f+"."+x.name, "%q is not a time of day HH:MM (00:00-23:59)", x.v.text)
				clockOK = false
			}
		}
		if clockOK && p.opens.text >= p.closes.text {
			c.add(p.closes.line, f+".closes", "%s is not after opens %s", p.closes.text, p.opens.text)
			clockOK = false
		}
		if clockOK {
			for _, d := range op.Weekdays {
				byDay[d] = append(byDay[d], span{p.opens.text, p.closes.text, j, p.line})
			}
		}
		out = append(out, op)
	}
	// Each overlapping pair once, with the days it overlaps on, reported at
	// the later period.
	type pair struct{ earlier, later int }
	overlapDays := map[pair][]string{}
	spans := map[int]span{}
	for d := int32(1); d <= 7; d++ {
		ss := byDay[d]
		slices.SortStableFunc(ss, func(a, b span) int { return strings.Compare(a.opens, b.opens) })
		for i, later := range ss {
			spans[later.index] = later
			for _, earlier := range ss[:i] {
				if later.opens < earlier.closes {
					p := pair{min(earlier.index, later.index), max(earlier.index, later.index)}
					overlapDays[p] = append(overlapDays[p], weekdayNames[d])
				}
			}
		}
	}
	pairs := make([]pair, 0, len(overlapDays))
	for p := range overlapDays {
		pairs = append(pairs, p)
	}
	slices.SortFunc(pairs, func(a, b pair) int {
		if a.later != b.later {
			return a.later - b.later
		}
		return a.earlier - b.earlier
	})
	for _, p := range pairs {
		e, l := spans[p.earlier], spans[p.later]
		c.add(l.line, fmt.Sprintf("%s.openingHours[%d]", branchField, p.later), "%s-%s overlaps %s-%s (line %d) on %s",
			l.opens, l.closes, e.opens, e.closes, e.line, strings.Join(overlapDays[p], ", "))
	}
	return out
}
