package e2e

// The security suite: every attack of the issue "Each bank its own keys and
// walls", tried against the real stack (gateway, five services, Postgres
// with each service's owner and app roles), each seen refused.

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	intakev1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/intake/v1"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/services/platform/auth/authdev"
	"github.com/counterdesk/counterdesk/tools/devstack/stack"
	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
)

func hs256(t *testing.T, secret string, claims map[string]any) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims(claims)).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAnotherBankSeesAndChangesNothingOfTheDemoBank(t *testing.T) {
	c := createCase(t, "sec-wall-"+time.Now().Format("150405.000"), newCaseBody("wall between banks"))
	id := str(c["id"])
	for _, p := range []string{"/v1/cases/" + id, "/v1/cases/" + id + "/deadlines", "/v1/cases/" + id + "/notifications",
		"/v1/cases/" + id + "/assignment", "/v1/cases/" + id + "/audit:verify", "/v1/branches/" + stack.DemoBranch,
		"/v1/branches/" + stack.DemoBranch + "/queue", "/v1/branches/" + stack.DemoBranch + "/closures"} {
		for name, tok := range map[string]string{"bank-2 system": toks.OtherBankSystem, "bank-2 head office": toks.OtherHeadOffice} {
			code, body := call(t, http.MethodGet, p, tok, nil)
			if code != http.StatusForbidden && code != http.StatusNotFound {
				t.Errorf("%s reading %s: %d %v, want 403 or 404", name, p, code, body)
			}
		}
	}
	code, _ := call(t, http.MethodPost, "/v1/cases", toks.OtherBankSystem, newCaseBody("planted by bank 2"), "Idempotency-Key", "sec-plant")
	if code < 400 {
		t.Errorf("bank 2 created a case on the demo bank's branch: %d", code)
	}
	_, mine := call(t, http.MethodGet, "/v1/cases?pageSize=200", toks.OtherBankSystem, nil)
	for _, k := range list(mine, "cases") {
		if str(k["id"]) == id {
			t.Error("bank 2's case list holds the demo bank's case")
		}
	}
	// Its own branch works: the wall is about the bank, not the credential.
	other := newCaseBody("bank 2's own case")
	other["branchId"], other["reportedBy"] = stack.OtherBranch, "st2-tianhe-teller-1"
	if code, body := call(t, http.MethodPost, "/v1/cases", toks.OtherBankSystem, other, "Idempotency-Key", "sec-own"); code != http.StatusOK {
		t.Errorf("bank 2 creating its own case: %d %v", code, body)
	}
}

func TestABankSystemIsNotAnAdministrator(t *testing.T) {
	code, _ := call(t, http.MethodPost, "/v1/org:import", toks.BankSystem, obj{"regions": []any{}, "branches": []any{}, "staff": []any{}})
	if code != http.StatusForbidden {
		t.Errorf("bank system importing the org: %d, want 403", code)
	}
	_, pol := call(t, http.MethodGet, "/v1/sla/policy", toks.HeadOffice, nil)
	if code, _ := call(t, http.MethodPut, "/v1/sla/policy", toks.BankSystem, pol["policy"]); code != http.StatusForbidden {
		t.Errorf("bank system replacing the SLA policy: %d, want 403", code)
	}
	if code, _ := call(t, http.MethodPut, "/v1/sla/policy", toks.HeadOffice, pol["policy"]); code != http.StatusOK {
		t.Errorf("head office setting the SLA policy: %d, want 200 (the control)", code)
	}
}

