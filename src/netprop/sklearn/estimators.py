"""scikit-learn's MLPClassifier and MLPRegressor, trained by netprop's forward and backward propagation.

Every parameter and attribute of ``sklearn.neural_network``'s two estimators means what it means
there: the same initialisation from ``random_state``, the same minibatches, the same objective

    f = Σ_i s_i·loss(ŷ_i, y_i) / Σ_i s_i  +  (alpha / 2)·Σ_l ‖W_l‖² / Σ_i s_i

per minibatch (s the sample weights, all 1 by default: alpha is divided by the minibatch's size),
the same optimizers, schedules, stopping rules and warnings, and an error where scikit-learn
raises one; so a grid, a pipeline or a saved model carries over.  ``coefs_[l]`` is scikit-learn's
(in, out) matrix; the netprop Network that trains it (``network_``) holds its transpose
Wₗ = coefs_[l]ᵀ, the lecture's (out, in) W, as a view of the same memory.

netprop's additions: every hidden activation core/activations.py holds (``"leaky_relu"``,
``"gelu"``, and "sigmoid", the lecture's name for "logistic"); every optimizer
training/optimizers.py registers as a ``solver`` (``"momentum"`` and ``"nesterov"``: SGD with
heavy-ball or Nesterov momentum whatever ``nesterovs_momentum`` says; any other runs netprop's
rule under scikit-learn's learning-rate schedules), ``callback(estimator, epoch, loss)`` after every
epoch (every L-BFGS iteration), ``validation_loss_curve_`` beside ``validation_scores_``, a
``loss_curve_`` for lbfgs, and ``network_``.
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np
import scipy.optimize
import scipy.sparse as sp
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target, unique_labels
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from ..core.activations import ACTIVATIONS as NETWORK_ACTIVATIONS
from ..core.losses import log_softmax, softmax
# The shared training step's pieces (fast.py): forward propagation without input checks (x dense
# or SciPy sparse: the first product W xᵀ goes through scipy.sparse), each layer's δ already
# divided by n, and the gradients from δ.
from ..training.step import deltas as layer_deltas
from ..training.step import forward as forward_cache
from ..training.step import gradients_from_deltas, scratch
from ..core.network import Network
from ..training.optimizers import OPTIMIZERS, Optimizer, make_optimizer
from ._lbfgs import Objective


# scikit-learn's activation names ("logistic" is an alias in sigmoid's record), and netprop's own, to
# the Network's names: every activation core/activations.py holds.
ACTIVATIONS = {alias: a.name for a in NETWORK_ACTIVATIONS.values() for alias in (a.name, *a.aliases)}
# Every optimizer netprop registers (training/optimizers.py's OPTIMIZERS, read when a solver is checked)
# is a stochastic solver: sgd, momentum, nesterov and adam follow scikit-learn's own rules (below);
# any other runs netprop's rule under scikit-learn's schedules.
STOCHASTIC = OPTIMIZERS


def _solvers():
    return ("lbfgs", *STOCHASTIC)
LEARNING_RATES = ("constant", "invscaling", "adaptive")

# The output layer ŷ = out(z⁽ᴸ⁾) of each of scikit-learn's out_activation_, each paired with the loss
# whose gradient with respect to z⁽ᴸ⁾ is ŷ − y (the lecture's δ_L): softmax with cross-entropy, the
# logistic with binary cross-entropy (binary and multilabel), the identity with the half squared
# error, exp with the half Poisson deviance.
OUTPUTS = {"softmax": softmax, "logistic": expit, "identity": lambda z: z, "exp": np.exp}


def _example_losses(out_activation, z, y_hat, Y):
    """Each example's loss, (n,), from the logits z (n, c), the output ŷ (n, c) and the targets Y (n, c)."""
    if out_activation == "softmax":
        return -(Y * log_softmax(z)).sum(axis=1)                 # −Σ_k y_k log ŷ_k
    if out_activation == "logistic":
        # −y log σ(z) − (1 − y) log(1 − σ(z)) = log(1 + eᶻ) − y z, finite for any z
        return (np.logaddexp(0, z) - Y * z).sum(axis=1)
    if out_activation == "exp":
        # y log(y/ŷ) − y + ŷ with log ŷ = z (y log y is 0 at y = 0)
        y_log_y = Y * np.log(np.where(Y > 0, Y, 1))
        return (y_log_y - Y * z - Y + y_hat).sum(axis=1)
    diff = y_hat - Y
    return 0.5 * (diff * diff).sum(axis=1)                         # ½‖ŷ − y‖²


def _is_int(v, low):
    return isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= low


def _is_real(v):
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)


def _is_bool(v):
    return isinstance(v, (bool, np.bool_))


