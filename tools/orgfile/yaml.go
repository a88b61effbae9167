package orgfile

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	routingv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/routing/v1"
	"go.yaml.in/yaml/v3"
)

// ParseYAML parses an org file in YAML (see the package doc); name is what
// errors call the file. Problems are an Errors; the request is returned only
// when there are none.
func ParseYAML(name string, data []byte) (*routingv1.ImportOrgRequest, error) {
	c := &collector{file: name}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line, msg := yamlError(err)
		c.add(line, "", "not YAML: %s", msg)
		return nil, c.result()
	}
	var o org
	if len(doc.Content) > 0 {
		y := yamlReader{c}
		o = y.org(doc.Content[0])
	}
	req := check(c, o)
	if err := c.result(); err != nil {
		return nil, err
	}
	return req, nil
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

// yamlError is the line a YAML syntax error names (else 1) and its message
// without the "yaml: line N:" prefix.
func yamlError(err error) (int, string) {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		if n, err := strconv.Atoi(m[1]); err == nil {
			return n, msg[len(m[0]):]
		}
	}
	return 1, strings.TrimPrefix(msg, "yaml: ")
}

type yamlReader struct{ c *collector }

func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// fields calls set for each key of a mapping, refusing keys given twice and
// keys set does not know (set returns false).
func (y yamlReader) fields(n *yaml.Node, path string, set func(key string, v *yaml.Node) bool) {
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		field := path + "." + k.Value
		if path == "" {
			field = k.Value
		}
		if first, dup := seen[k.Value]; dup {
			y.c.add(k.Line, field, "is given twice (first at line %d)", first)
			continue
		}
		seen[k.Value] = k.Line
		if !set(k.Value, v) {
			y.c.add(k.Line, field, "is not a field here")
		}
	}
}

// scalar reads a single value; null and the empty string are not set.
func (y yamlReader) scalar(n *yaml.Node, field string) value {
	if isNull(n) {
		return value{line: n.Line}
	}
	if n.Kind != yaml.ScalarNode {
		y.c.add(n.Line, field, "want a single value, not a %s", kindName(n))
		return value{line: n.Line}
	}
	return value{text: n.Value, line: n.Line, set: n.Value != ""}
}

// list reads a list of single values (a single value is a list of one);
// given says whether the field is there at all, bad whether it is not a
// list (the problem is reported).
func (y yamlReader) list(n *yaml.Node, field string) (vs []value, given, bad bool) {
	if isNull(n) {
		return nil, false, false
	}
	items := n.Content
	switch n.Kind {
	case yaml.ScalarNode:
		items = []*yaml.Node{n}
	case yaml.SequenceNode:
	default:
		y.c.add(n.Line, field, "want a list, e.g. [a, b], not a %s", kindName(n))
		return nil, true, true
	}
	for i, item := range items {
		if v := y.scalar(resolve(item), fmt.Sprintf("%s[%d]", field, i)); v.set {
			vs = append(vs, v)
		}
	}
	return vs, true, false
}

// items reads a list of mappings, calling each for every one.
func (y yamlReader) items(n *yaml.Node, field string, each func(i int, m *yaml.Node)) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		y.c.add(n.Line, field, "want a list of records (- id: …)")
		return
	}
	for i, item := range n.Content {
		item = resolve(item)
		if item.Kind != yaml.MappingNode {
			y.c.add(item.Line, fmt.Sprintf("%s[%d]", field, i), "want a record (id: …), not a %s", kindName(item))
			continue
		}
		each(i, item)
	}
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	}
	return "single value"
}

func (y yamlReader) org(root *yaml.Node) org {
	var o org
	root = resolve(root)
	if isNull(root) {
		return o
	}
	if root.Kind != yaml.MappingNode {
		y.c.add(root.Line, "", "want a mapping with regions, branches and staff")
		return o
	}
	y.fields(root, "", func(key string, v *yaml.Node) bool {
		switch key {
		case "regions":
			y.items(v, key, func(i int, m *yaml.Node) { o.regions = append(o.regions, y.region(m, fmt.Sprintf("regions[%d]", i))) })
		case "branches":
			y.items(v, key, func(i int, m *yaml.Node) {
				o.branches = append(o.branches, y.branch(m, fmt.Sprintf("branches[%d]", i)))
			})
		case "staff":
			y.items(v, key, func(i int, m *yaml.Node) { o.staff = append(o.staff, y.staff(m, fmt.Sprintf("staff[%d]", i))) })
		default:
			return false
		}
		return true
	})
	return o
}

func (y yamlReader) region(n *yaml.Node, path string) region {
	r := region{line: n.Line}
	y.fields(n, path, func(key string, v *yaml.Node) bool {
		f := path + "." + key
		switch key {
		case "id":
			r.id = y.scalar(v, f)
		case "name":
			r.name = y.scalar(v, f)
		default:
			return false
		}
		return true
	})
	return r
}

func (y yamlReader) branch(n *yaml.Node, path string) branch {
	b := branch{line: n.Line}
	y.fields(n, path, func(key string, v *yaml.Node) bool {
		f := path + "." + key
		switch key {
		case "id":
			b.id = y.scalar(v, f)
		case "regionId":
			b.regionID = y.scalar(v, f)
		case "name":
			b.name = y.scalar(v, f)
		case "timeZone":
			b.timeZone = y.scalar(v, f)
		case "calendarId":
			b.calendarID = y.scalar(v, f)
		case "openingHours":
			y.items(v, f, func(i int, m *yaml.Node) { b.hours = append(b.hours, y.period(m, fmt.Sprintf("%s[%d]", f, i))) })
		default:
			return false
		}
		return true
	})
	return b
}

func (y yamlReader) period(n *yaml.Node, path string) period {
	p := period{line: n.Line}
	y.fields(n, path, func(key string, v *yaml.Node) bool {
		f := path + "." + key
		switch key {
		case "weekdays":
			p.weekdays, p.weekdaysSet, p.weekdaysBad = y.list(v, f)
		case "opens":
			p.opens = y.scalar(v, f)
		case "closes":
			p.closes = y.scalar(v, f)
		default:
			return false
		}
		return true
	})
	return p
}

func (y yamlReader) staff(n *yaml.Node, path string) staff {
	s := staff{line: n.Line}
	y.fields(n, path, func(key string, v *yaml.Node) bool {
		f := path + "." + key
		switch key {
		case "id":
			s.id = y.scalar(v, f)
		case "displayName":
			s.displayName = y.scalar(v, f)
		case "role":
			s.role = y.scalar(v, f)
		case "branchId":
			s.branchID = y.scalar(v, f)
		case "regionId":
			s.regionID = y.scalar(v, f)
		case "authorityLevel":
			s.authority = y.scalar(v, f)
		case "skills":
			s.skills, _, _ = y.list(v, f)
		case "onDuty":
			s.onDuty = y.scalar(v, f)
		case "email":
			s.email = y.scalar(v, f)
		default:
			return false
		}
		return true
	})
	return s
}
