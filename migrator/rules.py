"""Rule packs: YAML files that tell the engine what to look for and what to rewrite it to.

A pack is loaded with PyYAML's safe loader, checked node by node so that every
error names the file, the line and the key at fault, and turned into frozen
dataclasses. The engine knows nothing about dispatchers beyond what a pack says.
`docs/rules.md` is the reference of the format.
"""

from __future__ import annotations

import ast
import enum
import hashlib
import importlib.util
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn, TypeVar

import yaml

T = TypeVar("T")

#: Largest pack we agree to read; a rule pack is a page of YAML, not a data set.
MAX_PACK_BYTES = 1_000_000

DEFAULT_PACK_ID = "tool-dispatcher"


class RulePackError(Exception):
    """A rule pack that cannot be used. `str()` is the message for people."""

    def __init__(self, path: str, line: int | None, key: str, message: str) -> None:
        self.path = path
        self.line = line
        self.key = key
        self.message = message
        where = f"{path}:{line}" if line is not None else path
        key_part = f" {key}:" if key else ""
        super().__init__(f"{where}:{key_part} {message}")


class ArgumentAction(str, enum.Enum):
    """What happens to a constructor argument when the call becomes a factory call."""

    KEEP = "keep"
    RENAME = "rename"
    DROP = "drop"
    MANUAL = "manual"


@dataclass(frozen=True)
class ArgumentRule:
    action: ArgumentAction
    #: The factory's parameter name for KEEP and RENAME.
    target: str | None = None


@dataclass(frozen=True)
class CallTarget:
    """A factory or context-manager callable the rewrite produces."""

    qualified_name: str
    awaitable: bool
    parameters: tuple[str, ...]
    required: tuple[str, ...]

    @property
    def module(self) -> str:
        """The module to import from: everything before the class (a CamelCase part) or function."""
        parts = self.qualified_name.split(".")
        for index, part in enumerate(parts):
            if part[:1].isupper():
                return ".".join(parts[:index])
        return ".".join(parts[:-1])

    @property
    def import_name(self) -> str:
        """The name imported from `module` (the class for a method, else the function)."""
        return self.qualified_name[len(self.module) + 1 :].split(".")[0]

    @property
    def attribute_path(self) -> str:
        """The dotted expression used at the call site, e.g. `Factory.create_request_scoped`."""
        return self.qualified_name[len(self.module) + 1 :]


@dataclass(frozen=True)
class ClassRule:
    """A dispatcher-like class whose constructions are sites."""

    id: str
    qualified_name: str
    aliases: tuple[str, ...]
    signature: tuple[str, ...]
    context_parameter: str | None
    base_init_without_context: bool
    factory: CallTarget | None
    context_manager: CallTarget | None
    arguments: tuple[tuple[str, ArgumentRule], ...]
    description: str
    #: Older positional signatures calls were written for (`[tools, websocket_bridge]`):
    #: a call whose first positional has no evidence of being a context is read through them.
    legacy_signatures: tuple[tuple[str, ...], ...] = ()
    #: `sync: direct`: in a `def` with a context, build the class directly with it.
    sync_direct: bool = False

    @property
    def names(self) -> tuple[str, ...]:
        return (self.qualified_name, *self.aliases)

    @property
    def direct_target(self) -> CallTarget | None:
        """The class itself as a call target, for `sync: direct` (None without a context parameter)."""
        if self.context_parameter is None:
            return None
        parameters = tuple(dict.fromkeys((self.context_parameter, *self.signature)))
        return CallTarget(self.qualified_name, False, parameters, (self.context_parameter,))


@dataclass(frozen=True)
class FactoryMethodRule:
    """A factory that is an instance method, matched on its attribute name (and class when known)."""

    id: str
    #: `pkg.mod.Class.method`: the class of the receiver and the method's name.
    qualified_name: str
    #: `migrated` (request-scoped) or `legacy` (returns a shared instance).
    kind: str
    #: The `classes[].id` it creates (required for `legacy`).
    creates: str | None
    description: str

    @property
    def method(self) -> str:
        return self.qualified_name.rsplit(".", 1)[-1]

    @property
    def owner(self) -> str:
        return self.qualified_name.rsplit(".", 1)[0]


