"""The analysts' dashboards: self-contained HTML files of Plotly charts, in two editions.

- The public dashboard (`dashboard.html`) reads the release in force (`data/publication/`,
  suppressed), the delivery log as it stood when the release was published (counts of files
  only) and the reference data, never the warehouse: nothing in it is finer than what the
  municipality may publish. A suppressed cell is drawn as suppressed (hatched grey, or listed
  under its chart), never as zero.
- The internal dashboard (`dashboard_internal.html`) reads the warehouse's aggregated
  publication marts (read-only), unsuppressed, and names the held and rejected files. It
  carries `INTERNAL_BANNER`, holds aggregates only, and its text is scanned for pupil keys,
  personal codes and names before it is written. It has no change view: the warehouse keeps
  no earlier run to compare with.

Both embed Plotly's JavaScript (they open offline), label in Latvian with English alongside,
show future semesters visibly empty, and draw the semester in progress hatched or dashed,
labelled `partial_label`. A school and grade-band filter in the header sets the KPI tiles, the
trend and the risk by grade band; the funnel has its own measure, semester and band.
"""

import html
import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl

from pipelines.privacy.scan import text_findings
from pipelines.publication.releases import current_release, load, previous_release, release_facts
from pipelines.publication.tables import (
    ALL_BANDS,
    MARTS,
    MEASURES,
    MUNICIPALITY,
    MUNICIPALITY_NAME,
    NOT_YET_DUE,
    disclosure_settings,
    published_tables,
)
from pipelines.reference import tables as reference
from pipelines.reference.calendar import (
    RIGA_TIME_NOTE,
    TIMEZONE,
    riga_time,
    riga_time_column,
    school_calendar,
)
from pipelines.reference.checks import TARGET_MEASURES
from pipelines.reference.rules import rules
from pipelines.reports.figures import (
    YL_OR_RD,
    Figure,
    add_annotation,
    add_shape,
    new_figure,
    plotly_js,
    side_by_side,
    stacked,
    subplot_axes,
    to_html,
    update_axes,
)
from pipelines.reports.header import (
    TILES,
    definitions,
    tile_caption,
    tiles,
)
from pipelines.reports.style import (
    INTERNAL_BANNER,
    INTERNAL_BANNER_STYLE,
    INTERNAL_COLOUR,
    PARTIAL_PATTERN,
    RISK_COLOURS,
    RISK_LABELS,
    STACK_COLOURS,
    STACK_LABELS,
    partial_label,
)

DASHBOARD_FILE = "dashboard.html"  # in the reports folder: the public dashboard
INTERNAL_DASHBOARD_FILE = "dashboard_internal.html"  # the internal one
GRADE_BANDS = tuple(reference.GRADE_BANDS)
BANDS = (ALL_BANDS, *GRADE_BANDS)
BAND_LABELS = {ALL_BANDS: "visas klašu grupas / all grade bands"} | {
    band: f"{band}. klase / grades {band}" for band in GRADE_BANDS
}
# Pupil shares compared between schools in the funnel plot.
FUNNEL_MEASURES = {
    name: MEASURES[name].label for name in ("mk89_crossings", "chronic_absence", "risk_high")
}
Z_95 = 1.959964
Z_99_8 = 3.090232
# The funnel's colours are not the risk palette's: being outside the limits is not a risk level.
OUTSIDE_99_8, OUTSIDE_95, INSIDE = "#5e3c99", "#b2abd2", "#4f6d7a"
FUNNEL_GRID = 60  # pupil counts the limits are drawn at
# Counts compared between this run and the previous one.
CHANGE_MEASURES = {
    name: MEASURES[name].label
    for name in ("pupils", "risk_medium", "risk_high", "mk89_crossings", "chronic_absence")
}
CHANGE_COLOURS = {
    "pupils": "#4f6d7a", "risk_medium": RISK_COLOURS["risk_medium"],
    "risk_high": RISK_COLOURS["risk_high"], "mk89_crossings": "#5b5f97",
    "chronic_absence": "#8c6bb1",
}  # fmt: skip
SUPPRESSED_COLOUR = STACK_COLOURS["suppressed"]
SUPPRESSED_PATTERN = "x"  # a suppressed share is hatched across, besides grey
BREAK_COLOUR = "#dbe9f6"
NO_DATA_COLOUR = "#ffffff"
FUTURE_FILL = "rgba(160, 160, 160, 0.15)"
# Above the plot, where the week charts' rotated dates and axis title leave it alone.
LEGEND_ABOVE = {"orientation": "h", "x": 0, "y": 1.01, "yanchor": "bottom"}
FILE_COLOURS = [[0, "#c6dbef"], [1, "#08306b"]]  # one file is already visibly not white
# One colour per project activity (none of them a risk colour).
ACTIVITY_COLOURS = {
    "LAS": "#1f77b4", "R9": "#17becf", "KONS": "#2ca02c", "MENT": "#9467bd",
    "INIC": "#8c564b", "PART": "#e377c2", "PAS": "#7f7f7f",
}  # fmt: skip
# The project view's rows: each measure to date.
PROJECT_ROWS = {
    name: f"{MEASURES[name].label_lv} kopā / {MEASURES[name].label_en} to date"
    for name in ("pupils_supported", "hours", "events")
}
FLAGGED_STATUSES = ("held", "rejected")
SUPPRESSION_NOTE = (
    "Slēpts (pelēks, svītrots krustiski, vai uzskaitīts zem attēla): vērtība nav publicēta, jo "
    "tā balstās uz mazāk nekā {min_count} skolēniem, attiecas uz visiem grupas skolēniem vai "
    "aizsargā šādu vērtību. Tā nav nulle. / Suppressed (grey, cross-hatched, or listed under "
    "the chart): the value is not published because it rests on fewer than {min_count} pupils, "
    "covers every pupil of its group, or protects such a value. It is not a zero."
)
INTERNAL_NOTE = (
    "Nepublicēti, neaizsargāti skaitļi no noliktavas apkopotajām tabulām: tikai apkopojumi, "
    "neviena skolēna rindas. Nesūtīt ārpus pašvaldības. / Unpublished, unsuppressed figures "
    "from the warehouse's aggregated marts: aggregates only, no pupil row. Not to leave the "
    "municipality."
)


class PupilLevelData(RuntimeError):
    """The internal dashboard's text holds a pupil key, a personal code or a name: not written."""


@dataclass(frozen=True)
class Release:
    """What a dashboard draws from: the tables (published and suppressed, or the warehouse's
    unsuppressed aggregates in the same cells), the ones published before them (None on the
    first publication and for the internal dashboard), the release facts, and the delivery
    log up to publication."""

    tables: dict[str, pl.DataFrame]
    previous: dict[str, pl.DataFrame] | None
    previous_published_at: str | None
    data_cutoff: date
    published_at: str  # ISO 8601 with its offset
    min_count: int
    project_start: date
    project_end: date
    name: str  # the release folder's name, recorded in the page
    deliveries: pl.DataFrame | None  # the delivery log; None when nothing was logged
    internal: bool = False


@dataclass(frozen=True)
class Control:
    """A dropdown above a chart: its name, label and options (value, label)."""

    name: str
    label: str
    options: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class View:
    anchor: str
    title: str
    figure: Figure  # Plotly's figure JSON (`pipelines.reports.figures`)
    notes: tuple[str, ...]
    # What the dropdowns named in `keys` (the header's `school` and `band`, or the view's own
    # `controls`) select: for each key (their values joined by "|"), an update per trace and
    # optionally of the layout, and a status line.
    keys: tuple[str, ...] = ()
    variants: dict[str, dict] = field(default_factory=dict)
    controls: tuple[Control, ...] = ()
    table: str = ""  # HTML below the chart


def values(cells: pl.DataFrame, measure: str) -> dict[tuple[str, str, str], float | None]:
    """(semester, school, dimension) → value for one measure; None where not published."""
    rows = cells.filter(pl.col("measure") == measure)
    return {
        (r["semester_id"], r["school_id"], r["dimension"]): r["value"]
        for r in rows.iter_rows(named=True)
    }


