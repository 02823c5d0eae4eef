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


# The rules as people read them, on the dashboards' definitions and in the ministry's data
# dictionary alike: Latvian ("lv") or English ("en").
COMPARISONS_LV = {
    "at least": "vismaz",
    "above": "vairāk nekā",
    "is": "ir",
    "above the grade band's allowance": "vairāk nekā klašu grupā pieļaujams",
}
COMPOSITE_TEXT = {
    "lv": "katra joma (apmeklējums, sekmes, virzība) dod augstāko smagumu (1 brīdinājums, "
    "2 nopietns) starp saviem noteikumiem, kas izpildās, un jomu punktu summa dod līmeni; "
    "konteksta noteikumi punktus nedod",
    "en": "each domain (attendance, performance, progression) counts with the highest severity "
    "(1 warning, 2 serious) among its rules that fire, and the domains' points sum to the "
    "level; context rules give none",
}
COMPOSITE_LEVELS = ("none", "low", "medium", "high")


def number_text(value: float, language: str) -> str:
    """A threshold as it is, never rounded or rescaled: `0,05` in Latvian, `0.05` in English."""
    return f"{value:g}".replace(".", "," if language == "lv" else ".")


def threshold_text(rule: dict, language: str) -> str:
    """A rule's threshold (or comparison), the least evidence it needs and its look-back."""
    lv = language == "lv"
    comparison = COMPARISONS_LV[rule["comparison"]] if lv else rule["comparison"]
    parts = []
    if "threshold" in rule:
        value = number_text(rule["threshold"], language)
        parts.append(f"{'slieksnis' if lv else 'threshold'}: {comparison} {value}")
    elif rule["comparison"] != "is":
        parts.append(comparison)
    if "min_count" in rule:
        parts.append(
            f"pietiekami dati: vismaz {rule['min_count']} (mācību dienas, vērtējumi vai līmeņi)"
            if lv
            else f"evidence: at least {rule['min_count']} (school days, marks or levels)"
        )
    if "window_days" in rule:
        days = rule["window_days"]
        parts.append(f"pēdējās {days} dienās" if lv else f"in the last {days} days")
    return "; ".join(parts)


def rule_text(rule: dict, language: str) -> str:
    """`threshold_text` and the rule's id and version."""
    identity = (
        f"noteikums {rule['id']}, versija {rule['version']}"
        if language == "lv"
        else f"rule {rule['id']}, version {rule['version']}"
    )
    return "; ".join(part for part in (threshold_text(rule, language), identity) if part)


def level_points(config: dict, level: str) -> tuple[str, int]:
    """Where a composite risk level (`COMPOSITE_LEVELS`) begins: ("below", the low level's
    points) for none, else ("from", its own points)."""
    composite = config["composite"]
    return ("below", composite["low"]) if level == "none" else ("from", composite[level])


def level_text(config: dict, level: str, language: str) -> str:
    """A composite risk level's points: `punkti: vismaz 2` / `points: at least 2`."""
    bound, points = level_points(config, level)
    if language == "lv":
        return f"punkti: {'mazāk par' if bound == 'below' else 'vismaz'} {points}"
    return f"points: {'fewer than' if bound == 'below' else 'at least'} {points}"