# Every constructor parameter, its test and what it must be: scikit-learn's constraints.
_CONSTRAINTS = {
    "activation": (lambda v: v in ACTIVATIONS, "one of " + ", ".join(map(repr, ACTIVATIONS))),
    "solver": (lambda v: v in _solvers(), lambda: "one of " + ", ".join(map(repr, _solvers()))),
    "alpha": (lambda v: _is_real(v) and v >= 0, "a number >= 0"),
    "batch_size": (lambda v: v == "auto" or _is_int(v, 1), "'auto' or an integer >= 1"),
    "learning_rate": (lambda v: v in LEARNING_RATES, "one of " + ", ".join(map(repr, LEARNING_RATES))),
    "learning_rate_init": (lambda v: _is_real(v) and v > 0, "a number > 0"),
    "power_t": (lambda v: _is_real(v) and v >= 0, "a number >= 0"),
    "max_iter": (lambda v: _is_int(v, 1), "an integer >= 1"),
    "shuffle": (_is_bool, "True or False"),
    "tol": (lambda v: _is_real(v) and v >= 0, "a number >= 0"),
    "warm_start": (_is_bool, "True or False"),
    "momentum": (lambda v: _is_real(v) and 0 <= v <= 1, "a number in [0, 1]"),
    "nesterovs_momentum": (_is_bool, "True or False"),
    "early_stopping": (_is_bool, "True or False"),
    "validation_fraction": (lambda v: _is_real(v) and 0 <= v < 1, "a number in [0, 1)"),
    "beta_1": (lambda v: _is_real(v) and 0 <= v < 1, "a number in [0, 1)"),
    "beta_2": (lambda v: _is_real(v) and 0 <= v < 1, "a number in [0, 1)"),
    "epsilon": (lambda v: _is_real(v) and v > 0, "a number > 0"),
    "n_iter_no_change": (lambda v: _is_int(v, 1) or v == np.inf, "an integer >= 1 or np.inf"),
    "max_fun": (lambda v: _is_int(v, 1), "an integer >= 1"),
    "loss": (lambda v: v in ("squared_error", "poisson"), "'squared_error' or 'poisson'"),
    "callback": (lambda v: v is None or callable(v), "None or a callable (estimator, epoch, loss)"),
}

# Each estimator class's constructor parameters that _CONSTRAINTS checks, in get_params' order.
_CHECKED_PARAMS = {}


# --- optimizers, in scikit-learn's form --------------------------------------------------------
#
# scikit-learn's SGD keeps its velocity as a step (v ← μ v − η ∇), PyTorch's and optim.SGD as a sum of
# gradients (v ← μ v + ∇, θ ← θ − η v).  The two agree while η is constant and part ways when
# invscaling or adaptive change it; its Adam adds ε to √v rather than to √v̂.  These two classes are
# scikit-learn's rules, so that its learning-rate schedules and hyper-parameters mean the same here.


class SGDSchedule(Optimizer):
    """SGD with momentum μ: v ← μ v − η ∇;  θ ← θ + v, or with Nesterov θ ← θ + μ v − η ∇.

    ``learning_rate`` η is "constant" (learning_rate_init), "invscaling" (learning_rate_init / (t + 1)^power_t
    after each epoch, t the number of examples seen) or "adaptive" (divided by 5 each time the
    stopping rule fires, until it falls to 1e-6).
    """

    def __init__(self, params, learning_rate_init, schedule="constant", momentum=0.9, nesterov=True,
                 power_t=0.5):
        self.learning_rate_init = learning_rate_init
        self.learning_rate = float(learning_rate_init)
        self.schedule = schedule
        self.momentum = momentum
        self.nesterov = nesterov
        self.power_t = power_t
        self.velocities = [np.zeros_like(p) for p in params]

    def step(self, params, grads, lr):
        """Update params in place from their gradients (which are consumed)."""
        mu = self.momentum
        for p, g, v in zip(params, grads, self.velocities):
            g *= lr                                  # η ∇
            v *= mu
            v -= g                                   # v ← μ v − η ∇
            if self.nesterov:
                p += mu * v
                p -= g                               # θ ← θ + μ v − η ∇
            else:
                p += v                               # θ ← θ + v

    def iteration_ends(self, t):
        if self.schedule == "invscaling":
            self.learning_rate = float(self.learning_rate_init) / (t + 1) ** self.power_t

    def trigger_stopping(self, message, verbose):
        """True to stop; the adaptive schedule divides η by 5 instead, until it is 1e-6 or less."""
        if self.schedule != "adaptive" or self.learning_rate <= 1e-6:
            if verbose:
                print(message + " Stopping.")
            return True
        self.learning_rate /= 5.0
        if verbose:
            print(message + f" Setting learning rate to {self.learning_rate:f}")
        return False


class RegisteredSchedule(SGDSchedule):
    """A netprop optimizer with no scikit-learn counterpart (training/optimizers.py's registry), under
    scikit-learn's learning-rate schedules: the rule is netprop's, η is SGDSchedule's."""

    def __init__(self, params, name, learning_rate_init, schedule="constant", momentum=0.9, power_t=0.5):
        super().__init__(params[:0], learning_rate_init, schedule, momentum, False, power_t)
        self.optimizer = make_optimizer(name, params, momentum)

    def step(self, params, grads, lr):
        self.optimizer.step(params, grads, lr)

    def update_from_deltas(self, params, deltas, inputs, lr, l2=0.0):
        self.optimizer.update_from_deltas(params, deltas, inputs, lr, l2)