def lookup(cells: pl.DataFrame) -> dict[tuple[str, str, str, str], float | None]:
    """(semester, school, dimension, measure) → value; None where not published."""
    key = ("semester_id", "school_id", "dimension", "measure")
    return dict(zip(cells.select(key).iter_rows(), cells["value"], strict=True))


def by_school(cells: pl.DataFrame) -> dict[tuple[str, str, str], dict[str, float | None]]:
    """(semester, dimension, measure) → school → value; None where not published."""
    grouped: dict[tuple[str, str, str], dict[str, float | None]] = {}
    for (semester, school, dimension, measure), value in lookup(cells).items():
        grouped.setdefault((semester, dimension, measure), {})[school] = value
    return grouped


def suppressed_cells(cells: pl.DataFrame, measures: list[str]) -> pl.DataFrame:
    return cells.filter(pl.col("suppressed") & pl.col("measure").is_in(measures))


def _suppressed_note(cells: pl.DataFrame, labels: dict[str, str]) -> tuple[str, ...]:
    if cells.is_empty():
        return ()
    listed = ", ".join(
        f"{r['semester_id']} {r['school_id']} {r['dimension']} "
        f"{labels.get(r['measure'], r['measure'])}"
        for r in cells.sort("semester_id", "school_id", "dimension").iter_rows(named=True)
    )
    return (f"Slēptas vērtības / suppressed values ({cells.height}): {listed}.",)


def semesters(cells: pl.DataFrame) -> pl.DataFrame:
    """Every reporting period with its status, in order."""
    return cells.select("semester_id", "status").unique().sort("semester_id")


def latest(cells: pl.DataFrame) -> str:
    """The latest final semester, or the one in progress while none has ended."""
    periods = semesters(cells)
    final = periods.filter(pl.col("status") == "final")["semester_id"]
    return final.max() if len(final) else periods["semester_id"].first()


def in_progress(periods: pl.DataFrame) -> str | None:
    """The semester under way at the data cut-off, if any."""
    found = periods.filter(pl.col("status") == "in progress")["semester_id"]
    return found.first() if len(found) else None


def _patterns(x: list[str], partial: str | None, default: str = "") -> list[str]:
    """A bar pattern per category: the semester in progress hatched."""
    return [PARTIAL_PATTERN if s == partial else default for s in x]


def _bar_marker(colour: str, pattern: str | list[str]) -> dict:
    """A bar's colour and hatching, one for all its bars or one per bar ("" for none)."""
    return {"color": colour, "pattern": {"shape": pattern}}


def _split_partial(y: list, x: list[str], partial: str | None) -> tuple[list, list]:
    """A line's values as two traces: solid to the last ended semester, dashed from it to the
    semester in progress."""
    if partial is None:
        return y, [None] * len(y)
    at = x.index(partial)
    solid = [v if i < at else None for i, v in enumerate(y)]
    dashed = [v if i in (at - 1, at) else None for i, v in enumerate(y)]
    return solid, dashed


def _label(figure: Figure, x: float, text: str, xref: str, yref: str) -> None:
    """A label inside the top of a plot area, under any title above it."""
    add_annotation(
        figure, bgcolor="rgba(255, 255, 255, 0.85)", name="label", showarrow=False, text=text,
        x=x, xref=xref, y=0.98, yanchor="top", yref=yref,
    )  # fmt: skip


def _mark_periods(
    figure: Figure, x: list[str], periods: pl.DataFrame, cutoff: date, rows: int
) -> None:
    """Grey band over the semesters not yet due and a label on the one in progress, on a
    categorical semester axis; the labels sit inside the top row's plot area."""
    due = periods.filter(pl.col("status") != NOT_YET_DUE).height
    if due < periods.height:
        for row in range(1, rows + 1):
            axes = subplot_axes(row)
            add_shape(
                figure, fillcolor=FUTURE_FILL, line={"width": 0}, type="rect", x0=due - 0.5,
                x1=periods.height - 0.5, xref=axes["xaxis"], y0=0, y1=1,
                yref=f"{axes['yaxis']} domain",
            )  # fmt: skip
        _label(
            figure, (due - 0.5 + periods.height - 0.5) / 2, "vēl nav pienācis / not yet due",
            "x", "y domain",
        )  # fmt: skip
    partial = in_progress(periods)
    if partial is not None:
        _label(figure, x.index(partial), partial_label(cutoff), "x", "y domain")


# Every number drawn is rounded (percentages to 2 decimals): a float's tail of 11 digits would
# look like a personal code to the internal page's scan, and carries nothing.
def _share(count: float | None, total: float | None) -> float | None:
    if count is None or not total:
        return None
    return round(100 * count / total, 2)


def _percent(rate: float | None) -> float | None:
    return None if rate is None else round(100 * rate, 2)


def units(cells: pl.DataFrame) -> list[tuple[str, str]]:
    """The municipality, then every school by name: (school_id, name)."""
    pairs = cells.select("school_id", "school_name").unique()
    return sorted(pairs.rows(), key=lambda p: (p[0] != MUNICIPALITY, p[1]))


def trend_series(
    value: dict, x: list[str], due: set[str], partial: str | None, school: str, band: str
) -> list[dict]:
    """The trend's traces for one school and band: risk shares, the share suppressed,
    attendance (solid and, into the semester in progress, dashed) and MK 89 crossings."""
    pupils = [value.get((s, school, band, "pupils")) for s in x]
    shares = {
        level: [
            _share(value.get((s, school, band, level)), n) for s, n in zip(x, pupils, strict=True)
        ]
        for level in RISK_LABELS
    }
    hidden = [
        round(100 - sum(v for v in levels if v is not None), 2)
        if s in due and any(v is None for v in levels) and n != 0
        else None
        for s, n, levels in zip(x, pupils, zip(*shares.values(), strict=True), strict=True)
    ]
    attendance = [_percent(value.get((s, school, band, "attendance_rate"))) for s in x]
    solid, dashed = _split_partial(attendance, x, partial)
    crossings = [value.get((s, school, band, "mk89_crossings")) for s in x]
    return [
        *({"y": shares[level]} for level in RISK_COLOURS),
        {"y": hidden},
        {"y": solid},
        {"y": dashed},
        {"y": crossings},
    ]


def trend_view(release: Release) -> View:
    cells = release.tables["school_indicators"]
    periods = semesters(cells)
    x = periods["semester_id"].to_list()
    due = set(periods.filter(pl.col("status") != NOT_YET_DUE)["semester_id"])
    partial = in_progress(periods)
    value = lookup(cells)
    variants = {
        f"{school}|{band}": {"traces": trend_series(value, x, due, partial, school, band)}
        for school, _ in units(cells)
        for band in BANDS
    }
    shown = variants[f"{MUNICIPALITY}|{ALL_BANDS}"]["traces"]
    figure = stacked(
        (
            "Riska līmenis, % skolēnu / Risk level, % of pupils",
            "Apmeklējums, % / Attendance, %",
            "MK 89 sliekšņa pārsniegumi, skolēni / Cabinet Regulation No. 89 crossings, pupils",
        ),
        vertical_spacing=0.1,
    )
    figure["data"] = [
        *(
            {"type": "bar", "x": x, "y": series["y"], "name": RISK_LABELS[level],
             "marker": _bar_marker(RISK_COLOURS[level], _patterns(x, partial)),
             **subplot_axes(1)}
            for level, series in zip(RISK_COLOURS, shown, strict=False)
        ),
        {"type": "bar", "x": x, "y": shown[3]["y"], "name": STACK_LABELS["suppressed"],
         "marker": _bar_marker(SUPPRESSED_COLOUR, [SUPPRESSED_PATTERN] * len(x)),
         **subplot_axes(1)},
        {"type": "scatter", "x": x, "y": shown[4]["y"], "mode": "lines+markers",
         "name": "apmeklējums / attendance", "line": {"color": "#4f6d7a"}, **subplot_axes(2)},
        {"type": "scatter", "x": x, "y": shown[5]["y"], "mode": "lines+markers",
         "line": {"color": "#4f6d7a", "dash": "dash"},
         "name": f"apmeklējums, {partial_label(release.data_cutoff)}", "showlegend": False,
         **subplot_axes(2)},
        {"type": "bar", "x": x, "y": shown[6]["y"], "name": "MK 89",
         "marker": _bar_marker("#5b5f97", _patterns(x, partial)),
         **subplot_axes(3)},
    ]  # fmt: skip
    figure["layout"] |= {
        "barmode": "stack", "height": 760, "legend": {"orientation": "h", "y": -0.08}
    }  # fmt: skip
    update_axes(figure, "x", categoryorder="array", categoryarray=x, range=[-0.5, len(x) - 0.5])
    update_axes(figure, "y", rangemode="tozero")
    _mark_periods(figure, x, periods, release.data_cutoff, rows=3)
    notes = [
        "Izvēlētā skola un klašu grupa (filtrs augšā); sākumā Ogres novads, visas klašu grupas. "
        f"{partial or ''} svītrots vai raustīts: {partial_label(release.data_cutoff)}, semestris "
        "vēl turpinās; semestri līdz 2028/29 S2 bez datiem vēl nav pienākuši. / The school and "
        "grade band chosen in the filter above; at first Ogre municipality, all grade bands. "
        f"{partial or ''} hatched or dashed: to {release.data_cutoff:%d.%m.%Y}, the semester "
        "is still under way; the empty semesters to 2028/29 S2 are not yet due."
    ]
    municipality = cells.filter(
        (pl.col("school_id") == MUNICIPALITY) & (pl.col("dimension") == ALL_BANDS)
    )
    measures = ["pupils", *RISK_LABELS, "attendance_rate", "mk89_crossings"]
    notes += _suppressed_note(suppressed_cells(municipality, measures), RISK_LABELS)
    return View(
        "trend", "Tendence / Trend", figure, tuple(notes), ("school", "band"), variants
    )  # fmt: skip


