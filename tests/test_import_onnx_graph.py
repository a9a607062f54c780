"""How `paramcalc import model.onnx` reads a graph (paramcalc.importing.onnx_graph): the names, scopes and metadata the
exporters write, the shape arithmetic it works out first, and what it refuses, on graphs written node by node here
as each exporter writes them. The expected layers follow from the graphs as written; the figures are worked out by
hand."""

from __future__ import annotations

import pytest
import yaml

import paramcalc
from paramcalc.errors import SpecError

onnx = pytest.importorskip("onnx")
import numpy
from onnx import TensorProto, helper, numpy_helper

from paramcalc.importing import onnx_graph
from paramcalc.importing.onnx_graph import import_onnx

from .test_import_onnx import BATCHNORM, CONV2D, SEQUENTIAL, attention_graph, conv_net, ints, save, scoped, weight


def layers_of(path: str, **options) -> list:
    return yaml.safe_load(import_onnx(path, **options))["layers"]


def refusal(path: str, **options) -> str:
    with pytest.raises(SpecError) as caught:
        import_onnx(path, **options)
    return caught.value.message


ANOTHER_DOMAIN = [("", 20), ("com.example", 1)]  # ONNX's opset and one of com.example's operators


# --- what the spec says about the file ------------------------------------------------------------------------
def test_the_header_says_which_opset_and_what_wrote_the_file(tmp_path):
    assert import_onnx(conv_net(tmp_path)).splitlines()[:3] == [
        "# Imported by paramcalc from model.onnx (opset 20, written by hand).",
        "# Layer names are the exporter's module names. The figures are those of the graph in the file: an",
        "# exporter may have folded batch norms into the convolutions before them."]
    # ONNX's own domain spelled out; another domain's opset and a missing producer are not listed
    path = save(tmp_path, [helper.make_node("Relu", ["x"], ["y"], "/act/Relu")], [("x", [1, 4])], [], name="m.onnx",
                output=("y", [1, 4]), opsets=[("ai.onnx", 13), ("com.example", 1)], producer="")
    assert import_onnx(path).splitlines()[0] == "# Imported by paramcalc from m.onnx (opset 13)."


def test_every_refused_part_is_listed_once_by_its_node(tmp_path):
    # Split has no kind; Erf (a node without a name: named by its output) reads Split's second output
    nodes = [helper.make_node("Split", ["x"], ["a", "b"], "/split/Split", axis=1, num_outputs=2),
             helper.make_node("Erf", ["b"], ["e"]),
             helper.make_node("Add", ["a", "e"], ["y"], "/Add")]
    path = save(tmp_path, nodes, [("x", [1, 4, 2])], [], output=("y", [1, 2, 2]))
    assert refusal(path) == (
        f"paramcalc has no layer kind for 2 part(s) of {path}:\n"
        "  - node 'e' (Erf): it reads a second output of a node (paramcalc's layers give one)\n"
        "  - node '/split/Split' (Split in split): no layer kind")


def test_a_model_of_two_inputs_is_refused_by_its_file(tmp_path):
    path = save(tmp_path, [helper.make_node("Add", ["a", "b"], ["y"])], [("a", [1, 4]), ("b", [1, 4])], [],
                output=("y", [1, 4]))
    assert refusal(path) == f"{path}: the model has 2 inputs (paramcalc models take one)"


def test_a_file_of_the_largest_size_is_read_and_one_byte_more_is_refused(tmp_path, monkeypatch):
    path = conv_net(tmp_path)
    size = (tmp_path / "model.onnx").stat().st_size
    monkeypatch.setattr(onnx_graph, "MAX_ONNX_BYTES", size)
    assert len(layers_of(path)) == 7
    monkeypatch.setattr(onnx_graph, "MAX_ONNX_BYTES", size - 1)
    assert refusal(path) == f"{path}: {size:,} bytes is larger than an ONNX file can be ({size - 1:,})"


