package grpcserver

// Streaming RPCs get what unary ones get: a panic answers Internal, an
// error that is not a gRPC status is logged and answers Internal without
// its text, and every request message is checked with protovalidate.

import (
	"context"
	"errors"
	"log/slog"
	"runtime/debug"

	"buf.build/go/protovalidate"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

func recoverStreamInterceptor(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		defer func() {
			if r := recover(); r != nil {
				log.ErrorContext(ss.Context(), "panic in handler", "method", info.FullMethod, "stack", string(debug.Stack()))
				err = status.Error(codes.Internal, "internal error")
			}
		}()
		return handler(srv, ss)
	}
}

func errorStreamInterceptor(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		err := handler(srv, ss)
		if err == nil {
			return nil
		}
		if _, ok := status.FromError(err); ok {
			return err
		}
		if errors.Is(err, context.Canceled) {
			return status.Error(codes.Canceled, "request cancelled")
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return status.Error(codes.DeadlineExceeded, "deadline exceeded")
		}
		log.ErrorContext(ss.Context(), "request failed", "method", info.FullMethod, "err", err)
		return status.Error(codes.Internal, "internal error")
	}
}

func validateStreamInterceptor(v protovalidate.Validator) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		return handler(srv, &validatedStream{ServerStream: ss, v: v})
	}
}

// validatedStream refuses a request message that breaks the schema's
// rules, as validateInterceptor does for unary calls.
type validatedStream struct {
	grpc.ServerStream
	v protovalidate.Validator
}

func (s *validatedStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	if pm, ok := m.(proto.Message); ok {
		if err := s.v.Validate(pm); err != nil {
			return ValidationStatus(err)
		}
	}
	return nil
}
