"""What one browser session keeps: its questions and the `Answer` each got (or why not)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from assistant.citations import Citation
from assistant.question import Turn
from assistant.result import Answer


@dataclass(frozen=True)
class Exchange:
    """One question of a conversation and its answer: a draft while it is written, then final.

    `notice` says why there is no answer (a question that cannot be asked, an error).
    """

    question: str
    answer: Answer | None = None
    notice: str = ""

    def cited(self, n: int) -> Citation | None:
        """The citation that marker `[n]` of the answer points to (drafts number by `n` too)."""
        cites = self.answer.citations if self.answer else ()
        return next((c for c in cites if c.n == n), None)


Conversation = list[Exchange]


def history(conversation: Sequence[Exchange]) -> list[Turn]:
    """The answered questions, as the turns a follow-up question is asked with."""
    turns: list[Turn] = []
    for exchange in conversation:
        if exchange.answer is not None and not exchange.answer.draft:
            turns += [Turn("user", exchange.question), Turn("assistant", exchange.answer.text)]
    return turns