def test_weights_kept_in_a_separate_file_are_not_read(tmp_path):
    """A large model keeps its weights beside the .onnx file; only their shapes count, so the file of weights need
    not even be there."""
    fc = [numpy_helper.from_array(numpy.full((400, 300), 0.5, numpy.float32), "fc.weight"),
          numpy_helper.from_array(numpy.zeros(400, numpy.float32), "fc.bias")]
    graph = helper.make_graph([helper.make_node("Gemm", ["x", "fc.weight", "fc.bias"], ["y"], "/fc/Gemm", transB=1)],
                              "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 300])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 400])], initializer=fc)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.save(model, str(tmp_path / "big.onnx"), save_as_external_data=True, location="big.data", size_threshold=1024)
    (tmp_path / "big.data").unlink()
    spec = yaml.safe_load(import_onnx(str(tmp_path / "big.onnx")))
    assert spec["layers"] == [{"name": "fc", "linear": 400}]
    assert paramcalc.analyze(spec).totals.params == 300 * 400 + 400


# --- shape arithmetic -----------------------------------------------------------------------------------------
def test_shape_arithmetic_is_worked_out_as_the_file_s_opset_says(tmp_path):
    """Opset 11 writes Unsqueeze's axes as an attribute (an input since 13): x.view(x.size(0), -1) folds as opset 11
    runs it, and is a flatten."""
    nodes = [helper.make_node("Shape", ["x"], ["s"], "/Shape"),
             helper.make_node("Gather", ["s", "zero"], ["n"], "/Gather", axis=0),
             helper.make_node("Unsqueeze", ["n"], ["n1"], "/Unsqueeze", axes=[0]),
             helper.make_node("Concat", ["n1", "minus_one"], ["target"], "/Concat", axis=0),
             helper.make_node("Reshape", ["x", "target"], ["r"], "/Reshape"),
             helper.make_node("Relu", ["r"], ["y"], "/act/Relu")]
    zero = helper.make_tensor("zero", TensorProto.INT64, [], [0])
    path = save(tmp_path, nodes, [("x", [1, 4, 2, 3])], [zero, ints("minus_one", [-1])], output=("y", [1, 24]),
                opset=11)
    assert layers_of(path) == [{"name": "flatten", "flatten": None}, {"name": "act", "relu": None}]


@pytest.mark.parametrize("sizes, out, expected", [
    ([0], [60], {"flatten": None}),  # x.view(x.size(0), -1)
    ([0, 1], [3, 20], {"reshape": [3, 20]}),  # x.view(x.size(0), x.size(1), -1)
])
def test_a_model_exported_for_any_batch_size_reads_its_sizes(tmp_path, sizes, out, expected):
    """The batch is a name (N), not a number: the shape's other sizes are known, the batch's is not, and no size is
    taken for 0."""
    nodes = [helper.make_node("Shape", ["x"], ["s"], "/Shape")]
    for axis in sizes:
        nodes += [helper.make_node("Gather", ["s", f"i{axis}"], [f"g{axis}"], f"/Gather_{axis}", axis=0),
                  helper.make_node("Unsqueeze", [f"g{axis}", "axes"], [f"u{axis}"], f"/Unsqueeze_{axis}")]
    nodes += [helper.make_node("Concat", [*(f"u{axis}" for axis in sizes), "minus_one"], ["t"], "/Concat", axis=0),
              helper.make_node("Reshape", ["x", "t"], ["y"], "/Reshape")]
    indices = [helper.make_tensor(f"i{axis}", TensorProto.INT64, [], [axis]) for axis in sizes]
    path = save(tmp_path, nodes, [("x", ["N", 3, 4, 5])], [*indices, ints("axes", [0]), ints("minus_one", [-1])],
                output=("y", ["N", *out]), opset=13)
    layers = layers_of(path)
    assert [{key: value for key, value in layer.items() if key != "name"} for layer in layers] == [expected]
    assert paramcalc.analyze(import_onnx(path)).totals.output_shape == tuple(out)


def test_a_batch_of_any_size_and_shape_start_and_end(tmp_path):
    """Shape(x, end=1) and Shape(x, start=1, end=2) of an input of any batch: x.view(x.size(0), x.size(1), -1)."""
    nodes = [helper.make_node("Shape", ["x"], ["n"], "/Shape", end=1),
             helper.make_node("Shape", ["x"], ["c"], "/Shape_1", start=1, end=2),
             helper.make_node("Concat", ["n", "c", "minus_one"], ["t"], "/Concat", axis=0),
             helper.make_node("Reshape", ["x", "t"], ["y"], "/Reshape")]
    path = save(tmp_path, nodes, [("x", ["N", 3, 4, 5])], [ints("minus_one", [-1])], output=("y", ["N", 3, 20]),
                opset=15)
    assert layers_of(path) == [{"name": "reshape", "reshape": [3, 20]}]


def test_a_dropout_with_a_ratio_at_inference_is_no_layer(tmp_path):
    nodes = [helper.make_node("Dropout", ["x", "ratio"], ["d"], "/drop/Dropout"),
             helper.make_node("Relu", ["d"], ["y"], "/act/Relu")]
    ratio = helper.make_tensor("ratio", TensorProto.FLOAT, [], [0.25])
    path = save(tmp_path, nodes, [("x", [1, 4])], [ratio], output=("y", [1, 4]), opset=13)
    assert layers_of(path) == [{"name": "act", "relu": None}]


# --- the exporters' scopes ------------------------------------------------------------------------------------
def conv_node(source: str, out: str, weight_name: str, name: str = "") -> object:
    return helper.make_node("Conv", [source, weight_name], [out], name, kernel_shape=[1, 1])


def test_dynamo_scopes_without_classes_name_the_layers(tmp_path):
    node = conv_node("x", "y", "block.conv.weight")
    helper.set_metadata_props(node, {"pkg.torch.onnx.name_scopes": repr(["", "block", "block.conv", "op"])})
    path = save(tmp_path, [node], [("x", [1, 3, 4, 4])], [weight("block.conv.weight", 3, 3, 1, 1)],
                output=("y", [1, 3, 4, 4]))
    assert layers_of(path) == [{"name": "block", "layers": [
        {"name": "conv", "conv2d": {"out": 3, "kernel": 1, "bias": False}}]}]


def test_a_function_a_module_calls_beside_its_children_is_marked_functional(tmp_path):
    """F.relu in Block's forward, after its conv: in the dynamo exporter's scopes, and in TorchScript's names."""
    dynamo = [scoped(conv_node("x", "c", "block.conv.weight"), ["block", "block.conv"], ["net.Block", CONV2D]),
              scoped(helper.make_node("Relu", ["c"], ["y"]), ["block"], ["net.Block"])]
    torchscript = [conv_node("x", "c", "block.conv.weight", "/block/conv/Conv"),
                   helper.make_node("Relu", ["c"], ["y"], "/block/Relu")]
    for nodes in (dynamo, torchscript):
        path = save(tmp_path, nodes, [("x", [1, 3, 4, 4])], [weight("block.conv.weight", 3, 3, 1, 1)],
                    output=("y", [1, 3, 4, 4]))
        assert layers_of(path) == [{"name": "block", "layers": [
            {"name": "conv", "conv2d": {"out": 3, "kernel": 1, "bias": False}},
            {"name": "relu", "relu": None, "functional": True}]}]


def test_a_class_name_is_a_block_s_name_without_other_characters(tmp_path):
    nodes, previous = [], "x"
    for index in range(2):  # two functions each: the module is a group
        nodes += [scoped(helper.make_node(op, [previous if op == "Relu" else f"r{index}"], [f"{op[0].lower()}{index}"]),
                         [f"unit{index}"], ["net.<locals>.Odd Block!"]) for op in ("Relu", "Sigmoid")]
        previous = f"s{index}"
    nodes[-1].output[0] = "y"
    spec = yaml.safe_load(import_onnx(save(tmp_path, nodes, [("x", [1, 4])], [], output=("y", [1, 4]))))
    assert list(spec["blocks"]) == ["odd_block"]
    assert spec["layers"] == [{"name": "unit0", "odd_block": None}, {"name": "unit1", "odd_block": None}]


def test_a_class_of_the_model_s_own_is_marked_only_where_it_runs_a_kind_under_another_name(tmp_path):
    """`module` says a layer is run by a class other than its kind's module: a class outside torch.nn that is the
    kind's own module (torchvision's Permute) is no other class, and a custom layer has no kind's module."""
    nodes = [scoped(conv_node("x", "c", "conv.weight"), ["conv"], ["net.FancyConv"]),
             scoped(helper.make_node("Transpose", ["c"], ["t"], perm=[0, 2, 3, 1]), ["permute"],
                    ["torchvision.ops.misc.Permute"]),
             scoped(helper.make_node("Erf", ["t"], ["y"]), ["act"], ["net.Fancy"])]
    path = save(tmp_path, nodes, [("x", [1, 3, 4, 4])], [weight("conv.weight", 3, 3, 1, 1)],
                output=("y", [1, 4, 4, 3]))
    assert layers_of(path, custom=("act",)) == [
        {"name": "conv", "conv2d": {"out": 3, "kernel": 1, "bias": False}, "module": "FancyConv"},
        {"name": "permute", "permute": [0, 2, 3, 1]}, {"name": "act", "custom": {"out": [4, 4, 3], "macs": 0}}]


def test_names_that_are_not_torchscript_paths_are_no_scopes(tmp_path):
    """tf2onnx names nodes 'model/dense/Relu': not a path of PyTorch modules."""
    path = save(tmp_path, [helper.make_node("Relu", ["x"], ["y"], "model/dense/Relu")], [("x", [1, 4])], [],
                output=("y", [1, 4]))
    assert layers_of(path) == [{"name": "relu", "relu": None}]


def test_a_nested_torchscript_path_is_the_module_s_full_path(tmp_path):
    """'/layer1/layer1.0/conv1/Conv' is module layer1.0.conv1, which --custom names."""
    nodes = [conv_node("x", "y", "layer1.0.conv1.weight", "/layer1/layer1.0/conv1/Conv")]
    path = save(tmp_path, nodes, [("x", [1, 3, 4, 4])], [weight("layer1.0.conv1.weight", 3, 3, 1, 1)],
                output=("y", [1, 3, 4, 4]))
    assert layers_of(path, custom=("layer1.0.conv1",)) == [{"name": "layer1", "layers": [{"name": 0, "layers": [
        {"name": "conv1", "custom": {"out": [3, 4, 4], "params": 9, "macs": 0}}]}]}]


def two_conv_modules(paths: list[str]) -> list:
    """For each path: a module of a 1x1 conv and a ReLU, named as the TorchScript exporter names them."""
    nodes, previous = [], "x"
    for index, path in enumerate(paths):
        scopes = "/".join(".".join(path.split(".")[:end]) for end in range(1, len(path.split(".")) + 1))
        nodes += [conv_node(previous, f"c{index}", f"{path}.conv.weight", f"/{scopes}/conv/Conv"),
                  helper.make_node("Relu", [f"c{index}"], [f"r{index}"], f"/{scopes}/act/Relu")]
        previous = f"r{index}"
    nodes[-1].output[0] = "y"
    return nodes


@pytest.mark.parametrize("paths, blocks, layers", [
    # a model that is an nn.Sequential: its children 0 and 1 are one class, named after the model's modules
    (["0", "1"], ["module_block"], [{"name": 0, "module_block": None}, {"name": 1, "module_block": None}]),
    # stages of numbered children are Sequentials, whose children are one class of the stages' stem
    (["layer1.0", "layer1.1", "layer2.0", "layer2.1"], ["layer_block"],
     [{"name": "layer1", "repeat": 2, "layer_block": None}, {"name": "layer2", "repeat": 2, "layer_block": None}]),
    # a stem of no letters is a Module, whose block is not named as a layer's key (module)
    (["_1", "_2"], ["module_block"], [{"name": "_1", "module_block": None}, {"name": "_2", "module_block": None}]),
])
def test_torchscript_modules_are_taken_for_one_class_by_their_stem(tmp_path, paths, blocks, layers):
    weights = [weight(f"{path}.conv.weight", 3, 3, 1, 1) for path in paths]
    spec = yaml.safe_load(import_onnx(save(tmp_path, two_conv_modules(paths), [("x", [1, 3, 4, 4])], weights,
                                           output=("y", [1, 3, 4, 4]))))
    assert list(spec["blocks"]) == blocks and spec["layers"] == layers
    assert spec["blocks"][blocks[0]]["layers"] == [{"name": "conv", "conv2d": {"out": 3, "kernel": 1, "bias": False}},
                                                   {"name": "act", "relu": None}]
    assert paramcalc.analyze(spec).totals.params == 9 * len(paths)


@pytest.mark.parametrize("op, shape, weight_shape, scopes, classes, weight_name, expected", [
    ("ConvTranspose", [1, 3, 4, 4], (3, 3, 1, 1), ["block", "block.bn"], ["net.Block", BATCHNORM],
     "block.up.weight", ["block", "up"]),
    ("Gemm", [1, 3], (3, 3), ["block", "block.bn"], ["net.Block", "torch.nn.modules.batchnorm.BatchNorm1d"],
     "block.fc.weight", ["block", "fc"]),
    ("Conv", [1, 3, 4, 4], (3, 3, 1, 1), ["layer1", "layer1.0", "layer1.0.bn1"],
     [SEQUENTIAL, "net.BasicBlock", BATCHNORM], "layer1.0.conv1.weight", ["layer1", 0, "conv1"]),
    # a module that is no batch norm keeps the node, whatever its weight's name
    ("Conv", [1, 3, 4, 4], (3, 3, 1, 1), ["block", "block.fused"], ["net.Block", "net.Fused"], "block.conv.weight",
     ["block", "fused"]),
])
def test_a_layer_folded_into_a_batch_norm_takes_its_weight_s_module(tmp_path, op, shape, weight_shape, scopes,
                                                                      classes, weight_name, expected):
    attributes = {"transB": 1} if op == "Gemm" else {"kernel_shape": [1, 1]}
    node = scoped(helper.make_node(op, ["x", weight_name], ["y"], **attributes), scopes, classes)
    path = save(tmp_path, [node], [("x", shape)], [weight(weight_name, *weight_shape)], output=("y", shape))
    names, layers = [], layers_of(path)
    while layers:
        names.append(layers[0]["name"])
        layers = layers[0].get("layers")
    assert names == expected


# --- modules read as one layer ----------------------------------------------------------------------------------
def test_a_module_named_custom_is_one_custom_layer_with_its_weights(tmp_path):
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["h"], "/mlp/fc1/MatMul"),
             helper.make_node("Relu", ["h"], ["r"], "/mlp/Relu"),
             helper.make_node("MatMul", ["r", "w2"], ["y"], "/mlp/fc2/MatMul")]
    path = save(tmp_path, nodes, [("x", [1, 5, 8])], [weight("w1", 8, 16), weight("w2", 16, 4)],
                output=("y", [1, 5, 4]))
    assert layers_of(path, custom=("mlp",)) == [{"name": "mlp", "custom": {"out": [5, 4], "params": 192, "macs": 0}}]


