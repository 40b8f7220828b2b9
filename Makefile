# Top-level entry points. `make help` lists them.
#
#   make bringup   bring up the configured nodes (on the local emulator by default)
#   make test      install what the tests need, then run every check and test
#
# The kdevops workflow targets (menuconfig, defconfig-*, bringup, status, destroy) live
# in mk/workflow.mk; this file owns setup, build and test.

SHELL := /bin/bash
.DEFAULT_GOAL := help
TOPDIR := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
export TOPDIR
VENV := $(TOPDIR)/.venv
CARGO ?= cargo

.PHONY: help deps build release test check fmt clippy docs docs-check bench

help: ## list the targets
	@grep -hE '^[a-zA-Z0-9_%-]+:.*## ' $(MAKEFILE_LIST) | sort | \
	  awk 'BEGIN {FS = ":.*## "}; {printf "  %-18s %s\n", $$1, $$2}'

deps: ## install Terraform 1.15.5, the Verda SDK, kconfiglib and ansible-core into .venv (idempotent)
	@tools/install-terraform

build: ## debug build of every crate
	$(CARGO) build --workspace --bins

release: ## optimised binaries: target/provider/terraform-provider-datacrunch, target/release/{datacrunch-emulator,kdevops-datacrunch}
	$(CARGO) build --profile provider -p terraform-provider-datacrunch
	$(CARGO) build --release -p datacrunch-emulator -p kdevops-datacrunch

fmt: ## reformat the code
	$(CARGO) fmt --all

check: docs-check ## formatting, lints, generated-docs drift and module cycles
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	tools/module-cycles

docs: ## regenerate the provider's registry docs from its schema
	$(CARGO) run -q -p terraform-provider-datacrunch -- docs --out docs

docs-check: ## fail when the committed provider docs differ from the schema
	$(CARGO) run -q -p terraform-provider-datacrunch -- docs --out docs --check

test: deps check ## every test: unit, emulator, Python SDK, real Terraform end to end
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
	  $(CARGO) nextest run --workspace --config-file tools/nextest.toml --profile ci; \
	else \
	  $(CARGO) test --workspace --no-fail-fast; \
	fi

bench: ## run the benchmarks recorded in docs/benchmarks.md
	tools/run-benchmarks

-include mk/workflow.mk
