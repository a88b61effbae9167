// Protects the body decoder's rules for what the routing API alone does not
// exercise: well-known types, bytes, unsigned and 64-bit integers, floats,
// maps, oneofs, and a route whose body is one field of the request.
package grpcserver

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	routingv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/routing/v1"
	slatimerv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/slatimer/v1"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func testMarshaler() *gatewayMarshaler {
	return newGatewayMarshaler(&runtime.JSONPb{UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false}}, nil)
}

// violationsOf is field → description of a decode error's BadRequest.
func violationsOf(t *testing.T, err error) map[string]string {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.InvalidArgument {
		t.Fatalf("error %v is not InvalidArgument", err)
	}
	out := map[string]string{}
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, fv := range br.GetFieldViolations() {
				out[fv.GetField()] = fv.GetDescription()
			}
		}
	}
	return out
}

// mapsAndOneofs is a message with a map<int32, string>, a map<bool, Region>
// and a oneof, built at run time.
func mapsAndOneofs(t *testing.T) protoreflect.MessageDescriptor {
	t.Helper()
	entry := func(name string, key descriptorpb.FieldDescriptorProto_Type, val *descriptorpb.FieldDescriptorProto) *descriptorpb.DescriptorProto {
		val.Name, val.Number, val.Label = proto.String("value"), proto.Int32(2), descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum()
		return &descriptorpb.DescriptorProto{
			Name:    proto.String(name),
			Options: &descriptorpb.MessageOptions{MapEntry: proto.Bool(true)},
			Field: []*descriptorpb.FieldDescriptorProto{
				{Name: proto.String("key"), Number: proto.Int32(1), Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(), Type: key.Enum()},
				val,
			},
		}
	}
	repeated, optional := descriptorpb.FieldDescriptorProto_LABEL_REPEATED.Enum(), descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum()
	str, msg := descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum(), descriptorpb.FieldDescriptorProto_TYPE_MESSAGE.Enum()
	fdp := &descriptorpb.FileDescriptorProto{
		Name:       proto.String("grpcserver_test/maps.proto"),
		Package:    proto.String("grpcserver.test"),
		Syntax:     proto.String("proto3"),
		Dependency: []string{"counterdesk/routing/v1/routing.proto"},
		MessageType: []*descriptorpb.DescriptorProto{{
			Name: proto.String("Labelled"),
			Field: []*descriptorpb.FieldDescriptorProto{
				{Name: proto.String("labels"), Number: proto.Int32(1), Label: repeated, Type: msg, TypeName: proto.String(".grpcserver.test.Labelled.LabelsEntry")},
				{Name: proto.String("regions"), Number: proto.Int32(2), Label: repeated, Type: msg, TypeName: proto.String(".grpcserver.test.Labelled.RegionsEntry")},
				{Name: proto.String("email"), Number: proto.Int32(3), Label: optional, Type: str, OneofIndex: proto.Int32(0)},
				{Name: proto.String("phone_number"), Number: proto.Int32(4), Label: optional, Type: str, OneofIndex: proto.Int32(0)},
			},
			NestedType: []*descriptorpb.DescriptorProto{
				entry("LabelsEntry", descriptorpb.FieldDescriptorProto_TYPE_INT32, &descriptorpb.FieldDescriptorProto{Type: str}),
				entry("RegionsEntry", descriptorpb.FieldDescriptorProto_TYPE_BOOL, &descriptorpb.FieldDescriptorProto{Type: msg, TypeName: proto.String(".counterdesk.routing.v1.Region")}),
			},
			OneofDecl: []*descriptorpb.OneofDescriptorProto{{Name: proto.String("contact")}},
		}},
	}
	fd, err := protodesc.NewFile(fdp, protoregistry.GlobalFiles)
	if err != nil {
		t.Fatal(err)
	}
	return fd.Messages().Get(0)
}

