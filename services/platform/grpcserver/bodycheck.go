package grpcserver

// explain says why protojson refused a JSON value as a message, naming every
// problem rather than the first: it walks the JSON once (a json.Decoder over
// the value, descriptor-driven) and applies protojson's rules — JSON or
// proto field names, null as unset, enum names or int32 numbers, integers
// as numbers or numeric strings, well-known types by protojson itself.
// Descriptions say what is wanted, never what was sent: a value may be
// personal data.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"
)

// maxBodyViolations bounds what one answer lists.
const maxBodyViolations = 100

// explain lists the problems in data, a syntactically valid JSON value, as
// the message md.
func explain(data []byte, md protoreflect.MessageDescriptor, opts protojson.UnmarshalOptions) []violation {
	w := &bodyWalker{dec: json.NewDecoder(bytes.NewReader(data)), data: data, opts: opts}
	_ = w.message(md, "") // a read error ends the walk: what was found stands
	return w.out
}

type bodyWalker struct {
	dec  *json.Decoder
	data []byte
	opts protojson.UnmarshalOptions
	out  []violation
}

func (w *bodyWalker) add(path, desc string) {
	switch {
	case len(w.out) < maxBodyViolations:
		w.out = append(w.out, violation{path: path, desc: desc})
	case len(w.out) == maxBodyViolations:
		w.out = append(w.out, violation{path: bodyField, desc: "more problems not listed"})
	}
}

// peek is the first byte of the next value (after any ':' or ',' the
// decoder has yet to consume).
func (w *bodyWalker) peek() byte {
	for i := int(w.dec.InputOffset()); i < len(w.data); i++ {
		switch c := w.data[i]; c {
		case ' ', '\t', '\r', '\n', ':', ',':
		default:
			return c
		}
	}
	return 0
}

type discard struct{}

func (*discard) UnmarshalJSON([]byte) error { return nil }

func (w *bodyWalker) skip() error { return w.dec.Decode(&discard{}) }

func (w *bodyWalker) raw() ([]byte, error) {
	var r json.RawMessage
	err := w.dec.Decode(&r)
	return bytes.TrimLeft(r, jsonSpace), err
}

func (w *bodyWalker) delim() error {
	_, err := w.dec.Token()
	return err
}

func fieldPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func (w *bodyWalker) message(md protoreflect.MessageDescriptor, path string) error {
	if done, err := w.wellKnown(md, path); done {
		return err
	}
	if w.peek() != '{' {
		w.add(path, "must be an object")
		return w.skip()
	}
	if err := w.delim(); err != nil {
		return err
	}
	seen := map[protoreflect.FieldNumber]bool{}
	oneofs := map[protoreflect.FullName]bool{}
	for w.dec.More() {
		tok, err := w.dec.Token()
		if err != nil {
			return err
		}
		name, _ := tok.(string)
		fd := w.field(md, name)
		if fd == nil {
			if !w.opts.DiscardUnknown {
				w.add(fieldPath(path, name), "unknown field")
			}
			if err := w.skip(); err != nil {
				return err
			}
			continue
		}
		fpath := fieldPath(path, fd.JSONName())
		if fd.IsExtension() {
			fpath = fieldPath(path, "["+string(fd.FullName())+"]")
		}
		if seen[fd.Number()] {
			w.add(fpath, "set more than once")
			if err := w.skip(); err != nil {
				return err
			}
			continue
		}
		seen[fd.Number()] = true
		if w.peek() == 'n' && !isValueMessage(fd) && !isNullEnum(fd) {
			if err := w.skip(); err != nil { // null: unset
				return err
			}
			continue
		}
		switch {
		case fd.IsList():
			err = w.list(fd, fpath)
		case fd.IsMap():
			err = w.mapField(fd, fpath)
		default:
			if od := fd.ContainingOneof(); od != nil {
				if oneofs[od.FullName()] {
					w.add(fpath, oneofProblem(od))
					if err := w.skip(); err != nil {
						return err
					}
					continue
				}
				oneofs[od.FullName()] = true
			}
			err = w.singular(fd, fpath)
		}
		if err != nil {
			return err
		}
	}
	return w.delim()
}

