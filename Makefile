# optin-analysis: `make help` lists the targets. Each creates .venv itself when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum < pyproject.toml | cut -d' ' -f1)
CONFIG ?= data/sample/config.yaml
PERIOD ?= 2026-10

.DEFAULT_GOAL := help
.PHONY: help run test lint sample lab clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is needed (found $$($(PYTHON) --version))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,lab]'
	@rm -f $(VENV)/.installed-* && touch $@

run: $(STAMP) ## Run the monthly job on the sample data (PERIOD=YYYY-MM, CONFIG=path)
	$(BIN)/optin-analysis run --config $(CONFIG) --period $(PERIOD)

test: $(STAMP) ## Run the whole test suite (unit, integration, notebooks)
	$(BIN)/pytest

lint: $(STAMP) ## Check style with ruff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check optin_analysis tests benchmarks

# JupyterLab for the data lead: loopback only, a fresh token, and nothing fetched from the
# network (no news feed, no update check, no PyPI extension manager). LAB_PORT=8888,
# LAB_DIR=notebooks, LAB_TOKEN=<random>, LAB_ARGS=<more jupyter lab options>.
LAB_PORT ?= 8888
LAB_DIR ?= notebooks
LAB_OFFLINE := --LabApp.news_url=None --LabApp.extension_manager=readonly \
	--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate

lab: $(STAMP) ## Start JupyterLab on notebooks/ at 127.0.0.1 and print its URL (LAB_PORT=8888)
	@token='$(LAB_TOKEN)'; [ -n "$$token" ] || token=$$($(BIN)/python -c 'import secrets; print(secrets.token_hex(24))'); \
	root=$$( [ "$$(id -u)" = 0 ] && echo --allow-root ); \
	echo "JupyterLab on $(LAB_DIR)/ -- open http://127.0.0.1:$(LAB_PORT)/lab?token=$$token (Ctrl-C twice to stop)"; \
	export JUPYTER_TOKEN="$$token"; \
	exec $(BIN)/jupyter lab --no-browser --ip=127.0.0.1 --port=$(LAB_PORT) --ServerApp.port_retries=0 \
		--ServerApp.root_dir='$(LAB_DIR)' $(LAB_OFFLINE) $$root $(LAB_ARGS)

sample: $(STAMP) ## Regenerate the committed sample under data/sample
	$(BIN)/optin-analysis sample --out data/sample --practices 4 --patients 12000 --seed 42

clean: ## Remove the environment and generated output
	rm -rf $(VENV) reports/*/ worklists/
