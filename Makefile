# ChatBoard: `make run` starts the stack, `make test` runs every test.
# Each install step runs only when what it installs is missing or out of date.

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STACK := $(PY) -m stack
DEB_PACKAGES := prosody prosody-modules lua-unbound lua-dbi-sqlite3 lua-dbi-postgresql openssl gettext
DEB_TEST_PACKAGES := chromium chromium-driver lua-check caddy
# The room fan-out's reference server (bench/ejabberd.py runs its own instance), and
# callgrind for instruction counts (bench/callgrind.py).
DEB_BENCH_PACKAGES := ejabberd valgrind
# Prosody 13.0, unpacked beside the project for the fan-out's comparison with 0.12.
PROSODY_13 := var/prosody13/prosody

.PHONY: run test lint format admin prepare bench deb-packages deb-test-packages deb-bench-packages python-deps \
	node-deps messages clean

run: deb-packages python-deps node-deps messages
	@$(STACK) run

prepare: deb-packages python-deps node-deps messages
	@$(STACK) prepare

admin: python-deps
	@$(STACK) admin

test: deb-packages deb-test-packages deb-bench-packages $(PROSODY_13) python-deps node-deps messages lint
	$(STACK) exec -- $(PY) -m pytest $(PYTEST_ARGS)

lint: python-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	@if command -v luacheck >/dev/null; then luacheck -q xmpp/modules; fi

format: python-deps
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: deb-packages deb-bench-packages $(PROSODY_13) python-deps node-deps messages
	$(STACK) exec -- $(PY) -m bench $(if $(FULL),--full,)

deb-packages:
	@scripts/install-deb-packages $(DEB_PACKAGES)

deb-test-packages:
	@scripts/install-deb-packages $(DEB_TEST_PACKAGES)

deb-bench-packages:
	@scripts/install-deb-packages $(DEB_BENCH_PACKAGES)

$(PROSODY_13): scripts/fetch-prosody13
	@scripts/fetch-prosody13 $(dir $@)

python-deps: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	@python3 scripts/pinned-requirements.py pyproject.toml > $(VENV)/requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r $(VENV)/requirements.txt
	@touch $@

# The web chat's browser code (Converse.js), exactly as package-lock.json pins it.
node-deps: node_modules/.installed

node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || scripts/install-deb-packages nodejs npm
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $@

# Compiled translations are build output: made from the committed .po files.
PO_FILES := $(wildcard portal/locale/*/LC_MESSAGES/*.po portal/*/locale/*/LC_MESSAGES/*.po)

messages: $(PO_FILES:.po=.mo)

%.mo: %.po
	msgfmt --check -o $@ $<

clean:
	rm -rf var
