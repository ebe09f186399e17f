"""UserExecutionContext: validation, immutability, child contexts, correlation ids."""

from __future__ import annotations

import dataclasses
from dataclasses import FrozenInstanceError
from datetime import datetime, timezone
from typing import Any

import pytest

from migrator.reference import InvalidContextError, UserExecutionContext, validate_user_context

ID_FIELDS = ("user_id", "thread_id", "run_id")
BAD_IDS = ["", "   ", "\t\n", "None", "none", "NONE", "null", "Null", "undefined", "nil"]


def _slot_of(ctx: UserExecutionContext, name: str) -> Any:
    """The raw slot behind a field: what only deliberate tampering with internals reaches."""
    return type(ctx).__dict__[name]._slot


def make(**overrides: Any) -> UserExecutionContext:
    ids: dict[str, Any] = {"user_id": "user-1", "thread_id": "thread-1", "run_id": "run-1"}
    ids.update(overrides)
    return UserExecutionContext.from_request(**ids)


@pytest.mark.parametrize("bad", BAD_IDS, ids=repr)
@pytest.mark.parametrize("field", ID_FIELDS)
def test_empty_and_placeholder_ids_are_refused_naming_the_field(field: str, bad: str) -> None:
    with pytest.raises(InvalidContextError, match=rf"UserExecutionContext\.{field}\b"):
        make(**{field: bad})


@pytest.mark.parametrize("bad", [None, 42, b"user"], ids=repr)
@pytest.mark.parametrize("field", ID_FIELDS)
def test_non_string_ids_are_refused(field: str, bad: object) -> None:
    with pytest.raises(InvalidContextError, match=rf"{field} must be a string"):
        make(**{field: bad})


def test_padded_id_is_refused_rather_than_silently_split() -> None:
    with pytest.raises(InvalidContextError, match="user_id"):
        make(user_id=" user-1")


@pytest.mark.parametrize("field", ["request_id", "websocket_connection_id", "parent_request_id"])
def test_other_ids_are_validated_too(field: str) -> None:
    with pytest.raises(InvalidContextError, match=field):
        UserExecutionContext("u", "t", "r", **{field: "null"})  # type: ignore[arg-type]


def test_naive_created_at_and_negative_depth_are_refused() -> None:
    with pytest.raises(InvalidContextError, match="created_at"):
        UserExecutionContext("u", "t", "r", created_at=datetime(2025, 1, 1))
    with pytest.raises(InvalidContextError, match="operation_depth"):
        UserExecutionContext("u", "t", "r", operation_depth=-1)
    with pytest.raises(InvalidContextError, match="parent_request_id"):
        UserExecutionContext("u", "t", "r", operation_depth=1)


def test_from_request_fills_defaults_and_keeps_an_upstream_request_id() -> None:
    session = object()
    ctx = make(db_session=session, websocket_connection_id="ws-1", request_id="req-upstream")
    assert ctx.request_id == "req-upstream"
    assert ctx.db_session is session
    assert ctx.websocket_connection_id == "ws-1"
    assert ctx.created_at.tzinfo is not None
    assert ctx.operation_depth == 0
    assert ctx.parent_request_id is None
    assert dict(ctx.metadata) == {}
    assert "db_session" not in repr(ctx)
    assert make().request_id != make().request_id


def test_context_fields_cannot_be_reassigned() -> None:
    ctx = make()
    with pytest.raises(dataclasses.FrozenInstanceError):
        ctx.user_id = "someone-else"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        ctx.metadata = {}  # type: ignore[misc]


def test_metadata_is_a_read_only_copy_all_the_way_down() -> None:
    source: dict[str, Any] = {"plan": "pro", "nested": {"quota": 10}, "tags": ["a"]}
    ctx = make(metadata=source)

    with pytest.raises(TypeError):
        ctx.metadata["plan"] = "free"  # type: ignore[index]
    with pytest.raises(TypeError):
        ctx.metadata["nested"]["quota"] = 0
    with pytest.raises(AttributeError):
        ctx.metadata["tags"].append("b")

    # The caller's objects are copied: changing them afterwards does not reach the context.
    source["plan"] = "free"
    source["nested"]["quota"] = 0
    source["tags"].append("b")
    assert ctx.metadata["plan"] == "pro"
    assert ctx.metadata["nested"]["quota"] == 10
    assert ctx.metadata["tags"] == ("a",)


