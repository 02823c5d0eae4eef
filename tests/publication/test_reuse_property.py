"""Reuse of what earlier nights decided (`pipelines.publication.disclosure.Reuse`) changes
nothing that is published: on seeded random sequences of nights, each releasing the semesters
so far (the last one in progress, changing every night; now and then a late correction of a
final semester) jointly with the revisions sent before, the pattern with reuse equals the one
without, the attack on it gives the same intervals, and it narrows no suppressed count below
the threshold. The sequences reuse blocks (the test would prove nothing otherwise) and change
some (a block reused in spite of a change would show as a different pattern)."""

import os
import pickle
import random
import subprocess
import sys
from dataclasses import replace

import polars as pl
import pytest
from small_release import Pupil, Semester, _random_pupil, published, release

from pipelines.paths import PROJECT_ROOT
from pipelines.publication import protection
from pipelines.publication.disclosure import Reuse
from pipelines.publication.protection import LESSONS, Version, attack_release, suppress_release

pytestmark = pytest.mark.slow(110)

SEED = 17
SEQUENCES = 8
NIGHTS = 5
THRESHOLD = 5
SEMESTERS = ("2025/26-S1", "2025/26-S2", "2026/27-S1")


def nights(
    rng: random.Random, supported: bool
) -> list[tuple[list[Semester], list[str], list[str]]]:
    """The semesters each night releases: a semester is final once a later one started, the
    last in progress gains or loses a pupil every night, and a final one is corrected now and
    then. Without support (a project not started), nothing links one semester to the next:
    the project to date is zero."""
    schools = [f"S{i}" for i in range(rng.randint(1, 3))]
    bands = rng.sample(["1-3", "4-6", "7-9", "10-12"], rng.randint(1, 2))

    def pupil() -> Pupil:
        drawn = _random_pupil(rng, schools, bands)
        return drawn if supported else replace(drawn, supported_by=frozenset())

    pupils = [pupil() for _ in range(rng.randint(4, 14))]
    semesters: list[Semester] = []
    found = []
    for _ in range(NIGHTS):
        if not semesters or (len(semesters) < len(SEMESTERS) and rng.random() < 0.5):
            semesters.append(Semester(SEMESTERS[len(semesters)], list(pupils)))
        current = semesters[-1]
        if rng.random() < 0.6 or not current.pupils:
            current.pupils.append(pupil())
        else:
            current.pupils.pop(rng.randrange(len(current.pupils)))
        if len(semesters) > 1 and rng.random() < 0.2:  # a late correction of a final semester
            corrected = rng.choice(semesters[:-1])
            corrected.pupils.append(pupil())
        found.append(([Semester(s.semester_id, list(s.pupils)) for s in semesters], schools, bands))
    return found


def sent(values: dict, hidden: set, semesters: list[Semester], night: int) -> list[Version]:
    """The revisions the night sends: every final semester, as `for_period` would."""
    counts, rates = published(values, hidden, THRESHOLD)
    versions = []
    for final in semesters[:-1]:
        period = final.semester_id
        versions.append(
            Version(
                f"{period} night {night}",
                {k: v for k, v in values.items() if k[1] <= period},
                {k: v for k, v in counts.items() if k[1] <= period},
                {k: v for k, v in rates.items() if k[1] <= period},
            )
        )
    return versions


@pytest.mark.parametrize("supported", [False, True], ids=["no support", "support"])
def test_publication_with_reuse_equals_publication_without(supported):
    reused = decided = 0
    for sequence in range(SEQUENCES):
        found = publish_nights(random.Random(SEED * 100 + sequence), supported)
        reused += found.reused
        decided += found.decided
    assert decided > 0
    if not supported:  # nothing links a final semester to the night's: its blocks are reused
        assert reused > 0


def publish_nights(rng: random.Random, supported: bool) -> Reuse:
    """Every night of a sequence published with reuse and without, compared; how many blocks
    were reused and decided in all."""
    versions: list[Version] = []
    kept: dict = {}
    total = Reuse()
    for night, (semesters, schools, bands) in enumerate(nights(rng, supported)):
        values = release(semesters, schools, bands)
        plain = suppress_release(values, THRESHOLD, False, versions)
        reuse = Reuse(kept)
        again = suppress_release(values, THRESHOLD, False, versions, reuse)
        assert again == plain, night
        counts, rates = published(values, plain.hidden, THRESHOLD)
        attacked = attack_release(values, counts, rates, False, versions, enough=THRESHOLD)
        reattacked = attack_release(
            values, counts, rates, False, versions, enough=THRESHOLD, reuse=reuse
        )
        assert reattacked.equals(attacked), night
        mine = attacked.filter(pl.col("version").is_null())
        assert (mine["width"] >= THRESHOLD).all(), (night, mine.to_dicts())
        kept = reuse.used
        total.reused += reuse.reused
        total.decided += reuse.decided
        versions += sent(values, plain.hidden, semesters, night)
    return total


