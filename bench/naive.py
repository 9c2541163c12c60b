"""The naive LangChain recipe the issues measure against: 1,000/200 character chunks in Chroma."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

COLLECTION = "naive"


def read_corpus(path: Path) -> list[dict[str, Any]]:
    """Articles of a corpus.jsonl (or .jsonl.gz), read at run time (never copied)."""
    import gzip

    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def embeddings() -> Any:
    """The same bundled model as a LangChain Embeddings, as HuggingFaceEmbeddings wraps it.

    (langchain-huggingface is not used: it caps huggingface-hub below what sentence-transformers
    needs today.)"""
    from langchain_core.embeddings import Embeddings
    from sentence_transformers import SentenceTransformer

    from index.embed import resolve_model_path

    model = SentenceTransformer(str(resolve_model_path()), device="cpu")

    class SentenceTransformerEmbeddings(Embeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return model.encode(texts, normalize_embeddings=True).tolist()

        def embed_query(self, text: str) -> list[float]:
            return self.embed_documents([text])[0]

    return SentenceTransformerEmbeddings()


def build(corpus: Path, folder: Path) -> int:
    """RecursiveCharacterTextSplitter(1000, 200), the same model, Chroma.from_documents."""
    import chromadb
    from langchain_chroma import Chroma
    from langchain_core.documents import Document
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    # Title, blank line, text: the recipe as the issues measured it (dev: 9,305 chunks).
    docs = [
        Document(page_content=f"{a['title']}\n\n{a['text']}", metadata={"id": a["id"]})
        for a in read_corpus(corpus)
    ]
    chunks = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_documents(
        docs
    )
    client = chromadb.PersistentClient(
        path=str(folder), settings=chromadb.config.Settings(anonymized_telemetry=False)
    )
    Chroma.from_documents(chunks, embeddings(), client=client, collection_name=COLLECTION)
    return len(chunks)


def open_store(folder: Path) -> Any:
    """The naive recipe's vector store, for similarity_search."""
    import chromadb
    from langchain_chroma import Chroma

    client = chromadb.PersistentClient(
        path=str(folder), settings=chromadb.config.Settings(anonymized_telemetry=False)
    )
    return Chroma(client=client, collection_name=COLLECTION, embedding_function=embeddings())
