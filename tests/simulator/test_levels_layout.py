"""Every block package has its levels where a newcomer looks for them: ``config.py``, ``fl.py``,
``cl.py``, ``twin.py``, ``block.py``, or a package docstring that says why one does not exist."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from simulator.common.block import REGISTRY, get_block

LEVELS = ("config", "fl", "cl", "twin", "block")
PACKAGES = ("nm_array", "sat", "spgemm", "mobile", "dram", "hash_unit", "llm")


@pytest.mark.parametrize("package", PACKAGES)
def test_levels_exist_or_are_explained(package):
    pkg = importlib.import_module(f"simulator.{package}")
    doc = pkg.__doc__ or ""
    folder = Path(pkg.__file__).parent
    for level in LEVELS:
        if not (folder / f"{level}.py").is_file():
            assert f"No ``{level}.py``" in doc, f"simulator/{package} has no {level}.py and does not say why"
        else:
            assert f"``{level}.py``" in doc, f"simulator/{package}'s docstring does not name its {level}.py"


@pytest.mark.parametrize("name", list(REGISTRY))
def test_block_name_is_its_package(name):
    block = get_block(name)
    assert type(block).__module__ == f"simulator.{name}.block"
