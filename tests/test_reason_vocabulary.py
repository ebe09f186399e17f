"""The manual reasons are one vocabulary: `ManualReason`, each with a sentence for people."""

from __future__ import annotations

import pytest

from migrator.classify import _MESSAGES, _manual
from migrator.model import FixAction, ManualReason

WITH_ARGUMENT = {ManualReason.UNMAPPED_ARGUMENT, ManualReason.MISSING_ARGUMENT}


def test_every_reason_has_a_message() -> None:
    assert set(_MESSAGES) | WITH_ARGUMENT == set(ManualReason)
    assert all(message.endswith(".") for message in _MESSAGES.values())


@pytest.mark.parametrize("reason", sorted(set(ManualReason) - WITH_ARGUMENT), ids=str)
def test_plan_carries_the_reason_as_plain_text(reason: ManualReason) -> None:
    plan = _manual(reason)
    assert plan.action is FixAction.MANUAL
    assert type(plan.reason) is str and plan.reason == reason.value
    assert plan.to_json()["reason"] == reason.value


def test_argument_reasons_name_the_argument() -> None:
    assert "`websocket_bridge`" in _manual("unmapped-argument:websocket_bridge").message
    assert _manual("missing-argument:admin_user").reason == "missing-argument:admin_user"


def test_a_reason_outside_the_vocabulary_is_a_bug() -> None:
    with pytest.raises(ValueError):
        _manual("made-up-reason")
