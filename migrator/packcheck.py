"""Warnings about what a rule pack says, checked against the scanned tree and the environment.

A typo in a `class:` or `call:` silently loses every site of that rule, so each run
(and `migrator rules check`) says when a name the pack gives cannot be what it
means (docs/rules.md, "Warnings"):

- the module exists (in the tree, or importable) but defines no such class or
  function;
- the module does not exist, but its package has a module of a very similar name;
- a legacy factory's signature disagrees with its definition in the tree.

A pack about code outside the scanned tree (no part of the name's package is
found) is not warned about: that is the normal case of a shared pack. Nothing is
imported or run: modules found in the environment are located through their
top-level package's search path and read as text.
"""

from __future__ import annotations

import ast
import difflib
import importlib.util
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from migrator.facts import FileFacts
from migrator.resolve import Linker
from migrator.rules import RuleSet

#: Largest module read from the environment to look for a name.
_MAX_MODULE_BYTES = 2_000_000


@dataclass(frozen=True)
class _Module:
    """What a module defines at its top level, and its sibling modules."""

    names: frozenset[str]
    siblings: frozenset[str]


def pack_warnings(
    rules: RuleSet, linker: Linker | None = None, tree_modules: Iterable[str] = ()
) -> list[str]:
    """Warnings for every pack of `rules`, against the tree (`linker`) and the environment."""
    checker = _Checker(linker, frozenset(tree_modules))
    warnings: list[str] = list(rules.warnings)
    for pack in rules.packs:
        named: list[tuple[str, str]] = []
        for rule in pack.classes:
            named.append((f"classes {rule.id!r} class", rule.qualified_name))
            for label, target in (
                ("factory", rule.factory),
                ("context_manager", rule.context_manager),
            ):
                if target is not None:
                    named.append((f"classes {rule.id!r} {label}.call", target.qualified_name))
        for legacy in pack.legacy_factories:
            named.append((f"legacy_factories {legacy.id!r} call", legacy.qualified_name))
        for method in pack.factory_methods:
            named.append((f"factory_methods {method.id!r} call", method.qualified_name))
        shipped = _is_shipped(pack.source)
        for where, name in named:
            problem = checker.problem(name)
            if problem is None and not shipped:
                problem = checker.missing_package(name)
            if problem is not None:
                warnings.append(f"{pack.source}: {where}: {name} {problem}")
        if linker is not None:
            for legacy in pack.legacy_factories:
                warnings.extend(
                    _signature_warnings(
                        pack.source, legacy.id, legacy.qualified_name, legacy.signature, linker
                    )
                )
    return warnings


def _is_shipped(source: str) -> bool:
    """A pack shipped with migrator targets code that may not be in this tree at all."""
    from migrator.rules import builtin_pack_dir

    try:
        return Path(source).resolve().parent == builtin_pack_dir().resolve()
    except OSError:
        return False


def _signature_warnings(
    source: str, rule_id: str, name: str, signature: tuple[str, ...], linker: Linker
) -> list[str]:
    defined = linker.definition(name)
    for facts in linker.files.values():
        for function in facts.functions:
            if function.qualname != defined:
                continue
            params = [p.name for p in function.params]
            if function.class_qualname is not None and params[:1] in (["self"], ["cls"]):
                params = params[1:]
            if tuple(params[: len(signature)]) != signature:
                return [
                    f"{source}: legacy_factories {rule_id!r} signature: ({', '.join(signature)}) "
                    f"but {facts.relpath}:{function.line} defines {function.name}"
                    f"({', '.join(params)}); positional arguments would be mapped wrongly"
                ]
            return []
    return []


