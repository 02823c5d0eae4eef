"""The analysts' dashboard: one self-contained HTML file of Plotly charts.

It reads only the published tables (`data/publication/`, suppressed) and the reference
calendar and project dates, never the warehouse, so nothing in it can be finer than what the
municipality may publish. Plotly's JavaScript is embedded: the file opens offline. Labels
are Latvian with English in parallel. A suppressed cell is drawn as suppressed (grey, or
listed under its chart), never as zero; future semesters are on the axes, visibly empty.
"""

import html
import math
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import plotly.graph_objects as go
import plotly.offline
import polars as pl
from plotly.subplots import make_subplots

from pipelines.publication.releases import current_release, load, previous_release, release_facts
from pipelines.publication.tables import ALL_BANDS, MUNICIPALITY, NOT_YET_DUE
from pipelines.reference.calendar import school_calendar
from pipelines.reports.style import RISK_COLOURS, RISK_LABELS, STACK_COLOURS, STACK_LABELS

DASHBOARD_FILE = "dashboard.html"  # in the reports folder
GRADE_BANDS = ("1-3", "4-6", "7-9", "10-12")
# Pupil shares compared between schools in the funnel plot.
FUNNEL_MEASURES = {
    "mk89_crossings": "MK 89 sliekšņa pārsniegumi / Cabinet Regulation No. 89 crossings",
    "chronic_absence": "hroniski kavētāji / chronic absence",
    "risk_high": "augsts risks / high risk",
}
Z_95 = 1.959964
Z_99_8 = 3.090232
OUTSIDE_99_8, OUTSIDE_95, INSIDE = "#c8553d", "#f08a4b", "#4f6d7a"
FUNNEL_TRACES = 4  # per measure: schools, 95% limits, 99.8% limits, municipality
# Counts compared between this run and the previous one.
CHANGE_MEASURES = {
    "pupils": "skolēni / pupils",
    "risk_medium": "vidējs risks / medium risk",
    "risk_high": "augsts risks / high risk",
    "mk89_crossings": "MK 89 pārsniegumi / MK 89 crossings",
    "chronic_absence": "hroniski kavētāji / chronic absence",
}
SUPPRESSED_COLOUR = STACK_COLOURS["suppressed"]
BREAK_COLOUR = "#dbe9f6"
FUTURE_FILL = "rgba(160, 160, 160, 0.15)"
SUPPRESSION_NOTE = (
    "Slēpts (pelēks vai uzskaitīts zem attēla): vērtība nav publicēta, jo tā balstās uz mazāk "
    "nekā {min_count} skolēniem, attiecas uz visiem grupas skolēniem vai aizsargā šādu vērtību. "
    "Tā nav nulle. / Suppressed (grey, or listed under the chart): the value is not published "
    "because it rests on fewer than {min_count} pupils, covers every pupil of its group, or "
    "protects such a value. It is not a zero."
)


@dataclass(frozen=True)
class Release:
    """What the dashboard draws from: the published tables, the ones published before them
    (None on the first run) and the release facts `pipelines.publication.publish.store` recorded."""

    tables: dict[str, pl.DataFrame]
    previous: dict[str, pl.DataFrame] | None
    previous_published_at: str | None
    data_cutoff: date
    published_at: str
    min_count: int
    project_start: date
    project_end: date
    name: str  # the release folder's name, recorded in the page


@dataclass(frozen=True)
class View:
    anchor: str
    title: str
    figure: go.Figure
    notes: tuple[str, ...]


def values(cells: pl.DataFrame, measure: str) -> dict[tuple[str, str, str], float | None]:
    """(semester, school, dimension) → value for one measure; None where not published."""
    rows = cells.filter(pl.col("measure") == measure)
    return {
        (r["semester_id"], r["school_id"], r["dimension"]): r["value"]
        for r in rows.iter_rows(named=True)
    }


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


