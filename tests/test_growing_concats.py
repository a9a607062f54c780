"""DenseNet's growing concatenations, as an import rewrites them (paramcalc.importing.layers.growing_concats): each
concatenation of every map so far reads the one before it and the new map, and sits where the new map's layer
does. The imported models are in test_import.py (DenseNet-121); here the rule meets small lists written by hand."""

from __future__ import annotations

from paramcalc.importing.layers import Op, growing_concats


def op(kind: str, inputs: list[int], scope: tuple[str, ...] = ()) -> Op:
    return Op(scope=scope, name=kind, kind=kind, settings={}, inputs=list(inputs))


def test_each_concatenation_of_every_map_so_far_reads_the_one_before_and_the_new_map():
    # 0 conv (the input -1 -> x1); 1 cat(x0, x1); 2 conv (-> x2); 3 cat(x0, x1, x2); 4 conv; 5 cat(x0, x1, x2, x3)
    ops = [op("conv", [-1], ("layer1",)), op("concat", [-1, 0]), op("conv", [1], ("layer2",)),
           op("concat", [-1, 0, 2]), op("conv", [3], ("layer3",)), op("concat", [-1, 0, 2, 4])]
    growing_concats(ops)
    assert [o.inputs for o in ops] == [[-1], [-1, 0], [1], [1, 2], [3], [3, 4]]
    # each ends the layer that made its new map, the first one included (its new map is op 0)
    assert [o.scope for o in ops] == [("layer1",), ("layer1",), ("layer2",), ("layer2",), ("layer3",), ("layer3",)]


def test_two_concatenations_grow_alike():
    ops = [op("conv", [-1], ("a",)), op("concat", [-1, 0], ("top",)), op("conv", [1], ("b",)),
           op("concat", [-1, 0, 2], ("top",))]
    growing_concats(ops)
    assert [o.inputs for o in ops] == [[-1], [-1, 0], [1], [1, 2]]
    assert [o.scope for o in ops] == [("a",), ("a",), ("b",), ("b",)]


def test_a_concatenation_that_is_not_growing_is_left_alone():
    # cat(x, y) and cat(p, q, r), unrelated: neither reads the other's maps, whatever their lengths
    ops = [op("conv", [-1], ("a",)), op("conv", [-1], ("b",)), op("concat", [0, 1], ("top",)),
           op("conv", [2], ("c",)), op("conv", [2], ("d",)), op("conv", [2], ("e",)),
           op("concat", [3, 4, 5], ("top",))]
    growing_concats(ops)
    assert [o.inputs for o in ops][2::4] == [[0, 1], [3, 4, 5]] and ops[2].scope == ops[6].scope == ("top",)


def test_a_growing_concatenation_away_from_its_new_map_keeps_its_place():
    # cat(x0, x1) right after x1's layer moves there; cat(x0, x1, x2) two ops after x2's layer stays where it is
    ops = [op("conv", [-1], ("a",)), op("concat", [-1, 0], ("top",)), op("conv", [1], ("b",)),
           op("relu", [1], ("c",)), op("concat", [-1, 0, 2], ("top",))]
    growing_concats(ops)
    assert ops[4].inputs == [1, 2] and ops[4].scope == ("top",) and ops[1].scope == ("a",)


def test_a_concatenation_whose_new_map_is_the_input_keeps_its_place():
    # cat(x, x) first, then cat(x, x, conv): the first one's new map is the input (-1), which no layer made
    ops = [op("concat", [-1, -1], ("top",)), op("conv", [0], ("a",)), op("concat", [-1, -1, 1], ("end",))]
    growing_concats(ops)
    assert [o.inputs for o in ops] == [[-1, -1], [0], [0, 1]]
    assert [o.scope for o in ops] == [("top",), ("a",), ("a",)]