def test_a_product_of_two_computed_tensors_is_attention_only_beside_a_softmax(tmp_path):
    gram = [helper.make_node("Transpose", ["x"], ["t"], "/gram/Transpose", perm=[0, 2, 1]),
            helper.make_node("MatMul", ["x", "t"], ["y"], "/gram/MatMul")]
    path = save(tmp_path, gram, [("x", [1, 5, 8])], [], output=("y", [1, 5, 5]))
    assert "node '/gram/MatMul' (MatMul in gram): a product of two computed tensors outside attention" in \
        refusal(path)
    # a classifier's product by a weight, then a softmax: a linear layer and a softmax
    head = [helper.make_node("MatMul", ["x", "w"], ["m"], "/head/MatMul"),
            helper.make_node("Softmax", ["m"], ["y"], "/head/Softmax", axis=-1)]
    path = save(tmp_path, head, [("x", [1, 5, 8])], [weight("w", 8, 10)], output=("y", [1, 5, 10]))
    assert layers_of(path) == [{"name": "head", "layers": [{"name": "linear", "linear": {"out": 10, "bias": False}},
                                                           {"name": "softmax", "softmax": -1, "functional": True}]}]


def test_attention_in_a_module_s_child_is_named_by_the_attention_module(tmp_path):
    """The projection in a child scope (attn.in_proj), the module inside another (encoder.attn)."""
    model = onnx.load(attention_graph(tmp_path))
    for node in model.graph.node:
        node.name = node.name.replace("/attn/MatMul", "/attn/in_proj/MatMul", 1) if node.name == "/attn/MatMul" \
            else node.name
        node.name = "/encoder" + node.name.replace("/attn/", "/encoder.attn/", 1)
    onnx.save(model, str(tmp_path / "nested.onnx"))
    spec = yaml.safe_load(import_onnx(str(tmp_path / "nested.onnx")))
    assert spec["layers"] == [{"name": "encoder", "layers": [{"name": "attn", "attention": 2}]}]
    assert paramcalc.analyze(spec).totals.params == 8 * 24 + 24 + 8 * 8 + 8


