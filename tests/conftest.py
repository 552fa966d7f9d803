import numpy as np
import pytest
from hypothesis import settings

from netprop.training.painter import Painter

REAL_PAINTER_INIT = Painter.__init__

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


@pytest.fixture(scope="session", autouse=True)
def pictures_drawn_here():
    """A run's pictures drawn in the test process rather than by a Painter child per run.

    Each train_run otherwise starts a Python that imports matplotlib (about 1.5 s of the 2 s a small
    run takes); drawn here, matplotlib is imported once for the session. The figures are the same:
    test_painter.py holds the child's PNGs byte-equal to these (slow tier) and runs the real child
    (marked painter_child), as does every `netprop train` started as a process (test_cli_train.py's in
    the inner loop). Session-scoped, so that the runs trained by session- and module-scoped fixtures
    draw here too.
    """
    from netprop.training import painter

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(painter.Painter, "__init__", _no_child)
        yield


def _no_child(painter, children=None):
    REAL_PAINTER_INIT(painter, children=0)      # no child process: every picture drawn in this process


@pytest.fixture(autouse=True)
def painter_child_when_marked(request, pictures_drawn_here):
    """The real Painter (a child process) for the tests marked painter_child."""
    if request.node.get_closest_marker("painter_child") is None:
        yield
        return
    from netprop.training import painter

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(painter.Painter, "__init__", REAL_PAINTER_INIT)
        yield


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory):
    """A tiny finished Fashion-MNIST run (run_view_helpers.train_tiny_run), trained once a session.

    Defined here, not imported into each module that uses it: an imported fixture is a definition per
    module, and the run was trained once for each of them.
    """
    from run_view_helpers import train_tiny_run

    return train_tiny_run(tmp_path_factory.mktemp("run") / "tiny")
