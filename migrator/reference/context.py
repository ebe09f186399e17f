"""The per-request user execution context.

A :class:`UserExecutionContext` carries everything that identifies one request (who, which
thread, which run, which request) through the call chain. It is a frozen dataclass, validated
when it is created, so a dispatcher that holds one can trust it: there is no way to build a
context whose ids are empty or placeholders such as ``"None"``, and no way to change it
afterwards. Operations that need more detail derive a *child* context, which keeps the parent's
ids and records where it came from.

Example::

    ctx = UserExecutionContext.from_request("user-1", "thread-1", "run-1")
    child = ctx.create_child_context("summarise", additional_metadata={"model": "small"})
    assert child.parent_request_id == ctx.request_id
    assert child.metadata["lineage"] == (ctx.request_id,)
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import FrozenInstanceError, dataclass, field, fields
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Any

__all__ = [
    "PLACEHOLDER_IDS",
    "InvalidContextError",
    "UserExecutionContext",
    "validate_user_context",
]

#: Values that are really "no id" in disguise: what ``str(None)``, JavaScript's ``undefined``
#: and friends turn into on their way through a request. Compared case-insensitively after
#: stripping whitespace. A context with one of them would silently merge unrelated users.
PLACEHOLDER_IDS: frozenset[str] = frozenset({"none", "null", "undefined", "nil"})

# The ids that must identify a request. ``request_id`` is generated, but may be passed in to
# keep an upstream request id, so it is validated the same way.
_REQUIRED_ID_FIELDS: tuple[str, ...] = ("user_id", "thread_id", "run_id", "request_id")


class InvalidContextError(ValueError):
    """A user execution context is missing, or one of its fields is unusable.

    The message names the field at fault and says what to do instead.
    """


def _check_id(field_name: str, value: object, *, optional: bool = False) -> None:
    """Refuse an id that is not a real, non-placeholder string."""
    if value is None and optional:
        return
    if not isinstance(value, str):
        raise InvalidContextError(
            f"UserExecutionContext.{field_name} must be a string, got {type(value).__name__}"
            f" ({value!r}); pass the real {field_name} of the request"
        )
    stripped = value.strip()
    if not stripped:
        raise InvalidContextError(
            f"UserExecutionContext.{field_name} must not be empty or whitespace;"
            f" pass the real {field_name} of the request"
        )
    if stripped.lower() in PLACEHOLDER_IDS:
        raise InvalidContextError(
            f"UserExecutionContext.{field_name} is the placeholder {value!r}, which usually means"
            f" a missing value was converted to text upstream; pass the real {field_name}"
        )
    if stripped != value:
        # Leading/trailing blanks make two spellings of one id compare unequal, which would
        # split one user's state in two; refuse rather than guess.
        raise InvalidContextError(
            f"UserExecutionContext.{field_name} {value!r} has leading or trailing whitespace;"
            " strip it before building the context"
        )


def _freeze(value: Any) -> Any:
    """Return a read-only copy of ``value`` for nested dicts, lists and sets.

    ``MappingProxyType`` alone only protects the top level: a nested dict would still be shared
    with (and mutable by) whoever built the context. Other objects are kept as they are, which
    is how an intentionally shared, append-only record (such as the admin audit trail) can live
    in a context's metadata.
    """
    if isinstance(value, Mapping):
        return MappingProxyType({key: _freeze(item) for key, item in value.items()})
    # Plain tuples only: a named tuple is already immutable and keeps its type.
    if isinstance(value, list) or type(value) is tuple:
        return tuple(_freeze(item) for item in value)
    if isinstance(value, (set, frozenset)):
        return frozenset(_freeze(item) for item in value)
    return value


def _new_request_id() -> str:
    return str(uuid.uuid4())


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _empty_metadata() -> Mapping[str, Any]:
    return MappingProxyType({})


class _WriteOnce:
    """A field that can be set once, when the context is built, and never again.

    A frozen dataclass only overrides ``__setattr__``; ``object.__setattr__(ctx, "user_id", x)``
    walks straight past it and used to change where a dispatcher's events went. This data
    descriptor sits in front of the field's slot, so that call (and ``object.__delattr__``)
    reaches :meth:`__set__` and is refused once the slot holds a value. ``metadata`` is frozen
    (copied, read-only all the way down) on its one and only write.
    """

    __slots__ = ("_freeze", "_name", "_slot")

    def __init__(self, name: str, slot: Any, *, freeze: bool) -> None:
        self._name = name
        self._slot = slot  # the member descriptor that dataclass(slots=True) created
        self._freeze = freeze

    def __get__(self, obj: object, owner: type | None = None) -> Any:
        if obj is None:
            return self
        return self._slot.__get__(obj, owner)

    def __set__(self, obj: object, value: Any) -> None:
        try:
            self._slot.__get__(obj, type(obj))
        except AttributeError:
            # First write: the dataclass __init__ (or copy/pickle) filling a new context.
            freeze = self._freeze and isinstance(value, Mapping)
            self._slot.__set__(obj, _freeze(value) if freeze else value)
            return
        raise FrozenInstanceError(
            f"cannot assign to field {self._name!r}: a UserExecutionContext never changes;"
            " derive another one with create_child_context() or from_request()"
        )

    def __delete__(self, obj: object) -> None:
        raise FrozenInstanceError(f"cannot delete field {self._name!r} of a UserExecutionContext")


@dataclass(frozen=True, slots=True)
class UserExecutionContext:
    """Immutable state of one request, passed to every request-scoped component.

    Truly immutable: no field can be reassigned, not even with ``object.__setattr__``, and
    ``metadata`` is a read-only copy. (Emitters and dispatchers also copy the ids they route by
    when they are created, so even a context altered by other means cannot redirect them.)
    Equality and hashing use the identifying fields only (not ``db_session`` or ``metadata``,
    which may hold unhashable objects), so contexts can be dictionary keys.
    """

    user_id: str
    thread_id: str
    run_id: str
    db_session: object | None = field(default=None, repr=False, compare=False)
    request_id: str = field(default_factory=_new_request_id)
    websocket_connection_id: str | None = None
    created_at: datetime = field(default_factory=_utc_now)
    metadata: Mapping[str, Any] = field(default_factory=_empty_metadata, compare=False)
    operation_name: str | None = None
    parent_request_id: str | None = None
    operation_depth: int = 0

    def __post_init__(self) -> None:
        self._validate()
        # ``metadata`` was copied and wrapped when it was set (see _WriteOnce): the caller
        # keeps its dict, and nobody can change ours through it. A non-mapping stays as it
        # was given, and is refused here.
        if not isinstance(self.metadata, Mapping):
            raise InvalidContextError(
                "UserExecutionContext.metadata must be a mapping, got"
                f" {type(self.metadata).__name__}"
            )

    def _validate(self) -> None:
        for name in _REQUIRED_ID_FIELDS:
            _check_id(name, getattr(self, name))
        _check_id("websocket_connection_id", self.websocket_connection_id, optional=True)
        _check_id("parent_request_id", self.parent_request_id, optional=True)
        if self.operation_name is not None and (
            not isinstance(self.operation_name, str) or not self.operation_name.strip()
        ):
            raise InvalidContextError(
                "UserExecutionContext.operation_name must be a non-empty string or None,"
                f" got {self.operation_name!r}"
            )
        if not isinstance(self.created_at, datetime) or self.created_at.tzinfo is None:
            raise InvalidContextError(
                "UserExecutionContext.created_at must be a timezone-aware datetime,"
                f" got {self.created_at!r}; use datetime.now(timezone.utc)"
            )
        depth = self.operation_depth
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 0:
            raise InvalidContextError(
                f"UserExecutionContext.operation_depth must be an int >= 0, got {depth!r}"
            )
        if depth > 0 and self.parent_request_id is None:
            raise InvalidContextError(
                "UserExecutionContext.parent_request_id is required when operation_depth > 0;"
                " derive nested contexts with create_child_context()"
            )

    @classmethod
    def from_request(
        cls,
        user_id: str,
        thread_id: str,
        run_id: str,
        *,
        db_session: object | None = None,
        websocket_connection_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        request_id: str | None = None,
    ) -> UserExecutionContext:
        """Build the root context of an incoming request.

        ``request_id`` keeps an upstream request id when there is one; a new UUID otherwise.
        """
        return cls(
            user_id=user_id,
            thread_id=thread_id,
            run_id=run_id,
            db_session=db_session,
            request_id=request_id if request_id is not None else _new_request_id(),
            websocket_connection_id=websocket_connection_id,
            metadata=metadata if metadata is not None else {},
        )

    def create_child_context(
        self,
        operation_name: str,
        additional_metadata: Mapping[str, Any] | None = None,
    ) -> UserExecutionContext:
        """Derive the context of a sub-operation.

        The child keeps the user, thread and run ids (and the db session and connection id),
        gets a new ``request_id``, points at this context through ``parent_request_id``, is one
        level deeper, and carries this context's metadata updated with ``additional_metadata``.
        ``metadata["lineage"]`` lists the request ids of its ancestors, root first; it is set
        last, so ``additional_metadata`` cannot forge it.
        """
        if not isinstance(operation_name, str) or not operation_name.strip():
            raise InvalidContextError(
                f"create_child_context: operation_name must be a non-empty string,"
                f" got {operation_name!r}"
            )
        if additional_metadata is not None and not isinstance(additional_metadata, Mapping):
            raise InvalidContextError(
                "create_child_context: additional_metadata must be a mapping or None, got"
                f" {type(additional_metadata).__name__}"
            )
        lineage: tuple[str, ...] = (*self.lineage, self.request_id)
        merged: dict[str, Any] = dict(self.metadata)
        if additional_metadata:
            merged.update(additional_metadata)
        merged["lineage"] = lineage
        return UserExecutionContext(
            user_id=self.user_id,
            thread_id=self.thread_id,
            run_id=self.run_id,
            db_session=self.db_session,
            websocket_connection_id=self.websocket_connection_id,
            metadata=merged,
            operation_name=operation_name,
            parent_request_id=self.request_id,
            operation_depth=self.operation_depth + 1,
        )

    def __copy__(self) -> UserExecutionContext:
        # Immutable, like a tuple: a copy is the same object.
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> UserExecutionContext:
        return self

    @property
    def lineage(self) -> tuple[str, ...]:
        """Request ids of this context's ancestors, root first (empty for a root context)."""
        value = self.metadata.get("lineage", ())
        return tuple(value) if isinstance(value, tuple) else ()

    def get_correlation_id(self) -> str:
        """A short id for logs: ``user:thread:run:first-8-chars-of-request-id``."""
        return f"{self.user_id}:{self.thread_id}:{self.run_id}:{self.request_id[:8]}"


# Put a write-once guard in front of every field's slot (see _WriteOnce).
for _field in fields(UserExecutionContext):
    setattr(
        UserExecutionContext,
        _field.name,
        _WriteOnce(
            _field.name,
            UserExecutionContext.__dict__[_field.name],
            freeze=_field.name == "metadata",
        ),
    )
del _field


def validate_user_context(obj: object) -> UserExecutionContext:
    """Return ``obj`` if it is a valid context; raise otherwise.

    Raises:
        InvalidContextError: ``obj`` is None, or a field was tampered with after creation.
        TypeError: ``obj`` is something other than a :class:`UserExecutionContext`.
    """
    if obj is None:
        raise InvalidContextError(
            "a UserExecutionContext is required, got None; build one per request with"
            " UserExecutionContext.from_request(user_id, thread_id, run_id)"
        )
    if not isinstance(obj, UserExecutionContext):
        raise TypeError(
            f"expected a UserExecutionContext, got {type(obj).__name__}; build one per request"
            " with UserExecutionContext.from_request(user_id, thread_id, run_id)"
        )
    # Creation already validated it; checking again catches ``object.__setattr__`` tampering
    # and costs a few microseconds.
    obj._validate()
    return obj
