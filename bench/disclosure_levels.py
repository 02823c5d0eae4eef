"""The attack on a stored release at each level of attacker knowledge, and the information it
loses: `python bench/disclosure_levels.py <release folder> [<data folder>]`.

The levels add knowledge one at a time (docs/disclosure.md):

1. `margins`: the published counts and the tables' margins; a suppressed count is >= 0;
2. `+ zeros`: zeros are published, so a suppressed count is >= 1;
3. `+ reasons`: a release with a per-cell reason (before issue 15) says which cells are
   primary (1-4) and which complementary (>= 5);
4. `+ relations`: every relation of the model (subsets, support against the indicators, the
   project to date across semesters, rates times their denominators, the rules' relations).

Per table and level: the suppressed counts attacked, how many the attack narrows below the
threshold, and how many it pins to one value. The true values come from the warehouse the
release was published from; the attacker is given none of them.
"""

import sys
from pathlib import Path

import polars as pl

from pipelines.publication.disclosure import Relation, attack
from pipelines.publication.facts import warehouse_facts
from pipelines.publication.protection import (
    BY_SCHOOL_ONLY,
    COUNT_MEASURES,
    information_loss,
    lessons,
    margin_relations,
    published_cells,
    release_relations,
    release_values,
)
from pipelines.publication.releases import load, release_facts
from pipelines.publication.tables import MARTS

LEVELS = ("margins", "+ zeros", "+ reasons", "+ relations")


def levels(release: Path, data: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    tables = load(release)
    threshold = release_facts(release)["min_count"]
    facts = warehouse_facts(data / "warehouse.duckdb", data / "staging", MARTS)
    values = release_values(*(facts[name] for name in MARTS[:3]))
    values |= _by_band_before(tables, facts["school_indicators"])
    published, rates = published_cells(tables)
    assert all(values[k] == v for k, v in published.items()), "another warehouse's release"
    hidden = {k for k in values if k not in published and k[2] != "unjustified_lessons"}
    reasons = _reasons(tables)
    rows = []
    for number, level in enumerate(LEVELS):
        if level == "+ reasons" and not reasons:
            continue
        relations = (
            release_relations(values, rates).holding
            if level == "+ relations"
            else margin_relations(values)
        )
        if number >= 2:
            relations = relations + reasons
        unknown = hidden | lessons(values)
        found = attack(published, unknown, relations, lessons(values), hidden, min(number, 1))
        for key, interval in found.items():
            rows.append({"level": level, "table": key[0], "width": interval.width})
    result = (
        pl.DataFrame(rows)
        .group_by("level", "table", maintain_order=True)
        .agg(
            attacked=pl.len(),
            narrowed=(pl.col("width") < threshold).sum(),
            pinned=(pl.col("width") == 0).sum(),
        )
        .sort("table", maintain_order=True)
    )
    return result, information_loss(values, hidden)


def _by_band_before(tables: dict[str, pl.DataFrame], indicators: pl.DataFrame) -> dict:
    """Releases before issue 15 published every count per grade band: the true values of the
    ones now published for `all` bands only."""
    published = tables["school_indicators"]
    found = {}
    for name in BY_SCHOOL_ONLY & set(COUNT_MEASURES):
        rows = published.filter((pl.col("measure") == name) & (pl.col("dimension") != "all"))
        truth = {
            (r["semester_id"], r["school_id"], r["grade_band"]): r[name]
            for r in indicators.iter_rows(named=True)
        }
        for r in rows.filter(pl.col("status") != "not yet due").iter_rows(named=True):
            key = (r["semester_id"], r["school_id"], r["dimension"])
            found[("school_indicators", *key[:1], name, *key[1:])] = float(truth[key])
    return found


def _reasons(tables: dict[str, pl.DataFrame]) -> list[Relation]:
    """A published reason per cell: primary means 1-4, complementary at least 5."""
    bounds = []
    for table in ("school_indicators", "school_support", "project_to_date"):
        frame = tables[table]
        if "suppression" not in frame.columns:
            return []
        for row in frame.filter(pl.col("suppressed")).iter_rows(named=True):
            key = (table, row["semester_id"], row["measure"], row["school_id"], row["dimension"])
            reason = row["suppression"] or ""
            if reason.startswith("primary"):
                bounds.append(Relation(((key, 1.0),), "<=", 4.0))
            elif reason.startswith("complementary"):
                bounds.append(Relation(((key, -1.0),), "<=", -5.0))
    return bounds


if __name__ == "__main__":
    release = Path(sys.argv[1])
    data = Path(sys.argv[2]) if len(sys.argv) > 2 else Path("data")
    found, loss = levels(release, data)
    with pl.Config(
        tbl_rows=60,
        tbl_formatting="MARKDOWN",
        tbl_hide_column_data_types=True,
        tbl_hide_dataframe_shape=True,
    ):
        print(found)
        print()
        print(loss)
