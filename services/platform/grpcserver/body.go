package grpcserver

// How the HTTP API reads a request body. grpc-gateway decodes a body with
// the mux's Marshaler (marshaler.NewDecoder(req.Body).Decode(&req)) and, when
// that fails, answers through the mux's error handler with
// status.Errorf(codes.InvalidArgument, "%v", err): the text survives, any
// details do not. So:
//
//   - guard wraps every body in a requestBody (bounded by MaxBytesReader);
//   - gatewayMarshaler's decoder reads the whole body (413 when it is over the
//     limit, before anything is parsed), accepts exactly one JSON value, lets
//     protojson decide, and when protojson refuses walks the JSON against the
//     message descriptor (bodycheck.go) to name every problem; the resulting
//     *bodyError is both returned (its text becomes the gateway's message) and
//     left on the requestBody;
//   - gatewayErrorHandler finds it there, checks it is the error the gateway
//     is reporting, and answers with the full status: InvalidArgument with a
//     google.rpc.BadRequest, fields named by JSON path as ValidationStatus
//     names them (prefixed with the body field for `body: "policy"` routes).

import (
	"buf.build/go/protovalidate"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// bodyField names the request body as a whole in a field violation: for a
// body that is not JSON, or has data after its JSON value.
const bodyField = "(body)"

// requestBody is an HTTP API request body, and where the gateway's decoder
// leaves why it refused it, for gatewayErrorHandler.
type requestBody struct {
	io.ReadCloser
	refused *bodyError
}

// violation is one problem in a body; path is relative to the decoded
// message ("" for the message itself), or bodyField.
type violation struct {
	path, desc string
	// fromRules marks a schema rule's violation found on the rest of a
	// refused body (see restViolations).
	fromRules bool
}

// bodyError is why a request body was refused.
type bodyError struct {
	violations []violation
	// limit is set instead when the body is larger than the limit (413).
	limit int64
}

func (e *bodyError) Error() string { return e.status("").Message() }

// GRPCStatus makes the error a gRPC status (status.FromError) where it is
// passed on unwrapped.
func (e *bodyError) GRPCStatus() *status.Status { return e.status("") }

// status is InvalidArgument with a BadRequest, each field prefixed with the
// JSON path of the request field the body was decoded into, if any.
func (e *bodyError) status(prefix string) *status.Status {
	if e.limit > 0 {
		return status.New(codes.InvalidArgument, fmt.Sprintf("request body larger than %d bytes", e.limit))
	}
	br := &errdetails.BadRequest{}
	msgs := make([]string, 0, len(e.violations))
	for _, v := range e.violations {
		field := v.path
		if field != bodyField {
			field = joinPath(prefix, field)
			if field == "" {
				field = bodyField
			}
		}
		br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: field, Description: v.desc})
		msgs = append(msgs, field+": "+v.desc)
	}
	st := status.New(codes.InvalidArgument, "invalid request: "+strings.Join(msgs, "; "))
	if withDetails, err := st.WithDetails(br); err == nil {
		st = withDetails
	}
	return st
}

// joinPath appends a path relative to prefix: a field, or an [index].
func joinPath(prefix, path string) string {
	switch {
	case prefix == "":
		return path
	case path == "":
		return prefix
	case strings.HasPrefix(path, "["):
		return prefix + path
	default:
		return prefix + "." + path
	}
}

// gatewayMarshaler is runtime.JSONPb (which still writes every response)
// with a strict, explaining decoder.
type gatewayMarshaler struct {
	*runtime.JSONPb
	// validator checks the schema's rules on the rest of a refused body.
	validator protovalidate.Validator
}

func newGatewayMarshaler(j *runtime.JSONPb, v protovalidate.Validator) *gatewayMarshaler {
	return &gatewayMarshaler{JSONPb: j, validator: v}
}

// ContentType is JSON's, except for a google.api.HttpBody response (a
// download: PDF, CSV, XLSX), which names its own.
func (m *gatewayMarshaler) ContentType(v any) string {
	if b, ok := v.(*httpbody.HttpBody); ok {
		return b.GetContentType()
	}
	return m.JSONPb.ContentType(v)
}

