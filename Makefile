# Everyday commands. Each target first makes sure uv and the project environment exist.

export DAGSTER_HOME := $(CURDIR)/.dagster_home
UV := $(shell command -v uv 2>/dev/null || echo python3 -m uv)
RUN := $(UV) run --frozen

.PHONY: demo test browser postgres dev bench lint venv dagster-home

# demo: generate the demo deliveries into data/landing/ and materialise every asset:
# the reference data, every ingest partition (schools first, the municipality last), then
# the warehouse (a full build, as a fresh demo has no earlier one), then the publication
# and the dashboard (data/reports/dashboard.html)
demo: dagster-home
	$(RUN) pmp generate --replace
	$(RUN) dg launch --job reference_job
	$(RUN) dg launch --job ingest_job --partition-range "OVG..._municipality"
	$(RUN) dg launch --job warehouse_job --config-json '{"ops": {"warehouse_build": {"config": {"full_refresh": true}}}}'
	$(RUN) dg launch --job publication_job

# test: run the test suite in one process per core (pytest-xdist; the browser tests need
# chromium, the production instance tests a PostgreSQL server of their own)
test: dagster-home browser postgres
	$(RUN) pytest -q -n auto --dist loadscope

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

# bench: measure the stages at scale 1 (and at scale 30 with BENCH_SCALES="1 30"), from
# generation through publication, and the nightly incremental run (at scale 1 only), into
# bench/results.md; with BENCH_STAGES="publish dashboard incremental" only those, keeping the
# other results (stages: cli_help generate duckdb ingest_csv ingest warehouse engine publish
# dashboard incremental)
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
venv:
	command -v uv >/dev/null || python3 -m pip install uv
	$(UV) sync --frozen --compile-bytecode --python-preference only-system

# The Dagster instance: dagster.yaml copied into DAGSTER_HOME, and the single-writer pool.
dagster-home: $(DAGSTER_HOME)/dagster.yaml

$(DAGSTER_HOME)/dagster.yaml: dagster.yaml | venv
	mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml $@
	$(RUN) dagster instance concurrency set duckdb 1
