"""The lecture's derivation with real numbers: forward pass, Jacobian chains, backprop, a third witness.

compute.py computes every number once (a ``Derivation``) and document.py lays them out as one
ordered list of blocks in the lecture's order; text.py, tex.py (Markdown and LaTeX) and html.py
are renderers walking that list. inputs.py makes the inputs of `netprop derive`.
"""

from .compute import FORMATS, MAX_LAYERS, MAX_UNITS, Derivation, check_size, derive
from .inputs import ParamsError, load_params, seeded_inputs

__all__ = ["FORMATS", "MAX_LAYERS", "MAX_UNITS", "Derivation", "ParamsError", "check_size", "derive",
           "load_params", "seeded_inputs"]
