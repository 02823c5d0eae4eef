"""Publication in three steps, shared by `pmp publish` and the publication assets:

1. `prepare`: read the publication marts (read-only), suppress jointly with every revision
   already sent, and prove the protection by attacking the published cells with everything
   the attacker holds (integer programming);
2. when the content differs from the release in force (`release_in_force`): the quality
   gate (`pipelines.publication.gate.run_gate`), which must pass, and `store`, a new release.
   The gate runs in a worker process started as soon as step 1 has read its inputs, so that
   importing Great Expectations overlaps the protection (`pipelines.publication.gate_worker`);
   it is not started when the inputs equal those of the last protection, whose content is
   the release in force's and has its gate results kept (`EarlyGate`);
3. `write_extracts`: a new revision per final reporting period whose numbers changed, and
   its true values in the private ledger, so the next release is protected jointly with it;
   then `prune_releases` (the retention policy of `pipelines.publication.releases`).

Identical content makes no release, no gate run and no revision.
"""

import hashlib
import json
import pickle
import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl

from pipelines.feedback import SILENT, OperatorError, Progress
from pipelines.ingest.completeness import MAX_MISSING_SHARE, Completeness, completeness
from pipelines.ingest.staging import read_table
from pipelines.paths import PROJECT_ROOT
from pipelines.privacy.scan import text_findings
from pipelines.publication.disclosure import Reuse
from pipelines.publication.extracts import (
    Revision,
    Sources,
    content_digest,
    period_folder,
    write_revision,
)
from pipelines.publication.facts import warehouse_facts
from pipelines.publication.gate import GateResult
from pipelines.publication.gate_worker import GateWorker
from pipelines.publication.override import HoldOverride
from pipelines.publication.protection import (
    Cell,
    Version,
    attack_release,
    disclosed_before,
    information_loss,
    published_cells,
    release_values,
    suppress_release,
)
from pipelines.publication.quality_report import report_file
from pipelines.publication.releases import (
    CURRENT,
    LEDGER,
    MANIFEST_RELEASE,
    PRIVATE,
    RELEASE_FILE,
    RELEASES,
    VALUES_FILE,
    current_release,
    load,
    prune_releases,
    release_facts,
)
from pipelines.publication.tables import (
    MARTS,
    MUNICIPALITY_NAME,
    disclosure_settings,
    for_period,
    published_tables,
)
from pipelines.reference import tables as reference
from pipelines.reference.rules import rules


class ProtectionFailed(OperatorError):
    """The attack narrowed a suppressed cell below the threshold: nothing is published."""


class GateFailed(OperatorError):
    """The quality gate failed: nothing is published."""


class PublicationHeld(OperatorError):
    """Too many schools missed last night's delivery: nothing is published until they send."""


def hold_if_incomplete(staging: Path, override: HoldOverride | None = None) -> Completeness:
    """Last night's completeness; raises PublicationHeld, naming the schools, when too many
    are missing, unless an operator's `override` lets the publication go on (it keeps the
    hold, to record once a release is published despite it)."""
    log = read_table(staging, "delivery_log")
    found = Completeness(None, [], []) if log is None else completeness(log, reference.schools())
    if found.held and override is not None:
        override.hold = found
    elif found.held:
        raise PublicationHeld(
            f"publication held: {found.missing_share:.0%} of the schools missed the delivery "
            f"(more than {MAX_MISSING_SHARE:.0%}); {found.summary()}. Wait for their files, "
            'or publish anyway: pmp publish --override-hold --reason "..."'
        )
    return found


@dataclass(frozen=True)
class Prepared:
    tables: dict[str, pl.DataFrame]
    semesters: pl.DataFrame
    rules: pl.DataFrame
    deliveries: pl.DataFrame
    pupil_keys: set[str]
    threshold: int
    narrowest_interval: float
    values: dict[Cell, float]  # the true counts behind the tables: kept privately
    protection: dict  # what disclosure control did and what the attack found, per table
    facts_digest: str = ""  # of the marts and semesters the protection read; "" unknown

    @property
    def data_cutoff(self) -> date:
        return self.semesters["as_of"].max()

    @property
    def final_periods(self) -> list[str]:
        return self.semesters.filter(pl.col("status") == "final")["semester_id"].to_list()


