"""The one cross-entropy, each way it is called, against torch.nn.functional.cross_entropy."""

import numpy as np
import pytest

from netprop.core.losses import cross_entropy, softmax

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("scale", [1.0, 200.0])          # 200: some ŷ underflow to 0 in float32
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cross_entropy_labels_one_hot_and_read_off_y_hat(scale, dtype):
    rng = np.random.default_rng(3)
    logits = (rng.normal(size=(9, 5)) * scale).astype(dtype)
    labels = rng.integers(0, 5, size=9)
    expected = torch.nn.functional.cross_entropy(torch.tensor(logits, dtype=torch.float64),
                                                 torch.tensor(labels)).item()
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    y_hat = softmax(logits)
    if scale > 1:
        assert (y_hat[np.arange(9), labels] == 0).any()   # the case read-off cannot take: log 0
    for value in (cross_entropy(logits, labels), cross_entropy(logits, np.eye(5, dtype=dtype)[labels]),
                  cross_entropy(logits, labels, y_hat)):
        assert np.isfinite(value)
        assert value == pytest.approx(expected, rel=rtol)
