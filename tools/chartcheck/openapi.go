package main

// Conversion of the Kubernetes OpenAPI v2 document (api/openapi-spec/swagger.json)
// into the per-kind JSON schema files kubeconform reads with -schema-location.
//
// It follows what openapi2jsonschema --kubernetes --stand-alone --strict produces for
// github.com/yannh/kubernetes-json-schema, with one difference: instead of inlining
// every $ref (which cannot terminate for recursive types such as JSONSchemaProps),
// each file carries a "definitions" section with exactly the definitions it reaches,
// and its "#/definitions/..." references resolve inside the same file. Every file
// therefore stands alone.
//
// Rules applied (the strict variant):
//   - every object schema that lists "properties" and says nothing about
//     "additionalProperties" gets "additionalProperties": false, so that an unknown
//     (e.g. misspelled) field is an error;
//   - IntOrString (format int-or-string) accepts a string or an integer, Quantity a
//     string or a number, as the API server does;
//   - a field that its object does not list as required may be null (the API server
//     treats null as unset, and Helm renders empty values as null);
//   - the root's "apiVersion" and "kind" are pinned with enums;
//   - descriptions and x-kubernetes-* extensions are dropped (smaller, faster files).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

const refPrefix = "#/definitions/"

// swaggerDoc is the part of an OpenAPI v2 document the converter reads.
type swaggerDoc struct {
	Definitions map[string]map[string]any `json:"definitions"`
}

type gvk struct {
	Group, Version, Kind string
}

// apiVersion returns "group/version", or "version" for the core group.
func (g gvk) apiVersion() string {
	if g.Group == "" {
		return g.Version
	}
	return g.Group + "/" + g.Version
}

// fileName returns the name kubeconform looks for: kind, the first label of the
// group, and the version, lower case ("deployment-apps-v1.json", "service-v1.json",
// "ingress-networking-v1.json").
func (g gvk) fileName() string {
	parts := []string{strings.ToLower(g.Kind)}
	if g.Group != "" {
		parts = append(parts, strings.ToLower(strings.SplitN(g.Group, ".", 2)[0]))
	}
	parts = append(parts, strings.ToLower(g.Version))
	return strings.Join(parts, "-") + ".json"
}

// converter holds the transformed definitions, shared by all the files it writes.
type converter struct {
	strict bool
	raw    map[string]map[string]any
	conv   map[string]any      // transformed definitions, by name
	refs   map[string][]string // direct references of each transformed definition
}

func newConverter(doc *swaggerDoc, strict bool) (*converter, error) {
	if len(doc.Definitions) == 0 {
		return nil, fmt.Errorf("the document has no definitions: not an OpenAPI v2 (swagger) document?")
	}
	c := &converter{strict: strict, raw: doc.Definitions, conv: map[string]any{}, refs: map[string][]string{}}
	for name, def := range doc.Definitions {
		var refs []string
		out, err := c.definition(name, def, &refs)
		if err != nil {
			return nil, fmt.Errorf("definition %s: %w", name, err)
		}
		c.conv[name] = out
		c.refs[name] = refs
	}
	for name, refs := range c.refs {
		for _, r := range refs {
			if _, ok := c.conv[r]; !ok {
				return nil, fmt.Errorf("definition %s refers to missing definition %s", name, r)
			}
		}
	}
	return c, nil
}

// definition transforms one named definition. A definition as a whole may be null:
// whether a field may be left null is decided where it is used, but a $ref cannot
// carry that decision in draft 4 (siblings of $ref are ignored), so it is made here.
func (c *converter) definition(name string, def map[string]any, refs *[]string) (any, error) {
	switch name {
	case "io.k8s.apimachinery.pkg.util.intstr.IntOrString":
		return map[string]any{"type": []any{"string", "integer", "null"}}, nil
	case "io.k8s.apimachinery.pkg.api.resource.Quantity":
		return map[string]any{"type": []any{"string", "number", "null"}}, nil
	}
	out, err := c.schema(def, refs)
	if err != nil {
		return nil, err
	}
	if m, ok := out.(map[string]any); ok {
		nullable(m)
	}
	return out, nil
}

// schema transforms one schema object of the OpenAPI v2 document, recursively.
// refs collects the names of the definitions it refers to.
func (c *converter) schema(in map[string]any, refs *[]string) (any, error) {
	out := map[string]any{}
	if ref, ok := in["$ref"].(string); ok {
		if !strings.HasPrefix(ref, refPrefix) {
			return nil, fmt.Errorf("unsupported $ref %q", ref)
		}
		*refs = append(*refs, strings.TrimPrefix(ref, refPrefix))
		// Draft 4 ignores everything next to a $ref: keep it alone.
		return map[string]any{"$ref": ref}, nil
	}
	if f, ok := in["format"].(string); ok && f == "int-or-string" {
		return map[string]any{"type": []any{"string", "integer"}}, nil
	}
	for key, val := range in {
		switch key {
		case "type", "format", "enum", "required", "minimum", "maximum", "pattern",
			"minItems", "maxItems", "minLength", "maxLength", "uniqueItems":
			out[key] = val
		case "items":
			sub, ok := val.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("items is %T, want an object", val)
			}
			s, err := c.schema(sub, refs)
			if err != nil {
				return nil, fmt.Errorf("items: %w", err)
			}
			out[key] = s
		case "additionalProperties":
			switch v := val.(type) {
			case bool:
				out[key] = v
			case map[string]any:
				s, err := c.schema(v, refs)
				if err != nil {
					return nil, fmt.Errorf("additionalProperties: %w", err)
				}
				out[key] = s
			default:
				return nil, fmt.Errorf("additionalProperties is %T", val)
			}
		case "properties":
			props, ok := val.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("properties is %T, want an object", val)
			}
			required := map[string]bool{}
			if rs, ok := in["required"].([]any); ok {
				for _, r := range rs {
					if s, ok := r.(string); ok {
						required[s] = true
					}
				}
			}
			outProps := make(map[string]any, len(props))
			for pname, pval := range props {
				psub, ok := pval.(map[string]any)
				if !ok {
					return nil, fmt.Errorf("property %s is %T, want an object", pname, pval)
				}
				s, err := c.schema(psub, refs)
				if err != nil {
					return nil, fmt.Errorf("property %s: %w", pname, err)
				}
				if sm, ok := s.(map[string]any); ok && !required[pname] {
					nullable(sm)
				}
				outProps[pname] = s
			}
			out[key] = outProps
		default:
			// description, default, example, x-kubernetes-*: not needed for validation.
		}
	}
	if f, ok := out["format"].(string); ok && f != "date-time" {
		// int32, int64, byte, double...: not JSON schema formats; keep the files lean.
		delete(out, "format")
	}
	if c.strict {
		if _, hasProps := out["properties"]; hasProps {
			if _, set := out["additionalProperties"]; !set {
				out["additionalProperties"] = false
			}
		}
	}
	return out, nil
}

