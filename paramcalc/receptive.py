"""Receptive fields, after Araujo, Norris and Sim, "Computing Receptive Fields of CNNs" (Distill, 2019).

For one output unit we track, per spatial axis (height, width): the field's size `r`, the
effective stride `j` (how far the field moves on the input when the unit moves by one),
and the effective padding `p` (how far the field of unit 0 starts before the input's
first pixel). A layer with kernel k, stride s and padding q maps (r, j, p) to
(r + (k - 1) j, j s, p + q j). Several paths meet at add/concat/mul: the field is the
union of the paths' fields, and paths whose centres differ are flagged, not hidden.
"""

from __future__ import annotations

from dataclasses import dataclass

from .dims import Dim

Pair = tuple[Dim, Dim]


@dataclass(frozen=True)
class Window:
    """What one layer contributes: kernel (after dilation), stride and padding before, per axis."""

    kernel: Pair
    stride: Pair
    padding: Pair

    @classmethod
    def whole(cls, size: Pair) -> "Window":
        """A layer that reads the whole map at once (global pooling, a linear layer on a flattened map)."""
        return cls(kernel=size, stride=size, padding=(0, 0))


@dataclass(frozen=True)
class Field:
    """The receptive field of one unit of a layer's output, on the model's input."""

    size: Pair
    stride: Pair
    padding: Pair
    map_size: Pair  # spatial size of the map the unit sits on; kept through flatten
    aligned: bool = True  # False when merged paths' centres differ
    is_global: bool = False  # True once a layer has read its whole input map

    @classmethod
    def of_input(cls, height: Dim, width: Dim) -> "Field":
        return cls(size=(1, 1), stride=(1, 1), padding=(0, 0), map_size=(height, width))

    def through(self, window: Window, map_size: Pair, reads_whole_map: bool = False) -> "Field":
        size = tuple(r + (k - 1) * j for r, k, j in zip(self.size, window.kernel, self.stride))
        stride = tuple(j * s for j, s in zip(self.stride, window.stride))
        padding = tuple(p + q * j for p, q, j in zip(self.padding, window.padding, self.stride))
        return Field(size, stride, padding, map_size, self.aligned,  # type: ignore[arg-type]
                     self.is_global or reads_whole_map)

    def with_map(self, map_size: Pair) -> "Field":
        return Field(self.size, self.stride, self.padding, map_size, self.aligned, self.is_global)


def merge(fields: list[Field], map_size: Pair) -> Field:
    """The union of several paths' fields for the same output unit."""
    if len(fields) == 1:
        return fields[0].with_map(map_size)
    starts = [tuple(-p for p in f.padding) for f in fields]
    ends = [tuple(-p + r - 1 for p, r in zip(f.padding, f.size)) for f in fields]
    start = tuple(min(s[axis] for s in starts) for axis in range(2))
    end = tuple(max(e[axis] for e in ends) for axis in range(2))
    size = tuple(e - s + 1 for s, e in zip(start, end))
    stride = tuple(max(f.stride[axis] for f in fields) for axis in range(2))
    centres = {tuple(2 * s + r - 1 for s, r in zip(st, f.size)) for st, f in zip(starts, fields)}
    strides = {f.stride for f in fields}
    aligned = all(f.aligned for f in fields) and len(centres) == 1 and len(strides) == 1
    return Field(size, stride, tuple(-s for s in start), map_size,  # type: ignore[arg-type]
                 aligned, any(f.is_global for f in fields))
