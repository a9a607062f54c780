"""How an import writes the uses of one module class as one block (paramcalc.importing.blocks), on layer trees
written by hand as the importers hand them over: a group per module call, named as the model names its modules,
with the module's class. Each expected spec text is written out here from the rules the importer documents (what
differs between uses is an argument; a container of uses is a `repeat` whose arguments follow `index`; uses that
cannot be one block stay written out); each spec that can run is analysed, and its parameters are counted by hand.
The importers' own tests (test_import*.py) meet the same rules through PyTorch and ONNX models."""

from __future__ import annotations

import pytest

import paramcalc
from paramcalc.importing.blocks import Expr, emit, settings_text
from paramcalc.importing.writer import Entry


def layer(name: str, kind: str, inputs: list[str] | None = None, **settings) -> Entry:
    return Entry(name=name, kind=kind, settings=settings, inputs=inputs or [])


def group(name: str, module_class: str, body: list[Entry], inputs: list[str] | None = None,
          train_only: bool = False) -> Entry:
    return Entry(name=name, kind="group", inputs=inputs or [], body=chained(body), module_class=module_class,
                 train_only=train_only)


def chained(entries: list[Entry]) -> list[Entry]:
    """Entries without inputs read the one before them (the first: the group's input)."""
    for position, entry in enumerate(entries):
        entry.inputs = entry.inputs or ["input" if position == 0 else entries[position - 1].name]
    return entries


def written(root: list[Entry]) -> str:
    tables_and_blocks, layers = emit(chained(root))
    return "\n".join(tables_and_blocks + ["layers:"] + layers)


def block_names(text: str) -> list[str]:
    return [line[2:-1] for line in text.splitlines() if line.startswith("  ") and line[2] != " " and line[-1] == ":"]


def analysed(root: list[Entry], input_shape: str):
    return paramcalc.analyze("name: imported\ninput: [" + input_shape + "]\n" + written(root) + "\n")


def conv_unit(name: str, out: int, stride: int = 1, module_class: str = "ConvUnit") -> Entry:
    return group(name, module_class, [layer("conv", "conv2d", out=out, kernel=3, stride=stride, padding=1, bias=False),
                                      layer("bn", "batchnorm"), layer("relu", "relu")])


def test_what_differs_between_two_uses_is_an_argument_and_each_use_gives_its_values():
    root = [conv_unit("first", 8), conv_unit("second", 16, stride=2)]
    assert written(root) == """\
blocks:
  conv_unit:
    args: {conv_out: ~, conv_stride: ~}
    layers:
      - {name: conv, conv2d: {out: conv_out, kernel: 3, stride: conv_stride, padding: 1, bias: false}}
      - {name: bn, batchnorm}
      - {name: relu, relu}
layers:
  - {name: first, conv_unit: {conv_out: 8, conv_stride: 1}}
  - {name: second, conv_unit: {conv_out: 16, conv_stride: 2}}"""
    # 3x3 convolutions without bias: 3*8*9 + 8*16*9; batch norms: 2 x (8 + 16) parameters
    assert analysed(root, "3, 16, 16").totals.params == 216 + 1152 + 48


@pytest.mark.parametrize("module_class, block", [
    ("_DenseLayer", "dense_layer"), ("InvertedResidual", "inverted_residual"), ("SE2Block", "se2_block"),
    ("__", "block"), ("Xception_", "xception"), ("Conv", "conv_block"), ("Linear", "linear_block"),
    ("Module", "module_block"), ("Output", "output_block")])  # a layer kind's name or a layer's key is taken
def test_a_block_is_named_after_its_class_and_never_after_a_layer_kind(module_class, block):
    root = [conv_unit("first", 8, module_class=module_class), conv_unit("second", 8, module_class=module_class)]
    lines = written(root).splitlines()
    assert lines[1] == f"  {block}:" and lines[-2:] == [f"  - {{name: first, {block}}}", f"  - {{name: second, {block}}}"]


def test_two_classes_of_one_block_name_get_two_names():
    root = [conv_unit("a", 8, module_class="ConvUnit"), conv_unit("b", 8, module_class="ConvUnit"),
            conv_unit("c", 4, module_class="_ConvUnit"), conv_unit("d", 4, module_class="_ConvUnit")]
    lines = written(root).splitlines()
    assert block_names(written(root)) == ["conv_unit", "conv_unit_block"]
    assert lines[-4:] == ["  - {name: a, conv_unit}", "  - {name: b, conv_unit}",
                          "  - {name: c, conv_unit_block}", "  - {name: d, conv_unit_block}"]


