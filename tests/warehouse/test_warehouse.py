"""The warehouse on the demo: a build with nothing new changes nothing, the checks pass, the
models' dependencies come from their SQL, and nothing known after an as-of date reaches it.
That nightly incremental builds, a correction of an old semester among them, equal a full one
is tested with the whole night in tests/operations/test_incremental_equals_full.py."""

import shutil
from dataclasses import replace
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest
from warehouse_scenario import Scenario, checksums

from pipelines.defs.warehouse import (
    model_key,
    warehouse_analysis,
    warehouse_build,
    warehouse_checks,
)
from pipelines.ingest.staging import staging_file, write_table
from pipelines.reference.rules import rules as rule_set
from pipelines.warehouse import models as models_module
from pipelines.warehouse.build import (
    Scope,
    build,
    connect_read_only,
    first_touched_semester,
    kept_parses,
    memory_limit,
    run_check,
)
from pipelines.warehouse.models import ModelError, discover_checks, discover_models

pytestmark = pytest.mark.slow(35)


@pytest.fixture(scope="module")
def full(demo_warehouse) -> Path:
    return demo_warehouse


def test_a_build_with_nothing_new_changes_nothing(ingested, full, tmp_path):
    database = tmp_path / "warehouse.duckdb"
    shutil.copy(full, database)
    runs = build(database, ingested)
    assert {r.rebuilt_from for r in runs if r.materialized == "incremental"} == {None}
    assert checksums(database, ingested) == checksums(full, ingested)
    con = connect_read_only(database, ingested)
    assert con.sql("SELECT count(*) FROM programme.flag_changes").fetchall() == [(0,)]


def test_every_error_check_passes_on_the_demo(ingested, full):
    con = connect_read_only(full, ingested)
    outcomes = [run_check(con, check) for check in discover_checks()]
    failed = {
        o.check.name: o.sample for o in outcomes if o.check.severity == "error" and not o.passed
    }
    assert not failed
    assert len(outcomes) >= 10


def test_the_demo_programme_views_hold_what_the_programme_reports(ingested, full):
    con = connect_read_only(full, ingested)
    supported = con.sql(
        "SELECT sum(pupils_supported) FROM programme.project_monitoring "
        "WHERE semester_id = '2025/26-S1' AND unit = 'pupil'"
    ).fetchall()[0][0]
    assert 144 <= supported <= 216  # about 180 pupils in the project's first semester
    levels = dict(
        con.sql(
            "SELECT risk_level, count(*) FROM indicators.pupil_risk "
            "WHERE kind = 'semester' AND semester_id = '2025/26-S1' GROUP BY ALL"
        ).fetchall()
    )
    assert set(levels) == {"none", "low", "medium", "high"}
    assert levels["none"] > levels["low"] > levels["medium"] > levels["high"] > 0
    backtest = con.sql("SELECT predictor, flagged, precision_rate FROM indicators.backtest").pl()
    assert backtest.height == len(rule_set()["rule"]) + 4  # every rule, 2 levels, 2 baselines
    mk89 = con.sql(
        "SELECT count(*) FROM programme.mk89_list WHERE semester_id = '2025/26-S1'"
    ).fetchall()[0][0]
    assert mk89 > 0


def test_dependencies_come_from_the_sql(tmp_path):
    models = tmp_path / "models"
    shutil.copytree(Path(__file__).parents[2] / "models", models)
    (models / "programme" / "absences_per_school.sql").write_text(
        "-- Absences per school.\n"
        "SELECT school_id, count(*) AS lessons FROM core.lesson_absences GROUP BY ALL\n",
        encoding="utf-8",
    )
    found = {m.relation: m for m in discover_models(models)}
    added = found["programme.absences_per_school"]
    assert added.depends_on == ("core.lesson_absences",)
    order = [m.relation for m in discover_models(models)]
    assert order.index("core.lesson_absences") < order.index("programme.absences_per_school")
    assert found["staging.absences"].staged == ("absences",)
    # its CTE `absences` reads `staging.absences`: the CTE's name hides no relation
    assert "staging.absences" in found["core.lesson_absences"].depends_on

    (models / "programme" / "broken.sql").write_text("SELECT * FROM core.nowhere\n")
    with pytest.raises(ModelError, match=r"broken\.sql reads core\.nowhere"):
        discover_models(models)