def spread(p: float, pupils: float, z: float) -> float:
    """Half the width of the funnel at a pupil count: z standard errors of a share p (the
    normal approximation to the binomial)."""
    return z * math.sqrt(p * (1 - p) / pupils)


def control_limits(p: float, pupils: list[float], z: float) -> tuple[list[float], list[float]]:
    """Lower and upper funnel limits for a share p at each pupil count, clipped to [0, 1]."""
    spreads = [spread(p, n, z) for n in pupils]
    return [max(0.0, p - s) for s in spreads], [min(1.0, p + s) for s in spreads]


# Where a point's label may go, as Plotly names it, and the label box's offset from the point
# in units of the label's width (dx) and height (dy), upwards positive.
LABEL_PLACES = {
    "top center": (-0.5, 0.6), "bottom center": (-0.5, -1.6), "middle right": (0.25, -0.5),
    "middle left": (-1.25, -0.5), "top right": (0.1, 0.4), "top left": (-1.1, 0.4),
    "bottom right": (0.1, -1.4), "bottom left": (-1.1, -1.4),
}  # fmt: skip
PLOT_SIZE = (1080.0, 400.0)  # the funnel's plot area in pixels on a 1280-pixel page
CHAR_WIDTH, TEXT_HEIGHT, MARKER = 8.0, 15.0, 6.0


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    return max(0.0, width) * max(0.0, height)


def label_places(
    points: list[tuple[float, float, str]], x_range: tuple[float, float],
    y_range: tuple[float, float],
) -> list[str]:  # fmt: skip
    """A text position per point so that labels overlap no other label and no point where a
    place allows: each label, from the left, takes the first place that collides least (the
    first that collides not at all ends the search: no later place can do better)."""
    width, height = PLOT_SIZE
    pixels = [
        ((x - x_range[0]) / (x_range[1] - x_range[0]) * width,
         (y - y_range[0]) / (y_range[1] - y_range[0]) * height)
        for x, y, _ in points
    ]  # fmt: skip
    taken = [(px - MARKER, py - MARKER, px + MARKER, py + MARKER) for px, py in pixels]
    places = [""] * len(points)
    for i in sorted(range(len(points)), key=lambda i: pixels[i]):
        px, py = pixels[i]
        box_w, box_h = CHAR_WIDTH * len(points[i][2]), TEXT_HEIGHT
        own = (px - MARKER, py - MARKER, px + MARKER, py + MARKER)
        others = [other for other in taken if other != own]
        best = None
        for rank, (place, (dx, dy)) in enumerate(LABEL_PLACES.items()):
            left, bottom = px + dx * box_w, py + dy * box_h
            box = (left, bottom, left + box_w, bottom + box_h)
            clash = sum(_overlap(box, other) for other in others)
            outside = (left < 0) + (left + box_w > width) + (bottom < 0) + (bottom + box_h > height)
            score = (clash + 1e6 * outside, rank)
            if best is None or score < best[0]:
                best = (score, place, box)
            if score[0] == 0:
                break
        places[i] = best[1]
        taken.append(best[2])
    return places


def _scatter_figure(
    height: int, x_title: str, y_title: str, x_range: tuple | None, y_range: tuple | None
) -> Figure:
    """A figure of points on two numeric axes, each titled and spanning its range (Plotly's
    own without one), the legend below."""
    return new_figure(
        xaxis={"title": {"text": x_title}} | ({} if x_range is None else {"range": list(x_range)}),
        yaxis={"title": {"text": y_title}} | ({} if y_range is None else {"range": list(y_range)}),
        legend={"orientation": "h", "y": -0.2, "yanchor": "top"}, height=height,
    )  # fmt: skip


def funnel_series(
    pupils: dict[str, float | None], counts: dict[str, float | None], semester: str, band: str,
    label: str,
) -> dict:  # fmt: skip
    """The funnel's four traces (schools, 95% and 99.8% limits, the municipality), the axes'
    ranges and a status line, for one measure, semester and grade band: `pupils` and `counts`
    (of the measure) per school, the municipality's among them."""
    total, count = pupils.get(MUNICIPALITY), counts.get(MUNICIPALITY)
    empty = {"x": [], "y": []}
    if count is None or not total:
        status = (
            f"{label}, {semester}, {BAND_LABELS[band]}: novada vērtība slēpta vai nav skolēnu, "
            "nav attēlots / the municipality's value is suppressed or there are no pupils, "
            "not drawn"
        )
        schools = {"x": [], "y": [], "text": [], "textposition": [], "marker.color": []}
        return {"traces": [schools, empty, empty, empty], "status": status}
    base = count / total
    drawn = sorted(
        (school, counts[school], pupils[school])
        for school in counts
        if school != MUNICIPALITY and counts[school] is not None and pupils.get(school)
    )
    hidden = sorted(
        school
        for school in counts
        if school != MUNICIPALITY and pupils.get(school) and counts[school] is None
    )
    largest = max((n for _, _, n in drawn), default=100)
    grid = [round(5 + (largest * 1.1 - 5) * i / (FUNNEL_GRID - 1), 1) for i in range(FUNNEL_GRID)]
    shares = [round(100 * c / n, 2) for _, c, n in drawn]
    colours = [
        OUTSIDE_99_8 if abs(c / n - base) > spread(base, n, Z_99_8)
        else OUTSIDE_95 if abs(c / n - base) > spread(base, n, Z_95)
        else INSIDE
        for _, c, n in drawn
    ]  # fmt: skip
    x_range = (0.0, round(largest * 1.15, 1))
    y_range = (0.0, round(max([*shares, 100 * base]) * 1.35 + 1, 1))
    places = label_places(
        [(n, share, school) for (school, _, n), share in zip(drawn, shares, strict=True)],
        x_range, y_range,
    )  # fmt: skip
    limits = []
    for z in (Z_95, Z_99_8):
        low, high = control_limits(base, grid, z)
        limits.append({"x": grid + grid[::-1], "y": [round(100 * v, 2) for v in high + low[::-1]]})
    status = f"{label}, {semester}, {BAND_LABELS[band]}."
    if hidden:
        status += " Slēpts, nav attēlots / suppressed, not drawn: " + ", ".join(hidden) + "."
    return {
        "traces": [
            {"x": [n for _, _, n in drawn], "y": shares, "text": [s for s, _, _ in drawn],
             "textposition": places, "marker.color": colours},
            *limits,
            {"x": [grid[0], grid[-1]], "y": [round(100 * base, 2)] * 2},
        ],
        "layout": {"xaxis.range": list(x_range), "yaxis.range": list(y_range)},
        "status": status,
    }  # fmt: skip


