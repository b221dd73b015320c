# The two set-up commands of README.md: `make run` and `make test`.
# Both create .venv and install chatrec with its dev extras on a fresh machine.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA_DIR ?= var

# The store's tests run on SQLite and on this PostgreSQL; they fail if it is unreachable.
export CHATREC_TEST_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

# The vCon project's own library, which QA platforms read vCon files with. Its 0.3 line
# pins pytest below 9 as a runtime dependency, so it lives in a virtualenv of its own and
# the test that reads delivered files with it runs it there (tests/vcon_library.py).
VCON_VENV := .venv-vcon
VCON_STAMP := $(VCON_VENV)/.installed
export CHATREC_VCON_PYTHON ?= $(abspath $(VCON_VENV))/bin/python

.PHONY: run test unit lint typecheck pytest browsers sshd redis nginx vcon screenshots bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(VCON_STAMP):
	$(PYTHON) -m venv $(VCON_VENV)
	$(VCON_VENV)/bin/python -m pip install --quiet 'vcon==0.3.10'
	touch $(VCON_STAMP)

vcon: $(VCON_STAMP)

run: $(STAMP)
	$(BIN)/chatrec demo --data-dir $(DATA_DIR)

# Debian's Chromium for the Playwright tests; Playwright's own browser download is never used.
browsers:
	@test -x /usr/bin/chromium || { \
		if [ "$$(id -u)" -eq 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
		else sudo apt-get update -qq && sudo apt-get install -y -qq chromium; fi; }

# OpenSSH's sshd: the real SFTP peer of the delivery tests and the demo platform.
sshd:
	@command -v /usr/sbin/sshd >/dev/null || { \
		if [ "$$(id -u)" -eq 0 ]; then apt-get update -qq && \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server; \
		else sudo apt-get update -qq && \
			sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server; fi; }
	@mkdir -p /run/sshd 2>/dev/null || sudo mkdir -p /run/sshd

# Debian's redis-server: the tests that stop and restart Redis start one of their own.
redis:
	@command -v /usr/bin/redis-server >/dev/null || { \
		if [ "$$(id -u)" -eq 0 ]; then apt-get update -qq && \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server; \
		else sudo apt-get update -qq && \
			sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server; fi; }

# Debian's nginx: the load balancer in front of the several-nodes tests (R20), each test
# running its own with its own configuration on a free port (tests/balancer.py). nginx
# rather than HAProxy: the `nginx` package alone is the binary with its proxy and
# upstream modules built in (nginx-light only adds the echo module to it), it runs from
# a folder of the test's own with `-p` and `-e`, and its passive health checks
# (max_fails/fail_timeout) skip a killed node, which is what the tests need. Installing
# it must not leave a system service behind: where the package's scripts started one
# (systemd), it is stopped and disabled at once.
nginx:
	@command -v /usr/sbin/nginx >/dev/null || { \
		if [ "$$(id -u)" -eq 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx && \
		if [ -d /run/systemd/system ]; then $$SUDO systemctl disable --now nginx; fi; }

lint: $(STAMP)
	$(BIN)/ruff format --check src tests scripts bench
	$(BIN)/ruff check src tests scripts bench

typecheck: $(STAMP)
	$(BIN)/mypy

# --durations: the slowest tests, to keep `make test` within its 15 minutes. Test files
# run in parallel, one worker per core (at most four), each file whole on one worker so
# that a file's shared server and browser start once. (`--dist=loadgroup` would hand out
# the other tests one by one, but pytest 9.2 ignores the group xdist writes into nodeids.)
# Files go out in the order tests/conftest.py gives them: those marked `long` first.
PYTEST_PARALLEL := --numprocesses=auto --maxprocesses=4 --dist=loadfile --no-loadscope-reorder

#
# The pure core (chatrec.domain, chatrec.flows) must be covered branch for branch by its
# own unit tests, without a server or a database: coverage is measured on tests/unit
# alone, which takes seconds, and the integration and browser tests run without its
# tracer, which slowed their in-process work by about half.
pytest: $(STAMP) $(VCON_STAMP)
	$(BIN)/pytest tests/unit --cov=chatrec.domain --cov=chatrec.flows --cov-branch \
		--cov-report=term --cov-fail-under=100 $(PYTEST_PARALLEL)
	$(BIN)/pytest tests --ignore=tests/unit --durations=15 $(PYTEST_PARALLEL)

# The unit tests alone, in about a minute: no PostgreSQL, no sshd, no Chromium, no
# server process; what `make test` adds is in tests/integration and tests/e2e.
unit: $(STAMP)
	$(BIN)/pytest tests/unit $(PYTEST_PARALLEL)

test: lint typecheck browsers sshd redis nginx pytest

BENCH_STAMP := $(VENV)/.bench-installed

$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $(BENCH_STAMP)

# The benchmarks of docs/performance.md (not part of `make test`): figures, never asserts.
bench: $(BENCH_STAMP) sshd
	$(BIN)/python -m bench.run

# Refresh the README's screenshots from the browser tests.
screenshots: $(STAMP) browsers
	CHATREC_SCREENSHOTS=docs/screenshots $(BIN)/pytest tests/e2e

clean:
	rm -rf $(VENV) $(VCON_VENV) .mypy_cache .pytest_cache .ruff_cache .coverage
