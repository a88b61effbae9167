# counterdesk — the two commands a newcomer needs:
#   make up     install what is missing, build, start the whole suite with demo data
#   make test   install what is missing, check generated code, lint, test everything
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
export PATH := $(CURDIR)/.bin:$(PATH)
export CGO_ENABLED ?= 0

SERVICES := intake routing slatimer notification reporting
MODULES = $(shell go list -m -f '{{.Dir}}')
DEVSTACK_DIR ?= .devstack

.PHONY: up down deps deps-runtime build generate check-generated lint test test-go chart-check clean

up: deps-runtime build ## start everything in the background, seeded with the demo bank
	bin/devstack up --dir $(DEVSTACK_DIR) --bin bin

down: ## stop everything `make up` started
	@if [ -x bin/devstack ]; then bin/devstack down --dir $(DEVSTACK_DIR); else go run ./tools/devstack down --dir $(DEVSTACK_DIR); fi

deps: ## install missing Debian packages and pinned Go tools
	@tools/scripts/install-deps.sh

deps-runtime:
	@tools/scripts/install-deps.sh runtime

build:
	@mkdir -p bin
	@for s in $(SERVICES); do go build -o bin/$$s ./services/$$s/cmd/$$s; done
	@go build -o bin/devstack ./tools/devstack

SQLC_MODULES := services/slatimer services/notification services/routing services/reporting
GENERATED = proto/gen $(foreach m,$(SQLC_MODULES),$(m)/internal/*/*db)

generate: ## regenerate protobuf code from proto/ and sqlc queries
	rm -rf proto/gen/counterdesk proto/gen/openapi
	cd proto && buf lint && buf generate
	@for m in $(SQLC_MODULES); do (cd $$m && sqlc vet && sqlc generate); done

check-generated: generate ## fail when generated code differs from what is committed
	@if [ -n "$$(git status --porcelain -- $(GENERATED))" ]; then \
	  git status --porcelain -- $(GENERATED); git diff --stat -- $(GENERATED); \
	  echo "generated code is stale: run 'make generate' and commit"; exit 1; fi

lint: ## gofmt, go vet and golangci-lint on every module
	@unformatted=$$(gofmt -l $(MODULES)); if [ -n "$$unformatted" ]; then echo "not gofmt-ed:"; echo "$$unformatted"; exit 1; fi
	@for m in $(MODULES); do (cd $$m && go vet ./... && golangci-lint run --timeout 10m ./...); done

chart-check: ## helm lint + helm template + strict schema validation, offline
	HELM=.bin/helm KUBECONFORM=.bin/kubeconform bash tools/chartcheck/check.sh

test-go: ## unit, integration and end-to-end tests of every module
	@export HELM=$(CURDIR)/.bin/helm KUBECONFORM=$(CURDIR)/.bin/kubeconform; for m in $(MODULES); do echo "== $$m"; (cd $$m && go test -count=1 ./...); done

test: deps check-generated lint chart-check test-go loadgen-check ## everything CI runs

clean:
	rm -rf bin

.PHONY: loadgen-check
loadgen-check: ## short loadgen runs on a private stack (500 cases over gRPC, a pipeline over HTTP): every effect exactly once
	LOADGEN_STACK=1 go test -count=1 -timeout 15m -run '^TestStack$$' -v ./tools/loadgen/
