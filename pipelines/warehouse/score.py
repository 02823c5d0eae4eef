"""Fitting the risk score's weights (`pmp train-score`): a logistic regression (scikit-learn)
of any outcome by the school year's end on the inputs of `indicators.score_features`, over the
evaluation's pupil-dates up to a day (what was known on each), written to `models/score.toml`
with what it was fitted on. The warehouse applies the weights in SQL (`pupil_score`).

The features are nightly models, the evaluation's pupil-dates `@analysis` ones, which the
nightly build leaves as the last weekly build made them: training first rebuilds the analysis
models over the warehouse's last build (`Scope.ANALYSIS`, one writer, closed before the
training reads), so that features and outcomes are of the same data."""

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from pipelines.feedback import OperatorError
from pipelines.warehouse.build import Scope, build, connect_read_only

KEY_COLUMNS = ("semester_id", "as_of", "kind", "pupil_key")
OUTCOME = "any outcome (left without completing, not re-enrolled, not promoted) by the year's end"
# In an order that does not depend on the pseudonyms, so that the same data fits the same
# weights under any key.
TRAINING_ROWS = """
SELECT f.* EXCLUDE (pupil_key), e.happened
FROM indicators.score_features AS f
JOIN indicators.evaluation_pupils AS e USING (semester_id, as_of, pupil_key)
WHERE f.kind = 'month' AND e.outcome = 'any' AND e.horizon = 'year' AND f.as_of <= $until
ORDER BY ALL
"""


class TrainingError(OperatorError):
    """Too little to fit the weights on: says what is missing."""


@dataclass(frozen=True)
class FittedScore:
    features: list[str]
    centers: list[float]
    spreads: list[float]
    coefficients: list[float]
    intercept: float
    pupil_dates: int
    outcomes: int
    as_of_dates: list[date]


def training_rows(con: duckdb.DuckDBPyConnection, until: date) -> pl.DataFrame:
    """The inputs and whether any outcome followed by the year's end, per evaluated pupil-date
    on or before `until`."""
    return con.sql(TRAINING_ROWS, params={"until": until}).pl()


def fit_score(rows: pl.DataFrame, regularisation: float = 1.0) -> FittedScore:
    """Standardise each input on the rows, fit an L2-penalised logistic regression, and give
    the weights on the standardised scale with the averages and spreads to apply them."""
    features = [c for c in rows.columns if c not in (*KEY_COLUMNS, "happened")]
    labels = rows["happened"].to_numpy().astype(int)
    if rows.height == 0 or labels.sum() == 0 or labels.sum() == rows.height:
        raise TrainingError(
            f"{rows.height} pupil-dates with {int(labels.sum())} outcomes: both outcomes are "
            "needed (is the warehouse built with a year whose outcomes are known?)"
        )
    from sklearn.linear_model import LogisticRegression  # about 1 s: only when fitting

    values = rows.select(features).to_numpy().astype(float)
    centers = values.mean(axis=0)
    spreads = values.std(axis=0)
    spreads[spreads == 0] = 1.0
    model = LogisticRegression(C=regularisation, max_iter=2000)
    model.fit((values - centers) / spreads, labels)
    return FittedScore(
        features=features,
        centers=[float(v) for v in centers],
        spreads=[float(v) for v in spreads],
        coefficients=[float(v) for v in model.coef_[0]],
        intercept=float(model.intercept_[0]),
        pupil_dates=rows.height,
        outcomes=int(labels.sum()),
        as_of_dates=sorted(set(rows["as_of"].to_list())),
    )


def score_file_text(fitted: FittedScore, version: str, source: str) -> str:
    """The weights as `models/score.toml`: version, provenance, intercept, one table per input."""
    dates = ", ".join(d.isoformat() for d in fitted.as_of_dates)
    description = (
        f"{source}: {fitted.pupil_dates} pupil-dates at the month-end as-of dates {dates}, "
        f"{fitted.outcomes} with an outcome"
    )
    lines = [
        "# The risk score's weights, written by `pmp train-score` (pipelines/warehouse/score.py):",
        "# a logistic regression on the standardised inputs of indicators.score_features. Do not",
        "# edit by hand; retrain, bump `version`, and the SHA-256 of this file changes in every",
        '# scored row (docs/indicators.md, "The score").',
        f'version = "{version}"',
        f"intercept = {fitted.intercept!r}",
        "",
        "[trained]",
        f'outcome = "{OUTCOME}"',
        f"until = {max(fitted.as_of_dates).isoformat()}",
        f'description = "{description}"',
    ]
    for name, center, spread, weight in zip(
        fitted.features, fitted.centers, fitted.spreads, fitted.coefficients, strict=True
    ):
        lines += [
            "",
            "[[feature]]",
            f'feature = "{name}"',
            f"center = {center!r}",
            f"spread = {spread!r}",
            f"coefficient = {weight!r}",
        ]
    return "\n".join(lines) + "\n"


def train(
    database: Path, staging: Path, until: date, version: str, source: str, out: Path
) -> FittedScore:
    """Rebuild the warehouse's analysis models, then fit the weights on its evaluated
    pupil-dates up to `until` and write them."""
    if not database.exists():
        raise TrainingError(f"no warehouse at {database}: run the ingest and the build first")
    try:
        build(database, staging, scope=Scope.ANALYSIS)
        con = connect_read_only(database, staging)
        try:
            fitted = fit_score(training_rows(con, until))
        finally:
            con.close()
    except duckdb.CatalogException as error:
        raise TrainingError(
            f"{database} has no evaluation to train on (built before the score?): rebuild it; "
            f"{str(error).splitlines()[0]}"
        ) from None
    out.write_text(score_file_text(fitted, version, source), encoding="utf-8")
    return fitted