def test_a_class_used_once_is_a_group_and_containers_are_never_blocks():
    root = [conv_unit("only", 8),
            group("seq", "Sequential", [layer("relu", "relu")]), group("seq2", "Sequential", [layer("relu", "relu")])]
    assert written(root) == """\
layers:
  - name: only
    layers:
      - {name: conv, conv2d: {out: 8, kernel: 3, padding: 1, bias: false}}
      - {name: bn, batchnorm}
      - {name: relu, relu}
  - name: seq
    layers:
      - {name: relu, relu}
  - name: seq2
    layers:
      - {name: relu, relu}"""


# --- arguments -----------------------------------------------------------------------------------------------
def test_a_width_that_is_a_multiple_of_another_argument_is_written_as_one():
    # dw's width is 2 x expand's in every use; pw's is 16 x it where expand is 1 then 6 (a factor, from the value 1)
    root = [group("a", "Unit", [layer("c1", "conv2d", out=1, kernel=1), layer("c2", "conv2d", out=2, kernel=1),
                                layer("c3", "conv2d", out=16, kernel=1)]),
            group("b", "Unit", [layer("c1", "conv2d", out=6, kernel=1), layer("c2", "conv2d", out=12, kernel=1),
                                layer("c3", "conv2d", out=96, kernel=1)])]
    lines = written(root).splitlines()
    assert lines[2:6] == ["    args: {c1_out: ~}", "    layers:",
                          "      - {name: c1, conv2d: {out: c1_out, kernel: 1}}",
                          "      - {name: c2, conv2d: {out: 2 * c1_out, kernel: 1}}"]
    assert lines[6] == "      - {name: c3, conv2d: {out: 16 * c1_out, kernel: 1}}"
    # factors that differ between the uses (2 then 4), or of 2 from a fraction, are arguments of their own
    root = [group("a", "Unit", [layer("c1", "conv2d", out=8, kernel=1), layer("c2", "conv2d", out=16, kernel=1),
                                layer("drop", "dropout", p=0.1), layer("drop2", "dropout", p=0.2)]),
            group("b", "Unit", [layer("c1", "conv2d", out=16, kernel=1), layer("c2", "conv2d", out=64, kernel=1),
                                layer("drop", "dropout", p=0.2), layer("drop2", "dropout", p=0.4)])]
    lines = written(root).splitlines()
    assert lines[2] == "    args: {c1_out: ~, c2_out: ~, drop_p: ~, drop2_p: ~}"
    assert lines[-2:] == ["  - {name: a, unit: {c1_out: 8, c2_out: 16, drop_p: 0.1, drop2_p: 0.2}}",
                          "  - {name: b, unit: {c1_out: 16, c2_out: 64, drop_p: 0.2, drop2_p: 0.4}}"]


def test_a_layer_in_some_uses_only_is_written_with_if_and_its_absent_values_repeat_a_present_one():
    def unit(name: str, out: int, extra: int | None) -> Entry:
        body = [layer("conv", "conv2d", out=out, kernel=1)]
        body += [layer("extra", "conv2d", out=extra, kernel=1)] if extra else []
        return group(name, "Unit", body + [layer("act", "relu")])
    root = [unit("a", 8, None), unit("b", 16, 5), unit("c", 16, 7), unit("d", 32, 9), unit("e", 32, None)]
    assert written(root) == """\
blocks:
  unit:
    args: {conv_out: ~, with_extra: ~, extra_out: ~}
    layers:
      - {name: conv, conv2d: {out: conv_out, kernel: 1}}
      - {name: extra, conv2d: {out: extra_out, kernel: 1}, if: with_extra}
      - {name: act, relu}
layers:
  - {name: a, unit: {conv_out: 8, with_extra: false, extra_out: 5}}
  - {name: b, unit: {conv_out: 16, with_extra: true, extra_out: 5}}
  - {name: c, unit: {conv_out: 16, with_extra: true, extra_out: 7}}
  - {name: d, unit: {conv_out: 32, with_extra: true, extra_out: 9}}
  - {name: e, unit: {conv_out: 32, with_extra: false, extra_out: 9}}"""
    # 1x1 convolutions with bias: 3->8, 8->16->5, 5->16->7, 7->32->9, 9->32
    assert analysed(root, "3, 4, 4").totals.params == sum(
        a * b + b for a, b in [(3, 8), (8, 16), (16, 5), (5, 16), (16, 7), (7, 32), (32, 9), (9, 32)])