def test_a_planted_future_fact_changes_nothing_known_on_the_as_of_date(tmp_path):
    """The evaluation's leak test: facts dated after a month-end as-of date, and facts dated
    before it but received after it (absences, daily marks, an illness note handed in on time
    but delivered late), change no measure, rule, level or score of that date, and no
    pupil-date of the evaluation but its outcome."""
    as_of = date(2025, 10, 31)
    late, feb = date(2025, 11, 12), date(2026, 2, 15)

    def scenario(with_future: bool) -> Scenario:
        s = Scenario(cutoff=date(2026, 10, 30))
        for key in ("P", "Q"):
            s.pupil(key, "OCP", 8)
            s.pupil(key, "OCP", 8, period=(date(2026, 1, 5), date(2026, 6, 19)))
            s.pupil(key, "OCP", 9, period=(date(2026, 9, 1), date(2026, 10, 30)))
            s.absent(key, "OCP", 8, [date(2025, 10, 6), date(2025, 10, 7)], lessons=2)
        if with_future:
            s.absent("P", "OCP", 8, [date(2025, 11, d) for d in (3, 4, 5, 6, 7)], lessons=6)
            s.absent("P", "OCP", 8, [date(2025, 10, d) for d in (13, 14, 15)], 7, received=late)
            for day in (date(2025, 10, 8), date(2025, 10, 9)):
                s.graded("P", "OCP", 8, "Matemātika", day, "ikdienas", "2", received=late)
            s.note("Q", "OCP", date(2025, 10, 6), date(2025, 10, 7), date(2025, 10, 8), "slimība",
                   received=late)  # fmt: skip
            s.social_status("P", "trūcīga ģimene", date(2025, 11, 15), None)
            for day in (date(2025, 12, 1), date(2025, 12, 2)):  # last semester's, sent late
                s.graded("P", "OCP", 8, "Matemātika", day, "ikdienas", "6", received=feb)
            s.graded("P", "OCP", 8, "Matemātika", date(2025, 12, 19), "semestra vērtējums", "2")
            s.pupil("Q", "OCP", 8, period=(date(2026, 1, 5), date(2026, 6, 19)),
                    left=date(2026, 2, 2), leave_reason="pārtrauca mācības")  # fmt: skip
        return s

    def known_at_as_of(root: Path, with_future: bool) -> dict[str, pl.DataFrame]:
        con = scenario(with_future).build(root)
        known = {
            relation: con.sql(
                f"FROM {relation} WHERE as_of = ? AND kind = 'month' ORDER BY ALL",
                params=[as_of],
            ).pl()
            for relation in (
                "indicators.pupil_measures",
                "indicators.pupil_indicators",
                "indicators.pupil_risk",
                "indicators.pupil_score",
            )
        }
        known["evaluated"] = con.sql(
            "SELECT * EXCLUDE (happened) FROM indicators.evaluation_pupils WHERE as_of = ? "
            "ORDER BY ALL",
            params=[as_of],
        ).pl()
        return known

    before = known_at_as_of(tmp_path / "without", with_future=False)
    after = known_at_as_of(tmp_path / "with", with_future=True)
    assert before["indicators.pupil_indicators"].height == 2 * len(rule_set()["rule"])
    assert sorted(before["evaluated"]["pupil_key"].unique()) == ["P", "Q"]
    for relation, frame in before.items():
        assert frame.equals(after[relation]), relation
    # The future facts are there and count for the semester: they were read, just not early.
    con = connect_read_only(tmp_path / "with" / "warehouse.duckdb", tmp_path / "with" / "staging")
    later = con.sql(
        "SELECT rule_id FROM indicators.pupil_indicators WHERE pupil_key = 'P' "
        "AND kind = 'semester' AND semester_id = '2025/26-S1' AND fired ORDER BY rule_id"
    ).fetchall()
    assert ("MK89_UNJUSTIFIED",) in later and ("SOCIAL_STATUS",) in later
    known_later = con.sql(
        "SELECT pupil_key, unjustified_lessons, non_illness_lessons, failing_subjects "
        "FROM indicators.pupil_measures WHERE kind = 'month' AND as_of = '2025-11-28' "
        "ORDER BY pupil_key"
    ).fetchall()
    assert known_later == [("P", 2 * 2 + 3 * 7 + 5 * 6, 2 * 2 + 3 * 7 + 5 * 6, 1), ("Q", 0, 0, 0)]
    previous = con.sql(
        "SELECT as_of, previous_marks FROM indicators.pupil_measures WHERE pupil_key = 'P' "
        "AND kind = 'month' AND semester_id = '2025/26-S2' ORDER BY as_of LIMIT 2"
    ).fetchall()
    assert previous == [(date(2026, 1, 30), 2), (date(2026, 2, 27), 4)]  # 2 sent in February
    unknown_note = before["indicators.pupil_measures"].filter(pl.col("pupil_key") == "Q")
    assert unknown_note.select("unjustified_lessons", "non_illness_lessons").row(0) == (4, 4)
    outcome = con.sql("SELECT pupil_key, outcome, occurred_on FROM indicators.outcomes").fetchall()
    assert outcome == [("Q", "left_without_completing", date(2026, 2, 2))]
    happened = con.sql(
        "SELECT pupil_key FROM indicators.evaluation_pupils WHERE as_of = ? AND happened "
        "AND outcome = 'left_without_completing' AND horizon = 'year'",
        params=[as_of],
    ).fetchall()
    assert happened == [("Q",)]


