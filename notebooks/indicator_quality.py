import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium")

with app.setup:
    import marimo as mo
    import polars as pl

    from pipelines.reports.notebooks import (
        LABELS,
        open_warehouse,
        percent,
        precision_recall_chart,
        series_colours,
        time_chart,
    )

    KINDS = {
        "rule": "rādītājs / rule",
        "composite": "kopvērtējums / composite",
        "baseline": "bāzes līnija / baseline",
    }
    # The evaluation's predictors (models/indicators/evaluation.sql), as the page names them.
    EVALUATED = {
        "SCORE": "riska modelis (score) / the score",
        "COMPOSITE": "kopvērtējums (līmenis, punkti) / composite (level, points)",
        "MEASURE_LOWEST_AVERAGE_MARK": "zemākā vidējā atzīme / lowest average mark",
        "MEASURE_FAILING_SUBJECTS": "nesekmīgi priekšmeti / failing subjects",
        "MEASURE_NON_ILLNESS_SHARE": (
            "kavējumi ne slimības dēļ, daļa / share missed not for illness"
        ),
        "MEASURE_UNJUSTIFIED_LESSONS": "neattaisnotas stundas / unjustified lessons",
        "BASELINE_SCHOOL": "bāzes līnija: skolas / baseline: schools",
        "BASELINE_GRADE_BAND": "bāzes līnija: klašu grupa / baseline: grade band",
        "RANDOM": "nejauša secība / random order",
    }


