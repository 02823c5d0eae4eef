"""Pseudonymisation at the door: a pupil's key is an HMAC-SHA256 of the normalised personal code.

The secret comes from `PMP_PSEUDONYM_KEY`, else from the demo key in the (gitignored) Dagster
home, which only `pmp generate` creates, with a warning whenever it is used: never use it for
real pupils. Without either, nothing is pseudonymised. A key is known by its fingerprint (an
HMAC of a fixed label under the key), which staging keeps to refuse a different key.
"""

import hashlib
import hmac
import os
import secrets
import warnings
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipelines.feedback import OperatorError
from pipelines.privacy import personal_code

KEY_VARIABLE = "PMP_PSEUDONYM_KEY"
KEY_LENGTH_HEX = 32
FINGERPRINT_LABEL = b"pmp rotate-key"


class DemoKeyWarning(UserWarning):
    """The pseudonym key is a local demo key, not a managed secret."""


class MissingKey(OperatorError):
    """No pseudonym key is configured: nothing may be pseudonymised."""


@dataclass(frozen=True)
class PseudonymKey:
    """The secret, and where it came from (for messages: never the secret itself)."""

    secret: bytes
    source: str


def load_key(demo_key_file: Path) -> PseudonymKey:
    """The secret from the environment, else the demo key file. Without either it refuses:
    only `pmp generate` (and so `make demo`) creates a demo key."""
    secret = os.environ.get(KEY_VARIABLE)
    if secret:
        return PseudonymKey(secret.encode("utf-8"), f"the environment variable {KEY_VARIABLE}")
    if not demo_key_file.exists():
        raise MissingKey(
            f"no pseudonym key: {KEY_VARIABLE} is not set and there is no demo key in "
            f"{demo_key_file}. Set {KEY_VARIABLE} to the key the data was pseudonymised with "
            "(only `pmp generate` and `make demo` create a demo key, for demo data)"
        )
    warnings.warn(
        f"{KEY_VARIABLE} is not set: using the demo key in {demo_key_file}. "
        "Never use it for real pupils.",
        DemoKeyWarning,
        stacklevel=2,
    )
    secret_text = demo_key_file.read_text(encoding="utf-8").strip()
    return PseudonymKey(secret_text.encode("utf-8"), f"the demo key file {demo_key_file}")


def create_demo_key(demo_key_file: Path) -> bool:
    """Create the demo key file unless a key is configured or the file exists; True if made."""
    if os.environ.get(KEY_VARIABLE) or demo_key_file.exists():
        return False
    demo_key_file.parent.mkdir(parents=True, exist_ok=True)
    demo_key_file.write_text(secrets.token_hex(32), encoding="utf-8")
    return True


def key_fingerprint(secret: bytes) -> str:
    """A name for a key that does not reveal it: an HMAC of a fixed label under the key."""
    return hmac.new(secret, FINGERPRINT_LABEL, hashlib.sha256).hexdigest()[:16]


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