def test_the_dagster_build_reports_each_model_and_runs_the_checks(small_landing, monkeypatch):
    """On one school and the municipality: what the assets report does not depend on how many
    schools there are, and the full build of the demo is `demo_warehouse`'s."""
    _, _, staging = small_landing
    monkeypatch.setenv("PMP_DATA_DIR", str(staging.parent))
    result = dg.materialize([warehouse_build, warehouse_analysis, warehouse_checks])
    assert result.success
    materialized = {e.asset_key for e in result.get_asset_materialization_events() if e.asset_key}
    assert materialized == {model_key(m.relation) for m in discover_models()}
    nightly = {e.asset_key for e in result.asset_materializations_for_node("warehouse_build")}
    assert nightly == {model_key(m.relation) for m in discover_models() if not m.analysis}
    backtest = result.asset_materializations_for_node("warehouse_analysis")
    by_key = {m.asset_key: m.metadata for m in backtest}
    backtest_rows = len(rule_set()["rule"]) + 4
    assert by_key[model_key("indicators.backtest")]["dagster/row_count"].value == backtest_rows
    evaluations = result.get_asset_check_evaluations()
    assert len(evaluations) == len(discover_checks())
    assert all(e.passed for e in evaluations if e.severity == dg.AssetCheckSeverity.ERROR)


def test_a_model_removed_or_turned_into_a_view_changes_the_warehouse(tmp_path):
    s = Scenario(cutoff=date(2025, 12, 19))
    s.pupil("P", "OCP", 5)
    con = s.build(tmp_path)
    con.close()
    models = [m for m in discover_models() if m.relation != "programme.mk89_list"]
    views = {"core.pupils"}
    models = [replace(m, view=m.relation in views or m.view) for m in models]
    build(tmp_path / "warehouse.duckdb", tmp_path / "staging", models=models)
    con = connect_read_only(tmp_path / "warehouse.duckdb", tmp_path / "staging")
    kinds = dict(
        con.sql(
            "SELECT table_schema || '.' || table_name, table_type FROM information_schema.tables"
        ).fetchall()
    )
    assert "programme.mk89_list" not in kinds
    assert kinds["core.pupils"] == "VIEW"
    assert con.sql("SELECT pupil_key FROM core.pupils").fetchall() == [("P",)]


