"""A checkout moved or copied: `make venv` (which every make target runs first) makes `.venv`
again when its scripts start another folder's Python, and leaves a `.venv` made here alone.
uv is replaced by `true`, so only the Makefile's own check runs."""

import shutil
import subprocess
from pathlib import Path

import pytest

from pipelines.paths import PROJECT_ROOT

AGAIN = ".venv was made in another folder (the checkout moved or was copied): making it again"


def _shebangs(python: str) -> dict[str, str]:
    """The first lines uv writes for a script: short paths, and long ones through /bin/sh."""
    return {
        "short": f"#!{python}\n",
        "long": f"#!/bin/sh\n'''exec' '{python}' \"$0\" \"$@\"\n",
    }


@pytest.mark.parametrize("form", ["short", "long"])
@pytest.mark.parametrize("made_in", ["here", "the original folder", "a folder around this one"])
def test_make_venv_makes_a_foreign_venv_again(tmp_path, form, made_in):
    checkout = tmp_path / "copy"
    (checkout / ".venv" / "bin").mkdir(parents=True)
    shutil.copy(PROJECT_ROOT / "Makefile", checkout / "Makefile")
    folder = {
        "here": checkout,
        "the original folder": tmp_path / "original",
        "a folder around this one": Path("/outer") / checkout.relative_to("/"),
    }[made_in]
    script = checkout / ".venv" / "bin" / "dg"
    script.write_text(_shebangs(str(folder / ".venv" / "bin" / "python"))[form], encoding="utf-8")

    result = subprocess.run(
        ["make", "-s", "-C", str(checkout), "venv", "UV=true"],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    if made_in == "here":
        assert AGAIN not in result.stdout
        assert script.exists()
    else:
        assert result.stdout.splitlines() == [AGAIN]
        assert not (checkout / ".venv").exists()
