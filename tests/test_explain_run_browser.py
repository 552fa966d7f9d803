"""The run view in a real browser: Playwright driving Debian's Chromium (never a downloaded one).

The page shows what the API computes; these tests read the page and compare it with the model
evaluated here, and check that the page logs no error and asks no other host for anything.
"""

import os
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("pytest_playwright")

from run_view_helpers import Server, finish_from, make_app, write_partial_checkpoint  # noqa: E402

import netprop  # noqa: E402
from netprop.data import load_fashion_mnist  # noqa: E402

pytestmark = pytest.mark.slow

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


def chromium_path():
    for path in ("/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if os.path.exists(path):
            return path
    if os.environ.get("CI"):
        raise AssertionError("CI needs Debian's chromium (make test-tools installs it)")
    pytest.skip("chromium not installed")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": chromium_path(), "args": CHROMIUM_ARGS}


@pytest.fixture
def watched(page):
    """The page, with lists of its console errors and of the hosts it asked for anything."""
    errors, hosts = [], set()
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("request", lambda request: hosts.add(urlsplit(request.url).netloc)
            if urlsplit(request.url).scheme in ("http", "https", "ws", "wss") else None)
    page.set_default_timeout(15000)
    return page, errors, hosts


def clear_top3(model, X, indices):
    """An index among these whose first four probabilities are 1e-3 apart, so ranks are not a rounding matter."""
    for index in indices:
        p = np.sort(model.predict_proba(X[index:index + 1])[0].astype(np.float64))[::-1]
        if (np.diff(p[:4]) < -1e-3).all():
            return index
    raise AssertionError("no test image on the first page with a clear top 3")


def test_click_a_test_image_shows_the_models_top3(run_dir, watched):
    page, errors, hosts = watched
    model = netprop.load(run_dir)
    _, _, X, y = load_fashion_mnist(download=False)
    index = clear_top3(model, X, range(1, 40))
    with Server(make_app(run_dir)) as server:
        page.goto(server.url + "/")
        page.wait_for_selector(f'.np-run-thumb[data-index="{index}"]')
        page.wait_for_selector(".np-run-matrix")
        assert page.locator(".np-run-status").get_attribute("data-status") == "finished"
        assert page.locator(".np-run-chart").count() == 2
        assert page.locator(".np-run-chart polyline").count() == 4       # train and validation, twice
        # the confusion matrix's cells add up to the test set
        cells = page.locator(".np-run-matrix td").all_inner_texts()
        assert len(cells) == 100 and sum(int(c) for c in cells) == len(X)
        assert page.locator(".np-run-tiles-canvas").evaluate("c => [c.width, c.height]") == [8 * 30 - 2, 28]

        # a proper title; after a 2-epoch run the tiles open on W1's change (W1 is still mostly its start)
        assert page.locator(".np-run-title").inner_text() == f"Training run “{run_dir.name}”"
        page.wait_for_selector('.np-run-toggle button[data-kind="first_layer_change"][aria-pressed="true"]')
        # the confusion matrix fits its panel: no column cut off
        assert page.eval_on_selector(".np-run-matrix", "t => t.getBoundingClientRect().right <= "
                                     "t.closest('.np-run-panel').getBoundingClientRect().right")

        page.click(f'.np-run-thumb[data-index="{index}"]')
        page.wait_for_selector(".np-run-top3 li")
        # the forward pass appears where the student is looking, with the classes named on the output layer
        box = page.locator(".np-run-forward-panel").bounding_box()
        assert box["y"] < page.viewport_size["height"] and box["y"] + box["height"] > 0
        assert page.locator(".np-run-class").all_inner_texts() == list(model.class_names)
        shown = page.locator(".np-run-top3 li").evaluate_all(
            "items => items.map(li => [Number(li.dataset.class), li.querySelector('.np-run-name').textContent,"
            " li.querySelector('.np-run-prob').textContent])")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "run_view_forward.png"), full_page=True)
        title = page.locator(".np-run-forward-title").inner_text()
        page.goto("about:blank")

    p = model.predict_proba(X[index:index + 1])[0].astype(np.float64)
    top = np.argsort(-p)[:3]
    assert [k for k, _, _ in shown] == top.tolist()
    assert [name for _, name, _ in shown] == [model.class_names[k] for k in top]
    assert [prob for _, _, prob in shown] == [f"{100 * p[k]:.2f} %" for k in top]
    assert title.endswith(model.class_names[y[index]])
    assert errors == []
    assert hosts == {f"127.0.0.1:{server.port}"}