def funnel_view(release: Release) -> View:
    cells = release.tables["school_indicators"]
    periods = semesters(cells).filter(pl.col("status") != NOT_YET_DUE)
    partial = in_progress(periods)
    per_school = by_school(cells)
    variants = {
        f"{measure}|{semester}|{band}": funnel_series(
            per_school.get((semester, band, "pupils"), {}),
            per_school.get((semester, band, measure), {}),
            semester,
            band,
            label,
        )
        for measure, label in FUNNEL_MEASURES.items()
        for semester in periods["semester_id"]
        for band in BANDS
    }
    default = f"{next(iter(FUNNEL_MEASURES))}|{latest(cells)}|{ALL_BANDS}"
    schools, limit_95, limit_99_8, municipality = variants[default]["traces"]
    layout = variants[default].get("layout", {})
    figure = _scatter_figure(
        560, "skolēni / pupils", "% skolēnu / % of pupils", layout.get("xaxis.range"),
        layout.get("yaxis.range"),
    )  # fmt: skip
    figure["data"] = [
        {"type": "scatter", "x": schools["x"], "y": schools["y"], "text": schools["text"],
         "textposition": schools["textposition"], "mode": "markers+text",
         "marker": {"color": schools["marker.color"], "size": 10}, "name": "skolas / schools",
         "hovertemplate": "%{text}: %{y:.1f}% no %{x} skolēniem / of %{x} pupils<extra></extra>"},
        *(
            {"type": "scatter", "x": limits["x"], "y": limits["y"], "mode": "lines",
             "line": {"dash": dash, "color": "#777"}, "name": name, "hoverinfo": "skip"}
            for limits, name, dash in ((limit_95, "95% robežas / limits", "dash"),
                                       (limit_99_8, "99,8% robežas / limits", "dot"))
        ),
        {"type": "scatter", "x": municipality["x"], "y": municipality["y"], "mode": "lines",
         "line": {"color": "#333"}, "name": "novadā / municipality", "hoverinfo": "skip"},
    ]  # fmt: skip
    semester_labels = tuple(
        (s, f"{s} ({partial_label(release.data_cutoff)})" if s == partial else s)
        for s in periods["semester_id"]
    )
    controls = (
        Control("funnel-measure", "rādītājs / measure", tuple(FUNNEL_MEASURES.items())),
        Control("funnel-semester", "semestris / semester", semester_labels[::-1]),
        Control("funnel-band", "klašu grupa / grade band", tuple(BAND_LABELS.items())),
    )
    notes = [
        "Violets: ārpus 99,8% robežām, skola atšķiras no novada vairāk, nekā nejaušība "
        "skaidro; gaiši violets: ārpus 95%; mazu skolu izkliede robežās ir troksnis. / Purple: "
        "outside the 99.8% limits, the school differs from the municipality by more than "
        "chance explains; light purple: outside 95%; a small school's spread within the "
        "limits is noise."
    ]
    return View(
        "funnel", "Skolu salīdzinājums / School comparison", figure, tuple(notes),
        tuple(c.name for c in controls), variants, controls,
    )  # fmt: skip


def composition_series(value: dict, due: list[str], school: str) -> list[dict]:
    """Risk levels by grade band for one school: per semester, a trace per level and the
    share suppressed."""
    traces = []
    for semester in due:
        shares = {
            level: [
                _share(value.get((semester, school, band, level)),
                       value.get((semester, school, band, "pupils")))
                for band in GRADE_BANDS
            ]
            for level in RISK_LABELS
        }  # fmt: skip
        pupils = [value.get((semester, school, band, "pupils")) for band in GRADE_BANDS]
        shares["suppressed"] = [
            round(100 - sum(v for v in band if v is not None), 2)
            if any(v is None for v in band) and n != 0 else None
            for n, band in zip(pupils, zip(*shares.values(), strict=True), strict=True)
        ]  # fmt: skip
        traces += [{"y": shares[level]} for level in STACK_LABELS]
    return traces


def composition_view(release: Release) -> View:
    cells = release.tables["school_indicators"]
    periods = semesters(cells)
    partial = in_progress(periods)
    due = periods.filter(pl.col("status") != NOT_YET_DUE)["semester_id"].to_list()
    value = lookup(cells)
    variants = {
        school: {"traces": composition_series(value, due, school)} for school, _ in units(cells)
    }
    titles = [f"{s} ({partial_label(release.data_cutoff)})" if s == partial else s for s in due]
    figure = side_by_side(tuple(titles))
    shown = iter(variants[MUNICIPALITY]["traces"])
    for column, semester in enumerate(due, start=1):
        for level in STACK_LABELS:
            pattern = (
                SUPPRESSED_PATTERN if level == "suppressed"
                else PARTIAL_PATTERN if semester == partial else ""
            )  # fmt: skip
            figure["data"].append(
                {"type": "bar", "x": list(GRADE_BANDS), "y": next(shown)["y"],
                 "name": STACK_LABELS[level], "legendgroup": level, "showlegend": column == 1,
                 "marker": _bar_marker(STACK_COLOURS[level], pattern),
                 **subplot_axes(column)}
            )  # fmt: skip
    figure["layout"] |= {
        "barmode": "stack", "height": 520,
        "legend": {"orientation": "h", "y": -0.3, "yanchor": "top"},
    }  # fmt: skip
    figure["layout"]["yaxis"]["title"] = {"text": "% skolēnu / % of pupils"}
    update_axes(figure, "x", title={"text": "klašu grupa / grade band"}, type="category")
    notes = [
        "Izvēlētā skola (filtrs augšā); sākumā Ogres novads. / The school chosen in the filter "
        "above; at first Ogre municipality."
    ]
    municipality = cells.filter(
        (pl.col("school_id") == MUNICIPALITY) & (pl.col("dimension") != ALL_BANDS)
    )
    notes += _suppressed_note(suppressed_cells(municipality, list(RISK_LABELS)), RISK_LABELS)
    return View(
        "composition", "Riska sastāvs pa klašu grupām / Risk by grade band", figure,
        tuple(notes), ("school",), variants,
    )  # fmt: skip


def _legend_square(name: str, colour: str) -> dict:
    """A legend entry for a colour drawn by a heatmap (heatmaps have no legend)."""
    return {
        "type": "bar", "x": [None], "y": [None], "name": name, "showlegend": True,
        "marker": _bar_marker(colour, "") | {"line": {"color": "#888", "width": 1}},
        "hoverinfo": "skip",
    }  # fmt: skip


def _mark_weeks(figure: Figure, weeks: list[str], cutoff: date, semester_start: date) -> None:
    """A dashed line at the first week of the semester in progress, labelled with its cut-off."""
    later = [i for i, week in enumerate(weeks) if week >= semester_start.isoformat()]
    if not later:
        return
    add_shape(
        figure, line={"color": "#333", "dash": "dash"}, type="line", x0=later[0] - 0.5,
        x1=later[0] - 0.5, xref="x", y0=0, y1=1, yref="y domain",
    )  # fmt: skip
    add_annotation(
        figure, bgcolor="rgba(255, 255, 255, 0.85)", name="label", showarrow=False,
        text=f"semestris turpinās / under way, {partial_label(cutoff)}", x=later[0] - 0.5,
        xanchor="left", xref="x", y=1, yanchor="top", yref="paper",
    )  # fmt: skip


def _week_grid(release: Release, weeks: list[str], rows_height: int) -> Figure:
    """A figure for a heatmap of weeks (Monday, as categories) by row: the semester's weeks
    marked, the legend above, white where there is nothing."""
    figure = new_figure(
        height=200 + rows_height, plot_bgcolor=NO_DATA_COLOUR, legend=LEGEND_ABOVE,
        xaxis={"title": {"text": "nedēļa (pirmdiena) / week (Monday)"}, "type": "category",
               "nticks": 24},
        yaxis={"type": "category"},
    )  # fmt: skip
    start = _semester_start(semesters(release.tables["school_indicators"]))
    if start is not None:
        _mark_weeks(figure, weeks, release.data_cutoff, start)
    return figure


def _semester_start(periods: pl.DataFrame) -> date | None:
    partial = in_progress(periods)
    starts = {s.semester_id: s.start for s in school_calendar().semesters}
    return starts[partial] if partial else None


