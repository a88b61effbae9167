package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
)

// A small OpenAPI v2 document with the shapes the converter must handle: a kind with
// required and optional fields, a $ref, a recursive type, IntOrString, Quantity, a
// map, an array of objects, and a non-core group.
const testSwagger = `{
  "swagger": "2.0",
  "definitions": {
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": {"type": "string", "format": "int-or-string"},
    "io.k8s.apimachinery.pkg.api.resource.Quantity": {"type": "string", "description": "q"},
    "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta": {
      "type": "object",
      "properties": {
        "name": {"type": "string"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}}
      }
    },
    "test.Node": {
      "type": "object",
      "properties": {"children": {"type": "array", "items": {"$ref": "#/definitions/test.Node"}}}
    },
    "test.Port": {
      "type": "object",
      "required": ["port"],
      "properties": {
        "port": {"type": "integer", "format": "int32"},
        "target": {"$ref": "#/definitions/io.k8s.apimachinery.pkg.util.intstr.IntOrString"}
      }
    },
    "test.Widget": {
      "type": "object",
      "description": "A widget.",
      "required": ["spec"],
      "x-kubernetes-group-version-kind": [{"group": "networking.k8s.io", "version": "v1", "kind": "Widget"}],
      "properties": {
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
        "metadata": {"$ref": "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "description": "m"},
        "spec": {
          "type": "object",
          "required": ["ports"],
          "properties": {
            "ports": {"type": "array", "items": {"$ref": "#/definitions/test.Port"}},
            "size": {"$ref": "#/definitions/io.k8s.apimachinery.pkg.api.resource.Quantity"},
            "tree": {"$ref": "#/definitions/test.Node"},
            "x-kubernetes-preserve-unknown-fields": {"type": "boolean"}
          }
        }
      }
    },
    "test.Gadget": {
      "type": "object",
      "x-kubernetes-group-version-kind": [{"group": "", "version": "v1", "kind": "Gadget"}],
      "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"}}
    }
  }
}`

func convertTest(t *testing.T, strict bool) (string, map[string]map[string]any) {
	t.Helper()
	dir := t.TempDir()
	n, err := writeSchemas([]byte(testSwagger), dir, strict)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("wrote %d files, want 2", n)
	}
	files := map[string]map[string]any{}
	for _, name := range []string{"widget-networking-v1.json", "gadget-v1.json"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		files[name] = m
	}
	return dir, files
}

// get walks a decoded JSON document along keys.
func get(t *testing.T, v any, keys ...string) any {
	t.Helper()
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("at %q: %T is not an object", k, v)
		}
		v, ok = m[k]
		if !ok {
			t.Fatalf("no key %q in %v", k, keysOf(m))
		}
	}
	return v
}

