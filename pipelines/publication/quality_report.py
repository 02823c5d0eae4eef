"""The quality report: the latest run of the publication's quality gate as one HTML file,
`data/quality/report.html`, in Latvian with English alongside.

The page holds everything it shows (its style inline, no script, no link): it opens offline,
where Great Expectations' Data Docs fetched their styles, scripts and icons from CDNs and
showed empty lists. It names the content digest of the tables checked and the time of the run
in Riga time, and for every table each expectation: what it checks, its result, what was
observed, and examples of the rows that broke it. The gate (`pipelines.publication.gate`)
turns Great Expectations' results into the `ExpectationOutcome`s read here.
"""

from dataclasses import dataclass
from datetime import datetime
from html import escape
from pathlib import Path

from pipelines.reference.calendar import RIGA_SECONDS, RIGA_TIME_NOTE, riga_time

REPORT_FILE = "report.html"
PASSED = "izturēta / passed"
FAILED = "neizturēta / failed"


@dataclass(frozen=True)
class ExpectationOutcome:
    """One expectation's result on one table: `description` (Latvian / English), the Great
    Expectations `expectation` type and its `arguments`; `observed`, the value a table-level
    expectation saw; `checked` and `unexpected`, the rows a row-level one read (None for a
    column-level one) and the rows or values that broke it, with some of them as `examples`
    (each a row's cell key and value, or a value); `missing`, values expected but not found;
    `error`, the exception the expectation raised instead of a result."""

    description: str
    expectation: str
    arguments: dict[str, object]
    success: bool
    observed: object
    checked: int | None
    unexpected: int | None
    examples: list[dict[str, object]]
    missing: list[object]
    error: str | None


@dataclass(frozen=True)
class GateRun:
    """One run of the gate: the `content_digest` of the tables it checked, when
    (`checked_at`, aware), the `semesters` they must hold, the disclosure `threshold`, and
    each table's outcomes (in the order Great Expectations gives them)."""

    content_digest: str
    checked_at: datetime
    semesters: list[str]
    threshold: int
    tables: dict[str, list[ExpectationOutcome]]

    @property
    def success(self) -> bool:
        return all(o.success for outcomes in self.tables.values() for o in outcomes)


def report_file(quality_dir: Path) -> Path:
    return quality_dir / REPORT_FILE


def shown(value: object) -> str:
    """A value as the page prints it: whole floats without `.0`, lists comma-separated,
    nothing as an empty string."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | tuple | set):
        return ", ".join(shown(v) for v in value)
    return str(value)


def result_label(success: bool) -> str:
    mark, label = ("✓", PASSED) if success else ("✗", FAILED)
    return f'<span class="result {"passed" if success else "failed"}">{mark} {label}</span>'


def observed_cell(outcome: ExpectationOutcome) -> str:
    """What the expectation saw: its error, the observed value, how many rows (of those
    read) or values broke it, and the values missing."""
    parts = []
    if outcome.error is not None:
        parts.append(f'<span class="error">kļūda / error: {escape(outcome.error)}</span>')
    if outcome.observed is not None:
        parts.append(f"novērots / observed: {escape(shown(outcome.observed))}")
    if outcome.unexpected is not None and outcome.checked is not None:
        parts.append(
            f"neatbilst {outcome.unexpected} no {outcome.checked} rindām / "
            f"{outcome.unexpected} of {outcome.checked} rows unexpected"
        )
    elif outcome.unexpected is not None:
        parts.append(f"neatbilst / unexpected: {outcome.unexpected}")
    if outcome.missing:
        parts.append(f"trūkst / missing: {escape(shown(outcome.missing))}")
    return "<br>".join(parts)


def examples_cell(outcome: ExpectationOutcome) -> str:
    """The rows that broke the expectation, as a small table (their cell key and value), and
    how many of them it shows."""
    if not outcome.examples:
        return ""
    columns = list(dict.fromkeys(c for row in outcome.examples for c in row))
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{escape(shown(row.get(c)))}</td>" for c in columns) + "</tr>"
        for row in outcome.examples
    )
    total = outcome.unexpected if outcome.unexpected is not None else len(outcome.examples)
    note = f"rādīti {len(outcome.examples)} no {total} / {len(outcome.examples)} of {total} shown"
    return (
        f'<div class="examples"><table class="examples"><thead><tr>{head}</tr></thead>'
        f'<tbody>{rows}</tbody></table></div><p class="note">{note}</p>'
    )


def expectation_row(table: str, outcome: ExpectationOutcome) -> str:
    arguments = "; ".join(f"{k}={shown(v)}" for k, v in outcome.arguments.items())
    status = "passed" if outcome.success else "failed"
    return (
        f'<tr class="expectation {status}" data-table="{escape(table)}" '
        f'data-expectation="{escape(outcome.expectation)}">'
        f"<td>{escape(outcome.description)}<br>"
        f'<code>{escape(outcome.expectation)}</code> <span class="arguments">'
        f"{escape(arguments)}</span></td>"
        f"<td>{result_label(outcome.success)}</td>"
        f"<td>{observed_cell(outcome)}</td>"
        f"<td>{examples_cell(outcome)}</td></tr>"
    )


def table_section(table: str, outcomes: list[ExpectationOutcome]) -> str:
    failed = sum(not o.success for o in outcomes)
    rows = "".join(expectation_row(table, o) for o in outcomes)
    return (
        f'<section id="table-{escape(table)}" class="gate-table">'
        f"<h2>{escape(table)} {result_label(failed == 0)}</h2>"
        f"<p>{len(outcomes)} pārbaudes / expectations, {failed} neizturētas / failed</p>"
        '<table><colgroup><col class="expectation"><col class="result"><col class="observed">'
        "<col></colgroup><thead><tr><th>Pārbaude / expectation</th><th>Rezultāts / result</th>"
        "<th>Novērots / observed</th><th>Neatbilstošie piemēri / unexpected examples</th>"
        f"</tr></thead><tbody>{rows}</tbody></table></section>"
    )


STYLE = """
body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 1500px; padding: 1rem;
       color: #1d2b36; }