def test_child_context_keeps_ids_and_records_lineage() -> None:
    session = object()
    root = make(db_session=session, metadata={"plan": "pro"})
    child = root.create_child_context("search", additional_metadata={"model": "small"})
    grandchild = child.create_child_context("rank", {"plan": "override"})

    for ctx in (child, grandchild):
        assert (ctx.user_id, ctx.thread_id, ctx.run_id) == ("user-1", "thread-1", "run-1")
        assert ctx.db_session is session
    assert len({root.request_id, child.request_id, grandchild.request_id}) == 3

    assert child.operation_name == "search"
    assert child.parent_request_id == root.request_id
    assert child.operation_depth == 1
    assert child.metadata["lineage"] == (root.request_id,)
    assert child.metadata["plan"] == "pro"
    assert child.metadata["model"] == "small"

    assert grandchild.parent_request_id == child.request_id
    assert grandchild.operation_depth == 2
    assert grandchild.lineage == (root.request_id, child.request_id)
    assert grandchild.metadata["plan"] == "override"

    # The parent is untouched.
    assert dict(root.metadata) == {"plan": "pro"}
    assert root.lineage == ()


def test_child_lineage_cannot_be_forged_through_metadata() -> None:
    root = make()
    child = root.create_child_context("op", {"lineage": ("forged",)})
    assert child.lineage == (root.request_id,)


@pytest.mark.parametrize("name", ["", "   ", None, 3])
def test_child_needs_an_operation_name(name: Any) -> None:
    with pytest.raises(InvalidContextError, match="operation_name"):
        make().create_child_context(name)


def test_correlation_id() -> None:
    ctx = make(request_id="0123456789abcdef")
    assert ctx.get_correlation_id() == "user-1:thread-1:run-1:01234567"


def test_contexts_are_hashable_and_compare_by_identity_fields() -> None:
    created = datetime(2025, 1, 1, tzinfo=timezone.utc)
    a = UserExecutionContext("u", "t", "r", request_id="q", created_at=created, metadata={"x": 1})
    b = UserExecutionContext("u", "t", "r", request_id="q", created_at=created)
    assert a == b
    assert {a: 1}[b] == 1
    assert a != make()


def test_validate_user_context() -> None:
    ctx = make()
    assert validate_user_context(ctx) is ctx
    with pytest.raises(InvalidContextError, match="required"):
        validate_user_context(None)
    with pytest.raises(TypeError, match="UserExecutionContext"):
        validate_user_context({"user_id": "user-1"})
    # Tampering past the frozen dataclass is refused outright...
    with pytest.raises(FrozenInstanceError, match="user_id"):
        object.__setattr__(ctx, "user_id", "None")
    assert ctx.user_id == "user-1"
    # ... and, should something reach the field's slot anyway, caught on the next validation.
    _slot_of(ctx, "user_id").__set__(ctx, "None")
    with pytest.raises(InvalidContextError, match="user_id"):
        validate_user_context(ctx)


@pytest.mark.parametrize("name", [f.name for f in dataclasses.fields(UserExecutionContext)])
def test_object_setattr_cannot_change_any_field(name: str) -> None:
    ctx = make(metadata={"plan": "pro"}, websocket_connection_id="conn-1")
    before = getattr(ctx, name)
    replacement: object = {"plan": "free"} if name == "metadata" else "user-2"
    with pytest.raises(FrozenInstanceError, match=name):
        object.__setattr__(ctx, name, replacement)
    with pytest.raises(FrozenInstanceError, match=name):
        object.__delattr__(ctx, name)
    assert getattr(ctx, name) is before
    assert not hasattr(ctx, "__dict__")  # nowhere else to put a shadowing value


def test_metadata_stays_a_read_only_copy_whatever_is_tried() -> None:
    source = {"plan": "pro", "limits": {"calls": 10}}
    ctx = make(metadata=source)
    with pytest.raises(FrozenInstanceError):
        object.__setattr__(ctx, "metadata", {"plan": "free"})
    with pytest.raises(TypeError):
        ctx.metadata["plan"] = "free"  # type: ignore[index]
    with pytest.raises(TypeError):
        ctx.metadata["limits"]["calls"] = 99
    source["plan"] = "free"
    assert ctx.metadata == {"plan": "pro", "limits": {"calls": 10}}


def test_copies_and_replace_keep_the_guarantees() -> None:
    import copy

    ctx = make(metadata={"plan": "pro"})
    assert copy.copy(ctx) is ctx and copy.deepcopy(ctx) is ctx
    other = dataclasses.replace(ctx, user_id="user-2")
    assert (other.user_id, ctx.user_id) == ("user-2", "user-1")
    with pytest.raises(FrozenInstanceError):
        object.__setattr__(other, "user_id", "user-1")
    with pytest.raises(InvalidContextError, match="metadata must be a mapping, got list"):
        make(metadata=[("plan", "pro")])