def test_a_run_still_training_updates_per_epoch_then_shows_its_results(run_dir, tmp_path, watched):
    page, errors, hosts = watched
    live = tmp_path / "live"
    live.mkdir()                                 # train_run makes the directory before its first epoch
    with Server(make_app(live, poll_seconds=0.05)) as server:
        page.goto(server.url + "/")
        status = page.locator(".np-run-status")
        page.wait_for_function("() => document.body.dataset.mounted === 'yes'")
        assert status.get_attribute("data-status") == "waiting"

        write_partial_checkpoint(run_dir, live, epochs=1)
        page.wait_for_function("() => document.querySelector('.np-run-status').textContent"
                               ".includes('epoch 1 of 2 done')")
        page.wait_for_function("() => document.querySelector('.np-run-tiles-canvas').width === 238")
        assert page.locator(".np-run-chart circle").count() == 4      # one epoch: two series in two charts
        assert page.locator(".np-run-matrix").count() == 0

        write_partial_checkpoint(run_dir, live, epochs=2)
        page.wait_for_function("() => document.querySelector('.np-run-status').textContent"
                               ".includes('epoch 2 of 2 done')")
        assert page.locator(".np-run-chart").first.locator("circle").count() == 4

        finish_from(run_dir, live)
        page.wait_for_selector(".np-run-matrix")
        assert status.get_attribute("data-status") == "finished"
        assert "test accuracy" in status.inner_text()
        page.goto("about:blank")                 # lets the server stop without an open stream
    assert errors == []
    assert hosts == {f"127.0.0.1:{server.port}"}


def test_an_api_error_is_one_line_on_the_page(run_dir, watched, tmp_path):
    """A run whose test set names a file that is gone: the page says so and keeps working."""
    page, errors, _ = watched
    live = tmp_path / "live"
    shutil.copytree(run_dir, live)
    import json

    config = json.loads((live / "config.json").read_text())
    config["training"]["source"] = {"kind": "file", "path": str(tmp_path / "gone.npz"),
                                    "test_path": str(tmp_path / "gone_test.npz")}
    from netprop.storage.models import config_digest

    config["config_sha256"] = config_digest(config)     # a run as saved, whose data went away since
    (live / "config.json").write_text(json.dumps(config))
    (live / "checkpoint.safetensors").unlink()
    with Server(make_app(live)) as server:
        page.goto(server.url + "/")
        alert = page.locator(".np-run-error")
        alert.wait_for(state="visible")
        assert "test set is not available here" in alert.inner_text()
        assert "\n" not in alert.inner_text()
        page.wait_for_selector(".np-run-chart")
        page.goto("about:blank")
    # the browser reports the 404 itself; nothing else went wrong
    assert all("404" in e for e in errors)


def test_axe_finds_no_serious_violation_in_the_run_view(run_dir, watched):
    page, errors, _ = watched
    axe = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
    with Server(make_app(run_dir)) as server:
        page.goto(server.url + "/")
        page.wait_for_selector(".np-run-matrix")
        page.click('.np-run-thumb[data-index="0"]')
        page.wait_for_selector(".np-run-top3 li")
        page.add_script_tag(content=axe.read_text(encoding="utf-8"))
        found = page.evaluate("async () => (await axe.run(document)).violations.map((v) => "
                              "({ id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map((n) => n.html) }))")
        page.goto("about:blank")
    assert [v for v in found if v["impact"] in ("serious", "critical")] == []
    assert errors == []