class _Checker:
    def __init__(self, linker: Linker | None, tree_modules: frozenset[str]) -> None:
        self.linker = linker
        self.tree_modules = tree_modules
        self.by_module: dict[str, FileFacts] = (
            {facts.module: facts for facts in linker.files.values()} if linker else {}
        )
        self._environment: dict[str, _Module | None] = {}
        self.children: dict[str, set[str]] = {}
        for module in tree_modules:
            parent, _, child = module.rpartition(".")
            if parent:
                self.children.setdefault(parent, set()).add(child)

    def problem(self, name: str) -> str | None:
        """Why `name` names nothing, or None when it may well be right."""
        parts = name.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            module = ".".join(parts[:cut])
            found = self._module(module)
            if found is None:
                continue
            attribute = parts[cut]
            if attribute in found.names or f"{module}.{attribute}" in self.tree_modules:
                return None
            if self._environment_module(f"{module}.{attribute}") is not None:
                return None
            if cut < len(parts) - 1 and not found.names:
                # A package without the module: the tree may hold only part of it, so
                # only a near miss is worth a warning (`tool_dispatcher_unifed`).
                close = difflib.get_close_matches(attribute, sorted(found.siblings), 1, 0.85)
                if not close:
                    return None
            else:
                close = difflib.get_close_matches(
                    attribute, sorted(found.names | found.siblings), 1
                )
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            return f"names nothing: {module} has no {attribute!r}{hint}; its sites are not found"
        return None

    def missing_package(self, name: str) -> str | None:
        """For a user's pack: the name's top-level package is nowhere (a typo in it)."""
        top = name.split(".", 1)[0]
        tops = {module.split(".", 1)[0] for module in self.tree_modules}
        if top in tops or self._environment_module(top) is not None:
            return None
        close = difflib.get_close_matches(top, sorted(tops), 1, 0.8)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return (
            f"names nothing: no package {top!r} in the scanned tree or the environment{hint}; "
            "its sites are not found"
        )

    def _module(self, module: str) -> _Module | None:
        if module in self.tree_modules:
            siblings = frozenset(self.children.get(module, ()))
            facts = self.by_module.get(module)
            names: set[str] = set()
            if facts is not None:
                names |= {c.name for c in facts.classes}
                names |= {f.name for f in facts.functions if f.class_qualname is None}
                names |= {b.name.rsplit(".", 1)[-1] for b in facts.bindings}
                return _Module(frozenset(names), siblings)
            # Not a candidate: it mentions no rule name, so it defines none. Its
            # submodules may still be what the name continues with.
            return _Module(frozenset(), siblings)
        return self._environment_module(module)

    def _environment_module(self, module: str) -> _Module | None:
        if module in self._environment:
            return self._environment[module]
        found = _locate(module)
        self._environment[module] = found
        return found


def _locate(module: str) -> _Module | None:
    """Read `module` from the environment without importing it (only its top package is found)."""
    parts = module.split(".")
    try:
        spec = importlib.util.find_spec(parts[0])
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if len(parts) == 1:
        locations = list(spec.submodule_search_locations or [])
        path = Path(spec.origin) if spec.origin and spec.origin.endswith(".py") else None
    else:
        locations = list(spec.submodule_search_locations or [])
        path = None
        for part in parts[1:]:
            next_locations: list[str] = []
            path = None
            for location in locations:
                folder = Path(location) / part
                if (folder / "__init__.py").is_file():
                    path = folder / "__init__.py"
                    next_locations.append(str(folder))
                    break
                if folder.is_dir():
                    next_locations.append(str(folder))  # a namespace package
                    break
                if (Path(location) / f"{part}.py").is_file():
                    path = Path(location) / f"{part}.py"
                    break
            else:
                return None
            locations = next_locations
    siblings = (
        frozenset(
            child.stem
            for location in locations
            for child in Path(location).iterdir()
            if child.suffix == ".py" or (child / "__init__.py").is_file()
        )
        if locations
        else frozenset()
    )
    return _Module(_defined(path), siblings)


def _defined(path: Path | None) -> frozenset[str]:
    """Top-level names a module binds (classes, functions, assignments, imports)."""
    if path is None:
        return frozenset()
    try:
        if path.stat().st_size > _MAX_MODULE_BYTES:
            return frozenset()
        tree = ast.parse(path.read_bytes())
    except (OSError, SyntaxError, ValueError):
        return frozenset()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return frozenset(names)