@dataclass(frozen=True)
class LegacyFactoryRule:
    """A legacy global factory whose calls are `legacy-factory` sites."""

    id: str
    qualified_name: str
    aliases: tuple[str, ...]
    creates: str
    signature: tuple[str, ...]
    arguments: tuple[tuple[str, ArgumentRule], ...]
    description: str

    @property
    def names(self) -> tuple[str, ...]:
        return (self.qualified_name, *self.aliases)


@dataclass(frozen=True)
class ContextRule:
    """How to find the user context in scope."""

    types: tuple[str, ...]
    names: tuple[str, ...]
    attributes: tuple[str, ...]
    #: Callables that return a context: `from_request` (any receiver) or a dotted name.
    constructors: tuple[str, ...] = ()


@dataclass(frozen=True)
class TestingRule:
    """How test code gets a user context: a pytest fixture (issue 13, docs/rules.md)."""

    #: The fixture's name, added as a parameter to the tests that need a context.
    fixture: str
    #: Where `fix` defines the fixture when no test can see one (relative to the root).
    conftest: str
    #: The expression the defined fixture returns.
    build: str
    #: Dotted names `build` needs (`pkg.mod.Name` becomes `from pkg.mod import Name`).
    imports: tuple[str, ...]
    #: pytest plugins that provide the fixture: when listed, `fix` never defines it.
    plugins: tuple[str, ...] = ()


@dataclass(frozen=True)
class RulePack:
    id: str
    description: str
    source: str
    context: ContextRule
    classes: tuple[ClassRule, ...]
    legacy_factories: tuple[LegacyFactoryRule, ...]
    migrated: tuple[str, ...]
    digest: str
    factory_methods: tuple[FactoryMethodRule, ...] = ()
    #: Contradictions found while reading the pack (it is still usable).
    warnings: tuple[str, ...] = ()
    testing: TestingRule | None = None

    def class_rule(self, rule_id: str) -> ClassRule | None:
        for rule in self.classes:
            if rule.id == rule_id:
                return rule
        return None


@dataclass(frozen=True)
class RuleSet:
    """The packs of one run, merged for lookup."""

    packs: tuple[RulePack, ...]

    @property
    def digest(self) -> str:
        return hashlib.sha256("".join(p.digest for p in self.packs).encode()).hexdigest()[:16]

    @property
    def classes(self) -> tuple[ClassRule, ...]:
        return tuple(rule for pack in self.packs for rule in pack.classes)

    @property
    def legacy_factories(self) -> tuple[LegacyFactoryRule, ...]:
        return tuple(rule for pack in self.packs for rule in pack.legacy_factories)

    @property
    def context_types(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(t for pack in self.packs for t in pack.context.types))

    @property
    def context_names(self) -> tuple[str, ...]:
        # A test-context fixture, once a parameter, is a context by the pack's own word.
        names = [n for pack in self.packs for n in pack.context.names]
        names.extend(pack.testing.fixture for pack in self.packs if pack.testing is not None)
        return tuple(dict.fromkeys(names))

    @property
    def testing(self) -> TestingRule | None:
        """The first pack's `testing` section: the one test context of a run."""
        return next((p.testing for p in self.packs if p.testing is not None), None)

    @property
    def context_attributes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(a for pack in self.packs for a in pack.context.attributes))

    @property
    def context_constructors(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c for pack in self.packs for c in pack.context.constructors))

    @property
    def factory_methods(self) -> tuple[FactoryMethodRule, ...]:
        return tuple(rule for pack in self.packs for rule in pack.factory_methods)

    @property
    def warnings(self) -> tuple[str, ...]:
        """What the packs say that cannot be meant: each pack's own, and classes two packs claim."""
        found: list[str] = [w for pack in self.packs for w in pack.warnings]
        owner: dict[str, str] = {}
        for pack in self.packs:
            for rule in pack.classes:
                for name in rule.names:
                    if name in owner and owner[name] != pack.source:
                        found.append(
                            f"{pack.source}: class {name} is also claimed by {owner[name]}; "
                            "the rule loaded last decides its sites: drop it from one pack"
                        )
                    owner.setdefault(name, pack.source)
        return tuple(found)

    def migrated_targets(self) -> tuple[str, ...]:
        names: list[str] = []
        for pack in self.packs:
            names.extend(pack.migrated)
            for rule in pack.classes:
                for target in (rule.factory, rule.context_manager):
                    if target is not None:
                        names.append(target.qualified_name)
        return tuple(dict.fromkeys(names))

    def search_names(self) -> frozenset[str]:
        """The last segment of every qualified name a pack mentions: the byte prefilter's words."""
        names: set[str] = set()
        for rule in self.classes:
            names.update(n.rsplit(".", 1)[-1] for n in rule.names)
        for factory in self.legacy_factories:
            names.update(n.rsplit(".", 1)[-1] for n in factory.names)
        names.update(n.rsplit(".", 1)[-1] for n in self.migrated_targets())
        names.update(rule.method for rule in self.factory_methods)
        # The context type too: a module that re-exports it must be parsed so that
        # annotations using the re-export are recognised.
        names.update(n.rsplit(".", 1)[-1] for n in self.context_types)
        # Factory classes: `from shim import Factory` must resolve for migrated calls.
        for rule in self.classes:
            for target in (rule.factory, rule.context_manager):
                if target is not None:
                    names.add(target.import_name)
        return frozenset(names)


