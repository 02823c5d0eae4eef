"""`pmp`, the operator's command line, as the operator sees it: its help imports no heavy
module; a known error is one line on stderr with the next step and exit status 1 (the
traceback only with --debug); semester ids are read in the forms people type; a backfill of a
semester no delivery covers changes nothing; a completeness hold is overridden only with a
reason, into the audit log once a release is published without the schools (not when the
publication fails or finds nothing new); and a run without a terminal writes its progress as
lines.

Each command runs in its own process, as the operator runs it, with its data folder and
Dagster home under the test's temporary folder."""

import hashlib
import importlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from pipelines.feedback import OperatorError
from pipelines.ingest.partition import stage_partitions
from pipelines.ingest.staging import staging_file, write_table
from pipelines.paths import PROJECT_ROOT
from pipelines.privacy.pseudonym import KEY_VARIABLE, PseudonymKey
from pipelines.publication.gate import GateResult
from pipelines.publication.override import HoldOverride
from pipelines.publication.publish import (
    REUSE_FILE,
    GateFailed,
    Publication,
    PublicationHeld,
    prepare,
    publish,
)
from pipelines.reference import tables as reference
from pipelines.reference.calendar import normal_semester_id, school_calendar

pytestmark = pytest.mark.slow(40)

HEAVY = (
    "dagster", "great_expectations", "pandera", "pandas", "scipy", "plotly", "polars", "duckdb",
)  # fmt: skip
COMMANDS = ["generate", "publish", "backfill", "release", "train-score", "rotate-key", "purge"]
PROGRESS_LINE = re.compile(r"^\[\s*\d+\.\d s\] (.*)$")
FIXTURES = Path(__file__).parents[1] / "fixtures" / "tolerated"
KEY = "the-key-in-use"
publish_module = importlib.import_module("pipelines.publication.publish")
REASON = "four schools closed for the flu week; agreed with the head of education"


def pmp(
    *arguments: str, env: dict[str, str], key: str | None = None
) -> subprocess.CompletedProcess:
    """`pmp ARGUMENTS` in its own process, without a terminal."""
    environment = {k: v for k, v in os.environ.items() if k != KEY_VARIABLE} | env
    if key is not None:
        environment[KEY_VARIABLE] = key
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *arguments],
        cwd=PROJECT_ROOT, env=environment, capture_output=True, text=True, check=False,
    )  # fmt: skip


def error_line(run: subprocess.CompletedProcess) -> str:
    """The one line a known error prints: exit status 1, no traceback, and nothing else on
    stderr but progress lines."""
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr
    *before, last = run.stderr.splitlines()
    assert all(PROGRESS_LINE.match(line) for line in before), run.stderr
    return last