def heatmap_view(release: Release) -> View:
    cells = release.tables["weekly_absence"].filter(
        (pl.col("status") != NOT_YET_DUE) & (pl.col("dimension") <= release.data_cutoff.isoformat())
    )
    weeks = sorted(cells["dimension"].unique().to_list())
    names = dict(units(cells))
    rows = [school for school, _ in units(cells)][::-1]
    rates = {
        (r["school_id"], r["dimension"]): r
        for r in cells.filter(pl.col("measure") == "absence_rate").iter_rows(named=True)
    }
    days = values(cells, "school_days")
    day_of = {(k[1], k[2]): v for k, v in days.items()}
    absence = [[_percent(rates[(s, w)]["value"]) for w in weeks] for s in rows]
    hidden = [[1 if rates[(s, w)]["suppressed"] else None for w in weeks] for s in rows]
    breaks = [[1 if day_of[(s, w)] == 0 else None for w in weeks] for s in rows]
    y = [names[s] for s in rows]
    figure = _week_grid(release, weeks, 26 * len(rows))
    figure["data"] = [
        {"type": "heatmap", "x": weeks, "y": y, "z": absence, "colorscale": YL_OR_RD, "zmin": 0,
         "colorbar": {"title": {"text": "% kavēts<br>% missed"}}, "name": "kavējumi / absence",
         "hovertemplate": "%{y}, %{x}: %{z:.1f}% stundu kavētas / of lessons missed"
                          "<extra></extra>"},
        {"type": "heatmap", "x": weeks, "y": y, "z": hidden,
         "colorscale": [[0, SUPPRESSED_COLOUR], [1, SUPPRESSED_COLOUR]], "showscale": False,
         "name": STACK_LABELS["suppressed"],
         "hovertemplate": f"%{{y}}, %{{x}}: {STACK_LABELS['suppressed']}<extra></extra>"},
        {"type": "heatmap", "x": weeks, "y": y, "z": breaks,
         "colorscale": [[0, BREAK_COLOUR], [1, BREAK_COLOUR]], "showscale": False,
         "name": "brīvdienas / break",
         "hovertemplate": "%{y}, %{x}: brīvdienas / break<extra></extra>"},
        _legend_square("brīvdienas / break", BREAK_COLOUR),
        _legend_square(STACK_LABELS["suppressed"], SUPPRESSED_COLOUR),
        _legend_square(
            "balts: skola nedarbojās vai nav skolēnu / white: school not open or no pupils",
            NO_DATA_COLOUR,
        ),
    ]  # fmt: skip
    notes = [
        "Kavēto stundu īpatsvars nedēļā (bez kavējumiem, kas nav mācību dienā). Gaiši zils: "
        "brīvdienas; pelēks: slēpts; balts: skola nedarbojās vai tai nebija skolēnu. / Share of "
        "expected lessons missed per week. Light blue: break; grey: suppressed; white: the "
        "school was not open or had no pupils."
    ]
    notes += _suppressed_note(
        suppressed_cells(cells, ["absence_rate"]), {"absence_rate": "kavējumi / absence"}
    )
    return View("heatmap", "Kavējumi pa nedēļām / Weekly absence", figure, tuple(notes))


def coverage_view(release: Release) -> View:
    cells = release.tables["school_indicators"].filter(pl.col("dimension") == ALL_BANDS)
    semester = latest(cells)
    cells = cells.filter(pl.col("semester_id") == semester)
    medium, high = values(cells, "risk_medium"), values(cells, "risk_high")
    coverage = values(cells, "support_coverage")
    shown, hidden = [], []
    for key in sorted(coverage):
        if key[1] == MUNICIPALITY:
            continue
        if medium[key] is None or high[key] is None or coverage[key] is None:
            hidden.append(key[1])
        else:
            shown.append((key[1], medium[key] + high[key], coverage[key]))
    x_range = (0.0, round(max((n for _, n, _ in shown), default=10) * 1.15, 1))
    top = max((100 * c for _, _, c in shown), default=50) * 1.3 + 5
    y_range = (0.0, round(min(100.0, top), 1))
    places = label_places([(n, 100 * c, s) for s, n, c in shown], x_range, y_range)
    figure = _scatter_figure(
        480, "skolēni ar vidēju vai augstu risku / pupils at medium or high risk",
        "no tiem ar projekta atbalstu, % / of them supported, %", x_range, y_range,
    )  # fmt: skip
    figure["data"].append(
        {"type": "scatter", "x": [n for _, n, _ in shown],
         "y": [round(100 * c, 2) for _, _, c in shown], "text": [s for s, _, _ in shown],
         "mode": "markers+text", "textposition": places,
         "marker": {"size": 11, "color": "#4f6d7a"}, "name": "skolas / schools",
         "hovertemplate": "%{text}: %{y:.1f}% no %{x} riska skolēniem atbalstīti / of %{x} "
                          "at-risk pupils supported<extra></extra>"}
    )  # fmt: skip
    municipality = coverage[(semester, MUNICIPALITY, ALL_BANDS)]
    if municipality is not None:
        figure["data"].append(
            {"type": "scatter", "x": list(x_range), "y": [round(100 * municipality, 2)] * 2,
             "mode": "lines", "line": {"dash": "dash", "color": "#333"},
             "name": f"novadā / municipality {100 * municipality:.1f}%", "hoverinfo": "skip"}
        )  # fmt: skip
    notes = [f"{semester}. Atbalsts: jebkura projekta aktivitāte semestrī. / Support: any "
             "project activity in the semester."]  # fmt: skip
    if hidden:
        notes.append("Slēpts, nav attēlots / suppressed, not drawn: " + ", ".join(hidden))
    return View(
        "coverage", "Atbalsts pret risku / Support coverage against risk", figure, tuple(notes)
    )


def target_path(target: float, start: date, due: date, days: list[date]) -> list[float]:
    """A cumulative target rising evenly from zero at `start` to `target` at `due`."""
    return [
        round(target * min(1.0, max(0.0, (day - start).days / (due - start).days)), 1)
        for day in days
    ]


def project_view(release: Release) -> View:
    cells = release.tables["project_to_date"]
    periods = semesters(cells)
    semester_ids = periods["semester_id"].to_list()
    partial = in_progress(periods)
    calendar = {s.semester_id: s for s in school_calendar().semesters}
    reached = [
        min(calendar[s].last_day, release.data_cutoff) if status == "in progress"
        else calendar[s].last_day
        for s, status in periods.iter_rows()
    ]  # fmt: skip
    due_label = f"{release.project_end:%d.%m.%Y}"
    x = [*semester_ids, due_label]
    first_start = calendar[semester_ids[0]].start
    targets = reference.project_targets()
    value = lookup(cells)
    units_of = dict(reference.activities().select("activity", "unit").unique().iter_rows())
    figure = stacked(tuple(PROJECT_ROWS.values()), vertical_spacing=0.09)
    for activity, colour in ACTIVITY_COLOURS.items():
        for measure in TARGET_MEASURES[units_of[activity]]:
            axes = subplot_axes(list(PROJECT_ROWS).index(measure) + 1)
            actual = [value.get((s, MUNICIPALITY, activity, measure)) for s in semester_ids]
            solid, dashed = _split_partial(actual, semester_ids, partial)
            first = measure == TARGET_MEASURES[units_of[activity]][0]
            target = targets.filter(
                (pl.col("activity") == activity) & (pl.col("measure") == measure)
            ).row(0, named=True)
            path = target_path(target["target"], first_start, target["due"],
                               [*reached, target["due"]])  # fmt: skip
            figure["data"] += [
                {"type": "scatter", "x": semester_ids, "y": solid, "mode": "lines+markers",
                 "name": activity, "legendgroup": activity, "showlegend": first,
                 "line": {"color": colour}, **axes},
                {"type": "scatter", "x": semester_ids, "y": dashed, "mode": "lines+markers",
                 "name": activity, "legendgroup": activity, "showlegend": False,
                 "line": {"color": colour, "dash": "dash"}, **axes},
                {"type": "scatter", "x": x, "y": path, "mode": "lines",
                 "name": f"{activity} mērķis / target", "legendgroup": activity,
                 "showlegend": False, "line": {"color": colour, "dash": "dot", "width": 1.5},
                 "hovertemplate": f"{activity} mērķis / target %{{x}}: %{{y:,.0f}}"
                                  "<extra></extra>", **axes},
            ]  # fmt: skip
    figure["data"] += [
        {"type": "scatter", "x": [None], "y": [None], "mode": "lines", "name": name,
         "line": {"color": "#333", "dash": dash}}
        for name, dash in (("faktiski / actual", "solid"), ("mērķis / target", "dot"),
                           (f"{partial_label(release.data_cutoff)}", "dash"))
    ]  # fmt: skip
    figure["layout"] |= {
        "height": 900, "legend": {"orientation": "h", "y": -0.06, "yanchor": "top"}
    }  # fmt: skip
    update_axes(figure, "x", categoryorder="array", categoryarray=x, range=[-0.5, len(x) - 0.5])
    periods_to_due = pl.concat(
        [periods, pl.DataFrame({"semester_id": [due_label], "status": [NOT_YET_DUE]})]
    )
    _mark_periods(figure, x, periods_to_due, release.data_cutoff, rows=3)
    notes = [
        f"Projekts {release.project_start:%d.%m.%Y}–{release.project_end:%d.%m.%Y}. Ogres "
        "novads, kopā kopš sākuma pa aktivitātēm: unikāli atbalstītie skolēni, stundas, grupu "
        "pasākumi. Punktēts: mērķis, vienmērīgi no 01.09.2025 līdz mērķim "
        f"{release.project_end:%d.%m.%Y} (sintētiski mērķi, data/reference/project_targets.csv). "
        "/ Ogre municipality, to date per activity: unique pupils supported, hours, group "
        "events. Dotted: the target, rising evenly from 01.09.2025 to the target on "
        f"{release.project_end:%d.%m.%Y} (synthetic targets)."
    ]
    measures = list(PROJECT_ROWS)
    notes += _suppressed_note(suppressed_cells(cells, measures), {})
    return View("project", "Projekta uzraudzība / Project monitoring", figure, tuple(notes))


