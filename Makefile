# Microneedling FAQ assistant. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
RASA := $(VENV)/bin/rasa
SPACY_MODEL := build/spacy/microneedling_en
CHROMIUM := /usr/bin/chromium

# Quieter Rasa/TensorFlow start-up, no telemetry (the machine may be offline).
export TF_CPP_MIN_LOG_LEVEL := 2
export RASA_TELEMETRY_ENABLED := false
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export VENV

.PHONY: help chat web test eval bench bench-scale scale-up scale-down scale-servers review audit train actions validate lint types spacy lock clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-9s %s\n", $$1, $$2}'

chat: train ## Train if needed, then chat in the terminal (rasa shell) with the action server running
	@scripts/with_action_server.sh $(RASA) shell --quiet

web: train web/node_modules/.installed ## Train if needed, then serve the demo page with the chat widget (http://localhost:8080)
	@scripts/with_action_server.sh scripts/serve_web.sh

test: $(VENV)/.dev-installed train web/node_modules/.installed $(CHROMIUM) scale-servers ## Run every check: lint, types, data validation, pytest (scaled-out stack included), test stories, eval and bench smokes
	$(MAKE) --no-print-directory lint types validate
	$(PY) -m pytest
	$(RASA) test core --stories tests/test_stories.yml --fail-on-prediction-errors --out build/results
	$(PY) -m evaluation --smoke --out build/eval-smoke
	$(PY) -m bench --smoke --out build/bench-smoke
	$(PY) -m bench.scale --smoke --out build/bench-smoke

eval: train ## Measure answer quality: held-out set, 5-fold CV, HINT3 vs Rasa's default (reports/quality.md)
	$(PY) -m evaluation --out reports

bench: train ## Speed and memory against a vanilla `rasa init` bot, same run (reports/bench.md)
	$(PY) -m bench --out reports

bench-scale: train scale-servers ## The scaled-out stack with 1 Rasa replica vs 2, same run (reports/bench-scale.md)
	$(PY) -m bench.scale --out reports

scale-up: train scale-servers ## Start 2 Rasa + 2 action servers behind nginx, with PostgreSQL and Redis (http://127.0.0.1:8088)
	$(PY) -m deploy.stack up

scale-down: ## Stop the scaled-out stack (its data stays in $$SCALE_DIR)
	$(PY) -m deploy.stack down

# Debian's servers for the scaled-out stack, installed when missing (as root).
scale-servers:
	@command -v nginx >/dev/null && command -v redis-server >/dev/null \
	  && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
	  || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx redis-server postgresql; }

review: $(VENV)/.installed ## List the most frequent questions the bot declined or was unsure about
	$(PY) -m review

audit: build/audit-venv/.installed ## Check both lock files against PyPI's vulnerability data (pip-audit --strict; needs pypi.org)
	build/audit-venv/bin/pip-audit --strict --no-deps --disable-pip --progress-spinner off -r requirements.txt -r requirements-dev.txt

train: $(VENV)/.installed ## Check the knowledge file, then `rasa train` if config, domain, data or components changed since the last model
	$(PY) -m actions.knowledge
	@$(MAKE) --no-print-directory $(MODEL_STAMP)

actions: $(VENV)/.installed ## Run the action server in the foreground (port 5055)
	$(RASA) run actions

validate: $(VENV)/.installed ## Check the knowledge file and the Rasa data (rasa data validate)
	$(PY) -m actions.knowledge
	$(RASA) data validate --fail-on-warnings

lint: $(VENV)/.dev-installed ## Lint the Python code (ruff)
	$(VENV)/bin/ruff check actions bench channels components deploy rasa_patches review tracker_stores evaluation tests scripts
	$(VENV)/bin/ruff format --check actions bench channels components deploy rasa_patches review tracker_stores evaluation tests scripts

types: $(VENV)/.dev-installed ## Type-check actions/, bench/, channels/, components/, deploy/, rasa_patches/, review/ and tracker_stores/ (mypy)
	$(VENV)/bin/mypy actions bench channels components deploy rasa_patches review tracker_stores

spacy: $(SPACY_MODEL) ## Build the project's spaCy pipeline

lock: $(VENV)/.dev-installed ## Re-pin every dependency from requirements*.in
	$(VENV)/bin/pip-compile --quiet --strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links -o requirements.txt requirements.in
	$(VENV)/bin/pip-compile --quiet --strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links -o requirements-dev.txt requirements-dev.in
	$(VENV)/bin/pip-compile --quiet --strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links -o requirements-audit.txt requirements-audit.in

clean: ## Remove the venv, npm packages, trained models, reports and build output
	rm -rf $(VENV) models build reports web/node_modules .pytest_cache .mypy_cache .ruff_cache

# `rasa train` writes a new model (44 MB) on every run, even when its cache
# restores every component, so make trains only when an input is newer than
# the last model, or when there is no model.
MODEL_STAMP := models/.trained
$(MODEL_STAMP): $(SPACY_MODEL) config.yml domain.yml $(shell find data -name '*.yml') $(wildcard components/*.py)
	$(RASA) train
	@touch $@
ifeq ($(wildcard models/*.tar.gz),)
.PHONY: $(MODEL_STAMP)
endif

$(VENV)/.installed: requirements.txt
	@test -x $(PY) || { python=$$(scripts/find_python.sh) && echo "Creating $(VENV) with $$python" && "$$python" -m venv $(VENV); }
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

$(VENV)/.dev-installed: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

# pip-audit needs a newer `packaging` than Rasa 3.6 allows, so it has a venv of its own.
build/audit-venv/.installed: requirements-audit.txt
	python3 -m venv build/audit-venv
	build/audit-venv/bin/pip install --quiet --disable-pip-version-check -r requirements-audit.txt
	@touch $@

web/node_modules/.installed: web/package-lock.json
	npm ci --prefix web --no-audit --no-fund
	@touch $@

# The browser test drives Debian's Chromium (Playwright never downloads one).
$(CHROMIUM):
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

$(SPACY_MODEL): scripts/build_spacy_pipeline.py $(VENV)/.installed
	$(PY) scripts/build_spacy_pipeline.py $@
	@touch $@  # a rebuild into the folder leaves its time as it was