def test_the_first_night_of_a_semester_completes_the_last_one_as_a_full_build_does(tmp_path):
    """The last delivery of 2025/26-S1 covers 18.12, a day before its end, so its point is
    18.12 and not complete; the first night of 2025/26-S2 delivers 05.01 only, which moves that
    point to 19.12, complete: the nightly build must rebuild S1's measures though no delivery
    of the night touches S1, and hold what a full build of the same staging holds."""
    s = Scenario(cutoff=date(2025, 12, 18))
    s.pupil("P", "OCP", 5)
    s.pupil("P", "OCP", 5, period=(date(2026, 1, 5), date(2026, 6, 19)))
    s.absent("P", "OCP", 5, [date(2025, 12, d) for d in (15, 16, 17, 18)], lessons=3)
    s.build(tmp_path / "night").close()
    staging, database = tmp_path / "night" / "staging", tmp_path / "night" / "warehouse.duckdb"
    first_night = (
        s.delivery_log()
        .head(1)
        .with_columns(
            sha256=pl.lit("S2-first-night".ljust(64, "0")),
            period_start=pl.lit(date(2026, 1, 5)),
            period_end=pl.lit(date(2026, 1, 5)),
        )
    )
    write_table(first_night, staging_file(staging, "delivery_log", "NIGHT"))
    runs = build(database, staging, scope=Scope.NIGHTLY)
    full_database = tmp_path / "full" / "warehouse.duckdb"
    build(full_database, staging)
    nightly, full = checksums(database, staging), checksums(full_database, staging)
    assert {t for t in full if nightly.get(t) != full[t]} == set()
    assert {r.rebuilt_from for r in runs if r.materialized == "incremental"} >= {"2025/26-S1"}
    con = connect_read_only(database, staging)
    assert con.sql(
        "SELECT as_of, complete FROM indicators.as_of_dates "
        "WHERE semester_id = '2025/26-S1' AND kind = 'semester'"
    ).fetchall() == [(date(2025, 12, 19), True)]
    assert con.sql(
        "SELECT DISTINCT as_of FROM indicators.pupil_measures "
        "WHERE semester_id = '2025/26-S1' AND kind = 'semester'"
    ).fetchall() == [(date(2025, 12, 19),)]


def _write_nights(s: Scenario, staging: Path) -> None:
    """Staging as nightly files leave it: the scenario's rows, each delivery received after
    the first day covering the day it was received alone."""
    s.write(staging)
    received = pl.col("received_at").dt.date()
    log = s.delivery_log().with_columns(
        pl.when(received > s.received).then(received).otherwise(pl.col(c)).alias(c)
        for c in ("period_start", "period_end")
    )
    write_table(log, staging_file(staging, "delivery_log", "TEST"))


SECOND_NIGHT = date(2026, 1, 6)


@pytest.mark.parametrize(
    ("delivered", "moved"),
    [
        pytest.param(
            lambda s: s.note("P", "OCP", date(2025, 12, 18), date(2025, 12, 18), SECOND_NIGHT,
                             "slimība", received=SECOND_NIGHT),
            "SELECT reason FROM core.lesson_absences WHERE date = '2025-12-18'",
            id="a note for an absence of the last semester",
        ),
        pytest.param(
            lambda s: s.pupil("P", "OCP", 5, period=(SECOND_NIGHT, SECOND_NIGHT),
                              left=date(2025, 12, 17), received=SECOND_NIGHT),
            "SELECT counted FROM core.lesson_absences WHERE date = '2025-12-18'",
            id="a register that says the pupil left in the last semester",
        ),
        pytest.param(
            lambda s: s.absent("P", "OCP", 5, [date(2025, 12, 19)], received=SECOND_NIGHT),
            "SELECT count(*) FROM core.lesson_absences WHERE date = '2025-12-19'",
            id="an absences file with a lesson of the last semester",
        ),
        pytest.param(
            lambda s: s.social_status("P", "trūcīga ģimene", date(2025, 12, 1), None,
                                      received=SECOND_NIGHT),
            "SELECT social_status_since FROM indicators.pupil_measures "
            "WHERE semester_id = '2025/26-S1' AND kind = 'semester'",
            id="a social status that began in the last semester",
        ),
    ],
)  # fmt: skip
def test_a_delivery_of_this_semester_about_the_last_one_rebuilds_it(tmp_path, delivered, moved):
    """On the second night of 2025/26-S2 (the first completed S1's points), a delivery covering
    06.01 that speaks of S1 (a note handed in on time for 18.12, the register naming a leaver
    of 17.12, an absence of 19.12 in a file of 06.01, a social status since 01.12) must rebuild
    S1 as a full build of the same staging does, though the delivery's period and the as-of
    dates touch S2 alone."""
    s, staging, database = _first_night_of_s2(tmp_path / "night")
    was = _fetch(database, staging, moved)
    delivered(s)
    _write_nights(s, staging)
    runs = build(database, staging, scope=Scope.NIGHTLY)
    _assert_as_a_full_build(database, staging, tmp_path / "full")
    assert _fetch(database, staging, moved) != was
    assert {r.rebuilt_from for r in runs if r.materialized == "incremental"} == {"2025/26-S1"}