def delivery_weeks(deliveries: pl.DataFrame) -> pl.DataFrame:
    """Per school and week (the Monday of the day a file arrived, Riga time): files received,
    and of them held or rejected."""
    local = pl.col("received_at").dt.convert_time_zone(TIMEZONE).dt.date()
    return (
        deliveries.with_columns(week=local.dt.truncate("1w"))
        .group_by("school_id", "week")
        .agg(files=pl.len(), flagged=pl.col("status").is_in(FLAGGED_STATUSES).sum())
        .sort("school_id", "week")
    )


def flagged_files(deliveries: pl.DataFrame) -> pl.DataFrame:
    """The held and rejected files with why, Riga time."""
    return (
        deliveries.filter(pl.col("status").is_in(FLAGGED_STATUSES))
        .select(
            "school_id",
            "file",
            "kind",
            "status",
            "reason",
            received=riga_time_column("received_at"),
        )
        .sort("school_id", "file")
    )


def completeness_view(release: Release) -> View:
    title = "Datu pilnīgums / Data completeness"
    if release.deliveries is None or release.deliveries.is_empty():
        figure = new_figure()
        add_annotation(
            figure, name="label", showarrow=False,
            text="Nav reģistrētu piegāžu / no delivery logged", x=0.5, xref="paper", y=0.5,
            yref="paper",
        )  # fmt: skip
        notes = ("Piegāžu žurnāls ir tukšs. / The delivery log is empty.",)
        return View("completeness", title, figure, notes)
    weekly = delivery_weeks(release.deliveries)
    names = {s.school_id: s.name for s in reference.schools()}
    names |= {"_municipality": f"{MUNICIPALITY_NAME} (pašvaldības faili / municipality's files)"}
    first, last = weekly["week"].min(), weekly["week"].max()
    weeks = [first + timedelta(weeks=i) for i in range((last - first).days // 7 + 1)]
    rows = sorted(weekly["school_id"].unique().to_list(), key=lambda s: names.get(s, s))[::-1]
    files = {(r["school_id"], r["week"]): r for r in weekly.iter_rows(named=True)}
    x = [w.isoformat() for w in weeks]
    y = [names.get(s, s) for s in rows]
    z = [[files[(s, w)]["files"] if (s, w) in files else None for w in weeks] for s in rows]
    flagged = [(s, w, files[(s, w)]["flagged"]) for s, w in files if files[(s, w)]["flagged"]]
    figure = _week_grid(release, x, 24 * len(rows))
    figure["data"] = [
        {"type": "heatmap", "x": x, "y": y, "z": z, "colorscale": FILE_COLOURS, "zmin": 1,
         "name": "faili / files", "colorbar": {"title": {"text": "faili<br>files"}},
         "hovertemplate": "%{y}, %{x}: %{z} faili / files<extra></extra>"},
        {"type": "scatter", "x": [w.isoformat() for _, w, _ in flagged],
         "y": [names.get(s, s) for s, _, _ in flagged], "text": [str(n) for _, _, n in flagged],
         "mode": "markers+text", "textposition": "middle right",
         "marker": {"symbol": "x", "size": 11, "color": "#000"},
         "name": "aizturēti vai noraidīti faili / held or rejected files",
         "hovertemplate": "%{y}, %{x}: %{text} aizturēti vai noraidīti / held or rejected"
                          "<extra></extra>"},
        _legend_square("balts: nav faila / white: no file", NO_DATA_COLOUR),
    ]  # fmt: skip
    counts = flagged_files(release.deliveries).group_by("status").len().sort("status")
    summary = ", ".join(f"{status} {n}" for status, n in counts.iter_rows()) or "nav / none"
    notes = [
        "Saņemtie faili pa skolām un nedēļām (Rīgas laiks); krustiņš: aizturēti vai noraidīti "
        f"faili, to skaits. Kopā: {summary}. / Files received per school and week (Riga "
        f"time); a cross: held or rejected files, how many. In all: {summary}."
    ]
    table = ""
    if release.internal:
        table = _files_table(flagged_files(release.deliveries))
    else:
        notes.append(
            "Publiskajā pārskatā tikai failu skaits; failu nosaukumi un iemesli ir iekšējā. / "
            "The public dashboard shows counts of files only; names and reasons are internal."
        )
    return View("completeness", title, figure, tuple(notes), table=table)  # fmt: skip


def _files_table(files: pl.DataFrame) -> str:
    if files.is_empty():
        return '<p class="note">Nav aizturētu vai noraidītu failu. / No held or rejected file.</p>'
    header = "".join(
        f"<th>{html.escape(h)}</th>"
        for h in (
            "skola / school",
            "fails / file",
            "veids / kind",
            "statuss / status",
            "iemesls / reason",
            "saņemts / received",
        )
    )
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v or ''))}</td>" for v in row) + "</tr>"
        for row in files.select("school_id", "file", "kind", "status", "reason", "received").rows()
    )
    return (
        f'<table id="flagged-files"><thead><tr>{header}</tr></thead><tbody>{rows}</tbody></table>'
    )


def changes(current: pl.DataFrame, previous: pl.DataFrame) -> pl.DataFrame:
    """The school indicators (all grade bands) that changed since the previous run: for cells
    published in both runs, the values before and now; for cells suppressed in only one of
    them, no values (`compared` false). Semesters not yet due in either run are left out."""
    key = ["semester_id", "school_id", "dimension", "measure"]
    both = (
        current.filter(
            pl.col("measure").is_in(list(CHANGE_MEASURES)) & (pl.col("dimension") == ALL_BANDS)
        )
        .join(previous, on=key, suffix="_before")
        .filter((pl.col("status") != NOT_YET_DUE) & (pl.col("status_before") != NOT_YET_DUE))
    )
    compared = ~pl.col("suppressed") & ~pl.col("suppressed_before")
    return (
        both.filter(
            (pl.col("suppressed") != pl.col("suppressed_before"))
            | (compared & (pl.col("value") != pl.col("value_before")))
        )
        .select(
            "semester_id",
            "school_id",
            "measure",
            before=pl.when(compared).then(pl.col("value_before")),
            now=pl.when(compared).then(pl.col("value")),
            change=pl.when(compared).then(pl.col("value") - pl.col("value_before")),
            compared=compared,
        )
        .sort("semester_id", "school_id", "measure")
    )


