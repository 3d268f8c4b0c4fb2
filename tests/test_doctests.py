"""Run the examples in the package's docstrings (every module that has one) as tests."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import ruas

SKIP = ("ruas.store.migrations",)


def _modules_with_examples() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(ruas.__path__, "ruas."):
        if info.name.startswith(SKIP) or info.ispkg:
            continue
        spec = importlib.util.find_spec(info.name)
        if spec is None or spec.origin is None:
            continue
        with open(spec.origin, encoding="utf-8") as fh:
            if ">>>" in fh.read():
                names.append(info.name)
    return sorted(names)


@pytest.mark.parametrize("module_name", _modules_with_examples())
def test_docstring_examples(module_name: str) -> None:
    """Every ``>>>`` example in the module's docstrings gives the output it shows."""
    module = importlib.import_module(module_name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
