# edgeplane — build, demo and test.
#   make run    build everything and start a hub and an agent (the demo)
#   make test   run the whole test suite (installs what it needs when root)
SHELL      := /bin/bash
GO         ?= go
BIN        := bin
VERSION    ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT     ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS    := -s -w -X github.com/edgeplane/edgeplane/internal/version.Version=$(VERSION) -X github.com/edgeplane/edgeplane/internal/version.Commit=$(COMMIT)
BINARIES   := edgeplane-hubd edgeplane-agent edgeplane-bridge edgeplane-watch
TEST_FLAGS ?= -race -count=1 -timeout 30m

.PHONY: all build web run test deps vet lint fmt clean cross packages bench regions cluster

all: build

## build: the dashboard bundle (when npm is there) and the binaries in bin/
build: web
	@mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ ./hubd/cmd/edgeplane-hubd ./agent/cmd/edgeplane-agent ./bridge/cmd/edgeplane-bridge ./hubd/cmd/edgeplane-watch

## web: bundle the dashboard (hubd/web/dist, embedded into edgeplane-hubd)
web:
	@if command -v npm >/dev/null 2>&1; then \
		cd hubd/web && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build; \
	else \
		echo "npm not found: edgeplane-hubd will serve a page that says how to build the dashboard"; \
	fi

## run: build, then start a hub (memory backplane) and an agent on simulated and host sensors
run: build
	@scripts/demo.sh

## deps: make sure the programs the tests start are installed
deps:
	@scripts/deps.sh

## test: the whole suite against real redis-server, mosquitto and Chromium
test: deps web vet
	cd hubd/web && npm test --silent
	CI=$${CI:-} $(GO) test $(TEST_FLAGS) ./...

vet:
	$(GO) vet ./...

lint:
	@command -v staticcheck >/dev/null || $(GO) install honnef.co/go/tools/cmd/staticcheck@latest
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	PATH="$$PATH:$$($(GO) env GOPATH)/bin" staticcheck ./...

## cross: static binaries for linux amd64, arm64, armv7 and armv6 in dist/
cross:
	@scripts/cross.sh

## packages: .deb per daemon and architecture in dist/ (nfpm)
packages: cross
	@scripts/packages.sh

## bench: Go benchmarks and the load tool; see BENCHMARKS.md
bench:
	@scripts/bench.sh

## cluster: one region: its own redis-server, two hubs, two agents
cluster: build
	@scripts/cluster.sh

## regions: two regions (own redis-servers and mosquitto) linked by bridges, an agent in "eu" seen in "us"
regions: build
	@bridge/regions.sh

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf $(BIN) dist hubd/web/dist hubd/web/node_modules
