"""The risk score's weights in `models/score.toml`, versioned and fingerprinted: for Python and
as the warehouse tables `reference.score_features` and `reference.score_model`."""

import hashlib
import tomllib
from pathlib import Path

import polars as pl

from pipelines.paths import PROJECT_ROOT

SCORE_FILE = PROJECT_ROOT / "models" / "score.toml"
FEATURE_COLUMNS = {
    "feature": pl.String,
    "center": pl.Float64,
    "spread": pl.Float64,
    "coefficient": pl.Float64,
}


def score_digest(path: Path = SCORE_FILE) -> str:
    """The SHA-256 of the weights file as committed: which weights scored a row."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def score_config(path: Path = SCORE_FILE) -> dict:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def score_label(config: dict, digest: str) -> str:
    """How every output names the weights: their version and the file's fingerprint."""
    return f"{config['version']} sha256:{digest[:12]}"


def score_feature_table(config: dict) -> pl.DataFrame:
    """One row per input: its training average (`center`), spread and weight."""
    return pl.DataFrame(config["feature"], schema=FEATURE_COLUMNS, strict=False)


def score_model_table(config: dict, digest: str) -> pl.DataFrame:
    """The weights file's one row: version, fingerprint, intercept and what it was fitted on."""
    trained = config["trained"]
    return pl.DataFrame(
        {
            "version": [config["version"]],
            "sha256": [digest],
            "model": [score_label(config, digest)],
            "intercept": [float(config["intercept"])],
            "outcome": [trained["outcome"]],
            "trained_until": [trained["until"]],
            "trained_on": [trained["description"]],
        }
    )


def score_problems(config: dict) -> list[str]:
    """What makes a weights file unusable, one message each."""
    problems = [
        f"missing `{key}`" for key in ("version", "intercept", "trained") if key not in config
    ]
    names = [f.get("feature") for f in config.get("feature", [])]
    if not names:
        problems.append("no [[feature]]")
    if len(set(names)) != len(names):
        problems.append("a feature is listed twice")
    for feature in config.get("feature", []):
        if not feature.get("spread", 0) > 0:
            problems.append(f"feature {feature.get('feature')!r}: spread must be positive")
    return problems
