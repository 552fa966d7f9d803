"""netprop as a drop-in for scikit-learn's MLPClassifier and MLPRegressor (needs the ``sklearn`` extra)."""

from .estimators import AdamSchedule, MLPClassifier, MLPRegressor, SGDSchedule

__all__ = ["AdamSchedule", "MLPClassifier", "MLPRegressor", "SGDSchedule"]
