package regulatorygrpc

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/services/platform/grpcserver"
	"github.com/counterdesk/counterdesk/services/reporting/internal/regulatory"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
)

// Download paths on the reporting HTTP server.
const (
	CSVPath  = "/v1/reports/regulatory/quarterly.csv"
	XLSXPath = "/v1/reports/regulatory/quarterly.xlsx"
)

// Downloads serves the quarterly report as files.
type Downloads struct {
	Reports *regulatory.Reports
	// Verifier reads the caller from the Authorization header, as the gRPC
	// server's interceptor does.
	Verifier *auth.Verifier
	Log      *slog.Logger
}

// Register adds the download handlers to the gateway's mux; it has the
// shape of grpcserver.GatewayRegistrar, so the handlers sit behind the same
// HTTP guard (credential checked, no caching) as the JSON API.
func (d *Downloads) Register(_ context.Context, mux *runtime.ServeMux, _ string, _ []grpc.DialOption) error {
	if err := mux.HandlePath(http.MethodGet, CSVPath, d.handler("text/csv; charset=utf-8", ".csv", regulatory.WriteCSV)); err != nil {
		return fmt.Errorf("route %s: %w", CSVPath, err)
	}
	if err := mux.HandlePath(http.MethodGet, XLSXPath, d.handler(
		"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx", regulatory.WriteXLSX)); err != nil {
		return fmt.Errorf("route %s: %w", XLSXPath, err)
	}
	return nil
}

func (d *Downloads) handler(contentType, ext string, write func(io.Writer, regulatory.Report) error) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, _ map[string]string) {
		ctx := r.Context()
		caller, err := d.Verifier.Verify(ctx, r.Header.Get("Authorization"))
		if err != nil {
			writeError(w, status.Error(codes.Unauthenticated, err.Error()))
			return
		}
		// The database confines its rows to the caller's bank by the
		// principal in the context, as for gRPC requests.
		ctx = auth.WithPrincipal(ctx, caller)
		req, err := request(r)
		if err != nil {
			writeError(w, err)
			return
		}
		rep, err := d.Reports.Quarterly(ctx, caller, req)
		if err != nil {
			writeError(w, statusOf(ctx, d.Log, err))
			return
		}
		// Written whole before the first byte goes out, so that a failure
		// is an error response and never half a file.
		var body bytes.Buffer
		if err := write(&body, rep); err != nil {
			d.Log.ErrorContext(ctx, "write regulatory report", "err", err)
			writeError(w, status.Error(codes.Internal, "internal error"))
			return
		}
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Content-Disposition", `attachment; filename="`+regulatory.FileName(rep)+ext+`"`)
		w.Header().Set("Content-Length", strconv.Itoa(body.Len()))
		_, _ = body.WriteTo(w)
	}
}

// request reads the query parameters, named as for the JSON API (year,
// quarter, regionId or region_id, branchId or branch_id).
func request(r *http.Request) (regulatory.Request, error) {
	q := r.URL.Query()
	num := func(name string) (int, error) {
		v := q.Get(name)
		if v == "" {
			return 0, fieldStatus(name, "is required")
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, fieldStatus(name, "must be a whole number")
		}
		return n, nil
	}
	text := func(json, proto string) (string, error) {
		v := q.Get(json)
		if v == "" {
			v = q.Get(proto)
		}
		if len(v) > 64 {
			return "", fieldStatus(json, "at most 64 characters")
		}
		return v, nil
	}
	var req regulatory.Request
	var err error
	if req.Year, err = num("year"); err != nil {
		return req, err
	}
	if req.Quarter, err = num("quarter"); err != nil {
		return req, err
	}
	if req.Region, err = text("regionId", "region_id"); err != nil {
		return req, err
	}
	if req.Branch, err = text("branchId", "branch_id"); err != nil {
		return req, err
	}
	return req, nil
}

func fieldStatus(field, desc string) error { return grpcserver.FieldError(field, desc) }

// writeError answers in grpc-gateway's error shape (the google.rpc.Status
// as JSON, details included) with the HTTP status it uses for the code.
func writeError(w http.ResponseWriter, err error) {
	st, ok := status.FromError(err)
	if !ok {
		st = status.New(codes.Internal, "internal error")
	}
	b, mErr := protojson.Marshal(st.Proto())
	if mErr != nil {
		b = []byte(`{"code":13,"message":"internal error","details":[]}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(runtime.HTTPStatusFromCode(st.Code()))
	_, _ = w.Write(b)
}
