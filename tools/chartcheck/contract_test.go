package main

// The contract between the charts and the services, checked on the rendered
// manifests (default values, and each environment file):
//
//   - every service Deployment mounts the trust ConfigMap and its own service-key
//     Secret (only its own), read-only and as directories (no subPath, so updates
//     reach the pods), with AUTH_TRUST_FILE and SERVICE_KEY_FILE pointing there;
//   - no shared signing key, no gRPC reflection;
//   - secrets only ever come from Secrets, never inline;
//   - intake alone has PII_ENCRYPTION_KEY and AUDIT_MAC_KEYS;
//   - every service has a migrate hook Job (pre-install, pre-upgrade) running the
//     service's own binary with "migrate" as the database owner, and no Deployment
//     gets the owner's Secret;
//   - the Job's pods are not selected by the service's Service.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

var services = []string{"intake", "routing", "slatimer", "notification", "reporting"}

const (
	trustDir      = "/etc/counterdesk/trust"
	serviceKeyDir = "/etc/counterdesk/service-key"
)

// obj is one rendered Kubernetes object, as decoded YAML.
type obj map[string]any

// get walks a path of map keys; nil when a step is missing.
func (o obj) get(path ...string) any {
	var cur any = map[string]any(o)
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[p]
	}
	return cur
}

func (o obj) str(path ...string) string { s, _ := o.get(path...).(string); return s }

func (o obj) list(path ...string) []obj {
	items, _ := o.get(path...).([]any)
	var out []obj
	for _, it := range items {
		if m, ok := it.(map[string]any); ok {
			out = append(out, obj(m))
		}
	}
	return out
}

func (o obj) strMap(path ...string) map[string]string {
	m, _ := o.get(path...).(map[string]any)
	out := map[string]string{}
	for k, v := range m {
		out[k] = fmt.Sprint(v)
	}
	return out
}

func decodeManifests(t *testing.T, data []byte) []obj {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []obj
	for {
		var m map[string]any
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("decode rendered manifests: %v", err)
		}
		if m != nil {
			out = append(out, obj(m))
		}
	}
}

func find(objs []obj, kind, name string) obj {
	for _, o := range objs {
		if o.str("kind") == kind && o.str("metadata", "name") == name {
			return o
		}
	}
	return nil
}

