"""scikit-learn estimators backed by netprop: MLPClassifier and MLPRegressor.

They drop into Pipeline and GridSearchCV, and add what scikit-learn's own MLP does not offer:
leaky relu, a progress callback, SGD with Nesterov momentum as its own solver name, and a
validation *loss* curve beside the validation scores.  float32 input trains in float32.
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from . import fast
from .network import Network
from .optim import make_optimizer


class _BaseMLP(BaseEstimator):
    """The shared training loop: minibatches, the lecture's backward pass, an optimizer step."""

    _loss = None

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", solver="adam",
                 learning_rate_init=0.001, batch_size=200, max_iter=200, alpha=0.0001,
                 momentum=0.9, shuffle=True, tol=1e-4, n_iter_no_change=10, early_stopping=False,
                 validation_fraction=0.1, random_state=None, callback=None, verbose=False):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.learning_rate_init = learning_rate_init
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.alpha = alpha
        self.momentum = momentum
        self.shuffle = shuffle
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.random_state = random_state
        self.callback = callback
        self.verbose = verbose

    # --- parameters ----------------------------------------------------------------------

    def _check_params(self):
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if np.isscalar(sizes) else list(sizes)
        if any(int(h) != h or h < 1 for h in sizes):
            raise ValueError(f"hidden_layer_sizes must hold positive integers, got {self.hidden_layer_sizes}")
        if self.max_iter < 1:
            raise ValueError(f"max_iter must be >= 1, got {self.max_iter}")
        if not self.learning_rate_init > 0:
            raise ValueError(f"learning_rate_init must be > 0, got {self.learning_rate_init}")
        if self.alpha < 0:
            raise ValueError(f"alpha must be >= 0, got {self.alpha}")
        if self.batch_size != "auto" and (int(self.batch_size) != self.batch_size or self.batch_size < 1):
            raise ValueError(f"batch_size must be a positive integer or 'auto', got {self.batch_size}")
        if self.early_stopping and not 0 < self.validation_fraction < 1:
            raise ValueError(f"validation_fraction must be in (0, 1), got {self.validation_fraction}")
        return [int(h) for h in sizes]

    # --- training ----------------------------------------------------------------------------

    def _prepare_targets(self, y, incremental):
        raise NotImplementedError

    def _initialise(self, n_features, n_outputs, dtype, rng):
        sizes = [n_features, *self._check_params(), n_outputs]
        self.network_ = Network(sizes, activation=self.activation, loss=self._loss,
                                seed=int(rng.integers(2**31)), dtype=dtype)
        self._params = self.network_.parameters()
        self._optimizer = make_optimizer(self.solver, self._params, self.momentum)
        self.n_iter_ = 0
        self.t_ = 0
        self.loss_curve_ = []
        self.best_loss_ = math.inf
        self._no_improvement = 0
        self.validation_scores_ = [] if self.early_stopping else None
        self.validation_loss_curve_ = [] if self.early_stopping else None
        self.best_validation_score_ = -math.inf if self.early_stopping else None

    def _fit(self, X, y, incremental):
        first = not (incremental and hasattr(self, "network_"))
        X, y = validate_data(self, X, y, reset=first, dtype=[np.float64, np.float32],
                             multi_output=self._loss == "mse", y_numeric=self._loss == "mse")
        Y = self._prepare_targets(y, incremental=not first)
        dtype = np.float32 if X.dtype == np.float32 else np.float64
        if first:
            self._rng = np.random.default_rng(check_random_state(self.random_state).randint(2**31))
            self._initialise(X.shape[1], Y.shape[1], dtype, self._rng)
        else:
            self._check_params()
        rng = self._rng
        X = X.astype(self.network_.dtype, copy=False)
        Y = Y.astype(self.network_.dtype, copy=False)
        X_val = Y_val = None
        if self.early_stopping and not incremental:
            n_val = max(1, int(round(self.validation_fraction * len(X))))
            if len(X) - n_val < 1:
                raise ValueError("too few samples to hold out a validation set for early_stopping")
            order = rng.permutation(len(X))
            X_val, Y_val = X[order[:n_val]], Y[order[:n_val]]
            X, Y = X[order[n_val:]], Y[order[n_val:]]
        n = len(X)
        batch = min(200, n) if self.batch_size == "auto" else min(int(self.batch_size), n)
        epochs = 1 if incremental else self.max_iter
        best_params = None
        for _ in range(epochs):
            order = rng.permutation(n) if self.shuffle else np.arange(n)
            total = 0.0
            for start in range(0, n, batch):
                idx = order[start:start + batch]
                cache = fast.train_step(self.network_, self._optimizer, X[idx], Y[idx],
                                        self.learning_rate_init, self.alpha, self._params)
                total += fast.data_loss(self.network_, cache, Y[idx]) * len(idx)
                self.t_ += 1
            loss = total / n + self.network_.l2_penalty(self.alpha)
            if not math.isfinite(loss):
                raise ValueError(f"the training loss became {loss} at epoch {self.n_iter_ + 1}; "
                                 f"try a smaller learning_rate_init")
            self.n_iter_ += 1
            self.loss_curve_.append(loss)
            improved = self._track(loss, X_val, Y_val)
            if improved and X_val is not None:
                best_params = [p.copy() for p in self._params]
            if self.verbose:
                print(f"Iteration {self.n_iter_}, loss = {loss:.8f}")
            if self.callback is not None:
                self.callback(self, self.n_iter_, loss)
            if not incremental and self._no_improvement > self.n_iter_no_change:
                break
        if best_params is not None:
            for p, b in zip(self._params, best_params):
                p[...] = b
        return self

    def _track(self, loss, X_val, Y_val):
        """sklearn's stopping rule: count epochs without an improvement larger than tol."""
        if X_val is not None:
            cache = fast.forward(self.network_, X_val)
            self.validation_loss_curve_.append(fast.data_loss(self.network_, cache, Y_val))
            score = self._score_cache(cache, Y_val)
            self.validation_scores_.append(score)
            improved = score > self.best_validation_score_
            self._no_improvement = 0 if score > self.best_validation_score_ + self.tol else self._no_improvement + 1
            self.best_validation_score_ = max(self.best_validation_score_, score)
            return improved
        improved = loss < self.best_loss_
        self._no_improvement = 0 if loss < self.best_loss_ - self.tol else self._no_improvement + 1
        self.best_loss_ = min(self.best_loss_, loss)
        return improved

    def fit(self, X, y):
        """Train from scratch for up to max_iter epochs."""
        self._partial_classes = None            # classes= of an earlier partial_fit do not apply
        return self._fit(X, y, incremental=False)

    def partial_fit(self, X, y, classes=None):
        """One epoch over (X, y), continuing from the current weights."""
        if classes is not None:
            self._partial_classes = classes
        return self._fit(X, y, incremental=True)

    def _forward(self, X):
        check_is_fitted(self, "network_")
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        return fast.forward(self.network_, X.astype(self.network_.dtype, copy=False))


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """A classifier: softmax output, mean cross-entropy + (alpha/2)·Σ‖W‖², netprop's backprop.

    Parameters follow scikit-learn's MLPClassifier where they mean the same; ``solver`` is one of
    "sgd", "momentum", "nesterov", "adam"; ``activation`` adds "leaky_relu"; ``callback(estimator,
    epoch, loss)`` is called after every epoch.  With ``early_stopping``, ``validation_scores_``
    (accuracy) and ``validation_loss_curve_`` (cross-entropy) are recorded per epoch.
    """

    _loss = "cross_entropy"

    def _prepare_targets(self, y, incremental):
        check_classification_targets(y)
        if not incremental:
            classes = getattr(self, "_partial_classes", None)
            self._binarizer = LabelBinarizer()
            self._binarizer.fit(classes if classes is not None else y)
            self.classes_ = self._binarizer.classes_
        elif not set(np.unique(y)) <= set(self.classes_):
            raise ValueError(f"y holds labels {sorted(set(np.unique(y)) - set(self.classes_))} "
                             f"not seen in the first call (classes_: {list(self.classes_)})")
        index = np.searchsorted(self.classes_, y)
        return np.eye(len(self.classes_))[index]

    def _score_cache(self, cache, Y):
        return float((cache.y_hat.argmax(axis=1) == Y.argmax(axis=1)).mean())

    def predict_proba(self, X):
        """Class probabilities ŷ, one row per example, columns in the order of classes_."""
        return self._forward(X).y_hat

    def predict_log_proba(self, X):
        return np.log(self.predict_proba(X))

    def predict(self, X):
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


class MLPRegressor(RegressorMixin, _BaseMLP):
    """A regressor: identity output, f = (1/2n)·Σ‖ŷ − y‖² + (alpha/2)·Σ‖W‖², netprop's backprop.

    Multi-output targets (n, k) work; ``validation_scores_`` holds R² and
    ``validation_loss_curve_`` the validation loss when ``early_stopping`` is on.
    """

    _loss = "mse"

    def _prepare_targets(self, y, incremental):
        y = np.asarray(y, dtype=np.float64)
        if not incremental:
            self._y_1d = y.ndim == 1
        return y.reshape(len(y), -1)

    def _score_cache(self, cache, Y):
        residual = ((Y - cache.y_hat) ** 2).sum()
        total = ((Y - Y.mean(axis=0)) ** 2).sum()
        return float(1 - residual / total) if total > 0 else 0.0

    def predict(self, X):
        out = self._forward(X).y_hat
        return out.ravel() if self._y_1d else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
