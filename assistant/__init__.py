"""news-assistant's read side: a question in, an answer citing the exact source sentences out."""

from assistant.answer import Answer, Citation, Question, QuestionError, Revision, answer

__all__ = ["Answer", "Citation", "Question", "QuestionError", "Revision", "answer"]