def _shade_future(figure: go.Figure, periods: pl.DataFrame, rows: int) -> None:
    """Grey band over the semesters not yet due, on a categorical semester axis."""
    due = periods.filter(pl.col("status") != NOT_YET_DUE).height
    if due == periods.height:
        return
    for row in range(1, rows + 1):
        figure.add_vrect(
            x0=due - 0.5, x1=periods.height - 0.5, fillcolor=FUTURE_FILL, line_width=0,
            row=row, col=1,
        )  # fmt: skip
    figure.add_annotation(
        x=(due - 0.5 + periods.height - 0.5) / 2, y=1.02, xref="x", yref="paper",
        text="vēl nav pienācis / not yet due", showarrow=False,
    )  # fmt: skip


def trend_view(release: Release) -> View:
    cells = release.tables["school_indicators"].filter(
        (pl.col("school_id") == MUNICIPALITY) & (pl.col("dimension") == ALL_BANDS)
    )
    periods = semesters(cells)
    x = periods["semester_id"].to_list()
    pupils = values(cells, "pupils")
    figure = make_subplots(
        rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.08,
        subplot_titles=(
            "Riska līmenis, % skolēnu / Risk level, % of pupils",
            "Apmeklējums, % / Attendance, %",
            "MK 89 sliekšņa pārsniegumi, skolēni / Cabinet Regulation No. 89 crossings, pupils",
        ),
    )  # fmt: skip
    for level in ("risk_low", "risk_medium", "risk_high"):
        counts = values(cells, level)
        share = [
            _share(counts[(s, MUNICIPALITY, ALL_BANDS)], pupils[(s, MUNICIPALITY, ALL_BANDS)])
            for s in x
        ]
        figure.add_bar(
            x=x, y=share, name=RISK_LABELS[level], marker_color=RISK_COLOURS[level],
            row=1, col=1,
        )  # fmt: skip
    attendance = values(cells, "attendance_rate")
    figure.add_scatter(
        x=x, y=[_percent(attendance[(s, MUNICIPALITY, ALL_BANDS)]) for s in x],
        mode="lines+markers", name="apmeklējums / attendance", row=2, col=1,
    )  # fmt: skip
    crossings = values(cells, "mk89_crossings")
    figure.add_bar(
        x=x, y=[crossings[(s, MUNICIPALITY, ALL_BANDS)] for s in x],
        name="MK 89", marker_color="#5b5f97", row=3, col=1,
    )  # fmt: skip
    figure.update_layout(barmode="stack", height=720, legend_orientation="h")
    figure.update_xaxes(categoryorder="array", categoryarray=x, range=[-0.5, len(x) - 0.5])
    _shade_future(figure, periods, rows=3)
    in_progress = periods.filter(pl.col("status") == "in progress")["semester_id"].to_list()
    notes = [
        f"Ogres novads, visas klašu grupas. {', '.join(in_progress)}: līdz "
        f"{release.data_cutoff:%d.%m.%Y}; semestri līdz 2028/29 S2 bez datiem vēl nav pienākuši. "
        f"/ Ogre municipality, all grade bands. {', '.join(in_progress)}: to "
        f"{release.data_cutoff:%d.%m.%Y}; the empty semesters to 2028/29 S2 are not yet due."
    ]
    shown = ["pupils", *RISK_COLOURS, "attendance_rate", "mk89_crossings"]
    notes += _suppressed_note(suppressed_cells(cells, shown), RISK_LABELS)
    return View("trend", "Tendence novadā / Municipality trend", figure, tuple(notes))


def _share(count: float | None, total: float | None) -> float | None:
    if count is None or not total:
        return None
    return round(100 * count / total, 2)


def _percent(rate: float | None) -> float | None:
    return None if rate is None else round(100 * rate, 2)


def spread(p: float, pupils: float, z: float) -> float:
    """Half the width of the funnel at a pupil count: z standard errors of a share p (the
    normal approximation to the binomial)."""
    return z * math.sqrt(p * (1 - p) / pupils)


def control_limits(p: float, pupils: list[float], z: float) -> tuple[list[float], list[float]]:
    """Lower and upper funnel limits for a share p at each pupil count, clipped to [0, 1]."""
    spreads = [spread(p, n, z) for n in pupils]
    return [max(0.0, p - s) for s in spreads], [min(1.0, p + s) for s in spreads]


