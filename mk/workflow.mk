# The kdevops workflow: configure with Kconfig, then bring nodes up and tear them down.
#
#   make menuconfig            edit .config in kconfiglib's menu interface
#   make defconfig-NAME        load defconfigs/NAME (NAME may be A+B: fragments from
#                              defconfigs/ or defconfigs/configs/B.config, later wins)
#   make bringup               create the configured nodes (no .config: the default,
#                              three nodes on the free local emulator)
#   make status                nodes, addresses, hourly price and money spent so far
#   make destroy               delete every node of this project, verify, clean up
#   make extend TTL=4h         move this project's nodes' (or cluster's) expiry to 4 hours
#                              from now
#   make reap                  delete every expired kdevops instance and cluster of the
#                              account (any checkout; no .config needed; DRY_RUN=1 only
#                              shows)
#   make catalog               instance types, prices, live availability per location
#   make credentials           store API credentials (asks for them; the secret is not
#                              shown), then test them against the configured endpoint
#
# Every target below calls crates/kdevops-datacrunch; nobody types `terraform`.

KCONFIG_CONFIG ?= $(TOPDIR)/.config
KCONFIG_BIN := $(VENV)/bin
# TOPDIR reaches Kconfig's $(shell,...) defaults: the per-project key name and file.
KCONFIG_ENV := KCONFIG_CONFIG=$(KCONFIG_CONFIG) TOPDIR=$(TOPDIR)
WORKFLOW_DEFAULT_DEFCONFIG ?= emulator-3-nodes
# The source tree holding this file (TOPDIR may name another kdevops tree): cargo
# builds it, into its target directory.
WORKFLOW_SRC := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))/..)
WORKFLOW_TARGET_DIR := $(or $(CARGO_TARGET_DIR),$(WORKFLOW_SRC)/target)
# Debug builds: a release build of the three binaries takes minutes on a small machine
# and buys nothing for a tool that mostly waits on the network.
WORKFLOW_BIN := $(WORKFLOW_TARGET_DIR)/debug/kdevops-datacrunch
WORKFLOW := $(WORKFLOW_BIN) --topdir $(TOPDIR) --config $(KCONFIG_CONFIG)
WORKFLOW_BINS := $(addprefix $(WORKFLOW_TARGET_DIR)/debug/,kdevops-datacrunch \
	terraform-provider-datacrunch datacrunch-emulator)
# Touched after each successful build: cargo leaves a binary alone when a change did not
# reach it, so the binaries' own times cannot say whether the build is current.
WORKFLOW_STAMP := $(WORKFLOW_TARGET_DIR)/debug/.kdevops-workflow-built
# Everything the three binaries are built from: even a no-op `cargo build` costs
# seconds, so cargo runs only when one of these is newer than the last build.
WORKFLOW_SOURCES := $(WORKFLOW_SRC)/Cargo.toml $(WORKFLOW_SRC)/Cargo.lock \
	$(shell find $(WORKFLOW_SRC)/crates \( -path '*/src/*' -o -name Cargo.toml \
	  -o -name build.rs \) -type f 2>/dev/null)

.PHONY: menuconfig olddefconfig savedefconfig defconfig-% bringup status destroy power-off power-on \
	extend reap catalog credentials workflow-build workflow-build-missing

$(KCONFIG_BIN)/menuconfig:
	@tools/install-terraform

workflow-build: $(WORKFLOW_STAMP) ## build the workflow tool, the provider and the emulator (when their sources changed)

# A binary that is missing (removed, or a new target directory) forces a build.
$(WORKFLOW_STAMP): $(WORKFLOW_SOURCES) $(if $(filter-out $(wildcard $(WORKFLOW_BINS)),$(WORKFLOW_BINS)),workflow-build-missing)
	@echo "building kdevops-datacrunch, provider and emulator (first time: ~2-3 min)" >&2
	@$(CARGO) build -p kdevops-datacrunch -p terraform-provider-datacrunch -p datacrunch-emulator
	@touch $@

workflow-build-missing:

menuconfig: | $(KCONFIG_BIN)/menuconfig ## edit .config (instance type, endpoint, nodes, ...)
	@$(KCONFIG_ENV) $(KCONFIG_BIN)/menuconfig $(TOPDIR)/Kconfig