def facts_digest(facts: dict) -> str:
    """A digest of the marts and semesters the protection reads from the warehouse."""
    return content_digest({name: facts[name] for name in (*MARTS, "semesters")})


def inputs_digest(facts: str, versions: list[Version]) -> str:
    """A digest of everything the protection reads: the marts and the semesters (`facts`,
    their `facts_digest`), every earlier version (its true values, published counts and
    rates, in their order, which the protection follows too), the disclosure settings and the
    code version. Equal inputs make equal content."""
    digest = hashlib.sha256(facts.encode())
    for version in versions:
        held = [
            version.name,
            *(list(c.items()) for c in (version.values, version.published, version.rates)),
        ]
        digest.update(json.dumps(held).encode())
    digest.update(json.dumps([*disclosure_settings(), code_version()]).encode())
    return digest.hexdigest()


def prepare(
    database: Path,
    staging: Path,
    versions: list[Version] | None = None,
    reuse: Reuse | None = None,
    override: HoldOverride | None = None,
    progress: Progress = SILENT,
    early: "EarlyGate | None" = None,
) -> Prepared:
    """Check last night's deliveries are complete enough (or let the `override` pass), suppress
    the marts jointly with the earlier `versions` (see `earlier_versions`) and prove the
    protection by attacking the published cells with everything the attacker holds; `reuse`
    (see `load_reuse`) skips the blocks and attacks decided before on the same inputs. Once
    the inputs are read, and before the protection, `early` is told them (it starts the
    gate's worker unless nothing can need it)."""
    progress.stage("check last night's deliveries")
    hold_if_incomplete(staging, override)
    progress.stage("read the warehouse")
    facts = warehouse_facts(database, staging, MARTS)
    read = facts_digest(facts)
    if early is not None:
        early.inputs_read(inputs_digest(read, versions or []), gate_semesters(facts["semesters"]))
    progress.stage("suppress and attack")
    protected = protect_marts({name: facts[name] for name in MARTS}, versions or [], reuse)
    return Prepared(
        protected.tables, facts["semesters"], facts["rules"], facts["deliveries"],
        facts["keys"], protected.threshold, protected.narrowest, protected.values,
        protected.report, read,
    )  # fmt: skip


@dataclass(frozen=True)
class Protected:
    tables: dict[str, pl.DataFrame]
    values: dict[Cell, float]
    threshold: int
    narrowest: float
    report: dict


def protect_marts(
    marts: dict[str, pl.DataFrame], versions: list[Version], reuse: Reuse | None = None
) -> Protected:
    """The published tables of the marts, suppressed jointly with the earlier `versions`, and
    the attack on them with everything the attacker holds; `ProtectionFailed`, naming the
    cells, if it narrows one below the threshold. With `reuse`, the blocks of the protection
    and the components of the attack whose inputs equal ones decided before are reused."""
    threshold, suppress_zero = disclosure_settings()
    frames = [marts[name] for name in MARTS]
    values = release_values(*frames[:3])
    protection = suppress_release(values, threshold, suppress_zero, versions, reuse)
    tables = published_tables(*frames, protection.hidden, threshold)
    published = published_cells(tables)
    outcome = judged_attack(values, published, threshold, suppress_zero, versions, reuse)
    if not outcome.narrow.is_empty():
        cells = "; ".join(
            f"{r['table']} {r['semester_id']} {r['measure']} {r['school_id']} {r['dimension']}"
            f" in [{r['low']:g}, {r['high']:g}]"
            for r in outcome.narrow.sort("width").head(5).iter_rows(named=True)
        )
        raise ProtectionFailed(
            f"nothing published: the attack narrows {outcome.narrow.height} suppressed cells "
            f"below {threshold}: {cells}. See docs/operations.md, 'The disclosure attack fails'"
        )
    found = outcome.intervals
    narrowest = outcome.narrowest
    report = {
        "attack": found.group_by("table")
        .agg(attacked=pl.len(), narrowest=pl.col("width").min())
        .sort("table")
        .to_dicts(),
        "information_loss": information_loss(values, protection.hidden).to_dicts(),
        "published_before": len(protection.public),
        "disclosed_before": outcome.disclosed_before,
        "relations_not_holding": protection.broken,
        "earlier_versions": len(versions),
        "blocks_reused": reuse.reused if reuse else 0,
        "blocks_decided": reuse.decided if reuse else None,
    }
    return Protected(tables, values, threshold, narrowest, report)


