#!/usr/bin/env bash
# Builds the file:// dependencies of the Helm charts under a charts directory, offline:
# a chart's dependencies first (a service chart packs the library chart, the umbrella
# packs the service charts), and only when a chart's charts/ is missing or older than
# the sources it packs. A second run with nothing changed writes nothing (the Tiltfile
# relies on that: rewriting watched files would reload it in a loop).
#
#   HELM=.bin/helm bash tools/chartcheck/helm-deps.sh [CHARTS_DIR]   # default: charts/
set -euo pipefail

HELM=${HELM:-helm}
dir=${1:-"$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/charts"}
dir=$(cd "$dir" && pwd)

# file_deps CHART: the directory names of its file://../<name> dependencies.
file_deps() {
	sed -n 's#^[[:space:]]*repository:[[:space:]]*["'\'']\{0,1\}file://\.\./\([^"'\''[:space:]]*\).*#\1#p' "$dir/$1/Chart.yaml"
}

# stale CHART DEP...: true when charts/ lacks a dependency's package, or when
# Chart.yaml or any file of a dependency is newer than the packages.
stale() {
	local chart=$1
	shift
	local ref="" dep pkg
	for dep in "$@"; do
		pkg=$(find "$dir/$chart/charts" -maxdepth 1 -name "$dep-*.tgz" -print -quit 2>/dev/null || true)
		[[ -n $pkg ]] || return 0
		# The oldest package is the reference.
		if [[ -z $ref || $pkg -ot $ref ]]; then ref=$pkg; fi
	done
	[[ -f "$dir/$chart/Chart.lock" ]] || return 0
	local paths=("$dir/$chart/Chart.yaml")
	for dep in "$@"; do paths+=("$dir/$dep"); done
	[[ -n $(find "${paths[@]}" -newer "$ref" -type f -not -path '*/tmpcharts/*' -print -quit) ]]
}

declare -A visited=()
build() {
	local chart=$1
	[[ -z ${visited[$chart]:-} ]] || return 0
	visited[$chart]=1
	[[ -f "$dir/$chart/Chart.yaml" ]] || {
		echo "helm-deps: $dir/$chart/Chart.yaml not found" >&2
		return 1
	}
	local deps
	mapfile -t deps < <(file_deps "$chart")
	((${#deps[@]})) || return 0
	local d
	for d in "${deps[@]}"; do build "$d"; done
	if stale "$chart" "${deps[@]}"; then
		echo "helm-deps: $chart: building (${deps[*]})"
		# --skip-refresh: only file:// repositories, nothing to fetch. A Chart.lock
		# out of step with Chart.yaml makes build fail: update rewrites it.
		if ! out=$("$HELM" dependency build --skip-refresh "$dir/$chart" 2>&1); then
			while IFS= read -r line; do printf '    %s\n' "$line"; done <<<"$out"
			echo "helm-deps: $chart: retrying with 'helm dependency update'"
			"$HELM" dependency update --skip-refresh "$dir/$chart" | sed 's/^/    /'
		fi
	else
		echo "helm-deps: $chart: up to date"
	fi
}

for f in "$dir"/*/Chart.yaml; do
	build "$(basename "$(dirname "$f")")"
done