func TestTheDecoderNamesEveryProblem(t *testing.T) {
	m := testMarshaler()
	labelled := mapsAndOneofs(t)
	tests := []struct {
		name    string
		into    func() proto.Message
		body    string
		want    map[string]string // field → part of its description
		secrets []string
	}{
		{
			name: "a timestamp must be an RFC 3339 time",
			into: func() proto.Message { return &routingv1.GetQueueResponse{} },
			body: `{"entries":[{"enqueuedAt":"yesterday at Liu's"},{"enqueuedAt":"2026-01-02T03:04:05Z"},{"enqueued_at":12},{"caseId":7}]}`,
			want: map[string]string{
				"entries[0].enqueuedAt": "must be an RFC 3339 time",
				"entries[2].enqueuedAt": "must be an RFC 3339 time",
				"entries[3].caseId":     "must be a string",
			},
			secrets: []string{"Liu"},
		},
		{
			name: "durations, enums and doubles in an SLA policy",
			into: func() proto.Message { return &slatimerv1.Policy{} },
			body: `{"rules":[{"kind":"DEADLINE_KIND_NEVER","duration":"forever","workingDays":"7"},{"clock":3,"duration":"90s"},{"kind":"DEADLINE_KIND_ACKNOWLEDGE","duration":90}],
				"warningFractions":[0.5,"NaN","0.25","three quarters",1e999],"workdayStart":900}`,
			want: map[string]string{
				"rules[0].kind":       "unknown value; allowed: DEADLINE_KIND_ACKNOWLEDGE, DEADLINE_KIND_HANDOVER_PICKUP",
				"rules[0].duration":   "must be a duration",
				"rules[2].duration":   "must be a duration",
				"warningFractions[3]": "must be a number",
				"warningFractions[4]": "out of range for a 64-bit float",
				"workdayStart":        "must be a string",
			},
			secrets: []string{"NEVER", "forever", "three quarters", "1e999", "900"},
		},
		{
			name: "bytes must be base64, unsigned and 64-bit integers in range",
			into: func() proto.Message { return &descriptorpb.UninterpretedOption{} },
			body: `{"stringValue":"not*base64!","positiveIntValue":"-1","negativeIntValue":1e30,"doubleValue":true,"identifierValue":"ok","aggregateValue":null}`,
			want: map[string]string{
				"stringValue":      "must be base64",
				"positiveIntValue": "out of range: must be between 0 and 18446744073709551615",
				"negativeIntValue": "out of range: must be between -9223372036854775808 and 9223372036854775807",
				"doubleValue":      "must be a number",
			},
			secrets: []string{"base64!", "1e30"},
		},
		{
			name: "map keys are checked, values walked, and one oneof field may be set",
			into: func() proto.Message { return dynamicpb.NewMessage(labelled) },
			body: `{"labels":{"1":"a","one":"b","01":"c","2":7},"regions":{"true":{"id":"r1","colour":"red"},"yes":{"id":"r2"}},"email":"a@example.com","phoneNumber":"13800138000"}`,
			want: map[string]string{
				`labels["one"]`:          "key must be an integer between -2147483648 and 2147483647",
				`labels["01"]`:           "set more than once",
				`labels["2"]`:            "must be a string",
				`regions["true"].colour`: "unknown field",
				`regions["yes"]`:         "key must be true or false",
				"phoneNumber":            "only one of email, phoneNumber may be set",
			},
			secrets: []string{"13800138000", "example.com"},
		},
		{
			name: "a wrapper holds its scalar's rules",
			into: func() proto.Message { return &wrapperspb.Int32Value{} },
			body: `"twelve"`,
			want: map[string]string{"(body)": "must be a number"},
		},
		{
			name: "a Struct must be an object",
			into: func() proto.Message { return &structpb.Struct{} },
			body: `[1,2]`,
			want: map[string]string{"(body)": "must be an object"},
		},
		{
			name: "invalid UTF-8 is refused as a whole",
			into: func() proto.Message { return &routingv1.Region{} },
			body: "{\"name\":\"\xff\xfe\"}",
			want: map[string]string{"(body)": "not valid UTF-8"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := m.Unmarshal([]byte(tt.body), tt.into())
			got := violationsOf(t, err)
			if len(got) != len(tt.want) {
				t.Errorf("violations %v, want %d", got, len(tt.want))
			}
			for field, desc := range tt.want {
				if d, ok := got[field]; !ok || !strings.Contains(d, desc) {
					t.Errorf("%s: description %q (present %v), want it to contain %q; all: %v", field, d, ok, desc, got)
				}
			}
			for _, secret := range tt.secrets {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q echoes the value sent", err)
				}
			}
		})
	}
}

