import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium")

with app.setup:
    import marimo as mo
    import polars as pl

    from pipelines.reference import tables as reference
    from pipelines.reports.notebooks import (
        LABELS,
        as_of_label,
        is_partial,
        open_warehouse,
        paged_table,
        partial_semester,
        percent,
        percent_column,
        semester_label,
        series_colours,
        time_chart,
    )
    from pipelines.reports.style import RISK_LABELS as LEVELS
    from pipelines.reports.style import RISK_LEVEL_COLOURS as LEVEL_COLOURS

    MUNICIPALITY = "Pašvaldība / Municipality"


@app.function
def school_and_municipality(frame: pl.DataFrame, keys: list[str], school: str) -> pl.DataFrame:
    """The rows `at_school`, labelled `school`, and the sums over every row per `keys`,
    labelled as the municipality's, in the column `scope`."""
    counts = [column for column in frame.columns if column not in {*keys, "at_school"}]
    at_school = frame.filter("at_school").select(*keys, *counts).with_columns(scope=pl.lit(school))
    municipality = (
        frame.group_by(keys).agg(pl.col(counts).sum()).with_columns(scope=pl.lit(MUNICIPALITY))
    )
    return pl.concat([at_school, municipality.select(at_school.columns)]).sort(keys)


@app.cell
def _():
    arguments = mo.cli_args()
    requested_school = arguments.get("school") or reference.schools()[0].school_id
    con, warehouse = open_warehouse(arguments)
    partial = partial_semester(con)
    return con, partial, requested_school, warehouse


@app.cell
def _(con, requested_school):
    school = con.sql(
        "FROM core.schools WHERE school_id = $school", params={"school": requested_school}
    ).pl()
    if school.is_empty():
        known = con.sql("SELECT string_agg(school_id, ', ' ORDER BY school_id) FROM core.schools")
        raise ValueError(
            f"unknown school {requested_school!r}; the warehouse has {known.fetchall()[0][0]}"
        )
    [info] = school.iter_rows(named=True)
    school_id = info["school_id"]
    school_label = f"{school_id} {info['name']}"
    scope_colours = series_colours([school_label, MUNICIPALITY])
    return info, school_id, school_label, scope_colours


@app.cell(hide_code=True)
def _(info, warehouse):
    merged = (
        f"- Apvienota ar / Merged into {info['successor_id']} no / from {info['valid_to']:%d.%m.%Y}"
        if info["merged"]
        else ""
    )
    mo.md(f"""
    # {info["name"]} ({info["school_id"]})

    Skolas padziļināts apskats / School deep dive: riska līmeņi pret pašvaldību, rādītāji,
    apmeklējums pa mēnešiem, atbalsta pārklājums. Tikai kopsummas, bez skolēnu atslēgām /
    risk levels against the municipality, rules firing, attendance by month, support
    coverage. Aggregates only, no pupil keys.

    - Tips / Type: {info["type"]}, klases / grades {info["grade_min"]}–{info["grade_max"]}
    - Datumi / As-of dates: mēnešu pēdējās mācību dienas un semestra datums `(sem.)` /
      each month's last school day and the semester's as-of date `(sem.)`; iesvītrots vai
      raustīts / hatched or dashed: semestris, kas vēl turpinās / the semester still under way
    - Noliktava / Warehouse: `{warehouse}` (tikai lasīšanai / read-only)
    {merged}
    """)
    return


@app.cell
def _(con, partial, school_id, school_label):
    risk = (
        con.sql(
            """
        SELECT
            semester_id, as_of, kind,
            school_id = $school AS at_school,
            count(*) AS pupils,
            count(*) FILTER (WHERE risk_level = 'none') AS risk_none,
            count(*) FILTER (WHERE risk_level = 'low') AS risk_low,
            count(*) FILTER (WHERE risk_level = 'medium') AS risk_medium,
            count(*) FILTER (WHERE risk_level = 'high') AS risk_high
        FROM indicators.pupil_risk
        GROUP BY ALL
        """,
            params={"school": school_id},
        )
        .pl()
        .with_columns(as_of_label=as_of_label(), partial=is_partial(partial))
    )
    trend = (
        school_and_municipality(
            risk, ["semester_id", "as_of", "kind", "as_of_label", "partial"], school_label
        )
        .with_columns(at_risk=pl.col("risk_medium") + pl.col("risk_high"))
        .with_columns(at_risk_share=pl.col("at_risk") / pl.col("pupils"))
        .sort("as_of", "kind")
    )
    dates = (
        con.sql("SELECT as_of, kind FROM indicators.as_of_dates ORDER BY as_of, kind")
        .pl()
        .with_columns(as_of_label=as_of_label())["as_of_label"]
        .to_list()
    )
    return dates, trend


