"""What is in landing now, per partition, as content digests: the sensor's view of news."""

import hashlib
from pathlib import Path

import polars as pl

from pipelines import contract, reference
from pipelines.ingest import landing_files, received_at, sha256_of, stray_files

FileHashes = dict[str, tuple[int, int, str]]


def partition_of(folder: str) -> str:
    """Known schools are their own partition; everything else is the municipality's to log."""
    schools = {s.school_id for s in reference.schools()}
    return folder if folder in schools else contract.MUNICIPALITY_FOLDER


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
    order = [s.school_id for s in reference.schools()] + [contract.MUNICIPALITY_FOLDER]
    return [p for p in order if p in new]
