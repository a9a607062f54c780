"""`paramcalc import model.onnx`: graphs written node by node here with onnx.helper, their figures worked out by
hand; the models exported by PyTorch are in test_import_onnx_torch.py."""

from __future__ import annotations

import pytest
import yaml
from click.testing import CliRunner

import paramcalc
from paramcalc.cli import main
from paramcalc.errors import SpecError

onnx = pytest.importorskip("onnx")
import numpy
from onnx import TensorProto, helper

from paramcalc.importing import onnx_graph
from paramcalc.importing.onnx_graph import import_onnx


def weight(name: str, *dims: int, value: float = 0.5):
    count = 1
    for size in dims:
        count *= size
    return helper.make_tensor(name, TensorProto.FLOAT, dims, [value] * count)


def ints(name: str, values: list[int]):
    return helper.make_tensor(name, TensorProto.INT64, [len(values)], values)


def save(tmp_path, nodes, inputs, initializers, name="model.onnx", output=("y", [1, 10]), value_info=(), opset=20,
         opsets=None, producer="hand"):
    """output: (name, shape) of a float tensor, (name, shape, element type), or None for none; opsets: the
    (domain, version) pairs the file imports, ONNX's own at `opset` unless given."""
    outputs = [helper.make_tensor_value_info(output[0], (output[2:] or [TensorProto.FLOAT])[0], output[1])] \
        if output else []
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs],
                              outputs, initializer=initializers, value_info=list(value_info))
    imports = [helper.make_opsetid(domain, version) for domain, version in (opsets or [("", opset)])]
    model = helper.make_model(graph, opset_imports=imports, producer_name=producer)
    path = tmp_path / name
    onnx.save(model, str(path))
    return str(path)


def conv_net(tmp_path, **options):
    """Conv 3->4 (3x3, padding 1), batch norm, ReLU, max pool 2, global average pool, flatten, Gemm 4->10; nodes named
    as the TorchScript exporter names them."""
    nodes = [
        helper.make_node("Conv", ["x", "conv.weight", "conv.bias"], ["c"], "/conv/Conv", kernel_shape=[3, 3],
                         pads=[1, 1, 1, 1], strides=[1, 1]),
        helper.make_node("BatchNormalization", ["c", "bn.weight", "bn.bias", "bn.mean", "bn.var"], ["b"], "/bn/BatchNormalization",
                         epsilon=1e-3, momentum=0.9),
        helper.make_node("Relu", ["b"], ["r"], "/relu/Relu"),
        helper.make_node("MaxPool", ["r"], ["p"], "/pool/MaxPool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("GlobalAveragePool", ["p"], ["g"], "/gap/GlobalAveragePool"),
        helper.make_node("Flatten", ["g"], ["f"], "/Flatten", axis=1),
        helper.make_node("Gemm", ["f", "fc.weight", "fc.bias"], ["y"], "/fc/Gemm", transB=1),
    ]
    initializers = [weight("conv.weight", 4, 3, 3, 3), weight("conv.bias", 4), weight("bn.weight", 4),
                    weight("bn.bias", 4), weight("bn.mean", 4), weight("bn.var", 4), weight("fc.weight", 10, 4),
                    weight("fc.bias", 10)]
    return save(tmp_path, nodes, [("x", [1, 3, 8, 8])], initializers, **options)


def test_a_conv_net_read_node_by_node(tmp_path):
    text = import_onnx(conv_net(tmp_path))
    spec = yaml.safe_load(text)
    assert text.startswith("# Imported by paramcalc from model.onnx (opset 20, written by hand).")
    assert spec["name"] == "model" and spec["input"] == [3, 8, 8]
    assert spec["layers"] == [
        {"name": "conv", "conv2d": {"out": 4, "kernel": 3, "padding": 1}},
        {"name": "bn", "batchnorm": {"eps": 0.001}},  # ONNX's momentum 0.9 is PyTorch's 0.1, the default
        {"name": "relu", "relu": None}, {"name": "pool", "maxpool": 2}, {"name": "gap", "global_avgpool": None},
        {"name": "flatten", "flatten": None}, {"name": "fc", "linear": 10}]
    result = paramcalc.analyze(text)
    # conv 4·3·3·3 + 4, batch norm 2·4 (+ 2·4 statistics), Gemm 10·4 + 10
    assert (result.totals.params, result.totals.buffers) == (112 + 8 + 50, 8)
    assert result.totals.macs == 4 * 27 * 8 * 8 + 40
    assert result.totals.output_shape == (10,)


def test_a_linear_layer_on_tokens_is_put_back_together(tmp_path):
    """MatMul by a weight, then Add of the bias: how exporters write nn.Linear on a 3-D input."""
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["m1"], "/fc1/MatMul"),
             helper.make_node("Add", ["m1", "b1"], ["a1"], "/fc1/Add"),
             helper.make_node("Relu", ["a1"], ["r"], "/act/Relu"),
             helper.make_node("MatMul", ["r", "w2"], ["y"], "/fc2/MatMul")]
    path = save(tmp_path, nodes, [("x", [1, 5, 8])], [weight("w1", 8, 16), weight("b1", 16), weight("w2", 16, 4)],
                output=("y", [1, 5, 4]))
    spec = yaml.safe_load(import_onnx(path))
    assert spec["layers"] == [{"name": "fc1", "linear": 16}, {"name": "act", "relu": None},
                              {"name": "fc2", "linear": {"out": 4, "bias": False}}]
    result = paramcalc.analyze(spec)
    assert result.totals.params == 8 * 16 + 16 + 16 * 4
    assert result.totals.macs == 5 * (8 * 16 + 16 * 4)


def test_shape_arithmetic_is_worked_out(tmp_path):
    """The TorchScript exporter writes x.view(x.size(0), -1) as Shape, Gather, Unsqueeze, Concat, Reshape: the
    sizes are folded, and the reshape is a flatten."""
    nodes = [helper.make_node("Shape", ["x"], ["s"], "/Shape"),
             helper.make_node("Gather", ["s", "zero"], ["n"], "/Gather", axis=0),
             helper.make_node("Unsqueeze", ["n", "axes"], ["n1"], "/Unsqueeze"),
             helper.make_node("Concat", ["n1", "minus_one"], ["target"], "/Concat", axis=0),
             helper.make_node("Reshape", ["x", "target"], ["y"], "/Reshape")]
    initializers = [helper.make_tensor("zero", TensorProto.INT64, [], [0]), ints("axes", [0]), ints("minus_one", [-1])]
    path = save(tmp_path, nodes, [("x", [1, 4, 2, 3])], initializers, output=("y", [1, 24]))
    spec = yaml.safe_load(import_onnx(path))
    assert spec["layers"] == [{"name": "flatten", "flatten": None}]
    assert paramcalc.analyze(spec).totals.output_shape == (24,)