@app.cell
def _(dates, partial, school_label, scope_colours, trend):
    trend_figure = time_chart(
        trend,
        x="as_of_label",
        y="at_risk_share",
        series="scope",
        order=dates,
        series_order=[school_label, MUNICIPALITY],
        colours=scope_colours,
        mode="lines",
        rate=True,
        title=(
            "Vidējs vai augsts risks: skola pret pašvaldību / "
            "Medium or high risk: school vs municipality"
        ),
        titles=(LABELS["as_of_label"], LABELS["at_risk_share"], LABELS["scope"]),
        partial=partial,
        hover={"at_risk": LABELS["at_risk"], "pupils": LABELS["pupils"]},
    )
    levels_figure = time_chart(
        trend.filter(pl.col("scope") == school_label)
        .unpivot(
            on=list(LEVELS),
            index=["as_of_label", "partial", "pupils"],
            variable_name="level",
            value_name="count",
        )
        .with_columns(
            share=pl.col("count") / pl.col("pupils"), level=pl.col("level").replace_strict(LEVELS)
        ),
        x="as_of_label",
        y="share",
        series="level",
        order=dates,
        series_order=list(LEVELS.values()),
        colours=LEVEL_COLOURS,
        mode="stacked",
        rate=True,
        title=f"Riska līmeņi skolā / Risk levels at the school: {school_label}",
        titles=(LABELS["as_of_label"], LABELS["share"], LABELS["level"]),
        partial=partial,
        hover={"count": LABELS["count"], "pupils": LABELS["pupils"]},
    )
    return levels_figure, trend_figure


@app.cell
def _(levels_figure, school_label, trend, trend_figure):
    semesters = trend.filter(pl.col("kind") == "semester")
    municipality_share = dict(
        semesters.filter(pl.col("scope") == MUNICIPALITY)
        .select("semester_id", "at_risk_share")
        .iter_rows()
    )
    risk_lines = "\n".join(
        f"- **{row['semester_id']}**: skolā / at the school **{row['at_risk']} / "
        f"{row['pupils']}** ({percent(row['at_risk_share'])}); "
        f"pašvaldībā / municipality {percent(municipality_share[row['semester_id']])}"
        for row in semesters.filter(pl.col("scope") == school_label).iter_rows(named=True)
    )
    mo.vstack(
        [
            mo.md(
                "## Riska tendence / Risk trend\n\n"
                "Vidējs vai augsts risks semestra datumā / Medium or high risk at each "
                "semester's as-of date:"
            ),
            mo.md(risk_lines),
            trend_figure,
            levels_figure,
        ]
    )
    return


@app.cell
def _(con, school_id):
    rules = con.sql(
        """
        SELECT
            i.semester_id, i.rule_id, r.domain, r.label_lv, r.label_en,
            count(*) FILTER (WHERE i.fired) AS pupils_fired,
            count(*) AS pupils
        FROM indicators.pupil_indicators AS i
        JOIN reference.rules AS r USING (rule_id)
        WHERE i.kind = 'semester' AND i.school_id = $school
        GROUP BY ALL
        ORDER BY i.semester_id, i.rule_id
        """,
        params={"school": school_id},
    ).pl()
    return (rules,)