REUSE_FILE = "reuse.pickle"  # in the publication folder: private, like the ledger


def load_reuse(folder: Path) -> Reuse:
    """The blocks of protection and attack decided by the last publication, to reuse: a final
    semester whose inputs did not change is neither protected nor attacked again."""
    path = folder / REUSE_FILE
    return Reuse(pickle.loads(path.read_bytes()) if path.exists() else {})


def save_reuse(reuse: Reuse, folder: Path) -> None:
    """Keep the blocks this publication used or decided (and no others) for the next one."""
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{REUSE_FILE}"
    partial.write_bytes(pickle.dumps(reuse.used))
    partial.replace(folder / REUSE_FILE)


def earlier_versions(exports: Path, ledger: Path) -> list[Version]:
    """Every revision already sent, as the attacker holds it (its published counts and rates)
    with the true values behind it from the ledger. A revision with no ledger (sent before
    the ledger was kept) contributes what it published."""
    versions = []
    for manifest in sorted(exports.glob("*/r*/manifest.json")):
        folder = manifest.parent
        period = json.loads(manifest.read_text(encoding="utf-8"))["period"]
        tables = {t: pl.read_parquet(folder / f"{t}.parquet") for t in MARTS[:3]}
        published, rates = published_cells(tables)
        truth = ledger / period_folder(period) / f"{folder.name}.parquet"
        values = _cell_values(truth) if truth.exists() else dict(published)
        versions.append(Version(f"{period} {folder.name}", values, published, rates))
    return versions


VALUE_COLUMNS = ["table", "semester_id", "measure", "school_id", "dimension", "value"]


def _values_frame(values: dict[Cell, float]) -> pl.DataFrame:
    return pl.DataFrame(
        [(*cell, value) for cell, value in values.items()], schema=VALUE_COLUMNS, orient="row"
    )


def _cell_values(path: Path) -> dict[Cell, float]:
    return {tuple(row[:5]): row[5] for row in pl.read_parquet(path).iter_rows()}


def _write_ledger(prepared: Prepared, revision: Revision, ledger: Path) -> None:
    """The true values behind a revision, kept privately beside the releases (never sent)."""
    values = {cell: v for cell, v in prepared.values.items() if cell[1] <= revision.period}
    path = ledger / period_folder(revision.period) / f"{revision.path.name}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    _values_frame(values).write_parquet(path)


def release_digest(prepared: Prepared) -> str:
    """The content of a release: its tables, what its facts promise (the threshold and the
    data cut-off) and the true values behind it; not when it was made, nor the attack's
    report, which describes the proof of the day."""
    digest = hashlib.sha256(content_digest(prepared.tables).encode())
    values = _values_frame(prepared.values)
    digest.update(values.sort(VALUE_COLUMNS).write_csv().encode())
    promised = {"min_count": prepared.threshold, "data_cutoff": prepared.data_cutoff.isoformat()}
    digest.update(json.dumps(promised, sort_keys=True).encode())
    return digest.hexdigest()


INPUTS_FILE = "inputs.json"  # in the publication folder: the last protection's inputs


def save_inputs(inputs: str, prepared: Prepared, folder: Path) -> None:
    """Keep the digest of the inputs (`inputs_digest`) that made the `prepared` content: the
    facts and the earlier versions it was protected with. After a publication that sent
    revisions, the next one reads them among its versions: its inputs differ, so its worker
    starts (the revisions may move the protection's choices, a new release)."""
    folder.mkdir(parents=True, exist_ok=True)
    record = {"inputs": inputs, "content_digest": release_digest(prepared)}
    partial = folder / f".{INPUTS_FILE}"
    partial.write_text(json.dumps(record), encoding="utf-8")
    partial.replace(folder / INPUTS_FILE)