# --- where the graph's layers end up -------------------------------------------------------------------------
def test_the_spec_s_output_is_the_graph_s_output(tmp_path):
    nodes = [helper.make_node("Relu", ["x"], ["y"], "/act/Relu"),
             helper.make_node("Sigmoid", ["y"], ["unused"], "/gate/Sigmoid")]
    text = import_onnx(save(tmp_path, nodes, [("x", [1, 4])], [], output=("y", [1, 4])))
    assert yaml.safe_load(text)["output"] == "act"
    assert [layer["name"] for layer in yaml.safe_load(text)["layers"]] == ["act", "gate"]


def test_a_module_that_reads_the_model_s_input_beside_its_own_is_refused(tmp_path):
    """block(stem(x), x): inside a group, `input` is the group's input; the spec cannot name the model's."""
    nodes = [conv_node("x", "s", "w0", "/stem/Conv"), conv_node("s", "c", "w1", "/block/conv/Conv"),
             helper.make_node("Add", ["c", "x"], ["y"], "/block/Add")]
    path = save(tmp_path, nodes, [("x", [1, 3, 4, 4])], [weight("w0", 3, 3, 1, 1), weight("w1", 3, 3, 1, 1)],
                output=("y", [1, 3, 4, 4]))
    assert refusal(path).startswith("module 'block' reads the model's input beside its own input")
    # at the model's level the input is `input`
    nodes[2].name = "/Add"
    path = save(tmp_path, nodes, [("x", [1, 3, 4, 4])], [weight("w0", 3, 3, 1, 1), weight("w1", 3, 3, 1, 1)],
                output=("y", [1, 3, 4, 4]))
    assert layers_of(path)[-1] == {"name": "add", "add": None, "from": ["block", "input"]}


