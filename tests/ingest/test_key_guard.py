"""The pseudonym key guard: staging keeps the key's fingerprint, and ingest refuses a wrong or
missing key before it writes anything anywhere under data/."""

import hashlib
import shutil
from pathlib import Path

import dagster as dg
import pytest

from pipelines.cli import main
from pipelines.defs.ingest import ingest_partition
from pipelines.ingest.partition import stage_partitions
from pipelines.ingest.staging import KEY_FINGERPRINT_FILE, PARQUET_GLOB, WrongKey
from pipelines.paths import archive_dir, landing_dir, staging_dir
from pipelines.privacy.pseudonym import KEY_VARIABLE, MissingKey, PseudonymKey, load_key

FIXTURES = Path(__file__).parents[1] / "fixtures" / "tolerated"
KEY = "the-key-in-use"


def tree_hashes(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.fixture
def data(tmp_path, monkeypatch) -> Path:
    """A data folder ingested once with KEY, then a new file delivered for the next run."""
    root = tmp_path / "data"
    monkeypatch.setenv("PMP_DATA_DIR", str(root))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv(KEY_VARIABLE, KEY)
    folder = root / "landing" / "TIS"
    folder.mkdir(parents=True)
    shutil.copy(FIXTURES / "skoleni_20250901-20251219.csv", folder)
    stage(load_key(tmp_path / "home" / "pseudonym-demo.key"))
    shutil.copy(FIXTURES / "kavejumi_utf8_20251006-20251008.csv", folder)
    return root


def stage(key: PseudonymKey) -> None:
    stage_partitions(["TIS"], landing_dir(), archive_dir(), staging_dir(), key, workers=1)


def refused_run() -> str:
    """The failure message of an ingest run through the Dagster asset (which must not retry)."""
    result = dg.materialize([ingest_partition], partition_key="TIS", raise_on_error=False)
    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    assert not [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    return failure.step_failure_data.error.message


def test_staging_keeps_a_fingerprint_that_does_not_reveal_the_key(data):
    fingerprint = (data / "staging" / KEY_FINGERPRINT_FILE).read_text(encoding="utf-8")
    assert len(fingerprint.strip()) == 16
    assert KEY not in fingerprint
    assert KEY.encode().hex() not in fingerprint


def test_a_wrong_key_is_refused_and_nothing_changes(data, monkeypatch):
    before = tree_hashes(data)
    monkeypatch.setenv(KEY_VARIABLE, "a-wrong-key")
    message = refused_run()
    assert "is not the key" in message
    assert f"the environment variable {KEY_VARIABLE}" in message
    assert "pmp rotate-key" in message
    assert "a-wrong-key" not in message
    assert tree_hashes(data) == before


def test_a_missing_key_is_refused_and_nothing_changes(data, monkeypatch):
    before = tree_hashes(data)
    monkeypatch.delenv(KEY_VARIABLE)
    assert "only `pmp generate` and `make demo` create a demo key" in refused_run()
    assert tree_hashes(data) == before
    assert not list((data.parent / "home").glob("*.key"))


def test_the_right_key_ingests_the_new_file(data):
    with pytest.raises(WrongKey):
        stage(PseudonymKey(b"another-key", "a test"))
    stage(PseudonymKey(KEY.encode(), "a test"))
    assert any((data / "staging" / "absences" / "TIS").glob(PARQUET_GLOB))


def test_the_command_line_says_it_in_one_line(data, monkeypatch, capsys):
    monkeypatch.setenv(KEY_VARIABLE, "a-wrong-key")
    with pytest.raises(SystemExit) as stopped:
        main(["backfill", "--semester", "2025/26-S1"])
    message = str(stopped.value.code)
    assert message.startswith("pmp backfill: the pseudonym key from the environment variable")
    assert "\n" not in message


def test_only_pmp_generate_creates_a_demo_key(tmp_path, monkeypatch):
    monkeypatch.delenv(KEY_VARIABLE, raising=False)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    demo_key = tmp_path / "home" / "pseudonym-demo.key"
    with pytest.raises(MissingKey):
        load_key(demo_key)
    assert not demo_key.exists()
    main(["generate", "--out", str(tmp_path / "landing"), "--scale", "0.02", "--end-date",
          "2025-10-10", "--defect-rate", "0"])  # fmt: skip
    assert demo_key.exists()
    with pytest.warns(UserWarning, match="demo key"):
        assert load_key(demo_key) == PseudonymKey(
            demo_key.read_text(encoding="utf-8").encode(), f"the demo key file {demo_key}"
        )


def test_staging_from_before_fingerprints_is_verified_against_its_pupils(data, monkeypatch):
    """Staging written before fingerprints were kept: a wrong key is caught because no staged
    pupil keeps its key under it; the right key is accepted and its fingerprint recorded."""
    fingerprint = data / "staging" / KEY_FINGERPRINT_FILE
    fingerprint.unlink()
    before = tree_hashes(data / "staging")
    wrong = PseudonymKey(b"a-wrong-key", "a test")
    with pytest.raises(WrongKey, match="none of the 3 pupils staged for TIS keeps the key"):
        stage(wrong)
    with pytest.raises(WrongKey):  # a run of the municipality alone is checked the same way
        stage_partitions(["_municipality"], landing_dir(), archive_dir(), staging_dir(), wrong, 1)
    assert tree_hashes(data / "staging") == before
    stage(PseudonymKey(KEY.encode(), "a test"))
    assert fingerprint.exists()