olddefconfig: | $(KCONFIG_BIN)/menuconfig ## refresh .config with defaults for new symbols, no terminal needed
	@$(KCONFIG_ENV) $(KCONFIG_BIN)/olddefconfig $(TOPDIR)/Kconfig

savedefconfig: | $(KCONFIG_BIN)/menuconfig ## write the minimal defconfig of .config to ./defconfig
	@$(KCONFIG_ENV) $(KCONFIG_BIN)/savedefconfig --kconfig $(TOPDIR)/Kconfig --out $(TOPDIR)/defconfig

defconfig-%: | $(KCONFIG_BIN)/menuconfig ## load defconfigs/% into .config
	@set -e; files=; \
	for part in $(subst +, ,$*); do \
	  if [ -f "$(TOPDIR)/defconfigs/$$part" ]; then files="$$files $(TOPDIR)/defconfigs/$$part"; \
	  elif [ -f "$(TOPDIR)/defconfigs/configs/$$part.config" ]; then files="$$files $(TOPDIR)/defconfigs/configs/$$part.config"; \
	  else echo "error: no defconfig named '$$part': see $(TOPDIR)/defconfigs/ and defconfigs/configs/" >&2; exit 1; fi; \
	done; \
	merged=$$(mktemp); trap 'rm -f "$$merged"' EXIT; cat $$files > "$$merged"; \
	$(KCONFIG_ENV) $(KCONFIG_BIN)/defconfig --kconfig $(TOPDIR)/Kconfig "$$merged" >/dev/null; \
	echo "Loaded $* into $(KCONFIG_CONFIG)"

# Only when .config is missing (no prerequisites: a newer Kconfig never overwrites it).
$(KCONFIG_CONFIG):
	@echo "No $(KCONFIG_CONFIG): loading the default, defconfigs/$(WORKFLOW_DEFAULT_DEFCONFIG)"
	@$(MAKE) --no-print-directory defconfig-$(WORKFLOW_DEFAULT_DEFCONFIG)

# Keep the bringup and destroy recipes one plain command (no shell syntax): make then
# runs the tool as its only child, with no shell in between, and on Ctrl-C waits for it
# while Terraform saves state and the tool reports what exists.
bringup: workflow-build | $(KCONFIG_CONFIG) ## create the nodes (the local emulator unless configured otherwise)
	@$(WORKFLOW) bringup $(if $(REPLACE),--replace '$(REPLACE)')

status: workflow-build | $(KCONFIG_CONFIG) ## show nodes, IPs, prices and money spent
	@$(WORKFLOW) status

destroy: workflow-build | $(KCONFIG_CONFIG) ## delete every node of this project and clean up
	@$(WORKFLOW) destroy

extend: workflow-build | $(KCONFIG_CONFIG) ## move the nodes' (or cluster's) expiry to TTL from now (make extend TTL=4h)
	@$(if $(TTL),,echo "error: make extend needs TTL, e.g. make extend TTL=4h" >&2; exit 2)
	@$(WORKFLOW) extend '$(TTL)'

# A node that is off still bills until it is deleted: only destroy stops the billing.
power-off: workflow-build | $(KCONFIG_CONFIG) ## shut down the nodes (NODE=name: one); they STILL BILL while off
	@$(WORKFLOW) power-off $(if $(NODE),--node '$(NODE)')

power-on: workflow-build | $(KCONFIG_CONFIG) ## start the nodes again (NODE=name: one)
	@$(WORKFLOW) power-on $(if $(NODE),--node '$(NODE)')

# No .config prerequisite: reap runs from any checkout, or none (endpoint and
# credentials from DATACRUNCH_SERVER_URL and the usual credentials discovery).
reap: workflow-build ## delete every expired kdevops instance and cluster of the account (DRY_RUN=1: only show)
	@$(WORKFLOW) reap $(if $(DRY_RUN),--dry-run)

catalog: workflow-build | $(KCONFIG_CONFIG) ## instance types, prices, live availability per location
	@$(WORKFLOW) catalog

credentials: workflow-build ## store DataCrunch API credentials in ~/.datacrunch/credentials (mode 0600)
	@$(WORKFLOW) credentials set
	@$(WORKFLOW) credentials test