def test_an_argument_named_like_another_gets_a_number():
    # the slugs of 'a_b', the child 'b' of 'a', and 'a-b' are all a_b
    def unit(name: str, out: int) -> Entry:
        return group(name, "Unit", [layer("a_b", "conv2d", out=out, kernel=1),
                                    group("a", "Sequential", [layer("b", "conv2d", out=out + 1, kernel=1)]),
                                    layer("a-b", "conv2d", out=out + 3, kernel=1)])
    lines = written([unit("x", 4), unit("y", 5)]).splitlines()
    assert lines[2] == "    args: {a_b_out: ~, a_b_out_2: ~, a_b_out_3: ~}"
    assert lines[-2:] == ["  - {name: x, unit: {a_b_out: 4, a_b_out_2: 5, a_b_out_3: 7}}",
                          "  - {name: y, unit: {a_b_out: 5, a_b_out_2: 6, a_b_out_3: 8}}"]


@pytest.mark.parametrize("layer_name, argument", [("c1", "c1_out"), ("_hidden", "_hidden_out"), ("0", "layer0_out"),
                                                  ("3x3", "layer3x3_out"), ("conv.1", "conv_1_out")])
def test_an_argument_s_name_is_one_a_spec_can_use(layer_name, argument):
    root = [group(name, "Unit", [layer(layer_name, "conv2d", out=out, kernel=1)]) for name, out in (("x", 4), ("y", 8))]
    lines = written(root).splitlines()
    assert lines[2] == f"    args: {{{argument}: ~}}" and lines[-1] == f"  - {{name: y, unit: {{{argument}: 8}}}}"


# --- groups inside a block -----------------------------------------------------------------------------------
def residual(name: str, out: int, stride: int, projection: bool) -> Entry:
    """ResNet's BasicBlock, shortened: the projection where the width or the stride changes."""
    body = [layer("conv1", "conv2d", out=out, kernel=3, stride=stride, padding=1, bias=False),
            layer("bn1", "batchnorm"), layer("relu", "relu")]
    if projection:
        body.append(group("downsample", "Sequential", [layer("0", "conv2d", out=out, kernel=1, stride=stride,
                                                             bias=False), layer("1", "batchnorm")], ["input"]))
    body.append(layer("add", "add", ["relu", "downsample" if projection else "input"]))
    return group(name, "BasicBlock", body)


def test_a_group_in_some_uses_only_is_written_with_if_and_from_and_read_as_its_input_where_absent():
    root = [residual("a", 8, 1, False), residual("b", 16, 2, True), residual("c", 16, 1, False),
            residual("d", 32, 2, True)]
    # the projection's width is conv1's wherever it runs: the same argument; its stride is 2 wherever it runs
    assert written(root) == """\
blocks:
  basic_block:
    args: {conv1_out: ~, conv1_stride: ~, with_downsample: ~}
    layers:
      - {name: conv1, conv2d: {out: conv1_out, kernel: 3, stride: conv1_stride, padding: 1, bias: false}}
      - {name: bn1, batchnorm}
      - {name: relu, relu}
      - name: downsample
        if: with_downsample
        from: input
        layers:
          - {name: 0, conv2d: {out: conv1_out, kernel: 1, stride: 2, bias: false}}
          - {name: 1, batchnorm}
      - {name: add, add, from: [relu, downsample]}
layers:
  - {name: a, basic_block: {conv1_out: 8, conv1_stride: 1, with_downsample: false}}
  - {name: b, basic_block: {conv1_out: 16, conv1_stride: 2, with_downsample: true}}
  - {name: c, basic_block: {conv1_out: 16, conv1_stride: 1, with_downsample: false}}
  - {name: d, basic_block: {conv1_out: 32, conv1_stride: 2, with_downsample: true}}"""
    # 3x3 convolutions 8->8, 8->16, 16->16, 16->32; projections 8->16, 16->32; batch norms 2 x width, six
    analysis = analysed(root, "8, 8, 8")
    assert analysis.totals.params == 9 * (64 + 128 + 256 + 512) + 128 + 512 + 2 * (8 + 16 + 16 + 16 + 32 + 32)
    assert analysis.totals.output_shape == (32, 2, 2)


