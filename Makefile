# RUAS platform — the two quick-start commands are `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# the portal's front-end libraries (npm registry, package-lock.json), copied into the package for serving
ASSETS := src/ruas/web/static/vendor/.installed

.PHONY: run test lint typecheck bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(ASSETS): package.json package-lock.json src/ruas/web/assets.py $(STAMP)
	npm ci --no-audit --no-fund --loglevel=error
	$(BIN)/python -m ruas.web.assets
	touch $(ASSETS)

## run: set up, seed the embedded default register, show an example check, then start the service
run: $(STAMP) $(ASSETS)
	$(BIN)/ruas summary
	$(BIN)/ruas check --category N1 --mass 3000 --fuel diesel --emission-class 6 \
		--first-admission 2019-05-01 --point 52.3731,4.8926 --at 2026-06-01T09:00 ; \
		status=$$?; [ $$status -le 1 ] || exit $$status
	$(BIN)/ruas serve --host $${RUAS_HOST:-127.0.0.1} --port $${RUAS_PORT:-8000}

## test: set up, then run the whole test suite (lint and type checks included)
test: $(STAMP) $(ASSETS) lint typecheck
	$(BIN)/pytest -q; status=$$?; \
		if [ $$status -eq 5 ]; then echo "pytest collected no tests: failing" >&2; exit 1; fi; \
		exit $$status

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_rules.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache node_modules src/ruas/web/static/vendor test-artifacts
