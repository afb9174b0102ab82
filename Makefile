# The two commands a new user needs: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# Where `make run` and `make dev` serve, e.g. `make run PORT=8123`.
HOST ?= 127.0.0.1
PORT ?= 8000
# Unless PORTAL_BASE_URL says otherwise, the settings build every address of this server from
# PORT: the sandbox's URLs, the demo credentials' and the callbacks the sandbox posts.
export PORT
# The embedded default (agentportal.wsgi alone would load the production settings).
DJANGO_SETTINGS_MODULE ?= agentportal.settings.base
export DJANGO_SETTINGS_MODULE

.PHONY: run dev demo test lint typecheck imports pytest messages openapi install install-dev clean

# Served by gunicorn as in production: no reloading, and kept-alive connections cost nothing.
run: demo
	$(BIN)/gunicorn agentportal.wsgi -c python:agentportal.gunicorn_conf --bind $(HOST):$(PORT) \
		--workers 2 --threads 8

# The same with Django's development server, which restarts when a Python file changes (and
# answers slower: ~40 ms more per request on a kept-alive connection).
dev: demo
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

demo: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	@echo "agentportal: http://$(HOST):$(PORT)/  (admin: http://$(HOST):$(PORT)/admin/, sandbox outbox: http://$(HOST):$(PORT)/sandbox/outbox/)"

test: install-dev lint typecheck imports pytest

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck:
	$(BIN)/mypy .

# Import contracts in pyproject.toml ([tool.importlinter]): the sandbox shares no code with
# the portal, the provider clients stay below the pages and the API, and no test module
# imports another.
imports:
	$(BIN)/lint-imports

# Two sessions: the suite on SQLite, then the delivery guarantees on real PostgreSQL, Redis
# and Celery worker processes that tests/stack/conftest.py starts.
pytest:
	$(BIN)/pytest --ignore=tests/stack
	$(BIN)/pytest tests/stack

# After changing user-facing text: update the German catalogue, translate the new entries in
# locale/de/LC_MESSAGES/django.po, then run this again to compile it (needs GNU gettext).
# `make test` fails while a marked string has no German translation
# (tests/messaging/test_translations.py runs makemessages on a copy of the sources).
messages: install
	$(BIN)/python manage.py makemessages --locale de --ignore '.venv/*' --ignore 'sandbox/*' --ignore 'tests/*' --ignore 'bench/*'
	$(BIN)/python manage.py compilemessages --locale de --ignore '.venv/*'

# After changing the API: write docs/openapi.json from the code (a test checks it is current).
openapi: install
	$(BIN)/python manage.py export_openapi_schema --api=invitations.api.endpoints.api --indent=2 \
		--output docs/openapi.json

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
