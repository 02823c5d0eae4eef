"""The dashboards' header, what is not a chart: the KPI tiles of the school and grade band
chosen in the filter, and the definitions of the risk levels and rules with their thresholds
(from `models/rules.toml`, in the words of `pipelines.reference.rules`)."""

import html
from datetime import date

import polars as pl

from pipelines.publication.tables import ALL_BANDS, MEASURES, NOT_YET_DUE
from pipelines.reference.rules import COMPOSITE_LEVELS, COMPOSITE_TEXT, level_text, threshold_text
from pipelines.reports.style import RISK_LABELS, STACK_LABELS, partial_label

SUPPRESSED_TEXT = STACK_LABELS["suppressed"]
# The tiles in order: the measure each shows and its label; `tiles` shows a count whole and a
# rate in percent. Medium or high risk is no published measure: the tile adds the two.
TILES = (
    ("pupils", MEASURES["pupils"].label),
    ("at_risk", "vidējs vai augsts risks / medium or high risk"),
    ("attendance_rate", MEASURES["attendance_rate"].label),
    ("mk89_crossings", MEASURES["mk89_crossings"].label),
    ("support_coverage", MEASURES["support_coverage"].label),
)
SEVERITIES = {0: "konteksts / context", 1: "brīdinājums / warning", 2: "nopietns / serious"}
DOMAINS = {
    "attendance": "apmeklējums / attendance",
    "performance": "sekmes / performance",
    "progression": "virzība / progression",
    "context": "konteksts / context",
}


def tile_semester(cells: pl.DataFrame) -> tuple[str, str]:
    """The semester the tiles show (the one in progress, else the latest final) and its
    status."""
    periods = cells.filter(pl.col("status") != NOT_YET_DUE).select("semester_id", "status")
    latest = periods.unique().sort("semester_id").row(-1)
    return latest[0], latest[1]


def _count(value: float | None) -> str:
    return SUPPRESSED_TEXT if value is None else f"{value:,.0f}".replace(",", " ")


def _rate(value: float | None) -> str:
    return SUPPRESSED_TEXT if value is None else f"{100 * value:.1f}%".replace(".", ",")


def tiles(cells: pl.DataFrame, units: list[str], bands: list[str]) -> dict[str, list[str]]:
    """The tiles' values per `school|band` key, in the order of TILES: counts whole, rates in
    percent with one decimal, a suppressed value as suppressed, a measure not published per
    grade band as such."""
    semester, _ = tile_semester(cells)
    value = {
        (r["school_id"], r["dimension"], r["measure"]): r["value"]
        for r in cells.filter(pl.col("semester_id") == semester).iter_rows(named=True)
    }
    shown = {}
    for school in units:
        for band in bands:
            get = value.get
            medium, high = get((school, band, "risk_medium")), get((school, band, "risk_high"))
            pupils = get((school, band, "pupils"))
            at_risk = (
                None if medium is None or high is None or not pupils else (medium + high) / pupils
            )
            coverage = (
                _rate(get((school, band, "support_coverage")))
                if band == ALL_BANDS
                else "tikai visām klašu grupām / all bands only"
            )
            shown[f"{school}|{band}"] = [
                _count(pupils),
                "—" if pupils == 0 else _rate(at_risk),
                _rate(get((school, band, "attendance_rate"))),
                _count(get((school, band, "mk89_crossings"))),
                coverage,
            ]
    return shown


def tile_caption(cells: pl.DataFrame, cutoff: date) -> str:
    semester, status = tile_semester(cells)
    partial = f", {partial_label(cutoff)}" if status == "in progress" else ""
    return f"{semester}{partial}"


def _both(lv: str, en: str) -> str:
    """Latvian and English, escaped; a dash when there is nothing to say (a rule that is a
    fact, such as repeating the grade, has no threshold)."""
    return html.escape(f"{lv} / {en}" if lv else "—")


def definitions(config: dict) -> str:
    """The risk levels with their points and every rule with its threshold, version and basis,
    as HTML, in the data dictionary's words (`pipelines.reference.rules`)."""
    level_rows = "".join(
        f"<tr><td>{html.escape(RISK_LABELS[f'risk_{level}'])}</td>"
        f"<td>{_both(level_text(config, level, 'lv'), level_text(config, level, 'en'))}</td></tr>"
        for level in COMPOSITE_LEVELS
    )
    rule_rows = "".join(
        "<tr>"
        f"<td>{html.escape(rule['id'])}</td>"
        f"<td>{_both(rule['label_lv'], rule['label_en'])}</td>"
        f"<td>{html.escape(DOMAINS[rule['domain']])}</td>"
        f"<td>{html.escape(SEVERITIES[rule['severity']])}</td>"
        f"<td>{_both(threshold_text(rule, 'lv'), threshold_text(rule, 'en'))}</td>"
        f"<td>{html.escape(rule['version'])}</td>"
        f"<td>{html.escape(rule['basis'])}</td>"
        "</tr>"
        for rule in config["rule"]
    )
    return (
        '<section id="definitions"><h2>Definīcijas / Definitions</h2>'
        f'<p class="note">Riska līmenis: {html.escape(COMPOSITE_TEXT["lv"])}. / Risk level: '
        f"{html.escape(COMPOSITE_TEXT['en'])}. Noteikumu versija / rule set "
        f"{html.escape(config['version'])}.</p>"
        '<table id="risk-levels"><thead><tr><th>līmenis / level</th><th>punkti / points</th>'
        f"</tr></thead><tbody>{level_rows}</tbody></table>"
        '<table id="rules"><thead><tr><th>kods / id</th><th>pazīme / rule</th>'
        "<th>joma / domain</th><th>smagums / severity</th><th>slieksnis / threshold</th>"
        "<th>versija / version</th><th>pamatojums / basis</th></tr></thead>"
        f"<tbody>{rule_rows}</tbody></table></section>"
    )
