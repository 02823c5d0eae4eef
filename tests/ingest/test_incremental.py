"""Incremental ingest: a night reads only the night's files, and what it stages is byte for
byte what ingest from scratch stages from the same landing, whatever the nights held."""

import json
import os
import random
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from pipelines.ingest import cache, partition
from pipelines.ingest.cache import CACHE_FOLDER, JUDGED, MANIFEST, BrokenCache, IngestCache
from pipelines.ingest.contract import KINDS, MUNICIPALITY_FOLDER
from pipelines.ingest.partition import stage_partitions, unreconciled
from pipelines.ingest.staging import PARQUET_GLOB, PARQUET_NAME, read_table, semester_files
from pipelines.operations.rekey import delivered_codes, key_mapping, rekey_staging
from pipelines.privacy.pseudonym import PseudonymKey, pupil_key
from pipelines.privacy.scan import identifier_findings
from pipelines.reference.calendar import school_calendar

FIXTURES = Path(__file__).parents[1] / "fixtures" / "tolerated"
KEY = PseudonymKey(b"test-key", "a test")
SCHOOL = "TIS"
REGISTER = (FIXTURES / "skoleni_20250901-20251219.csv").read_text(encoding="utf-8")
TITLE, HEADER, *ROWS = REGISTER.splitlines()
FIFTH = [row for row in ROWS if ";5.a;" in row]
EARLY, LATE = FIFTH[:1], FIFTH[1:]  # the late pupil is only on the register that comes later
DAYS = school_calendar().school_days(date(2025, 9, 1), date(2025, 12, 19), 5)
ABSENCES = ";".join(KINDS["kavejumi"].columns)
SUPPORT = ";".join(KINDS["atbalsts"].columns)


@dataclass
class File:
    name: str
    data: bytes
    folder: str = SCHOOL


def register(rows: list[str]) -> bytes:
    return ("\n".join([TITLE, HEADER, *rows]) + "\n").encode()


def absences(rng: random.Random, first: int, days: int, pupils: list[str]) -> list[str]:
    return [
        f"{row.split(';')[0]};5.a;{day:%d.%m.%Y};{lesson};Matemātika;{rng.choice(['n', 'ns'])}"
        for day in DAYS[first : first + days]
        for lesson in rng.sample(range(1, 8), rng.randint(1, 2))
        for row in rng.sample(pupils, 1)
    ]


def absence_file(name: str, lines: list[str]) -> File:
    return File(name, ("\n".join([ABSENCES, *lines]) + "\n").encode())


def nights(seed: int) -> list[list[File]]:
    """Five nights: absences of the early and the late pupil before the late pupil's register
    came; a superseding re-delivery, the same bytes again, a correction that would empty most
    of a period (held), a corrupt file, nightly files without a period, a support spell of the
    late pupil; and the register with the late pupil on a random night after the first."""
    rng = random.Random(seed)
    delivered: list[File] = []
    plan: list[list[File]] = [[File("skoleni_a_20250901-20251219.csv", register(EARLY))]]
    late_register = rng.randint(1, 4)
    for night in range(5):
        files = plan[night] if night < len(plan) else []
        first = rng.randrange(0, 40)
        period = f"{DAYS[first]:%Y%m%d}-{DAYS[first + 9]:%Y%m%d}"
        lines = absences(rng, first, 10, FIFTH)
        files.append(absence_file(f"kavejumi_{period}_{night}.csv", lines))
        choices = ["again", "correction", "shrinking", "corrupt", "nightly", "support"]
        for choice in rng.sample(choices, rng.randint(2, 4)) if delivered else []:
            earlier = rng.choice(delivered)
            match choice:
                case "again":
                    files.append(File(f"kopija_{night}_{earlier.name}", earlier.data))
                case "correction" if earlier.name.startswith("kavejumi_2"):
                    lines = earlier.data.decode().splitlines()[1:]
                    lines[0] = lines[0].rsplit(";", 1)[0] + ";nc"
                    files.append(absence_file(f"labots_{night}_{earlier.name}", lines))
                case "shrinking" if earlier.name.startswith("kavejumi_2"):
                    lines = earlier.data.decode().splitlines()[1:2]
                    files.append(absence_file(f"maz_{night}_{earlier.name}", lines))
                case "corrupt":
                    files.append(File(f"kavejumi_bojats_{night}.csv", rng.choice([b"", b"\x00PK"])))
                case "nightly":
                    lines = absences(rng, rng.randrange(0, 50), 1, FIFTH)
                    files.append(absence_file(f"kavejumi_nakts_{night}.csv", lines))
                case "support":
                    code = LATE[0].split(";")[0]
                    row = f"{code};{SCHOOL};KONS;{DAYS[first]:%d.%m.%Y};;4;psihologs;Nē"
                    data = f"{SUPPORT}\n{row}\n".encode()
                    files.append(File(f"atbalsts_{night}.csv", data, MUNICIPALITY_FOLDER))
        if night == late_register:
            files.append(File("skoleni_b_20250901-20251219.csv", register(FIFTH)))
        delivered += [f for f in files if f.folder == SCHOOL and f.data]
        if len(plan) <= night:
            plan.append(files)
    return plan