def funnel_view(release: Release) -> View:
    cells = release.tables["school_indicators"].filter(pl.col("dimension") == ALL_BANDS)
    semester = latest(cells)
    cells = cells.filter(pl.col("semester_id") == semester)
    pupils = values(cells, "pupils")
    municipality = (semester, MUNICIPALITY, ALL_BANDS)
    drawable = {
        measure: label
        for measure, label in FUNNEL_MEASURES.items()
        if values(cells, measure)[municipality] is not None and pupils[municipality]
    }
    figure = go.Figure()
    buttons = []
    suppressed = []
    for index, (measure, label) in enumerate(drawable.items()):
        counts = values(cells, measure)
        base = counts[municipality] / pupils[municipality]
        schools = [
            (key[1], counts[key], pupils[key])
            for key in sorted(counts)
            if key[1] != MUNICIPALITY and counts[key] is not None and pupils[key]
        ]
        suppressed += [
            f"{key[1]} ({label})"
            for key in sorted(counts)
            if key[1] != MUNICIPALITY and (counts[key] is None or not pupils[key])
        ]
        largest = max((n for _, _, n in schools), default=100)
        grid = [5 + (largest * 1.1 - 5) * i / 99 for i in range(100)]
        shares = [c / n for _, c, n in schools]
        colours = [
            OUTSIDE_99_8 if abs(share - base) > spread(base, n, Z_99_8)
            else OUTSIDE_95 if abs(share - base) > spread(base, n, Z_95)
            else INSIDE
            for share, (_, _, n) in zip(shares, schools, strict=True)
        ]  # fmt: skip
        visible = index == 0
        figure.add_scatter(
            x=[n for _, _, n in schools], y=[100 * s for s in shares],
            text=[school for school, _, _ in schools], mode="markers+text",
            textposition="top center", marker={"color": colours, "size": 10},
            name="skolas / schools", visible=visible,
            hovertemplate="%{text}: %{y:.1f}% no %{x} skolēniem / of %{x} pupils<extra></extra>",
        )  # fmt: skip
        for z, name, dash in ((Z_95, "95% robežas / limits", "dash"),
                              (Z_99_8, "99,8% robežas / limits", "dot")):  # fmt: skip
            low, high = control_limits(base, grid, z)
            figure.add_scatter(
                x=grid + grid[::-1], y=[100 * v for v in high + low[::-1]], mode="lines",
                line={"dash": dash, "color": "#777"}, name=name, visible=visible,
                hoverinfo="skip",
            )  # fmt: skip
        figure.add_scatter(
            x=[grid[0], grid[-1]], y=[100 * base] * 2, mode="lines", line={"color": "#333"},
            name="novadā / municipality", visible=visible, hoverinfo="skip",
        )  # fmt: skip
        shown = [i == index for i in range(len(drawable)) for _ in range(FUNNEL_TRACES)]
        buttons.append({"label": label, "method": "update", "args": [{"visible": shown}]})
    figure.update_layout(
        height=560,
        updatemenus=[{"buttons": buttons, "x": 0, "y": 1.15, "xanchor": "left"}],
        xaxis_title="skolēni / pupils",
        yaxis_title="% skolēnu / % of pupils",
    )
    notes = [
        f"{semester}, visas klašu grupas. Sarkans: ārpus 99,8% robežām, skola atšķiras no "
        "novada vairāk, nekā nejaušība skaidro; oranžs: ārpus 95%; mazu skolu izkliede robežās "
        "ir troksnis. / All grade bands. Red: outside the 99.8% limits, the school differs "
        "from the municipality by more than chance explains; orange: outside 95%; a small "
        "school's spread within the limits is noise."
    ]
    if suppressed:
        notes.append(
            "Slēptas vērtības, nav attēlotas / suppressed, not drawn: " + ", ".join(suppressed)
        )
    notes += [
        f"{label}: novada vērtība slēpta, nav attēlots / the municipality's value is "
        "suppressed, not drawn"
        for measure, label in FUNNEL_MEASURES.items()
        if measure not in drawable
    ]
    return View("funnel", "Skolu salīdzinājums / School comparison", figure, tuple(notes))