def gate_may_run(inputs: str, semesters: list[str], folder: Path, quality_dir: Path) -> bool:
    """Whether a protection of these `inputs` may have to run the gate: not when they equal the
    last protection's (`save_inputs`), whose content is the release in force's and has its
    gate results kept for these `semesters` and this code (`gated_before`). Only the start of
    the worker follows this answer: `gate` still decides by the content it is given."""
    record = folder / INPUTS_FILE
    if not inputs or not record.exists() or not (folder / CURRENT).exists():
        return True
    saved = json.loads(record.read_text(encoding="utf-8"))
    in_force = release_facts(current_release(folder)).get("content_digest")
    if saved["inputs"] != inputs or saved["content_digest"] != in_force:
        return True
    return gated_before(in_force, semesters, quality_dir) is None


class EarlyGate:
    """The gate's worker for one publication, started as soon as the protection's inputs are
    read (`inputs_read`), so that importing Great Expectations overlaps the protection, unless
    `gate_may_run` says nothing can need it; `worker` is then None, and a gate that runs after
    all starts its own."""

    def __init__(self, folder: Path, quality_dir: Path) -> None:
        self.folder = folder
        self.quality_dir = quality_dir
        self.worker: GateWorker | None = None

    def inputs_read(self, inputs: str, semesters: list[str]) -> None:
        if gate_may_run(inputs, semesters, self.folder, self.quality_dir):
            self.worker = GateWorker()

    def __enter__(self) -> "EarlyGate":
        return self

    def __exit__(self, *_) -> None:
        if self.worker is not None:
            self.worker.close()


def release_in_force(prepared: Prepared, folder: Path) -> Path | None:
    """The release in force when its content equals the prepared one's, else None."""
    if not (folder / CURRENT).exists():
        return None
    current = current_release(folder)
    same = release_facts(current).get("content_digest") == release_digest(prepared)
    return current if same else None


def store(prepared: Prepared, folder: Path) -> Path:
    """Keep the published tables as Parquet for the gate, the extracts and the dashboard, with
    the release facts (the protection the attack proved, the data cut-off, the content
    digest), as a new release.

    The release is written whole in a hidden folder, renamed into `releases/`, and only then
    does the `current` link switch to it, in one atomic rename: a reader, or a run killed half
    way, sees the old release or the new one, never a mixture. What a killed run left half
    written is removed; which complete releases stay is `prune_releases`'s decision.
    """
    releases = folder / RELEASES
    releases.mkdir(parents=True, exist_ok=True)
    for partial in releases.glob(".*"):
        shutil.rmtree(partial)
    name = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    partial = releases / f".{name}"
    partial.mkdir()
    for table, frame in prepared.tables.items():
        frame.write_parquet(partial / f"{table}.parquet")
    (partial / PRIVATE).mkdir()
    _values_frame(prepared.values).write_parquet(partial / PRIVATE / VALUES_FILE)
    release = {
        "min_count": prepared.threshold,
        "narrowest": prepared.narrowest_interval,
        "data_cutoff": prepared.data_cutoff.isoformat(),
        "protection": prepared.protection,
        "published_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "content_digest": release_digest(prepared),
    }
    (partial / RELEASE_FILE).write_text(json.dumps(release), encoding="utf-8")
    partial.rename(releases / name)
    link = folder / f".{CURRENT}.next"
    link.unlink(missing_ok=True)
    link.symlink_to(Path(RELEASES) / name)
    link.replace(folder / CURRENT)
    return releases / name


def stored(database: Path, staging: Path, folder: Path) -> Prepared:
    """The tables as stored (the ones the gate passed) with the warehouse's facts."""
    facts = warehouse_facts(database, staging)
    current = current_release(folder)
    release = release_facts(current)
    values = _cell_values(current / PRIVATE / VALUES_FILE)
    return Prepared(
        load(current), facts["semesters"], facts["rules"], facts["deliveries"], facts["keys"],
        release["min_count"], release["narrowest"], values, release["protection"],
    )  # fmt: skip


@dataclass(frozen=True)
class AttackOutcome:
    """The attack's interval for every suppressed count (exact where narrower than the
    threshold, elsewhere one at least that wide that integer tables fitting the release
    span), the ones narrower than the threshold that this release could have protected, and
    the cells that revisions sent before pin whatever this release does (named, for the data
    protection officer)."""

    intervals: pl.DataFrame
    narrow: pl.DataFrame
    disclosed_before: list[str]

    @property
    def narrowest(self) -> float:
        widths = self.intervals.filter(~pl.col("disclosed_before"))["width"]
        return float(widths.min()) if widths.len() else float("inf")