def test_a_layer_of_another_domain_is_refused_and_its_shape_is_not_guessed(tmp_path):
    """An operator of another domain (com.example.Mystery): shape inference does not know its output. Named custom
    it still needs its output's shape; the layers after it are read where they can be."""
    nodes = [helper.make_node("Mystery", ["x"], ["m"], "/odd/Mystery", domain="com.example"),
             helper.make_node("Flatten", ["m"], ["y"], "/flatten/Flatten")]
    path = save(tmp_path, nodes, [("x", [1, 4])], [], name="odd.onnx", output=("y", [1, 4]), opsets=ANOTHER_DOMAIN)
    assert refusal(path).endswith(":\n  - node '/odd/Mystery' (Mystery in odd): no layer kind\n"
                                  "  - node '/flatten/Flatten' (Flatten in flatten): it reads a tensor whose shape ONNX "
                                  "shape inference cannot work out")
    assert ":\n  - node '/odd/Mystery' (Mystery in odd): a custom layer whose output's shape ONNX shape inference " \
           "cannot work out\n" in refusal(path, custom=("odd",))


def table_model(tmp_path, reader) -> str:
    """com.example's Table of a weight (a constant onnx cannot work out), then `reader` of the input (x, 1 x 4)."""
    nodes = [helper.make_node("Table", ["c"], ["t"], "/Table", domain="com.example"), reader]
    return save(tmp_path, nodes, [("x", [1, 4])], [weight("c", 4)], name="table.onnx", output=("y", [1, 4]),
                opsets=ANOTHER_DOMAIN)


def test_a_computation_of_another_domain_on_constants_is_not_worked_out(tmp_path):
    """onnx cannot run an operator of another domain: its output is a constant of unknown value, and a graph that
    does not use it imports."""
    assert layers_of(table_model(tmp_path, helper.make_node("Relu", ["x"], ["y"], "/act/Relu"))) == [
        {"name": "act", "relu": None}]


@pytest.mark.parametrize("shape", [[1, "H", None], [1, 0, 4], [1]])
def test_an_input_of_sizes_not_fixed_is_refused_with_them(tmp_path, shape):
    """A size named (H) or unnamed (?) is not fixed, and neither is a size of 0; an input of the batch alone has none."""
    path = save(tmp_path, [helper.make_node("Relu", ["x"], ["y"], "/Relu")], [("x", shape)], [], output=("y", shape))
    shown = [("?" if size is None else size) for size in shape]
    assert refusal(path) == f"{path}: the input's size {shown} is not fixed"


def computed_pads(tmp_path, domain: str = "", more: bool = True) -> str:
    """F.pad(x, (0, h - 3, 0, h - 3)) with h = x.shape[2], as an exporter writes it: Shape (start 2, end 3), Sub,
    the pads put together by Concat, then (more) added to 8 zeros of an initializer and 8 of ConstantOfShape;
    worked out, the pads are [0, 0, 0, 0, 0, 0, 1, 1] (bottom and right)."""
    nodes = [helper.make_node("Shape", ["x"], ["h"], "/Shape", start=2, end=3),
             helper.make_node("Sub", ["h", "three"], ["d"], "/Sub"),
             helper.make_node("Concat", ["zeros", "d", "d"], ["last"], "/Concat", axis=0),
             helper.make_node("Concat", ["first", "last"], ["sum"], "/Concat_1", axis=0),
             helper.make_node("ConstantOfShape", ["eight"], ["more"], "/ConstantOfShape",
                              value=helper.make_tensor("zero", TensorProto.INT64, [1], [0])),
             helper.make_node("Add", ["sum", "zeros8"], ["sum8"], "/Add"),
             helper.make_node("Add", ["sum8", "more"], ["pads"], "/Add_1"),
             helper.make_node("Pad", ["x", "pads"], ["y"], "/pad/Pad")]
    nodes[1].domain = domain  # the Sub
    if not more:
        nodes = [*nodes[:3], helper.make_node("Concat", ["first", "last"], ["pads"], "/Concat_1", axis=0), nodes[-1]]
    constants = [ints("three", [3]), ints("zeros", [0, 0]), ints("first", [0, 0, 0, 0]), ints("eight", [8]),
                 ints("zeros8", [0] * 8)]
    return save(tmp_path, nodes, [("x", [1, 3, 4, 5])], constants, name=f"pads{domain}{more}.onnx",
                output=("y", [1, 3, 5, 6]), opsets=[("", 15), *([(domain, 15)] if domain else [])])