def test_a_block_is_reused_only_with_every_input_equal():
    """One pupil more in a final semester changes its block: nothing of it is reused."""
    schools, bands = ["S0"], ["4-6"]
    first = [Pupil("S0", "4-6", "medium", frozenset({"chronic_absence"})) for _ in range(3)]
    first += [Pupil("S0", "4-6") for _ in range(9)]
    second = [Pupil("S0", "4-6", "high", frozenset({"repeaters"})) for _ in range(2)]
    second += [Pupil("S0", "4-6") for _ in range(8)]
    semesters = [Semester(SEMESTERS[0], first), Semester(SEMESTERS[1], second)]
    values = release(semesters, schools, bands)
    reuse = Reuse()
    suppress_release(values, THRESHOLD, False, [], reuse)
    assert reuse.decided > 0 and reuse.reused == 0
    again = Reuse(reuse.used)
    suppress_release(values, THRESHOLD, False, [], again)
    assert again.reused == reuse.decided and again.decided == 0
    semesters[0].pupils.append(Pupil("S0", "4-6"))
    changed = Reuse(reuse.used)
    suppress_release(release(semesters, schools, bands), THRESHOLD, False, [], changed)
    assert changed.decided > 0


def test_a_final_semester_sent_with_more_suppressed_than_needed_keeps_its_pattern(monkeypatch):
    """The optimum moves when the semester in progress changes the blocks it shares with a
    final one, so a revision may have been sent suppressing more than tonight's optimum
    would (here: a protected pattern for more primary cells). On seeded random releases, a
    final semester whose values did not change is suppressed exactly as it was sent, so the
    night sends no revision of it, and the attack narrows nothing."""
    rng = random.Random(SEED)
    primary = protection.primary_cells
    compared = 0
    for case in range(16):
        schools = [f"S{i}" for i in range(rng.randint(1, 3))]
        bands = rng.sample(["1-3", "4-6", "7-9", "10-12"], rng.randint(1, 2))
        final, current = (
            Semester(s, [_random_pupil(rng, schools, bands) for _ in range(rng.randint(8, 40))])
            for s in SEMESTERS[:2]
        )
        values = release([final, current], schools, bands)
        optimum = suppress_release(values, THRESHOLD, False).hidden
        mine = {k: v for k, v in values.items() if k[1] == final.semester_id}
        shown = [k for k, v in mine.items() if k not in optimum and k[2] != LESSONS and v > 0]
        if not shown:
            continue
        more = set(rng.sample(shown, rng.randint(1, min(3, len(shown)))))
        with monkeypatch.context() as patched:
            patched.setattr(protection, "primary_cells", lambda *a, m=more: primary(*a) | m)
            sent_with = {k for k in suppress_release(values, THRESHOLD, False).hidden if k in mine}
        version = Version(f"{final.semester_id} r1", mine, *published(mine, sent_with, THRESHOLD))
        tonight = suppress_release(values, THRESHOLD, False, [version]).hidden
        assert {k for k in tonight if k in mine} == sent_with, case
        found = attack_release(
            values, *published(values, tonight, THRESHOLD), False, [version], enough=THRESHOLD
        )
        assert (found["width"] >= THRESHOLD).all(), case
        compared += 1
    assert compared > 5


RELATIONS_IN_ORDER = """
import hashlib, pickle, sys
from pipelines.publication.protection import release_relations
values = pickle.loads(open(sys.argv[1], "rb").read())
print(hashlib.sha256(repr(release_relations(values).holding).encode()).hexdigest())
"""


def test_the_relations_come_in_one_order_in_every_process(prepared, tmp_path):
    """A block's reuse key holds its relations in order, and their order steers the solver's
    choice among equally good cells: two processes (string hashes salted differently) must
    list the same relations in the same order, or a night would find nothing the night
    before decided, and the same inputs could publish two patterns."""
    path = tmp_path / "values.pickle"
    path.write_bytes(pickle.dumps(prepared.values))
    environment = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    command = [sys.executable, "-c", RELATIONS_IN_ORDER, str(path)]
    orders = {
        subprocess.run(
            command, env=environment | {"PYTHONHASHSEED": seed}, capture_output=True, check=True
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(orders) == 1