@app.cell
def _(partial, rules):
    rule_semesters = (
        rules.select("semester_id").unique().sort("semester_id")
        .with_columns(semester=semester_label(partial))["semester"].to_list()
    )  # fmt: skip
    rule_rows = rules.with_columns(
        rule=pl.format("{} ({})", "rule_id", "domain"),
        semester=semester_label(partial),
        partial=is_partial(partial),
        label=pl.format("{} / {}", "label_lv", "label_en"),
    )
    rules_figure = time_chart(
        rule_rows,
        x="rule",
        y="pupils_fired",
        series="semester",
        order=rule_rows["rule"].unique().sort(descending=True).to_list(),
        series_order=rule_semesters,
        colours=series_colours(rule_semesters),
        mode="grouped",
        rate=False,
        title="Rādītāji, kas nostrādāja, semestra datumā / Rules firing at each semester's as-of date",
        titles=(LABELS["rule"], LABELS["pupils_fired"], LABELS["semester_id"]),
        partial=partial,
        hover={"label": LABELS["rule"], "pupils": LABELS["pupils"]},
        horizontal=True,
    ).update_layout(height=700)
    latest = rules.filter(pl.col("semester_id") == pl.col("semester_id").max())
    top = latest.filter(pl.col("pupils_fired") > 0).sort(
        ["pupils_fired", "rule_id"], descending=[True, False]
    )
    top_rules = ", ".join(
        f"{row['rule_id']} ({row['pupils_fired']})" for row in top.head(3).iter_rows(named=True)
    )
    mo.vstack(
        [
            mo.md(
                "## Rādītāji / Rules firing\n\n"
                f"Biežākie / Most frequent in {latest['semester_id'].max()}: {top_rules or '–'}"
            ),
            rules_figure,
            mo.Html(
                paged_table(
                    rules.pivot(
                        on="semester_id",
                        index=["rule_id", "label_lv", "label_en"],
                        values="pupils_fired",
                    ),
                    "rules",
                )
            ),
        ]
    )
    return


@app.cell
def _(con, partial, school_id, school_label):
    months = con.sql(
        """
        WITH cutoff AS (
            SELECT max(as_of) AS day FROM indicators.as_of_dates
        ),
        expected AS (
            SELECT
                e.school_id = $school AS at_school,
                date_trunc('month', c.day) AS month,
                sum(e.lessons_per_week / 5.0) AS expected_lessons
            FROM core.expected_lessons AS e
            JOIN core.calendar AS c
                ON c.grade = e.grade AND c.day BETWEEN e.from_day AND e.to_day
            WHERE c.is_school_day AND c.day <= (SELECT day FROM cutoff)
            GROUP BY ALL
        ),
        absences AS (
            SELECT
                a.school_id = $school AS at_school,
                date_trunc('month', a.date) AS month,
                count(*) FILTER (WHERE a.missed) AS missed_lessons,
                count(*) FILTER (WHERE a.unjustified) AS unjustified_lessons
            FROM core.lesson_absences AS a
            WHERE a.counted AND a.date <= (SELECT day FROM cutoff)
            GROUP BY ALL
        )
        SELECT
            strftime(e.month, '%Y-%m') AS month, e.at_school, e.expected_lessons,
            coalesce(a.missed_lessons, 0) AS missed_lessons,
            coalesce(a.unjustified_lessons, 0) AS unjustified_lessons
        FROM expected AS e
        LEFT JOIN absences AS a USING (at_school, month)
        """,
        params={"school": school_id},
    ).pl()
    # A month counts as the semester under way from the month that semester begins in.
    partial_from = (
        None
        if partial is None
        else con.sql(
            "SELECT strftime(start_date, '%Y-%m') FROM reference.semesters "
            "WHERE semester_id = $semester",
            params={"semester": partial.semester_id},
        ).fetchall()[0][0]
    )
    attendance = school_and_municipality(months, ["month"], school_label).with_columns(
        attendance=1 - pl.col("missed_lessons") / pl.col("expected_lessons"),
        partial=pl.lit(partial_from is not None) & (pl.col("month") >= (partial_from or "")),
    )
    return (attendance,)