def test_reduce_mean_is_a_mean(tmp_path):
    """ReduceMean is x.mean(dims, keepdim): axes numbered with the batch as 0, as PyTorch's dims (an input since
    opset 18, an attribute before); keepdims as written (1 when left out)."""
    nodes = [helper.make_node("ReduceMean", ["x", "hw"], ["m"], "/ReduceMean", keepdims=0),  # x.mean([2, 3])
             helper.make_node("Gemm", ["m", "fc.weight", "fc.bias"], ["y"], "/fc/Gemm", transB=1)]
    path = save(tmp_path, nodes, [("x", [1, 4, 6, 5])], [ints("hw", [2, 3]), weight("fc.weight", 10, 4),
                                                         weight("fc.bias", 10)])
    spec = yaml.safe_load(import_onnx(path))
    assert spec["layers"] == [{"name": "mean", "mean": [2, 3]}, {"name": "fc", "linear": 10}]
    result = paramcalc.analyze(spec)
    assert result["mean"].shape == (4,) and result["mean"].flops == 4 * 6 * 5  # one per input element
    assert result.totals.macs == 40 and result.totals.rf.is_global
    # over the channels, keeping them (the attribute of opset 13), then the map's width from the end
    nodes = [helper.make_node("ReduceMean", ["x"], ["c"], "/ReduceMean", axes=[1]),
             helper.make_node("ReduceMean", ["c"], ["y"], "/ReduceMean_1", axes=[-1], keepdims=0)]
    path = save(tmp_path, nodes, [("x", [1, 4, 6, 5])], [], output=("y", [1, 1, 6]), opset=13)
    spec = yaml.safe_load(import_onnx(path))
    assert spec["layers"] == [{"name": "mean", "mean": {"dims": [1], "keepdim": True}},
                              {"name": "mean_2", "mean": [-1]}]
    assert [record.shape for record in paramcalc.analyze(spec).records] == [(1, 6, 5), (1, 6)]


def test_reduce_mean_written_for_adaptive_average_pooling_is_a_global_pool(tmp_path):
    """The dynamo exporter writes F.adaptive_avg_pool2d(x, 1) and nn.AdaptiveAvgPool2d(1) as ATen computes them,
    x.mean([-1, -2], keepdim=True): a global average pool, as the TorchScript exporter's GlobalAveragePool is."""
    nodes = [helper.make_node("ReduceMean", ["x", "last"], ["g"], "node_mean", keepdims=1),
             helper.make_node("Flatten", ["g"], ["f"], "node_flatten", axis=1),
             helper.make_node("Gemm", ["f", "fc.weight", "fc.bias"], ["y"], "node_fc", transB=1)]
    path = save(tmp_path, nodes, [("x", [1, 4, 6, 5])], [ints("last", [-1, -2]), weight("fc.weight", 10, 4),
                                                         weight("fc.bias", 10)])
    kinds = [next(key for key in layer if key != "name") for layer in yaml.safe_load(import_onnx(path))["layers"]]
    assert kinds == ["global_avgpool", "flatten", "linear"]


@pytest.mark.parametrize("axes, why", [([0, 2], "the batch (axis 0) among them"), ([-4], "the batch (axis 0)"),
                                       (None, "a mean over every axis, the batch's too")])
def test_reduce_mean_over_the_batch_is_refused(tmp_path, axes, why):
    inputs, initializers = (["x"], []) if axes is None else (["x", "axes"], [ints("axes", axes)])
    nodes = [helper.make_node("ReduceMean", inputs, ["y"], "/ReduceMean", keepdims=1)]
    with pytest.raises(SpecError) as caught:
        import_onnx(save(tmp_path, nodes, [("x", [1, 4, 6, 5])], initializers, output=("y", [1, 1, 1, 1])))
    assert "node '/ReduceMean' (ReduceMean)" in str(caught.value) and why in str(caught.value)


SEQUENTIAL = "torch.nn.modules.container.Sequential"
CONV2D, RELU = "torch.nn.modules.conv.Conv2d", "torch.nn.modules.activation.ReLU"


def scoped(node, scopes: list[str], classes: list[str]):
    """Metadata as the dynamo exporter writes it: the module path and qualified class of each enclosing module,
    then the op."""
    helper.set_metadata_props(node, {"pkg.torch.onnx.name_scopes": repr(["", *scopes, "op"]),
                                     "pkg.torch.onnx.class_hierarchy": repr(["Net", *classes, "aten.op"])})
    return node


def test_the_exporters_module_classes_make_blocks_and_repeats(tmp_path):
    nodes, initializers, previous = [], [], "x"
    for index in range(3):
        path = f"blocks.{index}"
        nodes += [scoped(helper.make_node("Conv", [previous, f"{path}.conv.weight"], [f"c{index}"], kernel_shape=[3, 3],
                                          pads=[1, 1, 1, 1]),
                         ["blocks", path, f"{path}.conv"], [SEQUENTIAL, "net.Block", CONV2D]),
                  scoped(helper.make_node("Relu", [f"c{index}"], [f"r{index}"]),
                         ["blocks", path, f"{path}.act"], [SEQUENTIAL, "net.Block", RELU])]
        initializers.append(weight(f"{path}.conv.weight", 4, 4, 3, 3))
        previous = f"r{index}"
    nodes[-1].output[0] = "y"
    spec = yaml.safe_load(import_onnx(save(tmp_path, nodes, [("x", [1, 4, 6, 6])], initializers,
                                           output=("y", [1, 4, 6, 6]))))
    assert spec["blocks"] == {"block": {"layers": [{"name": "conv", "conv2d": {"out": 4, "kernel": 3, "padding": 1,
                                                                                "bias": False}},
                                                   {"name": "act", "relu": None}]}}
    assert spec["layers"] == [{"name": "blocks", "repeat": 3, "block": None}]
    assert paramcalc.analyze(spec).totals.params == 3 * 4 * 4 * 9


def test_every_part_without_a_kind_is_listed_and_custom_fills_in(tmp_path):
    nodes = [helper.make_node("Erf", ["x"], ["e"], "/act/Erf"),
             helper.make_node("Sin", ["e"], ["s"], "/wave/Sin"),
             helper.make_node("Flatten", ["s"], ["y"], "/Flatten")]
    path = save(tmp_path, nodes, [("x", [1, 2, 3])], [], output=("y", [1, 6]))
    with pytest.raises(SpecError) as caught:
        import_onnx(path)
    message = str(caught.value)
    assert "2 part(s)" in message and "node '/act/Erf' (Erf in act): no layer kind" in message
    assert "node '/wave/Sin' (Sin in wave)" in message and "--custom" in caught.value.hint
    text = import_onnx(path, custom=("Erf", "wave"))
    assert text.count("custom: {out: [2, 3], macs: 0}}  # fill in the MACs") == 2
    assert [layer["name"] for layer in yaml.safe_load(text)["layers"]] == ["act", "wave", "flatten"]


def test_the_command_line(tmp_path):
    path = conv_net(tmp_path)
    runner = CliRunner()
    shown = runner.invoke(main, ["show", path, "--format", "json"])
    assert shown.exit_code == 0, shown.output
    assert '"params": 170' in shown.output
    checked = runner.invoke(main, ["check", path, "--max-params", "100"])
    assert checked.exit_code == 1 and "params 170" in checked.output
    out = tmp_path / "model.yaml"
    assert runner.invoke(main, ["import", path, "-o", str(out), "--name", "small net"]).exit_code == 0
    assert yaml.safe_load(out.read_text())["name"] == "small net"
    assert paramcalc.analyze(str(out)).totals.params == 170
    for extra, what in ((["--input", "3x8x8"], "--input does not apply"), (["--kwargs", "{}"], "--kwargs does not")):
        refused = runner.invoke(main, ["import", path, *extra])
        assert refused.exit_code == 2 and what in refused.output


