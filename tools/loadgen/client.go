package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	intakev1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/intake/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protojson"
)

// creator registers one case and returns its id.
type creator interface {
	create(ctx context.Context, s caseSpec) (string, error)
	close()
}

// requestTimeout bounds one CreateCase call.
const requestTimeout = 30 * time.Second

func newCreator(transport string, ep endpoints, concurrency int) (creator, error) {
	switch transport {
	case "grpc":
		conn, err := grpc.NewClient(ep.IntakeGRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return nil, err
		}
		return &grpcCreator{conn: conn, client: intakev1.NewIntakeServiceClient(conn)}, nil
	case "http":
		tr := &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        concurrency * 2,
			MaxIdleConnsPerHost: concurrency * 2,
			IdleConnTimeout:     90 * time.Second,
		}
		return &httpCreator{base: ep.Gateway, client: &http.Client{Transport: tr, Timeout: requestTimeout}}, nil
	}
	return nil, fmt.Errorf("--transport %q: want grpc or http", transport)
}

// grpcCreator calls intake's CreateCase directly (INTAKE_GRPC_ADDR): the
// bank system's key as "authorization: Bearer", the key as
// "idempotency-key" metadata (what the gateway turns the header into).
type grpcCreator struct {
	conn   *grpc.ClientConn
	client intakev1.IntakeServiceClient
}

func (g *grpcCreator) create(ctx context.Context, s caseSpec) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+s.Target.Token, "idempotency-key", s.Key)
	resp, err := g.client.CreateCase(ctx, s.request(time.Now()))
	if err != nil {
		return "", err
	}
	if resp.GetCase().GetId() == "" {
		return "", fmt.Errorf("CreateCase answered no case id")
	}
	return resp.GetCase().GetId(), nil
}

func (g *grpcCreator) close() { _ = g.conn.Close() }

// httpCreator posts to the gateway's /v1/cases with the Idempotency-Key
// header, as a bank's system would.
type httpCreator struct {
	base   string
	client *http.Client
}

func (h *httpCreator) create(ctx context.Context, s caseSpec) (string, error) {
	body, err := protojson.Marshal(s.request(time.Now()))
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.base+"/v1/cases", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+s.Target.Token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", s.Key)
	resp, err := h.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("POST /v1/cases: %d %s", resp.StatusCode, bytes.TrimSpace(raw))
	}
	var c struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(raw, &c); err != nil || c.ID == "" {
		return "", fmt.Errorf("POST /v1/cases: 200 without a case id: %s", raw)
	}
	return c.ID, nil
}

func (h *httpCreator) close() { h.client.CloseIdleConnections() }