def test_sizes_worked_out_from_the_shape_give_a_layer_its_settings(tmp_path, monkeypatch):
    path = computed_pads(tmp_path)
    spec = yaml.safe_load(import_onnx(path))
    assert spec["layers"] == [{"name": "pad", "pad": {"padding": {"left": 0, "right": 1, "top": 0, "bottom": 1}}}]
    assert paramcalc.analyze(spec).totals.output_shape == (3, 5, 6)
    # a node of ONNX's domain spelled out ('ai.onnx', not ''): worked out as well
    assert layers_of(computed_pads(tmp_path, "ai.onnx")) == spec["layers"]
    # the pads, an initializer and a ConstantOfShape are 8 values: worked out when 8 values may be, not when 7
    monkeypatch.setattr(onnx_graph, "MAX_FOLDED_VALUES", 8)
    assert layers_of(path) == [{"name": "pad", "pad": {"padding": {"left": 0, "right": 1, "top": 0, "bottom": 1}}}]
    monkeypatch.setattr(onnx_graph, "MAX_FOLDED_VALUES", 7)
    assert "node '/pad/Pad' (Pad in pad)" in refusal(path)
    assert "node '/pad/Pad' (Pad in pad)" in refusal(computed_pads(tmp_path, more=False))  # Concat's 8 alone


def test_a_constant_of_the_input_s_shape_is_not_worked_out_for_any_batch(tmp_path):
    """zeros of x's shape, where the batch has no number: not worked out, and its shape is the output's, not that of
    the value it repeats."""
    zero = helper.make_tensor("zero", TensorProto.FLOAT, [1], [0.0])
    nodes = [helper.make_node("Shape", ["x"], ["s"], "/Shape"),
             helper.make_node("ConstantOfShape", ["s"], ["z"], "/ConstantOfShape", value=zero),
             helper.make_node("Add", ["x", "z"], ["y"], "/Add")]
    path = save(tmp_path, nodes, [("x", ["N", 3, 4])], [], output=("y", ["N", 3, 4]))
    assert refusal(path).endswith(":\n  - node '/Add' (Add): Add with a constant of shape ['N', 3, 4]")


def test_a_weight_too_large_to_work_out_is_read_for_its_shape(tmp_path):
    """x @ W.T with W of 400 x 300 (120,000 values, more than are worked out): the transposed weight's shape comes
    from shape inference, and the product is a linear layer of 400 outputs."""
    big = numpy_helper.from_array(numpy.full((400, 300), 0.5, numpy.float32), "fc.weight")
    nodes = [helper.make_node("Transpose", ["fc.weight"], ["t"], "/fc/Transpose", perm=[1, 0]),
             helper.make_node("MatMul", ["x", "t"], ["y"], "/fc/MatMul")]
    path = save(tmp_path, nodes, [("x", [1, 5, 300])], [big], output=("y", [1, 5, 400]))
    spec = yaml.safe_load(import_onnx(path))
    assert spec["layers"] == [{"name": "fc", "linear": {"out": 400, "bias": False}}]
    assert paramcalc.analyze(spec).totals.params == 120_000


def test_a_module_inside_a_block_s_use_is_written_in_the_block(tmp_path):
    """stage.0 and stage.1 (one class) each hold a module `body` (another class, used twice as well): the block
    of the stage writes its body in place, and no block is left that nothing uses."""
    paths = ["stage.0.body", "stage.1.body"]
    weights = [weight(f"{path}.conv.weight", 3, 3, 1, 1) for path in paths]
    spec = yaml.safe_load(import_onnx(save(tmp_path, two_conv_modules(paths), [("x", [1, 3, 4, 4])], weights,
                                           output=("y", [1, 3, 4, 4]))))
    assert spec["blocks"] == {"stage_block": {"layers": [{"name": "body", "layers": [
        {"name": "conv", "conv2d": {"out": 3, "kernel": 1, "bias": False}}, {"name": "act", "relu": None}]}]}}
    assert spec["layers"] == [{"name": "stage", "repeat": 2, "stage_block": None}]


def edited_attention(tmp_path, edit) -> str:
    model = onnx.load(attention_graph(tmp_path))
    edit(model.graph)
    onnx.save(model, str(tmp_path / "edited.onnx"))
    return str(tmp_path / "edited.onnx")


def test_attention_that_reads_another_tensor_or_whose_scores_have_no_shape_is_refused(tmp_path):
    def gated(graph):  # the output projection's bias replaced by relu(x), computed outside the module
        graph.node.insert(0, helper.make_node("Relu", ["x"], ["r"], "/gate/Relu"))
        next(node for node in graph.node if node.name == "/attn/out_proj/Add").input[1] = "r"

    def foreign(graph):  # the scores scaled by an operator shape inference does not know
        scale = next(node for node in graph.node if node.name == "/attn/Mul")
        scale.op_type, scale.domain = "Scale", "com.example"
        graph.ClearField("value_info")
        graph.output[0].type.tensor_type.ClearField("shape")

    assert refusal(edited_attention(tmp_path, gated)).endswith(
        ":\n  - node '/attn/MatMul' (MatMul in attn): attention whose query, key and value differ")
    path = edited_attention(tmp_path, foreign)
    onnx_model = onnx.load(path)
    onnx_model.opset_import.append(helper.make_opsetid("com.example", 1))
    onnx.save(onnx_model, path)
    assert refusal(path).endswith(
        ":\n  - node '/attn/MatMul' (MatMul in attn): attention whose number of heads cannot be read from the graph")
    assert refusal(attention_graph(tmp_path, one_projection=False)).endswith(
        ":\n  - node '/attn/MatMul_q' (MatMul in attn): attention without one projection for queries, keys and values")