def test_a_delivery_gone_rebuilds_the_last_semester_its_rows_spoke_of(tmp_path):
    """A file of 06.01 with an absence of 19.12, built on its night, then gone from the loaded
    deliveries (its rows with it): the build rebuilds S1 from the first day the build saw in
    its rows, though the file is no longer there to read."""
    s, staging, database = _first_night_of_s2(tmp_path / "night")
    s.absent("P", "OCP", 5, [date(2025, 12, 19)], received=SECOND_NIGHT)
    _write_nights(s, staging)
    build(database, staging, scope=Scope.NIGHTLY)
    lesson = "SELECT count(*) FROM core.lesson_absences WHERE date = '2025-12-19'"
    assert _fetch(database, staging, lesson) == [(1,)]
    s.rows["absences"] = [row for row in s.rows["absences"] if row["date"] != date(2025, 12, 19)]
    s.late.remove(("OCP", "absences", SECOND_NIGHT))
    _write_nights(s, staging)
    build(database, staging, scope=Scope.NIGHTLY)
    _assert_as_a_full_build(database, staging, tmp_path / "full")
    assert _fetch(database, staging, lesson) == [(0,)]


def test_a_register_that_corrects_a_birth_year_rebuilds_every_year(tmp_path):
    """N's register of 30.10.2026 gives another birth year: the over-age measure of 2025/26,
    a school year that delivery does not touch, follows it as a full build's does."""
    s = Scenario(cutoff=date(2026, 10, 28))
    s.pupil("N", "OCP", 8, period=(date(2025, 9, 1), date(2026, 6, 19)))
    s.pupil("N", "OCP", 9, period=(date(2026, 9, 1), date(2026, 10, 28)))
    s.absent("N", "OCP", 8, [date(2025, 10, 6)], lessons=2)
    s.absent("N", "OCP", 9, [date(2026, 10, 5)], lessons=2)
    staging, database = tmp_path / "night" / "staging", tmp_path / "night" / "warehouse.duckdb"
    _write_nights(s, staging)
    build(database, staging)
    over_age = (
        "SELECT DISTINCT over_age_years FROM indicators.pupil_measures "
        "WHERE semester_id = '2025/26-S1'"
    )
    was = _fetch(database, staging, over_age)
    born = s.rows["pupils"][0]["birth_year"] - 1
    s.pupil("N", "OCP", 9, period=(date(2026, 10, 30), date(2026, 10, 30)), birth_year=born,
            received=date(2026, 10, 30))  # fmt: skip
    _write_nights(s, staging)
    build(database, staging, scope=Scope.NIGHTLY)
    _assert_as_a_full_build(database, staging, tmp_path / "full")
    assert _fetch(database, staging, over_age) != was


