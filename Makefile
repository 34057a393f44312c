# optin-analysis: `make help` lists the targets. Each creates .venv itself when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum < pyproject.toml | cut -d' ' -f1)
CONFIG ?= data/sample/config.yaml
PERIOD ?= 2026-10

.DEFAULT_GOAL := help
.PHONY: help run test lint sample clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is needed (found $$($(PYTHON) --version))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

run: $(STAMP) ## Run the monthly job on the sample data (PERIOD=YYYY-MM, CONFIG=path)
	$(BIN)/optin-analysis run --config $(CONFIG) --period $(PERIOD)

test: $(STAMP) ## Run the whole test suite (unit, integration, notebooks)
	$(BIN)/pytest

lint: $(STAMP) ## Check style with ruff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check optin_analysis tests benchmarks

sample: $(STAMP) ## Regenerate the committed sample under data/sample
	$(BIN)/optin-analysis sample --out data/sample --practices 4 --patients 12000 --seed 42

clean: ## Remove the environment and generated output
	rm -rf $(VENV) reports/*/ worklists/