// field is the field a JSON key names, as protojson finds it: the JSON
// name, the proto name, or [an.extension].
func (w *bodyWalker) field(md protoreflect.MessageDescriptor, name string) protoreflect.FieldDescriptor {
	if strings.HasPrefix(name, "[") && strings.HasSuffix(name, "]") {
		var r interface {
			FindExtensionByName(protoreflect.FullName) (protoreflect.ExtensionType, error)
		} = protoregistry.GlobalTypes
		if w.opts.Resolver != nil {
			r = w.opts.Resolver
		}
		xt, err := r.FindExtensionByName(protoreflect.FullName(name[1 : len(name)-1]))
		if err != nil {
			return nil
		}
		fd := xt.TypeDescriptor()
		if !md.ExtensionRanges().Has(fd.Number()) || fd.ContainingMessage().FullName() != md.FullName() {
			return nil
		}
		return fd
	}
	if fd := md.Fields().ByJSONName(name); fd != nil {
		return fd
	}
	return md.Fields().ByTextName(name)
}

func isValueMessage(fd protoreflect.FieldDescriptor) bool {
	return fd.Message() != nil && fd.Message().FullName() == "google.protobuf.Value"
}

func isNullEnum(fd protoreflect.FieldDescriptor) bool {
	return fd.Enum() != nil && fd.Enum().FullName() == "google.protobuf.NullValue"
}

func oneofProblem(od protoreflect.OneofDescriptor) string {
	names := make([]string, 0, od.Fields().Len())
	for i := range od.Fields().Len() {
		names = append(names, od.Fields().Get(i).JSONName())
	}
	return "only one of " + strings.Join(names, ", ") + " may be set"
}

// singular walks one value of fd: the field's, or a list element's or map
// value's (fd being the list field or the map's value field).
func (w *bodyWalker) singular(fd protoreflect.FieldDescriptor, path string) error {
	if k := fd.Kind(); k == protoreflect.MessageKind || k == protoreflect.GroupKind {
		return w.message(fd.Message(), path)
	}
	return w.scalar(fd, path)
}

func (w *bodyWalker) list(fd protoreflect.FieldDescriptor, path string) error {
	if w.peek() != '[' {
		w.add(path, "must be an array")
		return w.skip()
	}
	if err := w.delim(); err != nil {
		return err
	}
	for i := 0; w.dec.More(); i++ {
		if err := w.singular(fd, path+"["+strconv.Itoa(i)+"]"); err != nil {
			return err
		}
	}
	return w.delim()
}

func (w *bodyWalker) mapField(fd protoreflect.FieldDescriptor, path string) error {
	if w.peek() != '{' {
		w.add(path, "must be an object")
		return w.skip()
	}
	if err := w.delim(); err != nil {
		return err
	}
	seen := map[string]bool{}
	for w.dec.More() {
		tok, err := w.dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		kpath := path + "[" + strconv.Quote(key) + "]"
		norm, problem := mapKey(fd.MapKey(), key)
		switch {
		case problem != "":
			w.add(kpath, problem)
		case seen[norm]:
			w.add(kpath, "set more than once")
		default:
			seen[norm] = true
		}
		if err := w.singular(fd.MapValue(), kpath); err != nil {
			return err
		}
	}
	return w.delim()
}

// mapKey checks a map key as protojson reads it, and returns it normalised.
func mapKey(fd protoreflect.FieldDescriptor, key string) (string, string) {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		if key == "true" || key == "false" {
			return key, ""
		}
		return "", "key must be true or false"
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		bits := intBits(fd.Kind())
		n, err := strconv.ParseInt(key, 10, bits)
		if err != nil {
			return "", "key must be an integer " + intRange(true, bits)
		}
		return strconv.FormatInt(n, 10), ""
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		bits := intBits(fd.Kind())
		n, err := strconv.ParseUint(key, 10, bits)
		if err != nil {
			return "", "key must be an integer " + intRange(false, bits)
		}
		return strconv.FormatUint(n, 10), ""
	default:
		return key, ""
	}
}