def judged_attack(
    values: dict[Cell, float],
    published: tuple[dict, dict],
    threshold: int,
    suppress_zero: bool,
    versions: list[Version],
    reuse: Reuse | None = None,
) -> AttackOutcome:
    """Attack the release with everything published, and tell the cells this release failed
    to protect from the ones revisions sent before had disclosed already."""
    found = attack_release(
        values, *published, suppress_zero, versions, enough=threshold, reuse=reuse
    )
    weak = [_key(r) for r in found.filter(pl.col("width") < threshold).iter_rows(named=True)]
    before = disclosed_before(values, weak, threshold, suppress_zero, versions)
    flags = [_key(r) in before for r in found.iter_rows(named=True)]
    flagged = found.with_columns(disclosed_before=pl.Series(flags, dtype=pl.Boolean))
    narrow = flagged.filter((pl.col("width") < threshold) & ~pl.col("disclosed_before"))
    names = sorted(
        " ".join(r[c] for c in VALUE_COLUMNS[:5]) + (f" ({r['version']})" if r["version"] else "")
        for r in flagged.filter(pl.col("disclosed_before")).iter_rows(named=True)
    )
    return AttackOutcome(flagged, narrow, names)


def _key(row: dict):
    """The stacked key of an attacked cell: the cell, or the cell and its earlier version."""
    cell = tuple(row[c] for c in VALUE_COLUMNS[:5])
    return cell if row["version"] is None else (cell, row["version"])


def attack_stored(folder: Path, exports: Path) -> tuple[AttackOutcome, int]:
    """The attack on the release in force, as stored, with every revision sent before it, and
    the threshold its intervals must be as wide as."""
    threshold, suppress_zero = disclosure_settings()
    current = current_release(folder)
    values = _cell_values(current / PRIVATE / VALUES_FILE)
    versions = earlier_versions(exports, folder / LEDGER)
    published = published_cells(load(current))
    return judged_attack(values, published, threshold, suppress_zero, versions), threshold


GATE_RECORD = "gate_record.json"


def gate(
    tables: dict[str, pl.DataFrame],
    semesters: list[str],
    digest: str,
    quality_dir: Path,
    worker: GateWorker | None = None,
) -> list[GateResult]:
    """The quality gate on a release's tables (`digest`: its content), which must hold every
    one of the `semesters`. Great Expectations runs, and is imported, only for what this code
    has not gated before, in the `worker` (started ahead by the caller, else now): the results
    are kept in `quality_dir` with the content digest, the semesters and the code version,
    beside the quality report of the run (a missing report runs the gate again)."""
    kept = gated_before(digest, semesters, quality_dir)
    if kept is not None:
        return kept
    threshold, _ = disclosure_settings()
    results = (worker or GateWorker()).run(tables, semesters, threshold, quality_dir, digest)
    record = quality_dir / GATE_RECORD
    partial = record.with_name(f".{record.name}")
    saved = {"key": gate_key(digest, semesters), "results": [vars(result) for result in results]}
    partial.write_text(json.dumps(saved), encoding="utf-8")
    partial.replace(record)
    return results


def gated_before(digest: str, semesters: list[str], quality_dir: Path) -> list[GateResult] | None:
    """The gate's results kept for this content (`digest`), these `semesters` and this code,
    beside the quality report of that run; None when there are none."""
    record = quality_dir / GATE_RECORD
    if not (record.exists() and report_file(quality_dir).exists()):
        return None
    saved = json.loads(record.read_text(encoding="utf-8"))
    if saved["key"] != gate_key(digest, semesters):
        return None
    return [GateResult(**result) for result in saved["results"]]


def gate_key(digest: str, semesters: list[str]) -> dict:
    """What the gate's kept results hold for: the content, the semesters and the code."""
    return {"content_digest": digest, "semesters": semesters, "code_version": code_version()}


def gate_semesters(semesters: pl.DataFrame) -> list[str]:
    """The semesters the gate expects every table to hold."""
    return sorted(semesters["semester_id"].to_list())


