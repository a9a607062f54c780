"""`paramcalc import`: a spec from a PyTorch model (see trace.py for how it is read, paramcalc.importing for how
it is written)."""

from __future__ import annotations

import json
from typing import Any

from ..errors import SpecError
from ..importing.spec_text import write_spec
from .against import build_on_meta
from .trace import trace


def import_model(model_path: str, input_shape: tuple, *, kwargs: dict[str, Any] | None = None,
                 name: str | None = None, custom: tuple[str, ...] = ()) -> str:
    """The YAML text of a spec for the model at `model_path`, traced at `input_shape` (one sample)."""
    import torch

    model = build_on_meta(model_path, kwargs)
    try:
        traced = trace(model, tuple(input_shape), torch.float32, custom=frozenset(custom))
    except SpecError as first:  # a model that starts with an embedding reads token ids
        try:
            traced = trace(model, tuple(input_shape), torch.int64, custom=frozenset(custom))
        except SpecError:
            raise first from None
    if traced.unsupported:
        listed = "\n".join(f"  - {item}" for item in traced.unsupported)
        raise SpecError(f"paramcalc has no layer kind for {len(traced.unsupported)} part(s) of {model_path}:\n{listed}",
                        hint="paramcalc counts nothing it cannot read: import again with --custom NAME for each "
                             "module class or function, and fill in the MACs of the 'custom' layers it writes")
    classes = {path: type(module).__name__ for path, module in model.named_modules()}
    source = model_path + (f" with {json.dumps(kwargs)}" if kwargs else "")
    spec_name = name or model_path.replace(":", ".").rsplit(".", 1)[-1]
    header = [f"Imported by paramcalc from {source}, traced at input {'x'.join(map(str, input_shape))}.",
              "Layer names are the model's own module names; check the spec against the model with",
              f"  paramcalc verify SPEC --against {model_path}"]
    return write_spec(traced, classes, spec_name, header, tuple(input_shape))