// nullable lets a schema also accept null: "type": T becomes "type": [T, "null"].
// A bare $ref is left alone (its definition is nullable already); a schema without a
// type accepts anything, null included.
func nullable(s map[string]any) {
	switch t := s["type"].(type) {
	case string:
		if t != "null" {
			s["type"] = []any{t, "null"}
		}
	case []any:
		for _, x := range t {
			if x == "null" {
				return
			}
		}
		s["type"] = append(append([]any{}, t...), "null")
	}
}

// closure returns the names of all definitions reachable from name (name excluded
// unless it refers to itself), sorted.
func (c *converter) closure(name string) []string {
	seen := map[string]bool{}
	var visit func(string)
	visit = func(n string) {
		for _, r := range c.refs[n] {
			if !seen[r] {
				seen[r] = true
				visit(r)
			}
		}
	}
	visit(name)
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// standalone builds the complete schema document for one kind.
func (c *converter) standalone(name string, g gvk) (map[string]any, error) {
	root, ok := deepCopy(c.conv[name]).(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s is not an object schema", name)
	}
	// The document itself is never null.
	if t, ok := root["type"].([]any); ok && len(t) == 2 && t[1] == "null" {
		root["type"] = t[0]
	}
	if props, ok := root["properties"].(map[string]any); ok {
		if p, ok := props["apiVersion"].(map[string]any); ok {
			p["enum"] = []any{g.apiVersion()}
		}
		if p, ok := props["kind"].(map[string]any); ok {
			p["enum"] = []any{g.Kind}
		}
	}
	deps := c.closure(name)
	if len(deps) > 0 {
		defs := make(map[string]any, len(deps))
		for _, d := range deps {
			defs[d] = c.conv[d]
		}
		root["definitions"] = defs
	}
	root["$schema"] = "http://json-schema.org/draft-04/schema#"
	return root, nil
}

func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[k] = deepCopy(x)
		}
		return m
	case []any:
		s := make([]any, len(t))
		for i, x := range t {
			s[i] = deepCopy(x)
		}
		return s
	default:
		return v
	}
}

func kindsOf(def map[string]any) ([]gvk, error) {
	raw, ok := def["x-kubernetes-group-version-kind"]
	if !ok {
		return nil, nil
	}
	list, ok := raw.([]any)
	if !ok {
		return nil, fmt.Errorf("x-kubernetes-group-version-kind is %T", raw)
	}
	var out []gvk
	for _, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("x-kubernetes-group-version-kind item is %T", item)
		}
		g, _ := m["group"].(string)
		v, _ := m["version"].(string)
		k, _ := m["kind"].(string)
		if v == "" || k == "" {
			return nil, fmt.Errorf("incomplete group-version-kind %v", m)
		}
		out = append(out, gvk{Group: g, Version: v, Kind: k})
	}
	return out, nil
}

// writeSchemas converts the swagger document and writes one file per kind into dir
// (created if needed). It returns the number of files written.
func writeSchemas(swagger []byte, dir string, strict bool) (int, error) {
	var doc swaggerDoc
	if err := json.Unmarshal(swagger, &doc); err != nil {
		return 0, fmt.Errorf("parsing the OpenAPI document: %w", err)
	}
	c, err := newConverter(&doc, strict)
	if err != nil {
		return 0, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	names := make([]string, 0, len(doc.Definitions))
	for n := range doc.Definitions {
		names = append(names, n)
	}
	sort.Strings(names)
	written := map[string]string{} // file name -> definition
	for _, name := range names {
		kinds, err := kindsOf(doc.Definitions[name])
		if err != nil {
			return 0, fmt.Errorf("definition %s: %w", name, err)
		}
		for _, g := range kinds {
			file := g.fileName()
			if prev, dup := written[file]; dup {
				return 0, fmt.Errorf("%s: both %s and %s map to this file name", file, prev, name)
			}
			written[file] = name
			s, err := c.standalone(name, g)
			if err != nil {
				return 0, err
			}
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", " ")
			if err := enc.Encode(s); err != nil {
				return 0, err
			}
			if err := os.WriteFile(filepath.Join(dir, file), buf.Bytes(), 0o644); err != nil {
				return 0, err
			}
		}
	}
	if len(written) == 0 {
		return 0, fmt.Errorf("no definition carries x-kubernetes-group-version-kind")
	}
	return len(written), nil
}
