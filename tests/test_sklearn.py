"""netprop's scikit-learn estimators: scikit-learn's own estimator checks, Pipeline, GridSearchCV."""

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from netprop.sklearn import MLPClassifier, MLPRegressor  # noqa: E402


@parametrize_with_checks([MLPClassifier(random_state=0), MLPRegressor(random_state=0)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def blobs(n=300, d=8, classes=3, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, size=(classes, d))
    y = np.arange(n) % classes
    return (centres[y] + rng.normal(size=(n, d))).astype(dtype), y


def test_pipeline_and_grid_search():
    X, y = blobs()
    pipe = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(16,), max_iter=30,
                                                          batch_size=32, random_state=0))
    search = GridSearchCV(pipe, {"mlpclassifier__alpha": [1e-4, 1e-2],
                                 "mlpclassifier__activation": ["relu", "leaky_relu"]}, cv=3)
    search.fit(X, y)
    assert search.best_score_ > 0.9
    assert set(search.best_params_) == {"mlpclassifier__alpha", "mlpclassifier__activation"}
    assert search.score(X, y) > 0.9


def test_float32_stays_float32_and_curves_are_recorded():
    X, y = blobs(dtype=np.float32)
    seen = []
    clf = MLPClassifier(hidden_layer_sizes=(12,), max_iter=15, early_stopping=True, random_state=1,
                        n_iter_no_change=100, callback=lambda est, epoch, loss: seen.append((epoch, loss)))
    clf.fit(X, y)
    assert clf.network_.dtype == np.float32 and clf.predict_proba(X).dtype == np.float32
    assert clf.n_iter_ == 15 and len(clf.loss_curve_) == 15
    assert len(clf.validation_scores_) == 15 and len(clf.validation_loss_curve_) == 15
    assert [e for e, _ in seen] == list(range(1, 16))
    assert [l for _, l in seen] == clf.loss_curve_
    assert clf.validation_loss_curve_[-1] < clf.validation_loss_curve_[0]
    assert clf.n_features_in_ == 8 and list(clf.classes_) == [0, 1, 2]


def test_partial_fit_and_string_labels():
    X, y = blobs()
    names = np.array(["cat", "dog", "eel"])[y]
    clf = MLPClassifier(hidden_layer_sizes=(10,), batch_size=32, learning_rate_init=0.01, random_state=0)
    for _ in range(20):
        clf.partial_fit(X, names, classes=["cat", "dog", "eel"])
    assert clf.n_iter_ == 20 and clf.score(X, names) > 0.9
    with pytest.raises(ValueError, match="not seen"):
        clf.partial_fit(X[:3], ["cat", "dog", "fox"])
    clf.fit(X[y < 2], names[y < 2])                 # a fresh fit forgets partial_fit's classes
    assert list(clf.classes_) == ["cat", "dog"]


def test_regressor_multi_output_and_first_epoch_loss_by_hand():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    Y = np.column_stack([X @ [1.0, -2.0, 0.5, 0.0], X[:, 0] * 0.3])
    reg = MLPRegressor(hidden_layer_sizes=(32,), max_iter=200, learning_rate_init=0.01, random_state=0)
    reg.fit(X, Y)
    assert reg.predict(X).shape == (200, 2) and reg.score(X, Y) > 0.95
    # loss_curve_ is the lecture's (1/2n)·Σ‖ŷ − y‖² + (alpha/2)·Σ‖W‖²; after training, the
    # training objective recomputed by hand matches the order of the last recorded epoch loss
    pred = reg.predict(X)
    by_hand = 0.5 * ((pred - Y) ** 2).sum() / len(X) + 0.5 * reg.alpha * sum(
        (W ** 2).sum() for W in reg.network_.weights)
    assert by_hand == pytest.approx(reg.loss_curve_[-1], rel=0.2)
