"""Receptive fields, after Araujo, Norris and Sim, "Computing Receptive Fields of CNNs" (Distill, 2019).

For one output unit we track, per spatial axis (height, width): the field's size `r`, the
effective stride `j` (how far the field moves on the input when the unit moves by one),
and the effective padding `p` (how far the field of unit 0 starts before the input's
first pixel). A layer with kernel k, stride s and padding q maps (r, j, p) to
(r + (k - 1) j, j s, p + q j). Several paths meet at add/concat/mul: the field is the
union of the paths' fields, and paths whose centres differ are flagged, not hidden.
"""

from __future__ import annotations

from collections import namedtuple

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from .dims import Dim

    Pair = tuple[Dim, Dim]


class Window(namedtuple("Window", "kernel stride padding")):
    """What one layer contributes: kernel (after dilation), stride and padding before, per axis."""

    __slots__ = ()

    @classmethod
    def whole(cls, size: Pair) -> "Window":
        """A layer that reads the whole map at once (global pooling, a linear layer on a flattened map)."""
        return cls(size, size, (0, 0))


class Field(namedtuple("Field", "size stride padding map_size aligned is_global", defaults=(True, False))):
    """The receptive field of one unit of a layer's output, on the model's input (a tuple: cheap to make).

    size, stride, padding: per axis (height, width). map_size: the spatial size of the map the unit sits
    on, kept through flatten. aligned: False when merged paths' centres differ. is_global: True once a
    layer has read its whole input map.
    """

    __slots__ = ()

    @classmethod
    def of_input(cls, shape: tuple) -> "Field | None":
        """A model input's own field: one pixel; None for an input without height and width."""
        return cls((1, 1), (1, 1), (0, 0), (shape[1], shape[2])) if len(shape) == 3 else None

    def through(self, window: Window, map_size: Pair, reads_whole_map: bool = False) -> "Field":
        (r0, r1), (j0, j1), (p0, p1) = self.size, self.stride, self.padding
        (k0, k1), (s0, s1), (q0, q1) = window.kernel, window.stride, window.padding
        return Field((r0 + (k0 - 1) * j0, r1 + (k1 - 1) * j1), (j0 * s0, j1 * s1), (p0 + q0 * j0, p1 + q1 * j1),
                     map_size, self.aligned, self.is_global or reads_whole_map)

    def with_map(self, map_size: Pair) -> "Field":
        return Field(self.size, self.stride, self.padding, map_size, self.aligned, self.is_global)


def merge(fields: list[Field], map_size: Pair) -> Field:
    """The union of several paths' fields for the same output unit."""
    first = fields[0]
    if len(fields) == 1:
        return first.with_map(map_size)
    # unit 0's field on each axis spans [-padding, -padding + size - 1]
    start = [min(-f.padding[axis] for f in fields) for axis in (0, 1)]
    end = [max(f.size[axis] - 1 - f.padding[axis] for f in fields) for axis in (0, 1)]
    centre = (first.size[0] - 1 - 2 * first.padding[0], first.size[1] - 1 - 2 * first.padding[1])
    aligned = all(f.aligned and f.stride == first.stride
                  and (f.size[0] - 1 - 2 * f.padding[0], f.size[1] - 1 - 2 * f.padding[1]) == centre for f in fields)
    return Field((end[0] - start[0] + 1, end[1] - start[1] + 1),
                 (max(f.stride[0] for f in fields), max(f.stride[1] for f in fields)), (-start[0], -start[1]),
                 map_size, aligned, any(f.is_global for f in fields))
