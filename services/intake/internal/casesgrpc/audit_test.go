// Protects VerifyCaseAudit: who may ask (GetCase's rule, another bank gets
// NotFound), that a tampered trail is reported with its first break, and
// that the answer carries integrity only, never the trail's content.
package casesgrpc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	intakev1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/intake/v1"
	"github.com/counterdesk/counterdesk/services/intake/internal/cases"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
)

// gatewayJSON renders resp as the HTTP gateway does (grpcserver's options),
// compacted: protojson varies its spacing on purpose.
func gatewayJSON(t *testing.T, resp *intakev1.VerifyCaseAuditResponse) string {
	t.Helper()
	b, err := protojson.MarshalOptions{EmitUnpopulated: false, UseProtoNames: false}.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func TestVerifyCaseAuditIsForWhoeverMaySeeTheCase(t *testing.T) {
	f := newFixture(t)
	id := f.create(t, system, "req-1").GetId()
	operator := auth.Principal{Tenant: "*", Subject: "ops", Role: auth.RoleOperator}
	tests := []struct {
		name   string
		caller auth.Principal
		caseID string
		// wantCode is what must come back; every caller also gets the same
		// code as from GetCase, whose decision this is.
		wantCode codes.Code
		// denied: any refusal will do, as long as it is GetCase's.
		denied bool
	}{
		{name: "the bank's system may verify its case", caller: system, caseID: id, wantCode: codes.OK},
		{name: "a teller of the branch may verify", caller: teller, caseID: id, wantCode: codes.OK},
		{name: "the complaint manager may verify", caller: cm, caseID: id, wantCode: codes.OK},
		{name: "the regional supervisor may verify", caller: supervisor, caseID: id, wantCode: codes.OK},
		{name: "a teller of another branch does not find the case", caller: farTeller, caseID: id, wantCode: codes.NotFound},
		{name: "another bank (its system) does not find the case", caller: otherBank, caseID: id, wantCode: codes.NotFound},
		{name: "an unknown case is not found", caller: system, caseID: uuid.NewString(), wantCode: codes.NotFound},
		{name: "the installation operator sees no bank's data", caller: operator, caseID: id, wantCode: codes.PermissionDenied},
		{name: "an SRE is refused as GetCase refuses it", caller: sre, caseID: id, denied: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, getErr := f.server.GetCase(as(tt.caller, ""), &intakev1.GetCaseRequest{CaseId: tt.caseID})
			resp, err := f.server.VerifyCaseAudit(as(tt.caller, ""), &intakev1.VerifyCaseAuditRequest{CaseId: tt.caseID})
			if status.Code(err) != status.Code(getErr) {
				t.Errorf("code %s (%v), GetCase answers %s", status.Code(err), err, status.Code(getErr))
			}
			if tt.denied {
				if status.Code(err) == codes.OK {
					t.Errorf("an SRE verified a case: %v", resp)
				}
				return
			}
			wantCode(t, err, tt.wantCode)
			if tt.wantCode == codes.OK && (!resp.GetOk() || resp.GetEntries() < 1 || resp.GetFirstBroken() != nil) { // GetCase in clear adds audited reads
				t.Errorf("answer %v, want an intact trail", resp)
			}
		})
	}
}

func TestVerifyCaseAuditReportsTheFirstBreak(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	id := f.create(t, system, "req-1").GetId()
	if err := f.store.RecordAccess(ctx, cases.Case{ID: id, Tenant: "bank-a"}, "notification", "notify customer", now); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.AnchorHeads(ctx, now, nil); err != nil {
		t.Fatal(err)
	}

	resp, err := f.server.VerifyCaseAudit(as(system, ""), &intakev1.VerifyCaseAuditRequest{CaseId: id})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := gatewayJSON(t, resp), `{"ok":true,"entries":2,"legacyEntries":0,"anchoredSeq":2}`; got != want {
		t.Errorf("intact trail answers %s, want %s", got, want)
	}

	for _, sql := range []string{
		`ALTER TABLE case_audit DISABLE TRIGGER USER`,
		`update case_audit set created_at = created_at + interval '1 second' where case_id = '` + id + `' and seq = 2`,
		`ALTER TABLE case_audit ENABLE TRIGGER USER`,
	} {
		if _, err := f.pool.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	resp, err = f.server.VerifyCaseAudit(as(teller, ""), &intakev1.VerifyCaseAuditRequest{CaseId: id})
	if err != nil {
		t.Fatal(err)
	}
	got := gatewayJSON(t, resp)
	if want := `{"ok":false,"entries":2,"legacyEntries":0,"anchoredSeq":2,"firstBroken":{"seq":2,"reason":"mac mismatch"}}`; got != want {
		t.Errorf("tampered trail answers %s, want %s", got, want)
	}
	// Integrity only: not who did what.
	for _, leak := range []string{"notification", "core-banking", "purpose", "personal_data_read", "created", inClear.Name} {
		if strings.Contains(got, leak) {
			t.Errorf("the answer shows %q of the trail: %s", leak, got)
		}
	}
}
