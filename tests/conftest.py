import numpy as np
import pytest
from hypothesis import settings

settings.register_profile("netprop", deadline=None, max_examples=60, derandomize=True)
settings.load_profile("netprop")


def close_rel(a, b, rtol, atol=1e-14):
    """‖a - b‖ <= rtol·(‖a‖ + ‖b‖) + atol, written out here so the tests do not trust netprop.rel_error."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return np.linalg.norm(a - b) <= rtol * (np.linalg.norm(a) + np.linalg.norm(b)) + atol


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory):
    """A tiny finished Fashion-MNIST run (run_view_helpers.train_tiny_run), trained once a session.

    Defined here, not imported into each module that uses it: an imported fixture is a definition per
    module, and the run was trained once for each of them.
    """
    from run_view_helpers import train_tiny_run

    return train_tiny_run(tmp_path_factory.mktemp("run") / "tiny")
