#!/usr/bin/env bash
# Offline, strict check of the Helm charts and deploy/ manifests:
#   1. JSON schemas for kubeconform, built once from the OpenAPI document of
#      k8s.io/kubernetes (Go module cache / proxy) and cached in $CHARTCHECK_CACHE;
#   2. helm dependency build of every chart with file:// dependencies (when stale);
#   3. helm lint --strict of every chart (the umbrella also with each environment file);
#   4. helm template of the umbrella (default values, deploy/values-local.yaml,
#      deploy/values-production.yaml) piped to kubeconform -strict;
#   5. kubeconform -strict of deploy/infra/*.yaml (operator CRs skipped: no schema);
#   6. go test of tools/chartcheck: golden render of values-local, route table, schema
#      coverage, the service contract on every render (trust ConfigMap and own key
#      mounted, owner database role in the migrate hook Job only, intake-only keys),
#      converter, and proof that kubeconform rejects broken manifests.
# Exits non-zero if anything fails.
#
#   HELM=.bin/helm KUBECONFORM=.bin/kubeconform bash tools/chartcheck/check.sh
#
# Environment: HELM, KUBECONFORM (binaries; default: from PATH), CHARTCHECK_CACHE
# (schema cache, default .bin/k8s-schemas), K8S_VERSION (default 1.34.1), GO (default go).
set -uo pipefail

# absolute PROGRAM: its absolute path (a name is looked up on the PATH, a relative
# path is taken from the current directory), before this script changes directory.
absolute() {
	local p
	p=$(command -v "$1") || return 1
	[[ $p = /* ]] || p="$PWD/$p"
	echo "$p"
}
for var in HELM KUBECONFORM; do
	default=$(tr '[:upper:]' '[:lower:]' <<<"$var")
	if ! path=$(absolute "${!var:-$default}"); then
		echo "chartcheck: ${!var:-$default} not found (set $var to the $default binary)" >&2
		exit 2
	fi
	printf -v "$var" '%s' "$path"
done

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root" || exit 2

GO=${GO:-go}
K8S_VERSION=${K8S_VERSION:-1.34.1}
cache=${CHARTCHECK_CACHE:-.bin/k8s-schemas}
[[ $cache = /* ]] || cache="$root/$cache"
schemas="$cache/v$K8S_VERSION-standalone-strict"
umbrella=charts/counterdesk
# Custom resources of deploy/infra: their operators' CRDs are not in the Kubernetes
# OpenAPI document. Skipped by group/version/kind, so that a misspelled kind of a
# built-in object still fails.
crd_kinds=kafka.strimzi.io/v1/Kafka,kafka.strimzi.io/v1/KafkaNodePool,kafka.strimzi.io/v1/KafkaTopic,postgresql.cnpg.io/v1/Cluster

start=$SECONDS
failures=()
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

section() { printf '\n== %s\n' "$*"; }
# check NAME CMD...: runs CMD, records NAME as failed when it fails.
check() {
	local name=$1
	shift
	if "$@"; then
		echo "ok: $name"
	else
		echo "FAILED: $name"
		failures+=("$name")
	fi
}

echo "helm $("$HELM" version --short 2>/dev/null), kubeconform $("$KUBECONFORM" -v 2>/dev/null), Kubernetes $K8S_VERSION"

section "kubeconform schemas ($schemas)"
# The cache is rebuilt when the converter's source or the Kubernetes version changes.
stamp="k8s.io/kubernetes@v$K8S_VERSION $(cat tools/chartcheck/openapi.go tools/chartcheck/main.go | sha256sum | cut -c1-16)"
if [[ "$(cat "$schemas/.chartcheck-stamp" 2>/dev/null)" == "$stamp" ]]; then
	echo "cached: $(find "$schemas" -name '*.json' | wc -l) schemas"
else
	# GOWORK=off: the tools module alone, whatever state the workspace is in.
	if ! (cd tools && GOWORK=off "$GO" run ./chartcheck \
		-k8s-version "v$K8S_VERSION" -out "$schemas" -stamp "$stamp"); then
		echo "chartcheck: could not build the schemas" >&2
		exit 2
	fi
fi

section "helm dependency build"
check "helm dependency build" env HELM="$HELM" bash tools/chartcheck/helm-deps.sh charts

section "helm lint --strict"
for chart in charts/*/; do
	chart=${chart%/}
	# A library chart renders nothing; lint still checks its Chart.yaml and templates.
	check "lint $chart" "$HELM" lint --strict --quiet "$chart"
done
for env in local production; do
	check "lint $umbrella -f deploy/values-$env.yaml" \
		"$HELM" lint --strict --quiet "$umbrella" -f "deploy/values-$env.yaml"
done

# render NAME [HELM ARGS...]: helm template of the umbrella into $tmp/helm-template-NAME.yaml.
render() {
	local name=$1
	shift
	"$HELM" template counterdesk "$umbrella" --namespace counterdesk \
		--kube-version "$K8S_VERSION" "$@" >"$tmp/helm-template-$name.yaml"
}
# kubeconform_strict [KUBECONFORM ARGS...] FILE...: strict validation, cached schemas only.
kubeconform_strict() {
	"$KUBECONFORM" -strict -summary -kubernetes-version "$K8S_VERSION" \
		-schema-location "$cache" "$@"
}

section "helm template $umbrella | kubeconform -strict"
for env in default local production; do
	args=()
	[[ $env == default ]] || args=(-f "deploy/values-$env.yaml")
	if check "template $env" render "$env" "${args[@]}"; then
		out="$tmp/helm-template-$env.yaml"
		echo "   $(grep -c '^kind:' "$out") objects: $(grep '^kind:' "$out" | sort | uniq -c | awk '{printf "%s%s %s", sep, $1, $3; sep=", "}')"
		check "kubeconform $env" kubeconform_strict "$out"
	fi
done

section "deploy/infra | kubeconform -strict (skipping $crd_kinds)"
infra=(deploy/infra/*.yaml)
if [[ -e ${infra[0]} ]]; then
	check "kubeconform deploy/infra" kubeconform_strict -skip "$crd_kinds" "${infra[@]}"
else
	echo "no manifests"
fi

section "go test ./tools/chartcheck (golden render, route table, schema, service contract, converter)"
# -count=1: the tests run helm on files the Go test cache does not track.
go_test() {
	# CHARTCHECK_REQUIRE_TOOLS: fail, rather than skip, the tests that need the binaries.
	(cd tools && HELM="$HELM" KUBECONFORM="$KUBECONFORM" CHARTCHECK_REQUIRE_TOOLS=1 \
		GOWORK=off "$GO" test -count=1 ./chartcheck)
}
check "go test" go_test

section "result"
elapsed=$((SECONDS - start))
if ((${#failures[@]})); then
	printf 'FAILED (%ds):\n' "$elapsed"
	printf '  - %s\n' "${failures[@]}"
	exit 1
fi
echo "all checks passed (${elapsed}s)"
