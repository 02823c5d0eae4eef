import random
from datetime import date, timedelta

import polars as pl
import pytest

from pipelines.privacy.personal_code import (
    birth_date,
    check_digit,
    mask,
    new_form,
    normalise,
    old_form,
    problem,
)
from pipelines.privacy.pseudonym import pupil_key, pupil_keys

# Check digit X = ((1101 - sum(d_i * w_i)) mod 11) mod 10, weights 1,6,3,7,9,10,5,8,4,2.
# 120315-2345X (12.03.2015, century 2, serial 345):
#   1*1 + 2*6 + 0*3 + 3*7 + 1*9 + 5*10 + 2*5 + 3*8 + 4*4 + 5*2 = 153; (1101 - 153) % 11 = 2 -> 2
# 311299-1000X (31.12.1999, century 1, serial 000):
#   3*1 + 1*6 + 1*3 + 2*7 + 9*9 + 9*10 + 1*5 + 0 + 0 + 0 = 202; (1101 - 202) % 11 = 8 -> 8
# 010110-2007X (01.01.2010, century 2, serial 007):
#   0 + 1*6 + 0 + 1*7 + 1*9 + 0 + 2*5 + 0 + 0 + 7*2 = 46; (1101 - 46) % 11 = 10 -> 10 % 10 = 0
VALID_OLD = {
    "120315-23452": date(2015, 3, 12),
    "311299-10008": date(1999, 12, 31),
    "010110-20070": date(2010, 1, 1),
}


@pytest.mark.parametrize("code", VALID_OLD)
def test_hand_computed_old_codes_are_valid(code: str) -> None:
    digits = normalise(code)
    assert digits is not None
    assert check_digit(digits[:10]) == int(code[-1])
    assert problem(code) is None
    assert birth_date(digits) == VALID_OLD[code]


@pytest.mark.parametrize(
    "written", ["12031523452", "120315-23452", "120315 - 23452", " 120315 -23452 ", "120315- 23452"]
)
def test_hyphen_is_optional_and_spaces_around_it_are_tolerated(written: str) -> None:
    assert normalise(written) == "12031523452"
    assert problem(written) is None


@pytest.mark.parametrize("code", ["320123-45678", "32012345678", "329999-99999"])
def test_new_codes_are_accepted_without_date_or_check_digit(code: str) -> None:
    assert problem(code) is None
    digits = normalise(code)
    assert digits is not None
    assert birth_date(digits) is None


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("120315-23453", "check_digit"),
        ("311299-10009", "check_digit"),
        ("310299-10008", "birth_date"),  # 31 February
        ("121315-23452", "birth_date"),  # month 13
        ("120315-33452", "birth_date"),  # century digit 3 does not exist
        ("120315-93452", "birth_date"),  # century digit 9 does not exist
        ("12O315-23452", "format"),  # letter O instead of zero
        ("120315-2345A", "format"),
        ("120315-2345", "format"),  # too short
        ("120315-234521", "format"),  # too long
        ("120315--23452", "format"),
        ("", "format"),
    ],
)
def test_invalid_codes_are_rejected_with_their_reason(code: str, reason: str) -> None:
    assert problem(code) == reason


def test_mask_shows_only_the_last_two_characters() -> None:
    assert mask("120315-23452") == "******-***52"
    assert mask(" 12031523452 ") == "*********52"
    assert mask("32") == "**"
    masked = mask("320123-45678")
    assert masked.endswith("78")
    assert sum(character.isdigit() for character in masked) == 2


@pytest.mark.parametrize(
    ("born", "serial"),
    [
        (date(2015, 3, 12), 345),
        (date(1999, 12, 31), 0),
        (date(2010, 1, 1), 7),
        (date(1899, 7, 4), 999),
        (date(2016, 2, 29), 1234),  # serial is taken modulo 1000
    ],
)
def test_old_form_round_trips(born: date, serial: int) -> None:
    code = old_form(born, serial)
    digits = normalise(code)
    assert digits is not None
    assert problem(code) is None
    assert birth_date(digits) == born


def test_old_form_matches_the_hand_computed_codes() -> None:
    assert old_form(date(2015, 3, 12), 345) == "120315-23452"
    assert old_form(date(1999, 12, 31), 0) == "311299-10008"
    assert old_form(date(2010, 1, 1), 7) == "010110-20070"


def test_new_form_has_no_birth_date() -> None:
    code = new_form(123)
    assert code == "320000-00123"
    digits = normalise(code)
    assert digits is not None
    assert birth_date(digits) is None
    assert problem(code) is None


def test_a_code_in_digits_other_than_0_to_9_has_no_valid_shape_and_no_key() -> None:
    # Arabic-Indic and fullwidth digits: Python's int() reads them, the code's contract does not
    for written in [
        "\u0661\u0662\u0660\u0663\u0661\u0665-\u0662\u0663\u0664\u0665\u0662",
        "\uff11\uff12\uff10\uff13\uff11\uff15-23452",
    ]:
        assert problem(written) == "format"
        assert normalise(written) is None
        assert pupil_key(b"key", written) is None
    keys = pupil_keys(b"key", pl.Series(["\u0661" * 11, "120315-23452", None]))
    assert keys.to_list() == [None, pupil_key(b"key", "120315-23452"), None]


def test_a_code_keeps_its_shape_and_key_with_unicode_spaces_around_its_parts() -> None:
    for written in ["120315\xa0-\xa023452", "\u3000120315-23452\u3000", "120315\u2007-23452"]:
        assert problem(written) is None
        assert pupil_key(b"key", written) == pupil_key(b"key", "120315-23452")


def test_every_made_code_is_valid_and_a_wrong_last_digit_is_a_check_digit_problem() -> None:
    rng = random.Random(7)
    made = [
        old_form(date(1800, 1, 1) + timedelta(days=rng.randrange(300 * 365)), rng.randrange(1000))
        for _ in range(5000)
    ]
    wrong = [code[:-1] + str((int(code[-1]) + rng.randrange(1, 10)) % 10) for code in made]
    assert [problem(code) for code in made + wrong] == [None] * len(made) + ["check_digit"] * len(
        wrong
    )
