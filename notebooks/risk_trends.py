import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium")

with app.setup:
    import marimo as mo
    import polars as pl

    from pipelines.reports.notebooks import (
        LABELS,
        as_of_label,
        is_partial,
        open_warehouse,
        paged_table,
        partial_semester,
        percent_column,
        semester_heatmap,
        semester_label,
        series_colours,
        time_chart,
    )
    from pipelines.reports.style import RISK_LABELS as LEVELS
    from pipelines.reports.style import RISK_LEVEL_COLOURS as LEVEL_COLOURS

    GRADE_BANDS = ["1-3", "4-6", "7-9", "10-12", "visi / all"]
    BAND_COLOURS = series_colours(GRADE_BANDS)
    COUNTS = [
        "pupils",
        *LEVELS,
        "expected_lessons",
        "missed_lessons",
        "unjustified_lessons",
        "mk89_crossings",
    ]


@app.function
def summarise(groups: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """The counts summed over everything but `keys`, with the shares and rates they make."""
    return (
        groups.group_by(keys)
        .agg(pl.col(COUNTS).sum())
        .with_columns(at_risk=pl.col("risk_medium") + pl.col("risk_high"))
        .with_columns(
            at_risk_share=pl.col("at_risk") / pl.col("pupils"),
            attendance=1 - pl.col("missed_lessons") / pl.col("expected_lessons"),
            unjustified_per_pupil=pl.col("unjustified_lessons") / pl.col("pupils"),
        )
        .sort(keys)
    )


@app.function
def with_all_bands(groups: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """`summarise` per grade band and over all of them, the total as band `visi / all`."""
    per_band = summarise(groups, [*keys, "grade_band"])
    total = summarise(groups, keys).with_columns(grade_band=pl.lit(GRADE_BANDS[-1]))
    return pl.concat([per_band, total.select(per_band.columns)])


@app.cell
def _():
    arguments = mo.cli_args()
    con, warehouse = open_warehouse(arguments)
    partial = partial_semester(con)
    return con, partial, warehouse


@app.cell
def _(con, partial):
    [(mk89_threshold,)] = con.sql(
        "SELECT threshold FROM reference.rules WHERE rule_id = 'MK89_UNJUSTIFIED'"
    ).fetchall()
    groups = (
        con.sql(
            """
        WITH mk89 AS (
            SELECT semester_id, as_of, kind, pupil_key
            FROM indicators.pupil_indicators
            WHERE rule_id = 'MK89_UNJUSTIFIED' AND fired
        )
        SELECT
            r.semester_id, r.as_of, r.kind, r.grade_band, r.reporting_school_id AS school_id, s.name AS school_name,
            count(*) AS pupils,
            count(*) FILTER (WHERE r.risk_level = 'none') AS risk_none,
            count(*) FILTER (WHERE r.risk_level = 'low') AS risk_low,
            count(*) FILTER (WHERE r.risk_level = 'medium') AS risk_medium,
            count(*) FILTER (WHERE r.risk_level = 'high') AS risk_high,
            sum(m.expected_lessons) AS expected_lessons,
            sum(m.missed_lessons)::BIGINT AS missed_lessons,
            sum(m.unjustified_lessons)::BIGINT AS unjustified_lessons,
            count(k.pupil_key) AS mk89_crossings
        FROM indicators.pupil_risk AS r
        JOIN indicators.pupil_measures AS m USING (semester_id, as_of, kind, pupil_key)
        LEFT JOIN mk89 AS k USING (semester_id, as_of, kind, pupil_key)
        JOIN core.schools AS s ON s.school_id = r.reporting_school_id
        GROUP BY ALL
        """
        )
        .pl()
        .with_columns(as_of_label=as_of_label(), partial=is_partial(partial))
    )
    dates = con.sql("SELECT as_of, kind FROM indicators.as_of_dates ORDER BY as_of, kind").pl()
    dates = dates.with_columns(as_of_label=as_of_label())["as_of_label"]
    # Dates no pupil was known on yet (bitemporal: no school had delivered that semester's
    # data by then) stay on the axes, empty, and are named on the page.
    unknown = dates.filter(~dates.is_in(groups["as_of_label"].unique().implode()))
    semester_order = (
        groups.select("semester_id").unique().sort("semester_id")
        .with_columns(label=semester_label(partial))["label"].to_list()
    )  # fmt: skip
    return dates, groups, mk89_threshold, semester_order, unknown


@app.cell(hide_code=True)
def _(dates, groups, unknown, warehouse):
    mo.md(f"""
    # Riska tendences pašvaldībā / Municipality risk trends

    Ogres novada skolēnu agrīnās mācību pārtraukšanas (PMP) riska līmeņi, apmeklējums un
    MK 89 pārsniegumi katra semestra datumā un katra mēneša pēdējā mācību dienā.
    The early-leaving risk levels, attendance and MK 89 crossings of Ogre's pupils at each
    semester's as-of date and each month's last school day.

    - Noliktava / Warehouse: `{warehouse}` (tikai lasīšanai / read-only)
    - Datumi / As-of dates: {len(dates)}, {dates[0]} – {dates[-1]};
      `(sem.)` ir semestra datums (beigas vai datu robeža) / is the semester's as-of date
      (its end or the data cut-off); iesvītrots vai raustīts / hatched or dashed: semestris,
      kas vēl turpinās / the semester still under way
    - Bez datiem / No data: {", ".join(unknown) or "–"} (tajā dienā vēl neviena skola nebija
      iesniegusi semestra datus / no school had delivered the semester's data by that day)
    - Skolas / Schools: {groups["school_id"].n_unique()} (apvienotās skolas pie MRV / the
      merged schools count under MRV)
    """)
    return


@app.cell
def _(dates, groups, partial):
    by_date = summarise(groups, ["as_of", "kind", "as_of_label", "partial"])
    levels = by_date.unpivot(
        on=list(LEVELS),
        index=["as_of_label", "partial", "pupils"],
        variable_name="level",
        value_name="count",
    ).with_columns(
        share=pl.col("count") / pl.col("pupils"), level=pl.col("level").replace_strict(LEVELS)
    )
    levels_figure = time_chart(
        levels,
        x="as_of_label",
        y="share",
        series="level",
        order=dates.to_list(),
        series_order=list(LEVELS.values()),
        colours=LEVEL_COLOURS,
        mode="stacked",
        rate=True,
        title="Riska līmeņi laikā / Risk levels over time",
        titles=(LABELS["as_of_label"], LABELS["share"], LABELS["level"]),
        partial=partial,
        hover={"count": LABELS["count"], "pupils": LABELS["pupils"]},
    )
    mo.vstack([mo.md("## Riska līmeņi / Risk levels"), levels_figure])
    return


@app.cell
def _(groups, mk89_threshold):
    semesters = summarise(groups.filter(pl.col("kind") == "semester"), ["semester_id", "as_of"])
    lines = "\n".join(
        f"- **{row['semester_id']}**, {row['as_of']:%d.%m.%Y}: vidējs vai augsts risks / "
        f"medium or high risk **{row['at_risk']} / {row['pupils']}** "
        f"({row['at_risk_share']:.1%}); MK 89: **{row['mk89_crossings']}**; "
        f"apmeklējums / attendance {row['attendance']:.1%}"
        for row in semesters.iter_rows(named=True)
    )
    mo.vstack(
        [
            mo.md(f"""
    ## Semestri / Semesters

    Semestra datumā / At each semester's as-of date (MK 89: vairāk nekā
    {mk89_threshold:g} neattaisnotu stundu semestrī / more than {mk89_threshold:g}
    unjustified lessons in the semester):
    """),
            mo.md(lines),
            mo.Html(
                paged_table(
                    semesters.select(
                        pl.col("semester_id").alias(LABELS["semester_id"]),
                        pl.col("as_of").dt.strftime("%d.%m.%Y").alias("Datums / As of"),
                        pl.col("pupils").alias("Skolēni / Pupils"),
                        *[pl.col(column).alias(label) for column, label in LEVELS.items()],
                        percent_column("at_risk_share", "Vidējs+augsts, % / Medium+high, %"),
                        percent_column("attendance", "Apmeklējums, % / Attendance, %"),
                        pl.col("unjustified_per_pupil")
                        .round(1)
                        .alias("Neattaisnotas stundas uz skolēnu / Unjustified lessons per pupil"),
                        pl.col("mk89_crossings").alias(LABELS["mk89_crossings"]),
                    ),
                    "semesters",
                )
            ),
        ]
    )
    return


@app.cell
def _(dates, groups, partial):
    by_band = with_all_bands(groups, ["as_of", "kind", "as_of_label", "partial"])
    attendance_figure = time_chart(
        by_band,
        x="as_of_label",
        y="attendance",
        series="grade_band",
        order=dates.to_list(),
        series_order=GRADE_BANDS,
        colours=BAND_COLOURS,
        mode="lines",
        rate=True,
        title="Apmeklējums no semestra sākuma / Attendance, semester to date",
        titles=(LABELS["as_of_label"], LABELS["attendance"], LABELS["grade_band"]),
        partial=partial,
    )
    mk89_figure = time_chart(
        by_band.filter(pl.col("grade_band") != GRADE_BANDS[-1]),
        x="as_of_label",
        y="mk89_crossings",
        series="grade_band",
        order=dates.to_list(),
        series_order=GRADE_BANDS[:-1],
        colours=BAND_COLOURS,
        mode="grouped",
        rate=False,
        title="MK 89 pārsniegumi pa klašu grupām / MK 89 crossings by grade band",
        titles=(LABELS["as_of_label"], LABELS["mk89_crossings"], LABELS["grade_band"]),
        partial=partial,
    )
    mo.vstack(
        [
            mo.md("## Apmeklējums un MK 89 / Attendance and MK 89"),
            attendance_figure,
            mk89_figure,
        ]
    )
    return


@app.cell
def _(groups, partial, semester_order):
    semester_bands = with_all_bands(
        groups.filter(pl.col("kind") == "semester"), ["semester_id", "partial"]
    ).with_columns(semester=semester_label(partial))
    bands_figure = time_chart(
        semester_bands,
        x="semester",
        y="at_risk_share",
        series="grade_band",
        order=semester_order,
        series_order=GRADE_BANDS,
        colours=BAND_COLOURS,
        mode="grouped",
        rate=True,
        title="Vidējs vai augsts risks pa klašu grupām / Medium or high risk by grade band",
        titles=(LABELS["semester_id"], LABELS["at_risk_share"], LABELS["grade_band"]),
        partial=partial,
        hover={"at_risk": LABELS["at_risk"], "pupils": LABELS["pupils"]},
    )
    mo.vstack([mo.md("## Klašu grupas / Grade bands"), bands_figure])
    return


@app.cell
def _(groups, partial, semester_order):
    schools = summarise(
        groups.filter(pl.col("kind") == "semester"), ["semester_id", "school_id", "school_name"]
    ).with_columns(
        school=pl.format("{} {}", "school_id", "school_name"), semester=semester_label(partial)
    )
    schools_figure = semester_heatmap(
        schools,
        x="semester",
        y="school",
        z="at_risk_share",
        x_order=semester_order,
        y_order=schools.sort("school_id")["school"].unique(maintain_order=True).to_list(),
        title="Vidējs vai augsts risks pa skolām / Medium or high risk by school",
        titles=(LABELS["semester_id"], LABELS["school"], LABELS["at_risk_share"]),
        partial=partial,
    )
    mo.vstack(
        [
            mo.md("## Skolas / Schools (pēc pārskata skolas / by reporting school)"),
            schools_figure,
            mo.Html(
                paged_table(
                    schools.select(
                        pl.col("semester_id").alias(LABELS["semester_id"]),
                        pl.col("school_id").alias("Skola / School"),
                        pl.col("school_name").alias("Nosaukums / Name"),
                        pl.col("pupils").alias("Skolēni / Pupils"),
                        percent_column("at_risk_share", "Vidējs+augsts, % / Medium+high, %"),
                        percent_column("attendance", "Apmeklējums, % / Attendance, %"),
                        pl.col("mk89_crossings").alias(LABELS["mk89_crossings"]),
                    ),
                    "schools",
                )
            ),
        ]
    )
    return


if __name__ == "__main__":
    app.run()
