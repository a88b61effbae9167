// Protects how the HTTP API reads a request body: a bad body answers 400
// naming every offending field by its JSON path and why (never with the
// value sent), trailing data and broken JSON are refused, a body over the
// limit is 413 before anything is parsed, and a correct body — JSON names,
// proto names or enum numbers — reaches the handler.
package grpcserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	routingv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/routing/v1"
	"github.com/counterdesk/counterdesk/services/platform/grpcserver"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
)

// imports holds the last ImportOrg request each test server's handler saw.
var imports sync.Map // *routing → *routingv1.ImportOrgRequest

func (r *routing) ImportOrg(_ context.Context, req *routingv1.ImportOrgRequest) (*routingv1.ImportOrgResponse, error) {
	imports.Store(r, proto.Clone(req))
	return &routingv1.ImportOrgResponse{Regions: int32(len(req.GetRegions())), Branches: int32(len(req.GetBranches())), Staff: int32(len(req.GetStaff()))}, nil
}

func (s *server) lastImport() *routingv1.ImportOrgRequest {
	v, ok := imports.Load(s.impl)
	if !ok {
		return nil
	}
	return v.(*routingv1.ImportOrgRequest)
}

func postBody(t *testing.T, url, token string, body []byte, chunked bool) (int, []byte) {
	t.Helper()
	var rd io.Reader = bytes.NewReader(body)
	if chunked {
		rd = struct{ io.Reader }{bytes.NewReader(body)} // unknown length: sent chunked
	}
	req, err := http.NewRequest(http.MethodPost, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

type fieldViolation struct {
	Field       string `json:"field"`
	Description string `json:"description"`
}

// badRequest reads a status body and its BadRequest field violations.
func badRequest(t *testing.T, body []byte) (statusBody, []fieldViolation) {
	t.Helper()
	var st statusBody
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatalf("body is not a status: %v: %s", err, body)
	}
	var out []fieldViolation
	for _, d := range st.Details {
		var br struct {
			Type            string           `json:"@type"`
			FieldViolations []fieldViolation `json:"fieldViolations"`
		}
		if err := json.Unmarshal(d, &br); err == nil && br.Type == "type.googleapis.com/google.rpc.BadRequest" {
			out = append(out, br.FieldViolations...)
		}
	}
	return st, out
}

func TestABadBodyAnswers400NamingEveryProblem(t *testing.T) {
	t.Parallel()
	s := start(t, 5*time.Second)
	tok := s.token(t, teller, time.Hour)
	url := s.httpURL + "/v1/org:import"

	type want struct {
		field, desc string // desc: a part of the description
	}
	tests := []struct {
		name string
		body string
		want []want
		// secrets are what was sent: no description or message may contain them.
		secrets []string
	}{
		{
			name: "an unknown enum name, a wrong type and an unknown field in one body are all listed",
			body: `{"regions":[{"id":"r1","name":"North","colour":"Zhao Lei's blue"}],
				"branches":[{"id":"b1","regionId":"r1","name":31041987}],
				"staff":[{"id":"s1","displayName":"Li Na","role":"ROLE_TELLER"},{"id":"s2","displayName":"Wang Fang","role":"ROLE_JANITOR"}]}`,
			want: []want{
				{"regions[0].colour", "unknown field"},
				{"branches[0].name", "must be a string"},
				{"staff[1].role", "unknown value; allowed: ROLE_TELLER, ROLE_LOBBY_MANAGER"},
			},
			secrets: []string{"Zhao Lei", "31041987", "ROLE_JANITOR"},
		},
		{
			name: "each wrong JSON type says what the field must be",
			body: `{"regions":[{"id":true,"name":{"surname":"Qian"}}],
				"branches":"b1-secret",
				"staff":["s1-secret",{"id":"s2","displayName":["Sun"],"role":true,"authorityLevel":"high-secret"}]}`,
			want: []want{
				{"regions[0].id", "must be a string"},
				{"regions[0].name", "must be a string"},
				{"branches", "must be an array"},
				{"staff[0]", "must be an object"},
				{"staff[1].displayName", "must be a string"},
				{"staff[1].role", "must be a string; allowed: ROLE_TELLER"},
				{"staff[1].authorityLevel", "must be a number"},
			},
			secrets: []string{"Qian", "b1-secret", "s1-secret", "Sun", "high-secret"},
		},
		{
			name: "integers must be whole and in range",
			body: `{"staff":[{"id":"s1","authorityLevel":2.5},{"id":"s2","authorityLevel":98765432101},{"id":"s3","authority_level":"-98765432101"},{"id":"s4","role":4294967297}]}`,
			want: []want{
				{"staff[0].authorityLevel", "must be an integer"},
				{"staff[1].authorityLevel", "out of range: must be between -2147483648 and 2147483647"},
				{"staff[2].authorityLevel", "out of range"},
				{"staff[3].role", "must be a value name; allowed:"},
			},
			secrets: []string{"2.5", "98765432101", "4294967297"},
		},
		{
			name: "a field given by both its JSON and its proto name is set more than once",
			body: `{"staff":[{"id":"s1","displayName":"Li Na","display_name":"Zhou Xun","role":"ROLE_TELLER"}]}`,
			want: []want{{"staff[0].displayName", "set more than once"}},
		},
		{
			name:    "a second JSON object after the first is refused",
			body:    `{"regions":[{"id":"r1","name":"North"}]} {"regions":[{"id":"r2","name":"Wu Gang"}]}`,
			want:    []want{{"(body)", "unexpected data after the JSON object"}},
			secrets: []string{"Wu Gang"},
		},
		{
			name:    "garbage after the object is refused",
			body:    `{"regions":[]}Zheng Wei`,
			want:    []want{{"(body)", "unexpected data after the JSON object"}},
			secrets: []string{"Zheng Wei"},
		},
		{
			name: "trailing data does not hide the problems of the object",
			body: `{"regions":[{"id":"r1","shape":"round"}]}]`,
			want: []want{{"(body)", "unexpected data after the JSON object"}, {"regions[0].shape", "unknown field"},
				// The schema's rules are checked on the rest of the body too.
				{"regions[0].name", "must be at least 1 characters"}},
		},
		{
			name: "a decoding problem and a rule broken elsewhere are both named",
			body: `{"regions":[{"id":"r1","name":""}],"staff":[{"id":"s1","displayName":"Li Na","role":"ROLE_NOPE"}]}`,
			want: []want{{"staff[0].role", "unknown value"}, {"regions[0].name", "must be at least 1 characters"}},
		},
		{
			name:    "a body cut short is not valid JSON",
			body:    `{"regions":[{"id":"r1","name":"Feng Yu`,
			want:    []want{{"(body)", "not valid JSON"}},
			secrets: []string{"Feng Yu"},
		},
		{
			name:    "broken JSON is located, not quoted",
			body:    "{\"regions\":[\n{\"id\" \"Chen Jie\"}]}",
			want:    []want{{"(body)", "not valid JSON: error at line 2, column 7"}},
			secrets: []string{"Chen Jie"},
		},
		{
			name: "a body that is not an object is refused as a whole",
			body: `["Han Mei"]`,
			want: []want{{"(body)", "must be an object"}},
		},
		{
			name: "JSON null is not a request",
			body: `null`,
			want: []want{{"(body)", "must be an object"}},
		},
		{
			name: "a null list element is refused, a null field is unset",
			body: `{"regions":null,"staff":[null]}`,
			want: []want{{"staff[0]", "must be an object"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := postBody(t, url, tok, []byte(tt.body), false)
			if code != http.StatusBadRequest {
				t.Fatalf("answered %d %s, want 400", code, body)
			}
			st, got := badRequest(t, body)
			if st.Code != int(codes.InvalidArgument) || !strings.HasPrefix(st.Message, "invalid request: ") {
				t.Errorf("code %d message %q, want InvalidArgument and \"invalid request: ...\"", st.Code, st.Message)
			}
			var fields []string
			for _, fv := range got {
				fields = append(fields, fv.Field)
			}
			if len(got) != len(tt.want) {
				t.Errorf("field violations %v, want %d: %s", fields, len(tt.want), body)
			}
			for _, w := range tt.want {
				i := slices.IndexFunc(got, func(fv fieldViolation) bool { return fv.Field == w.field })
				if i < 0 {
					t.Errorf("no violation for %s in %s", w.field, body)
					continue
				}
				if !strings.Contains(got[i].Description, w.desc) {
					t.Errorf("%s: description %q, want it to contain %q", w.field, got[i].Description, w.desc)
				}
				if !strings.Contains(st.Message, w.field+": ") {
					t.Errorf("message %q does not name %s", st.Message, w.field)
				}
				if strings.Contains(got[i].Description, "UNSPECIFIED") {
					t.Errorf("%s: description %q offers the unspecified value", w.field, got[i].Description)
				}
			}
			for _, secret := range tt.secrets {
				for _, fv := range got {
					if strings.Contains(fv.Description, secret) {
						t.Errorf("description of %s echoes the value sent: %q", fv.Field, fv.Description)
					}
				}
				if strings.Contains(st.Message, secret) {
					t.Errorf("message echoes the value sent: %q", st.Message)
				}
			}
		})
	}
}

func TestACorrectBodyReachesTheHandler(t *testing.T) {
	t.Parallel()
	s := start(t, 5*time.Second)
	tok := s.token(t, teller, time.Hour)
	url := s.httpURL + "/v1/org:import"
	tests := []struct {
		name string
		body string
		want *routingv1.ImportOrgRequest
	}{
		{
			name: "JSON names and enum names",
			body: `{"regions":[{"id":"r1","name":"North"}],"branches":[{"id":"b1","regionId":"r1","name":"Main Street","timeZone":"Asia/Shanghai"}],
				"staff":[{"id":"s1","displayName":"Li Na","role":"ROLE_TELLER","branchId":"b1","authorityLevel":1}]}`,
			want: &routingv1.ImportOrgRequest{
				Regions:  []*routingv1.Region{{Id: "r1", Name: "North"}},
				Branches: []*routingv1.Branch{{Id: "b1", RegionId: "r1", Name: "Main Street", TimeZone: "Asia/Shanghai"}},
				Staff:    []*routingv1.Staff{{Id: "s1", DisplayName: "Li Na", Role: routingv1.Role_ROLE_TELLER, BranchId: "b1", AuthorityLevel: 1}},
			},
		},
		{
			name: "proto field names, an enum number and an integer as a string",
			body: `{"staff":[{"id":"s2","display_name":"Wang Fang","role":2,"branch_id":"b1","region_id":"r1","authority_level":"2"}]}`,
			want: &routingv1.ImportOrgRequest{
				Staff: []*routingv1.Staff{{Id: "s2", DisplayName: "Wang Fang", Role: routingv1.Role_ROLE_LOBBY_MANAGER, BranchId: "b1", RegionId: "r1", AuthorityLevel: 2}},
			},
		},
		{
			name: "null fields are unset and trailing white space is fine",
			body: "{\"regions\":null,\"staff\":[{\"id\":\"s3\",\"displayName\":\"Zhou Xun\",\"role\":\"ROLE_LEGAL\",\"branchId\":null}]}\n\n",
			want: &routingv1.ImportOrgRequest{
				Staff: []*routingv1.Staff{{Id: "s3", DisplayName: "Zhou Xun", Role: routingv1.Role_ROLE_LEGAL}},
			},
		},
		{
			name: "an empty body is an empty request",
			body: "",
			want: &routingv1.ImportOrgRequest{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := postBody(t, url, tok, []byte(tt.body), false)
			if code != http.StatusOK {
				t.Fatalf("answered %d %s, want 200", code, body)
			}
			if got := s.lastImport(); !proto.Equal(got, tt.want) {
				t.Errorf("handler saw %v, want %v", got, tt.want)
			}
		})
	}
}

func TestABodyOverTheLimitIs413BeforeParsing(t *testing.T) {
	t.Parallel()
	s := start(t, 5*time.Second, func(o *grpcserver.Options) { o.MaxBodyBytes = 64 << 10 })
	tok := s.token(t, teller, time.Hour)
	url := s.httpURL + "/v1/org:import"
	// Broken JSON: had it been parsed, the answer would be 400.
	big := []byte(`{"regions":[{"name":"` + strings.Repeat("x", 100<<10))
	for _, chunked := range []bool{false, true} {
		code, body := postBody(t, url, tok, big, chunked)
		if code != http.StatusRequestEntityTooLarge {
			t.Errorf("chunked=%v: answered %d %s, want 413", chunked, code, body)
			continue
		}
		st, _ := badRequest(t, body)
		if st.Code != int(codes.InvalidArgument) || !strings.Contains(st.Message, "larger than 65536 bytes") {
			t.Errorf("chunked=%v: status %+v", chunked, st)
		}
	}
}
