"""The same sentence-transformers model run by ONNX Runtime, int8 dynamically quantised.

sentence-transformers' own `backend="onnx"` export needs optimum-onnx, which pins
transformers < 4.58 and so cannot live beside sentence-transformers 6 and Gradio 6;
the export is therefore done here with the pieces that path uses underneath:
`torch.onnx.export` (eager attention, so ONNX Runtime can fuse it), ONNX Runtime's
BERT graph optimiser, and `onnxruntime.quantization.quantize_dynamic`. It runs once,
locally and offline, into a cache folder; later runs only load the file. Searching
then needs neither torch nor transformers: tokenizer.json and an ONNX session.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path

import numpy as np

from .cache import policyqa_cache
from .errors import PolicyQAError

SUFFIX = ":onnx-int8"
MAX_TOKENS = 512


class OnnxUnavailable(PolicyQAError, RuntimeError):
    pass


def cache_root() -> Path:
    return policyqa_cache() / "onnx"


def _model_key(model_dir: Path) -> str:
    h = hashlib.sha1()
    for name in ("config.json", "tokenizer.json"):
        p = model_dir / name
        if p.exists():
            h.update(p.read_bytes())
    for name in ("pytorch_model.bin", "model.safetensors"):
        p = model_dir / name
        if p.exists():
            h.update(f"{name}:{p.stat().st_size}".encode())
    return h.hexdigest()[:16]


def ensure_onnx(model_dir: Path) -> Path:
    """The int8 ONNX file for a model folder, exported on first use."""
    target_dir = cache_root() / _model_key(model_dir)
    target = target_dir / "model_int8.onnx"
    if target.exists():
        return target
    target_dir.mkdir(parents=True, exist_ok=True)
    with open(target_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one export at a time
        if not target.exists():
            _export(model_dir, target)
    return target


def _export(model_dir: Path, target: Path) -> None:
    try:
        import onnx
        import torch
        from onnxruntime.quantization import QuantType, quantize_dynamic
        from onnxruntime.transformers import optimizer
        from transformers import AutoConfig, AutoModel
    except ImportError as e:
        raise OnnxUnavailable(f"导出 ONNX 模型需要 torch、transformers、onnx 与 onnxruntime：{e}") from e

    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    config = AutoConfig.from_pretrained(str(model_dir))
    model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager").eval()

    class LastHidden(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.m(input_ids=input_ids, attention_mask=attention_mask,
                          token_type_ids=token_type_ids).last_hidden_state

    ids = torch.tensor([[101, 872, 1962, 102], [101, 872, 102, 0]])
    mask = (ids != 0).long()
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        raw, fused, quant = (Path(tmp) / n for n in ("raw.onnx", "fused.onnx", "int8.onnx"))
        names = ["input_ids", "attention_mask", "token_type_ids"]
        with torch.no_grad(), contextlib.redirect_stderr(open(os.devnull, "w")):
            torch.onnx.export(LastHidden(model), (ids, mask, torch.zeros_like(ids)), str(raw), input_names=names,
                              output_names=["last_hidden_state"], opset_version=17, dynamo=False,
                              dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]})
        opt = optimizer.optimize_model(str(raw), model_type="bert", num_heads=config.num_attention_heads,
                                       hidden_size=config.hidden_size)
        opt.save_model_to_file(str(fused))
        with quiet_quantiser():
            quantize_dynamic(str(fused), str(quant), weight_type=QuantType.QInt8,
                             extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
        os.replace(quant, target)
    (target.parent / "export.json").write_text(json.dumps({"source": str(model_dir)}, ensure_ascii=False),
                                               encoding="utf-8")


@contextlib.contextmanager
def quiet_quantiser():
    """ONNX Runtime's quantiser configures the root logger and prints; undo both."""
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    try:
        with open(os.devnull, "w") as null, contextlib.redirect_stdout(null):
            yield
    finally:
        root.setLevel(saved[0])
        root.handlers[:] = saved[1]


class OnnxEmbedder:
    def __init__(self, base: str, model_dir: Path, threads: int | None = None):
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as e:
            raise OnnxUnavailable("需要 onnxruntime 与 tokenizers：pip install onnxruntime tokenizers") from e
        self.name = base + SUFFIX
        self.model_dir = Path(model_dir)
        self.path = ensure_onnx(self.model_dir)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or max(1, min(os.cpu_count() or 1, 4))
        opts.inter_op_num_threads = 1
        # Idle ONNX Runtime threads would spin and take the cores from everything else.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(self.path), opts, providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.tokenizer = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.dimension = int(json.loads((self.model_dir / "config.json").read_text())["hidden_size"])
        self.max_seq_length = MAX_TOKENS

    def single_threaded(self) -> OnnxEmbedder:
        """The same model on a one-thread session, which several threads may call at once
        (each call runs on its caller's thread): the build's workers share it."""
        return OnnxEmbedder(self.name[: -len(SUFFIX)], self.model_dir, threads=1)

    def _batch(self, texts: list[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(texts)
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(texts), width), dtype=np.int64)
        types = np.zeros_like(ids)
        mask = np.zeros_like(ids)
        for i, e in enumerate(encodings):
            n = len(e.ids)
            ids[i, :n], types[i, :n], mask[i, :n] = e.ids, e.type_ids, 1
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        hidden = self.session.run(None, {k: v for k, v in feed.items() if k in self.inputs})[0]
        m = mask[..., None].astype(np.float32)
        pooled = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def encode(self, texts: list[str], batch_size: int = 8, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        order = np.argsort([-len(t) for t in texts], kind="stable")  # similar lengths share a batch
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for i in range(0, len(texts), batch_size):
            part = order[i:i + batch_size]
            out[part] = self._batch([texts[j] for j in part])
        return out
