"""The versioned rule parameters in `models/rules.toml`, for Python and as warehouse tables."""

import tomllib
from datetime import date
from functools import cache
from pathlib import Path

import polars as pl

from pipelines.paths import PROJECT_ROOT

RULES_FILE = PROJECT_ROOT / "models" / "rules.toml"
PARAMETER_SECTIONS = (
    "grades", "project", "composite", "disclosure", "backtest", "evaluation", "volume",
)  # fmt: skip
RULE_COLUMNS = {
    "rule_id": pl.String,
    "version": pl.String,
    "domain": pl.String,
    "severity": pl.Int32,
    "comparison": pl.String,
    "threshold": pl.Float64,
    "window_days": pl.Int32,
    "min_count": pl.Int32,
    "basis": pl.String,
    "label_lv": pl.String,
    "label_en": pl.String,
}


@cache
def rules(path: Path = RULES_FILE) -> dict:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def max_drop_share() -> float:
    """The share of the rows in force a delivery may remove before it is held."""
    return float(rules()["ingest"]["max_drop_share"])


def project_period() -> tuple[date, date]:
    """The project's eligible period: its first and last day."""
    project = rules()["project"]
    return project["eligible_from"], project["eligible_to"]


def retention_years() -> int:
    """How many whole years after the project's last day pupil-level data is kept."""
    return int(rules()["retention"]["pupil_data_years_after_project"])


def rule_table(config: dict) -> pl.DataFrame:
    """One row per indicator rule, with the rule set's version."""
    rows = [{**rule, "rule_id": rule["id"]} for rule in config["rule"]]
    return pl.DataFrame(rows, schema=RULE_COLUMNS, strict=False).with_columns(
        rule_set_version=pl.lit(config["version"])
    )


def promotion_band_table(config: dict) -> pl.DataFrame:
    return pl.DataFrame(config["promotion_band"]).cast({"allowed_insufficient": pl.Int32})


def parameter_table(config: dict) -> pl.DataFrame:
    """The scalar, date and list settings as `name` (section.key), `number`, `day`, `texts`."""
    rows = [
        {
            "name": f"{section}.{key}",
            "number": float(value) if isinstance(value, int | float) else None,
            "day": value if isinstance(value, date) else None,
            "texts": [str(v) for v in value] if isinstance(value, list) else None,
        }
        for section in PARAMETER_SECTIONS
        for key, value in config[section].items()
    ]
    schema = {"name": pl.String, "number": pl.Float64, "day": pl.Date, "texts": pl.List(pl.String)}
    return pl.DataFrame(rows, schema=schema)
