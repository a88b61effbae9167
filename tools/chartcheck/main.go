// Command chartcheck writes the JSON schemas kubeconform needs to validate
// Kubernetes manifests strictly and offline.
//
// kubeconform downloads its schemas from GitHub by default. This program builds the
// same files from the OpenAPI v2 document shipped in the Go module k8s.io/kubernetes
// (api/openapi-spec/swagger.json), which the Go module proxy serves:
//
//	go run ./chartcheck -k8s-version v1.34.1 -out ../.bin/k8s-schemas/v1.34.1-standalone-strict
//	kubeconform -strict -kubernetes-version 1.34.1 -schema-location ../.bin/k8s-schemas manifest.yaml
//
// With -schema-location DIR, kubeconform reads
// DIR/v<kubernetes-version>-standalone-strict/<kind>-<group>-<version>.json, so the
// output directory is named accordingly. check.sh drives the whole chart check.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// stampFile records, in the output directory, what the schemas were built from.
const stampFile = ".chartcheck-stamp"

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "chartcheck:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("chartcheck", flag.ContinueOnError)
	out := fs.String("out", "", "directory to write the schema files into (replaced as a whole)")
	swagger := fs.String("swagger", "", "path of a Kubernetes OpenAPI v2 document (swagger.json)")
	k8sVersion := fs.String("k8s-version", "", "take swagger.json from the Go module k8s.io/kubernetes at this version (e.g. v1.34.1), via 'go mod download'")
	strict := fs.Bool("strict", true, "forbid properties the schema does not list (additionalProperties: false)")
	stamp := fs.String("stamp", "", "text to record in "+stampFile+" (check.sh uses it to know when to rebuild)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || (*swagger == "") == (*k8sVersion == "") {
		fs.Usage()
		return errors.New("need -out and exactly one of -swagger or -k8s-version")
	}
	start := time.Now()
	path := *swagger
	if path == "" {
		dir, err := moduleDir("k8s.io/kubernetes", *k8sVersion)
		if err != nil {
			return err
		}
		path = filepath.Join(dir, "api", "openapi-spec", "swagger.json")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}

	// Write into a fresh sibling directory and swap it in, so that an interrupted
	// run never leaves a half-written schema directory behind.
	target := filepath.Clean(*out)
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(target), filepath.Base(target)+".tmp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	n, err := writeSchemas(data, tmp, *strict)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	rec := *stamp
	if rec == "" {
		rec = path
	}
	if err := os.WriteFile(filepath.Join(tmp, stampFile), []byte(rec+"\n"), 0o644); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if err := os.RemoveAll(target); err != nil {
		return err
	}
	if err := os.Rename(tmp, target); err != nil {
		return err
	}
	fmt.Printf("chartcheck: wrote %d schemas from %s to %s in %s\n", n, path, target, time.Since(start).Round(time.Millisecond))
	return nil
}

// moduleDir returns the directory of a module version in the module cache,
// downloading it through the Go module proxy if needed.
func moduleDir(mod, version string) (string, error) {
	if !strings.HasPrefix(version, "v") {
		version = "v" + version
	}
	cmd := exec.Command("go", "mod", "download", "-json", mod+"@"+version)
	// Outside any module or workspace: this only fills the module cache.
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var info struct {
		Dir   string
		Error string
	}
	if err := json.Unmarshal(stdout.Bytes(), &info); err != nil || runErr != nil || info.Error != "" || info.Dir == "" {
		return "", fmt.Errorf("go mod download %s@%s failed: %v %s %s", mod, version, runErr, info.Error, strings.TrimSpace(stderr.String()))
	}
	return info.Dir, nil
}
