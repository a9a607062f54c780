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

from .dims import Dim

Pair = tuple[Dim, Dim]  # (height, width)


class Window(namedtuple("Window", "kernel stride padding")):
    """What one layer contributes: kernel (after dilation), stride and padding before, per axis."""

    __slots__ = ()

    @classmethod
    def whole(cls, size: Pair) -> "Window":
        """A layer that reads the whole map at once (global pooling, a linear layer on a flattened map)."""
        return cls(size, size, (0, 0))


class ReceptiveField(namedtuple("ReceptiveField", "size stride padding map_size aligned is_global axes",
                                defaults=(True, False, (1, 2)))):
    """The receptive field of one unit of a layer's output, on the model's input (a tuple: cheap to make).

    size, stride, padding: per axis (height, width). map_size: the spatial size of the map the unit sits
    on, kept through flatten. aligned: False when merged paths' centres differ. is_global: True once a
    layer has read its whole input map. axes: where the positions sit in the layer's output shape: (1, 2)
    for a channels-first map, (0, 1) channels-last, one axis once they are flattened into tokens or a vector.
    """

    __slots__ = ()

    @classmethod
    def of_input(cls, shape: tuple) -> "ReceptiveField | None":
        """A model input's own field: one pixel; None for an input without height and width."""
        return cls((1, 1), (1, 1), (0, 0), (shape[1], shape[2])) if len(shape) == 3 else None

    def through(self, window: Window, map_size: Pair, reads_whole_map: bool) -> "ReceptiveField":
        if reads_whole_map and self.is_global:  # each unit sees the whole input already: reading it again adds nothing
            return self._replace(map_size=map_size)
        (r0, r1), (j0, j1), (p0, p1), _, aligned, is_global, _ = self
        (k0, k1), (s0, s1), (q0, q1) = window
        return ReceptiveField((r0 + (k0 - 1) * j0, r1 + (k1 - 1) * j1), (j0 * s0, j1 * s1),
                              (p0 + q0 * j0, p1 + q1 * j1), map_size, aligned, is_global or reads_whole_map,
                              self.axes)

    @classmethod
    def global_on(cls, input_map: Pair, map_size: Pair | None) -> "ReceptiveField":
        """Every unit sees the whole input map, when the path to this layer was not tracked step by step: the
        field a window over the whole input map gives, on the layer's own map (None: a flat output)."""
        return cls(input_map, input_map, (0, 0), map_size or (1, 1), True, True, (1, 2) if map_size else (0,))




def merge(fields: list[ReceptiveField], map_size: Pair) -> ReceptiveField | None:
    """The union of several paths' fields (two or more) for the same output unit.

    Unit 0's field on each axis spans [-padding, -padding + size - 1]; the union spans from the
    earliest start to the latest end. Written out per axis, with `if` rather than min() and max() (which
    cost more here): this runs at every residual add. Operands of another resolution (a C x 1 x 1 gate
    broadcast over the map) go to `merge_broadcast`."""
    first = fields[0]
    for field in fields:
        if field[3] != map_size and _broadcast(field, map_size):
            return merge_broadcast(fields, map_size)
    (r0, r1), stride, (p0, p1), _, aligned, is_global, axes = first
    start0, start1, end0, end1 = -p0, -p1, r0 - 1 - p0, r1 - 1 - p1
    centre0, centre1 = r0 - 1 - 2 * p0, r1 - 1 - 2 * p1
    j0, j1 = stride
    for index in range(1, len(fields)):
        (t0, t1), other_stride, (q0, q1), _, other_aligned, other_global, _ = fields[index]
        if -q0 < start0:
            start0 = -q0
        if -q1 < start1:
            start1 = -q1
        if t0 - 1 - q0 > end0:
            end0 = t0 - 1 - q0
        if t1 - 1 - q1 > end1:
            end1 = t1 - 1 - q1
        k0, k1 = other_stride
        if k0 > j0:
            j0 = k0
        if k1 > j1:
            j1 = k1
        aligned = aligned and other_aligned and other_stride == stride and t0 - 1 - 2 * q0 == centre0 \
            and t1 - 1 - 2 * q1 == centre1
        is_global = is_global or other_global
    return ReceptiveField((end0 - start0 + 1, end1 - start1 + 1), (j0, j1), (-start0, -start1), map_size,
                          aligned, is_global, axes)


def merge_broadcast(fields: list[ReceptiveField], map_size: Pair) -> ReceptiveField | None:
    """The union of the fields where some operands are broadcast along an axis (their map is 1 there and the
    output's is not), as a squeeze-and-excitation gate is multiplied back into its map.

    Every output unit reads the same unit of a broadcast operand, so that operand's field does not move
    with the unit: the stride and padding are those of the full-resolution operands, and the size is the
    union's span at unit 0. A global gate makes every unit global (each sees the whole input). A gate that
    is not global (pooled over one axis only, or a strided convolution down to 1 x 1) adds the same fixed
    window to every unit's moving one: no size, stride and padding describe that, so it is not followed."""
    broadcast = [field for field in fields if _broadcast(field, map_size)]
    if not all(field.is_global for field in broadcast):
        return None
    sizes, strides, paddings = [], [], []
    aligned = all(field.aligned for field in fields)
    # the field moves with the operands broadcast along no axis (on an axis where every map is 1 as well)
    moving = [field for field in fields if field not in broadcast] or fields
    for axis in (0, 1):
        start = min(-field.padding[axis] for field in fields)
        end = max(field.size[axis] - 1 - field.padding[axis] for field in fields)
        sizes.append(end - start + 1)
        strides.append(max(field.stride[axis] for field in moving))
        paddings.append(max(field.padding[axis] for field in moving))
        centres = {field.size[axis] - 1 - 2 * field.padding[axis] for field in moving}
        aligned = aligned and len(centres) == 1 and len({field.stride[axis] for field in moving}) == 1
    # a broadcast operand is global (or the merge was not followed above), so every unit sees the whole input
    return ReceptiveField(tuple(sizes), tuple(strides), tuple(paddings), map_size, aligned, True, fields[0].axes)


def _broadcast(field: ReceptiveField, map_size: Pair) -> bool:
    """Whether the operand is broadcast along an axis of the output's map. (Maps that differ otherwise are the
    same size written two ways, as ceil(H/2) and floor(H/2) where H must be even.)"""
    return any(field.map_size[axis] == 1 != map_size[axis] for axis in (0, 1))
