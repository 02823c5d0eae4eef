import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium")

with app.setup:
    import marimo as mo
    import plotly.express as px
    import polars as pl

    from pipelines.reports.notebooks import open_warehouse, percent

    KINDS = {
        "rule": "rādītājs / rule",
        "composite": "kopvērtējums / composite",
        "baseline": "bāzes līnija / baseline",
    }
    LABELS = {
        "kind": "Veids / Kind",
        "predictor": "Prognozētājs / Predictor",
        "precision_rate": "Precizitāte / Precision",
        "recall_rate": "Pārklājums / Recall",
        "median_lead_weeks": "Brīdinājuma laiks, mediāna nedēļās / Median lead time, weeks",
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
    scored = backtest.filter(pl.col("flagged") > 0)
    precision_recall = px.scatter(
        scored,
        x="recall_rate",
        y="precision_rate",
        color="kind",
        text="predictor",
        size="flagged",
        hover_data=["description", "flagged", "true_positives", "median_lead_weeks"],
        labels=LABELS,
        title="Precizitāte pret pārklājumu / Precision vs recall",
        height=600,
    ).update_traces(textposition="top center")
    precision_recall.add_hline(
        y=base_rate,
        line_dash="dash",
        annotation_text=f"nejauša atlase / at random {percent(base_rate)}",
    )
    precision_recall.update_layout(xaxis_tickformat=".0%", yaxis_tickformat=".0%")
    mo.vstack([mo.md("## Precizitāte un pārklājums / Precision and recall"), precision_recall])
    return


@app.cell
def _(backtest):
    lead_time = px.bar(
        backtest.filter(pl.col("median_lead_weeks").is_not_null()).sort("median_lead_weeks"),
        x="median_lead_weeks",
        y="predictor",
        color="kind",
        orientation="h",
        hover_data=["description", "true_positives"],
        labels=LABELS,
        title="Brīdinājuma laiks / Lead time",
        height=550,
    ).update_layout(yaxis_categoryorder="total ascending")
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


if __name__ == "__main__":
    app.run()