def test_a_group_that_runs_in_training_only_says_so_in_the_block():
    def unit(name: str, out: int) -> Entry:
        return group(name, "Stage", [layer("conv", "conv2d", out=out, kernel=1),
                                     group("aux", "AuxHead", [layer("fc", "linear", out=10)], ["conv"], train_only=True),
                                     layer("relu", "relu", ["conv"])])
    lines = written([unit("a", 4), unit("b", 8)]).splitlines()
    assert lines[5:10] == ["      - name: aux", "        train_only: true", "        layers:",
                           "          - {name: fc, linear: 10}", "      - {name: relu, relu, from: conv}"]


def test_a_layer_that_reads_another_than_the_one_before_it_says_from():
    def unit(name: str, out: int) -> Entry:
        return group(name, "Unit", [layer("conv", "conv2d", out=out, kernel=1), layer("act", "relu"),
                                    layer("sum", "add", ["act", "input"]), layer("gate", "sigmoid", ["conv"])])
    lines = written([unit("a", 4), unit("b", 4)]).splitlines()
    assert lines[3:7] == ["      - {name: conv, conv2d: {out: 4, kernel: 1}}", "      - {name: act, relu}",
                          "      - {name: sum, add, from: [act, input]}", "      - {name: gate, sigmoid, from: conv}"]


def test_marks_and_comments_are_written_in_the_block():
    def unit(name: str) -> Entry:
        body = [Entry(name="conv", kind="conv2d", settings={"out": 4, "kernel": 1}, module="Conv3DSimple"),
                Entry(name="relu", kind="relu", functional=True),
                Entry(name="attn", kind="custom", settings={"out": [4, 2, 2], "params": 10, "macs": 0},
                      comment="fill in the MACs")]
        return group(name, "Unit", body)
    lines = written([unit("a"), unit("b")]).splitlines()
    assert lines[3:6] == ["      - {name: conv, conv2d: {out: 4, kernel: 1}, module: Conv3DSimple}",
                          "      - {name: relu, relu, functional: true}",
                          "      - {name: attn, custom: {out: [4, 2, 2], params: 10, macs: 0}}  # fill in the MACs"]


# --- uses that cannot be one block -----------------------------------------------------------------------------
def unit_of(name: str, *entries: Entry) -> Entry:
    return group(name, "Unit", list(entries))


def is_block(root: list[Entry]) -> bool:
    return written(root).startswith("blocks:")


def conv(name: str = "conv", inputs: list[str] | None = None, **settings) -> Entry:
    return layer(name, "conv2d", inputs, **{"out": 4, "kernel": 1, **settings})


@pytest.mark.parametrize("second, why", [
    (lambda: unit_of("b", conv(), layer("act", "sigmoid")), "another kind"),
    (lambda: unit_of("b", conv(), Entry(name="act", kind="relu", train_only=True)), "runs in training only"),
    (lambda: unit_of("b", conv(), Entry(name="act", kind="relu", functional=True)), "a function, not a module"),
    (lambda: unit_of("b", conv(groups=2), layer("act", "relu")), "other fields"),
    (lambda: unit_of("b", layer("act", "relu"), conv(inputs=["act"])), "another order"),
    (lambda: unit_of("b", conv(), layer("act", "relu", ["input"])), "another input")])
def test_uses_that_differ_in_more_than_values_are_written_out(second, why):
    assert is_block([unit_of("a", conv(), layer("act", "relu")), unit_of("a2", conv(), layer("act", "relu"))])
    assert not is_block([unit_of("a", conv(), layer("act", "relu")), second()]), why


def test_uses_whose_marks_of_other_classes_differ_by_layer_are_written_out():
    marked = Entry(name="conv", kind="conv2d", settings={"out": 4, "kernel": 1}, module="Conv3DSimple")
    other = Entry(name="conv2", kind="conv2d", settings={"out": 4, "kernel": 1}, module="Conv3DSimple")
    assert not is_block([unit_of("a", marked, conv("conv2", inputs=["conv"])),
                         unit_of("b", conv(), Entry(**{**other.__dict__, "inputs": ["conv"]}))])


