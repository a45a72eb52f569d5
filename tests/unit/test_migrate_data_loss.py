"""`prisma.migrate` and a new migration that loses data: listed first, then asked (a terminal),
refused (no terminal), or applied (--accept-data-loss); --create-only lists it and asks nothing."""

from __future__ import annotations

import pytest

from prisma_tasks.commands import workflow
from prisma_tasks.errors import PrismaTasksError

URL = "postgresql://app:s3cret-pw@db.example.invalid:5432/app"
LOSSES = ['line 3: drops column "User"."role" and its data']


def test_data_loss_is_refused_without_a_terminal() -> None:
    said: list[str] = []
    with pytest.raises(PrismaTasksError) as refused:
        workflow._confirm_data_loss(LOSSES, URL, False, False, None, said.append)
    message = str(refused.value)
    assert refused.value.exit_code == 2
    assert '"User"."role"' in message and "nothing was written or applied" in message
    assert "--accept-data-loss" in message and "s3cret-pw" not in message


def test_data_loss_is_asked_and_listed_first() -> None:
    said: list[str] = []
    questions: list[str] = []

    def answer(reply: bool):
        def confirm(question: str) -> bool:
            questions.append(question)
            return reply

        return confirm

    with pytest.raises(PrismaTasksError, match="nothing was written or applied"):
        workflow._confirm_data_loss(LOSSES, URL, False, False, answer(False), said.append)
    assert '"User"."role"' in said[0] and questions == ["create and apply this migration?"]
    workflow._confirm_data_loss(LOSSES, URL, False, False, answer(True), said.append)
    # accepted, or only written (--create-only): listed, never asked
    workflow._confirm_data_loss(LOSSES, URL, False, True, answer(False), said.append)
    workflow._confirm_data_loss(LOSSES, URL, True, False, None, said.append)
    assert len(questions) == 2 and all('"User"."role"' in line for line in said)
    assert "--create-only" in said[-1]
