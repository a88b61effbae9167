// Protects: streaming RPCs cannot skip authentication.
package auth

import (
	"context"
	"testing"
	"time"

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
	v, err := NewVerifier("0123456789abcdef0123456789abcdef")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := v.Mint(Principal{Tenant: "bank-a", Subject: "t1", Role: RoleTeller, Branch: "b1"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	icpt := StreamServerInterceptor(v, "/grpc.health.v1.Health/")
	var seen Principal
	handler := func(_ any, ss grpc.ServerStream) error {
		seen, _ = FromContext(ss.Context())
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
			seen = Principal{}
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
