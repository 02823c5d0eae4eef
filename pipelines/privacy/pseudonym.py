"""Pseudonymisation at the door: a pupil's key is an HMAC-SHA256 of the normalised personal code.

The secret comes from `PMP_PSEUDONYM_KEY`. Without it, a demo key is created once in the
(gitignored) Dagster home and a warning says so: never use it for real pupils.
"""

import hashlib
import hmac
import os
import secrets
import warnings
from pathlib import Path

import polars as pl

from pipelines.privacy import personal_code

KEY_VARIABLE = "PMP_PSEUDONYM_KEY"
KEY_LENGTH_HEX = 32


class DemoKeyWarning(UserWarning):
    """The pseudonym key is a local demo key, not a managed secret."""


def load_key(demo_key_file: Path) -> bytes:
    """The secret from the environment, else the demo key file (created when missing)."""
    secret = os.environ.get(KEY_VARIABLE)
    if secret:
        return secret.encode("utf-8")
    if not demo_key_file.exists():
        demo_key_file.parent.mkdir(parents=True, exist_ok=True)
        demo_key_file.write_text(secrets.token_hex(32), encoding="utf-8")
    warnings.warn(
        f"{KEY_VARIABLE} is not set: using the demo key in {demo_key_file}. "
        "Never use it for real pupils.",
        DemoKeyWarning,
        stacklevel=2,
    )
    return demo_key_file.read_text(encoding="utf-8").strip().encode("utf-8")


def pupil_key(key: bytes, raw_code: str) -> str | None:
    """The pupil's pseudonymous key, or None when the code has no valid shape."""
    digits = personal_code.normalise(raw_code)
    if digits is None:
        return None
    return hmac.new(key, digits.encode("ascii"), hashlib.sha256).hexdigest()[:KEY_LENGTH_HEX]


def pupil_keys(key: bytes, codes: pl.Series) -> pl.Series:
    """`pupil_key` over a column of raw codes, computed once per distinct code."""
    mapping = {code: pupil_key(key, code) for code in codes.drop_nulls().unique().to_list()}
    return codes.replace_strict(mapping, default=None, return_dtype=pl.String)
