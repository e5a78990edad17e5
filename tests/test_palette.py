"""Every kind of wait has a look of its own group, the same in every scenario: a new kind
must be given one (else it would be drawn as an unknown future)."""

from __future__ import annotations

from loopviz.app.palette import WAIT_GROUPS, wait_look
from loopviz.trace import Wait


def test_every_kind_of_wait_has_its_groups_look() -> None:
    grouped = [kind for _, kinds in WAIT_GROUPS for kind in kinds]
    assert sorted(grouped) == sorted(Wait)  # each kind in exactly one group
    assert wait_look(Wait.HTTP) == wait_look(Wait.IO) == "wait-io"
    assert wait_look(Wait.QUEUE_JOIN) == wait_look(Wait.QUEUE_GET) == "wait-queue"
    assert wait_look(Wait.TASK_GROUP) == wait_look(Wait.TASK) == "wait-task"