@pytest.mark.parametrize("optional, block", [(1, True), (2, True), (3, False)])
def test_uses_with_mostly_other_layers_are_not_one_block(optional, block):
    # four layers in all: the first use has them all, the second only the last 4 - optional
    names = ["a", "b", "c", "d"]
    first = unit_of("x", *[conv(name) for name in names])
    second = unit_of("y", *[conv(name) for name in names[optional:]])
    assert is_block([first, second]) is block


def test_a_chain_of_absent_layers_reads_what_the_first_of_them_read():
    # the second use lacks b and c (b reads a, c reads b); its d reads a, as the first use's d reads c
    first = unit_of("x", conv("a"), conv("b"), conv("c"), conv("d"), conv("e"), conv("f"), conv("g"))
    second = unit_of("y", conv("a"), conv("d", inputs=["a"]), conv("e"), conv("f"), conv("g"))
    assert is_block([first, second])
    third = unit_of("z", conv("a"), conv("d", inputs=["input"]), conv("e"), conv("f"), conv("g"))
    assert not is_block([first, third])


def test_a_layer_whose_input_differs_in_a_later_use_is_seen_after_a_use_without_it():
    # x is absent from the first use; the second reads a, the third b: not one block
    uses = [unit_of("p", conv("a"), conv("b", inputs=["a"]), layer("s", "add", ["a", "b"])),
            unit_of("q", conv("a"), conv("b", inputs=["a"]), conv("x", inputs=["a"]), layer("s", "add", ["a", "b"])),
            unit_of("r", conv("a"), conv("b", inputs=["a"]), conv("x", inputs=["b"]), layer("s", "add", ["a", "b"]))]
    assert not is_block(uses)


def test_a_last_layer_in_some_uses_only_is_written_with_if():
    # the second use ends with bn, which the layer it lacks (relu) stands for
    first = unit_of("x", conv("conv"), layer("bn", "batchnorm"), layer("relu", "relu"))
    second = unit_of("y", conv("conv"), layer("bn", "batchnorm"))
    assert written([first, second]).splitlines()[2:8] == ["    args: {with_relu: ~}", "    layers:",
        "      - {name: conv, conv2d: {out: 4, kernel: 1}}", "      - {name: bn, batchnorm}",
        "      - {name: relu, relu, if: with_relu}", "layers:"]


def test_uses_that_end_in_different_layers_are_not_one_block():
    # the template would end with the first use's last layer, which the second use lacks: its output would be
    # read as that layer's input, and the second use's own last layer would lead nowhere
    first = unit_of("x", conv("a"), conv("b"), conv("c"), layer("pool", "maxpool", kernel=2))
    second = unit_of("y", conv("a"), conv("b"), conv("c"), layer("shrink", "maxpool", kernel=4))
    assert not is_block([first, second])
    assert analysed([first, second], "3, 8, 8").totals.output_shape == (4, 1, 1)  # 8 -> 4 (pool) -> 1 (shrink)


# --- classes run by other classes' layers ----------------------------------------------------------------------
def mc3_block(name: str, conv_class: str) -> Entry:
    marked = Entry(name="0", kind="conv3d", settings={"out": 4, "kernel": 3, "padding": 1}, module=conv_class)
    return group(name, "BasicBlock", [group("conv1", "Sequential", [marked, layer("1", "relu")])])


def test_uses_run_by_other_classes_are_one_block_per_class():
    root = [mc3_block("a", "Conv3DSimple"), mc3_block("b", "Conv3DSimple"),
            mc3_block("c", "Conv3DNoTemporal"), mc3_block("d", "Conv3DNoTemporal"),
            group("e", "BasicBlock", [group("conv1", "Sequential", [conv("0"), layer("1", "relu")])]),
            group("f", "BasicBlock", [group("conv1", "Sequential", [conv("0"), layer("1", "relu")])])]
    lines = written(root).splitlines()
    assert block_names(written(root)) == ["basic_block_conv3dsimple", "basic_block_conv3dnotemporal", "basic_block"]
    assert lines[-6:] == ["  - {name: a, basic_block_conv3dsimple}", "  - {name: b, basic_block_conv3dsimple}",
                          "  - {name: c, basic_block_conv3dnotemporal}", "  - {name: d, basic_block_conv3dnotemporal}",
                          "  - {name: e, basic_block}", "  - {name: f, basic_block}"]


