"""The notebook widget's front-end as one ES module and one style sheet, built from the files the web app serves.

anywidget takes a single module as ``_esm``; the page loads KaTeX (a classic script), dom.js and
lecture.js as three. The bundle is KaTeX's script run in a function scope that hands its export to
globalThis.katex (as the page's script tag does), then dom.js and lecture.js joined in order, each
with its imports of sibling modules (``import … from "./x.js";``, one line each) left out: every name
they import is then defined earlier in the same module. The style sheet is KaTeX's with its fonts
inlined (a notebook serves no files of ours) and explain.css after it. The app serves the same bytes
at /widget.js and /widget.css, so a test can load exactly what the widget ships.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

STATIC = Path(__file__).parent / "static"
WIDGET_MODULES = ("dom.js", "lecture.js")       # a module before the modules that import it
_SIBLING_IMPORT = re.compile(r'^import \{[^}]*\} from "\./[\w-]+\.js";\n', re.MULTILINE)


def module_body(name):
    """The text of static/name without its imports of sibling modules."""
    return _SIBLING_IMPORT.sub("", (STATIC / name).read_text(encoding="utf-8"))


KATEX = STATIC / "vendored" / "katex"
_FONT_FACE_SRC = re.compile(r"src:url\(fonts/([\w-]+)\.woff2\) format\(\"woff2\"\)[^;}]*")


def katex_prelude():
    """KaTeX's UMD build run where it sees a CommonJS module object, its export set as globalThis.katex."""
    umd = (KATEX / "katex.min.js").read_text(encoding="utf-8")
    return ("// ---- vendored/katex/katex.min.js (KaTeX 0.19.1, MIT) ----\n(() => {\n"
            "const module = { exports: {} }, exports = module.exports;\n" + umd +
            "\nglobalThis.katex = globalThis.katex || module.exports.default || module.exports;\n})();\n")


def widget_bundle():
    """The widget's ES module: KaTeX's prelude, then WIDGET_MODULES' bodies, each headed by its file's name."""
    return katex_prelude() + "".join(f"// ---- {name} ----\n{module_body(name)}" for name in WIDGET_MODULES)


def _inline_font(match):
    font = base64.b64encode((KATEX / "fonts" / f"{match.group(1)}.woff2").read_bytes()).decode("ascii")
    return f'src:url(data:font/woff2;base64,{font}) format("woff2")'


def widget_css():
    """The widget's style sheet: KaTeX's with each font as a data: URL (woff2 only), then explain.css unchanged."""
    katex = _FONT_FACE_SRC.sub(_inline_font, (KATEX / "katex.min.css").read_text(encoding="utf-8"))
    return f"/* KaTeX 0.19.1 (MIT), fonts inlined */\n{katex}\n" + (STATIC / "explain.css").read_text(encoding="utf-8")
