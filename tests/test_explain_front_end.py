"""The front-end's shape (issue 20): named functions over one DOM helper module, none of them long."""

import re
from pathlib import Path

STATIC = Path(__file__).resolve().parents[1] / "src" / "netprop" / "explain" / "static"
MAX_LINES = 150


def top_level_functions(text):
    """(name, lines) of each top-level function declaration: from its line to the closing brace at column 0."""
    out, name, start = [], None, 0
    for number, line in enumerate(text.splitlines(), 1):
        found = re.match(r"(?:export )?(?:default )?(?:async )?function\*? ?(\w*)\s*\(", line)
        if found and name is None:
            name, start = found.group(1) or "(anonymous)", number
            if line.rstrip().endswith("}"):           # a one-line function
                out.append((name, 1))
                name = None
        elif name is not None and line.startswith("}"):
            out.append((name, number - start + 1))
            name = None
    return out


def test_no_front_end_function_is_longer_than_150_lines():
    lengths = {f"{path.name}:{name}": n for path in STATIC.glob("*.js")
               for name, n in top_level_functions(path.read_text(encoding="utf-8"))}
    assert "lecture.js:mountLecture" in lengths and "run.js:mountRunView" in lengths
    assert max(lengths.values()) <= MAX_LINES, sorted(lengths.items(), key=lambda kv: -kv[1])[:3]


def test_one_dom_helper_module():
    # el() and svgEl() are defined once, in dom.js, and the views import them from there
    for path in STATIC.glob("*.js"):
        text = path.read_text(encoding="utf-8")
        defines = re.findall(r"^(?:export )?function (el|svgEl|svg|fmt|signedColour)\(", text, re.MULTILINE)
        assert defines == ([] if path.name != "dom.js" else ["el", "svgEl", "fmt", "signedColour"]), path.name
    for view in ("lecture.js", "run.js"):
        assert re.search(r'^import \{[^}]*\bel\b[^}]*\} from "\./dom\.js";$', (STATIC / view).read_text(), re.MULTILINE)


def test_the_length_rule_sees_a_long_function():
    body = "function big(a) {\n" + "  a += 1;\n" * 200 + "}\nexport async function small() {\n  return 1;\n}\n"
    assert top_level_functions(body) == [("big", 202), ("small", 3)]