class AdamSchedule(SGDSchedule):
    """m ← β1 m + (1−β1) ∇;  v ← β2 v + (1−β2) ∇²;  θ ← θ − η·(√(1−β2ᵗ)/(1−β1ᵗ))·m / (√v + ε)."""

    def __init__(self, params, learning_rate_init, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
        self.learning_rate_init = learning_rate_init
        self.learning_rate = float(learning_rate_init)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self.t = 0
        self.ms = [np.zeros_like(p) for p in params]
        self.vs = [np.zeros_like(p) for p in params]

    def step(self, params, grads, lr):
        self.t += 1
        b1, b2 = self.beta_1, self.beta_2
        step_size = lr * math.sqrt(1 - b2 ** self.t) / (1 - b1 ** self.t)   # the bias corrections
        for p, g, m, v in zip(params, grads, self.ms, self.vs):
            m *= b1
            m += (1 - b1) * g                        # m ← β1 m + (1−β1) ∇
            g *= g
            v *= b2
            v += (1 - b2) * g                        # v ← β2 v + (1−β2) ∇²
            p -= step_size * m / (np.sqrt(v) + self.epsilon)

    def iteration_ends(self, t):
        pass

    def trigger_stopping(self, message, verbose):
        if verbose:
            print(message + " Stopping.")
        return True


# --- the estimators ----------------------------------------------------------------------------


class _BaseMLP(BaseEstimator):
    """What the classifier and the regressor share: parameters, initialisation, the solvers."""

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam", alpha=0.0001,
                 batch_size="auto", learning_rate="constant", learning_rate_init=0.001, power_t=0.5,
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, verbose=False,
                 warm_start=False, momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10,
                 max_fun=15000, callback=None):
        """Store every parameter as given (scikit-learn's convention): they are checked when fit starts."""
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.callback = callback

    # --- parameters ---------------------------------------------------------------------------

    def _hidden_sizes(self):
        """hidden_layer_sizes checked, as a list of ints (an int is one hidden layer)."""
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if np.isscalar(sizes) else list(sizes)
        if not all(_is_int(h, 1) for h in sizes):
            raise ValueError(f"hidden_layer_sizes must hold integers >= 1, got {self.hidden_layer_sizes!r}")
        return [int(h) for h in sizes]

    def _check_params(self):
        cls = type(self)
        if cls not in _CHECKED_PARAMS:         # get_params' names, in its order (inspect.signature: slow)
            _CHECKED_PARAMS[cls] = [name for name in self.get_params(deep=False) if name in _CONSTRAINTS]
        for name in _CHECKED_PARAMS[cls]:
            value = getattr(self, name)
            test, wanted = _CONSTRAINTS[name]
            if not test(value):
                wanted = wanted() if callable(wanted) else wanted      # the solvers: the registry now
                raise ValueError(f"{name} must be {wanted}, got {value!r}")
        return self._hidden_sizes()

    def _refuse_early_stopping(self):
        """partial_fit's first check, before anything changes."""
        if self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True: it holds no validation set")

    def _partial_fit_available(self):
        if self.solver not in STOCHASTIC:
            raise AttributeError(f"partial_fit is only available for stochastic solvers "
                                 f"({', '.join(STOCHASTIC)}); {self.solver!r} is not one")
        return True

    # --- the network --------------------------------------------------------------------------

    def _network(self):
        """The netprop Network whose Wₗ and bₗ are coefs_[l]ᵀ and intercepts_[l], views of the same memory.

        Rebuilt from coefs_ on every call, so that arrays a user assigned to coefs_ (or that pickling
        copied) are the ones predict reads and training updates.
        """
        coefs, intercepts = self.coefs_, self.intercepts_
        dtype = np.result_type(*[np.asarray(p) for p in (*coefs, *intercepts)])
        dtype = dtype if dtype in (np.float32, np.float64) else np.dtype(np.float64)
        for params in (coefs, intercepts):
            for i, p in enumerate(params):
                if not (isinstance(p, np.ndarray) and p.dtype == dtype):
                    params[i] = np.asarray(p, dtype=dtype)      # in the list, so coefs_ is what trains
        sizes = [np.shape(coefs[0])[0]] + [np.shape(C)[1] for C in coefs]
        for l, (C, b) in enumerate(zip(coefs, intercepts)):
            if len(coefs) != len(intercepts) or C.shape != (sizes[l], sizes[l + 1]) or b.shape != (sizes[l + 1],):
                raise ValueError(f"coefs_[{l}] is {C.shape} and intercepts_[{l}] is {b.shape}: each coefs_[l] "
                                 f"must be (in, out) with in the previous layer's out, intercepts_[l] (out,)")
        activation = ACTIVATIONS[self.activation]
        loss = "cross_entropy" if self.out_activation_ == "softmax" else "mse"
        net = self.__dict__.get("_net")
        if (net is None or net.layer_sizes != sizes or net.dtype != dtype or net.activation != activation
                or net.loss_name != loss):
            net = self._net = Network(sizes, activation=activation, loss=loss, seed=0, dtype=dtype)
        net.weights = [C.T for C in coefs]            # W (out, in) = coefs_ (in, out) transposed: a view
        net.biases = list(intercepts)
        return net

    @property
    def network_(self):
        """The netprop Network sharing this estimator's parameters (its output layer is the identity for
        the logistic and exp outputs, which the estimator applies)."""
        check_is_fitted(self, "coefs_")
        return self._network()

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_net", None)                       # views of coefs_: rebuilt after loading
        return state

    def _forward(self, net, X, buffers=None):
        """The forward cache for X (n, d), dense or sparse, with ŷ = out_activation_(z⁽ᴸ⁾).

        buffers: step.scratch's dict, to reuse the arrays of the previous call on the same X.
        """
        cache = forward_cache(net, X, buffers)
        if self.out_activation_ not in ("softmax", "identity"):
            cache.y_hat = OUTPUTS[self.out_activation_](cache.z[-1])
        return cache

    def _loss(self, net, cache, Y, sample_weight, n_total, losses=None):
        """Mean (weighted) loss of a forward cache + (alpha/2)·Σ‖W‖² / n_total.

        losses: each example's loss where the caller has it already (L-BFGS's objective), else from the cache.
        """
        if losses is None:
            losses = _example_losses(self.out_activation_, cache.z[-1], cache.y_hat, Y)
        if sample_weight is None:
            data = float(np.add.reduce(losses) / losses.shape[0])     # losses.mean(), without its checks
        else:
            data = float(np.average(losses, weights=sample_weight))
        return data + 0.5 * self.alpha * sum(float(np.vdot(W, W)) for W in net.weights) / n_total

    def _deltas(self, net, cache, Y, sample_weight, buffers=None):
        """Each layer's δ of the weighted mean loss, and the minibatch's weight total Σ s_i (n unweighted)."""
        deltas = layer_deltas(net, cache, Y, buffers)  # (ŷ − y)/n, then the lecture's recursion
        n = Y.shape[0]
        if sample_weight is None:
            return deltas, n
        total = float(sample_weight.sum())
        # The recursion is linear in each example's row of δ_L, so weighting the rows of every δ by
        # n·s_i/Σs gives the δ of Σ_i s_i·loss_i / Σs.
        scale = (sample_weight * (n / total))[:, None]
        for delta in deltas:
            delta *= scale
        return deltas, total

    def _minibatch_step(self, net, params, Xb, Yb, sample_weight, lr):
        """One training step on a minibatch: forward, each layer's δ, the optimizer's update. Returns its loss.

        Xb: (n, d), dense or sparse; Yb: (n, c); sample_weight: (n,) or None; lr: the step size η.
        """
        if sample_weight is not None and not sample_weight.any():
            return 0.0                                 # every weight 0: nothing to learn from (and no 0/0)
        cache = self._forward(net, Xb)
        deltas, total = self._deltas(net, cache, Yb, sample_weight)
        loss = self._loss(net, cache, Yb, sample_weight, total)
        # alpha/Σs: scikit-learn divides the penalty's gradient αW by the minibatch's size too
        self._optimizer.update_from_deltas(params, deltas, [cache.x] + cache.h, lr, self.alpha / total)
        return loss

    def _loss_and_gradients(self, net, X, Y, sample_weight, buffers=None):
        """The full objective at the network's current parameters and its Gradients (L-BFGS's function).

        buffers: a dict kept between calls on the same X (step.scratch): z, h, δ and ∇W are written
        into the previous call's arrays, which the returned Gradients then share.
        """
        cache = self._forward(net, X, buffers)
        deltas, total = self._deltas(net, cache, Y, sample_weight, buffers)
        loss = self._loss(net, cache, Y, sample_weight, total)
        out = None if buffers is None else [scratch(buffers, ("grad", l), W.shape, W.dtype)
                                            for l, W in enumerate(net.weights)]
        return loss, gradients_from_deltas(deltas, [cache.x] + cache.h, net.weights, self.alpha / total, out)

    # --- fitting ------------------------------------------------------------------------------

    def _initialize(self, Y, layer_units, dtype, rng):
        """scikit-learn's start: Glorot-uniform W and b, bound √(6/(fan_in + fan_out)) (√(2/…) for logistic)."""
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = Y.shape[1]
        self.n_layers_ = len(layer_units)
        self.out_activation_ = self._out_activation()
        self.coefs_, self.intercepts_ = [], []
        factor = 2.0 if ACTIVATIONS[self.activation] == "sigmoid" else 6.0
        for fan_in, fan_out in zip(layer_units[:-1], layer_units[1:]):
            bound = math.sqrt(factor / (fan_in + fan_out))
            self.coefs_.append(rng.uniform(-bound, bound, (fan_in, fan_out)).astype(dtype, copy=False))
            self.intercepts_.append(rng.uniform(-bound, bound, fan_out).astype(dtype, copy=False))
        self._best_coefs = [C.copy() for C in self.coefs_]
        self._best_intercepts = [b.copy() for b in self.intercepts_]
        self.loss_curve_ = []
        if self.solver in STOCHASTIC:
            self._no_improvement_count = 0
            if self.early_stopping:
                self.validation_scores_ = []
                self.validation_loss_curve_ = []
                self.best_validation_score_ = -np.inf
                self.best_loss_ = None
            else:
                self.best_loss_ = np.inf
                self.validation_scores_ = None
                self.validation_loss_curve_ = None
                self.best_validation_score_ = None

    def _fit(self, X, y, sample_weight=None, incremental=False):
        """fit and partial_fit: check the parameters and data, start (or continue) the parameters, run the solver.

        incremental: partial_fit's one epoch that keeps the fitted state; otherwise warm_start decides."""
        hidden = self._check_params()
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        X, Y, y_checked = self._validate_input(X, y, incremental, reset=first_pass)
        if sp.issparse(X):
            X = X.tocsr()                              # rows are minibatches
        dtype = X.dtype if first_pass else self._network().dtype   # warm: the fitted precision
        X = X.astype(dtype, copy=False)
        Y = Y.astype(dtype)
        if sample_weight is not None:
            sample_weight = self._check_sample_weight(sample_weight, X.shape[0], dtype)
        layer_units = [X.shape[1], *hidden, Y.shape[1]]
        rng = check_random_state(self.random_state)
        if first_pass:
            self._initialize(Y, layer_units, dtype, rng)
        else:
            fitted = [self.coefs_[0].shape[0]] + [np.shape(C)[1] for C in self.coefs_]
            if fitted != layer_units:
                raise ValueError(f"the fitted layer sizes {fitted} differ from {layer_units} "
                                 f"(hidden_layer_sizes or the number of outputs changed); "
                                 f"set warm_start=False to start again")
        self.n_outputs_ = Y.shape[1]
        if self.solver == "lbfgs":
            self._fit_lbfgs(X, Y, sample_weight)
        else:
            self._fit_stochastic(X, Y, y_checked, sample_weight, rng, incremental)
        if not all(np.isfinite(p).all() for p in (*self.coefs_, *self.intercepts_)):
            raise ValueError("Solver produced non-finite parameter weights. The input data may contain "
                             "large values and need to be preprocessed.")
        return self

    def _check_sample_weight(self, sample_weight, n, dtype):
        sw = np.asarray(sample_weight)
        if sw.ndim == 0:
            sw = np.full(n, sw)
        if sw.shape != (n,):
            raise ValueError(f"sample_weight must have shape ({n},), got {sw.shape}")
        if not np.issubdtype(sw.dtype, np.number) or not np.isfinite(sw).all() or (sw < 0).any():
            raise ValueError("sample_weight must hold finite numbers >= 0")
        if sw.sum() <= 0:
            raise ValueError("sample_weight is zero for every example: none would count")
        return sw.astype(dtype)

    def _fit_lbfgs(self, X, Y, sample_weight):
        """SciPy's L-BFGS-B on net.pack(): maxiter=max_iter, maxfun=max_fun, gtol=tol, as scikit-learn runs it."""
        objective = Objective(self, self._network(), X, Y, sample_weight)
        self.loss_curve_ = []

        def after_iteration(intermediate_result):
            loss = float(intermediate_result.fun)
            self.loss_curve_.append(loss)
            if self.verbose:
                print(f"Iteration {len(self.loss_curve_)}, loss = {loss:.8f}")
            if self.callback is not None:
                self.callback(self, len(self.loss_curve_), loss)

        result = scipy.optimize.minimize(
            objective, objective.theta.astype(np.float64), method="L-BFGS-B", jac=True,
            callback=after_iteration, options={"maxfun": self.max_fun, "maxiter": self.max_iter, "gtol": self.tol})
        if result.status != 0:
            warnings.warn(f"lbfgs stopped before converging after {result.nit} iterations "
                          f"({result.message}); raise max_iter or max_fun, or scale the data",
                          ConvergenceWarning, stacklevel=3)
        self.n_iter_ = min(int(result.nit), self.max_iter)
        objective.finish(result.x)
        self.loss_ = float(result.fun)

    def _loss_grad_lbfgs(self, packed, X, y, sample_weight=None, *unused):
        """scikit-learn's L-BFGS function on its packing (every coefs_ row-major, then every intercepts_):
        sets the parameters from ``packed`` and returns (loss, gradient packed the same way)."""
        shapes = [np.shape(C) for C in self.coefs_] + [np.shape(b) for b in self.intercepts_]
        offsets = np.cumsum([0] + [int(np.prod(s)) for s in shapes])
        chunks = [np.asarray(packed[a:b]).reshape(s) for a, b, s in zip(offsets[:-1], offsets[1:], shapes)]
        L = len(self.coefs_)
        self.coefs_, self.intercepts_ = [c.copy() for c in chunks[:L]], [b.copy() for b in chunks[L:]]
        net = self._network()
        Y = np.asarray(y, dtype=net.dtype).reshape(len(y), -1)
        sw = None if sample_weight is None else np.asarray(sample_weight, dtype=net.dtype)
        loss, grads = self._loss_and_gradients(net, X, Y, sw)
        grad = [gW.T.ravel() for gW in grads.weights] + [gb.ravel() for gb in grads.biases]
        return loss, np.concatenate(grad)

    def _make_optimizer(self, params):
        if self.solver == "adam":
            return AdamSchedule(params, self.learning_rate_init, self.beta_1, self.beta_2, self.epsilon)
        nesterov = {"sgd": self.nesterovs_momentum, "momentum": False, "nesterov": True}.get(self.solver)
        if nesterov is None:
            return RegisteredSchedule(params, self.solver, self.learning_rate_init, self.learning_rate,
                                      self.momentum, self.power_t)
        return SGDSchedule(params, self.learning_rate_init, self.learning_rate, self.momentum, nesterov,
                           self.power_t)

    def _validation_split(self, X, Y, y_checked, sample_weight, rng):
        """scikit-learn's held-out split, stratified by class for classifiers (not for multilabel targets)."""
        stratify = None
        if is_classifier(self) and self._label_binarizer.y_type_ == "binary":
            stratify = Y > 0                           # as scikit-learn does: the same split, the same error
        elif is_classifier(self) and self._label_binarizer.y_type_ == "multiclass":
            stratify = y_checked                       # scikit-learn leaves these unstratified
        parts = train_test_split(X, Y, *(() if sample_weight is None else (sample_weight,)),
                                 random_state=rng, test_size=self.validation_fraction, stratify=stratify)
        X_train, X_val, Y_train, Y_val = parts[:4]
        sw_train, sw_val = parts[4:] if sample_weight is not None else (None, None)
        if X_val.shape[0] < 2:
            raise ValueError(f"The validation set is too small: validation_fraction={self.validation_fraction} "
                             f"of {X.shape[0]} samples holds {X_val.shape[0]}; early_stopping needs at least 2. "
                             f"Increase validation_fraction or the size of the data set.")
        return X_train, Y_train, sw_train, (X_val, Y_val, sw_val)

    def _fit_stochastic(self, X, Y, y_checked, sample_weight, rng, incremental):
        """scikit-learn's stochastic solvers: up to max_iter epochs of shuffled minibatches, each epoch
        followed by its stopping rules; partial_fit (incremental) runs one epoch."""
        net = self._network()
        params = [p for W, b in zip(net.weights, net.biases) for p in (W, b)]
        if not incremental or not hasattr(self, "_optimizer"):
            self._optimizer = self._make_optimizer(params)
        validation = None
        if self.early_stopping:
            X, Y, sample_weight, validation = self._validation_split(X, Y, y_checked, sample_weight, rng)
        n = X.shape[0]
        batch = self._minibatch_size(n)
        order = np.arange(n)
        self.n_iter_ = 0
        try:
            for _ in range(self.max_iter):
                if self.shuffle:
                    rng.shuffle(order)           # scikit-learn's draws: the same minibatches as its MLP
                self.loss_ = self._epoch(net, params, X, Y, sample_weight, order, batch)
                self.n_iter_ += 1
                self.t_ += n
                self.loss_curve_.append(self.loss_)
                if self.verbose:
                    print(f"Iteration {self.n_iter_}, loss = {self.loss_:.8f}")
                self._update_no_improvement_count(net, validation)
                self._optimizer.iteration_ends(self.t_)
                if self.callback is not None:
                    self.callback(self, self.n_iter_, self.loss_)
                if self._stops_after_epoch(params) or incremental:
                    break
                if self.n_iter_ == self.max_iter:
                    warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and "
                                  f"the optimization hasn't converged yet.", ConvergenceWarning, stacklevel=3)
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.", stacklevel=3)
        if self.early_stopping:
            # copies: a warm start trains coefs_ in place, and must not move the best it may come back to
            self.coefs_ = [C.copy() for C in self._best_coefs]
            self.intercepts_ = [b.copy() for b in self._best_intercepts]

    def _minibatch_size(self, n):
        """batch_size for n training examples: "auto" is min(200, n); a larger one is cut to n, with a warning."""
        if self.batch_size == "auto":
            return min(200, n)
        if self.batch_size > n:
            warnings.warn(f"batch_size={self.batch_size} is larger than the {n} training samples; "
                          f"using {n}", stacklevel=4)
        return min(self.batch_size, n)

    def _epoch(self, net, params, X, Y, sample_weight, order, batch):
        """One pass over the minibatches in `order` (consecutive rows when not shuffling); its mean loss."""
        n = X.shape[0]
        total = 0.0
        lr = self._optimizer.learning_rate
        for start in range(0, n, batch):
            rows = order[start:start + batch] if self.shuffle else slice(start, start + batch)
            sw = None if sample_weight is None else sample_weight[rows]
            Xb = X[rows]
            total += self._minibatch_step(net, params, Xb, Y[rows], sw, lr) * Xb.shape[0]
        return total / n

    def _stops_after_epoch(self, params):
        """True when training ends here: the parameters diverged, or the stopping rule fired and the
        schedule does not lower η instead (scikit-learn's adaptive rate)."""
        if not all(np.isfinite(p).all() for p in params):
            return True                          # diverged: more epochs cannot bring it back
        if self._no_improvement_count > self.n_iter_no_change:
            what = "Validation score" if self.early_stopping else "Training loss"
            message = (f"{what} did not improve more than tol={self.tol:f} "
                       f"for {self.n_iter_no_change} consecutive epochs.")
            if self._optimizer.trigger_stopping(message, self.verbose):
                return True
            self._no_improvement_count = 0
        return False

    def _update_no_improvement_count(self, net, validation):
        """scikit-learn's rule: count epochs whose score (or loss) did not improve on the best by tol."""
        if validation is None:
            loss = self.loss_curve_[-1]
            self._no_improvement_count = (self._no_improvement_count + 1
                                          if loss > self.best_loss_ - self.tol else 0)
            self.best_loss_ = min(self.best_loss_, loss)
            return
        X_val, Y_val, sw_val = validation
        cache = self._forward(net, X_val)
        with np.errstate(all="ignore"):
            losses = _example_losses(self.out_activation_, cache.z[-1], cache.y_hat, Y_val)
        self.validation_loss_curve_.append(float(np.average(losses, weights=sw_val)))
        score = self._score_output(cache.y_hat, Y_val, sw_val)
        self.validation_scores_.append(score)
        if self.verbose:
            print(f"Validation score: {score:f}")
        self._no_improvement_count = (self._no_improvement_count + 1
                                      if score < self.best_validation_score_ + self.tol else 0)
        if score > self.best_validation_score_:
            self.best_validation_score_ = score
            self._best_coefs = [C.copy() for C in self.coefs_]
            self._best_intercepts = [b.copy() for b in self.intercepts_]

    def fit(self, X, y, sample_weight=None):
        """Train on X (n, d), dense or sparse, and y; with warm_start, continue from the current weights.

        y: labels (n,) or a label indicator matrix (n, k) for the classifier; targets (n,) or (n, k)
        for the regressor.  sample_weight: (n,) or None.  Returns self.
        """
        return self._fit(X, y, sample_weight, incremental=False)

    def _predict_output(self, X):
        """ŷ (n, n_outputs_) for raw X, checked as scikit-learn checks it."""
        check_is_fitted(self, "coefs_")
        X = validate_data(self, X, accept_sparse=["csr", "csc"], reset=False, dtype=(np.float64, np.float32))
        net = self._network()
        return self._forward(net, X.astype(net.dtype, copy=False)).y_hat

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def _indicator_rows(binarizer, y):
    """binarizer.transform(y) (n, n_classes), one column for two classes, for the y it was just fitted on.

    Its labels are known to be among classes_ then, so for one label per example the rows are built
    from their positions in classes_ without transform's second look at y (type_of_target, the
    check of every label: most of fit's checks on a small data set).
    """
    classes = binarizer.classes_
    if binarizer.y_type_ not in ("binary", "multiclass") or len(classes) < 2 or np.ndim(y) != 1:
        return binarizer.transform(y).reshape(len(y), -1)
    column = np.searchsorted(classes, y)
    if len(classes) == 2:
        return (column == 1).astype(np.intp)[:, None]           # the second class's column alone
    Y = np.zeros((len(y), len(classes)), np.intp)
    Y[np.arange(len(y)), column] = 1
    return Y


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """scikit-learn's MLPClassifier: mean cross-entropy + (alpha/2)·Σ‖W‖²/n, netprop's backpropagation.

    Parameters and attributes are scikit-learn's (see its documentation, and the table in netprop's
    README).  Two classes train one logistic output, more classes a softmax, a label indicator
    matrix (multilabel) one logistic output per label.  Additions: every netprop ``activation``
    ("leaky_relu", "gelu", "sigmoid", …); every netprop optimizer as a ``solver`` ("momentum",
    "nesterov", …); ``callback(estimator, epoch, loss)``;
    ``validation_loss_curve_`` (cross-entropy) beside ``validation_scores_`` (accuracy).
    """

    def _out_activation(self):
        return "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             dtype=(np.float64, np.float32), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer().fit(y)
            self.classes_ = self._label_binarizer.classes_
            return X, _indicator_rows(self._label_binarizer, y), y
        else:
            classes = unique_labels(y)
            if self.warm_start and not incremental:
                if set(classes) != set(self.classes_):
                    raise ValueError(f"warm_start can only be used where `y` has the same classes as in the "
                                     f"previous call to fit. Previously got {self.classes_}, `y` has {classes}")
            elif len(np.setdiff1d(classes, self.classes_)):
                raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` has "
                                 f"{self.classes_}. 'y' has {classes}.")
        Y = self._label_binarizer.transform(y)
        return X, Y.reshape(len(Y), -1), y

    def _score_output(self, y_hat, Y, sample_weight):
        if not np.isfinite(y_hat).all():
            return np.nan
        return float(accuracy_score(self._labels(Y), self._labels(y_hat), sample_weight=sample_weight))

    def _first_partial_fit(self, classes):
        """True on the first call (which sets classes_); refuses a missing or a changed ``classes``."""
        if classes is not None:
            classes = unique_labels(classes)
            if hasattr(self, "classes_"):
                if not np.array_equal(classes, self.classes_):
                    raise ValueError(f"classes={list(classes)} is not the same as on the last call to "
                                     f"partial_fit or fit, which was {list(self.classes_)}")
                return False
            self.classes_ = classes
            return True
        if not hasattr(self, "classes_"):
            raise ValueError("classes must be passed on the first call to partial_fit: every label to come")
        return False

    def _labels(self, out):
        return self._label_binarizer.inverse_transform(out.ravel() if out.shape[1] == 1 else out)

    @available_if(lambda est: est._partial_fit_available())
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over (X, y) from the current weights; the first call needs ``classes``, every label to come.

        X: (n, d), dense or sparse; y: labels (n,) or indicator matrix (n, k); classes: (n_classes,).
        """
        self._refuse_early_stopping()
        if self._first_partial_fit(classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X):
        """The class of each row of X (n, d): (n,), or (n, k) indicator rows for multilabel."""
        return self._labels(self._predict_output(X))

    def predict_proba(self, X):
        """Probabilities (n, n_classes), columns in the order of classes_ ([1 − p, p] for two classes)."""
        y_hat = self._predict_output(X)
        if y_hat.shape[1] == 1:
            return np.hstack([1 - y_hat, y_hat])
        return y_hat

    def predict_log_proba(self, X):
        """log(predict_proba(X)), (n, n_classes)."""
        proba = self.predict_proba(X)
        return np.log(proba, out=proba)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, _BaseMLP):
    """scikit-learn's MLPRegressor: half squared error (or half Poisson deviance) + (alpha/2)·Σ‖W‖²/n.

    ``loss="squared_error"``: identity output, ½‖ŷ − y‖² per example; ``loss="poisson"``: ŷ = exp(z),
    y log(y/ŷ) − y + ŷ per example (y >= 0).  Multi-output targets (n, k) work.  Additions as for
    MLPClassifier; ``validation_loss_curve_`` holds the validation loss, ``validation_scores_`` R².
    """

    def __init__(self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant", learning_rate_init=0.001,
                 power_t=0.5, max_iter=200, shuffle=True, random_state=None, tol=1e-4, verbose=False,
                 warm_start=False, momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10,
                 max_fun=15000, callback=None):
        super().__init__(hidden_layer_sizes, activation, solver=solver, alpha=alpha, batch_size=batch_size,
                         learning_rate=learning_rate, learning_rate_init=learning_rate_init, power_t=power_t,
                         max_iter=max_iter, shuffle=shuffle, random_state=random_state, tol=tol,
                         verbose=verbose, warm_start=warm_start, momentum=momentum,
                         nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
                         validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2,
                         epsilon=epsilon, n_iter_no_change=n_iter_no_change, max_fun=max_fun,
                         callback=callback)
        self.loss = loss

    def _out_activation(self):
        return "exp" if self.loss == "poisson" else "identity"

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True, y_numeric=True,
                             dtype=(np.float64, np.float32), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and (y < 0).any():
            raise ValueError("loss='poisson' needs targets y >= 0 (they are counts or rates)")
        return X, y.reshape(len(y), -1), y

    def _score_output(self, y_hat, Y, sample_weight):
        if not np.isfinite(y_hat).all():
            return np.nan
        return float(r2_score(Y, y_hat, sample_weight=sample_weight))

    @available_if(lambda est: est._partial_fit_available())
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over (X, y) from the current weights. X: (n, d), dense or sparse; y: (n,) or (n, k)."""
        self._refuse_early_stopping()
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X):
        """ŷ for each row of X (n, d): (n,) for one output, (n, k) for k."""
        y_hat = self._predict_output(X)
        return y_hat.ravel() if y_hat.shape[1] == 1 else y_hat

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