def tree_hashes(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    """An empty data folder and Dagster home."""
    return {"PMP_DATA_DIR": str(tmp_path / "data"), "DAGSTER_HOME": str(tmp_path / "home")}


@pytest.fixture
def ingested_school(tmp_path, env) -> Path:
    """One school's register (2025/26 semester 1) delivered and ingested with KEY."""
    data = Path(env["PMP_DATA_DIR"])
    (data / "landing" / "TIS").mkdir(parents=True)
    shutil.copy(FIXTURES / "skoleni_20250901-20251219.csv", data / "landing" / "TIS")
    stage_partitions(
        ["TIS"], data / "landing", data / "archive", data / "staging",
        PseudonymKey(KEY.encode(), "the test"), workers=1,
    )  # fmt: skip
    return data


# -- help: no heavy import --------------------------------------------------------------

LOADED = (
    "import sys\nfrom pipelines.cli import main\ntry:\n    main(sys.argv[1:])\n"
    "except SystemExit:\n    pass\n"
    f"print('LOADED', [m for m in {HEAVY!r} if m in sys.modules])"
)


def test_the_help_lists_every_subcommand_tested(env):
    run = pmp("--help", env=env)
    assert run.returncode == 0
    choices = re.search(r"\{([a-z,-]+)\}", run.stdout)
    assert choices is not None and choices[1].split(",") == COMMANDS


@pytest.mark.parametrize("command", [[], *([c] for c in COMMANDS)], ids=["pmp", *COMMANDS])
def test_help_imports_no_heavy_module(command):
    run = subprocess.run(
        [sys.executable, "-c", LOADED, *command, "--help"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert run.stdout.startswith(f"usage: pmp {' '.join(command)}".rstrip())
    assert run.stdout.splitlines()[-1] == "LOADED []"


# -- known errors: one line -------------------------------------------------------------


def test_known_errors_are_one_line_with_the_next_step(tmp_path, env):
    data, home = Path(env["PMP_DATA_DIR"]), Path(env["DAGSTER_HOME"])
    semesters = ", ".join(s.semester_id for s in school_calendar().semesters)
    (data / "landing").mkdir(parents=True)
    (data / "landing" / "note.txt").write_text("not a delivery", encoding="utf-8")
    cases = [
        (
            ["publish"], None,
            f"pmp publish: no warehouse at {data / 'warehouse.duckdb'}: build it first (make "
            "demo, or launch warehouse_job)",
        ),
        (
            ["publish", "--override-hold"], None,
            'pmp publish: an override needs --reason "...": who decided to publish without '
            "the missing schools, and why; it goes into the audit log",
        ),
        (
            ["publish", "--override-hold", "--reason", "  "], None,
            'pmp publish: an override needs --reason "...": who decided to publish without '
            "the missing schools, and why; it goes into the audit log",
        ),
        (
            ["publish", "--reason", "why"], None,
            'pmp publish: --reason goes with --override-hold: pmp publish --override-hold '
            '--reason "..."',
        ),
        (
            ["backfill", "--semester", "2025-S1"], None,
            "pmp backfill: '2025-S1' is not a semester id: give it as 2025/26-S1 (the school "
            "year, then S1 or S2)",
        ),
        (
            ["backfill", "--semester", "2031/32 s1"], None,
            "pmp backfill: unknown semester 2031/32-S1: the school calendar "
            f"(data/reference/calendar.toml) has {semesters}",
        ),
        (
            ["backfill", "--semester", "2025/26-S1"], None,
            f"pmp backfill: no pseudonym key: {KEY_VARIABLE} is not set and there is no demo "
            f"key in {home / 'pseudonym-demo.key'}. Set {KEY_VARIABLE} to the key the data was "
            "pseudonymised with (only `pmp generate` and `make demo` create a demo key, for "
            "demo data)",
        ),
        (
            ["backfill", "--semester", "2025/26-S1"], KEY,
            f"pmp backfill: no delivery log under {data / 'staging'}: nothing was ever "
            "ingested, so there is nothing to backfill; run the ingest first (make demo, or "
            "the Dagster ingest_job)",
        ),
        (
            ["release", "deadbeef", "--reason", "checked"], None,
            f"pmp release: no delivery deadbeef in the delivery log under {data / 'staging'}: "
            "copy the SHA-256 of the held delivery from the log (docs/operations.md, 'A held "
            "delivery')",
        ),
        (
            ["generate", "--scale", "0.02"], None,
            f"pmp generate: {data / 'landing'} is not empty: pass --replace to empty it first "
            "(replace=True)",
        ),
        (
            ["train-score", "--until", "2026-02-28", "--version", "x", "--source", "y"], None,
            f"pmp train-score: no warehouse at {data / 'warehouse.duckdb'}: run the ingest and "
            "the build first",
        ),
        (
            ["rotate-key", "--new-key-file", str(tmp_path / "new.key")], None,
            f"pmp rotate-key: no key in use: {KEY_VARIABLE} is not set and there is no demo key "
            f"in {home / 'pseudonym-demo.key'}; set {KEY_VARIABLE} to the key the data was "
            "pseudonymised with",
        ),
    ]  # fmt: skip
    for arguments, key, expected in cases:
        assert error_line(pmp(*arguments, env=env, key=key)) == expected, arguments


def test_the_traceback_shows_only_with_debug(env):
    run = pmp("--debug", "backfill", "--semester", "S1", env=env)
    assert run.returncode == 1
    assert "Traceback (most recent call last)" in run.stderr
    assert run.stderr.splitlines()[-1] == (
        "pipelines.feedback.OperatorError: 'S1' is not a semester id: give it as 2025/26-S1 "
        "(the school year, then S1 or S2)"
    )


def test_a_wrong_key_is_one_line(ingested_school, env):
    run = pmp("backfill", "--semester", "2025/26-S1", env=env, key="a-wrong-key")
    staging = ingested_school / "staging"
    assert error_line(run) == (
        f"pmp backfill: the pseudonym key from the environment variable {KEY_VARIABLE} is not "
        f"the key {staging} was written with (its fingerprint is in "
        f"{staging / 'pseudonym_key.fingerprint'}): ingest stopped before writing anything, as "
        "every pupil would get a new key. Set the key in use; to change keys, run `pmp "
        "rotate-key` (docs/operations.md)"
    )


# -- semester ids -----------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_semester_ids_are_read_in_the_forms_people_type(seed):
    rng = random.Random(seed)
    for _ in range(200):
        year, number = rng.randrange(2000, 2100), rng.choice((1, 2))
        normal = f"{year}/{(year + 1) % 100:02d}-S{number}"
        space = lambda: rng.choice(("", " ", "  "))  # noqa: E731
        typed = (
            f"{space()}{year}{space()}/{space()}{(year + 1) % 100:02d}"
            f"{rng.choice(('-', ' ', '_', ''))}{rng.choice('sS')}{number}{space()}"
        )
        assert normal_semester_id(typed) == normal, typed
    for wrong in ("2025/26", "2025-26-S1", "25/26-S1", "2025/26-S3", "2025/26-S1x", "S1", ""):
        with pytest.raises(OperatorError, match=r"is not a semester id: give it as 2025/26-S1"):
            normal_semester_id(wrong)


# -- backfill ---------------------------------------------------------------------------


def test_a_backfill_of_a_semester_without_deliveries_refuses_and_changes_nothing(
    ingested_school, env, tmp_path
):
    before = tree_hashes(tmp_path)
    semester = school_calendar().semester("2026/27-S2")
    run = pmp("backfill", "--semester", " 2026/27-s2 ", env=env, key=KEY)
    assert error_line(run) == (
        f"pmp backfill: no delivery covers 2026/27-S2 ({semester.start:%d.%m.%Y}–"
        f"{semester.last_day:%d.%m.%Y}): nothing to backfill, nothing changed; check the "
        "semester, or wait for its deliveries"
    )
    assert run.stderr.count("\n") == 1  # refused before any stage began
    assert tree_hashes(tmp_path) == before


# -- progress ---------------------------------------------------------------------------


def stages(stderr: str) -> list[str]:
    """The progress lines' text, without the elapsed time; every stderr line must be one."""
    found = [PROGRESS_LINE.match(line) for line in stderr.splitlines()]
    assert all(found), stderr
    return [match[1] for match in found]


def test_a_backfill_without_a_terminal_writes_its_stages_as_lines(ingested_school, env):
    """The register restored from the archive, every partition re-ingested, then the build,
    which stops: one school's register is not enough staging for the warehouse."""
    (ingested_school / "landing" / "TIS" / "skoleni_20250901-20251219.csv").unlink()
    run = pmp("backfill", "--semester", "2025/26 S1", env=env, key=KEY)
    partitions = [s.school_id for s in reference.schools()] + ["_municipality"]
    total = len(partitions)
    staging = ingested_school / "staging"
    assert error_line(run) == (
        "pmp backfill: no staging Parquet for absences, grades, group_activities, notes, "
        f"social_status, support, timetable_load under {staging}: run the ingest first"
    )
    shown = stages(run.stderr[: run.stderr.rindex("pmp backfill")])
    # Schools end in the order the processes finish them; the municipality always last.
    ingested = [line.rsplit(" ", 1)[1] for line in shown[2:-1]]
    assert sorted(ingested[:-1]) == sorted(partitions[:-1]) and ingested[-1] == partitions[-1]
    assert shown == [
        "restore 2025/26-S1's 1 deliveries from the archive",
        f"ingest partitions 0/{total}",
        *(f"ingest partitions {i}/{total} {p}" for i, p in enumerate(ingested, 1)),
        "rebuild the warehouse from 2025/26-S1",
    ]
    assert (ingested_school / "landing" / "TIS" / "skoleni_20250901-20251219.csv").exists()


def test_generate_without_a_terminal_writes_its_stages_as_lines(env, tmp_path):
    run = pmp(
        "generate", "--out", str(tmp_path / "landing"), "--scale", "0.02", "--end-date",
        "2025-10-10", "--defect-rate", "0", env=env,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    schools = [s.school_id for s in reference.schools()]
    total = len(schools) + 1
    assert stages(run.stderr) == [
        "simulate the pupils",
        f"write deliveries 0/{total}",
        *(f"write deliveries {i}/{total} {s}" for i, s in enumerate(schools, 1)),
        f"write deliveries {total}/{total} _municipality",
    ]
    assert run.stdout.startswith("created a demo pseudonym key")


# -- overriding a completeness hold -----------------------------------------------------


def night_log(staging: Path, missing: list[str]) -> None:
    """A delivery log in which every school but `missing` delivered on 20.11.2026."""
    delivered = datetime(2026, 11, 20, 21, 5, tzinfo=UTC)
    for school in reference.schools():
        if school.valid_on(date(2026, 11, 20)):
            received = delivered - timedelta(days=1 if school.school_id in missing else 0)
            log = pl.DataFrame({"school_id": [school.school_id], "received_at": [received],
                                "status": ["loaded"]})  # fmt: skip
            write_table(log, staging_file(staging, "delivery_log", school.school_id))


MISSING = ["OVG", "OCP", "OKP", "JOP"]


def test_a_held_publication_says_how_to_override_it_and_a_failed_override_records_nothing(env):
    data = Path(env["PMP_DATA_DIR"])
    night_log(data / "staging", MISSING)
    missing = ", ".join(s.school_id for s in reference.schools() if s.school_id in MISSING)
    assert error_line(pmp("publish", env=env)) == (
        "pmp publish: publication held: 25% of the schools missed the delivery (more than 20%); "
        f"night of 20.11.2026: 12 of 16 schools delivered; missing: {missing}. Wait for their "
        'files, or publish anyway: pmp publish --override-hold --reason "..."'
    )
    run = pmp("publish", "--override-hold", "--reason", REASON, env=env)
    # past the hold, the publication goes on to the warehouse (none here): nothing published
    assert error_line(run).startswith("pmp publish: no warehouse at")
    assert stages(run.stderr[: run.stderr.rindex("pmp publish")]) == [
        "check last night's deliveries",
        "read the warehouse",
    ]
    assert not (data / "audit" / "hold_overrides.jsonl").exists()


def test_an_override_is_recorded_once_a_release_is_published_without_the_schools(
    ingested, demo_warehouse, tmp_path, monkeypatch
):
    """The gate is a stand-in that passes or fails (no worker imports Great Expectations for
    it): what is recorded follows the release."""
    staging = tmp_path / "staging"
    shutil.copytree(ingested, staging)
    for school in MISSING:  # their deliveries of the last night (20.11.2026) did not come
        path = staging_file(staging, "delivery_log", school)
        log = pl.read_parquet(path)
        write_table(
            log.filter(pl.col("received_at") < datetime(2026, 11, 20, 10, tzinfo=UTC)), path
        )
    with pytest.raises(PublicationHeld):
        prepare(demo_warehouse, staging)
    audit = tmp_path / "audit.jsonl"
    monkeypatch.setattr(publish_module, "gate_may_run", lambda *_: False)

    def publish_held(
        gate_passes: bool,
        override: HoldOverride,
        staging: Path = staging,
        folder: Path = tmp_path / "held",
    ) -> Publication:
        failures = [] if gate_passes else ["expect_column_values_to_be_between(value)"]
        results = [GateResult("school_indicators", gate_passes, failures)]
        monkeypatch.setattr(publish_module, "gate", lambda *_: results)
        return publish(
            demo_warehouse, staging, folder / "publication", folder / "quality",
            folder / "exports", override,
        )  # fmt: skip

    failed = HoldOverride(REASON, audit)
    with pytest.raises(GateFailed):
        publish_held(False, failed)
    assert failed.entry is None and not audit.exists()
    # The blocks this protection decided, for the publication of the same facts unheld: reuse
    # publishes what a protection from scratch would (tests/publication/test_reuse_property.py).
    (tmp_path / "unheld" / "publication").mkdir(parents=True)
    shutil.copy(tmp_path / "held" / "publication" / REUSE_FILE, tmp_path / "unheld" / "publication")
    override = HoldOverride(REASON, audit)
    done = publish_held(True, override)
    assert done.new_release and done.revisions
    entry = override.entry
    assert entry is not None
    assert (entry["night"], entry["missing"], entry["release"]) == (
        "2026-11-20",
        MISSING,
        done.release.name,
    )
    assert (entry["expected"], entry["missing_share"]) == (16, 0.25)
    assert entry["reason"] == REASON
    assert entry["overridden_by"]
    assert abs(datetime.fromisoformat(entry["overridden_at"]) - datetime.now(UTC)) < timedelta(
        minutes=10
    )
    # Published again until the content equals the release in force: the protection, joint
    # with the revisions the first publication sent, may move a cell once (a new release,
    # recorded like the first); the publication that stores nothing records nothing.
    entries = [entry]
    for _ in range(3):
        again = HoldOverride(REASON, audit)
        done = publish_held(True, again)
        if not done.new_release:
            break
        assert again.entry is not None and again.entry["release"] == done.release.name
        entries.append(again.entry)
    assert not done.new_release
    assert again.hold is not None and again.entry is None
    assert [json.loads(line) for line in audit.read_text(encoding="utf-8").splitlines()] == entries
    unheld = HoldOverride(REASON, tmp_path / "unheld.jsonl")
    assert publish_held(True, unheld, ingested, tmp_path / "unheld").new_release
    assert unheld.entry is None and not (tmp_path / "unheld.jsonl").exists()