def test_a_class_run_by_another_class_once_leaves_its_other_uses_a_block():
    root = [mc3_block("a", "Conv3DSimple"), mc3_block("b", "Conv3DNoTemporal"), mc3_block("c", "Conv3DNoTemporal")]
    lines = written(root).splitlines()
    assert block_names(written(root)) == ["basic_block_conv3dnotemporal"]
    assert lines[-2:] == ["  - {name: b, basic_block_conv3dnotemporal}", "  - {name: c, basic_block_conv3dnotemporal}"]


def test_uses_all_run_by_one_other_class_keep_the_block_s_name():
    lines = written([mc3_block("a", "Conv3DSimple"), mc3_block("b", "Conv3DSimple")]).splitlines()
    assert lines[1] == "  basic_block:" and lines[-1] == "  - {name: b, basic_block}"


# --- repeats -------------------------------------------------------------------------------------------------
def stage(name: str, outs: list, strides: list | None = None, child_names: list[str] | None = None) -> Entry:
    strides = strides or [1] * len(outs)
    names = child_names or [str(i) for i in range(len(outs))]
    return group(name, "Sequential", [conv_unit(n, out, stride) for n, out, stride in zip(names, outs, strides)])


@pytest.mark.parametrize("outs, strides, arguments, tables", [
    ([8, 8, 8], [2, 1, 1], '{conv_out: 8, conv_stride: "2 if index == 0 else 1"}', []),
    ([8, 16, 16], [1, 1, 1], '{conv_out: "8 if index == 0 else 16"}', []),
    ([8, 16], [1, 1], '{conv_out: "8 if index == 0 else 16"}', []),
    ([8, 16, 8, 16], [1, 1, 1, 1], '{conv_out: "8 if index % 2 == 0 else 16"}', []),
    ([8, 16, 8], [1, 1, 1], '{conv_out: "8 if index % 2 == 0 else 16"}', []),
    ([8, 16, 32], [1, 1, 1], '{conv_out: "stage_conv_out[index]"}', ["  stage_conv_out: [8, 16, 32]"]),
    ([8, 16, 8, 8], [1, 1, 1, 1], '{conv_out: "stage_conv_out[index]"}',
     ["  stage_conv_out: [8, 16, 8, 8]"]),
    ([8, 16, 32, 64], [1, 2, 2, 1], '{conv_out: "stage_conv_out[index]", conv_stride: "stage_conv_stride[index]"}',
     ["  stage_conv_out: [8, 16, 32, 64]", "  stage_conv_stride: [1, 2, 2, 1]"])])
def test_a_container_of_uses_is_a_repeat_whose_arguments_follow_index(outs, strides, arguments, tables):
    lines = written([stage("stage", outs, strides), conv_unit("other", 4)]).splitlines()
    assert lines[:len(tables) + 1] == (["vars:", *tables] if tables else ["blocks:"])
    assert lines[-2] == f"  - {{name: stage, repeat: {len(outs)}, conv_unit: {arguments}}}"
    # each copy's conv: 3x3 from the width before it, without bias, and its batch norm (2 x width)
    widths = [3, *outs, 4]
    assert analysed([stage("stage", outs, strides), conv_unit("other", 4)], "3, 16, 16").totals.params == sum(
        9 * a * b + 2 * b for a, b in zip(widths, widths[1:]))


def test_a_switch_that_holds_for_the_first_copy_or_all_but_it_is_written_with_index():
    def unit(name: str, projection: bool) -> Entry:
        return group(name, "Unit", [conv(), *([conv("project", inputs=["input"])] if projection else []),
                                    layer("relu", "relu", ["conv"])])
    for switches, expression in (([True, False, False], "index == 0"), ([False, True, True], "index != 0")):
        root = [group("stage", "Sequential", [unit(str(i), switch) for i, switch in enumerate(switches)])]
        assert written(root).splitlines()[-1] == \
            f'  - {{name: stage, repeat: 3, unit: {{with_project: "{expression}"}}}}'
    root = [group("stage", "Sequential", [unit(str(i), switch) for i, switch in enumerate([True, False, True])])]
    assert written(root).splitlines()[-1] == \
        '  - {name: stage, repeat: 3, unit: {with_project: "true if index % 2 == 0 else false"}}'
    root = [group("stage", "Sequential", [unit(str(i), switch) for i, switch in enumerate([True, True, False])])]
    assert written(root).splitlines()[:2] == ["vars:", "  stage_with_project: [true, true, false]"]