func intBits(k protoreflect.Kind) int {
	switch k {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind, protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return 32
	default:
		return 64
	}
}

func intRange(signed bool, bits int) string {
	switch {
	case signed && bits == 32:
		return "between " + strconv.Itoa(math.MinInt32) + " and " + strconv.Itoa(math.MaxInt32)
	case signed:
		return "between " + strconv.FormatInt(math.MinInt64, 10) + " and " + strconv.FormatInt(math.MaxInt64, 10)
	case bits == 32:
		return "between 0 and " + strconv.FormatUint(math.MaxUint32, 10)
	default:
		return "between 0 and " + strconv.FormatUint(math.MaxUint64, 10)
	}
}

// wellKnown walks a value of a well-known type, which protojson reads in
// its own way; done is false for any other message.
func (w *bodyWalker) wellKnown(md protoreflect.MessageDescriptor, path string) (done bool, err error) {
	if md.FullName().Parent() != "google.protobuf" {
		return false, nil
	}
	var problem string
	switch md.Name() {
	case "DoubleValue", "FloatValue", "Int64Value", "UInt64Value", "Int32Value", "UInt32Value", "BoolValue", "StringValue", "BytesValue":
		return true, w.scalar(md.Fields().ByNumber(1), path)
	case "Timestamp":
		problem = "must be an RFC 3339 time"
	case "Duration":
		problem = "must be a duration in seconds with an s suffix, such as 90s or 1.5s"
	case "FieldMask":
		problem = "must be a string of comma-separated field paths"
	case "Struct":
		problem = "must be an object"
	case "ListValue":
		problem = "must be an array"
	case "Value":
		problem = "must be a JSON value"
	case "Any":
		problem = "must be an object with a known @type"
	case "Empty":
		problem = "must be an empty object"
	default:
		return false, nil
	}
	raw, err := w.raw()
	if err != nil {
		return true, err
	}
	if w.opts.Unmarshal(raw, dynamicpb.NewMessage(md)) != nil {
		w.add(path, problem)
	}
	return true, nil
}

func (w *bodyWalker) scalar(fd protoreflect.FieldDescriptor, path string) error {
	raw, err := w.raw()
	if err != nil {
		return err
	}
	if problem := w.scalarProblem(fd, raw); problem != "" {
		w.add(path, problem)
	}
	return nil
}

func (w *bodyWalker) scalarProblem(fd protoreflect.FieldDescriptor, raw []byte) string {
	if len(raw) == 0 {
		return "must not be empty"
	}
	c := raw[0]
	switch k := fd.Kind(); k {
	case protoreflect.BoolKind:
		if c == 't' || c == 'f' {
			return ""
		}
		return "must be a boolean"
	case protoreflect.StringKind:
		if c == '"' {
			return ""
		}
		return "must be a string"
	case protoreflect.BytesKind:
		if c != '"' {
			return "must be a base64 string"
		}
		if !validBase64(unquote(raw)) {
			return "must be base64"
		}
		return ""
	case protoreflect.EnumKind:
		return w.enumProblem(fd.Enum(), raw)
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return intProblem(raw, true, intBits(k))
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return intProblem(raw, false, intBits(k))
	case protoreflect.FloatKind:
		return floatProblem(raw, 32)
	case protoreflect.DoubleKind:
		return floatProblem(raw, 64)
	default:
		return ""
	}
}

func unquote(raw []byte) string {
	var s string
	_ = json.Unmarshal(raw, &s)
	return s
}

// validBase64 decodes as protojson does: standard or URL alphabet, padded
// or not.
func validBase64(s string) bool {
	enc := base64.StdEncoding
	if strings.ContainsAny(s, "-_") {
		enc = base64.URLEncoding
	}
	if len(s)%4 != 0 {
		enc = enc.WithPadding(base64.NoPadding)
	}
	_, err := enc.DecodeString(s)
	return err == nil
}

