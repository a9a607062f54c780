"""A layer paramcalc has no kind for, described by its figures: `custom: {params: ..., macs: ..., out: [...]}`."""

from __future__ import annotations

from typing import Any

from ..dims import Dim, Shape
from .base import LayerKind, TorchCall, register
from .fields import Int, Numbers, SpecField


@register
class Custom(LayerKind):
    follows_positions = False  # what it reads of its input is not stated
    kind = "custom"
    torch_name = "none: the spec states the figures (paramcalc verify and export refuse it)"
    summary = "a layer paramcalc has no kind for, described by its parameters, MACs and output shape"
    flops_formula = "as given (2·MACs when left out)"
    fields = (SpecField("out", Numbers("sizes", minimum=1), doc="the output shape, per sample"),
              SpecField("params", Int(minimum=0), 0),
              SpecField("buffers", Int(minimum=0), 0),
              SpecField("macs", Int(minimum=0), 0, doc="multiply-accumulates per sample"),
              SpecField("flops", Int(minimum=0), None, doc="per sample; left out: 2·MACs"))
    max_inputs = 1_000

    def __init__(self, **values: Any) -> None:
        # the figures are stored beside the methods of the same names
        self.params_count, self.buffers_count = values.pop("params"), values.pop("buffers")
        self.macs_count, self.flops_count = values.pop("macs"), values.pop("flops")
        super().__init__(**values)

    def settings(self) -> str:
        figures = [f"out={list(self.out)}", f"params={self.params_count}", f"buffers={self.buffers_count}",
                   f"macs={self.macs_count}"]
        return ", ".join(figures + ([f"flops={self.flops_count}"] if self.flops_count is not None else []))

    def output_shape(self, inputs: list[Shape]) -> Shape:
        return tuple(self.out)

    def params(self, inputs: list[Shape]) -> Dim:
        return self.params_count

    def buffers(self, inputs: list[Shape]) -> Dim:
        return self.buffers_count

    def macs(self, inputs: list[Shape], output: Shape) -> Dim:
        return self.macs_count

    def flops(self, inputs: list[Shape], output: Shape) -> Dim:
        return 2 * self.macs_count if self.flops_count is None else self.flops_count

    def torch_call(self, inputs: list[Shape]) -> TorchCall:
        raise NotImplementedError("a custom layer has no PyTorch module: its figures are the spec's own")