def land(landing: Path, night: int, files: list[File], rng: random.Random) -> None:
    """The night's files, written in a random order with random times within the night."""
    evening = datetime(2025, 12, 1 + night, 18, tzinfo=UTC)
    minutes = rng.sample(range(0, 300), len(files))
    for file, minute in zip(rng.sample(files, len(files)), minutes, strict=True):
        path = landing / file.folder / file.name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(file.data)
        moment = (evening + timedelta(minutes=minute)).timestamp()
        os.utime(path, (moment, moment))


def staged_files(staging: Path) -> dict[str, bytes]:
    return {
        p.relative_to(staging).as_posix(): p.read_bytes()
        for p in sorted(staging.glob(f"*/*/{PARQUET_GLOB}"))
    }


def held_files(staging: Path) -> list[str]:
    log = read_table(staging, "delivery_log")
    return log.filter(pl.col("status") == "held")["sha256"].to_list()


@pytest.mark.parametrize("seed", range(6))
def test_incremental_ingest_stages_byte_for_byte_what_ingest_from_scratch_stages(tmp_path, seed):
    rng = random.Random(seed)
    landing, staging = tmp_path / "landing", tmp_path / "staging"
    released: frozenset[str] = frozenset()
    for night, files in enumerate(nights(seed)):
        land(landing, night, files, rng)
        stage_partitions([SCHOOL], landing, tmp_path / "archive", staging, KEY, 1, released)
        scratch = tmp_path / f"scratch{night}"
        stage_partitions([SCHOOL], landing, tmp_path / "archive", scratch, KEY, 1, released)

        assert staged_files(staging) == staged_files(scratch), f"night {night}"
        log = read_table(staging, "delivery_log")
        assert unreconciled(log).is_empty()
        tables = [read_table(staging, t) for t in ("absences", "pupils", "support")]
        rows = pl.concat([t.select("delivery_sha") for t in tables if t is not None])
        in_force = dict(rows.group_by("delivery_sha").len().iter_rows())
        for entry in log.filter(pl.col("status") == "loaded").iter_rows(named=True):
            expected = entry["rows_loaded"] - entry["rows_superseded"]
            assert in_force.get(entry["sha256"], 0) == expected, entry["file"]
        if rng.random() < 0.5:  # an operator releases what is held
            released |= frozenset(held_files(staging))


@pytest.fixture
def counted(monkeypatch) -> dict[str, list[str]]:
    """The files ingest reads and hashes, by name."""
    calls: dict[str, list[str]] = {"read": [], "hashed": []}
    read, hashed = partition.read_delivery, partition.sha256_of

    def reading(path: Path):
        calls["read"].append(path.name)
        return read(path)

    def hashing(path: Path) -> str:
        calls["hashed"].append(path.name)
        return hashed(path)

    monkeypatch.setattr(partition, "read_delivery", reading)
    monkeypatch.setattr(partition, "sha256_of", hashing)
    return calls


def two_nights(tmp_path: Path) -> tuple[Path, Path]:
    plan = nights(7)
    landing, staging = tmp_path / "landing", tmp_path / "staging"
    land(landing, 0, plan[0] + plan[1], random.Random(7))
    stage_partitions([SCHOOL], landing, tmp_path / "archive", staging, KEY, 1)
    return landing, staging


def test_a_night_without_a_new_file_reads_nothing_and_changes_nothing(tmp_path, counted):
    landing, staging = two_nights(tmp_path)
    before = staged_files(staging)
    counted["read"].clear(), counted["hashed"].clear()

    stage_partitions([SCHOOL], landing, tmp_path / "archive", staging, KEY, 1)

    assert counted["read"] == []
    assert sorted(counted["hashed"]) == sorted(p.name for p in landing.rglob("*") if p.is_file())
    assert staged_files(staging) == before


