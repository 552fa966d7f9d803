"""The lecture view in a notebook: an anywidget whose front-end is the web app's own dom.js + lecture.js.

The state (sizes, activation, loss, seed, strict, values, step, param) lives in traitlets synced
with the browser. The page asks for computations with custom messages; this side answers with
api.py's functions (the same ones the server calls) and puts the result in the ``lecture`` trait.
Setting a state trait from Python recomputes too, so ``w.values = …`` or ``w.step = 3`` show at once.
"""

from __future__ import annotations

import anywidget
import traitlets

from . import api
from .bundle import widget_bundle, widget_css
STATE_TRAITS = ("sizes", "activation", "loss", "seed", "strict", "values")


class LectureWidget(anywidget.AnyWidget):
    """The live lecture for one network and example.

    Traits (synced with the page): sizes [d, …, c]; activation; loss; seed; strict; values
    {"x": (d,), "y": label or (c,), "weights": [(m_l, m_{l-1}), …], "biases": [(m_l,), …]}; step (the
    step shown, 0-based); param (the parameter whose chain the backward steps follow); lecture
    (api.lecture's dict for the current state, read-only in spirit); error (the last refusal, or "").
    """

    _esm = widget_bundle()
    _css = widget_css()

    sizes = traitlets.List(traitlets.Int(), default_value=[2, 2, 3]).tag(sync=True)
    activation = traitlets.Unicode("relu").tag(sync=True)
    loss = traitlets.Unicode("cross_entropy").tag(sync=True)
    seed = traitlets.Int(api.DEFAULT_SEED).tag(sync=True)
    strict = traitlets.Bool(False).tag(sync=True)
    values = traitlets.Dict().tag(sync=True)
    step = traitlets.Int(0).tag(sync=True)
    param = traitlets.Unicode("W1").tag(sync=True)
    lecture = traitlets.Dict().tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    request_timeout = traitlets.Float(30.0).tag(sync=True)     # seconds the page waits for an answer

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.on_msg(self._on_custom_message)
        self.observe(self._on_state_change, names=list(STATE_TRAITS))
        self._recompute()

    @classmethod
    def from_network(cls, net, x, y, strict=False):
        """The widget for net's parameters on the example (x, y); see netprop.explain."""
        import numpy as np

        raw = {"sizes": list(net.layer_sizes), "activation": net.activation, "loss": net.loss_name,
               "strict": strict, "x": np.asarray(x, dtype=float).tolist(),
               "y": y if np.ndim(y) == 0 else np.asarray(y, dtype=float).tolist(),
               "weights": [W.tolist() for W in net.weights], "biases": [b.tolist() for b in net.biases]}
        if raw["loss"] == "cross_entropy" and np.ndim(y) == 0:
            raw["y"] = int(y)
        state = api.parse_state(raw)          # a bad net/x/y raises here, as derive would, not in the page
        return cls(**_traits_of(state))

    def __repr__(self):
        """The text/plain form (a terminal, a notebook without the widget's front-end): what it shows."""
        lec = self.lecture
        if not lec:
            return f"<LectureWidget: no lecture ({self.error or 'not computed'})>"
        sizes = "-".join(map(str, self.sizes))
        n_forward = len(lec["steps"]["forward"])
        walk = lec["steps"]["forward"] + lec["steps"]["backward"].get(self.param, [])
        step = walk[min(self.step, len(walk) - 1)]
        phase = "forward" if self.step < n_forward else f"backward for {self.param}"
        return (f"<LectureWidget: {sizes} {self.activation} network, {self.loss}, f = "
                f"{lec['derivation']['forward']['loss']:.6g}; step {self.step + 1} of {len(walk)} ({phase}): "
                f"{step['title']}>")

    def state(self):
        """The api.State these traits describe (raises api.ApiError if they describe none)."""
        return api.parse_state({"sizes": self.sizes, "activation": self.activation, "loss": self.loss,
                                "seed": self.seed, "strict": self.strict, **self.values})

    def _recompute(self):
        try:
            lecture = api.lecture(self.state())
        except ValueError as exc:              # ApiError, or netprop refusing the values
            self.error = str(exc).splitlines()[0]
            return
        with self.hold_sync():
            self.error = ""
            self.lecture = lecture

    def _on_state_change(self, change):
        if not getattr(self, "_applying", False):
            self._recompute()

    def _apply(self, state):
        """Set every state trait at once, then compute once."""
        self._applying = True
        try:
            with self.hold_trait_notifications(), self.hold_sync():
                for name, value in _traits_of(state).items():
                    setattr(self, name, value)
        finally:
            self._applying = False
        self._recompute()

    def _on_custom_message(self, widget, content, buffers):
        """Requests from lecture.js: {"type": "request", "id", "kind": state | sgd | export, "payload"}."""
        if not isinstance(content, dict) or content.get("type") != "request":
            return
        try:
            reply = {"ok": True, **self.answer(content.get("kind"), content.get("payload"))}
        except ValueError as exc:
            reply = {"ok": False, "error": str(exc).splitlines()[0]}
        self.send({**reply, "type": "response", "id": content.get("id")})     # type last: nothing overwrites it

    def answer(self, kind, payload):
        """What the page asked for; updates the traits for "state" and "sgd". Returns the reply's fields."""
        if kind == "state":
            self._apply(api.parse_state(payload))
            return {}
        if kind in ("sgd", "export"):
            if not isinstance(payload, dict):
                raise api.ApiError(f"{kind} needs a JSON object with the state")
            state = api.parse_state(payload.get("state"))
            if kind == "sgd":
                new, summary = api.sgd_step(state, payload.get("lr", 0.1))
                self._apply(new)
                return {"sgd": summary}
            text, media, ext = api.export(state, payload.get("format", "text"))
            # "media", not "type": the reply's own "type" is "response", and the page drops anything else
            return {"text": text, "media": media, "ext": ext}
        raise api.ApiError(f"unknown request {kind!r}")


def _traits_of(state):
    d = state.to_dict()
    return {"sizes": d["sizes"], "activation": d["activation"], "loss": d["loss"], "seed": d["seed"],
            "strict": d["strict"],
            "values": {k: d[k] for k in ("x", "y", "weights", "biases")}}