@pytest.mark.parametrize("case", ["missing", "folder", "garbage", "two inputs", "open size", "too large"])
def test_bad_files_are_refused_with_one_message(tmp_path, monkeypatch, case):
    path = tmp_path / "model.onnx"
    expected = {"missing": "no such file", "folder": "not a file", "garbage": "not an ONNX model",
                "two inputs": "the model has 2 inputs", "open size": "is not fixed", "too large": "larger than"}[case]
    if case == "folder":
        path.mkdir()
    elif case == "garbage":
        path.write_bytes(b"\x00\xffnot protobuf" * 10)
    elif case == "two inputs":
        node = helper.make_node("Add", ["a", "b"], ["y"])
        path = save(tmp_path, [node], [("a", [1, 4]), ("b", [1, 4])], [], output=("y", [1, 4]))
    elif case == "open size":
        path = save(tmp_path, [helper.make_node("Relu", ["x"], ["y"])], [("x", [1, "H"])], [], output=("y", [1, "H"]))
    elif case == "too large":
        path = conv_net(tmp_path)
        monkeypatch.setattr(onnx_graph, "MAX_ONNX_BYTES", 100)
    result = CliRunner().invoke(main, ["import", str(path)])
    assert result.exit_code == 2 and expected in result.output and "Traceback" not in result.output


def test_a_node_that_reads_a_second_output_is_refused(tmp_path):
    """Split gives two tensors; paramcalc's layers give one: nothing is read silently as a constant."""
    nodes = [helper.make_node("Split", ["x"], ["a", "b"], "/split/Split", axis=1, num_outputs=2),
             helper.make_node("Add", ["a", "b"], ["y"], "/Add")]
    with pytest.raises(SpecError) as caught:
        import_onnx(save(tmp_path, nodes, [("x", [1, 4, 2])], [], output=("y", [1, 2, 2])))
    assert "node '/split/Split' (Split in split): no layer kind" in str(caught.value)
    assert "node '/Add' (Add): it reads a second output" in str(caught.value)


def test_names_from_a_hostile_file_stay_names(tmp_path):
    """An ONNX file is input from anyone: its node names, module scopes, class names and producer go into the
    spec's text, and none may add a key, a layer or a line of its own."""
    node = scoped(helper.make_node("Relu", ["x"], ["y"], "/evil\nlayers: []/Relu"),
                  ["a\nname: pwned", "a\nname: pwned.b'c\"d"], ["Evil: {x: 1}\n", "Conv2d"])
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)],
                              producer_name="x\nlayers: [{name: injected, relu}]")
    path = tmp_path / "evil\nname: x.onnx"
    onnx.save(model, str(path))
    try:
        text = import_onnx(str(path))
    except SpecError:
        return  # refused with a message: fine
    document = yaml.safe_load(text)
    assert set(document) <= {"name", "input", "blocks", "layers", "output"}
    assert document["name"] == "evil\nname: x"
    assert not any("injected" in line for line in text.splitlines() if not line.startswith("#"))
    assert all(line.startswith("#") for line in text.splitlines()[:3])


def test_a_class_of_the_models_own_running_a_kind_is_named_with_module(tmp_path):
    """The dynamo exporter's qualified classes: torch.nn's own need no mark; a model's own class (a subclass
    of nn.Conv2d that counters looking hooks up by type miss) is named with `module`."""
    nodes = [scoped(helper.make_node("Conv", ["x", "own.weight"], ["c"], kernel_shape=[1, 1]), ["own"],
                    ["net.OwnConv"]),
             scoped(helper.make_node("Conv", ["c", "plain.weight"], ["y"], kernel_shape=[1, 1]), ["plain"], [CONV2D])]
    path = save(tmp_path, nodes, [("x", [1, 2, 4, 4])], [weight("own.weight", 2, 2, 1, 1),
                                                         weight("plain.weight", 2, 2, 1, 1)], output=("y", [1, 2, 4, 4]))
    assert yaml.safe_load(import_onnx(path))["layers"] == [
        {"name": "own", "conv2d": {"out": 2, "kernel": 1, "bias": False}, "module": "OwnConv"},
        {"name": "plain", "conv2d": {"out": 2, "kernel": 1, "bias": False}}]


def assert_one_node(tmp_path, op, attributes, others, shape, out, expected, opset=20):
    """A graph of one node on an input `x` of the given shape: its other inputs are tensors the file holds, names
    of graph values ("x": the input again) or None (left out). `expected` is the layer it imports as, or a
    fragment of why it is refused."""
    inputs = ["x", *("" if other is None else other if isinstance(other, str) else other.name for other in others)]
    node = helper.make_node(op, inputs, ["y"], f"/{op}", **attributes)
    path = save(tmp_path, [node], [("x", shape)], [other for other in others if other is not None
                                                  and not isinstance(other, str)], output=("y", out), opset=opset)
    if isinstance(expected, str):
        with pytest.raises(SpecError) as caught:
            import_onnx(path)
        assert f"node '/{op}' ({op})" in str(caught.value) and expected in str(caught.value)
        return
    # a node in no module is marked functional, where counters tell the two apart (test_import_onnx_torch.py)
    assert [{key: value for key, value in layer.items() if key not in ("name", "functional")}
            for layer in yaml.safe_load(import_onnx(path))["layers"]] == [expected]


FLOAT32_MAX = float(numpy.finfo(numpy.float32).max)
BELOW_FLOAT32_MAX = float(numpy.nextafter(numpy.float32(FLOAT32_MAX), numpy.float32(0)))


def scalar(name: str, value: float):
    return helper.make_tensor(name, TensorProto.FLOAT, [], [value])


# one node on a 1 x 3 x 4 x 5 input: (operator, its attributes, its other inputs (None: left out), the opset, the
# output's shape, and the layer it is, or a fragment of why it is refused), from ONNX's operator definitions
ONE_NODE = [
    ("Clip", {}, [scalar("lo", 0.0), scalar("hi", 6.0)], 20, None, {"relu6": None}),
    ("Clip", {}, [scalar("lo", 0.0), None], 20, None, {"relu": None}),
    ("Clip", {}, [scalar("lo", 0.0), scalar("hi", FLOAT32_MAX)], 20, None, {"relu": None}),  # no upper bound
    ("Clip", {}, [scalar("lo", 0.0), scalar("hi", BELOW_FLOAT32_MAX)], 20, None, "Clip to [0.0, 3.40282"),
    ("Clip", {"min": 0.0, "max": FLOAT32_MAX}, [], 6, None, {"relu": None}),
    ("Clip", {}, [scalar("lo", -1.0), scalar("hi", 1.0)], 20, None, "Clip to [-1.0, 1.0]"),
    ("Clip", {}, [scalar("lo", 0.0), scalar("hi", 5.0)], 20, None, "Clip to [0.0, 5.0]"),
    ("Clip", {}, [scalar("lo", 1.0), None], 20, None, "Clip to [1.0, None]"),
    ("Clip", {}, [helper.make_tensor("lo", TensorProto.FLOAT, [2], [0.0, 0.0]), None], 20, None,
     "a minimum that is not a single number"),
    ("Clip", {}, [scalar("lo", 0.0), helper.make_tensor("hi", TensorProto.FLOAT, [2], [6.0, 6.0])], 20, None,
     "a maximum that is not a single number"),
    ("Clip", {"min": 0.0, "max": 6.0}, [], 6, None, {"relu6": None}),  # attributes before opset 11
    ("Clip", {"min": 0.0}, [], 6, None, {"relu": None}),
    ("HardSigmoid", {"alpha": 1 / 6, "beta": 0.5}, [], 20, None, {"hardsigmoid": None}),
    ("HardSigmoid", {}, [], 20, None, "HardSigmoid other than PyTorch's"),  # ONNX's alpha is 0.2
    ("HardSigmoid", {"alpha": 1 / 6, "beta": 0.4}, [], 20, None, "HardSigmoid other than PyTorch's"),
    ("HardSigmoid", {"alpha": 1 / 6}, [], 20, None, {"hardsigmoid": None}),  # beta 0.5 is ONNX's too
    ("Gelu", {}, [], 20, None, {"gelu": None}),
    ("Gelu", {"approximate": "none"}, [], 20, None, {"gelu": None}),
    ("Gelu", {"approximate": "tanh"}, [], 20, None, "GELU with the tanh approximation"),
    ("LayerNormalization", {"epsilon": 1e-3}, [weight("scale", 5), weight("bias", 5)], 20, None,
     {"layernorm": {"eps": 0.001}}),
    ("LayerNormalization", {}, [weight("scale", 5)], 20, None, {"layernorm": {"bias": False}}),
    ("LayerNormalization", {"epsilon": 1e-12}, [weight("scale", 5), weight("bias", 5)], 20, None,
     {"layernorm": {"eps": 1e-12}}),  # BERT's
    ("LayerNormalization", {"axis": 3}, [weight("scale", 5), None], 20, None, {"layernorm": {"bias": False}}),
    ("LayerNormalization", {"axis": 2}, [weight("scale", 4, 5)], 20, None, "normalizing from axis 2"),
    ("Softmax", {}, [], 20, None, {"softmax": -1}),
    ("Softmax", {"axis": 1}, [], 20, None, {"softmax": None}),
    ("Softmax", {"axis": 2}, [], 20, None, {"softmax": 2}),
    ("Reshape", {}, [ints("shape", [1, 60])], 20, [1, 60], {"flatten": None}),
    ("Reshape", {}, [ints("shape", [1, 12, 5])], 20, [1, 12, 5], {"reshape": [12, 5]}),
    ("Reshape", {}, [ints("shape", [3, 20])], 20, [3, 20], "a reshape that changes the batch"),
    ("Reshape", {}, [ints("shape", [1, 3, 20])], 20, [1, 3, 20], {"reshape": [3, 20]}),
]