def test_a_night_reads_only_its_own_files(tmp_path, counted):
    landing, staging = two_nights(tmp_path)
    counted["read"].clear(), counted["hashed"].clear()
    tonight = absence_file("kavejumi_nakts.csv", absences(random.Random(1), 30, 1, FIFTH))
    land(landing, 9, [tonight], random.Random(1))

    reports = stage_partitions([SCHOOL], landing, tmp_path / "archive", staging, KEY, 1)

    assert counted["read"] == [tonight.name]
    assert len(counted["hashed"]) == sum(1 for p in landing.rglob("*") if p.is_file())
    assert [r.files_read for r in reports] == [1, 0]


def test_a_file_rewritten_in_place_with_its_old_size_and_time_is_read_again(tmp_path, counted):
    landing, staging = two_nights(tmp_path)
    path = max((p for p in landing.rglob("*.csv") if "kavejumi" in p.name), key=lambda p: p.name)
    before = path.stat()
    text = path.read_bytes()
    lesson = re.search(rb";(\d);Matem", text)
    other = str(int(lesson[1]) % 7 + 1).encode()
    path.write_bytes(text[: lesson.start(1)] + other + text[lesson.end(1) :])
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size
    counted["read"].clear()

    stage_partitions([SCHOOL], landing, tmp_path / "archive", staging, KEY, 1)

    assert counted["read"] == [path.name]


@pytest.mark.parametrize("change", ["code or reference data", "backfill"])
def test_a_change_the_cache_cannot_see_past_reads_every_file_again(
    tmp_path, counted, monkeypatch, change
):
    landing, staging = two_nights(tmp_path)
    files = sorted(p.name for p in landing.rglob("*") if p.is_file())
    counted["read"].clear()
    reuse = change != "backfill"
    if change == "code or reference data":
        digest = cache._code_digest()
        monkeypatch.setattr(cache, "_code_digest", lambda: digest + " changed")

    stage_partitions([SCHOOL], landing, tmp_path / "archive", staging, KEY, 1, reuse=reuse)

    assert sorted(counted["read"]) == files


def test_the_cache_is_keyed_by_the_pseudonym_key(tmp_path):
    _, staging = two_nights(tmp_path)
    assert IngestCache(staging, SCHOOL, KEY.secret).reads
    assert not IngestCache(staging, SCHOOL, b"another key").reads


def test_a_key_rotation_leaves_the_cache_behind(tmp_path):
    _, staging = two_nights(tmp_path)
    codes = delivered_codes(tmp_path / "archive")
    target = tmp_path / "rotated"
    rekey_staging(staging, target, key_mapping(codes, KEY.secret, b"new key"))
    assert (staging / CACHE_FOLDER).is_dir()
    assert staged_files(target) and not (target / CACHE_FOLDER).exists()


def test_the_demo_cache_holds_no_identifier(ingested):
    files = sorted((ingested / CACHE_FOLDER).rglob("*.parquet"))
    assert len(files) > 50
    for path in files:
        assert identifier_findings(pl.read_parquet(path), str(path)) == []


def test_rows_the_register_passed_are_judged_again_when_a_register_is_taken_away(tmp_path):
    """The register checks of the rows they passed are kept only while the register grows: a
    register delivery taken out of landing sends its pupil's absences to quarantine, as
    ingest from scratch does."""
    landing, archive, staging = tmp_path / "landing", tmp_path / "archive", tmp_path / "staging"
    late = File("skoleni_b_20250901-20251219.csv", register(FIFTH))
    lines = absences(random.Random(3), 10, 10, LATE)
    files = [File("skoleni_a_20250901-20251219.csv", register(EARLY)), late]
    land(
        landing,
        0,
        [*files, absence_file("kavejumi_20250915-20250926.csv", lines)],
        random.Random(3),
    )
    stage_partitions([SCHOOL], landing, archive, staging, KEY, 1)
    assert (
        read_table(staging, "quarantine")
        .filter(pl.col("check") == "pupil_not_in_register")
        .is_empty()
    )

    (landing / SCHOOL / late.name).unlink()
    stage_partitions([SCHOOL], landing, archive, staging, KEY, 1)
    stage_partitions([SCHOOL], landing, archive, tmp_path / "scratch", KEY, 1)

    assert staged_files(staging) == staged_files(tmp_path / "scratch")
    quarantine = read_table(staging, "quarantine")
    assert quarantine.filter(pl.col("check") == "pupil_not_in_register").height == len(lines)


