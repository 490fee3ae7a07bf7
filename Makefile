# Two commands do all the set-up: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run test test-fast lint bench check clean-var

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

## run: the whole service (web, worker, beat; embedded PostgreSQL and Redis unless configured)
run: $(STAMP)
	$(PY) -m itsm.runner

## test: the whole test suite on PostgreSQL and Redis (embedded unless DATABASE_URL/REDIS_URL)
test: $(STAMP)
	$(PY) -m itsm.embedded exec -- $(PY) -m pytest $(PYTEST_ARGS)

## lint: ruff, Django's checks and the migrations check
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run

## bench: benchmarks, JSON results under bench/results/
bench: $(STAMP)
	$(PY) -m bench $(BENCH)

clean-var:
	@echo "This deletes the embedded database and all local data under var/."
	rm -rf var