def test_a_constant_of_a_shape_shape_inference_does_not_know_is_refused_where_read(tmp_path):
    path = table_model(tmp_path, helper.make_node("Mul", ["x", "t"], ["y"], "/Mul"))
    assert "node '/Mul' (Mul): Mul with a constant of shape" in refusal(path)


def test_attention_whose_projection_is_a_gemm_on_the_flattened_tokens(tmp_path):
    """x.view(5, 8) @ W.T + b by Gemm (W of 24 x 8, as nn.MultiheadAttention holds in_proj_weight), viewed back
    as 1 x 5 x 24: one projection for queries, keys and values still."""
    def gemm(graph):
        for name in ("/attn/MatMul", "/attn/Add"):
            graph.node.remove(next(node for node in graph.node if node.name == name))
        graph.node.insert(0, helper.make_node("Reshape", ["x", "flat"], ["x2"], "/attn/Reshape_in"))
        graph.node.insert(1, helper.make_node("Gemm", ["x2", "w_in_t", "b_in"], ["g"], "/attn/Gemm", transB=1))
        graph.node.insert(2, helper.make_node("Reshape", ["g", "tokens"], ["qkv"], "/attn/Reshape_out"))
        graph.initializer.extend([weight("w_in_t", 24, 8), ints("flat", [5, 8]), ints("tokens", [1, 5, 24])])
    spec = yaml.safe_load(import_onnx(edited_attention(tmp_path, gemm)))
    assert spec["layers"] == [{"name": "attn", "attention": 2}]


def test_the_model_s_output_must_be_a_layer_s(tmp_path):
    shape = [helper.make_node("Relu", ["x"], ["r"], "/act/Relu"), helper.make_node("Shape", ["r"], ["y"], "/Shape")]
    shaped = save(tmp_path, shape, [("x", [1, 4])], [], name="shape.onnx", output=("y", [2], TensorProto.INT64))
    expected = ": the model's output is no layer's: it does not depend on the input, or it sits inside a module read " \
               "as one layer"
    assert refusal(shaped) == shaped + expected
    # the product before its bias is added: inside the linear layer the two nodes are read as
    nodes = [helper.make_node("MatMul", ["x", "w"], ["y"], "/fc/MatMul"),
             helper.make_node("Add", ["y", "b"], ["a"], "/fc/Add")]
    path = save(tmp_path, nodes, [("x", [1, 5, 8])], [weight("w", 8, 4), weight("b", 4)], output=("y", [1, 5, 4]))
    assert refusal(path) == path + expected


def test_a_padding_value_of_a_scalar_worked_out(tmp_path):
    """F.pad's value as the TorchScript exporter may write it: ConstantOfShape of an empty shape, a scalar 0."""
    nodes = [helper.make_node("ConstantOfShape", ["empty"], ["zero"], "/ConstantOfShape",
                              value=helper.make_tensor("v", TensorProto.FLOAT, [1], [0.0])),
             helper.make_node("Pad", ["x", "pads", "zero"], ["y"], "/pad/Pad")]
    empty = helper.make_tensor("empty", TensorProto.INT64, [0], [])
    path = save(tmp_path, nodes, [("x", [1, 3, 4, 5])], [empty, ints("pads", [0, 0, 1, 0, 0, 0, 1, 0])],
                output=("y", [1, 3, 6, 5]))
    assert layers_of(path) == [{"name": "pad", "pad": {"padding": {"left": 0, "right": 0, "top": 1, "bottom": 1}}}]


def test_stages_of_numbered_modules_nested_deeper_are_sequentials(tmp_path):
    """stage1.0.body ... stage2.1.body: stage1 and stage2 hold numbered modules only (Sequentials, never one block
    of their own); stage1.0 to stage2.1 are one class (StageBlock), each holding a body."""
    paths = ["stage1.0.body", "stage1.1.body", "stage2.0.body", "stage2.1.body"]
    weights = [weight(f"{path}.conv.weight", 3, 3, 1, 1) for path in paths]
    spec = yaml.safe_load(import_onnx(save(tmp_path, two_conv_modules(paths), [("x", [1, 3, 4, 4])], weights,
                                           output=("y", [1, 3, 4, 4]))))
    assert list(spec["blocks"]) == ["stage_block"]
    assert spec["layers"] == [{"name": "stage1", "repeat": 2, "stage_block": None},
                              {"name": "stage2", "repeat": 2, "stage_block": None}]


# --- how layers name what they read ------------------------------------------------------------------------
def test_a_model_without_a_layer_is_refused(tmp_path):
    path = save(tmp_path, [helper.make_node("Identity", ["x"], ["y"], "/Identity")], [("x", [1, 4])], [],
                output=("y", [1, 4]))
    assert refusal(path) == "model: the model has no layer (its output is its input): a spec has one at least"