func TestForgedAndOverreachingCredentialsAreRefused(t *testing.T) {
	keys := st.Keys
	demo, other := keys.Banks[stack.DemoTenant], keys.Banks[stack.OtherTenant]
	now := time.Now()
	ho := auth.Principal{Tenant: stack.DemoTenant, Subject: stack.DemoHeadOffice, Role: auth.RoleHeadOffice}
	claims := func(iss string, p auth.Principal, iat time.Time, ttl time.Duration) map[string]any {
		return authdev.Claims(iss, "counterdesk-api", p, iat, ttl)
	}
	sign := func(i *authdev.Issuer, c map[string]any) string {
		tok, err := i.Sign(c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	stranger, err := authdev.NewIssuer(demo.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	svc := auth.Principal{Tenant: auth.AllTenants, Subject: "notification", Role: auth.RoleService}
	attacks := map[string]string{
		"an HS256 token signed with a shared secret (the old installation key)": hs256(t, "0123456789abcdef0123456789abcdef0123456789abcdef", claims("counterdesk", ho, now, time.Hour)),
		"an HS256 token claiming the service role":                              hs256(t, "0123456789abcdef0123456789abcdef0123456789abcdef", authdev.Claims(auth.ServiceIssuer, auth.ServiceAudience, svc, now, time.Minute)),
		"bank 2's issuer naming the demo bank":                                  sign(other, claims(other.Issuer, ho, now, time.Hour)),
		"bank 2's key under the demo bank's issuer":                             sign(other, claims(demo.Issuer, ho, now, time.Hour)),
		"keys nobody trusts under the demo bank's issuer":                       sign(stranger, claims(demo.Issuer, ho, now, time.Hour)),
		"the demo bank's issuer claiming the service role":                      sign(demo, claims(demo.Issuer, svc, now, time.Hour)),
		"the demo bank's issuer claiming the operator role":                     sign(demo, claims(demo.Issuer, auth.Principal{Tenant: stack.DemoTenant, Subject: "x", Role: auth.RoleOperator}, now, time.Hour)),
		"a token issued in the future":                                          sign(demo, claims(demo.Issuer, ho, now.Add(time.Hour), time.Hour)),
		"a token living thirty days":                                            sign(demo, claims(demo.Issuer, ho, now, 30*24*time.Hour)),
		"an expired token":                                                      sign(demo, claims(demo.Issuer, ho, now.Add(-3*time.Hour), time.Hour)),
		"the demo bank's API key presented as bank 2's":                         strings.Replace(toks.BankSystem, "cdk."+stack.DemoTenant+".", "cdk."+stack.OtherTenant+".", 1),
		"an API key with its secret changed":                                    toks.BankSystem[:len(toks.BankSystem)-6] + "000000",
	}
	for name, tok := range attacks {
		if code, body := call(t, http.MethodGet, "/v1/cases?pageSize=1", tok, nil); code != http.StatusUnauthorized {
			t.Errorf("%s: %d %v, want 401", name, code, body)
		}
	}
	if code, _ := call(t, http.MethodGet, "/v1/cases?pageSize=1", sign(demo, claims(demo.Issuer, ho, now, time.Hour)), nil); code != http.StatusOK {
		t.Errorf("the control, a proper head office token: %d", code)
	}
}

// The internal API reads any bank's customer contacts: only the
// notification service's own key opens it.
func TestOnlyTheNotificationServiceReadsContacts(t *testing.T) {
	c := createCase(t, "sec-contact-"+time.Now().Format("150405.000"), newCaseBody("contact wall"))
	conn, err := grpc.NewClient(st.Addr("intake.grpc"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := intakev1.NewIntakeInternalServiceClient(conn)
	mint := func(p auth.Principal) string {
		tok, err := st.Keys.Mint(p, 5*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return "Bearer " + tok
	}
	notification, reporting := mint(auth.Principal{Tenant: auth.AllTenants, Subject: "notification", Role: auth.RoleService}),
		mint(auth.Principal{Tenant: auth.AllTenants, Subject: "reporting", Role: auth.RoleService})
	get := func(md metadata.MD) codes.Code {
		ctx, cancel := context.WithTimeout(metadata.NewOutgoingContext(context.Background(), md), 5*time.Second)
		defer cancel()
		_, err := client.GetCaseContact(ctx, &intakev1.GetCaseContactRequest{CaseId: str(c["id"])})
		return status.Code(err)
	}
	for name, tt := range map[string]struct {
		md   metadata.MD
		want codes.Code
	}{
		"the bank system's API key":               {metadata.Pairs("authorization", "Bearer "+toks.BankSystem), codes.PermissionDenied},
		"the head office":                         {metadata.Pairs("authorization", "Bearer "+toks.HeadOffice), codes.PermissionDenied},
		"the reporting service":                   {metadata.Pairs(auth.ServiceHeader, reporting), codes.PermissionDenied},
		"a bank token in the service header":      {metadata.Pairs(auth.ServiceHeader, "Bearer "+toks.HeadOffice), codes.Unauthenticated},
		"notification's header beside a teller's": {metadata.Pairs("authorization", "Bearer "+toks.Teller, auth.ServiceHeader, notification), codes.PermissionDenied},
		"the notification service (the control)":  {metadata.Pairs(auth.ServiceHeader, notification), codes.OK},
	} {
		if got := get(tt.md); got != tt.want {
			t.Errorf("%s: %v, want %v", name, got, tt.want)
		}
	}
}

func TestTheEdgeRefusesBeforeReadingAndNeverCaches(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 2<<20)
	for name, tc := range map[string]struct {
		url, token string
		want       int
	}{
		"2 MiB to intake's own port without a token": {"http://" + st.Addr("intake.http") + "/v1/cases", "", http.StatusUnauthorized},
		"2 MiB to intake's own port with a token":    {"http://" + st.Addr("intake.http") + "/v1/cases", toks.BankSystem, http.StatusRequestEntityTooLarge},
	} {
		req, _ := http.NewRequest(http.MethodPost, tc.url, bytes.NewReader(big))
		if tc.token != "" {
			req.Header.Set("Authorization", "Bearer "+tc.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: %d, want %d", name, resp.StatusCode, tc.want)
		}
	}
	c := createCase(t, "sec-cache-"+time.Now().Format("150405.000"), newCaseBody("no-store"))
	req, _ := http.NewRequest(http.MethodGet, gw+"/v1/cases/"+str(c["id"]), nil)
	req.Header.Set("Authorization", "Bearer "+toks.HeadOffice)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("a case with personal data: %d with Cache-Control %q, want 200 and no-store", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	// gRPC reflection (on in the dev stack) answers no anonymous caller.
	conn, err := grpc.NewClient(st.Addr("intake.grpc"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rs, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err == nil {
		// Send fails with io.EOF on a stream the server ended; Recv has its answer.
		_ = rs.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}})
		_, err = rs.Recv()
	}
	if status.Code(err) != codes.Unauthenticated {
		t.Errorf("anonymous reflection: %v, want Unauthenticated", err)
	}
}

// Each service connects as a role that owns nothing: it cannot alter the
// audit table, disable its trigger, rewrite or delete audit rows, and sees
// only the bank it is set to.
func TestTheServicesDatabaseRolesCannotRewriteHistoryOrCrossBanks(t *testing.T) {
	createCase(t, "sec-db-"+time.Now().Format("150405.000"), newCaseBody("db walls"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, st.DBs["intake"].AppURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, stmt := range []string{
		"ALTER TABLE case_audit DISABLE TRIGGER USER",
		"DROP TRIGGER case_audit_no_update ON case_audit",
		"UPDATE case_audit SET actor = 'x'",
		"DELETE FROM case_audit",
		"TRUNCATE case_audit",
		"DELETE FROM audit_anchors",
		"ALTER TABLE cases DISABLE ROW LEVEL SECURITY",
		"CREATE TABLE stash (x text)",
	} {
		if _, err := conn.Exec(ctx, "SELECT set_config('counterdesk.tenant', '*', false)"); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, stmt); err == nil {
			t.Errorf("intake's app role could %s", stmt)
		}
	}
	count := func(tenant string) int {
		if _, err := conn.Exec(ctx, "SELECT set_config('counterdesk.tenant', $1, false)", tenant); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM cases WHERE tenant_id = $1", stack.DemoTenant).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(stack.DemoTenant); n == 0 {
		t.Error("as the demo bank the app role sees none of its cases (the control)")
	}
	for _, tenant := range []string{stack.OtherTenant, ""} {
		if n := count(tenant); n != 0 {
			t.Errorf("set to %q the app role sees %d of the demo bank's cases", tenant, n)
		}
	}
	for _, svc := range stack.Services {
		c, err := pgx.Connect(ctx, st.DBs[svc].AppURL)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Exec(ctx, "CREATE TABLE stash (x text)"); err == nil {
			t.Errorf("%s's app role can run DDL", svc)
		}
		_ = c.Close(ctx)
	}
}

// Someone with the database's keys to the kingdom (a superuser, the owner)
// edits an audit row with the trigger off: audit:verify says so, naming
// the broken link; an untouched case verifies ok.
func TestATamperedAuditTrailIsDetectedThroughTheAPI(t *testing.T) {
	c := createCase(t, "sec-audit-"+time.Now().Format("150405.000"), newCaseBody("audit tamper"))
	id := str(c["id"])
	code, v := call(t, http.MethodGet, "/v1/cases/"+id+"/audit:verify", toks.BankSystem, nil)
	if code != http.StatusOK || v["ok"] != true {
		t.Fatalf("untouched trail: %d %v, want 200 ok", code, v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	su, err := pgx.Connect(ctx, st.Postgres.URL("intake"))
	if err != nil {
		t.Fatal(err)
	}
	defer su.Close(ctx)
	if _, err := su.Exec(ctx, `ALTER TABLE case_audit DISABLE TRIGGER USER;
		UPDATE case_audit SET actor = 'someone-else' WHERE case_id = '`+id+`' AND seq = 1;
		ALTER TABLE case_audit ENABLE TRIGGER USER`); err != nil {
		t.Fatal(err)
	}
	code, v = call(t, http.MethodGet, "/v1/cases/"+id+"/audit:verify", toks.BankSystem, nil)
	fb, _ := v["firstBroken"].(obj)
	if code != http.StatusOK || v["ok"] != false || fb == nil || fmt.Sprint(fb["seq"]) != "1" {
		t.Errorf("edited trail: %d %v, want ok false naming seq 1", code, v)
	}
	if code, _ := call(t, http.MethodGet, "/v1/cases/"+id+"/audit:verify", toks.OtherBankSystem, nil); code != http.StatusNotFound {
		t.Errorf("another bank verifying the trail: %d, want 404", code)
	}
}

// One teller terminal's idempotency key is its own: another caller of the
// same bank with the same key gets its own case, not the first one's.
func TestIdempotencyKeysAreThoseOfTheirCaller(t *testing.T) {
	key := "sec-idem-" + time.Now().Format("150405.000")
	first := createCase(t, key, newCaseBody("first caller"))
	code, second := call(t, http.MethodPost, "/v1/cases", toks.Teller, newCaseBody("second caller"), "Idempotency-Key", key)
	if code != http.StatusOK || str(second["id"]) == "" || str(second["id"]) == str(first["id"]) {
		t.Fatalf("another caller reusing the key: %d %v (first case %s), want a case of its own", code, second, str(first["id"]))
	}
}

// A client's traceparent does not become the parent of our spans.
func TestAClientCannotChooseOurTraceIDs(t *testing.T) {
	const theirs = "4bf92f3577b34da6a3ce929d0e0e4736"
	key := "sec-trace-" + time.Now().Format("150405.000")
	code, c := call(t, http.MethodPost, "/v1/cases", toks.BankSystem, newCaseBody("trace from outside"), "Idempotency-Key", key,
		"traceparent", "00-"+theirs+"-00f067aa0ba902b7-01")
	if code != http.StatusOK {
		t.Fatalf("create: %d %v", code, c)
	}
	eventually(t, 20*time.Second, "the case's trace", func() string {
		if len(tracesFor(t, str(c["id"]))) == 0 {
			return "no trace yet"
		}
		return ""
	})
	for _, tr := range tracesFor(t, str(c["id"])) {
		if tr.TraceID == theirs {
			t.Fatalf("the case's spans joined the client's trace %s", theirs)
		}
	}
}
