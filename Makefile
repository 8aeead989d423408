# AnSinh — the two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := FLASK_APP=app $(BIN)/flask
STAMP  := $(VENV)/.installed

.PHONY: run test bench install db demo chromium clean messages translations

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP) messages

# The compiled catalogues (translations/*/LC_MESSAGES/messages.mo), rebuilt when a .po changes.
MO := $(patsubst %.po,%.mo,$(wildcard translations/*/LC_MESSAGES/messages.po))
messages: $(MO)
translations/%/LC_MESSAGES/messages.mo: translations/%/LC_MESSAGES/messages.po $(STAMP)
	$(BIN)/pybabel compile --statistics -d translations -l $* 2>&1 | tail -1

# After adding or changing messages: extract them, merge them into each catalogue, then translate
# the new English entries in translations/en/LC_MESSAGES/messages.po (tests/test_translations.py
# names any left untranslated) and `make messages`. config/catalogue.py fills the vi catalogue and
# writes both sorted under a fixed header: running this twice changes nothing.
translations: $(STAMP)
	$(BIN)/pybabel --quiet extract -F babel.cfg -k lazy_gettext -k _l --no-location --sort-output --omit-header -o translations/messages.pot app.py commands.py cases config forms scheduler templates views workflow
	$(BIN)/pybabel --quiet update --no-fuzzy-matching --omit-header -i translations/messages.pot -d translations
	$(BIN)/python -m config.catalogue translations

# Development database under instance/ (SQLite), with the demo province and its users.
db: install
	$(FLASK) db upgrade
	$(FLASK) org load

demo: db
	$(FLASK) demo load

# The web app and the scheduler (escalations, housekeeping) side by side; one Ctrl-C stops both.
run: demo
	@echo "AnSinh is serving on http://127.0.0.1:5000 — log in with one of the demo logins above."
	FLASK_APP=app $(BIN)/python -m scheduler.launcher --host 127.0.0.1 --port 5000

# Browser tests drive Debian's chromium; install it when it is missing (tests run as root).
chromium:
	@command -v chromium >/dev/null 2>&1 || { apt-get update && apt-get install -y chromium; }

test: install chromium
	$(BIN)/ruff check .
	$(BIN)/bandit --quiet --recursive --severity-level high --exclude ./tests,./.venv,./instance .
	$(BIN)/pytest

bench: install
	$(FLASK) bench run

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