def test_copies_named_other_than_0_1_2_are_a_repeat_with_names():
    lines = written([stage("block", [8, 8], child_names=["denselayer1", "denselayer2"])]).splitlines()
    assert lines[-1] == "  - {name: block, repeat: 2, names: denselayer1, conv_unit}"
    lines = written([stage("block", [8, 8], child_names=["1", "2"])]).splitlines()
    assert lines[-1] == "  - {name: block, repeat: 2, names: 1, conv_unit}"


@pytest.mark.parametrize("child_names, written_names", [
    (["0", "2"], ["0", "2"]), (["01", "02"], ['"01"', '"02"']), (["a1", "b2"], ["a1", "b2"]), (["x", "y"], ["x", "y"])])
def test_copies_that_do_not_count_up_by_one_are_written_one_by_one(child_names, written_names):
    lines = written([stage("block", [8, 8], child_names=child_names)]).splitlines()
    assert lines[-4:] == ["  - name: block", "    layers:", f"      - {{name: {written_names[0]}, conv_unit}}",
                          f"      - {{name: {written_names[1]}, conv_unit}}"]


def test_a_container_that_is_not_a_chain_of_one_block_s_uses_is_written_one_by_one():
    parallel = group("heads", "ModuleList", [conv_unit("0", 8), conv_unit("1", 8, )])
    parallel.body[1].inputs = ["input"]  # both read the container's input
    assert written([parallel]).splitlines()[-3:] == ["    layers:", "      - {name: 0, conv_unit}",
                                                     "      - {name: 1, conv_unit, from: input}"]
    training = group("heads", "ModuleList", [conv_unit("0", 8), conv_unit("1", 8)])
    training.body[1].train_only = True
    assert written([training]).splitlines()[-1] == "      - {name: 1, conv_unit, train_only: true}"
    alone = [group("one", "Sequential", [conv_unit("0", 8)]), conv_unit("other", 8)]
    assert written(alone).splitlines()[-4:] == ["  - name: one", "    layers:", "      - {name: 0, conv_unit}",
                                                "  - {name: other, conv_unit}"]
    mixed = [group("two", "Sequential", [conv_unit("0", 8), conv_unit("1", 8, module_class="Other")]),
             conv_unit("x", 8), conv_unit("y", 8, module_class="Other")]
    assert written(mixed).splitlines()[-4:-2] == ["      - {name: 0, conv_unit}", "      - {name: 1, other}"]


def test_a_repeat_inside_a_group_names_its_tables_by_the_whole_path():
    root = [group("features", "Sequential", [conv_unit("stem", 4, module_class="Stem"),
                                             stage("layer-1", [8, 16, 32])])]
    lines = written(root).splitlines()
    assert lines[:2] == ["vars:", "  features_layer_1_conv_out: [8, 16, 32]"]
    assert lines[-1] == '      - {name: layer-1, repeat: 3, conv_unit: {conv_out: "features_layer_1_conv_out[index]"}}'
    assert analysed(root, "3, 8, 8").totals.params == sum(9 * a * b + 2 * b for a, b in
                                                           [(3, 4), (4, 8), (8, 16), (16, 32)])


