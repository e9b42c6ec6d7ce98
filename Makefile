# Two commands do all the set-up: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DDB_PORT ?= 8001
API_PORT ?= 8000

.PHONY: lock package rebuild-reports run test lint typecheck pytest unit bench sizing call text ddb-stop ddb-start chromium espeak-ng node venv clean apikey apikeys apikey-revoke user users site site-build dashboard-vendor wordpress wordpress-test wordpress-zip

# The venv is installed from the locks only, every file checked against its hash (`make lock` writes them).
venv: $(VENV)/.installed
$(VENV)/.installed: requirements.lock requirements-dev.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --require-hashes -r requirements-dev.lock
	# The owner's CLI, `calltracking` (calltracking_cli/, editable: it runs this checkout's code);
	# setuptools comes from the lock, so nothing unhashed is fetched.
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	touch $@
CLI := $(VENV)/bin/calltracking

# After changing requirements*.txt (and installing the new pin into the venv): pin every dependency,
# transitive ones included, with the hashes of all its files on PyPI. Versions come from what the venv
# has installed (its `pip freeze` as constraints) and the current locks, never a newer release, so the
# same venv always gives the same locks; then pip checks that installing the locks would change nothing.
# requirements-dev.lock covers every requirements-*.txt (dev, and any tool's own list).
LOCK_TOOLS := pip-tools==7.6.2
LOCK_COMPILE := CUSTOM_COMPILE_COMMAND="make lock" $(VENV)/bin/pip-compile --quiet --generate-hashes \
	--allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links --no-emit-trusted-host \
	--newline=lf --annotation-style=line -c .local/lock/installed.txt
lock:
	test -x $(VENV)/bin/pip-compile || $(PY) -m pip install -q $(LOCK_TOOLS)
	mkdir -p .local/lock
	$(PY) -m pip freeze --all --exclude-editable | grep -v ' @ ' > .local/lock/installed.txt
	$(LOCK_COMPILE) -o requirements.lock requirements.txt
	$(LOCK_COMPILE) -o requirements-dev.lock $(sort $(wildcard requirements-*.txt))
	@! $(PY) -m pip install --dry-run --require-hashes -r requirements-dev.lock | grep '^Would install' \
	  || { echo "the locks differ from the venv: install the pins above first (.venv/bin/pip install <pkg>==<version>)"; exit 1; }

node: node_modules/.installed
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The site script: the readable source built small by esbuild (pinned in package.json) into the file
# GET /ct.js serves. The built file is committed, so `chalice deploy` and the Lambda package need no
# node; tests/e2e/test_site_build.py rebuilds it (site-build, SITE_OUT=<a temporary file>) and fails
# when it is stale. Same input, same bytes: no sourcemap, no banner, no date. ES2020 is the syntax of
# the browsers that have the APIs the script needs (String.matchAll, fetch keepalive); lowering it
# further would cost bytes and widen nothing.
SITE_SRC := chalicelib/site/src/ct.js
SITE_OUT ?= chalicelib/site/ct.min.js
site: node
	@$(MAKE) --no-print-directory site-build
site-build:
	node_modules/.bin/esbuild $(SITE_SRC) --minify --target=es2020 --log-level=warning --outfile=$(SITE_OUT)

# The dashboard's chart library, uPlot (an exact version pinned in package.json), copied as npm ships
# it into the app's static files and committed, so `chalice deploy` needs no node and no CDN is used
# at run time; tests/unit/test_dashboard_pages.py fails when the committed copy differs from the package.
VENDOR := chalicelib/dashboard/static/vendor
dashboard-vendor: node
	mkdir -p $(VENDOR)
	cp node_modules/uplot/dist/uPlot.iife.min.js node_modules/uplot/dist/uPlot.min.css $(VENDOR)/
	cp node_modules/uplot/LICENSE $(VENDOR)/uPlot.LICENSE

# Debian's Chromium for the browser tests (Playwright drives it via executable_path).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y -qq chromium >/dev/null; }

# Debian's espeak-ng: the local transcription engine's test speech (the pinned voice en-us+f2).
espeak-ng:
	@command -v espeak-ng >/dev/null 2>&1 || { \
	  echo "installing Debian's espeak-ng for the local transcripts"; \
	  $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y -qq espeak-ng >/dev/null; }

# Debian's wordpress, php-cli, php-mysql, mariadb-server and php-codesniffer for the WordPress plugin's
# test (tests/e2e/test_wordpress.py): installed once (--no-install-recommends, about 20 s), then a no-op.
wordpress:
	@scripts/wordpress-deps.sh

# The WordPress plugin's test alone: a real WordPress with its own MariaDB, the local stack, Chromium
# (and axe-core from node_modules: `make node` first on a fresh checkout).
wordpress-test: venv chromium wordpress
	$(PY) -m pytest tests/e2e/test_wordpress.py -q --durations=5

