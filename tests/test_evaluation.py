"""evaluate_model and predict_top against PyTorch and scikit-learn on a small preprocessed model."""

import numpy as np
import pytest
import torch

from netprop import Network, TrainedModel, evaluate_model, predict_top
from netprop.data import DataError, Preprocessing


@pytest.fixture
def model():
    net = Network([6, 5, 3], seed=4)                       # float64: the references compare to 1e-12
    rng = np.random.default_rng(7)
    pre = Preprocessing("features", rng.normal(10, 2, size=6), rng.uniform(0.5, 3, size=6))
    return TrainedModel(net, pre, ["cat", "dog", "owl"])


def torch_logits(model, X):
    """The forward pass in torch: standardise, W1 x + b1, relu, W2 h + b2."""
    pre, net = model.preprocessing, model.net
    x = (torch.tensor(X) - torch.tensor(pre.mean)) / torch.tensor(pre.std)
    h = torch.relu(x @ torch.tensor(net.weights[0]).T + torch.tensor(net.biases[0]))
    return h @ torch.tensor(net.weights[1]).T + torch.tensor(net.biases[1])


def test_evaluate_model_matches_torch_and_sklearn(model):
    from sklearn.metrics import confusion_matrix

    rng = np.random.default_rng(0)
    X = rng.normal(10, 3, size=(50, 6))
    y = rng.integers(0, 2, size=50)                        # no owls: its accuracy is undefined
    report = evaluate_model(model, X, y)

    logits = torch_logits(model, X)
    expected_loss = torch.nn.functional.cross_entropy(logits, torch.tensor(y)).item()
    predicted = logits.argmax(dim=1).numpy()
    assert report["cross_entropy"] == pytest.approx(expected_loss, rel=1e-12)
    assert report["accuracy"] == pytest.approx(np.mean(predicted == y), abs=1e-15)
    cm = confusion_matrix(y, predicted, labels=[0, 1, 2])
    assert np.array_equal(report["confusion_matrix"], cm) and report["examples"] == 50
    assert report["per_class_accuracy"]["cat"] == pytest.approx(cm[0, 0] / cm[0].sum())
    assert report["per_class_accuracy"]["dog"] == pytest.approx(cm[1, 1] / cm[1].sum())
    assert report["per_class_accuracy"]["owl"] is None
    assert report["class_names"] == ["cat", "dog", "owl"]


@pytest.mark.parametrize("X, y, message", [
    (np.ones((4, 5)), [0, 1, 2, 0], "test.csv: 5 features, but the model expects 6"),
    (np.ones((2, 6)), [0, 3], "test.csv: label 3 but the model knows 3 classes"),
    (np.ones((2, 6)), [0, -1], "test.csv: label -1 but the model knows 3 classes"),
    (np.ones((2, 6)), [0.0, 1.0], "one integer label per example"),
    (np.ones((2, 6)), [0, 1, 1], "one integer label per example"),
    (np.ones((0, 6)), np.zeros(0, dtype=int), "at least one example"),
])
def test_evaluate_model_names_what_does_not_fit(model, X, y, message):
    with pytest.raises(DataError, match=message):
        evaluate_model(model, X, np.asarray(y), name="test.csv")


def test_predict_top_matches_torch_softmax_and_topk(model):
    X = np.random.default_rng(1).normal(10, 3, size=(7, 6))
    results = predict_top(model, X, k=2)
    p = torch.softmax(torch_logits(model, X), dim=1)
    values, indices = torch.topk(p, 2, dim=1)
    for r, v, i in zip(results, values, indices):
        assert r["class_index"] == i[0].item() and r["class"] == ["cat", "dog", "owl"][i[0]]
        assert [t["class"] for t in r["top"]] == [["cat", "dog", "owl"][j] for j in i.tolist()]
        assert [t["probability"] for t in r["top"]] == pytest.approx(v.tolist(), rel=1e-12)


def test_predict_top_gives_at_most_c_and_breaks_ties_by_index():
    net = Network([2, 3], seed=0)
    net.weights[0][:] = 0.0
    net.biases[0][:] = 0.0
    # every logit 0: ŷ = softmax(0, 0, 0) = 1/3 each, so the order is the class order
    (r,) = predict_top(TrainedModel(net), np.array([[5.0, -1.0]]), k=10)
    assert [t["class"] for t in r["top"]] == ["0", "1", "2"]
    assert [t["probability"] for t in r["top"]] == pytest.approx([1 / 3] * 3, abs=1e-15)
    with pytest.raises(ValueError, match="k must be >= 1"):
        predict_top(TrainedModel(net), np.ones((1, 2)), k=0)


def test_evaluate_prints_the_confusion_matrix_in_columns_for_twelve_classes(tmp_path, capsys):
    """Rows of classes 10 and 11 start where those of 0-9 do, under the same column headers."""
    import netprop
    from netprop.cli import main
    from netprop.storage.models import TrainedModel

    net = netprop.Network([3, 12], seed=0, dtype="float32")
    TrainedModel(net).save(tmp_path / "m")
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", X=rng.normal(size=(60, 3)), y=np.arange(60) % 12)
    assert main(["evaluate", str(tmp_path / "m"), "--data", str(tmp_path / "d.npz")]) == 0
    lines = capsys.readouterr().out.split("confusion matrix")[1].splitlines()[1:14]
    header, rows = lines[0], lines[1:]
    ends = [i + 1 for i, c in enumerate(header) if c != " " and (i + 1 == len(header) or header[i + 1] == " ")]
    for row in rows:
        assert len(row) == len(header)
        assert all(row[e - 1] != " " for e in ends)      # every count ends where its column's label ends
