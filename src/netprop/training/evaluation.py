"""A trained model on labelled data (what `netprop evaluate` prints) and its top-k predictions.

The cross-entropy and accuracy are train.evaluate's, the numbers the training run reports for
its test set, so evaluating a run's own test set reproduces them.
"""

from __future__ import annotations

import numpy as np

from ..data import DataError
from .plots import confusion_matrix
from .fit import evaluate


def evaluate_model(model, X, y, name="the data"):
    """Accuracy, mean cross-entropy, per-class accuracy and confusion matrix of model on (X, y).

    Parameters
    ----------
    model : io.TrainedModel (its preprocessing is applied to X)
    X : (n, d) raw inputs, d = model.net.layer_sizes[0]
    y : (n,) integer labels in 0..c-1, c = model.net.layer_sizes[-1]
    name : what X is, for error messages ("test.csv", "Fashion-MNIST test set")

    Returns
    -------
    dict with examples (n), accuracy, cross_entropy (mean −log ŷ_y), per_class_accuracy
    ({class name: accuracy, or None for a class with no examples}), confusion_matrix ((c, c)
    int64, rows the true class, columns the predicted one) and class_names (c names).
    Raises data.DataError when X or y does not fit the model.
    """
    net = model.net
    d, c = net.layer_sizes[0], net.layer_sizes[-1]
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim != 2 or X.shape[0] == 0:
        raise DataError(f"{name}: X must be (examples, features) with at least one example, got shape {X.shape}")
    if X.shape[1] != d:
        raise DataError(f"{name}: {X.shape[1]} features, but the model expects {d}")
    if y.shape != (len(X),) or not np.issubdtype(y.dtype, np.integer):
        raise DataError(f"{name}: y must hold one integer label per example ({len(X)}), "
                        f"got {y.dtype} of shape {y.shape}")
    if y.min() < 0 or y.max() >= c:
        bad = int(y.max()) if y.max() >= c else int(y.min())
        raise DataError(f"{name}: label {bad} but the model knows {c} classes")
    transform = model.preprocessing.apply if model.preprocessing is not None else None
    loss, acc, preds = evaluate(net, X, y, transform=transform)
    cm = confusion_matrix(y, preds, c)
    names = model.names()
    per_class = {names[k]: (float(cm[k, k] / cm[k].sum()) if cm[k].sum() else None) for k in range(c)}
    return {"examples": int(len(y)), "accuracy": acc, "cross_entropy": loss,
            "per_class_accuracy": per_class, "confusion_matrix": cm, "class_names": names}


def predict_top(model, X, k=3):
    """The k most probable classes of each row of raw inputs X, most probable first.

    model : io.TrainedModel; X : (n, d) raw inputs; k : at most c (fewer are given when c < k).
    Returns a list of n dicts: class (its name), class_index, and top, a list of
    {"class", "probability"} with the softmax probabilities ŷ (ties keep the lower index first).
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    proba = model.predict_proba(np.asarray(X, dtype=np.float64))
    names = model.names()
    k = min(k, proba.shape[1])
    results = []
    for p in proba:
        top = np.argsort(-p, kind="stable")[:k]
        results.append({"class": names[top[0]], "class_index": int(top[0]),
                        "top": [{"class": names[j], "probability": float(p[j])} for j in top]})
    return results
