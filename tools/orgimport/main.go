// Command orgimport loads a bank's organisation file (tools/orgfile: YAML or
// CSV) into a running installation with one POST /v1/org:import, as the
// bank's head office. The file is checked first: when it has problems, every
// one is printed (file:line: field: problem) and nothing is sent.
//
//	go run ./tools/orgimport --file deploy/demo/org-demo-bank.yaml
//	go run ./tools/orgimport --check --file my-bank.csv     # check only
//
// Without --gateway and --token it uses GATEWAY_URL and
// DEMO_HEAD_OFFICE_TOKEN from the environment, else from
// .devstack/endpoints.env (the stack `make up` started). The token's bank
// is the bank the organisation is imported into.
//
// Exit status: 0 imported (or checked), 2 the file has problems, 1 any other
// failure (unreadable file, no gateway or token, the API refused).
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/counterdesk/counterdesk/tools/internal/devenv"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	routingv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/routing/v1"
	"github.com/counterdesk/counterdesk/tools/orgfile"
	"google.golang.org/protobuf/encoding/protojson"
)

func main() {
	err := run(os.Args[1:], os.Stdout, os.Getenv)
	var problems orgfile.Errors
	switch {
	case errors.As(err, &problems):
		fmt.Fprintln(os.Stderr, problems)
		fmt.Fprintf(os.Stderr, "orgimport: %d problems; nothing imported\n", len(problems))
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "orgimport:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("orgimport", flag.ContinueOnError)
	path := fs.String("file", "", "organisation file, .yaml/.yml or .csv (required)")
	gateway := fs.String("gateway", "", "API base URL (default: $GATEWAY_URL, else GATEWAY_URL of --endpoints)")
	token := fs.String("token", "", "head-office bearer token (default: $DEMO_HEAD_OFFICE_TOKEN, else DEMO_HEAD_OFFICE_TOKEN of --endpoints)")
	endpoints := fs.String("endpoints", ".devstack/endpoints.env", "endpoints file written by make up")
	checkOnly := fs.Bool("check", false, "check the file and print what it holds; import nothing")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *path == "" {
		return errors.New("--file is required")
	}
	req, err := orgfile.ParseFile(*path)
	if err != nil {
		return err
	}
	if *checkOnly {
		fmt.Fprintf(out, "%s: %d regions, %d branches, %d staff; no problems\n", *path,
			len(req.GetRegions()), len(req.GetBranches()), len(req.GetStaff()))
		return nil
	}
	env, _ := devenv.Read(*endpoints) // optional: flags and the environment may give everything
	for _, x := range []struct {
		dst *string
		key string
	}{{gateway, "GATEWAY_URL"}, {token, "DEMO_HEAD_OFFICE_TOKEN"}} {
		if *x.dst == "" {
			*x.dst = getenv(x.key)
		}
		if *x.dst == "" {
			*x.dst = env[x.key]
		}
	}
	if *gateway == "" || *token == "" {
		return errors.New("no gateway or head-office token: pass --gateway and --token, or run `make up` first")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, err := post(ctx, *gateway, *token, req)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "imported %s: %d regions, %d branches, %d staff\n", *path, n.GetRegions(), n.GetBranches(), n.GetStaff())
	return nil
}

func post(ctx context.Context, gateway, token string, req *routingv1.ImportOrgRequest) (*routingv1.ImportOrgResponse, error) {
	body, err := protojson.Marshal(req)
	if err != nil {
		return nil, err
	}
	u := strings.TrimRight(gateway, "/") + "/v1/org:import"
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	hreq.Header.Set("Authorization", "Bearer "+token)
	hreq.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(hreq)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	respBody, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("POST %s: %d %s", u, resp.StatusCode, bytes.TrimSpace(respBody))
	}
	var n routingv1.ImportOrgResponse
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(respBody, &n); err != nil {
		return nil, fmt.Errorf("POST %s: unreadable answer: %w", u, err)
	}
	return &n, nil
}
