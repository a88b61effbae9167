#!/usr/bin/env bash
# Installs what counterdesk needs and is missing, and nothing else:
#   - Debian packages: postgresql (server binaries), redis-server; for the browser
#     tests and PDF forms also chromium, fonts-noto-cjk (Chinese text on screen),
#     fonts-wqy-microhei (the TrueType CJK font embedded in PDF forms) and
#     poppler-utils (pdftotext, which the forms' tests read PDFs back with)
#   - pinned Go tools into ./.bin (code generators, helm, kubeconform, golangci-lint)
# Safe to run again: each step is skipped when already done.
# `install-deps.sh runtime` installs only what `make up` needs (no Go tools).
set -euo pipefail
cd "$(dirname "$0")/../.."

need_apt=()
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need_apt+=(postgresql)
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
[ -d /usr/share/fonts/opentype/noto ] || need_apt+=(fonts-noto-cjk)
[ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || need_apt+=(fonts-wqy-microhei)
command -v pdftotext >/dev/null 2>&1 || need_apt+=(poppler-utils)
if ((${#need_apt[@]})); then
  echo "installing Debian packages: ${need_apt[*]}"
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
  # Debian starts a system-wide server on install; counterdesk runs its own private ones.
fi

if ! command -v go >/dev/null 2>&1; then
  echo "Go is missing: install Go 1.26 (https://go.dev/dl) and run again" >&2
  exit 1
fi

[ "${1:-}" = runtime ] && exit 0

# Tools and exact versions; a version bump here is a reviewed change.
TOOLS=(
  "protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12"
  "protoc-gen-go-grpc google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2"
  "protoc-gen-grpc-gateway github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway@v2.32.0"
  "protoc-gen-openapiv2 github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-openapiv2@v2.32.0"
  "buf github.com/bufbuild/buf/cmd/buf@v1.75.0"
  "helm helm.sh/helm/v3/cmd/helm@v3.22.0"
  "kubeconform github.com/yannh/kubeconform/cmd/kubeconform@v0.8.0"
  "golangci-lint github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0"
  "sqlc github.com/sqlc-dev/sqlc/cmd/sqlc@v1.31.1"
)
mkdir -p .bin
for entry in "${TOOLS[@]}"; do
  name=${entry%% *}
  mod=${entry#* }
  stamp=".bin/.$name.version"
  if [ -x ".bin/$name" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$mod" ]; then
    continue
  fi
  echo "installing $mod"
  cgo=0
  # sqlc parses SQL with libpg_query, which is C (gcc is on the machine).
  [ "$name" = sqlc ] && cgo=1
  CGO_ENABLED=$cgo GOBIN="$PWD/.bin" GOFLAGS=-mod=mod GOWORK=off go install "$mod"
  echo "$mod" >"$stamp"
done