def test_a_workbook_with_a_register_touches_the_first_semester_of_its_year():
    """A Mykoob workbook names each of its tables in its kind: its register sheet shapes the
    school year's spells as a register file does."""
    day = date(2026, 1, 5)
    changed = pl.DataFrame(
        {"kind": ["kavejumi+skoleni+vertejumi", "vertejumi", "zimes"], "first_day": [day] * 3}
    )
    assert first_touched_semester(changed) == "2025/26-S1"
    assert first_touched_semester(changed.tail(2)) == "2025/26-S2"


def _first_night_of_s2(root: Path) -> tuple[Scenario, Path, Path]:
    """P of OCP grade 5, absent 15.-18.12 without a note; S1's data to 18.12 and the first
    night of S2 (an absence of 05.01), built."""
    s = Scenario(cutoff=date(2025, 12, 18))
    s.pupil("P", "OCP", 5)
    s.pupil("P", "OCP", 5, period=(date(2026, 1, 5), date(2026, 6, 19)))
    s.absent("P", "OCP", 5, [date(2025, 12, d) for d in (15, 16, 17, 18)], lessons=3)
    s.absent("P", "OCP", 5, [date(2026, 1, 5)], received=date(2026, 1, 5))
    staging, database = root / "staging", root / "warehouse.duckdb"
    _write_nights(s, staging)
    build(database, staging)
    return s, staging, database


def _fetch(database: Path, staging: Path, query: str) -> list[tuple]:
    con = connect_read_only(database, staging)
    try:
        return con.sql(query).fetchall()
    finally:
        con.close()


def _assert_as_a_full_build(database: Path, staging: Path, root: Path) -> None:
    """The warehouse, once the analysis build has followed the nightly one, holds what a full
    build of the same staging (under `root`) holds."""
    build(database, staging, scope=Scope.ANALYSIS)
    build(root / "warehouse.duckdb", staging)
    nightly, full = checksums(database, staging), checksums(root / "warehouse.duckdb", staging)
    assert {t for t in full if nightly.get(t) != full[t]} == set()


def test_the_change_report_shows_new_and_cleared_flags_per_school(tmp_path):
    october = [date(2025, 10, d) for d in (6, 7, 8, 9, 10, 13, 14)]

    def scenario(cutoff: date, unjustified_days: list[date]) -> Scenario:
        s = Scenario(cutoff=cutoff)
        s.pupil("P", "OCP", 5)
        s.pupil("Q", "JOP", 5)
        s.social_status("Q", "trūcīga ģimene", date(2025, 9, 1), date(2025, 10, 31))
        s.absent("P", "OCP", 5, unjustified_days, lessons=3)
        return s

    scenario(date(2025, 10, 10), october[:2]).build(tmp_path).close()
    first = connect_read_only(tmp_path / "warehouse.duckdb", tmp_path / "staging")
    assert first.sql("SELECT count(*) FROM programme.flag_changes").fetchall() == [(0,)]
    first.close()
    con = scenario(date(2025, 11, 14), october).build(tmp_path)
    changes = con.sql(
        "SELECT school_id, rule_id, new_flags, cleared_flags, new_mk89_crossings "
        "FROM programme.flag_changes ORDER BY ALL"
    ).fetchall()
    assert changes == [
        ("JOP", "SOCIAL_STATUS", 0, 1, 0),  # the status ended on 31.10
        ("OCP", "ATTENDANCE_AT_RISK", 1, 0, 0),  # those lessons are over 5% of the expected
        ("OCP", "MK89_UNJUSTIFIED", 1, 0, 1),  # 21 unjustified lessons, known by 27.10
    ]