def test_a_night_writes_only_its_own_entries_to_the_cache(tmp_path):
    """The cache's segments stay as they were; the night's new segment holds only its file."""
    landing, staging = two_nights(tmp_path)
    folder = staging / CACHE_FOLDER / SCHOOL

    def segments() -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in folder.glob("*.parquet") if p.name != JUDGED}

    before = segments()
    tonight = absence_file("kavejumi_nakts.csv", absences(random.Random(1), 30, 1, FIFTH))
    land(landing, 9, [tonight], random.Random(1))

    stage_partitions([SCHOOL], landing, tmp_path / "archive", staging, KEY, 1)

    after = segments()
    assert {name: after.get(name) for name in before} == before
    written = [pl.read_parquet(folder / name)["entry"] for name in after.keys() - before.keys()]
    sha = partition.sha256_of(landing / SCHOOL / tonight.name)
    assert written and {entry.split("@")[0] for column in written for entry in column} == {sha}


def test_a_file_taken_away_and_put_back_stages_what_ingest_from_scratch_stages(tmp_path):
    """A file moved out of landing and back (`mv`, `cp -p`: the same name in the cache) is
    stored in a second segment while the first still lists it; merging the two keeps its
    rows once, and the next night stages exactly what ingest from scratch stages."""
    landing, archive, staging = tmp_path / "landing", tmp_path / "archive", tmp_path / "staging"
    evening = datetime(2025, 12, 1, 18, tzinfo=UTC)

    def deliver(night: int, files: list[File]) -> None:
        for minute, file in enumerate(files):
            path = landing / file.folder / file.name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(file.data)
            moment = (evening + timedelta(days=night, minutes=minute)).timestamp()
            os.utime(path, (moment, moment))

    def ingest() -> list[int]:
        stage_partitions([SCHOOL], landing, archive, staging, KEY, 1)
        manifest = json.loads((staging / CACHE_FOLDER / SCHOOL / MANIFEST).read_text())
        return [segment["number"] for segment in manifest["segments"]]

    def nightly(night: int) -> File:
        lines = absences(random.Random(night), 5 * night, 5, FIFTH)
        return absence_file(f"kavejumi_nakts_{night}.csv", lines)

    register_file = File("skoleni_20250901-20251219.csv", register(FIFTH))
    deliver(0, [register_file, nightly(0), nightly(1)])  # the first absences come back
    assert ingest() == [1]
    path = landing / SCHOOL / nightly(0).name
    away = tmp_path / path.name
    path.rename(away)
    ingest()
    away.rename(path)
    assert ingest() == [1, 2]  # the first segment still lists it, the second lists it again
    segments, night = [1, 2], 1
    while 1 in segments:  # a night's file each night until the first segment is merged
        night += 1
        assert night < 12, "the first segment was never merged"
        deliver(night, [nightly(night)])
        segments = ingest()
    deliver(night + 1, [nightly(night + 1)])
    ingest()  # the cache as that merge wrote it
    stage_partitions([SCHOOL], landing, archive, tmp_path / "scratch", KEY, 1)

    assert staged_files(staging) == staged_files(tmp_path / "scratch")


def test_a_cache_segment_with_an_entrys_rows_apart_is_refused_naming_its_folder(tmp_path):
    _, staging = two_nights(tmp_path)
    folder = staging / CACHE_FOLDER / SCHOOL
    path = next(folder.glob("*-staged_kavejumi.parquet"))
    rows = pl.read_parquet(path)
    assert rows["entry"].n_unique() > 1
    rows.sample(fraction=1.0, shuffle=True, seed=1).write_parquet(path)

    with pytest.raises(BrokenCache, match=re.escape(str(folder))):
        IngestCache(staging, SCHOOL, KEY.secret)


def land_at(landing: Path, file: File, moment: datetime) -> None:
    path = landing / file.folder / file.name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(file.data)
    os.utime(path, (moment.timestamp(), moment.timestamp()))


def staged_frames(staging: Path) -> dict[str, pl.DataFrame]:
    return {
        p.relative_to(staging).as_posix(): pl.read_parquet(p)
        for p in sorted(staging.glob(f"*/*/{PARQUET_GLOB}"))
    }


def written(path: Path) -> tuple[int, int]:
    """What tells a file written again from one left as it was: its inode and time."""
    return path.stat().st_ino, path.stat().st_mtime_ns