func (w *bodyWalker) enumProblem(ed protoreflect.EnumDescriptor, raw []byte) string {
	switch c := raw[0]; {
	case c == '"':
		if w.opts.DiscardUnknown || ed.Values().ByName(protoreflect.Name(unquote(raw))) != nil {
			return ""
		}
		return "unknown value; allowed: " + enumNames(ed)
	case c == '-' || ('0' <= c && c <= '9'):
		if n, ok := integerValue(string(raw)); ok {
			if _, err := strconv.ParseInt(n, 10, 32); err == nil {
				return ""
			}
		}
		return "must be a value name; allowed: " + enumNames(ed)
	case c == 'n' && ed.FullName() == "google.protobuf.NullValue":
		return ""
	default:
		return "must be a string; allowed: " + enumNames(ed)
	}
}

// enumNames lists an enum's value names, the *_UNSPECIFIED zero aside.
func enumNames(ed protoreflect.EnumDescriptor) string {
	vals := ed.Values()
	names := make([]string, 0, vals.Len())
	for i := range vals.Len() {
		if n := string(vals.Get(i).Name()); !strings.HasSuffix(n, "_UNSPECIFIED") {
			names = append(names, n)
		}
	}
	return strings.Join(names, ", ")
}

// numberText is the JSON number in raw, a number or a string holding
// exactly one; problem says otherwise.
func numberText(raw []byte) (text, problem string) {
	c := raw[0]
	switch {
	case c == '"':
		s := unquote(raw)
		if !isJSONNumber(s) {
			return "", "must be a number"
		}
		return s, ""
	case c == '-' || ('0' <= c && c <= '9'):
		return string(raw), ""
	default:
		return "", "must be a number"
	}
}

func intProblem(raw []byte, signed bool, bits int) string {
	text, problem := numberText(raw)
	if problem != "" {
		return problem
	}
	n, ok := integerValue(text)
	if !ok {
		return "must be an integer"
	}
	var err error
	if signed {
		_, err = strconv.ParseInt(n, 10, bits)
	} else {
		_, err = strconv.ParseUint(n, 10, bits)
	}
	if err != nil {
		return "out of range: must be " + intRange(signed, bits)
	}
	return ""
}

func floatProblem(raw []byte, bits int) string {
	if raw[0] == '"' {
		switch unquote(raw) {
		case "NaN", "Infinity", "-Infinity":
			return ""
		}
	}
	text, problem := numberText(raw)
	if problem != "" {
		return problem
	}
	if _, err := strconv.ParseFloat(text, bits); err != nil {
		if bits == 32 {
			return "out of range for a 32-bit float"
		}
		return "out of range for a 64-bit float"
	}
	return ""
}

// isJSONNumber reports whether s is exactly one JSON number.
func isJSONNumber(s string) bool {
	i := 0
	digits := func() int {
		start := i
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
		return i - start
	}
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

// integerValue writes s, a JSON number, as a plain decimal integer, or
// reports false when it has a fractional part. A magnitude beyond 20
// digits comes back as 21 nines, out of every integer type's range.
func integerValue(s string) (string, bool) {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	mant, exp := s, 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant = s[:i]
		e, err := strconv.Atoi(strings.TrimPrefix(s[i+1:], "+"))
		if err != nil || e > 1_000_000 || e < -1_000_000 {
			// An absurd exponent: only a zero survives it.
			if strings.Trim(mant, "0.") == "" {
				return "0", true
			}
			if strings.HasPrefix(s[i+1:], "-") {
				return "", false
			}
			return strings.Repeat("9", 21), true
		}
		exp = e
	}
	intp, frac := mant, ""
	if i := strings.IndexByte(mant, '.'); i >= 0 {
		intp, frac = mant[:i], mant[i+1:]
	}
	// value = digits × 10^exp
	digits := strings.TrimLeft(intp+frac, "0")
	exp -= len(frac)
	for strings.HasSuffix(digits, "0") {
		digits = digits[:len(digits)-1]
		exp++
	}
	switch {
	case digits == "":
		return "0", true
	case exp < 0:
		return "", false
	case len(digits)+exp > 20:
		return strings.Repeat("9", 21), true
	}
	digits += strings.Repeat("0", exp)
	if neg {
		digits = "-" + digits
	}
	return digits, true
}