def composition_view(release: Release) -> View:
    cells = release.tables["school_indicators"].filter(pl.col("school_id") == MUNICIPALITY)
    due = semesters(cells).filter(pl.col("status") != NOT_YET_DUE)["semester_id"].to_list()
    figure = make_subplots(rows=1, cols=len(due), shared_yaxes=True, subplot_titles=due)
    pupils = values(cells, "pupils")
    for column, semester in enumerate(due, start=1):
        shares = {
            level: [
                _share(values(cells, level)[(semester, MUNICIPALITY, band)],
                       pupils[(semester, MUNICIPALITY, band)])
                for band in GRADE_BANDS
            ]
            for level in RISK_LABELS
        }  # fmt: skip
        shares["suppressed"] = [
            round(100 - sum(v for v in band if v is not None), 2)
            if any(v is None for v in band) else None
            for band in zip(*shares.values(), strict=True)
        ]  # fmt: skip
        for level, share in shares.items():
            figure.add_bar(
                x=list(GRADE_BANDS), y=share, name=STACK_LABELS[level], legendgroup=level,
                showlegend=column == 1, marker_color=STACK_COLOURS[level], row=1, col=column,
            )  # fmt: skip
    figure.update_layout(
        barmode="stack", height=500, legend={"orientation": "h", "y": -0.25}
    )  # fmt: skip
    figure.update_yaxes(title_text="% skolēnu / % of pupils", row=1, col=1)
    figure.update_xaxes(title_text="klašu grupa / grade band", type="category")
    notes = ["Ogres novads. / Ogre municipality."]
    notes += _suppressed_note(
        suppressed_cells(cells.filter(pl.col("dimension") != ALL_BANDS), list(RISK_LABELS)),
        RISK_LABELS,
    )
    return View(
        "composition", "Riska sastāvs pa klašu grupām / Risk by grade band", figure, tuple(notes)
    )


