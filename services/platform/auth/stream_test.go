// Protects: streaming RPCs cannot skip authentication, and a call's calling
// service is known only from that service's own key.
package auth_test

import (
	"context"
	"testing"
	"time"

	"github.com/counterdesk/counterdesk/services/platform/auth"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

type fakeStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (f fakeStream) Context() context.Context { return f.ctx }

func TestStreamInterceptorAuthenticatesAllButPublicMethods(t *testing.T) {
	in := installation(t)
	v := verifier(t, in)
	tok := mint(t, in, auth.Principal{Tenant: "bank-a", Subject: "t1", Role: auth.RoleTeller, Branch: "b1"}, t0, time.Hour)
	icpt := auth.StreamServerInterceptor(v, "/grpc.health.v1.Health/")
	var seen auth.Principal
	handler := func(_ any, ss grpc.ServerStream) error {
		seen, _ = auth.FromContext(ss.Context())
		return nil
	}
	tests := []struct {
		name, method, token string
		wantCode            codes.Code
		wantSubject         string
	}{
		{"a stream without a token is refused", "/x.v1.S/Watch", "", codes.Unauthenticated, ""},
		{"a stream with a forged token is refused", "/x.v1.S/Watch", tok + "x", codes.Unauthenticated, ""},
		{"a stream with a valid token carries its caller", "/x.v1.S/Watch", tok, codes.OK, "t1"},
		{"health needs no token", "/grpc.health.v1.Health/Watch", "", codes.OK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seen = auth.Principal{}
			ctx := context.Background()
			if tt.token != "" {
				ctx = metadata.NewIncomingContext(ctx, metadata.Pairs("authorization", "Bearer "+tt.token))
			}
			err := icpt(nil, fakeStream{ctx: ctx}, &grpc.StreamServerInfo{FullMethod: tt.method}, handler)
			if status.Code(err) != tt.wantCode {
				t.Fatalf("code = %v, want %v", status.Code(err), tt.wantCode)
			}
			if seen.Subject != tt.wantSubject {
				t.Errorf("handler saw caller %q, want %q", seen.Subject, tt.wantSubject)
			}
		})
	}
}

// An internal method names the services that may call it; a call on behalf
// of a caller carries both identities; a forged service header is refused.
func TestInternalMethodsNameTheirCallingServices(t *testing.T) {
	in := installation(t)
	v := verifier(t, in)
	notif := mint(t, in, auth.Principal{Tenant: auth.AllTenants, Subject: "notification", Role: auth.RoleService}, t0, 5*time.Minute)
	intake := mint(t, in, auth.Principal{Tenant: auth.AllTenants, Subject: "intake", Role: auth.RoleService}, t0, 5*time.Minute)
	bankTok := mint(t, in, teller, t0, time.Hour)
	icpt := auth.UnaryServerInterceptor(v)
	call := func(md metadata.MD) (auth.Principal, string, error) {
		var p auth.Principal
		var svc string
		_, err := icpt(metadata.NewIncomingContext(context.Background(), md), nil, &grpc.UnaryServerInfo{FullMethod: "/x/Get"},
			func(ctx context.Context, _ any) (any, error) {
				p, _ = auth.FromContext(ctx)
				svc = auth.CallingService(ctx)
				_, err := auth.RequireService(ctx, "notification")
				return nil, err
			})
		return p, svc, err
	}
	tests := []struct {
		name     string
		md       metadata.MD
		wantCode codes.Code
		wantSvc  string
		wantSub  string
	}{
		{"notification calling for itself is let in", metadata.Pairs(auth.ServiceHeader, "Bearer "+notif), codes.OK, "notification", "notification"},
		{"intake calling for itself is not", metadata.Pairs(auth.ServiceHeader, "Bearer "+intake), codes.PermissionDenied, "intake", "intake"},
		{"a bank's teller is not", metadata.Pairs("authorization", "Bearer "+bankTok), codes.PermissionDenied, "", "staff-1"},
		{"a call on behalf of a teller carries both", metadata.Pairs("authorization", "Bearer "+bankTok, auth.ServiceHeader, "Bearer "+notif), codes.PermissionDenied, "notification", "staff-1"},
		{"a bank token in the service header is refused", metadata.Pairs(auth.ServiceHeader, "Bearer "+bankTok), codes.Unauthenticated, "", ""},
		{"a garbled service header is refused even beside a good token", metadata.Pairs("authorization", "Bearer "+bankTok, auth.ServiceHeader, "Bearer x"), codes.Unauthenticated, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, svc, err := call(tt.md)
			if status.Code(err) != tt.wantCode {
				t.Fatalf("code = %v (%v), want %v", status.Code(err), err, tt.wantCode)
			}
			if svc != tt.wantSvc || p.Subject != tt.wantSub {
				t.Errorf("calling service %q, caller %q; want %q, %q", svc, p.Subject, tt.wantSvc, tt.wantSub)
			}
		})
	}
	if !auth.FromTrustedService(metadata.NewIncomingContext(context.Background(), metadata.Pairs(auth.ServiceHeader, "Bearer "+notif)), v) {
		t.Error("a valid service header is not trusted")
	}
	if auth.FromTrustedService(metadata.NewIncomingContext(context.Background(), metadata.Pairs(auth.ServiceHeader, "Bearer "+bankTok)), v) {
		t.Error("a bank token in the service header is trusted")
	}
}