func TestWhatProtojsonAcceptsTheDecoderAccepts(t *testing.T) {
	m := testMarshaler()
	labelled := mapsAndOneofs(t)
	tests := []struct {
		name string
		into proto.Message
		body string
	}{
		{"timestamps, enum numbers, numeric strings, NaN and exponents", &slatimerv1.Deadline{},
			`{"kind":2,"clock":"CLOCK_CALENDAR","started_at":"2026-01-02T03:04:05+08:00","dueAt":null,"level":"WARNING_LEVEL_RED","provisional":false}`},
		{"durations and doubles", &slatimerv1.Policy{},
			`{"rules":[{"kind":"DEADLINE_KIND_ACKNOWLEDGE","duration":"1.5s","workingDays":1e1},{"working_days":"20"}],"warningFractions":[0.5,"0.75","NaN"]}`},
		{"maps and one oneof field", dynamicpb.NewMessage(labelled),
			`{"labels":{"1":"a","-2":"b"},"regions":{"false":{"id":"r1"}},"phone_number":"x","email":null}`},
		{"bytes in either alphabet, padded or not", &descriptorpb.UninterpretedOption{},
			`{"stringValue":"aGk-_w","positiveIntValue":"18446744073709551615","negativeIntValue":-9.223372036854775808e18}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.into.ProtoReflect().New().Interface()
			if err := protojson.Unmarshal([]byte(tt.body), want); err != nil {
				t.Fatalf("protojson refuses the test body: %v", err)
			}
			if err := m.Unmarshal([]byte(tt.body), tt.into); err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			if !proto.Equal(tt.into, want) {
				t.Errorf("decoded %v, protojson %v", tt.into, want)
			}
		})
	}
}

func TestTheDecoderReadsOneBodyOnce(t *testing.T) {
	m := testMarshaler()
	var req routingv1.ImportOrgRequest
	if err := m.NewDecoder(strings.NewReader(" \n ")).Decode(&req); !errors.Is(err, io.EOF) {
		t.Errorf("an empty body decoded with %v, want io.EOF (an empty request)", err)
	}
	d := m.NewDecoder(strings.NewReader(`{"regions":[{"id":"r1"}]}`))
	if err := d.Decode(&req); err != nil || len(req.GetRegions()) != 1 {
		t.Fatalf("Decode = %v, %v", err, &req)
	}
	if err := d.Decode(&req); !errors.Is(err, io.EOF) {
		t.Errorf("a second Decode returned %v, want io.EOF", err)
	}
}

// A route whose body is one field of the request (PUT /v1/sla/policy,
// body: "policy") names fields from the request, as validation does.
func TestAFieldBodyIsNamedFromTheRequest(t *testing.T) {
	mux := runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, testMarshaler()),
		runtime.WithErrorHandler(gatewayErrorHandler),
	)
	// The body is refused before any call: nothing needs to listen.
	if err := slatimerv1.RegisterSlaTimerServiceHandlerFromEndpoint(context.Background(), mux, "127.0.0.1:1",
		[]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}); err != nil {
		t.Fatal(err)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = &requestBody{ReadCloser: r.Body}
		mux.ServeHTTP(w, r)
	})
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPut, "/v1/sla/policy", strings.NewReader(`{"rules":[{"kind":"DEADLINE_KIND_SOMEDAY"}],"workday_end":1700} x`))
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusBadRequest {
		t.Fatalf("answered %d %s, want 400", rec.Code, rec.Body)
	}
	var st struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Details []struct {
			Type            string `json:"@type"`
			FieldViolations []struct {
				Field string `json:"field"`
			} `json:"fieldViolations"`
		} `json:"details"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil {
		t.Fatalf("body is not a status: %v: %s", err, rec.Body)
	}
	var fields []string
	for _, d := range st.Details {
		for _, fv := range d.FieldViolations {
			fields = append(fields, fv.Field)
		}
	}
	slices.Sort(fields)
	want := []string{"(body)", "policy.rules[0].kind", "policy.workdayEnd"}
	if st.Code != int(codes.InvalidArgument) || !slices.Equal(fields, want) {
		t.Errorf("code %d fields %v, want InvalidArgument and %v: %s", st.Code, fields, want, rec.Body)
	}
	if !strings.Contains(st.Message, "policy.rules[0].kind: unknown value") {
		t.Errorf("message %q does not name policy.rules[0].kind", st.Message)
	}
}

func TestIntegerValueFollowsProtojson(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"0", "0", true}, {"-0", "0", true}, {"12", "12", true}, {"-12", "-12", true},
		{"1.0", "1", true}, {"1e2", "100", true}, {"1.5e1", "15", true}, {"100e-2", "1", true},
		{"0.5e1", "5", true}, {"0e-999999999", "0", true}, {"1.5", "", false}, {"1e-1", "", false},
		{"1e-999999999", "", false}, {"1e999999999", strings.Repeat("9", 21), true},
		{"123456789012345678901", strings.Repeat("9", 21), true},
	}
	for _, tt := range tests {
		if got, ok := integerValue(tt.in); got != tt.want || ok != tt.ok {
			t.Errorf("integerValue(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
	for _, s := range []string{"0", "-1", "1.5", "1e5", "-0.0E+3"} {
		if !isJSONNumber(s) {
			t.Errorf("isJSONNumber(%q) = false", s)
		}
	}
	for _, s := range []string{"", "-", "01", "1.", ".5", "1e", "+1", " 1", "1 ", "0x10", "NaN"} {
		if isJSONNumber(s) {
			t.Errorf("isJSONNumber(%q) = true", s)
		}
	}
}
