"""The landing folder and the archive: listing delivered files, when each was received, their
content hash, the immutable copy in `archive/`, and the sensor's view of what is new.
"""

import hashlib
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from pipelines.ingest.contract import MUNICIPALITY_FOLDER
from pipelines.reference import tables as reference


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def archive_file(path: Path, sha: str, archive: Path) -> Path:
    """Copy a delivered file, unchanged, to `archive/<sha[:2]>/<sha><suffix>` once."""
    target = archive / sha[:2] / f"{sha}{path.suffix.lower()}"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(target.name + ".part")
        shutil.copyfile(path, temporary)
        os.replace(temporary, target)
    return target


def received_at(path: Path) -> datetime:
    """When the file was delivered: its modification time in landing."""
    return datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)


def landing_files(folder: Path) -> list[Path]:
    """Every file in a folder, subfolders included: nothing delivered goes unseen."""
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []


def stray_files(landing: Path) -> list[tuple[str, Path]]:
    """Files at the landing root or in folders of no known school: (folder, path)."""
    known = {s.school_id for s in reference.schools()} | {MUNICIPALITY_FOLDER}
    if not landing.is_dir():
        return []
    strays = [("", p) for p in sorted(landing.iterdir()) if p.is_file()]
    for folder in sorted(p for p in landing.iterdir() if p.is_dir()):
        if folder.name not in known:
            strays += [(folder.name, p) for p in landing_files(folder)]
    return strays


FileHashes = dict[str, tuple[int, int, str]]


def partition_of(folder: str) -> str:
    """Known schools are their own partition; everything else is the municipality's to log."""
    schools = {s.school_id for s in reference.schools()}
    return folder if folder in schools else MUNICIPALITY_FOLDER


def file_hashes(landing: Path, known: FileHashes) -> FileHashes:
    """SHA-256 of every landing file, reusing `known` where size and mtime are unchanged."""
    paths = [p for folder in sorted(landing.glob("*/")) for p in landing_files(folder)]
    paths += [p for folder, p in stray_files(landing) if not folder]
    hashes: FileHashes = {}
    for path in paths:
        relative = path.relative_to(landing).as_posix()
        stat = path.stat()
        cached = known.get(relative)
        same = cached is not None and cached[:2] == (stat.st_size, stat.st_mtime_ns)
        sha = cached[2] if same else sha256_of(path)
        hashes[relative] = (stat.st_size, stat.st_mtime_ns, sha)
    return hashes


def partition_digests(hashes: FileHashes) -> dict[str, str]:
    """One digest per partition over its files' names and content hashes."""
    grouped: dict[str, list[str]] = {}
    for relative, (_, _, sha) in sorted(hashes.items()):
        folder = relative.split("/")[0] if "/" in relative else ""
        grouped.setdefault(partition_of(folder), []).append(f"{relative}\0{sha}")
    return {
        partition: hashlib.sha256("\n".join(entries).encode()).hexdigest()[:16]
        for partition, entries in grouped.items()
    }


def partitions_with_new_files(landing: Path, log: pl.DataFrame | None) -> list[str]:
    """Partitions holding a landing file the delivery log has not seen at its delivery time
    (a new file, or one replaced since), in the order of the reference list."""
    seen = set() if log is None else set(log.select("file", "received_at").iter_rows())
    paths = [p for folder in sorted(landing.glob("*/")) for p in landing_files(folder)]
    paths += [p for folder, p in stray_files(landing) if not folder]
    new = {
        partition_of(relative.split("/")[0] if "/" in relative else "")
        for path in paths
        if ((relative := path.relative_to(landing).as_posix()), received_at(path)) not in seen
    }
    order = [s.school_id for s in reference.schools()] + [MUNICIPALITY_FOLDER]
    return [p for p in order if p in new]
