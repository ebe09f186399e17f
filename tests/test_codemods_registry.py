"""The codemods: each is listed in `codemods.CODEMODS`, documented, and built like LibCST's own."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import types

import pytest
from libcst.codemod import CodemodContext, ContextAwareTransformer, VisitorBasedCodemodCommand

import migrator.codemods as codemods
from migrator.codemods._support import init_codemod

SECTIONS = ("## What it does", "## Why", "## Example", "## Fix safety", "## Known limits")


def _defined_codemods() -> list[type[VisitorBasedCodemodCommand]]:
    found = []
    for module_info in pkgutil.iter_modules(codemods.__path__):
        module = importlib.import_module(f"migrator.codemods.{module_info.name}")
        for _, value in inspect.getmembers(module, inspect.isclass):
            if (
                # On Python 3.10 `inspect.isclass` is true of `dict[str, int]` too.
                not isinstance(value, types.GenericAlias)
                and issubclass(value, VisitorBasedCodemodCommand)
                and value is not VisitorBasedCodemodCommand
                and value.__module__ == module.__name__
            ):
                found.append(value)
    return found


def test_every_codemod_is_listed_once() -> None:
    defined = _defined_codemods()
    assert sorted(c.__name__ for c in defined) == sorted(c.__name__ for c in codemods.CODEMODS)
    assert len(set(codemods.CODEMODS)) == len(codemods.CODEMODS)


@pytest.mark.parametrize("codemod", codemods.CODEMODS, ids=lambda c: c.__name__)
def test_codemod_is_documented_in_one_module_of_its_own(codemod: type) -> None:
    module = inspect.getmodule(codemod)
    assert module is not None
    doc = module.__doc__ or ""
    for section in SECTIONS:
        assert section in doc, f"{module.__name__} lacks {section!r}"
    others = [c for c in codemods.CODEMODS if c is not codemod and inspect.getmodule(c) is module]
    assert others == [], "one codemod per module"
    assert codemod.DESCRIPTION.strip()
    assert len(inspect.getsource(module).splitlines()) <= 260


@pytest.mark.parametrize("codemod", codemods.CODEMODS, ids=lambda c: c.__name__)
def test_fast_construction_equals_libcst_construction(codemod: type) -> None:
    """The shortcut in init_codemod leaves exactly the state LibCST's constructor leaves
    once its first visit has gathered the (call_if_inside) gates."""
    context = CodemodContext(filename="x.py")
    first = codemod(context)  # runs LibCST's real constructor and records "no matchers"
    reference = object.__new__(codemod)
    ContextAwareTransformer.__init__(reference, context)
    assert reference._matchers == {}  # the property gathers them, as a first visit would
    fast = object.__new__(codemod)
    init_codemod(fast, context)
    assert first._extra_visit_funcs == {} and first._extra_leave_funcs == {}
    assert set(vars(fast)) == set(vars(reference))
    for name in vars(reference):
        if name == "context":
            assert vars(fast)[name] is context
        else:
            assert vars(fast)[name] == vars(reference)[name], name
