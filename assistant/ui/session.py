"""What one browser session keeps: its questions, the `Answer` each got (or why not), and when
each was asked, so that "what's new since I last asked?" quotes only what came in after."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from assistant.citations import Citation
from assistant.question import Turn
from assistant.result import Answer
from assistant.subject import open_subject

# "What's new since I last asked?", "Anything new on the Riverton flood since we last checked?"
_SINCE_LAST = re.compile(
    r"^(?:so|and|ok(?:ay)?|hey)?[,\s]*(?:what(?:'s|’s| is)|(?:is )?(?:there )?anything) new"
    r"(?: (?:on|about|in|with|for|regarding) (?P<topic>.+?))?,?"
    r" since (?:(?:i|we) (?:last )?(?:asked|checked|looked)(?: last| before| about it)?"
    r"|(?:the )?last time)[\s?.!]*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Exchange:
    """One question of a conversation and its answer: a draft while it is written, then final.

    `notice` says why there is no answer (a question that cannot be asked, an error).
    `again`: what "what's new since I last asked" asks after this exchange ("What's new on X?"
    for an open question about X, else the question itself); `asked_at`: when it was asked (UTC;
    None: nothing was shown), the moment after which articles are new to this conversation.
    """

    question: str
    answer: Answer | None = None
    notice: str = ""
    again: str = ""
    asked_at: datetime | None = None

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


def ask_again(question: str, as_of: date) -> str:
    """What "what's new since I last asked" asks after `question`: "What's new on X?" when it
    asks about X openly ("What happened in X?"), else the question itself."""
    subject = open_subject(question, as_of)
    return f"What's new on {subject.text}?" if subject else question


@dataclass(frozen=True)
class Again:
    """A "what's new since I last asked" question: what to ask, since when (None: it was never
    asked in this conversation, so everything is new), and the topic it names ("" when none)."""

    question: str
    since: datetime | None
    topic: str = ""


def since_last(text: str, conversation: Sequence[Exchange], as_of: date) -> Again | None:
    """`text` as "what's new [on X] since I last asked?", or None when it asks something else.

    Without a topic it asks again the conversation's last answered question; with one, the last
    question about that topic (the same subject, case aside), or "What's new on X?" from scratch.
    """
    match = _SINCE_LAST.match(text.strip())
    if not match:
        return None
    topic = (match["topic"] or "").strip()
    for exchange in reversed(conversation):
        if exchange.asked_at is None or not exchange.again:
            continue
        if not topic or _same(topic, _topic(exchange.again, as_of)):
            return Again(exchange.again, exchange.asked_at, topic)
    return Again(f"What's new on {topic}?" if topic else "", None, topic)


def _topic(question: str, as_of: date) -> str:
    subject = open_subject(question, as_of)
    return subject.text if subject else ""


def _same(one: str, other: str) -> bool:
    def key(text: str) -> str:
        return re.sub(r"^the\s+", "", " ".join(text.split()), flags=re.IGNORECASE).casefold()

    return bool(other) and key(one) == key(other)