@app.cell
def _(attendance, partial, school_label, scope_colours):
    attendance_figure = time_chart(
        attendance,
        x="month",
        y="attendance",
        series="scope",
        order=attendance["month"].unique().sort().to_list(),
        series_order=[school_label, MUNICIPALITY],
        colours=scope_colours,
        mode="lines",
        rate=True,
        title="Apmeklējums pa mēnešiem / Attendance by month",
        titles=(LABELS["month"], LABELS["attendance"], LABELS["scope"]),
        partial=partial,
        hover={
            "expected_lessons": LABELS["expected_lessons"],
            "missed_lessons": LABELS["missed_lessons"],
        },
    )
    mo.vstack(
        [
            mo.md(
                "## Apmeklējums / Attendance\n\n"
                "Apmeklētās stundas no plānotajām katrā mēnesī (līdz datu robežai) / "
                "Lessons attended of those expected in each month (to the data cut-off)."
            ),
            attendance_figure,
            mo.Html(
                paged_table(
                    attendance.filter(pl.col("scope") == school_label)
                    .sort("month")
                    .select(
                        pl.col("month").alias(LABELS["month"]),
                        pl.col("expected_lessons").round(0).alias("Plānotas / Expected"),
                        pl.col("missed_lessons").alias("Kavētas / Missed"),
                        pl.col("unjustified_lessons").alias("Neattaisnotas / Unjustified"),
                        percent_column("attendance", "Apmeklējums, % / Attendance, %"),
                    ),
                    "attendance",
                )
            ),
        ]
    )
    return


@app.cell
def _(con, partial, school_id, school_label):
    support = con.sql(
        """
        SELECT
            semester_id, school_id = $school AS at_school,
            sum(pupils_at_risk)::BIGINT AS pupils_at_risk,
            sum(pupils_at_risk_supported)::BIGINT AS pupils_at_risk_supported,
            sum(pupils_supported_not_at_risk)::BIGINT AS pupils_supported_not_at_risk
        FROM programme.support_coverage
        GROUP BY ALL
        """,
        params={"school": school_id},
    ).pl()
    coverage = school_and_municipality(support, ["semester_id"], school_label).with_columns(
        coverage=pl.when(pl.col("pupils_at_risk") > 0).then(
            pl.col("pupils_at_risk_supported") / pl.col("pupils_at_risk")
        ),
        semester=semester_label(partial),
        partial=is_partial(partial),
    )
    return (coverage,)


@app.cell
def _(coverage, partial, school_label, scope_colours):
    coverage_figure = time_chart(
        coverage,
        x="semester",
        y="coverage",
        series="scope",
        order=coverage.sort("semester_id")["semester"].unique(maintain_order=True).to_list(),
        series_order=[school_label, MUNICIPALITY],
        colours=scope_colours,
        mode="grouped",
        rate=True,
        title="Atbalsta pārklājums / Support coverage",
        titles=(LABELS["semester_id"], LABELS["coverage"], LABELS["scope"]),
        partial=partial,
        hover={
            "pupils_at_risk": LABELS["pupils_at_risk"],
            "pupils_at_risk_supported": LABELS["pupils_at_risk_supported"],
        },
    )
    municipality_coverage = dict(
        coverage.filter(pl.col("scope") == MUNICIPALITY)
        .select("semester_id", "coverage")
        .iter_rows()
    )
    coverage_lines = "\n".join(
        f"- **{row['semester_id']}**: atbalsts / supported **{row['pupils_at_risk_supported']} / "
        f"{row['pupils_at_risk']}** riska skolēniem / pupils at risk ({percent(row['coverage'])}); "
        f"pašvaldībā / municipality {percent(municipality_coverage[row['semester_id']])}; "
        f"atbalsts bez riska / supported not at risk {row['pupils_supported_not_at_risk']}"
        for row in coverage.filter(pl.col("scope") == school_label).iter_rows(named=True)
    )
    mo.vstack(
        [
            mo.md(
                "## Atbalsta pārklājums / Support coverage\n\n"
                "Vidēja vai augsta riska skolēni semestra datumā, kam semestrī bija projekta "
                "atbalsts / Pupils at medium or high risk at the semester's as-of date who had "
                "project support in the semester:"
            ),
            mo.md(coverage_lines),
            coverage_figure,
        ]
    )
    return


if __name__ == "__main__":
    app.run()