@pytest.mark.parametrize("op, attributes, others, opset, shape, expected", ONE_NODE,
                         ids=[f"{case[0]}-{index}" for index, case in enumerate(ONE_NODE)])
def test_one_node(tmp_path, op, attributes, others, opset, shape, expected):
    assert_one_node(tmp_path, op, attributes, others, [1, 3, 4, 5], shape or [1, 3, 4, 5], expected, opset)


# as ONE_NODE, on an input of the shape given: (operator, attributes, other inputs, input shape, output shape, layer)
SHAPED_NODE = [
    ("Pad", {}, [ints("pads", [0, 0, 1, 2, 0, 0, 3, 4])], [1, 3, 4, 5], [1, 3, 8, 11],
     {"pad": {"padding": {"left": 2, "right": 4, "top": 1, "bottom": 3}}}),
    ("Pad", {"mode": "reflect"}, [ints("pads", [0, 0, 1, 1, 0, 0, 1, 1])], [1, 3, 4, 5], [1, 3, 6, 7],
     "padding other than zeros around a 2-D map"),
    ("Pad", {}, [ints("pads", [0, 1, 1, 1, 0, 0, 1, 1])], [1, 3, 4, 5], [1, 4, 6, 7],
     "padding other than zeros around a 2-D map"),
    # rows: (8 + 1 + 2 - 3) // 2 + 1 = 5; columns: (9 + 0 + 1 - 2) + 1 = 9
    ("MaxPool", {"kernel_shape": [3, 2], "strides": [2, 1], "pads": [1, 0, 2, 1]}, [], [1, 3, 8, 9], [1, 3, 5, 9],
     {"maxpool": {"kernel": [3, 2], "stride": [2, 1], "padding": {"top": 1, "bottom": 2, "left": 0, "right": 1}}}),
    ("MaxPool", {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "dilations": [2, 1], "ceil_mode": 1}, [],
     [1, 3, 8, 9], [1, 3, 6, 9], {"maxpool": {"kernel": 3, "stride": 1, "padding": 1, "dilation": [2, 1],
                                             "ceil_mode": True}}),
    ("AveragePool", {"kernel_shape": [2, 2], "strides": [2, 2], "count_include_pad": 1, "pads": [1, 1, 1, 1]}, [],
     [1, 3, 8, 9], [1, 3, 5, 5], {"avgpool": {"kernel": 2, "padding": 1}}),  # PyTorch's default, left out
    ("AveragePool", {"kernel_shape": [2, 2], "strides": [2, 2], "auto_pad": "VALID"}, [], [1, 3, 8, 9],
     [1, 3, 4, 4], {"avgpool": {"kernel": 2, "count_include_pad": False}}),  # ONNX's default, not PyTorch's
    ("AveragePool", {"kernel_shape": [3, 3], "auto_pad": "SAME_UPPER"}, [], [1, 3, 8, 9], [1, 3, 8, 9],
     "auto_pad SAME_UPPER (write the padding out)"),
    ("GlobalAveragePool", {}, [], [1, 3, 8, 9], [1, 3, 1, 1], {"global_avgpool": None}),
    ("GlobalMaxPool", {}, [], [1, 3, 8, 9], [1, 3, 1, 1], {"global_maxpool": None}),
    ("Resize", {"mode": "linear", "coordinate_transformation_mode": "align_corners"},
     [None, None, ints("to", [1, 3, 8, 10])], [1, 3, 4, 5], [1, 3, 8, 10],
     {"upsample": {"size": [8, 10], "mode": "bilinear", "align_corners": True}}),
    ("Resize", {"mode": "linear"}, [None, None, ints("to", [1, 3, 8, 10])], [1, 3, 4, 5], [1, 3, 8, 10],
     {"upsample": {"size": [8, 10], "mode": "bilinear"}}),  # half_pixel: align_corners false
    ("Resize", {"mode": "cubic", "coordinate_transformation_mode": "pytorch_half_pixel"},
     [None, None, ints("to", [1, 3, 8, 8])], [1, 3, 4, 5], [1, 3, 8, 8], {"upsample": {"size": 8, "mode": "bicubic"}}),
    ("Resize", {}, [None, None, ints("to", [1, 3, 8, 10])], [1, 3, 4, 5], [1, 3, 8, 10],
     {"upsample": {"size": [8, 10]}}),  # nearest
    ("Resize", {"mode": "cubic"}, [None, None, ints("to", [1, 3, 8])], [1, 3, 4], [1, 3, 8],
     "Resize in mode cubic over 1 axes"),
    ("Resize", {"mode": "linear"}, [None, None, ints("to", [1, 3, 8])], [1, 3, 4], [1, 3, 8],
     {"upsample": {"size": 8, "mode": "linear"}}),
    ("Transpose", {"perm": [0, 2, 3, 1]}, [], [1, 3, 4, 5], [1, 4, 5, 3], {"permute": [0, 2, 3, 1]}),
    ("Transpose", {}, [], [1, 3, 4, 5], [5, 4, 3, 1], "that moves the batch"),  # no perm: every axis reversed
    ("Gemm", {"transB": 1}, [weight("w", 7, 5), weight("b", 7)], [1, 5], [1, 7], {"linear": 7}),
    ("Gemm", {}, [weight("w", 5, 7)], [1, 5], [1, 7], {"linear": {"out": 7, "bias": False}}),
    ("Gemm", {"transB": 1, "alpha": 2.0}, [weight("w", 7, 5)], [1, 5], [1, 7], "Gemm with transA, alpha or beta"),
    ("Gemm", {"transA": 1, "transB": 1}, [weight("w", 7, 5)], [5, 1], [1, 7], "Gemm with transA, alpha or beta"),
    ("Reshape", {}, [ints("shape", [1, 60])], [1, 12, 5], [1, 60], {"flatten": None}),  # torch.flatten(x, 1)
    ("Reshape", {}, [ints("shape", [1, 60])], [1, 60], [1, 60], {"reshape": [60]}),
    ("GlobalAveragePool", {}, [], [1, 3, 8], [1, 3, 1], {"adaptive_avgpool1d": 1}),
    ("GlobalAveragePool", {}, [], [1, 3, 2, 4, 5], [1, 3, 1, 1, 1], {"adaptive_avgpool3d": 1}),
    ("GlobalMaxPool", {}, [], [1, 3, 2, 4, 5], [1, 3, 1, 1, 1], "a global max pool over 3 axes"),
    # ReduceMean over every axis of a sample but the channels, keeping them: a global pool (see above)
    ("ReduceMean", {}, [ints("axes", [-1, -2, -3])], [1, 3, 2, 4, 5], [1, 3, 1, 1, 1], {"adaptive_avgpool3d": 1}),
    ("ReduceMean", {"keepdims": 0}, [ints("axes", [-1, -2])], [1, 3, 4, 5], [1, 3], {"mean": [-1, -2]}),
    ("ReduceMean", {"noop_with_empty_axes": 1}, [], [1, 3, 4, 5], [1, 3, 4, 5], {"identity": None}),
    ("Resize", {"mode": "linear"}, [None, None, ints("to", [1, 3, 4, 6, 8])], [1, 3, 2, 3, 4], [1, 3, 4, 6, 8],
     {"upsample": {"size": [4, 6, 8], "mode": "trilinear"}}),
    ("Pad", {}, [ints("pads", [0, 0, 1, 0, 0, 0])], [1, 3, 4], [1, 3, 5], "padding other than zeros around a 2-D map"),
    ("Pad", {}, [ints("pads", [0, 0, 1, 1, 0, 0, 1, 1]), helper.make_tensor("v", TensorProto.FLOAT, [2], [0.0, 0.0])],
     [1, 3, 4, 5], [1, 3, 6, 7], "a padding value that is not a single number"),
    ("Pad", {}, [ints("pads", [1, 0, 0, 0, 0, 0, 0, 0])], [1, 3, 4, 5], [2, 3, 4, 5], "padding other than zeros"),
    ("Pad", {}, [ints("pads", [0, 0, 0, 0, 1, 0, 0, 0])], [1, 3, 4, 5], [2, 3, 4, 5], "padding other than zeros"),
    ("Pad", {}, [ints("pads", [0, 0, 1, 1, 0, 0, 1, 1]), scalar("v", 1.0)], [1, 3, 4, 5], [1, 3, 6, 7],
     "padding other than zeros"),
    ("Pad", {}, [ints("pads", [0, 0, 1, 1, 0, 0, 1, 1]), scalar("v", 0.0)], [1, 3, 4, 5], [1, 3, 6, 7],
     {"pad": {"padding": {"left": 1, "right": 1, "top": 1, "bottom": 1}}}),
    ("Gemm", {"transB": 1, "beta": 0.5}, [weight("w", 7, 5), weight("b", 7)], [1, 5], [1, 7],
     "Gemm with transA, alpha or beta"),
]


