package auth

import (
	"context"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// UnaryServerInterceptor authenticates every call except those whose full
// method name starts with one of the public prefixes (health, reflection).
func UnaryServerInterceptor(v *Verifier, publicPrefixes ...string) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		for _, p := range publicPrefixes {
			if strings.HasPrefix(info.FullMethod, p) {
				return handler(ctx, req)
			}
		}
		p, err := authenticate(ctx, v)
		if err != nil {
			return nil, err
		}
		return handler(WithPrincipal(ctx, p), req)
	}
}

// StreamServerInterceptor is UnaryServerInterceptor for streaming calls, so
// a streaming RPC added later cannot skip authentication.
func StreamServerInterceptor(v *Verifier, publicPrefixes ...string) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		for _, p := range publicPrefixes {
			if strings.HasPrefix(info.FullMethod, p) {
				return handler(srv, ss)
			}
		}
		p, err := authenticate(ss.Context(), v)
		if err != nil {
			return err
		}
		return handler(srv, &principalStream{ServerStream: ss, ctx: WithPrincipal(ss.Context(), p)})
	}
}

// authenticate verifies the bearer token in the call's metadata.
func authenticate(ctx context.Context, v *Verifier) (Principal, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	var token string
	if vals := md.Get("authorization"); len(vals) > 0 {
		token = vals[0]
	}
	p, err := v.Verify(token)
	if err != nil {
		return Principal{}, status.Error(codes.Unauthenticated, err.Error())
	}
	return p, nil
}

type principalStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *principalStream) Context() context.Context { return s.ctx }

// ServiceCredentials attaches a short-lived service token to every outgoing
// call, re-minting it before it expires.
type ServiceCredentials struct {
	V       *Verifier
	Service string
	Secure  bool
}

func (s ServiceCredentials) GetRequestMetadata(ctx context.Context, _ ...string) (map[string]string, error) {
	tok, err := s.V.Mint(Principal{Tenant: AllTenants, Subject: s.Service, Role: RoleService}, 5*time.Minute)
	if err != nil {
		return nil, err
	}
	return map[string]string{"authorization": "Bearer " + tok}, nil
}

func (s ServiceCredentials) RequireTransportSecurity() bool { return s.Secure }

// RequireTenant returns the caller of an API that serves a bank's data:
// Unauthenticated when there is none, PermissionDenied for the installation
// operator, who belongs to no bank and sees no case or personal data.
func RequireTenant(ctx context.Context) (Principal, error) {
	p, err := RequireCaller(ctx)
	if err != nil {
		return Principal{}, err
	}
	if p.Role == RoleOperator {
		return Principal{}, status.Error(codes.PermissionDenied, "the installation operator sees no bank's data")
	}
	return p, nil
}

// RequireCaller returns any authenticated caller, the operator included, for
// installation-wide APIs (national calendars) that check roles themselves.
func RequireCaller(ctx context.Context) (Principal, error) {
	p, ok := FromContext(ctx)
	if !ok || p.Tenant == "" {
		return Principal{}, status.Error(codes.Unauthenticated, "unauthenticated")
	}
	return p, nil
}

// ForwardCaller returns ctx prepared for a call to another service on behalf
// of the incoming caller: it carries the caller's own bearer token (and
// nothing else of the incoming metadata), so the called service applies the
// caller's scoping rather than trusting ours.
func ForwardCaller(ctx context.Context) context.Context {
	md, _ := metadata.FromIncomingContext(ctx)
	out := metadata.New(nil)
	if a := md.Get("authorization"); len(a) > 0 {
		out.Set("authorization", a[0])
	}
	return metadata.NewOutgoingContext(ctx, out)
}