def code_version() -> str:
    """The commit the code runs from (marked dirty if changed), or `unknown` outside git."""
    try:
        commit = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=PROJECT_ROOT, capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit


def extract_sources(prepared: Prepared) -> Sources:
    """What the extracts say beside their numbers, for the prepared release."""
    _, suppress_zero = disclosure_settings()
    return Sources(
        prepared.semesters, prepared.deliveries, rules(), reference.activities(),
        reference.publisher(), prepared.threshold, suppress_zero, prepared.data_cutoff,
    )  # fmt: skip


def write_extracts(prepared: Prepared, exports: Path, ledger: Path, release: str) -> list[Revision]:
    """A new revision for every final period whose published numbers changed, with its true
    values in the `ledger`; its manifest names the `release` it came from."""
    schools = [s.name for s in reference.schools()] + [MUNICIPALITY_NAME]
    metadata = {
        "rule_set_version": rules()["version"],
        "rules": dict(zip(prepared.rules["rule_id"], prepared.rules["version"], strict=True)),
        "code_version": code_version(),
        MANIFEST_RELEASE: release,
        "disclosure": {
            "min_count": prepared.threshold,
            "narrowest_interval_found_by_attack": prepared.narrowest_interval,
        },
    }
    sources = extract_sources(prepared)
    written = []
    for semester_id in prepared.final_periods:
        revision = write_revision(
            exports,
            semester_id,
            for_period(prepared.tables, semester_id),
            sources,
            metadata,
            lambda text: text_findings(text, prepared.pupil_keys, schools),
        )
        if revision is not None:
            _write_ledger(prepared, revision, ledger)
            written.append(revision)
    return written


def pass_gate(prepared: Prepared, quality_dir: Path, worker: GateWorker | None) -> None:
    """The quality gate on the prepared release, in the `worker` (or one of its own, when
    it runs); `GateFailed`, naming the failed expectations and the quality report, unless
    every table passes."""
    semesters = gate_semesters(prepared.semesters)
    results = gate(prepared.tables, semesters, release_digest(prepared), quality_dir, worker)
    failed = [r for r in results if not r.success]
    if failed:
        raise GateFailed(
            "; ".join(f"{r.table}: {', '.join(r.failures)}" for r in failed)
            + f" (quality report: {report_file(quality_dir)})"
        )


@dataclass(frozen=True)
class Publication:
    """What a publication did: the release in force after it, whether it is new, the new
    extract revisions, and the releases the retention policy removed."""

    release: Path
    new_release: bool
    revisions: list[Revision]
    removed: list[str]


def publish(
    database: Path,
    staging: Path,
    tables_dir: Path,
    quality_dir: Path,
    exports: Path,
    override: HoldOverride | None = None,
    progress: Progress = SILENT,
) -> Publication:
    """All three steps: nothing is written unless the protection holds and the gate passes,
    and content equal to the release in force's makes no release and runs no gate again (its
    results are kept with the content digest: content that failed fails again). With an
    `override`, publication goes on despite a completeness hold, which is recorded once a new
    release is stored (before its extracts: the release is in force from then on)."""
    ledger = tables_dir / LEDGER
    # Imports Great Expectations while the tables are protected, when the gate may run.
    with EarlyGate(tables_dir, quality_dir) as early:
        reuse = load_reuse(tables_dir)
        versions = earlier_versions(exports, ledger)
        prepared = prepare(database, staging, versions, reuse, override, progress, early)
        save_reuse(reuse, tables_dir)
        release = release_in_force(prepared, tables_dir)
        new_release = release is None
        # The release in force too: one stored by the Dagster asset may have failed its gate,
        # or never met it; its kept results make this free when it passed.
        progress.stage("quality gate")
        pass_gate(prepared, quality_dir, early.worker)
    if new_release:
        progress.stage("store the release")
        release = store(prepared, tables_dir)
        if override is not None:
            override.record(release.name)
    progress.stage("write the extracts")
    written = write_extracts(prepared, exports, ledger, release.name)
    save_inputs(inputs_digest(prepared.facts_digest, versions), prepared, tables_dir)
    return Publication(release, new_release, written, prune_releases(tables_dir, exports))
