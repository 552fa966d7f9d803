"""The notebook widget's front-end as one ES module, built from the files the web app serves.

anywidget takes a single module as ``_esm``; the page loads dom.js and lecture.js as two. The
bundle is those files joined in order, each with its imports of sibling modules (``import … from
"./x.js";``, one line each) left out: every name they import is then defined earlier in the same
module. The app serves the same bytes at /widget.js, so a test can load exactly what the widget ships.
"""

from __future__ import annotations

import re
from pathlib import Path

STATIC = Path(__file__).parent / "static"
WIDGET_MODULES = ("dom.js", "lecture.js")       # a module before the modules that import it
_SIBLING_IMPORT = re.compile(r'^import \{[^}]*\} from "\./[\w-]+\.js";\n', re.MULTILINE)


def module_body(name):
    """The text of static/name without its imports of sibling modules."""
    return _SIBLING_IMPORT.sub("", (STATIC / name).read_text(encoding="utf-8"))


def widget_bundle():
    """The widget's ES module: WIDGET_MODULES' bodies, joined, each headed by a comment naming its file."""
    return "".join(f"// ---- {name} ----\n{module_body(name)}" for name in WIDGET_MODULES)
