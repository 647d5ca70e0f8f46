# Kontakt — see README.md. Every target makes its own .venv on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
LOCALES := kontakt/locales

.PHONY: demo test bench bench-quick lint messages compile-messages run migrate clean mutation

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(MAKE) --no-print-directory compile-messages
	touch $(STAMP)

compile-messages:
	$(BIN)/pybabel compile --use-fuzzy -d $(LOCALES) -D kontakt --statistics 2>&1 | tail -n 3

messages: $(STAMP)  ## re-extract strings and update the .po catalogs
	$(BIN)/pybabel extract -F babel.cfg -k _ -k __ -k gettext -k lazy_gettext -k N_ --no-location \
	  -o $(LOCALES)/kontakt.pot bot kontakt web/templates web/api $(wildcard web/*.py) \
	  services notifications
	$(BIN)/pybabel update -i $(LOCALES)/kontakt.pot -d $(LOCALES) -D kontakt --no-fuzzy-matching

demo: $(STAMP)
	$(BIN)/kontakt demo

run: $(STAMP)
	$(BIN)/kontakt run

migrate: $(STAMP)
	$(BIN)/kontakt migrate

test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/ruff check .

BENCHES := bot_throughput client_import client_search reminders mailing gcal_sync deals pricing settlements campaigns \
           analytics

bench: $(STAMP)  ## every benchmark, one after another (the last line of each is JSON)
	for b in $(BENCHES); do $(BIN)/python -m bench.$$b || exit 1; done

bench-quick: $(STAMP)
	for b in $(BENCHES); do $(BIN)/python -m bench.$$b --quick || exit 1; done

clean:
	rm -rf $(VENV) data/demo.sqlite3*

mutation: $(STAMP)  ## MODULE=services/permissions.py [ARGS="--sample 60"]: how many small changes its tests notice
	$(BIN)/python -m tools.mutation $(MODULE) $(ARGS)