@app.function
def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table of already formatted cells."""
    lines = [header, ["---"] * len(header), *rows]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines)


@app.cell
def _():
    arguments = mo.cli_args()
    con, warehouse = open_warehouse(arguments)
    return con, warehouse


@app.cell
def _(con):
    [(horizon_days, top_schools, baseline_grades, leave_reasons)] = con.sql(
        """
        SELECT
            any_value(number) FILTER (WHERE name = 'backtest.horizon_days')::INTEGER,
            any_value(number) FILTER (WHERE name = 'backtest.baseline_top_schools')::INTEGER,
            array_to_string(
                any_value(texts) FILTER (WHERE name = 'backtest.baseline_grades'), ', '
            ),
            array_to_string(
                any_value(texts) FILTER (WHERE name = 'backtest.dropout_leave_reasons'), ', '
            )
        FROM reference.parameters
        """
    ).fetchall()
    descriptions = {
        "RISK_MEDIUM_OR_HIGH": "vidējs vai augsts risks / medium or high risk",
        "RISK_HIGH": "augsts risks / high risk",
        "BASELINE_GRADES": (
            f"visi {baseline_grades}. klašu skolēni / every pupil of grades {baseline_grades}"
        ),
        "BASELINE_SCHOOLS": (
            f"visi skolēni {top_schools} skolās ar visvairāk neattaisnotu stundu uz skolēnu / "
            f"every pupil of the {top_schools} schools with the most unjustified lessons per pupil"
        ),
    }
    backtest = (
        con.sql(
            """
            SELECT b.*, r.label_lv || ' / ' || r.label_en AS rule_label
            FROM indicators.backtest AS b
            LEFT JOIN reference.rules AS r ON r.rule_id = b.predictor
            """
        )
        .pl()
        .with_columns(
            description=pl.coalesce(
                "rule_label", pl.col("predictor").replace_strict(descriptions, default=None)
            ),
            kind=pl.col("predictor_kind").replace_strict(KINDS),
        )
        .sort(
            pl.col("predictor_kind").replace_strict(
                {kind: rank for rank, kind in enumerate(KINDS)}
            ),
            pl.col("precision_rate"),
            descending=[False, True],
            nulls_last=True,
        )
    )
    [scope] = (
        backtest.select("as_of_dates", "first_as_of", "last_as_of", "pupil_dates", "outcomes")
        .unique()
        .iter_rows(named=True)
    )
    base_rate = scope["outcomes"] / scope["pupil_dates"]
    return backtest, base_rate, horizon_days, leave_reasons, scope


@app.cell(hide_code=True)
def _(base_rate, horizon_days, leave_reasons, scope, warehouse):
    mo.md(f"""
    # Rādītāju kvalitāte / Indicator quality

    Cik labi katrs rādītājs, kopējais riska līmenis un divas bāzes līnijas paredzēja
    iznākumus: mācību pārtraukšanu bez pabeigšanas ({leave_reasons}) vai nepārcelšanu
    nākamajā klasē {horizon_days} dienu laikā pēc mēneša datuma, izmantojot tikai tajā
    datumā zināmos faktus. How well each rule, the composite risk level and two baselines
    foresaw the outcomes (leaving without completing or not being promoted) within
    {horizon_days} days after a month's as-of date, using only the facts known on that date.

    - Noliktava / Warehouse: `{warehouse}` (tikai lasīšanai / read-only)
    - Datumi / As-of dates: {scope["as_of_dates"]}, {scope["first_as_of"]:%d.%m.%Y} –
      {scope["last_as_of"]:%d.%m.%Y}
    - Skolēnu datumi / Pupil-dates: {scope["pupil_dates"]}; ar iznākumu horizontā / followed
      by an outcome: {scope["outcomes"]} ({percent(base_rate)}: nejaušas atlases precizitāte / the precision
      of flagging at random)

    **Precizitāte / Precision**: atzīmēto daļa, kam sekoja iznākums / the share of flagged
    pupil-dates followed by an outcome. **Pārklājums / Recall**: iznākumu daļa, kas bija
    atzīmēti / the share of outcomes that were flagged. **Brīdinājuma laiks / Lead time**:
    nedēļas no pirmā atzīmējuma līdz iznākumam / weeks from the first flag to the outcome.
    """)
    return


@app.cell
def _(backtest):
    rows = [
        [
            f"`{row['predictor']}`",
            row["kind"],
            row["description"],
            str(row["flagged"]),
            str(row["true_positives"]),
            percent(row["precision_rate"]),
            percent(row["recall_rate"]),
            "–" if row["median_lead_weeks"] is None else f"{row['median_lead_weeks']:.1f}",
        ]
        for row in backtest.iter_rows(named=True)
    ]
    header = [
        LABELS["predictor"],
        LABELS["kind"],
        "Apraksts / Description",
        "Atzīmēti / Flagged",
        "Pareizi / True positives",
        LABELS["precision_rate"],
        LABELS["recall_rate"],
        "Brīdinājuma laiks, ned. / Lead time, weeks",
    ]
    mo.md("## Backtest\n\n" + markdown_table(header, rows))
    return


@app.cell
def _(backtest):
    baselines = backtest.filter(pl.col("predictor_kind") == "baseline")
    best_baseline = baselines.sort("precision_rate", descending=True, nulls_last=True).row(
        0, named=True
    )
    better = backtest.filter(
        pl.col("predictor_kind") != "baseline",
        pl.col("precision_rate") > best_baseline["precision_rate"],
    )
    more_precise = ", ".join(
        f"`{predictor}` ({percent(precision)})"
        for predictor, precision in better.select("predictor", "precision_rate").iter_rows()
    )
    silent = ", ".join(f"`{p}`" for p in backtest.filter(pl.col("flagged") == 0)["predictor"])
    mo.md(f"""
    ## Secinājumi / Findings

    - Labākā bāzes līnija / Best baseline: `{best_baseline["predictor"]}`, precizitāte /
      precision {percent(best_baseline["precision_rate"])}, pārklājums / recall
      {percent(best_baseline["recall_rate"])}
    - Precīzāki par to / More precise than it: {more_precise or "–"}
    - Neatzīmēja nevienu / Flagged no one: {silent or "–"} (backtest izmanto tikai mēnešu
      datumus / the backtest uses the month as-of dates only)
    """)
    return


@app.cell
def _(backtest, base_rate):
    precision_recall = precision_recall_chart(
        backtest.filter(pl.col("flagged") > 0),
        series="kind",
        series_order=list(KINDS.values()),
        base_rate=base_rate,
        title="Precizitāte pret pārklājumu / Precision vs recall",
        titles=(LABELS["recall_rate"], LABELS["precision_rate"], LABELS["kind"]),
        hover={
            "description": LABELS["description"],
            "flagged": LABELS["flagged"],
            "true_positives": LABELS["true_positives"],
        },
    )
    mo.vstack([mo.md("## Precizitāte un pārklājums / Precision and recall"), precision_recall])
    return


@app.cell
def _(backtest):
    leads = backtest.filter(pl.col("median_lead_weeks").is_not_null()).sort("median_lead_weeks")
    lead_time = time_chart(
        leads.with_columns(partial=pl.lit(False)),
        x="predictor",
        y="median_lead_weeks",
        series="kind",
        order=leads["predictor"].to_list(),
        series_order=list(KINDS.values()),
        colours=series_colours(list(KINDS.values())),
        mode="stacked",
        rate=False,
        title="Brīdinājuma laiks / Lead time",
        titles=(LABELS["predictor"], LABELS["median_lead_weeks"], LABELS["kind"]),
        partial=None,
        hover={"description": LABELS["description"], "true_positives": LABELS["true_positives"]},
        horizontal=True,
    ).update_layout(height=550)
    mo.vstack(
        [
            mo.md(
                "## Brīdinājuma laiks / Lead time\n\n"
                "Mediāna nedēļās no pirmā atzīmējuma horizontā līdz iznākumam, pa pareizi "
                "atzīmētajiem iznākumiem / The median, over the outcomes flagged, of the weeks "
                "from the first flag within the horizon to the outcome."
            ),
            lead_time,
        ]
    )
    return


@app.cell
def _(con):
    evaluation = (
        con.sql(
            """
            SELECT predictor, capacity_kind, capacity, flagged, true_positives, events,
                precision_rate, precision_low, precision_high, recall_rate, auc, score_model
            FROM indicators.evaluation
            WHERE as_of IS NULL AND horizon = 'year' AND outcome = 'any'
            """
        )
        .pl()
        .with_columns(
            description=pl.col("predictor").replace_strict(EVALUATED),
            capacity_label=pl.when(pl.col("capacity_kind") == "caseload")
            .then(pl.format("K = {} (atbalsta slodze / caseload)", pl.col("capacity").round(0).cast(pl.Int64)))
            .otherwise(pl.format("K = {}", "capacity_kind")),
            partial=pl.lit(False),
        )
        .sort("capacity", pl.col("predictor").replace_strict(
            {p: rank for rank, p in enumerate(EVALUATED)}
        ))
    )  # fmt: skip
    [(eval_dates, first_eval, last_eval)] = con.sql(
        """
        SELECT count(DISTINCT as_of), min(as_of), max(as_of)
        FROM indicators.evaluation
        WHERE after_training AND as_of IS NOT NULL
        """
    ).fetchall()
    return eval_dates, evaluation, first_eval, last_eval


@app.cell
def _(eval_dates, evaluation, first_eval, last_eval):
    capacities = evaluation["capacity_label"].unique(maintain_order=True).to_list()
    evaluation_figure = time_chart(
        evaluation,
        x="predictor",
        y="precision_rate",
        series="capacity_label",
        order=list(EVALUATED),
        series_order=capacities,
        colours=series_colours(capacities),
        mode="grouped",
        rate=True,
        title=(
            "Precizitāte pirmajiem K pēc kārtas, ar 95% intervālu / "
            "Precision of the first K in rank order, with its 95% interval"
        ),
        titles=(LABELS["predictor"], LABELS["precision_rate"], LABELS["capacity"]),
        partial=None,
        hover={
            "description": LABELS["description"],
            "recall_rate": LABELS["recall_rate"],
            "auc": LABELS["auc"],
        },
        interval=("precision_low", "precision_high"),
    )
    scores = ", ".join(sorted(set(evaluation["score_model"].drop_nulls().to_list()))) or "–"
    first = evaluation.filter(pl.col("capacity_label") == capacities[0])
    lines = "\n".join(
        f"- `{row['predictor']}` ({row['description']}): precizitāte / precision "
        f"{percent(row['precision_rate'])} [{percent(row['precision_low'])}–"
        f"{percent(row['precision_high'])}], pārklājums / recall {percent(row['recall_rate'])}, "
        f"AUC {row['auc']:.3f}"
        for row in first.iter_rows(named=True)
    )
    mo.vstack(
        [
            mo.md(f"""
    ## Novērtējums / Evaluation (`indicators.evaluation`)

    Riska modelis (score, `{scores}`), kopvērtējums, atsevišķi rādītāji un bāzes līnijas,
    sarindoti katrā datumā; atzīmēti pirmie K. Vidēji {eval_dates} datumos pēc modeļa
    apmācības datiem ({first_eval:%d.%m.%Y} – {last_eval:%d.%m.%Y}), jebkurš iznākums līdz
    mācību gada beigām. The score, the composite, single measures and baselines, each ranking
    the pupils of a date; the first K are flagged. The mean over the {eval_dates} dates after
    the score's training data, any outcome by the school year's end (docs/indicators.md).

    {capacities[0]}:
    """),
            mo.md(lines),
            evaluation_figure,
        ]
    )
    return


if __name__ == "__main__":
    app.run()
