# optin-analysis: `make help` lists the targets. Each creates .venv itself when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The environment is exactly requirements/lock.txt (every version pinned, every file hashed,
# installed with --no-deps: nothing is resolved again) plus this package, built by
# requirements/install.py with the interpreter's own pip. `make lock` re-resolves the lock;
# the stamp changes with either file.
LOCK := requirements/lock.txt
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml $(wildcard $(LOCK)) | cksum | cut -d' ' -f1)
CONFIG ?= data/sample/config.yaml
PERIOD ?= 2026-10

.DEFAULT_GOAL := help
.PHONY: help run test lint mutate oracle attack sample lab clean lock

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml $(LOCK) requirements/install.py requirements/check_lock.py
	@$(PYTHON) requirements/install.py $(VENV)
	@touch $@

run: $(STAMP) ## Run the monthly job on the sample data (PERIOD=YYYY-MM, CONFIG=path)
	$(BIN)/optin-analysis run --config $(CONFIG) --period $(PERIOD)

test: $(STAMP) ## Run the whole test suite (unit, integration, notebooks)
	$(BIN)/pytest

# Not part of `make test`: each mutation reruns tests/spec, tests/unit and tests/property on
# a copy of the repository (MUTATE_ARGS="--only NAME" for one, "--list" to list them).
mutate: $(STAMP) ## Plant rule mutations one by one and report any the tests miss
	$(BIN)/python tests/mutate.py $(MUTATE_ARGS)

# Not part of `make test` (which compares small populations): 20 practices, 60,000 patients,
# a mid-month extract, every month from 2023-08, against the independent implementation.
ORACLE_DIR := build/oracle
oracle: $(STAMP) ## Compare every figure of a larger population with the independent oracle
	$(BIN)/optin-analysis sample --out $(ORACLE_DIR) --practices 20 --patients 60000 \
		--seed 11 --extract-date 2026-09-14
	OPTIN_ORACLE_CONFIG=$(ORACLE_DIR)/config.yaml $(BIN)/pytest -q tests/oracle -k given

# Not part of `make test` (3 practices there): six monthly releases of a 20-practice,
# 40,000-patient ICB and its roll-ups, against the integer-programming attacker.
attack: $(STAMP) ## Attack six months of everything a 20-practice ICB receives
	OPTIN_ATTACK_PRACTICES=20 $(BIN)/pytest -q tests/disclosure -k "releases or republished"

lint: $(STAMP) ## Check style with ruff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check optin_analysis tests benchmarks

# JupyterLab for the data lead: loopback only, a fresh token, and nothing fetched from the
# network (no news feed nor the question about it, no update check, no PyPI extension
# manager: lab/overrides.json). Rooted at the repository so that notebooks/, reports/
# (kept report notebooks) and worklists/ are all reachable; it opens on notebooks/.
# LAB_PORT=8888, LAB_DIR=., LAB_TOKEN=<random>, LAB_ARGS=<more jupyter lab options>.
LAB_PORT ?= 8888
LAB_DIR ?= .
LAB_OFFLINE := --LabApp.news_url=None --LabApp.extension_manager=readonly \
	--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate \
	--LabApp.app_settings_dir='$(CURDIR)/lab'

lab: $(STAMP) ## Start JupyterLab (notebooks/, reports/) at 127.0.0.1 and print its URL
	@token='$(LAB_TOKEN)'; [ -n "$$token" ] || token=$$($(BIN)/python -c 'import secrets; print(secrets.token_hex(24))'); \
	root=$$( [ "$$(id -u)" = 0 ] && echo --allow-root ); \
	open=$$( [ -d '$(LAB_DIR)/notebooks' ] && echo tree/notebooks ); \
	echo "JupyterLab on $(LAB_DIR)/ -- open http://127.0.0.1:$(LAB_PORT)/lab/$$open?token=$$token (Ctrl-C twice to stop)"; \
	export JUPYTER_TOKEN="$$token"; \
	exec $(BIN)/jupyter lab --no-browser --ip=127.0.0.1 --port=$(LAB_PORT) --ServerApp.port_retries=0 \
		--ServerApp.root_dir='$(LAB_DIR)' $(LAB_OFFLINE) $$root $(LAB_ARGS)

sample: $(STAMP) ## Regenerate the committed sample under data/sample
	$(BIN)/python -m optin_analysis.generate

# uv resolves one universal lock (every platform and Python from 3.11, each pin with its
# marker) whatever machine runs it, and keeps the existing pins unless asked to upgrade.
# Its own version is pinned.
UV_VERSION := 0.13.9
LOCK_TOOLS := build/lock-tools

$(LOCK_TOOLS)/bin/uv:
	$(PYTHON) -m venv $(LOCK_TOOLS)
	$(LOCK_TOOLS)/bin/python -m pip install --quiet uv==$(UV_VERSION)

lock: $(LOCK_TOOLS)/bin/uv ## Re-resolve requirements/lock.txt (keeps pins; UPGRADE=1: newest)
	$(LOCK_TOOLS)/bin/uv pip compile --quiet pyproject.toml requirements/build.in --all-extras \
		--universal --python-version 3.11 --no-python-downloads \
		--only-binary :all: --emit-build-options --generate-hashes \
		--custom-compile-command 'make lock' $(if $(UPGRADE),--upgrade) --output-file $(LOCK)

clean: ## Remove the environment and generated output
	rm -rf $(VENV) reports/*/ worklists/
