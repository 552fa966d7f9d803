"""netprop's scikit-learn estimators against scikit-learn's own MLP, finite differences and its estimator checks."""

import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

# scikit-learn's estimators warn when max_iter ends training; most tests here train a few epochs on
# purpose, and the one test about the warning catches it with pytest.warns, which sees it anyway
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
import joblib  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from sklearn import neural_network as sk  # noqa: E402
from sklearn.datasets import load_breast_cancer, make_multilabel_classification  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from netprop.sklearn import MLPClassifier, MLPRegressor  # noqa: E402


def tiered(checks, slow_names, slow_estimators=()):
    """parametrize_with_checks's cases, the checks named in slow_names and every check of the estimator
    classes slow_estimators marked slow (their xfail marks kept)."""
    argnames, cases = checks.args
    params = []
    for case in cases:
        values, marks = (case.values, list(case.marks)) if hasattr(case, "values") else (case, [])
        if isinstance(values[0], slow_estimators) or getattr(values[1], "func", values[1]).__name__ in slow_names:
            marks.append(pytest.mark.slow)
        params.append(pytest.param(*values, marks=marks))
    return pytest.mark.parametrize(argnames, params, **checks.kwargs)


# Slow: the checks that fit once per sparse container and index type (csr, csc, coo, dok, lil, dia, bsr;
# 32 and 64 bits), a second each, those that fit to a score on several data sets, containers or dtypes,
# and MLPRegressor's (the same code under another loss); the inner loop keeps MLPClassifier's API checks
# (test_same_numbers_as_sklearn holds both estimators' fitted numbers to scikit-learn's).
@tiered(parametrize_with_checks([MLPClassifier(random_state=0), MLPRegressor(random_state=0)]),
        {"check_estimator_sparse_matrix", "check_estimator_sparse_array", "check_classifiers_train",
         "check_regressors_train", "check_classifiers_classes", "check_classifier_data_not_an_array",
         "check_regressor_data_not_an_array", "check_sample_weight_equivalence_on_sparse_data",
         "check_estimators_dtypes"}, slow_estimators=MLPRegressor)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def blobs(n=300, d=8, classes=3, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, size=(classes, d))
    y = np.arange(n) % classes
    return (centres[y] + rng.normal(size=(n, d))).astype(dtype), y


