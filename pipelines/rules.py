"""The versioned rule parameters in `models/rules.toml`."""

import tomllib
from functools import cache
from pathlib import Path

from pipelines.paths import PROJECT_ROOT

RULES_FILE = PROJECT_ROOT / "models" / "rules.toml"


@cache
def rules(path: Path = RULES_FILE) -> dict:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def note_deadline_school_days() -> int:
    return int(rules()["justification"]["note_deadline_school_days"])
