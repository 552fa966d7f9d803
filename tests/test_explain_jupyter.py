"""The notebook widget in a real JupyterLab 4 and a real Notebook 7, started here on 127.0.0.1 and
driven by Playwright on Debian's Chromium: run the cell, step, edit, export, press x and m inside
the widget (the cell survives), the dark theme legible, a restarted kernel gives the message.

The kernel is this Python with this checkout first on its path, so it imports the netprop under test.
"""

import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

# Looked for, not imported: nbformat's import alone (jsonschema's format checkers) costs seconds that
# every `pytest -m "not slow"` would pay at collection for a module whose tests are all slow.
for _name in ("playwright", "pytest_playwright", "anywidget", "nbformat", "jupyterlab", "notebook", "ipykernel"):
    if importlib.util.find_spec(_name) is None:
        pytest.skip(f"could not import {_name!r}", allow_module_level=True)

from test_explain_browser import browser_type_launch_args  # noqa: E402, F401  (Debian's Chromium)
from test_explain_geometry import contrast  # noqa: E402

pytestmark = pytest.mark.slow

SRC = Path(__file__).resolve().parents[1] / "src"
ARTIFACTS = Path(__file__).parent / "artifacts" / "jupyter"
TOKEN = "netprop-test-token"
CELL = """import numpy as np
import netprop
net = netprop.Network([2, 2, 3], seed=7)
w = netprop.explain(net, np.array([0.25, 0.79]), 1)
w.request_timeout = 4
w"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class JupyterServer:
    """`jupyter lab` or `jupyter notebook` on 127.0.0.1 in a folder of its own, with its own settings."""

    def __init__(self, app, folder, theme="JupyterLab Light"):
        self.port, self.folder = free_port(), folder
        settings = folder / "settings" / "@jupyterlab" / "apputils-extension"
        settings.mkdir(parents=True)
        (settings / "themes.jupyterlab-settings").write_text(json.dumps({"theme": theme}))
        env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
               "JUPYTER_CONFIG_DIR": str(folder / "config"), "JUPYTER_RUNTIME_DIR": str(folder / "runtime"),
               "JUPYTERLAB_SETTINGS_DIR": str(folder / "settings"),
               "JUPYTERLAB_WORKSPACES_DIR": str(folder / "workspaces")}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyter", app, "--no-browser", "--ip=127.0.0.1", f"--port={self.port}",
             f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={folder}", "--ServerApp.open_browser=False",
             "--allow-root",                       # a container's tests run as root; the server is on 127.0.0.1
             "--LabApp.extension_manager=readonly"],   # no extension listing fetched from PyPI
            env=env, stdout=subprocess.DEVNULL, stderr=open(folder / "server.log", "w"))
        deadline = time.time() + 90
        while True:
            try:
                self.api("GET", "/api/status")
                break
            except OSError:
                assert self.process.poll() is None and time.time() < deadline, (folder / "server.log").read_text()
                time.sleep(0.3)

    def api(self, method, path, body=None):
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", method=method,
                                         data=None if body is None else json.dumps(body).encode(),
                                         headers={"Authorization": f"token {TOKEN}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"null")

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}?token={TOKEN}"

    def close(self):
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def write_notebook(folder):
    import nbformat

    nb = nbformat.v4.new_notebook()
    check = "print(w.step, w.param, w.values['weights'][0][0][1])"
    nb.cells = [nbformat.v4.new_code_cell(CELL), nbformat.v4.new_code_cell(check)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, folder / "lecture.ipynb")


@pytest.fixture
def jupyter(tmp_path):
    if not shutil.which("chromium") and not os.path.exists("/usr/bin/chromium"):
        pytest.skip("Chromium is not installed")
    servers = []

    def start(app, theme="JupyterLab Light"):
        folder = tmp_path / f"{app}-{len(servers)}"
        folder.mkdir()
        write_notebook(folder)
        servers.append(JupyterServer(app, folder, theme))
        return servers[-1]
    yield start
    for server in servers:
        server.close()


def run_first_cell(page):
    """Run the widget's cell and wait for the lecture; again if the notebook was not ready for the keys yet."""
    page.wait_for_selector(".jp-Notebook .jp-Cell .cm-content", timeout=60000)
    for attempt in range(4):
        page.click(".jp-Notebook .jp-Cell >> nth=0 >> .cm-content")
        page.keyboard.press("Shift+Enter")
        try:
            page.wait_for_function("() => document.querySelector('.np-lecture')?.dataset.revision >= 1",
                                   timeout=30000)
            return
        except Exception:
            if attempt == 3:
                raise


def run_check_cell(page):
    """Run the second cell (it prints w.step, w.param and W1[0, 1]) and return what it printed."""
    before = page.locator(".jp-Notebook .jp-Cell >> nth=1 >> .jp-OutputArea-output").count()
    page.click(".jp-Notebook .jp-Cell >> nth=1 >> .cm-content")
    page.keyboard.press("Shift+Enter")
    output = page.locator(".jp-Notebook .jp-Cell >> nth=1 >> .jp-OutputArea-output")
    page.wait_for_function(f"() => document.querySelectorAll('.jp-Notebook .jp-Cell')[1]"
                           f".querySelectorAll('.jp-OutputArea-output').length > {before - 1} && "
                           f"document.querySelectorAll('.jp-Notebook .jp-Cell')[1].querySelector("
                           f"'.jp-OutputArea-output')?.textContent.trim()", timeout=30000)
    return output.last.inner_text().strip()


