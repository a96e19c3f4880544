# e-Kessai. `make run` and `make test` are all a newcomer needs (see README).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint format messages lock bench clean

$(STAMP): pyproject.toml requirements/lock.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c requirements/lock.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py seed_demo --if-empty
	@# No REDIS_URL: one Daphne process, no service needed. With REDIS_URL: WEB_WORKERS processes
	@# (default one per core) and a Celery worker with its scheduler for the background jobs.
	@if [ -n "$$REDIS_URL" ]; then \
	  $(VENV)/bin/celery -A config worker --beat --loglevel warning & worker=$$!; \
	  trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT INT TERM; \
	  $(PY) -m config.serve --host $(HOST) --port $(PORT); \
	else \
	  $(PY) -m config.serve --host $(HOST) --port $(PORT); \
	fi

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Translations: edit locale/ja/LC_MESSAGES/django.po, then run this (needs GNU gettext) and commit
# both files, so that installing never needs gettext.
messages: install
	$(PY) manage.py makemessages --locale ja --ignore '.venv/*' --ignore 'var/*' --ignore 'tests/*' --ignore 'bench/*'
	$(PY) manage.py makemessages -d djangojs --locale ja --ignore '.venv/*' --ignore 'var/*' --ignore 'tests/*' --ignore '*/vendor/*'
	$(PY) manage.py compilemessages --locale ja --ignore '.venv/*'

# Refresh the pinned set of every package after changing pyproject.toml.
lock: install
	$(PY) -m pip freeze --exclude-editable | grep -v '^ekessai' > requirements/lock.txt

bench: install
	for b in bench/*.py; do $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) var/staticfiles .pytest_cache .mypy_cache .ruff_cache