def test_a_night_rewrites_only_the_staging_files_of_the_semesters_it_changed(tmp_path):
    """Absences are staged in a file per semester: a night of the second semester writes that
    semester's file and leaves the first's as it was; a late note for a day of the first
    semester rewrites the first's (the absence's reason changes) and leaves the second's.
    After each night staging holds what ingest from scratch stages."""
    landing, staging = two_nights(tmp_path)
    folder = staging / "absences" / SCHOOL
    autumn, spring = folder / "data-2025-26-S1.parquet", folder / "data-2025-26-S2.parquet"
    assert [p.name for p in folder.glob(PARQUET_GLOB)] == [autumn.name]
    code = EARLY[0].split(";")[0]
    unjustified = pl.read_parquet(autumn).filter(
        pl.col("pupil_key") == pupil_key(KEY.secret, code), pl.col("reason") == "unjustified"
    )
    day = unjustified["date"].min()
    assert day is not None
    january = school_calendar().school_days(date(2026, 1, 5), date(2026, 1, 9), 5)[:3]
    lines = [f"{code};5.a;{d:%d.%m.%Y};{lesson};Matemātika;n" for d in january for lesson in (1, 2)]
    note = f"{';'.join(KINDS['zimes'].columns)}\n{code};{day:%d.%m.%Y};{day:%d.%m.%Y};slimība;"
    nights = [
        absence_file("kavejumi_20260105-20260107.csv", lines),
        File("zimes_20260112-20260112.csv", f"{note}12.01.2026\n".encode()),
    ]

    def night(file: File, moment: datetime) -> None:
        land_at(landing, file, moment)
        stage_partitions([SCHOOL], landing, tmp_path / "archive", staging, KEY, 1)
        scratch = tmp_path / f"scratch-{file.name}"
        stage_partitions([SCHOOL], landing, tmp_path / "archive", scratch, KEY, 1)
        files, again = staged_frames(staging), staged_frames(scratch)
        assert files.keys() == again.keys()
        for name, frame in files.items():
            assert frame.equals(again[name]), name

    before = written(autumn)
    night(nights[0], datetime(2026, 1, 7, 18, tzinfo=UTC))
    assert written(autumn) == before
    assert sorted(pl.read_parquet(spring)["date"].unique()) == january

    before = written(spring)
    night(nights[1], datetime(2026, 1, 12, 18, tzinfo=UTC))
    assert written(spring) == before
    reasons = pl.read_parquet(autumn).join(unjustified, on=["source_row", "delivery_sha"])
    assert set(reasons.filter(pl.col("date") == day)["reason"]) == {"unjustified_late_note"}


def test_staging_files_split_by_semester_and_keep_undated_rows_apart():
    days = [date(2025, 8, 31), date(2025, 9, 1), date(2025, 12, 31), date(2026, 1, 1), None]
    frame = pl.DataFrame({"date": days, "row": range(5)})
    files = semester_files(frame, "date")
    assert {name: rows["row"].to_list() for name, rows in files.items()} == {
        "data-2024-25-S2.parquet": [0],
        "data-2025-26-S1.parquet": [1, 2],
        "data-2025-26-S2.parquet": [3],
        PARQUET_NAME: [4],
    }
    assert list(semester_files(frame, None)) == [PARQUET_NAME]


def test_files_checked_in_several_batches_stage_what_one_batch_stages(tmp_path, monkeypatch):
    """A full refresh checks a large school's files in batches of `CHECK_BATCH_ROWS` raw rows
    (its memory), and each file is checked on its own: the batches change nothing staged."""
    plan = nights(3)
    landing = tmp_path / "landing"
    for night, files in enumerate(plan):
        land(landing, night, files, random.Random(night))
    one = tmp_path / "one"
    stage_partitions([SCHOOL], landing, tmp_path / "archive", one, KEY, 1)
    batches: list[int] = []
    check = partition.PartitionIngest._check

    def counting(self, pending):
        batches.append(len(pending))
        check(self, pending)

    monkeypatch.setattr(partition, "CHECK_BATCH_ROWS", 1)
    monkeypatch.setattr(partition.PartitionIngest, "_check", counting)
    several = tmp_path / "several"
    stage_partitions([SCHOOL], landing, tmp_path / "archive", several, KEY, 1)

    assert len([b for b in batches if b]) > 3
    assert staged_files(several) == staged_files(one)
