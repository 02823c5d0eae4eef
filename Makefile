# Everyday commands. Each target first makes sure uv and the project environment exist.

export DAGSTER_HOME := $(CURDIR)/.dagster_home
UV := $(shell command -v uv 2>/dev/null || echo python3 -m uv)
RUN := $(UV) run --frozen

.PHONY: demo test browser postgres dev ingest warehouse bench lint venv dagster-home

# demo: generate the demo deliveries into data/landing/ and materialise every asset:
# the reference data, every ingest partition (schools first, the municipality last), then
# the warehouse (a full build, as a fresh demo has no earlier one), then the publication
# and both dashboards (data/reports/dashboard.html and dashboard_internal.html)
demo: dagster-home
	$(RUN) pmp generate --replace
	$(RUN) dg launch --job reference_job
	$(MAKE) --no-print-directory ingest PARTITION=$(ALL_PARTITIONS)
	$(MAKE) --no-print-directory warehouse FULL=1
	$(RUN) dg launch --job publication_job

# test: run the test suite in one process per core (pytest-xdist; the browser tests need
# chromium, the production instance tests a PostgreSQL server of their own), each module whole
# on one worker, the modules marked slow first (tests/conftest.py)
test: dagster-home browser postgres
	$(RUN) pytest -q -n auto --dist loadscope --no-loadscope-reorder

# browser: install Debian's chromium for the browser tests when it is missing (with sudo
# unless root); Playwright drives it, no browser is ever downloaded
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
browser:
	command -v chromium >/dev/null || ($(SUDO) apt-get update && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium)

# postgres: install Debian's PostgreSQL server for the production instance tests when its
# initdb is missing (with sudo unless root). Debian keeps the server programs off PATH, in
# /usr/lib/postgresql/<version>/bin; the tests find them there and start a server of their own.
postgres:
	command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
		($(SUDO) apt-get update && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql)

# dev: start the Dagster UI on http://127.0.0.1:3000
dev: dagster-home
	$(RUN) dg dev --host 127.0.0.1 --port 3000

# ingest: re-ingest by hand into the project's instance: every partition (schools in parallel
# processes, the municipality last), or PARTITION=OCP for one, PARTITION="OCP...TIS" for a range
ALL_PARTITIONS := OVG..._municipality
PARTITION ?= $(ALL_PARTITIONS)
ingest: dagster-home
	$(RUN) dg launch --job ingest_job \
		$(if $(findstring ...,$(PARTITION)),--partition-range,--partition) "$(PARTITION)"

# warehouse: build the warehouse into the project's instance: incrementally; FULL=1 rebuilds
# everything, FROM=2025/26-S1 the incremental tables from that semester on
warehouse: dagster-home
	$(RUN) dg launch --job warehouse_job $(if $(FULL),--config-json \
		'{"ops": {"warehouse_build": {"config": {"full_refresh": true}}}}',$(if $(FROM),--config-json \
		'{"ops": {"warehouse_build": {"config": {"rebuild_from": "$(FROM)"}}}}'))

# bench: measure the stages at scale 1 (and at scale 30 with BENCH_SCALES="1 30"), from
# generation through publication, and the nightly incremental run (at scale 1 only), into
# bench/results.md; with BENCH_STAGES="publish dashboard incremental" only those, keeping the
# other results (stages: cli_help generate duckdb ingest_csv ingest warehouse engine publish
# dashboard dashboard_internal incremental)
BENCH_SCALES ?= 1
BENCH_STAGES ?=
bench: venv
	$(RUN) python -m bench.bench --scales $(BENCH_SCALES) $(if $(BENCH_STAGES),--stages $(BENCH_STAGES))

# lint: check code style without changing anything
lint: venv
	$(RUN) ruff check .
	$(RUN) ruff format --check .

# Install uv if missing and create .venv from uv.lock with the system Python, its packages
# compiled to bytecode at install: where PYTHONDONTWRITEBYTECODE is set (this machine, CI) no
# process could cache it, and each one compiled Dagster, Great Expectations and Plotly again
# (6.5 of publication's seconds, 2.7 of the dashboard's, in a night's profile).
# A .venv made in another folder (the checkout moved or copied) is made again: its scripts (dg,
# dagster, pytest) start the Python of the folder it was made in by absolute path, so a copy
# would run them in the original's environment and a move would break them.
# (uv names it on the first line, or on the second after #!/bin/sh when the path is long.)
VENV_PYTHON := $(CURDIR)/.venv/bin/python
venv:
	command -v uv >/dev/null || python3 -m pip install uv
	@if [ -d .venv ] && ! head -n 2 .venv/bin/dg 2>/dev/null | \
		grep -qF -e "#!$(VENV_PYTHON)" -e "'$(VENV_PYTHON)'"; then \
		echo ".venv was made in another folder (the checkout moved or was copied): making it again"; \
		rm -rf .venv; \
	fi
	$(UV) sync --frozen --compile-bytecode --python-preference only-system

# The Dagster instance: dagster.yaml copied into DAGSTER_HOME, and the single-writer pool.
dagster-home: $(DAGSTER_HOME)/dagster.yaml

$(DAGSTER_HOME)/dagster.yaml: dagster.yaml | venv
	mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml $@
	$(RUN) dagster instance concurrency set duckdb 1
