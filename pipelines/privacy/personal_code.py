"""Latvian personal codes (personas kods): normalising, validating, masking and making them.

Old form `DDMMYY-CNNNX`: birth date, century digit C (0 = 1800s, 1 = 1900s, 2 = 2000s) and a
check digit X = ((1101 - sum(d_i * w_i)) mod 11) mod 10 over the first ten digits. New form
(from 01.07.2017) `32NNNN-NNNNN`: no birth date, no verifiable check digit. A code is written
in the digits 0-9, with or without its hyphen, with whitespace around its parts: digits of
other scripts (fullwidth, Arabic-Indic), which Python's `int` reads, give it no valid shape.
"""

import re
from datetime import date

CHECK_WEIGHTS = (1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
NEW_FORM_PREFIX = "32"
_SHAPE = re.compile(r"^\s*([0-9]{6})\s*-?\s*([0-9]{5})\s*$")
_CENTURY = {"0": 1800, "1": 1900, "2": 2000}


def normalise(raw: str) -> str | None:
    """The 11 digits of a code written with or without a hyphen and surrounding spaces."""
    match = _SHAPE.match(raw)
    return match.group(1) + match.group(2) if match else None


def check_digit(first_ten: str) -> int:
    total = sum(int(d) * w for d, w in zip(first_ten, CHECK_WEIGHTS, strict=True))
    return ((1101 - total) % 11) % 10


def birth_date(digits: str) -> date | None:
    """The birth date an old-form code carries, or None when it carries none or an invalid one."""
    if digits.startswith(NEW_FORM_PREFIX) or digits[6] not in _CENTURY:
        return None
    day, month, year = int(digits[0:2]), int(digits[2:4]), int(digits[4:6])
    try:
        return date(_CENTURY[digits[6]] + year, month, day)
    except ValueError:
        return None


def problem(raw: str) -> str | None:
    """Why a code is not acceptable (`format`, `birth_date`, `check_digit`), or None if it is."""
    digits = normalise(raw)
    if digits is None:
        return "format"
    if digits.startswith(NEW_FORM_PREFIX):
        return None
    if birth_date(digits) is None:
        return "birth_date"
    if check_digit(digits[:10]) != int(digits[10]):
        return "check_digit"
    return None


def mask(raw: str) -> str:
    """A form of the code safe to show in quarantine: its last two characters, nothing else."""
    text = raw.strip()
    if len(text) <= 2:
        return "*" * len(text)
    return re.sub(r"[^\s-]", "*", text[:-2]) + text[-2:]


def format_code(digits: str) -> str:
    return f"{digits[:6]}-{digits[6:]}"


def old_form(born: date, serial: int) -> str:
    """An old-form code for a birth date and a 3-digit serial, with its check digit."""
    century = {1800: "0", 1900: "1", 2000: "2"}[born.year // 100 * 100]
    first_ten = f"{born:%d%m}{born.year % 100:02d}{century}{serial % 1000:03d}"
    return format_code(first_ten + str(check_digit(first_ten)))


def new_form(serial: int) -> str:
    """A new-form code `32NNNN-NNNNN` from a serial number below 10**9."""
    return format_code(f"{NEW_FORM_PREFIX}{serial % 10**9:09d}")