table { border-collapse: collapse; width: 100%; margin: 0.5rem 0 1.5rem; }
th, td { border: 1px solid #c9d1d8; padding: 0.35rem 0.5rem; text-align: left;
         vertical-align: top; }
th { background: #eef2f5; }
section > table { table-layout: fixed; }
table.examples { width: auto; margin: 0; font-size: 0.85rem; }
.result { font-weight: 600; white-space: nowrap; }
.result.passed { color: #1e6b3a; }
.result.failed, .error { color: #b3261e; }
col.expectation { width: 28%; } col.result { width: 13%; } col.observed { width: 16%; }
div.examples { overflow-x: auto; }
tr.expectation.failed > td:first-child { border-left: 4px solid #b3261e; }
.arguments, .note { color: #52606d; font-size: 0.85rem; }
dl { display: grid; grid-template-columns: max-content auto; gap: 0.25rem 1rem; }
dt { font-weight: 600; }
"""


def quality_report(run: GateRun) -> str:
    """The page of one gate run: the run's facts and a summary per table, then every table's
    expectations with their results."""
    summary = "".join(
        f'<tr><td><a href="#table-{escape(t)}">{escape(t)}</a></td><td>{len(outcomes)}</td>'
        f"<td>{sum(not o.success for o in outcomes)}</td>"
        f"<td>{result_label(all(o.success for o in outcomes))}</td></tr>"
        for t, outcomes in run.tables.items()
    )
    sections = "".join(table_section(t, outcomes) for t, outcomes in run.tables.items())
    semesters = f"{run.semesters[0]} – {run.semesters[-1]}" if run.semesters else ""
    checked_at = f"{riga_time(run.checked_at, RIGA_SECONDS)} ({RIGA_TIME_NOTE})"
    return f"""<!DOCTYPE html>
<html lang="lv">
<head>
<meta charset="utf-8">
<title>Publicēšanas kvalitātes pārbaude / Publication quality gate</title>
<style>{STYLE}</style>
</head>
<body>
<h1>Publicēšanas kvalitātes pārbaude / Publication quality gate</h1>
<p>Publicējamās tabulas pārbauda pirms katras publicēšanas; ja kāda pārbaude neiztur, nekas
netiek publicēts. / The tables are checked before every publication; if an expectation fails,
nothing is published.</p>
<dl id="run">
<dt>Rezultāts / result</dt><dd id="run-result">{result_label(run.success)}</dd>
<dt>Pārbaudīts / checked at</dt><dd id="checked-at">{checked_at}</dd>
<dt>Satura kontrolsumma / content digest</dt>
<dd><code id="content-digest">{escape(run.content_digest)}</code></dd>
<dt>Semestri / semesters</dt><dd>{escape(semesters)} ({len(run.semesters)})</dd>
<dt>Mazākais publicējamais skaits / smallest count shown</dt><dd>{run.threshold}</dd>
</dl>
<table id="summary"><thead><tr><th>Tabula / table</th><th>Pārbaudes / expectations</th>
<th>Neizturētas / failed</th><th>Rezultāts / result</th></tr></thead>
<tbody>{summary}</tbody></table>
{sections}
</body>
</html>
"""


def write_report(run: GateRun, quality_dir: Path) -> Path:
    """The run's page in `quality_dir`, replacing the previous run's whole or not at all."""
    output = report_file(quality_dir)
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.name}")
    partial.write_text(quality_report(run), encoding="utf-8")
    partial.replace(output)
    return output