CHANGE_TITLE = "Izmaiņas kopš iepriekšējās publikācijas / Change since the previous publication"


def first_publication_view(release: Release) -> View:
    """The first publication has nothing to compare with: its own values for the municipality,
    so that the next one's changes have a reference."""
    cells = release.tables["school_indicators"].filter(
        (pl.col("school_id") == MUNICIPALITY) & (pl.col("dimension") == ALL_BANDS)
        & (pl.col("status") != NOT_YET_DUE)
    )  # fmt: skip
    due = semesters(cells)["semester_id"].to_list()
    partial = in_progress(semesters(cells))
    shown = [f"{s} ({partial_label(release.data_cutoff)})" if s == partial else s for s in due]
    figure = new_figure(
        barmode="group", height=200 + 60 * len(due), xaxis={"title": {"text": "skolēni / pupils"}},
        yaxis={"autorange": "reversed", "type": "category"},
        legend={"orientation": "h", "y": -0.25, "yanchor": "top"},
    )  # fmt: skip
    for measure, label in CHANGE_MEASURES.items():
        counts = values(cells, measure)
        figure["data"].append(
            {"type": "bar", "y": shown, "x": [counts[(s, MUNICIPALITY, ALL_BANDS)] for s in due],
             "orientation": "h", "name": label,
             "marker": _bar_marker(CHANGE_COLOURS[measure], _patterns(due, partial))}
        )  # fmt: skip
    notes = (
        "Pirmā publikācija: nav ar ko salīdzināt; attēlotas šīs publikācijas vērtības Ogres "
        "novadā, pret kurām nākamā rādīs izmaiņas. / First publication: nothing to compare "
        "with; the chart shows this publication's values for Ogre municipality, against which "
        "the next one will show the changes.",
    )
    return View("change", CHANGE_TITLE, figure, notes)


def change_view(release: Release) -> View:
    if release.previous is None:
        return first_publication_view(release)
    changed = changes(release.tables["school_indicators"], release.previous["school_indicators"])
    shown = changed.filter(pl.col("compared"))
    figure = new_figure(
        barmode="group", height=200 + 22 * max(1, shown.select("semester_id", "school_id")
                                                .n_unique()),
        xaxis={"title": {"text": "izmaiņas, skolēni / change, pupils"}},
        yaxis={"autorange": "reversed"}, legend={"orientation": "h", "y": -0.3, "yanchor": "top"},
    )  # fmt: skip
    for measure, label in CHANGE_MEASURES.items():
        rows = shown.filter(pl.col("measure") == measure)
        figure["data"].append(
            {"type": "bar",
             "y": [f"{s} {school}" for s, school in rows.select("semester_id", "school_id").rows()],
             "x": rows["change"].to_list(), "orientation": "h", "name": label,
             "marker": {"color": CHANGE_COLOURS[measure]},
             "customdata": rows.select("before", "now").rows(),
             "hovertemplate": "%{y}: %{customdata[0]} → %{customdata[1]}<extra>" + label
                              + "</extra>"}
        )  # fmt: skip
    previous = f"{riga_time(release.previous_published_at)} ({RIGA_TIME_NOTE})"
    notes = [
        f"Salīdzināts ar publikāciju {previous}; mainījušās publicētās vērtības: {shown.height}. "
        f"/ Compared with the publication of {previous}; published values changed: "
        f"{shown.height}."
    ]
    hidden = changed.filter(~pl.col("compared"))
    if not hidden.is_empty():
        listed = ", ".join(
            f"{s} {school} {CHANGE_MEASURES[m]}"
            for s, school, m in hidden.select("semester_id", "school_id", "measure").rows()
        )
        notes.append(f"Slēpts vienā no abām, nav salīdzināts / suppressed in one of the two, "
                     f"not compared: {listed}")  # fmt: skip
    if shown.is_empty():
        add_annotation(
            figure, name="label", showarrow=False, text="Nekas nav mainījies / nothing changed",
            x=0.5, xref="paper", y=0.5, yref="paper",
        )  # fmt: skip
        notes.append("Nekas nav mainījies. / Nothing changed.")
    return View("change", CHANGE_TITLE, figure, tuple(notes))


def views(release: Release) -> list[View]:
    drawn = [
        completeness_view(release),
        trend_view(release),
        funnel_view(release),
        composition_view(release),
        heatmap_view(release),
        coverage_view(release),
        project_view(release),
    ]
    return drawn if release.internal else [*drawn, change_view(release)]


def _select(name: str, label: str, options: tuple[tuple[str, str], ...]) -> str:
    choices = "".join(
        f'<option value="{html.escape(v)}">{html.escape(text)}</option>' for v, text in options
    )
    return f'<label>{html.escape(label)} <select data-control="{name}">{choices}</select></label>'


def _section(view: View) -> str:
    shown = {**view.figure, "layout": {**view.figure["layout"], "margin": {"t": 60}}}
    chart = to_html(
        shown, f"chart-{view.anchor}", config={"displaylogo": False, "responsive": True}
    )
    controls = "".join(_select(c.name, c.label, c.options) for c in view.controls)
    controls = f'<div class="controls">{controls}</div>' if controls else ""
    status = f'<p class="status" id="status-{view.anchor}"></p>' if view.variants else ""
    notes = "".join(f'<p class="note">{html.escape(n)}</p>' for n in view.notes)
    return (
        f'<section id="{view.anchor}"><h2>{html.escape(view.title)}</h2>{controls}{chart}'
        f"{status}{notes}{view.table}</section>"
    )


def _header(release: Release) -> str:
    cells = release.tables["school_indicators"]
    schools = tuple(
        (school, "Ogres novads / municipality" if school == MUNICIPALITY else name)
        for school, name in units(cells)
    )
    filters = _select("school", "skola / school", schools) + _select(
        "band", "klašu grupa / grade band", tuple(BAND_LABELS.items())
    )
    shown = tiles(cells, [s for s, _ in schools], list(BANDS))[f"{MUNICIPALITY}|{ALL_BANDS}"]
    boxes = "".join(
        f'<div class="tile"><div class="tile-value" data-tile="{i}">{html.escape(v)}</div>'
        f'<div class="tile-label">{html.escape(label)}</div></div>'
        for i, ((_, label), v) in enumerate(zip(TILES, shown, strict=True))
    )
    caption = html.escape(tile_caption(cells, release.data_cutoff))
    at = f"{riga_time(release.published_at)} ({RIGA_TIME_NOTE})"
    if release.internal:
        when = f"zīmēts no noliktavas / drawn from the warehouse {at}"
        source = "neaizsargāti apkopojumi / unsuppressed aggregates"
    else:
        when = f"publicēts / published {at}"
        source = "tikai publicētās, aizsargātās tabulas / published, suppressed tables only"
    facts = f"Dati līdz / data to {release.data_cutoff:%d.%m.%Y} · {when} · {source}"
    return (
        f'<p id="facts">{html.escape(facts)}</p>'
        f'<div class="controls" id="filter">{filters}'
        '<span class="note">filtrs: rādītāji, tendence, riska sastāvs / the filter sets the '
        "tiles, the trend and the risk by grade band</span></div>"
        f'<div id="tiles"><div class="tile-caption">{caption}</div>{boxes}</div>'
    )


SCRIPT = """
const VARIANTS = __VARIANTS__;
const KEYS = __KEYS__;
const TILES = __TILES__;
function chosen(name) { return document.querySelector(`select[data-control="${name}"]`).value; }
function applyView(anchor) {
  const key = KEYS[anchor].map(chosen).join('|');
  const variant = VARIANTS[anchor][key];
  const chart = document.getElementById(`chart-${anchor}`);
  variant.traces.forEach((update, i) => {
    const wrapped = {};
    for (const [k, v] of Object.entries(update)) wrapped[k] = [v];
    Plotly.restyle(chart, wrapped, [i]);
  });
  if (variant.layout) Plotly.relayout(chart, variant.layout);
  const status = document.getElementById(`status-${anchor}`);
  if (status) status.textContent = variant.status || '';
}
function applyTiles() {
  const shown = TILES[`${chosen('school')}|${chosen('band')}`];
  document.querySelectorAll('[data-tile]').forEach(tile => {
    tile.textContent = shown[Number(tile.dataset.tile)];
  });
}
document.querySelectorAll('select[data-control]').forEach(select => {
  select.addEventListener('change', () => {
    for (const anchor of Object.keys(KEYS)) {
      if (KEYS[anchor].includes(select.dataset.control)) applyView(anchor);
    }
    if (['school', 'band'].includes(select.dataset.control)) applyTiles();
  });
});
for (const anchor of Object.keys(KEYS)) {
  const status = document.getElementById(`status-${anchor}`);
  const key = KEYS[anchor].map(chosen).join('|');
  if (status) status.textContent = VARIANTS[anchor][key].status || '';
}
"""


