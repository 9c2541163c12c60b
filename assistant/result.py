"""Answer and Revision: what a question gets back (plain data, light to import)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from assistant.citations import Citation

NOT_COVERED = "The indexed articles do not cover this question."


@dataclass(frozen=True)
class Revision:
    """What the check did to one sentence a model wrote."""

    action: str  # "re-cited" or "dropped"
    sentence: str  # as the model wrote it, markers removed
    reason: str  # e.g. "not supported by the sources"

    def to_dict(self) -> dict[str, str]:
        """Plain data for JSON."""
        return {"action": self.action, "sentence": self.sentence, "reason": self.reason}


@dataclass(frozen=True)
class Answer:
    """An answer whose `[n]` markers point to `citations[n-1]`.

    `draft` marks a version still being written (streamed before the final one); a draft
    written by a model is unchecked and its markers number the context (`Citation.n`).
    """

    question: str
    text: str
    citations: tuple[Citation, ...] = ()
    covered: bool = True
    draft: bool = False
    revisions: tuple[Revision, ...] = ()  # sentences of a written answer re-cited or dropped
    note: str = ""  # why a model's answer was not used, when it was not

    def __add__(self, later: Answer) -> Answer:
        """A later version of an answer replaces an earlier one (how LangChain folds a stream)."""
        return later

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "question": self.question,
            "text": self.text,
            "covered": self.covered,
            "citations": [c.to_dict() for c in self.citations],
            "revisions": [r.to_dict() for r in self.revisions],
            "note": self.note,
        }

    def to_json(self, **kwargs: Any) -> str:
        """The answer as JSON."""
        return json.dumps(self.to_dict(), ensure_ascii=False, **kwargs)
