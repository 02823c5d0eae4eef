"""Scans for identifiers where none may be: staging, warehouse tables, extracts."""

import re

import polars as pl

from pipelines.privacy.names import FEMALE_FIRST_NAMES, MALE_FIRST_NAMES, SURNAMES
from pipelines.privacy.pseudonym import KEY_LENGTH_HEX

PERSONAL_CODE = r"\b\d{6}\s*-?\s*\d{5}\b"
FORBIDDEN_COLUMNS = {"code", "code_digits", "personas kods", "first_name", "surname", "vārds",
                     "uzvārds", "skolēns", "birth_date", "birth_date_text", "dzimšanas datums"}  # fmt: skip
COMMON_NAMES = sorted(
    {*MALE_FIRST_NAMES, *FEMALE_FIRST_NAMES, *(form for pair in SURNAMES for form in pair)}
)
_NAME_PATTERN = r"\b(" + "|".join(re.escape(n) for n in COMMON_NAMES) + r")\b"


def identifier_findings(frame: pl.DataFrame, where: str) -> list[str]:
    """What in a frame looks like a personal code, a name or an identifying column."""
    findings = [
        f"{where}: column {c!r} holds identifiers by name"
        for c in frame.columns
        if c.casefold() in FORBIDDEN_COLUMNS
    ]
    strings = [column for column, dtype in frame.schema.items() if dtype == pl.String]
    # Each distinct value is matched once; the rows holding a match are counted only then.
    distinct = frame.select(pl.col(strings).unique().implode())
    for column in strings:
        values = distinct[column].explode().drop_nulls()
        if not values.str.contains(f"{PERSONAL_CODE}|{_NAME_PATTERN}").any():
            continue
        rows = frame.select(pl.col(column).drop_nulls()).group_by(column).agg(__rows__=pl.len())
        codes = rows.filter(pl.col(column).str.contains(PERSONAL_CODE))["__rows__"].sum()
        names = rows.filter(pl.col(column).str.contains(_NAME_PATTERN)).sort(column)
        if codes:
            findings.append(f"{where}: column {column!r} has {codes} personal-code patterns")
        if names.height:
            findings.append(
                f"{where}: column {column!r} has {names['__rows__'].sum()} values with a common "
                f"name, e.g. {names[column][0]!r}"
            )
    return findings


PUPIL_KEY = rf"\b[0-9a-f]{{{KEY_LENGTH_HEX}}}\b"


def text_findings(text: str, pupil_keys: set[str], allowed: list[str]) -> list[str]:
    """What in a published file's text looks like a personal code, a known pupil key or a
    common name. `allowed` phrases (school names, which carry people's names) are removed
    first."""
    for phrase in allowed:
        text = text.replace(phrase, " ")
    findings = [f"a personal-code pattern: {m!r}" for m in re.findall(PERSONAL_CODE, text)[:3]]
    keys = set(re.findall(PUPIL_KEY, text)) & pupil_keys
    findings += [f"{len(keys)} pupil key(s)"] if keys else []
    names = sorted(set(re.findall(_NAME_PATTERN, text)))
    findings += [f"common name(s): {', '.join(names[:5])}"] if names else []
    return findings