def heatmap_view(release: Release) -> View:
    cells = release.tables["weekly_absence"].filter(
        (pl.col("status") != NOT_YET_DUE) & (pl.col("dimension") <= release.data_cutoff.isoformat())
    )
    weeks = sorted(cells["dimension"].unique().to_list())
    units = (
        cells.select("school_id", "school_name")
        .unique()
        .sort(pl.col("school_id") == MUNICIPALITY, "school_name", descending=[True, False])
    )
    names = dict(units.iter_rows())
    rows = [*units["school_id"].to_list()][::-1]
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
    figure = go.Figure()
    figure.add_heatmap(
        x=weeks, y=y, z=absence, colorscale="YlOrRd", zmin=0,
        colorbar={"title": "% kavēts / % missed"}, name="kavējumi / absence",
        hovertemplate="%{y}, %{x}: %{z:.1f}% stundu kavētas / of lessons missed<extra></extra>",
    )  # fmt: skip
    figure.add_heatmap(
        x=weeks, y=y, z=hidden, colorscale=[[0, SUPPRESSED_COLOUR], [1, SUPPRESSED_COLOUR]],
        showscale=False, name="slēpts / suppressed",
        hovertemplate="%{y}, %{x}: slēpts / suppressed<extra></extra>",
    )  # fmt: skip
    figure.add_heatmap(
        x=weeks, y=y, z=breaks, colorscale=[[0, BREAK_COLOUR], [1, BREAK_COLOUR]],
        showscale=False, name="brīvdienas / break",
        hovertemplate="%{y}, %{x}: brīvdienas / break<extra></extra>",
    )  # fmt: skip
    figure.update_layout(
        height=120 + 26 * len(rows), xaxis_title="nedēļa (pirmdiena) / week (Monday)",
        xaxis_type="category",
    )  # fmt: skip
    notes = [
        "Kavēto stundu īpatsvars nedēļā (bez kavējumiem, kas nav mācību dienā). Gaiši zils: "
        "brīvdienas; pelēks: slēpts. / Share of expected lessons missed per week. Light blue: "
        "break; grey: suppressed."
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
    figure = go.Figure()
    figure.add_scatter(
        x=[n for _, n, _ in shown], y=[100 * c for _, _, c in shown],
        text=[s for s, _, _ in shown], mode="markers+text", textposition="top center",
        marker={"size": 11, "color": "#4f6d7a"}, name="skolas / schools",
        hovertemplate="%{text}: %{y:.1f}% no %{x} riska skolēniem atbalstīti / of %{x} "
        "at-risk pupils supported<extra></extra>",
    )  # fmt: skip
    municipality = coverage[(semester, MUNICIPALITY, ALL_BANDS)]
    if municipality is not None:
        figure.add_hline(
            y=100 * municipality, line_dash="dash",
            annotation_text=f"novadā / municipality {100 * municipality:.1f}%",
        )  # fmt: skip
    figure.update_layout(
        height=480,
        xaxis_title="skolēni ar vidēju vai augstu risku / pupils at medium or high risk",
        yaxis_title="no tiem ar projekta atbalstu, % / of them supported, %",
    )
    notes = [f"{semester}. Atbalsts: jebkura projekta aktivitāte semestrī. / Support: any "
             "project activity in the semester."]  # fmt: skip
    if hidden:
        notes.append("Slēpts, nav attēlots / suppressed, not drawn: " + ", ".join(hidden))
    return View(
        "coverage", "Atbalsts pret risku / Support coverage against risk", figure, tuple(notes)
    )


def project_view(release: Release) -> View:
    cells = release.tables["school_support"].filter(
        (pl.col("school_id") == MUNICIPALITY) & (pl.col("measure") == "pupils_supported")
    )
    periods = semesters(cells)
    x = periods["semester_id"].to_list()
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    supported = values(cells, "pupils_supported")
    for activity in sorted(cells["dimension"].unique().to_list()):
        figure.add_bar(
            x=x, y=[supported[(s, MUNICIPALITY, activity)] for s in x], name=activity,
            secondary_y=False,
        )  # fmt: skip
    ends = {s.semester_id: s.last_day for s in school_calendar().semesters}
    length = (release.project_end - release.project_start).days
    reached = {
        s: ends[s] if status == NOT_YET_DUE else min(ends[s], release.data_cutoff)
        for s, status in periods.iter_rows()
    }
    elapsed = [round(100 * (reached[s] - release.project_start).days / length, 1) for s in x]
    figure.add_scatter(
        x=x, y=elapsed, mode="lines+markers", line={"dash": "dot", "color": "#333"},
        name="projekta laiks, % / project period elapsed, %", secondary_y=True,
    )  # fmt: skip
    figure.update_layout(barmode="stack", height=480, legend_orientation="h")
    figure.update_xaxes(categoryorder="array", categoryarray=x, range=[-0.5, len(x) - 0.5])
    figure.update_yaxes(title_text="atbalstītie skolēni / pupils supported", secondary_y=False)
    figure.update_yaxes(title_text="% no projekta laika / % of project period", range=[0, 100],
                        dtick=25, secondary_y=True)  # fmt: skip
    _shade_future(figure, periods, rows=1)
    notes = [
        f"Projekts {release.project_start:%d.%m.%Y}–{release.project_end:%d.%m.%Y}. Skolēni ar "
        "individuālu atbalstu semestrī pa aktivitātēm, Ogres novads. / Pupils with individual "
        "support per activity and semester, Ogre municipality."
    ]
    notes += _suppressed_note(suppressed_cells(cells, ["pupils_supported"]), {})
    return View("project", "Projekta uzraudzība / Project monitoring", figure, tuple(notes))


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


def change_view(release: Release) -> View:
    title = "Izmaiņas kopš iepriekšējās palaišanas / Change since the previous run"
    figure = go.Figure()
    if release.previous is None:
        figure.add_annotation(
            text="Pirmā publikācija: nav ar ko salīdzināt / first publication: nothing to "
            "compare", showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper",
        )  # fmt: skip
        return View("change", title, figure, ("Pirmā publikācija. / First publication.",))
    changed = changes(release.tables["school_indicators"], release.previous["school_indicators"])
    shown = changed.filter(pl.col("compared"))
    for measure, label in CHANGE_MEASURES.items():
        rows = shown.filter(pl.col("measure") == measure)
        figure.add_bar(
            y=[f"{s} {school}" for s, school in rows.select("semester_id", "school_id").rows()],
            x=rows["change"].to_list(), orientation="h", name=label,
            customdata=rows.select("before", "now").rows(),
            hovertemplate="%{y}: %{customdata[0]} → %{customdata[1]}<extra>" + label + "</extra>",
        )  # fmt: skip
    figure.update_layout(
        barmode="group", height=160 + 22 * max(1, shown.select("semester_id", "school_id")
                                                .n_unique()),
        xaxis_title="izmaiņas, skolēni / change, pupils", yaxis_autorange="reversed",
    )  # fmt: skip
    notes = [
        f"Salīdzināts ar publikāciju {release.previous_published_at}; mainījušās publicētās "
        f"vērtības: {shown.height}. / Compared with the publication of "
        f"{release.previous_published_at}; published values changed: {shown.height}."
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
        notes.append("Nekas nav mainījies. / Nothing changed.")
    return View("change", title, figure, tuple(notes))


def views(release: Release) -> list[View]:
    return [
        trend_view(release),
        funnel_view(release),
        composition_view(release),
        heatmap_view(release),
        coverage_view(release),
        project_view(release),
        change_view(release),
    ]


def render(release: Release, drawn: list[View]) -> str:
    """The whole page: Plotly's JavaScript inline, one section per view."""
    sections = []
    for view in drawn:
        view.figure.update_layout(margin={"t": 70})
        chart = view.figure.to_html(
            full_html=False, include_plotlyjs=False, div_id=f"chart-{view.anchor}",
            config={"displaylogo": False, "responsive": True},
        )  # fmt: skip
        notes = "".join(f'<p class="note">{html.escape(n)}</p>' for n in view.notes)
        sections.append(
            f'<section id="{view.anchor}"><h2>{html.escape(view.title)}</h2>{chart}{notes}'
            "</section>"
        )
    contents = "".join(f'<li><a href="#{v.anchor}">{html.escape(v.title)}</a></li>' for v in drawn)
    facts = (
        f"Dati līdz / data to {release.data_cutoff:%d.%m.%Y} · publicēts / published "
        f"{release.published_at} · tikai publicētās, aizsargātās tabulas / published, "
        "suppressed tables only"
    )
    note = SUPPRESSION_NOTE.format(min_count=release.min_count)
    return f"""<!DOCTYPE html>
<html lang="lv"><head><meta charset="utf-8">
<meta name="release" content="{html.escape(release.name)}">
<title>Skola – kopienā: PMP riska pārskats / early leaving risk dashboard</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 0 auto; max-width: 1280px; padding: 1rem;
  color: #222; }}
section {{ margin: 2rem 0; }} .note {{ color: #555; font-size: 0.9rem; margin: 0.3rem 0; }}
#suppression-note {{ background: #eee; border-left: 6px solid {SUPPRESSED_COLOUR};
  padding: 0.5rem 1rem; }}
</style>
<script>{plotly.offline.get_plotlyjs()}</script>
</head><body>
<h1>Skola – kopienā: agrīnas mācību pārtraukšanas riska pārskats<br>
<small>Early school leaving risk dashboard, Ogres novads</small></h1>
<p>{html.escape(facts)}</p>
<p id="suppression-note">{html.escape(note)}</p>
<nav><ul>{contents}</ul></nav>
{"".join(sections)}
</body></html>
"""


def read_release(folder: Path, project_start: date, project_end: date) -> Release:
    """The release in force in the publication folder, the one before it, and its facts."""
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
    )


def write_dashboard(release: Release, output: Path) -> list[View]:
    """Draw every view and write the page (replacing the old one only when complete)."""
    drawn = views(release)
    output.parent.mkdir(parents=True, exist_ok=True)
    temporary = output.with_name(f".{output.name}")
    temporary.write_text(render(release, drawn), encoding="utf-8")
    temporary.replace(output)
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
    folder: Path, output: Path, project_start: date, project_end: date
) -> list[View] | None:
    """Redraw the page when the release in force is not the one it shows: the views drawn, or
    None when it showed that release already."""
    if drawn_release(output) == current_release(folder).name:
        return None
    return write_dashboard(read_release(folder, project_start, project_end), output)
