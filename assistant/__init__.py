"""news-assistant: answers about news articles in which every claim cites its source sentences."""

from assistant.answer import Answer, QuestionError, answer
from assistant.citations import Citation

__all__ = ["Answer", "Citation", "QuestionError", "answer"]