// renderSet is render with --set flags; it returns helm's error instead of failing.
func renderSet(t *testing.T, helm string, valueFiles []string, sets ...string) ([]byte, error) {
	t.Helper()
	args := []string{"template", "counterdesk", filepath.Join(chartsDir(t, helm), "counterdesk"),
		"--namespace", "counterdesk", "--kube-version", kubeVersion}
	for _, f := range valueFiles {
		args = append(args, "-f", filepath.Join(repoRoot, f))
	}
	for _, s := range sets {
		args = append(args, "--set", s)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(helm, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("helm %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes(), nil
}

// renderSetJSON renders the default values with one --set-json flag.
func renderSetJSON(t *testing.T, helm, setJSON string) ([]byte, error) {
	t.Helper()
	args := []string{"template", "counterdesk", filepath.Join(chartsDir(t, helm), "counterdesk"),
		"--namespace", "counterdesk", "--kube-version", kubeVersion, "--set-json", setJSON}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(helm, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("helm template --set-json: %v\n%s", err, stderr.String())
	}
	return stdout.Bytes(), nil
}

type secretKey struct{ name, key string }

// envOf maps a container's env names to their entries.
func envOf(c obj) map[string]obj {
	out := map[string]obj{}
	for _, e := range c.list("env") {
		out[e.str("name")] = e
	}
	return out
}

func secretRefOf(e obj) (secretKey, bool) {
	if e == nil || e.get("valueFrom", "secretKeyRef") == nil {
		return secretKey{}, false
	}
	return secretKey{e.str("valueFrom", "secretKeyRef", "name"), e.str("valueFrom", "secretKeyRef", "key")}, true
}

// mountsOf maps a container's volume mounts by volume name.
func mountsOf(c obj) map[string]obj {
	out := map[string]obj{}
	for _, m := range c.list("volumeMounts") {
		out[m.str("name")] = m
	}
	return out
}

func TestServiceContract(t *testing.T) {
	helm := tool(t, "HELM")
	for _, env := range []string{"default", "local", "production"} {
		t.Run(env, func(t *testing.T) {
			var files []string
			if env != "default" {
				files = []string{"deploy/values-" + env + ".yaml"}
			}
			out, err := renderSet(t, helm, files)
			if err != nil {
				t.Fatal(err)
			}
			checkContract(t, decodeManifests(t, out))
		})
	}
}

func checkContract(t *testing.T, objs []obj) {
	t.Helper()
	// Every Secret key a migrate Job connects with as the owner.
	ownerRefs := map[secretKey]string{}
	for _, svc := range services {
		job := find(objs, "Job", svc+"-migrate")
		if job == nil {
			t.Errorf("%s: no migrate Job %s-migrate", svc, svc)
			continue
		}
		ref, ok := secretRefOf(envOf(firstContainer(job))["DATABASE_URL"])
		if !ok {
			t.Errorf("%s-migrate: DATABASE_URL is not from a Secret", svc)
			continue
		}
		ownerRefs[ref] = svc
	}

	// Which Deployment mounts which Secret.
	mountedBy := map[string][]string{}
	for _, svc := range services {
		dep := find(objs, "Deployment", svc)
		if dep == nil {
			t.Errorf("no Deployment %s", svc)
			continue
		}
		pod := obj(dep.get("spec", "template", "spec").(map[string]any))
		c := firstContainer(dep)
		env := envOf(c)
		mounts := mountsOf(c)

		// Trust document: the ConfigMap, one file, mounted as a directory.
		var trustVols, secretVols []obj
		for _, v := range pod.list("volumes") {
			switch {
			case v.get("configMap") != nil:
				trustVols = append(trustVols, v)
			case v.get("secret") != nil:
				secretVols = append(secretVols, v)
			}
		}
		if len(trustVols) != 1 {
			t.Errorf("%s: want exactly one ConfigMap volume (the trust document), got %d", svc, len(trustVols))
		} else {
			v := trustVols[0]
			if got := v.str("configMap", "name"); got != "counterdesk-auth-trust" {
				t.Errorf("%s: trust ConfigMap %q, want counterdesk-auth-trust", svc, got)
			}
			checkProjected(t, svc, v, v.list("configMap", "items"), "trust.json", mounts, trustDir)
		}
		if got := env["AUTH_TRUST_FILE"].str("value"); got != trustDir+"/trust.json" {
			t.Errorf("%s: AUTH_TRUST_FILE=%q, want %s/trust.json", svc, got, trustDir)
		}

		// Its own key, and no other Secret volume.
		if len(secretVols) != 1 {
			t.Errorf("%s: want exactly one Secret volume (its own key), got %d", svc, len(secretVols))
		} else {
			v := secretVols[0]
			name := v.str("secret", "secretName")
			mountedBy[name] = append(mountedBy[name], svc)
			if name != svc+"-service-key" {
				t.Errorf("%s: mounts Secret %q, want its own %s-service-key", svc, name, svc)
			}
			checkProjected(t, svc, v, v.list("secret", "items"), "key.jwk", mounts, serviceKeyDir)
		}
		if got := env["SERVICE_KEY_FILE"].str("value"); got != serviceKeyDir+"/key.jwk" {
			t.Errorf("%s: SERVICE_KEY_FILE=%q, want %s/key.jwk", svc, got, serviceKeyDir)
		}

		// No shared signing key, no reflection by default.
		if _, ok := env["AUTH_SIGNING_KEY"]; ok {
			t.Errorf("%s: AUTH_SIGNING_KEY is set; there is no shared signing key any more", svc)
		}
		if e, ok := env["GRPC_REFLECTION"]; ok && e.str("value") != "false" {
			t.Errorf("%s: GRPC_REFLECTION=%q; it must be off", svc, e.str("value"))
		}

		// Secrets come from Secrets, never inline; owner URLs never reach a Deployment.
		for _, name := range []string{"DATABASE_URL", "PII_ENCRYPTION_KEY", "AUDIT_MAC_KEYS", "REDIS_URL"} {
			if e, ok := env[name]; ok {
				if _, fromSecret := secretRefOf(e); !fromSecret {
					t.Errorf("%s: %s is inline, not from a Secret", svc, name)
				}
			}
		}
		for name, e := range env {
			if ref, ok := secretRefOf(e); ok {
				if owner, isOwner := ownerRefs[ref]; isOwner {
					t.Errorf("%s: %s comes from %s/%s, the database owner's URL of %s-migrate", svc, name, ref.name, ref.key, owner)
				}
				if strings.HasSuffix(ref.name, "-db-owner") {
					t.Errorf("%s: %s comes from the owner Secret %s", svc, name, ref.name)
				}
			}
		}
		if _, ok := secretRefOf(env["DATABASE_URL"]); !ok {
			t.Errorf("%s: no DATABASE_URL from a Secret", svc)
		}

		// intake alone holds the PII and audit keys.
		for _, name := range []string{"PII_ENCRYPTION_KEY", "AUDIT_MAC_KEYS"} {
			_, has := env[name]
			if has != (svc == "intake") {
				t.Errorf("%s: has %s = %v, want %v (intake only)", svc, name, has, svc == "intake")
			}
		}

		checkMigrateJob(t, objs, svc, dep)
	}
	for name, by := range mountedBy {
		if len(by) > 1 {
			t.Errorf("Secret %s is mounted by several services: %v", name, by)
		}
	}
}

// checkProjected: the volume projects key -> file, and is mounted read-only at dir
// without subPath.
func checkProjected(t *testing.T, svc string, vol obj, items []obj, file string, mounts map[string]obj, dir string) {
	t.Helper()
	name := vol.str("name")
	if len(items) != 1 || items[0].str("path") != file {
		t.Errorf("%s: volume %s should project one key to %s, got %v", svc, name, file, items)
	}
	m := mounts[name]
	switch {
	case m == nil:
		t.Errorf("%s: volume %s is not mounted", svc, name)
	case m.str("mountPath") != dir:
		t.Errorf("%s: volume %s mounted at %q, want %s", svc, name, m.str("mountPath"), dir)
	case m.get("readOnly") != true:
		t.Errorf("%s: volume %s is not mounted read-only", svc, name)
	case m.get("subPath") != nil:
		t.Errorf("%s: volume %s is mounted with subPath, which stops updates from reaching the pod", svc, name)
	}
}

func firstContainer(o obj) obj {
	cs := o.list("spec", "template", "spec", "containers")
	if len(cs) == 0 {
		return obj{}
	}
	return cs[0]
}

func checkMigrateJob(t *testing.T, objs []obj, svc string, dep obj) {
	t.Helper()
	job := find(objs, "Job", svc+"-migrate")
	if job == nil {
		return // reported already
	}
	ann := job.strMap("metadata", "annotations")
	hooks := strings.Split(ann["helm.sh/hook"], ",")
	slices.Sort(hooks)
	if !slices.Equal(hooks, []string{"pre-install", "pre-upgrade"}) {
		t.Errorf("%s-migrate: helm.sh/hook %q, want pre-install,pre-upgrade", svc, ann["helm.sh/hook"])
	}
	for _, p := range []string{"before-hook-creation", "hook-succeeded"} {
		if !slices.Contains(strings.Split(ann["helm.sh/hook-delete-policy"], ","), p) {
			t.Errorf("%s-migrate: hook-delete-policy %q lacks %s", svc, ann["helm.sh/hook-delete-policy"], p)
		}
	}
	if ann["helm.sh/hook-weight"] == "" {
		t.Errorf("%s-migrate: no hook-weight", svc)
	}
	for _, f := range []string{"backoffLimit", "activeDeadlineSeconds"} {
		if job.get("spec", f) == nil {
			t.Errorf("%s-migrate: no spec.%s", svc, f)
		}
	}

	jc, dc := firstContainer(job), firstContainer(dep)
	if jc.str("image") != dc.str("image") || jc.str("image") == "" {
		t.Errorf("%s-migrate: image %q, the Deployment's is %q", svc, jc.str("image"), dc.str("image"))
	}
	if !reflect.DeepEqual(jc.get("command"), dc.get("command")) {
		t.Errorf("%s-migrate: command %v, the Deployment's is %v", svc, jc.get("command"), dc.get("command"))
	}
	if !reflect.DeepEqual(jc.get("args"), []any{"migrate"}) {
		t.Errorf("%s-migrate: args %v, want [migrate]", svc, jc.get("args"))
	}
	if !reflect.DeepEqual(jc.get("securityContext"), dc.get("securityContext")) {
		t.Errorf("%s-migrate: container securityContext differs from the Deployment's", svc)
	}
	if !reflect.DeepEqual(job.get("spec", "template", "spec", "securityContext"), dep.get("spec", "template", "spec", "securityContext")) {
		t.Errorf("%s-migrate: pod securityContext differs from the Deployment's", svc)
	}
	if jc.get("resources", "limits", "memory") == nil {
		t.Errorf("%s-migrate: no memory limit", svc)
	}

	env := envOf(jc)
	owner, ok := secretRefOf(env["DATABASE_URL"])
	app, _ := secretRefOf(envOf(dc)["DATABASE_URL"])
	if !ok || owner == app {
		t.Errorf("%s-migrate: DATABASE_URL %v must come from the owner's Secret, not the app's %v", svc, owner, app)
	}
	if got := env["APP_DB_ROLE"].str("value"); got != svc+"_app" {
		t.Errorf("%s-migrate: APP_DB_ROLE=%q, want %s_app", svc, got, svc)
	}
	for _, name := range []string{"AUTH_SIGNING_KEY", "PII_ENCRYPTION_KEY", "AUDIT_MAC_KEYS", "REDIS_URL"} {
		if _, has := env[name]; has {
			t.Errorf("%s-migrate: has %s, which migrate does not need", svc, name)
		}
	}
	for _, v := range job.list("spec", "template", "spec", "volumes") {
		if v.get("secret") != nil {
			t.Errorf("%s-migrate: mounts Secret %s, which migrate does not need", svc, v.str("secret", "secretName"))
		}
	}

	// Same ServiceAccount, or its hook twin when the chart creates the service's (a
	// pre-install hook runs before the release's own ServiceAccount exists).
	sa := job.str("spec", "template", "spec", "serviceAccountName")
	depSA := dep.str("spec", "template", "spec", "serviceAccountName")
	if sa != depSA {
		hookSA := find(objs, "ServiceAccount", sa)
		if hookSA == nil {
			t.Errorf("%s-migrate: ServiceAccount %q is neither the Deployment's (%q) nor rendered", svc, sa, depSA)
		} else if hookSA.strMap("metadata", "annotations")["helm.sh/hook"] != ann["helm.sh/hook"] {
			t.Errorf("%s-migrate: ServiceAccount %q is not a hook of the same events", svc, sa)
		} else {
			saWeight, err1 := strconv.Atoi(hookSA.strMap("metadata", "annotations")["helm.sh/hook-weight"])
			jobWeight, err2 := strconv.Atoi(ann["helm.sh/hook-weight"])
			if err1 != nil || err2 != nil || saWeight >= jobWeight {
				t.Errorf("%s-migrate: its ServiceAccount hook is not created first (weights %d, %d)", svc, saWeight, jobWeight)
			}
		}
	}

	// The Service does not send traffic to the migration's pod.
	if s := find(objs, "Service", svc); s != nil {
		sel := s.strMap("spec", "selector")
		labels := job.strMap("spec", "template", "metadata", "labels")
		matches := len(sel) > 0
		for k, v := range sel {
			if labels[k] != v {
				matches = false
			}
		}
		if matches {
			t.Errorf("%s-migrate: its pod labels match the selector of Service %s", svc, svc)
		}
	}
}

// TestChartOptions: the settings around the contract do what values.yaml says.
func TestChartOptions(t *testing.T) {
	helm := tool(t, "HELM")
	t.Run("migrations disabled", func(t *testing.T) {
		out, err := renderSet(t, helm, nil, "routing.migrations.job.enabled=false")
		if err != nil {
			t.Fatal(err)
		}
		objs := decodeManifests(t, out)
		if find(objs, "Job", "routing-migrate") != nil || find(objs, "ServiceAccount", "routing-migrate") != nil {
			t.Error("routing.migrations.job.enabled=false still renders the migrate Job or its ServiceAccount")
		}
		if find(objs, "Job", "intake-migrate") == nil {
			t.Error("disabling routing's migrations removed intake's")
		}
	})
	t.Run("overrides", func(t *testing.T) {
		out, err := renderSet(t, helm, nil,
			"slatimer.database.ownerSecretName=pg-slatimer-ddl", "slatimer.database.ownerKey=url",
			"slatimer.database.appRole=sla_rw",
			"slatimer.serviceKey.secretName=sla-jwk", "slatimer.serviceKey.key=private.json",
			"slatimer.serviceAccount.create=false", "slatimer.serviceAccount.name=existing-sa")
		if err != nil {
			t.Fatal(err)
		}
		objs := decodeManifests(t, out)
		job := find(objs, "Job", "slatimer-migrate")
		env := envOf(firstContainer(job))
		if ref, _ := secretRefOf(env["DATABASE_URL"]); ref != (secretKey{"pg-slatimer-ddl", "url"}) {
			t.Errorf("owner Secret %v, want pg-slatimer-ddl/url", ref)
		}
		if got := env["APP_DB_ROLE"].str("value"); got != "sla_rw" {
			t.Errorf("APP_DB_ROLE=%q, want sla_rw", got)
		}
		if got := job.str("spec", "template", "spec", "serviceAccountName"); got != "existing-sa" {
			t.Errorf("with serviceAccount.create=false the Job runs as %q, want existing-sa", got)
		}
		if find(objs, "ServiceAccount", "existing-sa-migrate") != nil || find(objs, "ServiceAccount", "slatimer-migrate") != nil {
			t.Error("a hook ServiceAccount is rendered although the chart creates none")
		}
		dep := find(objs, "Deployment", "slatimer")
		found := false
		for _, v := range dep.list("spec", "template", "spec", "volumes") {
			if v.str("secret", "secretName") == "sla-jwk" {
				items := v.list("secret", "items")
				found = len(items) == 1 && items[0].str("key") == "private.json" && items[0].str("path") == "key.jwk"
			}
		}
		if !found {
			t.Error("serviceKey.secretName/key are not the mounted Secret and key")
		}
	})
	t.Run("trust ConfigMap from values", func(t *testing.T) {
		out, err := renderSet(t, helm, nil,
			"global.auth.trustConfigMap=my-trust",
			`global.auth.trust.services.jwksUrl=https://keys.example/services.json`)
		if err != nil {
			t.Fatal(err)
		}
		objs := decodeManifests(t, out)
		cm := find(objs, "ConfigMap", "my-trust")
		if cm == nil {
			t.Fatal("global.auth.trust set, but no ConfigMap my-trust")
		}
		if got := cm.str("data", "trust.json"); !strings.Contains(got, `"jwksUrl": "https://keys.example/services.json"`) {
			t.Errorf("trust.json = %q", got)
		}
		for _, svc := range services {
			found := false
			for _, v := range find(objs, "Deployment", svc).list("spec", "template", "spec", "volumes") {
				found = found || v.str("configMap", "name") == "my-trust"
			}
			if !found {
				t.Errorf("%s does not mount my-trust", svc)
			}
		}
		// Without global.auth.trust the chart only mounts an existing ConfigMap.
		out, err = renderSet(t, helm, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range decodeManifests(t, out) {
			if o.str("kind") == "ConfigMap" {
				t.Errorf("default values render ConfigMap %s", o.str("metadata", "name"))
			}
		}
	})
	t.Run("dev trust document meets the schema", func(t *testing.T) {
		raw, err := os.ReadFile(filepath.Join(repoRoot, "deploy/infra/dev-stack.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		cm := find(decodeManifests(t, raw), "ConfigMap", "counterdesk-auth-trust")
		doc := cm.str("data", "trust.json")
		if doc == "" {
			t.Fatal("deploy/infra/dev-stack.yaml has no ConfigMap counterdesk-auth-trust with trust.json")
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, []byte(doc)); err != nil {
			t.Fatalf("dev trust.json: %v", err)
		}
		if _, err := renderSetJSON(t, helm, "global.auth.trust="+compact.String()); err != nil {
			t.Fatal(err)
		}
	})
	for _, tc := range []struct {
		name string
		sets []string
		want string
	}{
		{"old signing key", []string{"global.secrets.authSigningKey.name=counterdesk-auth", "global.secrets.authSigningKey.key=signing-key"},
			"global.secrets.authSigningKey is no longer used"},
		{"owner Secret is the app Secret", []string{"reporting.database.ownerSecretName=reporting-db-app"},
			"must not connect as the database owner"},
		{"private key in the trust document", []string{"global.auth.trust.services.jwks.keys[0].kty=EC",
			"global.auth.trust.services.jwks.keys[0].kid=intake", "global.auth.trust.services.jwks.keys[0].d=secret"},
			"values don't meet the specifications of the schema"},
		{"unknown migrations setting", []string{"intake.migrations.job.enable=false"},
			"values don't meet the specifications of the schema"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := renderSet(t, helm, nil, tc.sets...)
			if err == nil {
				t.Fatalf("helm template accepted %v", tc.sets)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error lacks %q:\n%v", tc.want, err)
			}
		})
	}
}