def regression(n=120, d=5, outputs=1, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    Y = np.tanh(X @ rng.normal(size=(d, outputs))) + 0.1 * rng.normal(size=(n, outputs))
    return X, Y[:, 0] if outputs == 1 else Y


# --- the same numbers as scikit-learn's MLP ------------------------------------------------------
#
# The same random_state gives the same initial weights, minibatches and validation split as
# scikit-learn's MLP, so after a few epochs both must hold the same coefs_ to rounding: an
# independent implementation of every rule (alpha/n, momentum, Nesterov, the schedules, Adam's ε,
# L-BFGS-B, sample weights, sparse X, the stopping rule and the restored best weights).

X3, y3 = blobs(n=90, d=6)
X2, y2 = X3[y3 < 2], y3[y3 < 2]
XR, yR = regression()
XM, YM = make_multilabel_classification(n_samples=60, n_features=6, n_classes=4, random_state=0)
SW = np.random.default_rng(3).integers(0, 4, size=90).astype(float)

SAME_AS_SKLEARN = [
    # (estimator, X, y, fit keyword arguments, parameters)
    ("clf", X3, y3, {}, dict(solver="sgd", learning_rate_init=0.05, batch_size=16)),
    ("clf", X3, y3, {}, dict(solver="sgd", nesterovs_momentum=False, momentum=0.5, learning_rate="invscaling",
                             learning_rate_init=0.5, power_t=0.3, batch_size=16)),
    ("clf", X3, y3, {}, dict(solver="sgd", learning_rate="adaptive", tol=0.5, n_iter_no_change=1,
                             learning_rate_init=0.05)),
    ("clf", X3, y3, {}, dict(solver="adam", beta_1=0.8, beta_2=0.99, epsilon=1e-4, batch_size=20, alpha=1.0)),
    ("clf", X3, y3, {}, dict(solver="lbfgs", activation="tanh", max_iter=15)),
    ("clf", X2, y2, {}, dict(solver="adam", activation="logistic", early_stopping=True, validation_fraction=0.2,
                             n_iter_no_change=2, tol=0.05, max_iter=40)),
    ("clf", X3, y3, {"sample_weight": SW}, dict(solver="sgd", batch_size=10, alpha=0.1)),
    ("clf", sp.csr_matrix(np.where(X3 > 1, X3, 0)), y3, {}, dict(solver="adam", activation="identity",
                                                               learning_rate_init=0.01, batch_size=32)),
    ("clf", XM, YM, {}, dict(solver="adam", learning_rate_init=0.01, hidden_layer_sizes=(7, 5))),
    ("reg", XR, yR, {}, dict(solver="sgd", learning_rate_init=0.01, batch_size=25, momentum=0.0)),
    ("reg", XR, yR, {"sample_weight": SW[:120 - 30].tolist() + [1.0] * 30},
     dict(solver="lbfgs", activation="logistic", alpha=0.01, max_iter=20)),
    ("reg", XR, np.exp(yR).round(), {}, dict(loss="poisson", solver="adam", learning_rate_init=0.01, batch_size=30)),
    ("reg", XR, yR, {}, dict(solver="adam", early_stopping=True, n_iter_no_change=3, max_iter=30)),
]


@pytest.mark.parametrize("kind, X, y, fit_args, params", SAME_AS_SKLEARN)
def test_same_numbers_as_sklearn(kind, X, y, fit_args, params):
    ours_cls, theirs_cls = (MLPClassifier, sk.MLPClassifier) if kind == "clf" else (MLPRegressor, sk.MLPRegressor)
    params = {"hidden_layer_sizes": (8,), "max_iter": 12, "random_state": 0, **params}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = ours_cls(**params).fit(X, y, **fit_args)
        theirs = theirs_cls(**params).fit(X, y, **fit_args)
    assert ours.n_iter_ == theirs.n_iter_
    for mine, reference in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        assert mine.shape == reference.shape
        np.testing.assert_allclose(mine, reference, rtol=1e-6, atol=1e-9)
    if params["solver"] != "lbfgs":
        np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-7)
        assert ours.t_ == theirs.t_
    if params.get("early_stopping"):
        np.testing.assert_allclose(ours.validation_scores_, theirs.validation_scores_, rtol=1e-9)
        assert ours.best_validation_score_ == pytest.approx(theirs.best_validation_score_)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X)) if kind == "clf" else None
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-6, atol=1e-9)
    assert ours.out_activation_ == theirs.out_activation_ and ours.n_layers_ == theirs.n_layers_


def test_warm_start_and_partial_fit_same_numbers_as_sklearn():
    # fit, a warm fit, then partial_fit: the optimizer restarts on each fit and carries on through
    # partial_fit, t_ counts every sample seen, invscaling reads it: all as scikit-learn does.
    def run(cls):
        est = cls(hidden_layer_sizes=(6,), solver="sgd", learning_rate="invscaling", learning_rate_init=0.2,
                  warm_start=True, max_iter=3, shuffle=False, batch_size=16, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X3, y3)
            est.fit(X3, y3)
        for _ in range(2):
            est.partial_fit(X3[:40], y3[:40])
        return est

    ours, theirs = run(MLPClassifier), run(sk.MLPClassifier)
    assert ours.t_ == theirs.t_ == 2 * 3 * 90 + 2 * 40 and ours.n_iter_ == theirs.n_iter_ == 1
    assert ours._optimizer.learning_rate == pytest.approx(theirs._optimizer.learning_rate, rel=1e-15)
    for mine, reference in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(mine, reference, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-9)