// Marshal writes a google.api.HttpBody response as its bytes, anything else
// as JSON.
func (m *gatewayMarshaler) Marshal(v any) ([]byte, error) {
	if b, ok := v.(*httpbody.HttpBody); ok {
		return b.GetData(), nil
	}
	return m.JSONPb.Marshal(v)
}

// Unmarshal decodes data, exactly one JSON value, into v.
func (m *gatewayMarshaler) Unmarshal(data []byte, v any) error { return m.decode(data, v) }

// NewDecoder returns a decoder of one request body: its first Decode reads
// the whole of r as exactly one JSON value, later ones return io.EOF (no
// API streams requests).
func (m *gatewayMarshaler) NewDecoder(r io.Reader) runtime.Decoder {
	return &bodyDecoder{m: m, r: r}
}

type bodyDecoder struct {
	m    *gatewayMarshaler
	r    io.Reader
	done bool
}

func (d *bodyDecoder) Decode(v any) error {
	if d.done {
		return io.EOF
	}
	d.done = true
	data, err := io.ReadAll(d.r)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return d.refuse(&bodyError{limit: tooLarge.Limit})
		}
		return err
	}
	err = d.m.decode(data, v)
	var be *bodyError
	if errors.As(err, &be) {
		return d.refuse(be)
	}
	return err
}

func (d *bodyDecoder) refuse(e *bodyError) error {
	if b, ok := d.r.(*requestBody); ok {
		b.refused = e
	}
	return e
}

func (m *gatewayMarshaler) decode(data []byte, v any) error {
	if len(bytes.TrimLeft(data, jsonSpace)) == 0 {
		return io.EOF // an empty body is an empty message
	}
	if !utf8.Valid(data) {
		return &bodyError{violations: []violation{{path: bodyField, desc: "not valid UTF-8"}}}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var value json.RawMessage
	if err := dec.Decode(&value); err != nil {
		return &bodyError{violations: []violation{{path: bodyField, desc: syntaxProblem(data, err)}}}
	}
	var found []violation
	if len(bytes.TrimLeft(data[dec.InputOffset():], jsonSpace)) > 0 {
		found = append(found, violation{path: bodyField, desc: "unexpected data after the JSON object"})
	}
	msg, ok := messageTarget(v)
	if !ok {
		// Not a message (no route here decodes into anything else): the
		// gateway's own decoding, its error text withheld.
		if err := m.JSONPb.Unmarshal(value, v); err != nil {
			found = append(found, violation{path: bodyField, desc: "does not match the request format"})
		}
	} else if err := m.UnmarshalOptions.Unmarshal(value, msg); err != nil {
		why := explain(value, msg.ProtoReflect().Descriptor(), m.UnmarshalOptions)
		if len(why) == 0 {
			why = []violation{{path: bodyField, desc: "does not match the request format"}}
		}
		found = append(found, why...)
		found = append(found, restViolations(m.validator, value, msg, why)...)
	}
	if len(found) > 0 {
		return &bodyError{violations: found}
	}
	return nil
}

const jsonSpace = " \t\r\n"

// syntaxProblem says where the JSON is broken, never what is there.
func syntaxProblem(data []byte, err error) string {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		at := int(se.Offset) - 1 // the offending byte
		at = max(0, min(at, len(data)))
		line := 1 + bytes.Count(data[:at], []byte("\n"))
		col := at - bytes.LastIndexByte(data[:at], '\n')
		return fmt.Sprintf("not valid JSON: error at line %d, column %d", line, col)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "not valid JSON: the body ends inside the JSON value"
	default:
		return "not valid JSON"
	}
}

var protoMessageType = reflect.TypeFor[proto.Message]()

// messageTarget is the message v decodes into: v itself, or the message a
// pointer to a message field points to (allocated), as body: "policy"
// routes decode into &req.Policy.
func messageTarget(v any) (proto.Message, bool) {
	if m, ok := v.(proto.Message); ok {
		return m, true
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return nil, false
	}
	e := rv.Elem()
	if e.Kind() != reflect.Pointer || !e.Type().Implements(protoMessageType) {
		return nil, false
	}
	if e.IsNil() {
		e.Set(reflect.New(e.Type().Elem()))
	}
	m, ok := e.Interface().(proto.Message)
	return m, ok
}