# --- one layer's settings ------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind, settings, text", [
    ("conv2d", {"out": 8, "kernel": 3, "stride": 1, "padding": 0, "bias": True}, "conv2d: {out: 8, kernel: 3}"),
    ("linear", {"out": 10, "bias": True}, "linear: 10"),
    ("linear", {"out": 10, "bias": False}, "linear: {out: 10, bias: false}"),
    ("relu", {}, "relu"),
    ("maxpool", {"kernel": 2, "stride": 2}, "maxpool: 2"),  # a pool's stride is its kernel unless said
    ("maxpool", {"kernel": 3, "stride": 2}, "maxpool: {kernel: 3, stride: 2}"),
    ("batchnorm", {"eps": 1e-05 + 1e-13, "momentum": 0.1}, "batchnorm"),  # float noise is the default
    ("batchnorm", {"eps": 1.000002e-05}, "batchnorm: {eps: 1.000002e-05}"),
    ("batchnorm", {"eps": 1e-12}, "batchnorm: {eps: 1.0e-12}"),  # a dot: YAML 1.1 reads 1e-12 as a string
    ("attention", {"heads": 2, "dropout": 1e-12}, "attention: 2"),  # within 1e-12 of the default 0.0
    ("attention", {"heads": 2, "dropout": 1.5e-12}, "attention: {heads: 2, dropout: 1.5e-12}"),
    ("scale", {"init": 1}, "scale"),  # the integer 1 is the float default
    ("scale", {"init": True}, "scale: true"),
    ("lrn", {"size": 5, "k": 2.0}, "lrn: {size: 5, k: 2.0}"),
    ("dropout", {"p": 0.5}, "dropout"),
    ("dropout", {"p": 0.25}, "dropout: 0.25"),
    ("upsample", {"scale": 2, "mode": "nearest"}, "upsample: {scale: 2}"),
    ("upsample", {"scale": 2, "mode": "bi linear"}, 'upsample: {scale: 2, mode: "bi linear"}'),
    ("upsample", {"scale": 2, "mode": "1x"}, 'upsample: {scale: 2, mode: "1x"}'),
    ("upsample", {"scale": 2, "mode": "Nearest"}, "upsample: {scale: 2, mode: Nearest}"),
    ("upsample", {"scale": 2, "mode": "b-spline.2"}, "upsample: {scale: 2, mode: b-spline.2}"),
    ("custom", {"out": [4, 2], "params": 0, "macs": 0}, "custom: {out: [4, 2], macs: 0}"),  # the MACs to fill in
    ("reshape", {"shape": {"a": [1, 2]}}, "reshape: {shape: {a: [1, 2]}}"),
    ("conv2d", {"out": Expr("2 * width"), "kernel": 1}, "conv2d: {out: 2 * width, kernel: 1}"),
    ("conv2d", {"out": Expr("cfg[index]"), "kernel": 1}, 'conv2d: {out: "cfg[index]", kernel: 1}'),
    ("dropout", {"p": Expr("rate")}, "dropout: rate"),
    ("dropout", {"p": Expr("0.5")}, "dropout: 0.5")])  # an expression is written even when it reads the default
def test_a_layer_s_settings_are_written_without_its_defaults(kind, settings, text):
    assert settings_text(kind, settings) == text


@pytest.mark.parametrize("name, text", [("conv1", "conv1"), ("0", "0"), ("a-b", "a-b"), ("_x", "_x"),
                                        ("a b", '"a b"'), ("Zz", "Zz"), ("1a", '"1a"'), ("a: b", '"a: b"'),
                                        ("10", "10"), ("010", '"010"'), ("\u00b2", '"\\u00b2"')])
def test_a_layer_s_name_is_written_as_yaml_reads_it_back(name, text):
    lines = written([layer(name, "relu")]).splitlines()
    assert lines[-1] == f"  - {{name: {text}, relu}}"


def test_a_block_whose_uses_all_sit_in_another_block_s_uses_is_not_defined():
    def outer(name: str) -> Entry:
        return group(name, "Stage", [group("body", "Body", [conv(), layer("act", "relu")]), layer("pool", "maxpool",
                                                                                                  kernel=2)])
    assert block_names(written([outer("a"), outer("b")])) == ["stage"]
    # used on its own as well, the inner class is a block, and the outer block writes it in place still
    root = [outer("a"), outer("b"), group("c", "Body", [conv(), layer("act", "relu")]),
            group("d", "Body", [conv(), layer("act", "relu")])]
    assert block_names(written(root)) == ["stage", "body"]
    assert written(root).splitlines()[3:7] == ["      - name: body", "        layers:",
                                               "          - {name: conv, conv2d: {out: 4, kernel: 1}}",
                                               "          - {name: act, relu}"]


def test_uses_of_one_other_class_that_differ_leave_those_of_the_next_a_block():
    differ = [mc3_block("a", "Conv3DSimple"), mc3_block("b", "Conv3DSimple")]
    differ[1].body[0].body[1].kind = "sigmoid"  # b's conv1 ends in another kind: a and b are no block
    root = [*differ, mc3_block("c", "Conv3DNoTemporal"), mc3_block("d", "Conv3DNoTemporal")]
    assert block_names(written(root)) == ["basic_block_conv3dnotemporal"]