def render(release: Release, drawn: list[View]) -> str:
    """The whole page: Plotly's JavaScript inline, the header, one section per view, the
    definitions, and the script that applies the filter and the dropdowns."""
    sections = "".join(_section(view) for view in drawn)
    contents = "".join(f'<li><a href="#{v.anchor}">{html.escape(v.title)}</a></li>' for v in drawn)
    contents += '<li><a href="#definitions">Definīcijas / Definitions</a></li>'
    if release.internal:
        banner = f'<div id="internal-banner">{html.escape(INTERNAL_BANNER)}</div>'
        note = f'<p id="internal-note">{html.escape(INTERNAL_NOTE)}</p>'
    else:
        banner = ""
        note = (
            f'<p id="suppression-note">'
            f"{html.escape(SUPPRESSION_NOTE.format(min_count=release.min_count))}</p>"
        )
    cells = release.tables["school_indicators"]
    schools = [s for s, _ in units(cells)]
    script = (
        SCRIPT.replace("__VARIANTS__", json.dumps({v.anchor: v.variants for v in drawn if v.keys}))
        .replace("__KEYS__", json.dumps({v.anchor: list(v.keys) for v in drawn if v.keys}))
        .replace("__TILES__", json.dumps(tiles(cells, schools, list(BANDS))))
    )
    edition = "iekšējais / internal" if release.internal else "publiskais / public"
    return f"""<!DOCTYPE html>
<html lang="lv"><head><meta charset="utf-8">
<meta name="release" content="{html.escape(release.name)}">
<title>Skola – kopienā: PMP riska pārskats ({edition}) / early leaving risk dashboard</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 0 auto; max-width: 1280px; padding: 1rem;
  color: #222; }}
section {{ margin: 2rem 0; }} .note {{ color: #555; font-size: 0.9rem; margin: 0.3rem 0; }}
.status {{ font-size: 0.9rem; margin: 0.3rem 0; }}
#suppression-note {{ background: #eee; border-left: 6px solid {SUPPRESSED_COLOUR};
  padding: 0.5rem 1rem; }}
{INTERNAL_BANNER_STYLE}
#internal-note {{ background: #f3e5f5; border-left: 6px solid {INTERNAL_COLOUR};
  padding: 0.5rem 1rem; }}
.controls {{ display: flex; flex-wrap: wrap; gap: 1rem; align-items: center;
  margin: 0.5rem 0; }}
#tiles {{ display: flex; flex-wrap: wrap; gap: 0.8rem; margin: 0.8rem 0; }}
.tile-caption {{ width: 100%; color: #555; }}
.tile {{ border: 1px solid #ccc; border-radius: 6px; padding: 0.6rem 1rem; min-width: 180px; }}
.tile-value {{ font-size: 1.6rem; font-weight: bold; }}
.tile-label {{ color: #555; font-size: 0.85rem; }}
table {{ border-collapse: collapse; font-size: 0.85rem; margin: 0.5rem 0; }}
td, th {{ border: 1px solid #ddd; padding: 0.25rem 0.5rem; text-align: left;
  vertical-align: top; }}
</style>
<script>{plotly_js()}</script>
</head><body>
{banner}
<h1>Skola – kopienā: agrīnas mācību pārtraukšanas riska pārskats<br>
<small>Early school leaving risk dashboard, Ogres novads ({edition})</small></h1>
{_header(release)}
{note}
<nav><ul>{contents}</ul></nav>
{sections}
{definitions(rules())}
<script>{script}</script>
</body></html>
"""


def read_release(
    folder: Path, deliveries: pl.DataFrame | None, project_start: date, project_end: date
) -> Release:
    """The release in force in the publication folder, the one before it, its facts, and the
    files of the delivery log (the staging table `delivery_log`, which the caller reads:
    reports import no ingest module) received until it was published."""
    current = current_release(folder)
    facts = release_facts(current)
    earlier = previous_release(folder)
    return Release(
        tables=load(current),
        previous=load(earlier) if earlier else None,
        previous_published_at=release_facts(earlier)["published_at"] if earlier else None,
        data_cutoff=date.fromisoformat(facts["data_cutoff"]),
        published_at=facts["published_at"],
        min_count=facts["min_count"],
        project_start=project_start,
        project_end=project_end,
        name=current.name,
        deliveries=None
        if deliveries is None
        else deliveries.filter(
            pl.col("received_at") <= datetime.fromisoformat(facts["published_at"])
        ),
    )


def read_warehouse(
    database: Path,
    staging: Path,
    deliveries: pl.DataFrame | None,
    project_start: date,
    project_end: date,
) -> tuple[Release, set[str]]:
    """The internal dashboard's source: the warehouse's publication marts as cells, nothing
    suppressed, with the whole delivery log; and the pupil keys, to scan the page for. DuckDB
    is loaded here only: the public dashboard never reads the warehouse."""
    from pipelines.publication.facts import warehouse_facts

    facts = warehouse_facts(database, staging, MARTS)
    tables = published_tables(*(facts[name] for name in MARTS), set(), 0)
    cutoff = facts["semesters"]["as_of"].max()
    release = Release(
        tables=tables,
        previous=None,
        previous_published_at=None,
        data_cutoff=cutoff,
        published_at=datetime.now(UTC).isoformat(timespec="seconds"),
        min_count=disclosure_settings()[0],
        project_start=project_start,
        project_end=project_end,
        name=f"warehouse, data to {cutoff}",
        deliveries=deliveries,
        internal=True,
    )
    return release, facts["keys"]


def _write(page: str, output: Path) -> None:
    """Write the page, replacing the old one only when complete."""
    output.parent.mkdir(parents=True, exist_ok=True)
    temporary = output.with_name(f".{output.name}")
    temporary.write_text(page, encoding="utf-8")
    temporary.replace(output)


def write_dashboard(release: Release, output: Path) -> list[View]:
    """Draw every view and write the page."""
    drawn = views(release)
    _write(render(release, drawn), output)
    return drawn


def write_internal_dashboard(
    database: Path,
    staging: Path,
    deliveries: pl.DataFrame | None,
    output: Path,
    project_start: date,
    project_end: date,
) -> list[View]:
    """Draw the internal dashboard from the warehouse and write it, unless its text holds a
    pupil key, a personal code or a name (`PupilLevelData`, naming what was found)."""
    release, keys = read_warehouse(database, staging, deliveries, project_start, project_end)
    drawn = views(release)
    page = render(release, drawn)
    allowed = [s.name for s in reference.schools()] + [MUNICIPALITY_NAME]
    findings = text_findings(page.replace(plotly_js(), ""), keys, allowed)
    if findings:
        raise PupilLevelData(f"internal dashboard not written: {'; '.join(findings)}")
    _write(page, output)
    return drawn


RELEASE_META = re.compile(r'<meta name="release" content="([^"]*)">')


def drawn_release(output: Path) -> str | None:
    """The name of the release the page at `output` was drawn from (None without a page)."""
    if not output.exists():
        return None
    with output.open(encoding="utf-8") as page:
        found = RELEASE_META.search(page.read(1000))
    return html.unescape(found.group(1)) if found else None


def refresh_dashboard(
    folder: Path,
    deliveries: pl.DataFrame | None,
    output: Path,
    project_start: date,
    project_end: date,
) -> list[View] | None:
    """Redraw the public page when the release in force is not the one it shows: the views
    drawn, or None when it showed that release already."""
    if drawn_release(output) == current_release(folder).name:
        return None
    return write_dashboard(read_release(folder, deliveries, project_start, project_end), output)