# The plugin as WordPress installs it: .local/calltracking-wordpress.zip (one `calltracking/` folder).
wordpress-zip:
	mkdir -p .local && rm -f .local/calltracking-wordpress.zip
	cd integrations && rm -rf ../.local/wp-zip && mkdir -p ../.local/wp-zip && cp -r wordpress ../.local/wp-zip/calltracking
	cd .local/wp-zip && zip -qr ../calltracking-wordpress.zip calltracking && echo ".local/calltracking-wordpress.zip"

run: venv espeak-ng
	DDB_PORT=$(DDB_PORT) API_PORT=$(API_PORT) DEMO=$(or $(DEMO),yes) scripts/run-local.sh

# Play Twilio's side of a call against `make run`: make call TO=+12015550100 [FROM=...] [ANSWER=no|machine|no,person] [DIGITS=2] [SAY="words"]
# ... or of the oldest call-back the dashboard started: make call CALLBACK=1 [ANSWER=no]
# The CLI takes make run's DDB_PORT and API_PORT, so `make call API_PORT=8100` reaches `make run API_PORT=8100`.
call: venv
	DDB_PORT=$(DDB_PORT) API_PORT=$(API_PORT) $(CLI) call $(if $(CALLBACK),--call-back,--to "$(TO)") $(if $(FROM),--from "$(FROM)") $(if $(ANSWER),--answer "$(ANSWER)") $(if $(DIGITS),--digits "$(DIGITS)") $(if $(SAY),--say "$(SAY)")

# Send a text to a tracking number against `make run`: make text TO=+12015550100 [FROM=...] BODY="Are you open?"
text: venv
	DDB_PORT=$(DDB_PORT) API_PORT=$(API_PORT) $(CLI) call --to "$(TO)" $(if $(FROM),--from "$(FROM)") --text "$(BODY)"

# Pause and resume `make run`'s embedded DynamoDB: while paused every request to it hangs,
# as an unreachable endpoint does; calls are still forwarded and completed once it is back.
ddb-stop:
	pkill -STOP -f "[d]ynamodb_server.py --port $(DDB_PORT)" && echo "embedded DynamoDB paused"
ddb-start:
	pkill -CONT -f "[d]ynamodb_server.py --port $(DDB_PORT)" && echo "embedded DynamoDB resumed"

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: venv
	$(VENV)/bin/mypy

# The three kinds (tests/unit, tests/integration, tests/e2e: pyproject's testpaths) in one run, so
# xdist balances them over the two workers, a file at a time (--dist loadfile): a file's tests keep
# their order and share its module fixtures on one worker (the WordPress test follows an owner
# through one site: set up, visited, uninstalled). The files go out in collection order, the slow
# kinds first (tests/conftest.py), not xdist's default of the files with the most tests first, which
# left the few-test, minute-long end-to-end files for last and one worker idle beside them.
pytest: venv node chromium wordpress espeak-ng
	$(PY) -m pytest -n 2 --dist loadfile --no-loadscope-reorder --durations=20

# The unit tests alone: no database, no network, no node or Chromium needed; seconds.
unit: venv
	$(PY) -m pytest tests/unit -q

test: lint typecheck pytest

bench: venv
	$(PY) -m bench

# The Lambda package as deployed (trimmed, compiled): make package [STAGE=dev] -> .local/package/out-<stage>/
package: venv
	$(PY) -m calltracking_cli.package --stage $(or $(STAGE),dev)

# Management API keys: make apikey NAME="CI deploys" [SCOPE=read|write|admin] | make apikeys | make apikey-revoke ID=abc123defg  [STAGE=prod]
apikey: venv
	DDB_PORT=$(DDB_PORT) API_PORT=$(API_PORT) $(CLI) keys create --name "$(NAME)" $(if $(SCOPE),--scope "$(SCOPE)") $(if $(STAGE),--stage "$(STAGE)")
apikeys: venv
	DDB_PORT=$(DDB_PORT) API_PORT=$(API_PORT) $(CLI) keys list $(if $(STAGE),--stage "$(STAGE)")
apikey-revoke: venv
	DDB_PORT=$(DDB_PORT) API_PORT=$(API_PORT) $(CLI) keys revoke "$(ID)" $(if $(STAGE),--stage "$(STAGE)")

# Dashboard users: make user EMAIL=owner@example.com ROLE=admin (asks for a password, or makes one up) | make users  [STAGE=prod]
user: venv
	DDB_PORT=$(DDB_PORT) API_PORT=$(API_PORT) $(CLI) users create --email "$(EMAIL)" --role "$(or $(ROLE),viewer)" $(if $(STAGE),--stage "$(STAGE)")
users: venv
	DDB_PORT=$(DDB_PORT) API_PORT=$(API_PORT) $(CLI) users list $(if $(STAGE),--stage "$(STAGE)")

# After changing REPORT_TIMEZONE: count every call again in the new days (safe while calls come in) [STAGE=prod]
rebuild-reports: venv
	$(PY) scripts/reports.py rebuild $(if $(STAGE),--stage "$(STAGE)")

# The pool-sizing simulator's standard scenarios (a few minutes): JSON in bench/results/, table in bench/README.md.
sizing: venv
	$(PY) -m bench.sizing

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache
