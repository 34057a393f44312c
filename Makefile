# optin-analysis: `make help` lists the targets. Each creates .venv itself when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The environment is exactly requirements/lock.txt (every version pinned, every file hashed)
# plus this package: `make lock` re-resolves it; the stamp changes with either file.
LOCK := requirements/lock.txt
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml $(wildcard $(LOCK)) | cksum | cut -d' ' -f1)
CONFIG ?= data/sample/config.yaml
PERIOD ?= 2026-10

.DEFAULT_GOAL := help
.PHONY: help run test lint sample clean lock

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml $(LOCK)
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is needed (found $$($(PYTHON) --version))"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || \
		echo "Note: $(LOCK) is resolved and tested for Python 3.11 (found $$($(PYTHON) --version))"
	$(PYTHON) -m venv --clear $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python requirements/check_lock.py
	@touch $@

run: $(STAMP) ## Run the monthly job on the sample data (PERIOD=YYYY-MM, CONFIG=path)
	$(BIN)/optin-analysis run --config $(CONFIG) --period $(PERIOD)

test: $(STAMP) ## Run the whole test suite (unit, integration, notebooks)
	$(BIN)/pytest

lint: $(STAMP) ## Check style with ruff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check optin_analysis tests benchmarks

sample: $(STAMP) ## Regenerate the committed sample under data/sample
	$(BIN)/python -m optin_analysis.generate

# uv resolves for a stated target (Python 3.11, Linux x86_64, glibc 2.28+) whatever machine
# runs it, and keeps the existing pins unless asked to upgrade. Its own version is pinned.
UV_VERSION := 0.13.9
LOCK_TOOLS := build/lock-tools

$(LOCK_TOOLS)/bin/uv:
	$(PYTHON) -m venv $(LOCK_TOOLS)
	$(LOCK_TOOLS)/bin/python -m pip install --quiet uv==$(UV_VERSION)

lock: $(LOCK_TOOLS)/bin/uv ## Re-resolve requirements/lock.txt (keeps pins; UPGRADE=1: newest)
	$(LOCK_TOOLS)/bin/uv pip compile --quiet pyproject.toml requirements/build.in --all-extras \
		--python-version 3.11 --python-platform x86_64-manylinux_2_28 --no-python-downloads \
		--only-binary :all: --emit-build-options --generate-hashes \
		--custom-compile-command 'make lock' $(if $(UPGRADE),--upgrade) --output-file $(LOCK)

clean: ## Remove the environment and generated output
	rm -rf $(VENV) reports/*/ worklists/