def test_alpha_means_what_it_means_in_sklearn():
    # The issue's case: alpha = 1 on breast_cancer.  Divided by the minibatch's size (200) as
    # scikit-learn divides it, the penalty leaves scikit-learn's training accuracy, 0.965 for this
    # small net; the old undivided alpha acted like scikit-learn's alpha = 200, which leaves 0.743.
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    params = dict(alpha=1.0, hidden_layer_sizes=(20,), max_iter=40, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = MLPClassifier(**params).fit(X, y).score(X, y)
        theirs = sk.MLPClassifier(**params).fit(X, y).score(X, y)
    assert ours == pytest.approx(theirs, abs=1e-12) and ours > 0.96


# --- the objective's gradient against central differences --------------------------------------


# (the multilabel targets' random_state: 1 kept scikit-learn's rejection sampling busy for 2 s at every
# collection; 4 draws as many rows with none, one, two and three labels within a few milliseconds)
@pytest.mark.parametrize("kind, out, y", [("clf", "softmax", y3), ("clf", "logistic", y3 == 1),
                                           ("clf", "logistic", make_multilabel_classification(
                                               n_samples=90, n_features=6, n_classes=3, random_state=4)[1]),
                                           ("reg", "identity", np.column_stack([X3[:, 0], X3[:, 1] ** 2])),
                                           ("reg", "exp", np.abs(X3[:, 0]).round())])
def test_weighted_objective_gradient_matches_central_differences(kind, out, y):
    # f(θ) = Σ s_i loss_i / Σ s + (alpha/2)·Σ‖W‖² / Σ s, its gradient from backprop against
    # (f(θ + h e_j) − f(θ − h e_j)) / 2h for every parameter, float64, h = 1e-6.
    est = (MLPClassifier if kind == "clf" else MLPRegressor)(
        hidden_layer_sizes=(5, 4), activation="tanh", alpha=0.3, max_iter=2, random_state=0,
        **({"loss": "poisson"} if out == "exp" else {}))
    X = X3 / 3
    sw = np.random.default_rng(0).uniform(0, 2, size=len(X))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    assert est.out_activation_ == out
    Y = est._label_binarizer.transform(y).astype(float) if kind == "clf" else np.asarray(y, float).reshape(len(X), -1)
    net = est.network_
    theta = net.pack()

    def f(t):
        net.unpack(t)
        return est._loss_and_gradients(net, X, Y, sw)[0]

    h = 1e-6
    numeric = np.array([(f(theta + h * e) - f(theta - h * e)) / (2 * h) for e in np.eye(theta.size)])
    net.unpack(theta)
    _, grads = est._loss_and_gradients(net, X, Y, sw)
    analytic = np.concatenate([g.ravel() for g in grads.weights_and_biases()])
    assert np.abs(analytic - numeric).max() < 1e-7 * max(1.0, np.abs(numeric).max())


# --- the bugs of issue 12, each failing on the code before it ------------------------------------


def test_partial_fit_after_joblib_load_moves_what_predict_reads(tmp_path):
    # Fitted to 4 at x = 2, dumped, loaded, then 200 partial_fit calls towards 1: before, the
    # optimizer updated its own copy of the weights and predict still said 4.12.
    reg = MLPRegressor(hidden_layer_sizes=(42,), random_state=42, learning_rate_init=0.01, max_iter=200)
    reg.fit([[2.0]], [4.0])
    assert reg.predict([[2.0]])[0] > 3.5
    joblib.dump(reg, tmp_path / "mlp.joblib")
    loaded = joblib.load(tmp_path / "mlp.joblib")
    for _ in range(200):
        loaded.partial_fit([[2.0]], [1.0])
    assert loaded.predict([[2.0]])[0] == pytest.approx(1.0, rel=1e-4)
    net = loaded.network_
    assert all(np.shares_memory(W, C) for W, C in zip(net.weights, loaded.coefs_))


def test_partial_fit_classes_are_checked():
    X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    # classes=[2] with labels 0 and 1: before, every example became class 2
    with pytest.raises(ValueError, match="classes not in"):
        MLPClassifier(solver="sgd").partial_fit(X[:2], [0, 1], classes=[2])
    # a label outside classes=: before, an IndexError or the neighbouring class
    with pytest.raises(ValueError, match="classes not in"):
        MLPClassifier(solver="sgd").partial_fit(X, [0, 5, 3], classes=[0, 5])
    clf = MLPClassifier(solver="sgd", random_state=0).partial_fit(X, [0, 5, 5], classes=[0, 5, 7])
    with pytest.raises(ValueError, match="classes not in"):
        clf.partial_fit(X[:1], [3])
    # a later classes= that differs: before, silently ignored
    with pytest.raises(ValueError, match="not the same as on the last call"):
        clf.partial_fit(X, [0, 5, 5], classes=[0, 5, 8])
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        MLPClassifier().partial_fit(X, [0, 1, 1])
    assert list(clf.classes_) == [0, 5, 7] and clf.predict_proba(X).shape == (3, 3)


def test_early_stopping_refuses_a_one_sample_validation_set():
    with pytest.raises(ValueError, match="The validation set is too small"):
        MLPRegressor(early_stopping=True, random_state=0).fit([[0.0], [1.0]], [0.0, 1.0])
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping=True"):
        MLPRegressor(early_stopping=True).partial_fit([[0.0], [1.0]], [0.0, 1.0])
    clf = MLPClassifier(early_stopping=True)
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping=True"):
        clf.partial_fit([[0.0], [1.0]], [0, 1], classes=[0, 1])
    assert not hasattr(clf, "classes_")                # refused before anything changed


# --- coefs_ and intercepts_: scikit-learn's shapes, writable, one set of arrays -----------------------


def test_coefs_are_the_networks_weights_and_writable():
    X, y = blobs(n=60, d=4)
    clf = MLPClassifier(hidden_layer_sizes=(6,), max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert [C.shape for C in clf.coefs_] == [(4, 6), (6, 3)]
    assert [b.shape for b in clf.intercepts_] == [(6,), (3,)]
    net = clf.network_
    assert all(np.shares_memory(W, C) and W.shape == C.T.shape for W, C in zip(net.weights, clf.coefs_))
    # written in place, or replaced by a new array: predict reads what was written.  With every W
    # and b zero the logits are 0 and ŷ is uniform, 1/3 per class.
    for C in clf.coefs_:
        C[...] = 0
    clf.intercepts_[1] = np.zeros(3)
    clf.intercepts_[0][...] = 0
    np.testing.assert_allclose(clf.predict_proba(X[:2]), np.full((2, 3), 1 / 3))
    clf.intercepts_[1] = np.array([0.0, np.log(2.0), 0.0])        # softmax(0, log 2, 0) = (1/4, 1/2, 1/4)
    np.testing.assert_allclose(clf.predict_proba(X[:1]), [[0.25, 0.5, 0.25]])
    first = clf.coefs_[1]
    clf.partial_fit(X, y)
    assert clf.coefs_[1] is first and np.abs(first).sum() > 0     # training updated the same arrays


def test_binary_probabilities_are_one_logistic_output():
    # Two classes train one output unit p = σ(z); predict_proba gives [1 − p, p] as scikit-learn does.
    clf = MLPClassifier(hidden_layer_sizes=(3,), solver="lbfgs", random_state=0).fit(X2, y2)
    assert clf.n_outputs_ == 1 and clf.out_activation_ == "logistic"
    z = np.maximum(X2[:4] @ clf.coefs_[0] + clf.intercepts_[0], 0) @ clf.coefs_[1] + clf.intercepts_[1]
    p = 1 / (1 + np.exp(-z[:, 0]))
    np.testing.assert_allclose(clf.predict_proba(X2[:4]), np.column_stack([1 - p, p]), rtol=1e-12)


# --- netprop's additions ----------------------------------------------------------------------------


def test_pipeline_and_grid_search():
    X, y = blobs()
    pipe = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(16,), max_iter=30,
                                                          batch_size=32, random_state=0))
    search = GridSearchCV(pipe, {"mlpclassifier__alpha": [1e-4, 1e-2],
                                 "mlpclassifier__activation": ["relu", "leaky_relu"]}, cv=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    assert search.best_score_ > 0.9
    assert set(search.best_params_) == {"mlpclassifier__alpha", "mlpclassifier__activation"}
    assert search.score(X, y) > 0.9


def test_float32_stays_float32_and_curves_are_recorded():
    X, y = blobs(dtype=np.float32)
    seen = []
    clf = MLPClassifier(hidden_layer_sizes=(12,), max_iter=15, early_stopping=True, random_state=1,
                        n_iter_no_change=100, callback=lambda est, epoch, loss: seen.append((epoch, loss)))
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    assert clf.network_.dtype == np.float32 and clf.predict_proba(X).dtype == np.float32
    assert all(C.dtype == np.float32 for C in clf.coefs_ + clf.intercepts_)
    assert clf.n_iter_ == 15 and len(clf.loss_curve_) == 15
    assert len(clf.validation_scores_) == 15 and len(clf.validation_loss_curve_) == 15
    assert [e for e, _ in seen] == list(range(1, 16))
    assert [l for _, l in seen] == clf.loss_curve_
    assert clf.validation_loss_curve_[-1] < clf.validation_loss_curve_[0]
    assert clf.n_features_in_ == 8 and list(clf.classes_) == [0, 1, 2]


def test_netprop_solvers_and_activations():
    X, y = blobs(n=150)
    X = StandardScaler().fit_transform(X)
    # "nesterov" is solver="sgd" with Nesterov momentum whatever nesterovs_momentum says, "momentum"
    # the heavy-ball form: the same numbers as scikit-learn's sgd with that flag.
    for ours, nesterov in (("nesterov", True), ("momentum", False)):
        a = MLPClassifier(solver=ours, nesterovs_momentum=not nesterov, max_iter=3, random_state=0)
        b = sk.MLPClassifier(solver="sgd", nesterovs_momentum=nesterov, max_iter=3, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            a.fit(X, y)
            b.fit(X, y)
        np.testing.assert_allclose(a.coefs_[0], b.coefs_[0], rtol=1e-7, atol=1e-12)
    leaky = MLPClassifier(activation="leaky_relu", solver="lbfgs", random_state=0).fit(X, y)
    assert leaky.score(X, y) > 0.95
    sigmoid = MLPClassifier(activation="sigmoid", solver="lbfgs", max_iter=5, random_state=0)
    logistic = MLPClassifier(activation="logistic", solver="lbfgs", max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        np.testing.assert_allclose(sigmoid.fit(X, y).coefs_[0], logistic.fit(X, y).coefs_[0], rtol=1e-12)


@pytest.mark.parametrize("params, message", [
    (dict(activation="softplus"), "activation must be one of"),
    (dict(solver="newton"), "solver must be one of"),
    (dict(alpha=-1), "alpha must be a number >= 0"),
    (dict(momentum=1.5), r"momentum must be a number in \[0, 1\]"),
    (dict(hidden_layer_sizes=(4, 0)), "hidden_layer_sizes must hold integers >= 1"),
    (dict(learning_rate="cosine"), "learning_rate must be one of"),
    (dict(n_iter_no_change=0), "n_iter_no_change must be an integer >= 1 or np.inf"),
])
def test_bad_parameters_name_what_is_wrong(params, message):
    with pytest.raises(ValueError, match=message):
        MLPClassifier(**params).fit([[0.0], [1.0]], [0, 1])


def test_bad_sample_weight_and_poisson_targets():
    with pytest.raises(ValueError, match=r"sample_weight must have shape \(2,\)"):
        MLPRegressor().fit([[0.0], [1.0]], [0.0, 1.0], sample_weight=[1.0])
    with pytest.raises(ValueError, match="sample_weight must hold finite numbers >= 0"):
        MLPRegressor().fit([[0.0], [1.0]], [0.0, 1.0], sample_weight=[1.0, -1.0])
    with pytest.raises(ValueError, match="needs targets y >= 0"):
        MLPRegressor(loss="poisson").fit([[0.0], [1.0]], [0.0, -1.0])
    assert not hasattr(MLPRegressor(solver="lbfgs"), "partial_fit")


def test_zero_weights_are_removed_samples_even_for_a_whole_minibatch():
    # sample_weight 0 means "not there": with the first minibatch all zero (shuffle off), training
    # is the training on the other rows alone, from the same start (scikit-learn divides by 0 here).
    X, y = regression(n=8)
    params = dict(hidden_layer_sizes=(4,), batch_size=4, shuffle=False, max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        weighted = MLPRegressor(**params).fit(X, y, sample_weight=[0, 0, 0, 0, 1, 1, 1, 1])
        removed = MLPRegressor(**params).fit(X[4:], y[4:])
    for a, b in zip(weighted.coefs_ + weighted.intercepts_, removed.coefs_ + removed.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_warm_start_keeps_the_best_weights_it_may_return_to():
    # A second warm fit whose every epoch scores worse than the first fit's best must end on that best.
    X, y = blobs(n=200, d=4)
    clf = MLPClassifier(hidden_layer_sizes=(8,), solver="sgd", early_stopping=True, warm_start=True,
                        n_iter_no_change=3, max_iter=30, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y)
        best = [C.copy() for C in clf.coefs_]
        first_best, n_scores = clf.best_validation_score_, len(clf.validation_scores_)
        clf.set_params(learning_rate_init=50.0, momentum=0.0)       # every step now overshoots
        clf.fit(X, y)
    assert max(np.nan_to_num(clf.validation_scores_[n_scores:], nan=0.0)) <= first_best
    for a, b in zip(clf.coefs_, best):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("activation", list(__import__("netprop.core.activations").core.activations.ACTIVATIONS))
def test_every_registered_activation_is_an_estimator_activation(activation):
    """scikit-learn's alias map is read off the registry: each activation trains (its loss falls), and
    "logistic" is sigmoid's alias."""
    X, y = blobs(n=120, d=4)
    clf = MLPClassifier(hidden_layer_sizes=(6,), activation=activation, solver="lbfgs", max_iter=30, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
        logistic = MLPClassifier(activation="logistic", max_iter=2).fit(X, y)
    assert clf.network_.activation == activation
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]
    assert logistic.network_.activation == "sigmoid"


# --- the L-BFGS function's shortcuts (sklearn/_lbfgs.py, _indicator_rows) ---------------------------


@pytest.mark.parametrize("y", [np.array([3, 1, 2, 1, 3]), np.array(["b", "a", "c", "a"], dtype=object),
                               np.array(["no", "yes", "yes"]), np.array([True, False, True]),
                               np.array([2.0, 5.0, 2.0, 7.0]), np.array([4, 4, 4]), np.array([[1, 0], [0, 1], [1, 1]])])
def test_indicator_rows_are_the_label_binarizers(y):
    from sklearn.preprocessing import LabelBinarizer

    from netprop.sklearn.estimators import _indicator_rows

    binarizer = LabelBinarizer().fit(y)
    expected = binarizer.transform(y)
    np.testing.assert_array_equal(_indicator_rows(binarizer, y), expected.reshape(len(y), -1))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind, X, y", [("softmax", X3, y3), ("logistic", X2, y2), ("identity", XR, yR)])
def test_lbfgs_objective_is_the_estimators_loss_and_gradient(kind, X, y, dtype):
    # Objective writes ∇W straight into SciPy's vector (float64) or through scratch (float32), the
    # parameters views of one θ, ŷ and log ŷ of softmax from one exp: the same numbers to the bit as
    # _loss_and_gradients on a network of its own.
    from netprop.sklearn._lbfgs import Objective

    X = X.astype(dtype)
    sw = np.random.default_rng(1).uniform(0.5, 2, size=len(X)).astype(dtype)
    est = (MLPRegressor if kind == "identity" else MLPClassifier)(
        hidden_layer_sizes=(7, 5), solver="lbfgs", alpha=0.2, max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    assert est.out_activation_ == kind
    Y = (est._label_binarizer.transform(y) if kind != "identity" else y).astype(dtype).reshape(len(X), -1)
    theta = est.network_.pack().astype(np.float64) + np.random.default_rng(2).normal(0, 0.1, est.network_.n_parameters)
    reference = est.network_.copy()
    reference.unpack(theta)
    for weights in (None, sw):
        loss, grads = est._loss_and_gradients(reference, X, Y, weights)
        objective = Objective(est, est.network_, X, Y, weights)
        for _ in range(2):                     # the second call on the first call's buffers
            f, g = objective(theta)
            assert g.dtype == np.float64 and f == loss
            np.testing.assert_array_equal(g, np.concatenate([p.ravel() for p in grads.weights_and_biases()]))
        # meanwhile coefs_ are views of θ: what predict reads is where L-BFGS is
        assert all(np.shares_memory(C, objective.theta) for C in est.coefs_ + est.intercepts_)
        np.testing.assert_array_equal(est._predict_output(X), est._forward(reference, X).y_hat)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_softmax_and_log_are_core_losses_softmax_and_log_softmax(dtype):
    from netprop.core.losses import log_softmax, softmax
    from netprop.sklearn._lbfgs import softmax_and_log

    rng = np.random.default_rng(0)
    for c in (1, 3, 10, 17):                   # under and over the 8 terms NumPy sums pairwise
        z = (rng.normal(size=(c, 50)) * rng.choice([1, 30, 1000], size=(c, 1))).astype(dtype).T   # columns
        for logits in (z, np.ascontiguousarray(z)):
            y_hat, log_y_hat = softmax_and_log(logits)
            np.testing.assert_array_equal(y_hat, softmax(logits))
            np.testing.assert_array_equal(log_y_hat, log_softmax(logits))
            assert y_hat.dtype == log_y_hat.dtype == dtype


def test_lbfgs_callback_may_predict_without_moving_the_fit():
    # A callback that scores the estimator during L-BFGS sees the parameters L-BFGS is at, and the fit
    # is the one without it.  Before, predict rebuilt the Network from the initial coefs_, so the
    # objective's writes no longer reached the forward pass: the loss stood still and L-BFGS stopped.
    X, y = blobs(n=150, d=6, seed=4)
    scores = []
    seen = MLPClassifier(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=12, random_state=0,
                         callback=lambda est, epoch, loss: scores.append(est.score(X, y)))
    plain = MLPClassifier(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=12, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        seen.fit(X, y)
        plain.fit(X, y)
    assert seen.n_iter_ == plain.n_iter_ and seen.loss_curve_ == plain.loss_curve_
    for a, b in zip(seen.coefs_ + seen.intercepts_, plain.coefs_ + plain.intercepts_):
        np.testing.assert_array_equal(a, b)
    assert len(scores) == seen.n_iter_ and scores[-1] == plain.score(X, y)