func keysOf(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestStandaloneStrict(t *testing.T) {
	_, files := convertTest(t, true)
	w := files["widget-networking-v1.json"]
	const defs = "definitions"

	if got := get(t, w, "properties", "apiVersion", "enum"); !reflect.DeepEqual(got, []any{"networking.k8s.io/v1"}) {
		t.Errorf("apiVersion enum = %v", got)
	}
	if got := get(t, w, "properties", "kind", "enum"); !reflect.DeepEqual(got, []any{"Widget"}) {
		t.Errorf("kind enum = %v", got)
	}
	// Strict: unknown fields are errors, at the root, inline and in definitions...
	for _, path := range [][]string{
		{},
		{"properties", "spec"},
		{defs, "test.Port"},
		{defs, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"},
	} {
		if got := get(t, w, append(path, "additionalProperties")...); got != false {
			t.Errorf("%v: additionalProperties = %v, want false", path, got)
		}
	}
	// ...but maps keep their value schema.
	labels := get(t, w, defs, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "properties", "labels", "additionalProperties")
	if !reflect.DeepEqual(labels, map[string]any{"type": "string"}) {
		t.Errorf("labels values = %v", labels)
	}
	// The root is an object, never null; optional fields may be null, required not.
	if got := get(t, w, "type"); got != "object" {
		t.Errorf("root type = %v", got)
	}
	if got := get(t, w, "properties", "spec", "type"); got != "object" {
		t.Errorf("required spec: type = %v, want object", got)
	}
	if got := get(t, w, "properties", "spec", "properties", "ports", "type"); got != "array" {
		t.Errorf("required ports: type = %v, want array", got)
	}
	if got := get(t, w, defs, "test.Port", "properties", "port", "type"); got != "integer" {
		t.Errorf("required port: type = %v, want integer", got)
	}
	if got := get(t, w, "properties", "apiVersion", "type"); !reflect.DeepEqual(got, []any{"string", "null"}) {
		t.Errorf("optional apiVersion: type = %v", got)
	}
	// A property named like a keyword is still a property.
	if got := get(t, w, "properties", "spec", "properties", "x-kubernetes-preserve-unknown-fields", "type"); !reflect.DeepEqual(got, []any{"boolean", "null"}) {
		t.Errorf("x-kubernetes-preserve-unknown-fields property: type = %v", got)
	}
	// API server conversions.
	if got := get(t, w, defs, "io.k8s.apimachinery.pkg.util.intstr.IntOrString"); !reflect.DeepEqual(got, map[string]any{"type": []any{"string", "integer", "null"}}) {
		t.Errorf("IntOrString = %v", got)
	}
	if got := get(t, w, defs, "io.k8s.apimachinery.pkg.api.resource.Quantity"); !reflect.DeepEqual(got, map[string]any{"type": []any{"string", "number", "null"}}) {
		t.Errorf("Quantity = %v", got)
	}
	// A $ref stands alone (draft 4 ignores its siblings) and resolves in the file,
	// recursive types included.
	if got := get(t, w, "properties", "metadata"); !reflect.DeepEqual(got, map[string]any{"$ref": "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}) {
		t.Errorf("metadata = %v", got)
	}
	wantDefs := []string{
		"io.k8s.apimachinery.pkg.api.resource.Quantity",
		"io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
		"io.k8s.apimachinery.pkg.util.intstr.IntOrString",
		"test.Node",
		"test.Port",
	}
	if got := keysOf(get(t, w, defs).(map[string]any)); !reflect.DeepEqual(got, wantDefs) {
		t.Errorf("definitions = %v, want %v", got, wantDefs)
	}
	// Descriptions and non-JSON-schema formats are dropped.
	if _, ok := w["description"]; ok {
		t.Error("description kept")
	}
	if _, ok := get(t, w, defs, "test.Port", "properties", "port").(map[string]any)["format"]; ok {
		t.Error("format int32 kept")
	}

	// A core kind without references carries no definitions.
	g := files["gadget-v1.json"]
	if _, ok := g["definitions"]; ok {
		t.Error("gadget-v1.json has definitions")
	}
	if got := get(t, g, "properties", "apiVersion", "enum"); !reflect.DeepEqual(got, []any{"v1"}) {
		t.Errorf("gadget apiVersion enum = %v", got)
	}
}

func TestNotStrict(t *testing.T) {
	_, files := convertTest(t, false)
	if _, ok := files["widget-networking-v1.json"]["additionalProperties"]; ok {
		t.Error("-strict=false still sets additionalProperties")
	}
}

func TestFileNames(t *testing.T) {
	for _, tc := range []struct {
		g    gvk
		want string
	}{
		{gvk{"apps", "v1", "Deployment"}, "deployment-apps-v1.json"},
		{gvk{"", "v1", "Service"}, "service-v1.json"},
		{gvk{"", "v1", "ServiceAccount"}, "serviceaccount-v1.json"},
		{gvk{"networking.k8s.io", "v1", "Ingress"}, "ingress-networking-v1.json"},
		{gvk{"autoscaling", "v2", "HorizontalPodAutoscaler"}, "horizontalpodautoscaler-autoscaling-v2.json"},
		{gvk{"policy", "v1", "PodDisruptionBudget"}, "poddisruptionbudget-policy-v1.json"},
	} {
		if got := tc.g.fileName(); got != tc.want {
			t.Errorf("%v: %s, want %s", tc.g, got, tc.want)
		}
	}
}

func TestBrokenReference(t *testing.T) {
	doc := `{"definitions": {"a": {"type": "object", "properties": {"b": {"$ref": "#/definitions/missing"}}}}}`
	if _, err := writeSchemas([]byte(doc), t.TempDir(), true); err == nil {
		t.Fatal("no error for a reference to a missing definition")
	}
}
