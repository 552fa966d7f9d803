"""netprop.sklearn against scikit-learn's MLP, side by side: 5-fold cross-validation on its bundled data sets.

For each data set and solver, both estimators get the same parameters (scikit-learn's defaults
with random_state=0, after a StandardScaler) and the same five folds (stratified for the
classifiers).  Each fold fits both, one right after the other, in alternating order; the table
gives the mean test score (accuracy, R² for diabetes) of each, and netprop's fit time divided by
scikit-learn's: the median of the five per-fold ratios, their range in brackets.  Fit time is the
CPU time of the process with one BLAS thread for both (--threads to change): on a shared machine,
wall time with two BLAS threads moves with the other users' load by more than the difference
being measured.

    python benchmarks/bench_sklearn.py
    python benchmarks/bench_sklearn.py --datasets iris wine --solvers lbfgs --max-iter 50
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from common import blas_description, machine, table

DATASETS = ("digits", "breast_cancer", "wine", "iris", "diabetes")
SOLVERS = ("lbfgs", "sgd", "adam")


def load(name):
    from sklearn import datasets

    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    return X, y, name != "diabetes"


def compare(name, solver, max_iter, folds):
    """(mean score netprop, mean score scikit-learn, sd of scikit-learn's, median per-fold time ratio, range)."""
    from sklearn import neural_network as sk
    from sklearn.base import clone
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import KFold, StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from netprop import sklearn as np_sklearn

    X, y, classify = load(name)
    params = dict(solver=solver, max_iter=max_iter, random_state=0)
    kind = "MLPClassifier" if classify else "MLPRegressor"
    models = {"netprop": make_pipeline(StandardScaler(), getattr(np_sklearn, kind)(**params)),
              "sklearn": make_pipeline(StandardScaler(), getattr(sk, kind)(**params))}
    splitter = (StratifiedKFold if classify else KFold)(n_splits=folds, shuffle=True, random_state=0)
    scores = {lib: [] for lib in models}
    seconds = {lib: [] for lib in models}
    for fold, (train, test) in enumerate(splitter.split(X, y)):
        order = list(models) if fold % 2 == 0 else list(models)[::-1]
        for lib in order:
            model = clone(models[lib])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                started = time.process_time()
                model.fit(X[train], y[train])
                seconds[lib].append(time.process_time() - started)
            scores[lib].append(model.score(X[test], y[test]))
    ratios = np.array(seconds["netprop"]) / np.array(seconds["sklearn"])
    return (np.mean(scores["netprop"]), np.mean(scores["sklearn"]), np.std(scores["sklearn"]),
            float(np.median(ratios)), (ratios.min(), ratios.max()))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", choices=DATASETS, default=list(DATASETS))
    parser.add_argument("--solvers", nargs="+", choices=SOLVERS, default=list(SOLVERS))
    parser.add_argument("--max-iter", type=int, default=200, help="max_iter for both (default 200, theirs)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads for both (default 1)")
    args = parser.parse_args()

    import sklearn
    from threadpoolctl import threadpool_limits

    threadpool_limits(args.threads)

    print(f"{machine()}; scikit-learn {sklearn.__version__}; {blas_description()}; CPU seconds")
    rows = []
    for name in args.datasets:
        for solver in args.solvers:
            ours, theirs, spread, ratio, (low, high) = compare(name, solver, args.max_iter, args.folds)
            metric = "R²" if name == "diabetes" else "accuracy"
            rows.append([name, solver, metric, f"{ours:.4f}", f"{theirs:.4f}", f"{spread:.4f}",
                         f"{ratio:.2f} ({low:.2f}–{high:.2f})"])
            print(table(rows[-1:], HEADERS).splitlines()[-1], flush=True)
    print()
    print(table(rows, HEADERS))


HEADERS = ["data set", "solver", "score", "netprop", "scikit-learn", "sd over folds (sklearn)",
           "fit time netprop ÷ scikit-learn, median (range)"]


if __name__ == "__main__":
    main()