@pytest.mark.parametrize("op, attributes, others, shape, out, expected", SHAPED_NODE,
                         ids=[f"{case[0]}-{index}" for index, case in enumerate(SHAPED_NODE)])
def test_one_node_on_a_shape(tmp_path, op, attributes, others, shape, out, expected):
    assert_one_node(tmp_path, op, attributes, others, shape, out, expected)


TRAINING = helper.make_tensor("training", TensorProto.BOOL, [], [True])

# nodes that read the input twice, constants the model holds, and the remaining operators: as SHAPED_NODE; "x" in
# the other inputs is the input itself
MORE_NODES = [
    ("Concat", {"axis": 1}, ["x"], [1, 3, 4, 5], [1, 6, 4, 5], {"concat": None, "from": ["input", "input"]}),
    ("Concat", {"axis": -3}, ["x"], [1, 3, 4, 5], [1, 6, 4, 5], {"concat": None, "from": ["input", "input"]}),
    ("Concat", {"axis": 2}, ["x"], [1, 3, 4, 5], [1, 3, 8, 5], {"concat": {"dim": 2}, "from": ["input", "input"]}),
    ("Add", {}, ["x"], [1, 3, 4, 5], [1, 3, 4, 5], {"add": None, "from": ["input", "input"]}),
    ("Mul", {}, [weight("gamma", 3, 1, 1)], [1, 3, 4, 5], [1, 3, 4, 5], {"scale": None}),
    ("Add", {}, [weight("shift", 3, 1, 1)], [1, 3, 4, 5], [1, 3, 4, 5], "Add with a constant of shape [3, 1, 1]"),
    ("Mul", {}, [weight("gamma", 4, 1)], [1, 3, 4, 5], [1, 3, 4, 5], "Mul with a constant of shape [4, 1]"),
    ("Mul", {}, [weight("gamma", 5)], [1, 5], [1, 5], {"scale": None}),  # features: the channels of a vector
    ("Mul", {}, [weight("gamma", 3)], [1, 3, 4, 3], [1, 3, 4, 3], "Mul with a constant of shape [3]"),  # columns
    ("Mul", {}, [weight("gamma", 3, 1)], [1, 3, 3, 5], [1, 3, 3, 5], "Mul with a constant of shape [3, 1]"),  # rows
    ("Mul", {}, [weight("pos", 1, 5, 8)], [1, 5, 8], [1, 5, 8], "Mul with a constant of shape [1, 5, 8]"),
    ("Add", {}, [weight("pos", 1, 5, 8)], [1, 5, 8], [1, 5, 8], {"position_embedding": 5}),
    ("Gather", {"axis": 1}, [helper.make_tensor("i", TensorProto.INT64, [], [2])], [1, 3, 4, 5], [1, 4, 5],
     {"select": {"index": 2}}),  # dim 1 is select's default
    ("Gather", {"axis": -1}, [helper.make_tensor("i", TensorProto.INT64, [], [-1])], [1, 3, 4, 5], [1, 3, 4],
     {"select": {"dim": 3, "index": 4}}),
    ("Gather", {"axis": 0}, [helper.make_tensor("i", TensorProto.INT64, [], [0])], [1, 3, 4, 5], [3, 4, 5],
     "a gather other than one index of one axis of a sample"),
    ("Gather", {}, [helper.make_tensor("i", TensorProto.INT64, [], [0])], [1, 3, 4, 5], [3, 4, 5],
     "a gather other than one index of one axis of a sample"),  # ONNX's axis is 0 unless written
    ("Gather", {"axis": -4}, [helper.make_tensor("i", TensorProto.INT64, [], [0])], [1, 3, 4, 5], [3, 4, 5],
     "a gather other than one index of one axis of a sample"),  # the batch, from the end
    ("Gather", {"axis": 2}, [helper.make_tensor("i", TensorProto.INT64, [], [0])], [1, 3, 4, 5], [1, 3, 5],
     {"select": {"dim": 2}}),  # index 0 is select's default
    ("Concat", {"axis": 0}, ["x"], [1, 3, 4, 5], [2, 3, 4, 5], "a concatenation along the batch (axis 0)"),
    ("Gather", {"axis": 1}, [ints("i", [0, 2])], [1, 3, 4, 5], [1, 2, 4, 5],
     "a gather other than one index of one axis of a sample"),
    # in training mode (an exporter's training export; at inference a Dropout gives its input and is left out)
    ("Dropout", {}, [helper.make_tensor("ratio", TensorProto.FLOAT, [], [0.25]), TRAINING], [1, 3, 4, 5],
     [1, 3, 4, 5], {"dropout": 0.25}),
    ("Dropout", {}, [None, TRAINING], [1, 3, 4, 5], [1, 3, 4, 5], {"dropout": None}),  # ONNX's 0.5, PyTorch's p
    ("Dropout", {}, [helper.make_tensor("ratio", TensorProto.FLOAT, [2], [0.1, 0.2]), TRAINING], [1, 3, 4, 5],
     [1, 3, 4, 5], "a ratio that is not a single number"),
    ("Dropout", {}, [helper.make_tensor("ratio", TensorProto.FLOAT, [], [1e-7]), TRAINING], [1, 3, 4, 5],
     [1, 3, 4, 5], {"dropout": 1e-7}),  # as written: float32's 1e-7 is 1.0000000116860974e-07
    ("BatchNormalization", {"epsilon": 1e-3, "momentum": 0.8},
     [weight("s", 3), weight("b", 3), weight("m", 3), weight("v", 3)], [1, 3, 4, 5], [1, 3, 4, 5],
     {"batchnorm": {"eps": 0.001, "momentum": 0.2}}),  # ONNX's momentum keeps the running value: 1 - PyTorch's
    ("BatchNormalization", {"epsilon": 1e-12, "momentum": 0.1234567},
     [weight("s", 3), weight("b", 3), weight("m", 3), weight("v", 3)], [1, 3, 4, 5], [1, 3, 4, 5],
     {"batchnorm": {"eps": 1e-12, "momentum": 0.8765433}}),
    ("BatchNormalization", {}, [weight("s", 3), weight("b", 3), weight("m", 3), weight("v", 3)],
     [1, 3, 4, 5], [1, 3, 4, 5], {"batchnorm": None}),  # ONNX's 1e-5 and 0.9 are PyTorch's 1e-5 and 0.1
    ("Flatten", {}, [], [1, 3, 4, 5], [1, 60], {"flatten": None}),
    ("Flatten", {"axis": 2}, [], [1, 3, 4, 5], [3, 20], "Flatten from axis 2"),
    ("Conv", {"group": 3, "kernel_shape": [3, 3], "pads": [1, 1, 1, 1]}, [weight("w", 3, 1, 3, 3)], [1, 3, 4, 5],
     [1, 3, 4, 5], {"conv2d": {"out": 3, "kernel": 3, "padding": 1, "groups": "depthwise", "bias": False}}),
    ("Conv", {"strides": [2, 1], "dilations": [1, 2]}, [weight("w", 6, 3, 1, 2), weight("b", 6)], [1, 3, 4, 5],
     [1, 6, 2, 3], {"conv2d": {"out": 6, "kernel": [1, 2], "stride": [2, 1], "dilation": [1, 2]}}),
    ("ConvTranspose", {"strides": [2, 2], "output_padding": [1, 0], "group": 3}, [weight("w", 3, 2, 2, 2)],
     [1, 3, 4, 5], [1, 6, 9, 10],
     {"conv_transpose2d": {"out": 6, "kernel": 2, "stride": 2, "groups": 3, "bias": False, "output_padding": [1, 0]}}),
    ("ConvTranspose", {"output_shape": [9, 10]}, [weight("w", 3, 2, 2, 2)], [1, 3, 4, 5], [1, 2, 9, 10],
     "an output_shape attribute"),
]


