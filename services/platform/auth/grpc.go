package auth

import (
	"context"
	"slices"
	"strings"

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
		ctx, err := authenticate(ctx, v)
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
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
		ctx, err := authenticate(ss.Context(), v)
		if err != nil {
			return err
		}
		return handler(srv, &principalStream{ServerStream: ss, ctx: ctx})
	}
}

// authenticate verifies the caller's credential (authorization) and, when
// present, the calling service's own token (counterdesk-service). A call a
// service makes for itself carries only the latter and is that service.
func authenticate(ctx context.Context, v *Verifier) (context.Context, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	first := func(k string) string {
		if vals := md.Get(k); len(vals) > 0 {
			return vals[0]
		}
		return ""
	}
	token, svcToken := first("authorization"), first(ServiceHeader)
	if svcToken != "" {
		sp, err := v.Verify(ctx, svcToken)
		if err != nil || sp.Role != RoleService {
			return ctx, status.Error(codes.Unauthenticated, "unauthenticated: the calling service's credential is not valid")
		}
		ctx = context.WithValue(ctx, serviceKey{}, sp.Subject)
		if token == "" {
			return WithPrincipal(ctx, sp), nil
		}
	}
	p, err := v.Verify(ctx, token)
	if err != nil {
		return ctx, status.Error(codes.Unauthenticated, err.Error())
	}
	if p.Role == RoleService {
		ctx = context.WithValue(ctx, serviceKey{}, p.Subject)
	}
	return WithPrincipal(ctx, p), nil
}

type serviceKey struct{}

// CallingService names the counterdesk service that made this call (itself
// or on behalf of the caller), verified by its own key; "" for a call from
// outside.
func CallingService(ctx context.Context) string {
	s, _ := ctx.Value(serviceKey{}).(string)
	return s
}

// FromTrustedService reports whether the incoming call carries a valid
// token of one of counterdesk's services; used before authentication (e.g.
// to decide whether a caller's trace context may be continued).
func FromTrustedService(ctx context.Context, v *Verifier) bool {
	md, _ := metadata.FromIncomingContext(ctx)
	vals := md.Get(ServiceHeader)
	if len(vals) == 0 {
		return false
	}
	p, err := v.Verify(ctx, vals[0])
	return err == nil && p.Role == RoleService
}

type principalStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *principalStream) Context() context.Context { return s.ctx }

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
// caller's scoping rather than trusting ours; the connection's
// ServiceCredentials add our own identity beside it.
func ForwardCaller(ctx context.Context) context.Context {
	md, _ := metadata.FromIncomingContext(ctx)
	out := metadata.New(nil)
	if a := md.Get("authorization"); len(a) > 0 {
		out.Set("authorization", a[0])
	}
	return metadata.NewOutgoingContext(ctx, out)
}

// RequireService refuses every caller but the named services, for internal
// methods: each names which services may call it.
func RequireService(ctx context.Context, allowed ...string) (Principal, error) {
	p, err := RequireCaller(ctx)
	if err != nil {
		return Principal{}, err
	}
	svc := CallingService(ctx)
	if p.Role != RoleService || svc == "" || !slices.Contains(allowed, svc) {
		return Principal{}, status.Error(codes.PermissionDenied, "this internal method is not open to the caller")
	}
	return p, nil
}

// WithCallingService returns ctx naming service as the calling service, as
// the interceptor does after verifying that service's key; for in-process
// callers and tests (nothing from the network reaches it unverified).
func WithCallingService(ctx context.Context, service string) context.Context {
	return context.WithValue(ctx, serviceKey{}, service)
}