def test_modules_the_exporter_gave_no_class_are_no_block(tmp_path):
    """The dynamo exporter's class of one module (head), none of unit0 and unit1: alike as they are, a module
    of no known class is no block."""
    nodes = []
    for index, source in enumerate(("x", "s0")):
        for op, read, out in (("Relu", source, f"r{index}"), ("Sigmoid", f"r{index}", f"s{index}")):
            node = helper.make_node(op, [read], [out])
            helper.set_metadata_props(node, {"pkg.torch.onnx.name_scopes": repr(["", f"unit{index}", "op"])})
            nodes.append(node)
    nodes.append(scoped(helper.make_node("Tanh", ["s1"], ["y"]), ["head"], ["net.Head"]))
    spec = yaml.safe_load(import_onnx(save(tmp_path, nodes, [("x", [1, 4])], [], output=("y", [1, 4]))))
    assert "blocks" not in spec
    assert [layer["name"] for layer in spec["layers"]] == ["unit0", "unit1", "head"]


def test_a_layer_reads_others_by_their_paths(tmp_path):
    """TorchScript names: stem, then block (conv, then a projection group `down` of conv and bn, then add of conv
    and down; the add reads down by the group's name), then head (adds of block's conv, a layer inside another
    group that is not its last; of down, read by its path from there; and of the stem, a layer above)."""
    nodes = [conv_node("x", "s", "stem.weight", "/stem/Conv"),
             conv_node("s", "c", "block.conv.weight", "/block/conv/Conv"),
             conv_node("s", "d", "block.down.0.weight", "/block/down/down.0/Conv"),
             helper.make_node("BatchNormalization", ["d", "g", "b", "m", "v"], ["n"], "/block/down/down.1/BatchNormalization"),
             helper.make_node("Add", ["c", "n"], ["a"], "/block/Add"),
             helper.make_node("Add", ["a", "c"], ["h"], "/head/Add"),
             helper.make_node("Add", ["h", "n"], ["h2"], "/head/Add_1"),
             helper.make_node("Add", ["h2", "s"], ["y"], "/head/Add_2")]
    weights = [weight(name, 3, 3, 1, 1) for name in ("stem.weight", "block.conv.weight", "block.down.0.weight")]
    weights += [weight(name, 3) for name in "gbmv"]
    path = save(tmp_path, nodes, [("x", [1, 3, 4, 4])], weights, output=("y", [1, 3, 4, 4]))
    assert paramcalc.analyze(import_onnx(path)).totals.params == 3 * 9 + 2 * 3  # three 3 x 3 weights, bn's 2 x 3
    layers = layers_of(path)
    conv = {"conv2d": {"out": 3, "kernel": 1, "bias": False}}
    assert layers == [
        {"name": "stem", **conv},
        {"name": "block", "layers": [
            {"name": "conv", **conv},
            {"name": "down", "from": "input", "layers": [{"name": 0, **conv}, {"name": 1, "batchnorm": None}]},
            {"name": "add", "add": None, "from": ["conv", "down"]}]},
        {"name": "head", "layers": [{"name": "add", "add": None, "from": ["input", "block.conv"]},
                                    {"name": "add_2", "add": None, "from": ["add", "block.down"]},
                                    {"name": "add_3", "add": None, "from": ["add_2", "stem"]}]}]


def test_a_file_that_names_onnx_s_domain_ai_onnx_only(tmp_path):
    """An opset imported as 'ai.onnx' alone (no ''): the shape arithmetic runs as that opset (11: Unsqueeze's
    axes an attribute)."""
    nodes = [helper.make_node("Shape", ["x"], ["s"], "/Shape"),
             helper.make_node("Gather", ["s", "zero"], ["n"], "/Gather", axis=0),
             helper.make_node("Unsqueeze", ["n"], ["n1"], "/Unsqueeze", axes=[0]),
             helper.make_node("Concat", ["n1", "minus_one"], ["t"], "/Concat", axis=0),
             helper.make_node("Reshape", ["x", "t"], ["y"], "/Reshape")]
    constants = [helper.make_tensor("zero", TensorProto.INT64, [], [0]), ints("minus_one", [-1])]
    path = save(tmp_path, nodes, [("x", [1, 4, 2, 3])], constants, output=("y", [1, 24]), opsets=[("ai.onnx", 11)])
    assert layers_of(path) == [{"name": "flatten", "flatten": None}]


def test_a_graph_without_outputs_is_refused(tmp_path):
    path = save(tmp_path, [helper.make_node("Relu", ["x"], ["y"], "/act/Relu")], [("x", [1, 4])], [], output=None)
    assert refusal(path).endswith(": the model's output is no layer's: it does not depend on the input, or it sits "
                                  "inside a module read as one layer")


def test_a_file_of_another_domain_s_operators_only_says_no_opset(tmp_path):
    """Only com.example's opset, its operator named custom (its output's shape given in the file): the header
    names no opset of ONNX's, and no producer."""
    path = save(tmp_path, [helper.make_node("Mystery", ["x"], ["y"], "/odd/Mystery", domain="com.example")],
                [("x", [1, 4])], [], name="odd.onnx", output=("y", [1, 6]), opsets=[("com.example", 1)], producer="")
    text = import_onnx(path, custom=("Mystery",))
    assert text.splitlines()[0] == "# Imported by paramcalc from odd.onnx."
    assert yaml.safe_load(text)["layers"] == [{"name": "odd", "custom": {"out": [6], "macs": 0}}]
