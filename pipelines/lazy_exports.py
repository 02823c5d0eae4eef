"""A wing's public names, loaded on first use (PEP 562).

Importing any module of a wing runs the wing's `__init__`. Were its public names imported there,
every reader of one small module would pay for the whole wing: pandera through ingest's
`partition`, plotly.py's figure objects through the notebooks, Great Expectations' neighbours and
sqlglot through publication. A wing names where each public name lives instead, and the module
is imported when the name is first read.
"""

from collections.abc import Callable
from importlib import import_module


def lazy_exports(package: str, exports: dict[str, str]) -> Callable[[str], object]:
    """The module `__getattr__` of `package`: name -> the attribute of the same name in
    `package.<exports[name]>`, imported on first use."""

    def attribute(name: str) -> object:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(import_module(f"{package}.{exports[name]}"), name)

    return attribute