// gatewayErrorHandler is runtime.DefaultHTTPErrorHandler, except that a
// body the decoder refused is answered with everything the decoder found
// (and 413 for a body over the limit).
func gatewayErrorHandler(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	if be := refusedBody(r, err); be != nil {
		be = &bodyError{violations: withoutPathParams(ctx, be.violations), limit: be.limit}
		err = be.status(bodyFieldPath(ctx)).Err()
		if be.limit > 0 {
			err = &runtime.HTTPStatusError{HTTPStatus: http.StatusRequestEntityTooLarge, Err: err}
		}
	} else if st, ok := status.FromError(err); ok && st.Code() == codes.FailedPrecondition {
		// A step the resource's state does not allow (e.g. answering a
		// case not yet verified) is a conflict with that state: 409, where
		// grpc-gateway's default says 400.
		err = &runtime.HTTPStatusError{HTTPStatus: http.StatusConflict, Err: err}
	}
	runtime.DefaultHTTPErrorHandler(ctx, mux, m, w, r, err)
}

// refusedBody is the decoder's error behind err, if err is the gateway's
// report of it.
func refusedBody(r *http.Request, err error) *bodyError {
	var be *bodyError
	if errors.As(err, &be) {
		return be
	}
	b, ok := r.Body.(*requestBody)
	if !ok || b.refused == nil {
		return nil
	}
	if st, ok := status.FromError(err); !ok || st.Code() != codes.InvalidArgument || st.Message() != b.refused.Error() {
		return nil
	}
	return b.refused
}

// bodyFieldPath is the JSON path of the request field the route's body is
// decoded into (its google.api.http body), "" when the body is the whole
// request.
func bodyFieldPath(ctx context.Context) string {
	method, ok := runtime.RPCMethod(ctx)
	if !ok {
		return ""
	}
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(strings.ReplaceAll(strings.TrimPrefix(method, "/"), "/", ".")))
	if err != nil {
		return ""
	}
	md, ok := d.(protoreflect.MethodDescriptor)
	if !ok {
		return ""
	}
	xt, err := protoregistry.GlobalTypes.FindExtensionByName("google.api.http")
	if err != nil {
		return ""
	}
	opts := md.Options()
	if opts == nil || !proto.HasExtension(opts, xt) {
		return ""
	}
	rule := opts.ProtoReflect().Get(xt.TypeDescriptor()).Message()
	pattern, _ := runtime.HTTPPathPattern(ctx)
	body := ruleBody(rule, pattern)
	if body == "" || body == "*" {
		return ""
	}
	if fd := md.Input().Fields().ByName(protoreflect.Name(body)); fd != nil {
		return fd.JSONName()
	}
	return lowerCamel(body)
}

// ruleBody is the body of the google.api.HttpRule binding with the given
// path pattern (the rule itself or one of its additional bindings), or of
// the rule when none has it.
func ruleBody(rule protoreflect.Message, pattern string) string {
	fields := rule.Descriptor().Fields()
	bodyFD, bindingsFD := fields.ByName("body"), fields.ByName("additional_bindings")
	if bodyFD == nil {
		return ""
	}
	if bindingsFD != nil && pattern != "" && rulePath(rule) != pattern {
		list := rule.Get(bindingsFD).List()
		for i := range list.Len() {
			if b := list.Get(i).Message(); rulePath(b) == pattern {
				return b.Get(bodyFD).String()
			}
		}
	}
	return rule.Get(bodyFD).String()
}

// rulePath is the path template of an HttpRule (get, post, ... or custom).
func rulePath(rule protoreflect.Message) string {
	od := rule.Descriptor().Oneofs().ByName("pattern")
	if od == nil {
		return ""
	}
	fd := rule.WhichOneof(od)
	if fd == nil {
		return ""
	}
	if fd.Kind() == protoreflect.MessageKind { // custom: {kind, path}
		c := rule.Get(fd).Message()
		if p := c.Descriptor().Fields().ByName("path"); p != nil {
			return c.Get(p).String()
		}
		return ""
	}
	return rule.Get(fd).String()
}
