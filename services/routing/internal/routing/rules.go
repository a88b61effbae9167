package routing

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Rule is one of a bank's routing rules: for new cases it matches (every
// non-empty list must contain the case's value), who owns them first and
// who must be told. Values are the enum names of counterdesk.cases.v1.
type Rule struct {
	Name          string   `json:"name"`
	Categories    []string `json:"categories,omitempty"`
	Severities    []string `json:"severities,omitempty"`
	Channels      []string `json:"channels,omitempty"`
	CustomerTiers []string `json:"customerTiers,omitempty"`
	RequiredSkill string   `json:"requiredSkill,omitempty"`
	// OwnerRole: a role (routing's names, e.g. "tech_support"); empty: the
	// first receiver within their authority, else the complaint manager.
	OwnerRole    string   `json:"ownerRole,omitempty"`
	NotifyRoles  []string `json:"notifyRoles,omitempty"`
	NotifyAtOnce bool     `json:"notifyAtOnce,omitempty"`
}

// Matches reports whether the rule applies to c.
func (r Rule) Matches(c Case) bool {
	in := func(list []string, v string) bool { return len(list) == 0 || slices.Contains(list, v) }
	return in(r.Categories, c.Category) && in(r.Severities, c.Severity) && in(r.Channels, c.Channel) &&
		in(r.CustomerTiers, c.Tier) && (r.RequiredSkill == "" || r.RequiredSkill == c.Skill)
}

// DefaultRules are what a bank that set none gets (domain.md, "First-responder
// responsibility"): system or equipment failures to tech support with the
// branch head told; suspected fraud or identity mismatch to compliance with
// the branch head told at once; major cases to the branch head with head
// office told. Everything else stays with the first receiver within their
// authority, else goes to the complaint manager.
func DefaultRules() []Rule {
	return []Rule{
		{Name: "equipment", Categories: []string{"CATEGORY_SYSTEM_FAILURE", "CATEGORY_EQUIPMENT_FAILURE"},
			OwnerRole: RoleTechSupport, NotifyRoles: []string{RoleBranchHead}},
		{Name: "fraud", Categories: []string{"CATEGORY_SUSPECTED_FRAUD", "CATEGORY_IDENTITY_MISMATCH"},
			OwnerRole: RoleCompliance, NotifyRoles: []string{RoleBranchHead}, NotifyAtOnce: true},
		{Name: "major", Severities: []string{"SEVERITY_MAJOR"}, OwnerRole: RoleBranchHead,
			NotifyRoles: []string{RoleHeadOffice}, NotifyAtOnce: true},
	}
}

// RuleError names the rule field that is wrong and why.
type RuleError struct{ Field, Problem string }

func (e *RuleError) Error() string { return e.Field + ": " + e.Problem }

var ruleName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// ValidateRules checks a bank's rules: names unique, values known (the
// known lists are passed in, as the adapter knows the enums), roles and
// skills routing knows.
func ValidateRules(rules []Rule, known map[string][]string) error {
	seen := map[string]bool{}
	for i, r := range rules {
		at := func(f string) string { return fmt.Sprintf("rules[%d].%s", i, f) }
		if !ruleName.MatchString(r.Name) {
			return &RuleError{at("name"), "must be lower-case letters, digits, '-' or '_'"}
		}
		if seen[r.Name] {
			return &RuleError{at("name"), fmt.Sprintf("%q is used by an earlier rule", r.Name)}
		}
		seen[r.Name] = true
		for field, vals := range map[string][]string{"categories": r.Categories, "severities": r.Severities,
			"channels": r.Channels, "customerTiers": r.CustomerTiers} {
			for j, v := range vals {
				if !slices.Contains(known[field], v) {
					return &RuleError{fmt.Sprintf("%s[%d]", at(field), j), fmt.Sprintf("%q is not one of %s", v, strings.Join(known[field], ", "))}
				}
			}
		}
		if r.RequiredSkill != "" && !slices.Contains(Skills, r.RequiredSkill) {
			return &RuleError{at("requiredSkill"), "is not one of " + strings.Join(Skills, ", ")}
		}
		if r.OwnerRole != "" && !slices.Contains(Roles, r.OwnerRole) {
			return &RuleError{at("ownerRole"), "is not a staff role"}
		}
		for j, n := range r.NotifyRoles {
			if !slices.Contains(Roles, n) {
				return &RuleError{fmt.Sprintf("%s[%d]", at("notifyRoles"), j), "is not a staff role"}
			}
		}
	}
	return nil
}
