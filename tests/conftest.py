"""Shared fixtures: the scale-1 demo with defects, generated once per test session."""

import json
from pathlib import Path

import pytest

from pipelines.demo.generate import generate, manifest_path


@pytest.fixture(scope="session")
def demo(tmp_path_factory) -> tuple[Path, dict]:
    """The default demo landing folder (scale 1, defect rate 0.002) and its manifest."""
    landing = tmp_path_factory.mktemp("demo") / "landing"
    generate(landing, defect_rate=0.002)
    return landing, json.loads(manifest_path(landing).read_text(encoding="utf-8"))
