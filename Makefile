# dcol — the two commands of the README are `make run` and `make test`.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test install chromium migrate translations lint

# Install (once, and again when pyproject.toml changes) into a local virtualenv.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $@

install: $(VENV)/.installed

# Serve the app on SQLite (instance/dcol.sqlite3) with the demo data.
run: install
	$(BIN)/flask --app dcol db upgrade
	$(BIN)/flask --app dcol seed-demo
	$(BIN)/flask --app dcol run --host $(HOST) --port $(PORT)

# Install everything the tests need (Debian's chromium for the browser tests), then run them.
test: install chromium
	$(BIN)/pytest -q -p no:cacheprovider -n 2

chromium:
	@bash scripts/install-chromium

# After changing a model: write the migration (then read and commit it).
migrate: install
	$(BIN)/flask --app dcol db migrate -m "$(m)"

# After changing user-visible text: refresh the catalogs, then translate dcol/translations/en.
translations: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k N_ --no-location --sort-output -o /tmp/dcol-messages.pot .
	$(BIN)/pybabel update -i /tmp/dcol-messages.pot -d dcol/translations --no-fuzzy-matching --ignore-obsolete

lint: install
	$(BIN)/ruff check .