def revision(page):
    return int(page.eval_on_selector(".np-lecture", "e => e.dataset.revision"))


def wait_for_update(page, before, timeout=30000):
    page.wait_for_function(f"() => document.querySelector('.np-lecture').dataset.revision > {before}", timeout=timeout)


def test_the_widget_in_jupyterlab(jupyter, browser):
    lab = jupyter("lab")
    context = browser.new_context(viewport={"width": 1366, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.goto(lab.url("/lab/tree/lecture.ipynb"))
    run_first_cell(page)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / "lab-light.png")
    cells = page.locator(".jp-Notebook .jp-Cell").count()
    # step on the page: the kernel's widget follows
    page.click(".np-lecture .np-stepper[id^='np-next']")
    page.click(".np-lecture .np-stepper[id^='np-next']")
    assert page.text_content(".np-lecture .np-counter").startswith("step 3 of 13")
    # edit W1[0, 1] on the page: the kernel computes, the page shows its answer
    before = revision(page)
    page.click('.np-lecture button[data-q="W1.0.1"]')
    page.fill(".np-lecture input.np-edit", "0.5")
    page.keyboard.press("Enter")
    wait_for_update(page, before)
    assert page.text_content('.np-lecture button[data-q="W1.0.1"]') == "0.5"
    # keys pressed inside the widget stay there: x would cut the cell, m make it Markdown
    page.focus(".np-lecture")
    for key in ("x", "m", "Escape", "x", "d", "d"):
        page.keyboard.press(key)
    assert page.locator(".jp-Notebook .jp-Cell").count() == cells
    assert page.locator(".jp-Notebook .jp-Cell >> nth=0").get_attribute("class").count("jp-CodeCell") == 1
    assert run_check_cell(page) == "2 W1 0.5"
    # export answers (its reply once lost its "response" type and the page waited for ever)
    page.select_option(".np-lecture select[id^='np-format']", "markdown")
    with page.expect_download(timeout=30000) as download:
        page.click(".np-lecture button[id^='np-export']")
    assert "$$" in Path(download.value.path()).read_text()
    # a restarted kernel: the next edit says so instead of hanging
    kernel = lab.api("GET", "/api/sessions")[0]["kernel"]["id"]
    lab.api("POST", f"/api/kernels/{kernel}/restart")
    before = revision(page)
    page.click('.np-lecture button[data-q="W1.0.0"]')
    page.fill(".np-lecture input.np-edit", "0.25")
    page.keyboard.press("Enter")
    wait_for_update(page, before, timeout=20000)
    assert page.text_content(".np-lecture .np-error") == "the kernel did not answer: re-run the cell"
    page.screenshot(path=ARTIFACTS / "lab-restarted.png")
    context.close()


def test_the_widget_in_jupyterlabs_dark_theme(jupyter, browser):
    lab = jupyter("lab", theme="JupyterLab Dark")
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.goto(lab.url("/lab/tree/lecture.ipynb"))
    run_first_cell(page)
    assert page.eval_on_selector("body", "b => b.dataset.jpThemeLight") == "false"
    page.click(".np-lecture .np-stepper[id^='np-next']")
    colours = page.evaluate("""() => {
      const css = (sel, prop) => getComputedStyle(document.querySelector(sel))[prop];
      return { pane: css('.np-lecture .np-step', 'backgroundColor'),
               title: css('.np-lecture .np-step-title', 'color'),
               node: css('.np-lecture .np-node rect', 'fill'), nodeText: css('.np-lecture .np-node text', 'fill'),
               diagram: css('.np-lecture .np-diagram', 'backgroundColor'),
               layer: css('.np-lecture .np-layer-label', 'fill') };
    }""")
    page.screenshot(path=ARTIFACTS / "lab-dark.png")
    for text, ground in (("title", "pane"), ("nodeText", "node"), ("layer", "diagram")):
        assert contrast(colours[text], colours[ground]) >= 4.5, (text, ground, colours)
    assert max(int(v) for v in colours["pane"].replace("(", ",").replace(")", ",").split(",")[1:4]) < 80
    context.close()


def test_the_widget_in_notebook_7(jupyter, browser):
    nb7 = jupyter("notebook")
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.goto(nb7.url("/notebooks/lecture.ipynb"))
    run_first_cell(page)
    cells = page.locator(".jp-Notebook .jp-Cell").count()
    page.click(".np-lecture .np-stepper[id^='np-next']")
    page.focus(".np-lecture")
    page.keyboard.press("x")
    page.keyboard.press("m")
    assert page.locator(".jp-Notebook .jp-Cell").count() == cells
    assert run_check_cell(page).startswith("1 W1 ")          # the step taken on the page reached the kernel
    page.screenshot(path=ARTIFACTS / "notebook7.png")
    context.close()