def test_a_school_whose_export_lost_weeks_is_named_by_the_volume_check(ingested, full, tmp_path):
    """OCP's absences of the four weeks after the autumn break vanish from staging (as LEP's
    did): the warning check names OCP and exactly those weeks, and nothing else changes."""
    (check,) = [c for c in discover_checks() if c.name == "delivery_volume"]
    assert check.severity == "warn"
    con = connect_read_only(full, ingested)
    before = run_check(con, check, sample_rows=10_000).sample
    con.close()
    staging = tmp_path / "staging"
    shutil.copytree(ingested, staging)
    path = staging / "absences" / "OCP" / "data-2025-26-S1.parquet"  # the weeks' semester
    lost = pl.col("date").is_between(date(2025, 10, 27), date(2025, 11, 21))
    write_table(pl.read_parquet(path).filter(~lost), path)
    con = connect_read_only(full, staging)
    after = run_check(con, check, sample_rows=10_000)
    con.close()
    new = after.sample.join(before, on=["school_id", "kind", "week"], how="anti")
    assert set(new.select("school_id", "kind").rows()) == {("OCP", "absences")}
    weeks = [date(2025, 10, 27), date(2025, 11, 3), date(2025, 11, 10), date(2025, 11, 17)]
    assert sorted(new["week"]) == weeks
    assert not after.passed


def _leaver_and_returner(received: date) -> Scenario:
    """N finishes grade 8 in 2025/26; whether N is in a register of 2026/27 (delivered on
    `received`) decides the outcome `not_reenrolled` the evaluation counts."""
    s = Scenario(cutoff=date(2026, 10, 30))
    s.pupil("N", "OCP", 8, period=(date(2025, 9, 1), date(2026, 6, 19)))
    s.pupil("K", "OCP", 9, period=(date(2026, 9, 1), date(2026, 10, 30)))
    s.absent("K", "OCP", 9, [date(2026, 10, 5)], lessons=2)
    if received > date(2025, 9, 1):
        s.rows["pupils"].clear()
        s.received = received
        s.pupil("N", "OCP", 8, period=(date(2025, 9, 1), date(2026, 6, 19)))
        s.pupil("K", "OCP", 9, period=(date(2026, 9, 1), date(2026, 10, 30)))
        s.pupil("N", "OCP", 9, period=(date(2026, 10, 1), date(2026, 10, 30)),
                admitted=date(2026, 10, 1))  # fmt: skip
    return s


def test_the_nightly_build_leaves_the_analysis_models_to_the_analysis_build(tmp_path):
    """The nightly build (Scope.NIGHTLY) rebuilds every model but the `@analysis` ones, which
    keep the last build's rows even when what they read changed; the analysis build then
    gives exactly what a build of everything from scratch gives."""
    nightly, scratch = tmp_path / "nightly", tmp_path / "scratch"
    _leaver_and_returner(date(2025, 9, 1)).build(nightly).close()
    database = nightly / "warehouse.duckdb"
    outcomes = "SELECT pupil_key, outcome FROM indicators.outcomes ORDER BY ALL"
    con = connect_read_only(database, nightly / "staging")
    assert con.sql(outcomes).fetchall() == [("N", "not_reenrolled")]
    before = checksums(database, nightly / "staging")
    con.close()
    later = _leaver_and_returner(date(2026, 10, 30))
    later.write(nightly / "staging")
    runs = build(database, nightly / "staging", scope=Scope.NIGHTLY)
    analysis = {m.relation for m in discover_models() if m.analysis}
    assert {r.relation for r in runs} == {m.relation for m in discover_models()} - analysis
    after = checksums(database, nightly / "staging")
    assert {t for t in after if after[t] != before[t]} - analysis
    assert all(after[t] == before[t] for t in analysis)
    con = connect_read_only(database, nightly / "staging")
    assert con.sql(outcomes).fetchall() == [("N", "not_reenrolled")]  # not refreshed yet
    con.close()
    runs = build(database, nightly / "staging", scope=Scope.ANALYSIS)
    assert {r.relation for r in runs} == analysis
    later.build(scratch).close()
    assert checksums(database, nightly / "staging") == checksums(
        scratch / "warehouse.duckdb", scratch / "staging"
    )
    con = connect_read_only(database, nightly / "staging")
    assert con.sql(outcomes).fetchall() == []
    con.close()


