# rapport: `make run` to try it, `make test` to check it.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/rapport
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test test-sqlite test-postgres lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/rapport migrate --verbosity 0
	$(BIN)/rapport demo --customers 500 --if-empty
	$(BIN)/rapport recalc
	$(BIN)/rapport segments --refresh
	@echo
	@$(BIN)/rapport createapikey --name "quick start" --scopes admin
	@echo
	@echo "API docs: http://127.0.0.1:8000/api/docs    Admin: http://127.0.0.1:8000/admin/"
	$(BIN)/rapport serve --with-worker

test: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench
	$(MAKE) --no-print-directory test-sqlite test-postgres

test-sqlite: $(VENV)/.installed-dev
	@echo "== tests on SQLite"
	env -u DATABASE_URL $(BIN)/pytest

# Under CI=true PostgreSQL must be there; on a laptop without it these tests are skipped.
test-postgres: $(VENV)/.installed-dev
	@echo "== tests on PostgreSQL ($(PG_TEST_URL))"
	@if DATABASE_URL=$(PG_TEST_URL) $(BIN)/python -m rapport.cli.dbcheck; then \
		DATABASE_URL=$(PG_TEST_URL) $(BIN)/pytest; \
	elif [ "$$CI" = "true" ]; then \
		echo "PostgreSQL is not reachable at $(PG_TEST_URL), and CI needs it"; exit 1; \
	else \
		echo "PostgreSQL is not reachable at $(PG_TEST_URL): skipped (CI would fail)"; \
	fi

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache
