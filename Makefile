# RidePledge: `make demo` runs the product, `make test` passes the tests. Both set up .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: demo demo-info test lint format bench clean security audit

$(INSTALLED): pyproject.toml sdk/python/pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11+ is needed")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]' -e 'sdk/python[async]'
	touch $@

# PORT=8100 make demo serves it on another port. Its logs go to instance/demo.log; the console
# sign-ins and the API client are printed last, and `make demo-info` prints them again.
demo: $(INSTALLED)
	$(BIN)/ridepledge demo

demo-info: $(INSTALLED)
	@$(BIN)/ridepledge demo credentials

# Tests run in random order (pytest-randomly). The seed changes daily and is printed at the
# top ("Using --randomly-seed=..."); `make test TEST_SEED=<that number>` replays the order.
TEST_SEED ?= $(shell date -u +%Y%m%d)
# ...on TEST_WORKERS processes (pytest-xdist), each test file whole on one of them, each worker
# with its own databases (tests/services.py). `make test TEST_WORKERS=0` runs them in this one
# process in the seed's exact order (with workers, which files share a process depends on
# timing).
TEST_WORKERS ?= 2

# The edge proxy's tests run real nginx (`ridepledge proxy-config`). On a fresh Debian or
# Ubuntu machine `make test` installs it (as root); elsewhere those tests say they are skipped
# (.ci/run sets RIDEPLEDGE_REQUIRE_NGINX=1, which turns the skip into a failure).
NGINX := /usr/sbin/nginx

$(NGINX):
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing nginx-light (the edge proxy's tests)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null; \
	else \
		echo "nginx not found: the edge proxy's tests will skip (apt-get install nginx-light)"; \
	fi

test: $(INSTALLED) $(NGINX)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(MAKE) --no-print-directory security
	$(BIN)/pytest -p randomly --randomly-seed=$(TEST_SEED) -n $(TEST_WORKERS) --dist loadfile

# bandit over the service and the SDK: every finding is fixed or carries a `# nosec` reason.
security: $(INSTALLED)
	$(BIN)/bandit -q -r widget_server sdk/python/src

# Known vulnerabilities in the installed dependencies (needs PyPI's JSON API). Not fatal when
# the vulnerability data cannot be reached or a package cannot be looked up (offline CI, a
# mirror without it): it says so instead. .ci/run calls it.
audit: $(INSTALLED)
	$(BIN)/python .ci/pip_audit.py

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(INSTALLED)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Benchmarks (bench/README.md): the five targets run in the production topology (network
# namespaces made by the run: root), bounded in time; they print figures and exit 1 when a
# correctness check fails. bench/run_all.py runs each under its own bound (12 minutes for all),
# then prints their figures side by side; it exits 1 if any check failed or one ran out of time.
bench: $(INSTALLED) $(NGINX)
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
		&& apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; } \
		|| echo "wrk not found (apt-get install wrk)"
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) instance .pytest_cache

# Fan-facing text (emails, widget pages) in widget_server/translations: extract the messages
# into messages.pot, merge them into each language's messages.po, compile the .mo files.
# Translate what `update` adds to the .po files (empty msgstr, or marked fuzzy), then run it again.
.PHONY: translations
translations: $(INSTALLED)
	$(BIN)/pybabel extract -F babel.cfg -k _l --add-location=file --sort-by-file --project=RidePledge \
		--version=0.1.0 --copyright-holder=RidePledge -o widget_server/translations/messages.pot .
	$(BIN)/pybabel update -i widget_server/translations/messages.pot -d widget_server/translations \
		--ignore-obsolete
	$(BIN)/pybabel compile -d widget_server/translations --statistics