@pytest.mark.parametrize("op, attributes, others, shape, out, expected", MORE_NODES,
                         ids=[f"{case[0]}-{index}" for index, case in enumerate(MORE_NODES)])
def test_more_nodes(tmp_path, op, attributes, others, shape, out, expected):
    assert_one_node(tmp_path, op, attributes, others, shape, out, expected)


def test_pad_before_opset_11_reads_its_attributes(tmp_path):
    """Until opset 11 Pad's pads and value are attributes (then inputs): read as the inputs are."""
    node = helper.make_node("Pad", ["x"], ["y"], "/Pad", pads=[0, 0, 1, 2, 0, 0, 3, 4])
    path = save(tmp_path, [node], [("x", [1, 3, 4, 5])], [], output=("y", [1, 3, 8, 11]), opset=10)
    assert yaml.safe_load(import_onnx(path))["layers"] == [
        {"name": "pad", "pad": {"padding": {"left": 2, "right": 4, "top": 1, "bottom": 3}}}]
    node = helper.make_node("Pad", ["x"], ["y"], "/Pad", pads=[0, 0, 1, 2, 0, 0, 3, 4], value=1.0)
    path = save(tmp_path, [node], [("x", [1, 3, 4, 5])], [], output=("y", [1, 3, 8, 11]), opset=10)
    with pytest.raises(SpecError, match="node '/Pad' \\(Pad\\): padding other than zeros around a 2-D map"):
        import_onnx(path)


@pytest.mark.parametrize("op, inputs, traced, why", [
    ("Reshape", ["x", "c"], False, "an output size that shape inference cannot work out"),
    ("Resize", ["x", "", "", "c"], False, "an output size that shape inference cannot work out"),
    # an exporter that records the sizes it traced: they hold for one input's values only
    ("Reshape", ["x", "c"], True, "a size computed from the input's values"),
    ("Resize", ["x", "", "", "c"], True, "a size computed from the input's values"),
    ("ReduceMean", ["x", "c"], True, "a mean over axes computed from the input"),
])
def test_sizes_computed_from_the_input_values_are_refused(tmp_path, op, inputs, traced, why):
    nodes = [helper.make_node("Cast", ["x"], ["c"], "/Cast", to=TensorProto.INT64),
             helper.make_node(op, inputs, ["r"], f"/{op}"), helper.make_node("Relu", ["r"], ["y"], "/Relu")]
    recorded = [helper.make_tensor_value_info("r", TensorProto.FLOAT, [1, 1, 2, 2])] if traced else []
    path = save(tmp_path, nodes, [("x", [1, 1, 1, 4])], [], output=("y", [1, 1, 2, 2]), value_info=recorded)
    with pytest.raises(SpecError, match=f"node '/{op}' \\({op}\\): {why}"):
        import_onnx(path)


@pytest.mark.parametrize("inputs, shapes, axis, expected", [
    (["cls", "x"], [(1, 2, 8), (1, 5, 8)], 1, {"class_token": 2}),  # ViT's [class token; patches]
    (["cls", "x"], [(1, 2, 8), (1, 5, 8)], -2, {"class_token": 2}),
    (["x", "cls"], [(1, 2, 8), (1, 5, 8)], 1, "a concatenation with a constant"),  # the token last
    (["cls", "x"], [(1, 5, 2), (1, 5, 8)], 2, "a concatenation with a constant"),  # along the features
    (["cls", "x"], [(1, 2, 4, 8), (1, 5, 4, 8)], 1, "a concatenation with a constant"),  # a map
    (["cls", "x", "cls2"], [(1, 2, 8), (1, 5, 8), (1, 1, 8)], 1, "a concatenation with a constant"),
])
def test_a_constant_concatenated_before_the_tokens_is_a_class_token(tmp_path, inputs, shapes, axis, expected):
    """The exporters write ViT's torch.cat([class_token.expand(n, -1, -1), x], dim=1) as a Concat of the parameter
    and the patches: paramcalc's class_token; any other concatenation with a constant is refused."""
    constants = [weight(name, *shape) for name, shape in zip(inputs, shapes) if name != "x"]
    x = shapes[inputs.index("x")]
    out = [sum(shape[axis] for shape in shapes) if position == axis % len(x) else size
           for position, size in enumerate(x)]
    node = helper.make_node("Concat", inputs, ["y"], "/Concat", axis=axis)
    path = save(tmp_path, [node], [("x", list(x))], constants, output=("y", out))
    if isinstance(expected, str):
        with pytest.raises(SpecError, match=f"node '/Concat' \\(Concat\\): {expected}"):
            import_onnx(path)
    else:
        assert yaml.safe_load(import_onnx(path))["layers"] == [{"name": "class_token", **expected}]