def test_a_full_build_commits_its_nightly_models_before_its_analysis_models(tmp_path):
    """A build of every model commits the nightly models before it begins the analysis ones:
    when an analysis model fails, the nightly models are those of a build from scratch, the
    analysis models keep the last build's rows, and the error says so."""
    root, scratch = tmp_path / "live", tmp_path / "scratch"
    _leaver_and_returner(date(2025, 9, 1)).build(root).close()
    database, staging = root / "warehouse.duckdb", root / "staging"
    before = checksums(database, staging)
    later = _leaver_and_returner(date(2026, 10, 30))
    later.write(staging)
    failing = "SELECT error('a planted failure') AS failed"
    models = [
        replace(m, sql=failing) if m.relation == "programme.support_effect" else m
        for m in discover_models()
    ]
    with pytest.raises(duckdb.Error, match="a planted failure") as raised:
        build(database, staging, full_refresh=True, models=models)
    assert "The nightly models of this build are committed" in raised.value.__notes__[0]
    analysis = {m.relation for m in models if m.analysis}
    after = checksums(database, staging)
    later.build(scratch).close()
    rebuilt = checksums(scratch / "warehouse.duckdb", scratch / "staging")
    assert {t: v for t, v in after.items() if t not in analysis} == {
        t: v for t, v in rebuilt.items() if t not in analysis
    }
    assert {t for t in after if after[t] != before[t]} - analysis
    assert {t: after[t] for t in analysis} == {t: before[t] for t in analysis}
    assert {t for t in analysis if rebuilt[t] != before[t]}


def test_the_build_s_memory_limit_is_5_gib_or_duckdb_s_share_of_a_smaller_machine():
    """5 GiB on the bench's machine and larger ones; on a smaller machine DuckDB's own default
    share, so that the build spills before the machine runs out; DuckDB takes either."""
    assert memory_limit(24 * 2**30) == "5120MiB"
    assert memory_limit(4 * 2**30) == "3276MiB"
    con = duckdb.connect()
    for physical, shown in ((24 * 2**30, "5.0 GiB"), (4 * 2**30, "3.1 GiB")):
        con.execute("SET memory_limit = ?", [memory_limit(physical)])
        assert con.execute("SELECT current_setting('memory_limit')").fetchone() == (shown,)
    con.close()


def test_a_nightly_model_may_not_read_an_analysis_model(tmp_path):
    models_dir = tmp_path / "models"
    shutil.copytree(models_module.MODELS_DIR, models_dir)
    (models_dir / "programme" / "effect_list.sql").write_text(
        "-- Reads the support effect.\nSELECT * FROM programme.support_effect\n", encoding="utf-8"
    )
    with pytest.raises(ModelError, match=r"programme/effect_list\.sql reads programme\.support_"):
        discover_models(models_dir)
    (models_dir / "programme" / "effect_list.sql").write_text(
        "-- Reads the support effect.\n-- @analysis\nSELECT * FROM programme.support_effect\n",
        encoding="utf-8",
    )
    assert any(m.relation == "programme.effect_list" for m in discover_models(models_dir))


def test_a_build_parses_only_the_models_it_has_not_seen(tmp_path, monkeypatch):
    """The parses are kept in the warehouse by the SQL's digest: the next build parses nothing,
    and a changed model file is parsed again."""
    s = Scenario(cutoff=date(2025, 12, 19))
    s.pupil("P", "OCP", 5)
    s.build(tmp_path).close()
    parsed = []
    original = models_module._parse
    monkeypatch.setattr(
        models_module, "_parse", lambda sql, *args: parsed.append(sql) or original(sql, *args)
    )
    build(tmp_path / "warehouse.duckdb", tmp_path / "staging")
    assert parsed == []
    models_dir = tmp_path / "models"
    shutil.copytree(models_module.MODELS_DIR, models_dir)
    changed = models_dir / "programme" / "mk89_list.sql"
    changed.write_text(changed.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    kept = kept_parses(tmp_path / "warehouse.duckdb")
    found = discover_models(models_dir, kept)
    assert [sql.strip() for sql in parsed] == [changed.read_text(encoding="utf-8").strip()]
    original_model = next(m for m in discover_models() if m.relation == "programme.mk89_list")
    model = next(m for m in found if m.relation == "programme.mk89_list")
    assert model.depends_on == original_model.depends_on == ("indicators.pupil_indicators",)
