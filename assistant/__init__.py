"""news-assistant's read side: a question in, an answer citing the exact source sentences out."""

from assistant.api import answer, stories, story
from assistant.citations import Citation
from assistant.question import Question, QuestionError
from assistant.result import Answer, Revision

__all__ = [
    "Answer",
    "Citation",
    "Question",
    "QuestionError",
    "Revision",
    "answer",
    "stories",
    "story",
]
