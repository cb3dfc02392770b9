# clientlens: which clients make money, which are toxic, and what the spiral brings next.
#   make report   sets itself up, builds the demo company if data/raw/ is empty, runs the chain, publishes HTML
#   make test     runs the test suite
# Any parameter of config/params.yaml can be overridden: make report PERIOD_END=2025Q4 REPORT_LANG=ru
# The pages are published in report_lang at reports/ and in second_report_lang at reports/<lang>/

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The project's src/ comes first, so a copy of the project runs its own code.
RUN := PYTHONPATH=$(CURDIR)/src $(PY)
SETUP_STAMP := $(VENV)/.clientlens-setup
# How many stages run at once: a stage waits only for the stages whose tables it loads
# (build/deps.mk), so on two cores the spiral runs beside the P&L, toxicity and segments.
JOBS ?= 2

NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]-*.ipynb))
STAGES := $(basename $(notdir $(NOTEBOOKS)))
EXECUTED := $(STAGES:%=build/executed/%.ipynb)
SRC_FILES := $(shell find src -name '*.py' 2>/dev/null)
REPORT_ASSETS := $(wildcard src/clientlens/publishing/*.py src/clientlens/publishing/static/* src/clientlens/publishing/templates/*/* \
                            src/clientlens/locale/*)

.PHONY: help setup report publish demo-data test bench lab clean distclean lock FORCE

help: ## List the targets
	@echo "clientlens - client profitability, toxicity and quarterly-spiral reports"
	@echo
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-11s %s\n", $$1, $$2}'
	@echo
	@echo "Override any parameter of config/params.yaml in upper case, e.g. make report PERIOD_END=2025Q4"

setup: $(SETUP_STAMP) ## Create .venv from requirements.lock; register (or repair) the project's Jupyter kernel
	@$(RUN) -m clientlens.tooling.pipeline kernel

$(SETUP_STAMP): requirements.lock pyproject.toml
	@echo "Setting up the project environment in $(VENV)/ (first run only, a few minutes)..."
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	@$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@$(PY) -m ipykernel install --sys-prefix --name clientlens --display-name "clientlens (project)" >/dev/null
	@touch $@

report: $(SETUP_STAMP) ## Run the whole chain and publish reports/index.html (builds the demo company if data/raw/ is empty)
	@if [ -z "$$(find data/raw -type f ! -name '.*' -print -quit 2>/dev/null)" ]; then \
	  echo "data/raw/ is empty: building the demo company first (make demo-data)"; \
	  $(MAKE) --no-print-directory demo-data || exit 1; \
	fi
	@$(MAKE) --no-print-directory -j$(JOBS) publish

publish: reports/index.html

# The parameters, each stage's share of them (build/params/<stage>.json: the sections it read
# when it last ran) and the raw-file inventory are rewritten only when they change, so Make
# reruns a stage only when something it reads changed.
STAGE_PARAMS := $(STAGES:%=build/params/%.json)
build/params.json build/raw_inventory.json $(STAGE_PARAMS) &: FORCE | $(SETUP_STAMP)
	@$(RUN) -m clientlens.tooling.pipeline prepare $(MAKEOVERRIDES)

# Which src modules each notebook imports, and the chain order (generated).
build/deps.mk: $(NOTEBOOKS) $(SRC_FILES) | $(SETUP_STAMP)
	@$(RUN) -m clientlens.tooling.pipeline deps
	@touch $@

# The second language (second_report_lang; empty for one language only): every stage runs again
# in it, in build/lang/<lang>/ on a copy of the first pass's intake, once the first pass has run
# it; publish puts its pages at reports/<lang>/.
ifneq ($(filter publish build/%,$(MAKECMDGOALS)),)
SECOND_LANG := $(shell $(RUN) -m clientlens.tooling.pipeline second-lang $(MAKEOVERRIDES) 2>/dev/null)
endif
SECOND := build/lang/$(SECOND_LANG)
SECOND_EXECUTED := $(if $(SECOND_LANG),$(STAGES:%=$(SECOND)/executed/%.ipynb))

ifneq ($(filter publish build/%,$(MAKECMDGOALS)),)
-include build/deps.mk
endif

build/executed/%.ipynb: notebooks/%.ipynb notebooks/%.py build/params/%.json | $(SETUP_STAMP)
	@$(RUN) -m clientlens.tooling.pipeline stage $*

$(SECOND)/executed/%.ipynb: build/executed/%.ipynb | $(SETUP_STAMP)
	@$(RUN) -m clientlens.tooling.pipeline second-stage $*

reports/index.html: $(EXECUTED) $(SECOND_EXECUTED) $(REPORT_ASSETS) build/params.json
	@$(RUN) -m clientlens.tooling.pipeline publish

demo-data: $(SETUP_STAMP) ## Write the demo company into data/raw/ (its size from config/params.yaml; CLIENTS=1000 to change)
	@$(RUN) -m clientlens.tooling.pipeline demo $(MAKEOVERRIDES)

PYTEST_ARGS ?= -n 2 --dist loadfile --no-loadscope-reorder

test: $(SETUP_STAMP) ## Run the test suite (unit tests and the end-to-end chain)
	@$(RUN) -m pytest $(PYTEST_ARGS)

BENCH_CLIENTS ?= 10000
BENCH_YEARS ?= 5
BENCH_SEED ?= 42
BENCH_FLAGS ?=

bench: $(SETUP_STAMP) ## Time the chain on a big demo firm into docs/performance.md (BENCH_CLIENTS=10000 BENCH_YEARS=5)
	@$(RUN) -m clientlens.tooling.bench --clients $(BENCH_CLIENTS) --years $(BENCH_YEARS) --seed $(BENCH_SEED) $(BENCH_FLAGS)

LAB_FLAGS ?=
# Jupyter refuses to start as root (as in many containers) unless told it may.
LAB_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

lab: setup ## Open JupyterLab on the project's kernel (notebooks run top to bottom on config/params.yaml)
	@PYTHONPATH=$(CURDIR)/src $(VENV)/bin/jupyter lab --notebook-dir=notebooks $(LAB_ROOT) $(LAB_FLAGS)

clean: ## Remove what the build made (build/, data/processed/, reports/); never data/raw/
	rm -rf build .reports-*
	find data/processed reports -mindepth 1 ! -name .gitkeep -delete 2>/dev/null || true

distclean: clean ## Also remove the environment (.venv/)
	rm -rf $(VENV)

lock: ## Re-pin the dependencies: requirements.lock and environment.yml from requirements.in
	rm -rf build/lock-venv
	$(PYTHON) -m venv build/lock-venv
	build/lock-venv/bin/pip install --quiet -r requirements.in
	build/lock-venv/bin/pip freeze --exclude-editable | sort -f > requirements.lock
	$(RUN) -m clientlens.tooling.lockfile
	rm -rf build/lock-venv