def test_a_shape_partly_worked_out_is_refused_and_a_scalar_has_no_batch(tmp_path):
    """x.reshape(1, int(x.max()), 4, 5): shape inference knows every size but one; the scalar x.max() unsqueezed
    has no batch to keep."""
    nodes = [helper.make_node("Cast", ["x"], ["c"], "/Cast", to=TensorProto.INT64),
             helper.make_node("ReduceMax", ["c"], ["m"], "/ReduceMax", keepdims=0),
             helper.make_node("Unsqueeze", ["m", "zero"], ["m1"], "/Unsqueeze"),
             helper.make_node("Concat", ["one", "m1", "rest"], ["s"], "/Concat", axis=0),
             helper.make_node("Reshape", ["x", "s"], ["r"], "/Reshape"),
             helper.make_node("Relu", ["r"], ["y"], "/Relu")]
    path = save(tmp_path, nodes, [("x", [1, 3, 4, 5])], [ints("zero", [0]), ints("one", [1]), ints("rest", [4, 5])],
                output=("y", [1, 3, 4, 5]))
    with pytest.raises(SpecError) as caught:
        import_onnx(path)
    assert "node '/Reshape' (Reshape): an output size that shape inference cannot work out" in str(caught.value)
    assert "node '/Unsqueeze' (Unsqueeze): a reshape that changes the batch" in str(caught.value)


def test_torchscript_names_of_one_stem_are_taken_for_one_class(tmp_path):
    """Without classes (the TorchScript exporter names nodes by path only), layer1.0 and layer1.1 are one class
    (LayerBlock: the parent's stem and 'block'), encoder_layer_0 and encoder_layer_1 another (EncoderLayer), a
    module of numbered children a Sequential: alike uses become one block, repeated."""
    def conv(source: str, out: str, path: str, name: str):
        parts = path.split(".")
        scopes = [".".join(parts[:end]) for end in range(1, len(parts) + 1)]
        return helper.make_node("Conv", [source, f"{path}.{name}.weight"], [out],
                                "/" + "/".join([*scopes, name, "Conv"]), kernel_shape=[1, 1])

    nodes = [conv("x", "a", "layer1.0", "conv"), helper.make_node("Relu", ["a"], ["b"], "/layer1/layer1.0/relu/Relu"),
             conv("b", "c", "layer1.1", "conv"), helper.make_node("Relu", ["c"], ["d"], "/layer1/layer1.1/relu/Relu"),
             conv("d", "e", "encoder.encoder_layer_0", "fc"), conv("e", "y", "encoder.encoder_layer_1", "fc")]
    paths = ("layer1.0.conv", "layer1.1.conv", "encoder.encoder_layer_0.fc", "encoder.encoder_layer_1.fc")
    weights = [weight(f"{path}.weight", 4, 4, 1, 1) for path in paths]
    path = save(tmp_path, nodes, [("x", [1, 4, 5, 5])], weights, output=("y", [1, 4, 5, 5]), opset=13)
    spec = yaml.safe_load(import_onnx(path))
    conv_layer = {"conv2d": {"out": 4, "kernel": 1, "bias": False}}
    assert spec["blocks"] == {
        "layer_block": {"layers": [{"name": "conv", **conv_layer}, {"name": "relu", "relu": None}]},
        "encoder_layer": {"layers": [{"name": "fc", **conv_layer}]}}
    assert spec["layers"] == [{"name": "layer1", "repeat": 2, "layer_block": None},
                              {"name": "encoder", "repeat": 2, "names": "encoder_layer_0", "encoder_layer": None}]


def attention_graph(tmp_path, one_projection: bool = True, bias: bool = True, batched_heads: bool = False) -> str:
    """nn.MultiheadAttention(8, 2) on 5 tokens as the TorchScript exporter writes it, in module `attn`: the
    projection to queries, keys and values (one 8 x 24 weight and bias, or three 8 x 8 without bias), the heads
    split, scores, softmax, the weighted sum, the heads merged and the output projection (8 x 8 and a bias).
    The heads sit on axis 1 of the scores (1 x 2 x 5 x 5) or, batched_heads, with the batch on axis 0 (2 x 5 x 5)."""
    def node(op, inputs, outputs, name, **attributes):
        return helper.make_node(op, inputs, outputs, f"/attn/{name}", **attributes)

    order = ([1, 0, 2], [1, 2, 0], [1, 0, 2]) if batched_heads else ([0, 2, 1, 3], [0, 2, 3, 1], [0, 2, 1, 3])
    heads = [node("Reshape", [f"{x}0", "split"], [f"{x}1"], f"Reshape_{x}") for x in "qkv"] + [
        node("Transpose", ["q1"], ["q"], "Transpose_q", perm=order[0]),
        node("Transpose", ["k1"], ["kt"], "Transpose_k", perm=order[1]),
        node("Transpose", ["v1"], ["v"], "Transpose_v", perm=order[2])]
    if one_projection:
        project = [node("MatMul", ["x", "w_in"], ["p" if bias else "qkv"], "MatMul"),
                   *([node("Add", ["p", "b_in"], ["qkv"], "Add")] if bias else []),
                   *(node("Slice", ["qkv", f"from_{x}", f"to_{x}", "last"], [f"{x}0"], f"Slice_{x}") for x in "qkv")]
        weights = [weight("w_in", 8, 24), *([weight("b_in", 24)] if bias else []),
                   *(ints(f"from_{x}", [8 * i]) for i, x in enumerate("qkv")),
                   *(ints(f"to_{x}", [8 * i + 8]) for i, x in enumerate("qkv")), ints("last", [2])]
    else:
        project = [node("MatMul", ["x", f"w_{x}"], [f"{x}0"], f"MatMul_{x}") for x in "qkv"]
        weights = [weight(f"w_{x}", 8, 8) for x in "qkv"]
    nodes = [*project, *heads,
             node("MatMul", ["q", "kt"], ["s"], "MatMul_1"), node("Mul", ["s", "scale"], ["s2"], "Mul"),
             node("Softmax", ["s2"], ["a"], "Softmax", axis=-1), node("MatMul", ["a", "v"], ["o"], "MatMul_2"),
             node("Transpose", ["o"], ["ot"], "Transpose_o", perm=[1, 0, 2] if batched_heads else [0, 2, 1, 3]),
             node("Reshape", ["ot", "merge"], ["m"], "Reshape_o"),
             node("MatMul", ["m", "w_out"], ["po" if bias else "y"], "out_proj/MatMul"),
             *([node("Add", ["po", "b_out"], ["y"], "out_proj/Add")] if bias else [])]
    weights += [ints("split", [5, 2, 4] if batched_heads else [1, 5, 2, 4]), scalar("scale", 0.5),
                ints("merge", [1, 5, 8]), weight("w_out", 8, 8), *([weight("b_out", 8)] if bias else [])]
    return save(tmp_path, nodes, [("x", [1, 5, 8])], weights, output=("y", [1, 5, 8]), opset=13)


def test_attention_split_into_nodes_is_one_attention_layer(tmp_path):
    """The nodes of module `attn` (a softmax between products of computed tensors) are read back as one layer:
    2 heads from the scores' shape (1 x 2 x 5 x 5), its parameters the file's: 8·24 + 24 + 8·8 + 8 = 288."""
    spec = yaml.safe_load(import_onnx(attention_graph(tmp_path)))
    assert spec["layers"] == [{"name": "attn", "attention": 2}]
    assert paramcalc.analyze(spec).totals.params == 8 * 24 + 24 + 8 * 8 + 8
    # named custom, the module is one custom layer with the file's parameters
    spec = yaml.safe_load(import_onnx(attention_graph(tmp_path), custom=("attn",)))
    assert spec["layers"] == [{"name": "attn", "custom": {"out": [5, 8], "params": 288, "macs": 0}}]


