package grpcserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strconv"
	"strings"

	"buf.build/go/protovalidate"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// With a body the decoder refused, the schema's rules (protovalidate) are
// still checked on the rest of it, so that one answer names every
// offending field: an unknown enum name in one field and an empty required
// one in another are both listed. The rest is the body without the fields
// already refused, decoded leniently.

// restViolations are the schema violations of the body value with the
// already flagged fields taken out; nil when the rest cannot be decoded.
func restViolations(validator protovalidate.Validator, value json.RawMessage, msg proto.Message, flagged []violation) []violation {
	if validator == nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(value))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil
	}
	for _, f := range flagged {
		if f.path == bodyField || f.path == "" {
			return nil // the body as a whole is wrong: nothing else to say
		}
		doc = prune(doc, splitPath(f.path))
	}
	rest, err := json.Marshal(doc)
	if err != nil {
		return nil
	}
	m := msg.ProtoReflect().Type().New().Interface()
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(rest, m); err != nil {
		return nil
	}
	err = validator.Validate(m)
	var ve *protovalidate.ValidationError
	if !errors.As(err, &ve) {
		return nil
	}
	var out []violation
	for _, v := range ve.Violations {
		field := jsonPath(v.Proto.GetField())
		if overlaps(field, flagged) {
			continue
		}
		desc := v.Proto.GetMessage()
		if desc == "" {
			desc = v.Proto.GetRuleId()
		}
		out = append(out, violation{path: field, desc: desc, fromRules: true})
	}
	return out
}

var pathElem = regexp.MustCompile(`[^.\[\]]+|\[\d+\]`)

func splitPath(p string) []string { return pathElem.FindAllString(p, -1) }

// prune removes the element at path from doc (maps and lists from JSON).
func prune(doc any, path []string) any {
	if len(path) == 0 {
		return doc
	}
	head := path[0]
	if strings.HasPrefix(head, "[") {
		l, ok := doc.([]any)
		i, err := strconv.Atoi(strings.Trim(head, "[]"))
		if !ok || err != nil || i >= len(l) {
			return doc
		}
		if len(path) == 1 {
			l[i] = nil // keep the indices of the others
			return l
		}
		l[i] = prune(l[i], path[1:])
		return l
	}
	m, ok := doc.(map[string]any)
	if !ok {
		return doc
	}
	if len(path) == 1 {
		delete(m, head)
		return m
	}
	if sub, ok := m[head]; ok {
		m[head] = prune(sub, path[1:])
	}
	return m
}

// overlaps reports whether field is, contains or is inside a flagged field.
func overlaps(field string, flagged []violation) bool {
	for _, f := range flagged {
		p := f.path
		if field == p || strings.HasPrefix(field, p+".") || strings.HasPrefix(field, p+"[") ||
			strings.HasPrefix(p, field+".") || strings.HasPrefix(p, field+"[") {
			return true
		}
	}
	return false
}

var pathParam = regexp.MustCompile(`\{([a-zA-Z0-9_.]+)(=[^}]*)?\}`)

// withoutPathParams drops rule violations on the fields the route's path
// fills (e.g. case_id of /v1/cases/{case_id}:answer): the body is decoded
// before they are set, and they are checked on the whole request later.
func withoutPathParams(ctx context.Context, vs []violation) []violation {
	pattern, ok := runtime.HTTPPathPattern(ctx)
	if !ok {
		return vs
	}
	params := map[string]bool{}
	for _, m := range pathParam.FindAllStringSubmatch(pattern, -1) {
		params[lowerCamel(m[1])] = true
		params[m[1]] = true
	}
	out := vs[:0:0]
	for _, v := range vs {
		top := v.path
		if i := strings.IndexAny(top, ".["); i >= 0 {
			top = top[:i]
		}
		if v.fromRules && params[top] {
			continue
		}
		out = append(out, v)
	}
	return out
}