# --------------------------------------------------------------------------- loading


def builtin_pack_dir() -> Path:
    """Where the packs shipped with migrator live (installed or in a checkout)."""
    # Installed: `rules/` ships as the data-only namespace package `migrator.packs`.
    try:
        spec = importlib.util.find_spec("migrator.packs")
    except (ModuleNotFoundError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            if Path(location).is_dir():
                return Path(location)
    # A checkout used without installing: the repository's own folder.
    return Path(__file__).resolve().parent.parent / "rules"


def builtin_packs() -> dict[str, Path]:
    """Pack id (file stem) to path, for every shipped pack."""
    directory = builtin_pack_dir()
    if not directory.is_dir():
        return {}
    return {path.stem: path for path in sorted(directory.glob("*.yaml"))}


def resolve_pack_reference(reference: str) -> Path:
    """A `--rules` value is a path to a YAML file or the id of a shipped pack."""
    path = Path(reference)
    if path.suffix in {".yaml", ".yml"} or path.exists():
        return path
    packs = builtin_packs()
    if reference in packs:
        return packs[reference]
    known = ", ".join(sorted(packs)) or "none"
    raise RulePackError(
        reference, None, "", f"no such rule pack file or shipped pack id (shipped: {known})"
    )


def load_rule_set(references: Sequence[str]) -> RuleSet:
    refs = list(references) or [DEFAULT_PACK_ID]
    packs = tuple(load_pack(resolve_pack_reference(ref)) for ref in refs)
    seen: dict[str, str] = {}
    for pack in packs:
        for rule_id in [
            *(r.id for r in pack.classes),
            *(r.id for r in pack.legacy_factories),
            *(r.id for r in pack.factory_methods),
        ]:
            if rule_id in seen and seen[rule_id] != pack.source:
                raise RulePackError(
                    pack.source,
                    None,
                    "id",
                    f"rule id {rule_id!r} is also defined in {seen[rule_id]}",
                )
            seen[rule_id] = pack.source
    return RuleSet(packs)


def load_pack(path: Path) -> RulePack:
    source = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_PACK_BYTES:
            raise RulePackError(
                source, None, "", f"file is {size} bytes; a rule pack is at most 1 MB"
            )
        raw = path.read_bytes()
    except FileNotFoundError:
        raise RulePackError(source, None, "", "file not found") from None
    except OSError as error:
        raise RulePackError(source, None, "", f"cannot read: {error.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise RulePackError(source, None, "", f"not UTF-8 (byte {error.start})") from None
    return parse_pack(text, source)


_STANDARD_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
}


def parse_pack(text: str, source: str) -> RulePack:
    """Parse and validate one pack's text; `source` names it in errors."""
    root = _compose(text, source)
    reader = _Reader(source)
    top = reader.mapping(
        root,
        "",
        required=("id", "classes"),
        optional=(
            "description",
            "context",
            "legacy_factories",
            "migrated",
            "version",
            "factory_methods",
            "testing",
        ),
    )
    if "version" in top and reader.integer(top["version"], "version") != 1:
        reader.fail(top["version"], "version", "only version 1 of the pack format exists")
    pack_id = reader.identifier(top["id"], "id")
    context = _context(reader, top.get("context"))
    classes = tuple(
        _class_rule(reader, node, f"classes[{i}]")
        for i, node in enumerate(reader.sequence(top["classes"], "classes"))
    )
    if not classes:
        reader.fail(top["classes"], "classes", "a pack needs at least one class")
    class_ids = {rule.id for rule in classes}
    legacy: list[LegacyFactoryRule] = []
    if "legacy_factories" in top:
        for i, node in enumerate(reader.sequence(top["legacy_factories"], "legacy_factories")):
            rule = _legacy_rule(reader, node, f"legacy_factories[{i}]")
            if rule.creates not in class_ids:
                mapping = reader.mapping(node, "", optional=_LEGACY_KEYS)
                reader.fail(
                    mapping["creates"],
                    f"legacy_factories[{i}].creates",
                    f"{rule.creates!r} is not the id of a class in this pack "
                    f"(ids: {', '.join(sorted(class_ids))})",
                )
            legacy.append(rule)
    ids = [r.id for r in classes] + [r.id for r in legacy]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        reader.fail(top["classes"], "id", f"duplicate rule id(s): {', '.join(duplicates)}")
    migrated = reader.dotted_list(top["migrated"], "migrated") if "migrated" in top else ()
    factory_methods = (
        tuple(
            _factory_method(reader, node, f"factory_methods[{i}]", class_ids)
            for i, node in enumerate(reader.sequence(top["factory_methods"], "factory_methods"))
        )
        if "factory_methods" in top
        else ()
    )
    ids += [r.id for r in factory_methods]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        reader.fail(top["factory_methods"], "id", f"duplicate rule id(s): {', '.join(duplicates)}")
    description = reader.string(top["description"], "description") if "description" in top else ""
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    return RulePack(
        id=pack_id,
        description=description,
        source=source,
        context=context,
        classes=classes,
        legacy_factories=tuple(legacy),
        migrated=migrated,
        digest=digest,
        factory_methods=factory_methods,
        warnings=tuple(reader.warnings),
        testing=_testing(reader, top["testing"]) if "testing" in top else None,
    )


def _compose(text: str, source: str) -> yaml.Node:
    """Compose the YAML node graph, refusing anchors, aliases and non-standard tags.

    Anchors and aliases are refused outright: a pack is short enough to spell out,
    and refusing them removes the "billion laughs" expansion attack entirely.
    """
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            mark = event.start_mark
            line = mark.line + 1 if mark is not None else None
            if isinstance(event, yaml.AliasEvent):
                raise RulePackError(
                    source, line, "", "YAML aliases (*name) are not allowed in rule packs"
                )
            anchor = getattr(event, "anchor", None)
            if anchor is not None:
                raise RulePackError(
                    source, line, "", "YAML anchors (&name) are not allowed in rule packs"
                )
            tag = getattr(event, "tag", None)
            if tag is not None and tag not in _STANDARD_TAGS and tag != "!":
                raise RulePackError(
                    source, line, "", f"YAML tag {tag!r} is not allowed in rule packs"
                )
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else None
        raise RulePackError(source, line, "", f"invalid YAML: {error.problem or error}") from None
    except yaml.YAMLError as error:
        raise RulePackError(source, None, "", f"invalid YAML: {error}") from None
    if node is None:
        raise RulePackError(
            source, 1, "", "the file is empty; a pack needs at least `id` and `classes`"
        )
    return node


class _Reader:
    """Typed accessors over YAML nodes that fail with file, line and key."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.warnings: list[str] = []

    def warn(self, node: yaml.Node, key: str, message: str) -> None:
        self.warnings.append(f"{self.source}:{node.start_mark.line + 1}: {key}: {message}")

    def fail(self, node: yaml.Node, key: str, message: str) -> NoReturn:
        raise RulePackError(self.source, node.start_mark.line + 1, key, message)

    def mapping(
        self,
        node: yaml.Node,
        key: str,
        *,
        required: Iterable[str] = (),
        optional: Iterable[str] = (),
    ) -> dict[str, yaml.Node]:
        if not isinstance(node, yaml.MappingNode):
            self.fail(node, key, f"expected a mapping, got {_describe(node)}")
        allowed = set(required) | set(optional)
        result: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            name = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            full = f"{key}.{name}" if key else str(name)
            if not isinstance(name, str):
                self.fail(key_node, key, "mapping keys must be strings")
            if name in result:
                self.fail(key_node, full, "duplicate key")
            if allowed and name not in allowed:
                hint = ", ".join(sorted(allowed))
                self.fail(key_node, full, f"unknown key (allowed here: {hint})")
            result[name] = value_node
        for name in required:
            if name not in result:
                self.fail(node, f"{key}.{name}" if key else name, "required key is missing")
        return result

    def sequence(self, node: yaml.Node, key: str) -> list[yaml.Node]:
        if not isinstance(node, yaml.SequenceNode):
            self.fail(node, key, f"expected a list, got {_describe(node)}")
        return list(node.value)

    def scalar(self, node: yaml.Node, key: str, tag: str, what: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or node.tag != tag:
            self.fail(node, key, f"expected {what}, got {_describe(node)}")
        return str(node.value)

    def string(self, node: yaml.Node, key: str) -> str:
        value = self.scalar(node, key, "tag:yaml.org,2002:str", "a string")
        if not value.strip():
            self.fail(node, key, "must not be empty")
        return value

    def boolean(self, node: yaml.Node, key: str) -> bool:
        return self.scalar(node, key, "tag:yaml.org,2002:bool", "true or false").lower() in {
            "true",
            "yes",
            "on",
        }

    def integer(self, node: yaml.Node, key: str) -> int:
        return int(self.scalar(node, key, "tag:yaml.org,2002:int", "an integer"))

    def identifier(self, node: yaml.Node, key: str) -> str:
        value = self.string(node, key)
        if not all(ch.isalnum() or ch in "-_." for ch in value):
            self.fail(node, key, f"{value!r} is not an id (letters, digits, '-', '_', '.')")
        return value

    def dotted(self, node: yaml.Node, key: str) -> str:
        value = self.string(node, key)
        if not all(part.isidentifier() for part in value.split(".")):
            self.fail(node, key, f"{value!r} is not a dotted Python name such as pkg.module.Class")
        return value

    def name(self, node: yaml.Node, key: str) -> str:
        value = self.string(node, key)
        if not value.isidentifier():
            self.fail(node, key, f"{value!r} is not a Python identifier")
        return value

    def many(self, node: yaml.Node, key: str, item: Callable[[yaml.Node, str], T]) -> tuple[T, ...]:
        return tuple(item(n, f"{key}[{i}]") for i, n in enumerate(self.sequence(node, key)))

    def dotted_list(self, node: yaml.Node, key: str) -> tuple[str, ...]:
        return self.many(node, key, self.dotted)

    def name_list(self, node: yaml.Node, key: str) -> tuple[str, ...]:
        return self.many(node, key, self.name)


def _describe(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    kind = node.tag.rsplit(":", 1)[-1]
    article = "a" if kind[0] not in "aeiou" else "an"
    value = str(node.value)
    if node.start_mark.index == 0 or len(value) > _SHOWN_VALUE or "\n" in value:
        # A file named as a pack by mistake (`/etc/passwd`, a key) is one long scalar:
        # an error must never copy a file's contents into a log. Only a short value
        # inside a real pack is quoted.
        return f"{article} {kind} ({len(value)} characters, not shown)"
    return f"{article} {kind} ({value!r})"


#: The longest value an error message quotes.
_SHOWN_VALUE = 40


def _context(reader: _Reader, node: yaml.Node | None) -> ContextRule:
    if node is None:
        return ContextRule(types=(), names=("user_context",), attributes=("user_context",))
    data = reader.mapping(
        node, "context", optional=("type", "types", "names", "attributes", "constructors")
    )
    types: tuple[str, ...] = ()
    if "type" in data:
        types = (reader.dotted(data["type"], "context.type"),)
    if "types" in data:
        types = types + reader.dotted_list(data["types"], "context.types")
    names = reader.name_list(data["names"], "context.names") if "names" in data else ()
    attributes = (
        reader.name_list(data["attributes"], "context.attributes") if "attributes" in data else ()
    )
    constructors = (
        reader.many(data["constructors"], "context.constructors", reader.dotted)
        if "constructors" in data
        else ()
    )
    return ContextRule(types=types, names=names, attributes=attributes, constructors=constructors)


_CLASS_KEYS = (
    "class",
    "aliases",
    "signature",
    "context_parameter",
    "base_init_without_context",
    "factory",
    "context_manager",
    "arguments",
    "description",
    "legacy_signatures",
    "sync",
)


def _class_rule(reader: _Reader, node: yaml.Node, key: str) -> ClassRule:
    data = reader.mapping(node, key, required=("id", "class", "signature"), optional=_CLASS_KEYS)
    signature = _signature(reader, data["signature"], f"{key}.signature")
    legacy_signatures = (
        tuple(
            _signature(reader, item, f"{key}.legacy_signatures[{i}]")
            for i, item in enumerate(
                reader.sequence(data["legacy_signatures"], f"{key}.legacy_signatures")
            )
        )
        if "legacy_signatures" in data
        else ()
    )
    context_parameter: str | None = None
    if "context_parameter" in data:
        cp = data["context_parameter"]
        if not (isinstance(cp, yaml.ScalarNode) and cp.tag == "tag:yaml.org,2002:null"):
            context_parameter = reader.name(cp, f"{key}.context_parameter")
    factory = _target(reader, data["factory"], f"{key}.factory") if "factory" in data else None
    manager = (
        _target(reader, data["context_manager"], f"{key}.context_manager")
        if "context_manager" in data
        else None
    )
    arguments = (
        _arguments(reader, data["arguments"], f"{key}.arguments", signature)
        if "arguments" in data
        else ()
    )
    return ClassRule(
        id=reader.identifier(data["id"], f"{key}.id"),
        qualified_name=reader.dotted(data["class"], f"{key}.class"),
        aliases=reader.dotted_list(data["aliases"], f"{key}.aliases") if "aliases" in data else (),
        signature=signature,
        context_parameter=context_parameter,
        base_init_without_context=(
            reader.boolean(data["base_init_without_context"], f"{key}.base_init_without_context")
            if "base_init_without_context" in data
            else False
        ),
        factory=factory,
        context_manager=manager,
        arguments=arguments,
        description=reader.string(data["description"], f"{key}.description")
        if "description" in data
        else "",
        legacy_signatures=legacy_signatures,
        sync_direct=_sync(reader, data["sync"], f"{key}.sync") if "sync" in data else False,
    )


def _signature(reader: _Reader, node: yaml.Node, key: str) -> tuple[str, ...]:
    names = reader.name_list(node, key)
    if names[:1] in (("self",), ("cls",)):
        reader.warn(
            node,
            key,
            f"starts with {names[0]!r}: a signature lists the parameters after self/cls, "
            "so every positional argument would be mapped one place off",
        )
    return names


def _factory_method(
    reader: _Reader, node: yaml.Node, key: str, class_ids: set[str]
) -> FactoryMethodRule:
    data = reader.mapping(
        node, key, required=("id", "call", "kind"), optional=("creates", "description")
    )
    call = reader.dotted(data["call"], f"{key}.call")
    if "." not in call:
        reader.fail(data["call"], f"{key}.call", f"{call!r} must be Class.method (dotted)")
    kind = reader.string(data["kind"], f"{key}.kind")
    if kind not in ("migrated", "legacy"):
        reader.fail(data["kind"], f"{key}.kind", f"{kind!r}: expected migrated or legacy")
    creates = reader.identifier(data["creates"], f"{key}.creates") if "creates" in data else None
    if kind == "legacy" and creates is None:
        reader.fail(
            node, f"{key}.creates", "a legacy factory method must say which class it creates"
        )
    if creates is not None and creates not in class_ids:
        reader.fail(
            data["creates"],
            f"{key}.creates",
            f"{creates!r} is not the id of a class in this pack "
            f"(ids: {', '.join(sorted(class_ids))})",
        )
    return FactoryMethodRule(
        id=reader.identifier(data["id"], f"{key}.id"),
        qualified_name=call,
        kind=kind,
        creates=creates,
        description=reader.string(data["description"], f"{key}.description")
        if "description" in data
        else "",
    )


def _sync(reader: _Reader, node: yaml.Node, key: str) -> bool:
    """`sync: direct` (build directly where nothing can await) or `sync: manual` (the default)."""
    word = reader.string(node, key)
    if word not in {"direct", "manual"}:
        reader.fail(node, key, f"{word!r}: expected direct or manual")
    return word == "direct"


_LEGACY_KEYS = ("id", "call", "aliases", "creates", "signature", "arguments", "description")


def _legacy_rule(reader: _Reader, node: yaml.Node, key: str) -> LegacyFactoryRule:
    data = reader.mapping(node, key, required=("id", "call", "creates"), optional=_LEGACY_KEYS)
    signature = (
        _signature(reader, data["signature"], f"{key}.signature") if "signature" in data else ()
    )
    return LegacyFactoryRule(
        id=reader.identifier(data["id"], f"{key}.id"),
        qualified_name=reader.dotted(data["call"], f"{key}.call"),
        aliases=reader.dotted_list(data["aliases"], f"{key}.aliases") if "aliases" in data else (),
        creates=reader.identifier(data["creates"], f"{key}.creates"),
        signature=signature,
        arguments=_arguments(reader, data["arguments"], f"{key}.arguments", signature)
        if "arguments" in data
        else (),
        description=reader.string(data["description"], f"{key}.description")
        if "description" in data
        else "",
    )


def _target(reader: _Reader, node: yaml.Node, key: str) -> CallTarget:
    data = reader.mapping(
        node, key, required=("call", "parameters"), optional=("await", "async", "required")
    )
    parameters = reader.name_list(data["parameters"], f"{key}.parameters")
    required = reader.name_list(data["required"], f"{key}.required") if "required" in data else ()
    for index, name in enumerate(required):
        if name not in parameters:
            reader.fail(
                data["required"].value[index],
                f"{key}.required[{index}]",
                f"{name!r} is not one of the parameters",
            )
    flag = data.get("await", data.get("async"))
    awaitable = reader.boolean(flag, f"{key}.await") if flag is not None else True
    if "await" in data and "async" in data:
        other = reader.boolean(data["async"], f"{key}.async")
        if other != awaitable:
            reader.warn(
                data["async"],
                key,
                f"says await: {str(awaitable).lower()} and async: {str(other).lower()}; "
                "`await` wins: keep only one of the two",
            )
    parameters_node = data["parameters"]
    if parameters[:1] in (("self",), ("cls",)):
        reader.warn(
            parameters_node,
            f"{key}.parameters",
            f"starts with {parameters[0]!r}: list the parameters a caller passes, "
            "or the context lands on the wrong one",
        )
    return CallTarget(
        qualified_name=reader.dotted(data["call"], f"{key}.call"),
        awaitable=awaitable,
        parameters=parameters,
        required=required,
    )


def _arguments(
    reader: _Reader, node: yaml.Node, key: str, signature: Sequence[str]
) -> tuple[tuple[str, ArgumentRule], ...]:
    data = reader.mapping(node, key)
    rules: list[tuple[str, ArgumentRule]] = []
    for name, value in data.items():
        full = f"{key}.{name}"
        if signature and name not in signature:
            reader.fail(value, full, f"{name!r} is not in the signature ({', '.join(signature)})")
        if isinstance(value, yaml.MappingNode):
            spec = reader.mapping(value, full, required=("rename",))
            rules.append(
                (name, ArgumentRule(ArgumentAction.RENAME, reader.name(spec["rename"], full)))
            )
            continue
        word = reader.string(value, full)
        if word == "keep":
            rules.append((name, ArgumentRule(ArgumentAction.KEEP, name)))
        elif word == "drop":
            rules.append((name, ArgumentRule(ArgumentAction.DROP)))
        elif word == "manual":
            rules.append((name, ArgumentRule(ArgumentAction.MANUAL)))
        else:
            reader.fail(value, full, f"{word!r}: expected keep, drop, manual or {{rename: NAME}}")
    return tuple(rules)


_TESTING_KEYS = ("fixture", "conftest", "build", "imports", "plugins")


def _testing(reader: _Reader, node: yaml.Node) -> TestingRule:
    """The `testing` section; every value is checked here, so `fix` never writes a bad fixture."""
    data = reader.mapping(
        node, "testing", required=("fixture", "conftest", "build"), optional=_TESTING_KEYS
    )
    conftest = reader.string(data["conftest"], "testing.conftest")
    parts = conftest.replace("\\", "/").split("/")
    if conftest.startswith("/") or ".." in parts or parts[-1] != "conftest.py":
        reader.fail(
            data["conftest"],
            "testing.conftest",
            f"{conftest!r} must be a path inside the project ending in conftest.py, "
            "such as tests/conftest.py",
        )
    build = reader.string(data["build"], "testing.build")
    try:
        ast.parse(build, mode="eval")
    except SyntaxError as error:
        reader.fail(
            data["build"],
            "testing.build",
            f"not a Python expression ({error.msg}); write the call that returns a test context",
        )
    return TestingRule(
        fixture=reader.name(data["fixture"], "testing.fixture"),
        conftest="/".join(parts),
        build=build,
        imports=reader.dotted_list(data["imports"], "testing.imports") if "imports" in data else (),
        plugins=reader.dotted_list(data["plugins"], "testing.plugins") if "plugins" in data else (),
    )