@pytest.mark.parametrize("options, expected, params", [
    ({"bias": False}, {"attention": {"heads": 2, "bias": False}}, 8 * 24 + 8 * 8),
    ({"batched_heads": True}, {"attention": 2}, 8 * 24 + 24 + 8 * 8 + 8),  # 2 x 5 x 5 scores, a batch of 1: 2 heads
])
def test_attention_s_heads_and_biases_are_read_from_the_graph(tmp_path, options, expected, params):
    spec = yaml.safe_load(import_onnx(attention_graph(tmp_path, **options)))
    assert spec["layers"] == [{"name": "attn", **expected}] and paramcalc.analyze(spec).totals.params == params


def test_attention_with_a_projection_each_is_refused(tmp_path):
    with pytest.raises(SpecError, match="attention without one projection for queries, keys and values"):
        import_onnx(attention_graph(tmp_path, one_projection=False))


BATCHNORM = "torch.nn.modules.batchnorm.BatchNorm2d"


@pytest.mark.parametrize("scopes, classes, weight_name, expected", [
    # the dynamo exporter folds bn into conv and scopes the node as bn's; the weight's name says it is conv's
    (["block", "block.bn"], ["net.Block", BATCHNORM], "block.conv.weight", [("block", "conv")]),
    (["bn"], [BATCHNORM], "conv.weight", [(None, "conv")]),  # at the top level
    # a weight of another module's name (not the norm's sibling), or not a module's weight: the norm's scope stays
    (["block", "block.bn"], ["net.Block", BATCHNORM], "other.conv.weight", [("block", "bn")]),
    (["block", "block.bn"], ["net.Block", BATCHNORM], "onnx::Conv_7", [("block", "bn")]),
    (["bn"], [BATCHNORM], "block.conv.weight", [(None, "bn")]),
    (["block", "block.conv"], ["net.Block", CONV2D], "block.conv.weight", [("block", "conv")]),
])
def test_a_convolution_folded_into_the_batch_norm_after_it_takes_its_weight_s_name(tmp_path, scopes, classes,
                                                                                    weight_name, expected):
    node = scoped(helper.make_node("Conv", ["x", weight_name], ["y"], kernel_shape=[1, 1]), scopes, classes)
    path = save(tmp_path, [node], [("x", [1, 3, 4, 4])], [weight(weight_name, 3, 3, 1, 1)], output=("y", [1, 3, 4, 4]))
    layers = yaml.safe_load(import_onnx(path))["layers"]
    found = [(layer["name"], layer["layers"][0]["name"]) if "layers" in layer else (None, layer["name"])
             for layer in layers]
    assert found == expected


def test_nodes_that_give_their_input_are_no_layers_and_a_module_of_several_nodes_is_a_group(tmp_path):
    """Identity, Cast, a Dropout at inference (one output, no training flag) and a Concat of one tensor give their
    input: no layer. Two nodes in one module's scope (/block/Conv, /block/Relu) are that module's functions,
    named by kind; a module's only node (/head/Conv) is the module, named by it."""
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], "/block/Conv", kernel_shape=[1, 1]),
             helper.make_node("Relu", ["c"], ["r"], "/block/Relu"),
             helper.make_node("Identity", ["r"], ["i"], "/Identity"),
             helper.make_node("Cast", ["i"], ["k"], "/Cast", to=TensorProto.FLOAT),
             helper.make_node("Dropout", ["k"], ["d"], "/drop/Dropout"),
             helper.make_node("Concat", ["d"], ["j"], "/Concat", axis=1),
             helper.make_node("Conv", ["j", "w2"], ["y"], "/head/Conv", kernel_shape=[1, 1])]
    path = save(tmp_path, nodes, [("x", [1, 3, 4, 4])], [weight("w", 3, 3, 1, 1), weight("w2", 2, 3, 1, 1)],
                output=("y", [1, 2, 4, 4]), opset=13)
    assert yaml.safe_load(import_onnx(path))["layers"] == [
        {"name": "block", "layers": [{"name": "conv2d", "conv2d": {"out": 3, "kernel": 1, "bias": False}},
                                     {"name": "relu", "relu": None, "functional": True}]},
        {"name": "head", "conv2d": {"out": 2, "kernel": 1, "bias": False}}]


@pytest.mark.parametrize("start, end, expected", [
    (0, 1, {"flatten": None}),  # x.reshape(x.shape[0], -1)
    (None, None, {"reshape": [3, 4, 5]}),  # the whole shape, and nothing more: x itself
    (-1, None, "a reshape that changes the batch"),  # the last size (5) first: 5 x 12
])
def test_shape_arithmetic_with_start_and_end_is_worked_out(tmp_path, start, end, expected):
    """Shape(x, start, end) (opset 15), then Concat with -1 and Reshape: the size folded from the slice of the
    shape it reads."""
    bounds = {key: value for key, value in (("start", start), ("end", end)) if value is not None}
    nodes = [helper.make_node("Shape", ["x"], ["s"], "/Shape", **bounds),
             helper.make_node("Concat", ["s", "rest"], ["target"], "/Concat", axis=0),
             helper.make_node("Reshape", ["x", "target"], ["y"], "/Reshape")]
    rest = [-1] if start is not None else []
    sizes = {0: [1, 60], None: [1, 3, 4, 5], -1: [5, 12]}[start]
    path = save(tmp_path, nodes, [("x", [1, 3, 4, 5])], [ints("rest", rest)], output=("y", sizes), opset=15)
    if isinstance(expected, str):
        with pytest.raises(SpecError, match=expected):
            import_onnx(path)
        return
    layers = yaml.safe_load(import_onnx(path))["layers"]
    assert [{key: value for key, value in layer.items() if key != "name"} for layer in layers] == [expected]


def test_scope_metadata_another_tool_wrote_is_no_scope(tmp_path):
    """Metadata under the dynamo exporter's keys that is not its lists: the node is in no module, and no call is
    marked a function (there are no scopes to tell)."""
    node = helper.make_node("Relu", ["x"], ["y"], "relu_node")
    helper.set_metadata_props(node, {"pkg.torch.onnx.name_scopes": "block/relu",
                                     "pkg.torch.onnx.class_hierarchy": "Block/ReLU"})
    path = save(tmp_path, [node], [("x", [1, 3, 4, 4])], [], output=("y", [1, 3, 4, 4]))
    assert yaml.safe_load(import_onnx(path))["layers"] == [{"name": "relu", "relu": None}]


def test_a_weight_written_as_a_large_constant_node_is_a_weight(tmp_path):
    """A Constant node too large to work out (over 100,000 values, 400 x 300 here) is read for its shape: the Gemm
    it feeds is a linear layer of 400 outputs, and named custom its 120,000 values are the parameters."""
    value = helper.make_tensor("w", TensorProto.FLOAT, [400, 300], [0.5] * 120_000)
    nodes = [helper.make_node("Constant", [], ["w"], "/fc/Constant", value=value),
             helper.make_node("Gemm", ["x", "w"], ["y"], "/fc/Gemm", transB=1)]
    path = save(tmp_path, nodes, [("x", [1, 300])], [], output=("y", [1, 400]))
    assert yaml.safe_load(import_onnx(path))["layers"] == [{"name": "fc", "linear": {"out": 400, "bias": False}}]
    assert yaml.safe_load(import_onnx(path, custom=("fc",)))["layers"] == [
        {"name": "fc", "custom": {"out": [400], "params": 120_000, "macs": 0}}]
