"""Publishing despite a completeness hold: `pmp publish --override-hold --reason "..."`.

When more than a fifth of the schools missed last night's delivery, the publication holds
itself (`PublicationHeld`). The municipality may decide to publish anyway, e.g. when a school
is closed for the week. The decision is an entry in an append-only audit log
(`data/audit/hold_overrides.jsonl`: the night held, the schools missing, the reason, who and
when, and the release published without them), written once the held publication stored a
new release. A publication that was not held, that failed (no warehouse, the attack, the
gate) or whose content equals the release in force publishes nothing without the schools,
and records nothing. An override lasts one publication: the next one holds again while the
schools are missing.
"""

import getpass
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pipelines.feedback import OperatorError
from pipelines.ingest.completeness import Completeness


@dataclass
class HoldOverride:
    """An operator's decision to publish even if held; `hold` is the hold it lets through,
    once a publication was held, and `entry` its audit record, once a release was published
    despite it."""

    reason: str
    log: Path
    hold: Completeness | None = None
    entry: dict | None = None

    def __post_init__(self) -> None:
        if not self.reason.strip():
            raise OperatorError(
                'an override needs --reason "...": who decided to publish without the '
                "missing schools, and why; it goes into the audit log"
            )

    def record(self, release: str) -> None:
        """Append the override of the hold to the audit log, naming the `release` published
        despite it; nothing when no hold was overridden."""
        if self.hold is None:
            return
        self.entry = {
            "night": self.hold.night.isoformat() if self.hold.night else None,
            "missing": self.hold.missing,
            "expected": len(self.hold.expected),
            "missing_share": round(self.hold.missing_share, 4),
            "reason": self.reason.strip(),
            "overridden_by": getpass.getuser(),
            "overridden_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "release": release,
        }
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("a", encoding="utf-8") as audit:
            audit.write(json.dumps(self.entry, ensure_ascii=False) + "\n")
