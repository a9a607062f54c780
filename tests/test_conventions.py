"""--convention: paramcalc reproduces other counters' headline numbers to the unit, from rules stated per layer
kind (paramcalc/engine/peers.py), and --by kind breaks a model down as fvcore's by_operator does.

The small layers below are worked by hand; each figure was also checked against the tool itself (the versions
in peers.VERSIONS, on the equivalent nn module with batch 1)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from paramcalc.cli import CONVENTION_NAMES, main
from paramcalc.engine.conventions import CONVENTIONS, analyze_as
from paramcalc.engine.layers import REGISTRY

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent
REFERENCE = json.loads((DATA / "peer_counters.json").read_text())["models"]
PEERS = ("torchvision", "fvcore", "ptflops", "thop", "torchinfo")


def spec_path(model: str) -> Path:
    zoo = ROOT / "specs" / f"{model}.yaml"
    return zoo if model != "mobilenet_v2" else DATA / "more_models" / "mobilenet_v2.yaml"


@pytest.mark.parametrize("peer", PEERS)
@pytest.mark.parametrize("model", sorted(REFERENCE))
def test_each_counter_headline_number_is_reproduced_to_the_unit(model, peer):
    result, counts = analyze_as(spec_path(model), peer)
    assert counts.total == REFERENCE[model][peer]
    assert result.totals.params == REFERENCE[model]["params"]


# fvcore's by_operator names the operator; paramcalc's kinds map onto them
FVCORE_OPERATORS = {"conv2d": "conv", "batchnorm": "batch_norm", "linear": "linear",
                    "adaptive_avgpool": "adaptive_avg_pool2d", "global_avgpool": "adaptive_avg_pool2d"}


@pytest.mark.parametrize("model", sorted(REFERENCE))
def test_fvcore_breakdown_by_kind_matches_its_by_operator(model):
    from paramcalc.render.conventions import kind_rows

    result, counts = analyze_as(spec_path(model), "fvcore")
    operators: dict[str, int] = {}
    for row in kind_rows(result, counts):
        if row.count:
            operator = FVCORE_OPERATORS[row.kind]
            operators[operator] = operators.get(operator, 0) + row.count
    assert operators == REFERENCE[model]["fvcore_by_operator"]


def test_every_convention_states_every_layer_kind():
    assert tuple(CONVENTIONS) == CONVENTION_NAMES
    for convention in CONVENTIONS.values():
        assert convention.unstated() == [], convention.name
        assert set(convention.rules) | convention.zero == set(REGISTRY)


# --- small layers, worked by hand --------------------------------------------------------------------------
def counted(layers: str, input_shape: str, peer: str, batch: int = 1) -> int:
    text = f"name: t\ninput: [{input_shape}]\nbatch: {batch}\nlayers:\n" + "".join(
        f"  - {layer}\n" for layer in layers.split(";"))
    return analyze_as(text, peer)[1].total


def peers_count(layers: str, input_shape: str) -> dict[str, int]:
    return {peer: counted(layers, input_shape, peer) for peer in PEERS}


def test_convolution_with_bias():
    # 4 filters of 3x3x3 on 8x8 positions: MACs 4·64·27 = 6,912; bias 4·64 = 256; params 4·27 + 4 = 112
    assert peers_count("{conv2d: {out: 4, kernel: 3, padding: 1}}", "3, 8, 8") == {
        "torchvision": 6912, "fvcore": 6912, "ptflops": 6912 + 256, "thop": 6912, "torchinfo": 112 * 64}


def test_transposed_convolution():
    # 2 -> 4 channels, 2x2 kernel, stride 2: 3x3 input positions, 6x6 output positions, params 2·4·4 + 4 = 36
    # MACs per input position 2·4·4 = 32: 9·32 = 288; thop per output element 2·4: 144·8 = 1,152
    assert peers_count("{conv_transpose2d: {out: 4, kernel: 2, stride: 2}}", "2, 3, 3") == {
        "torchvision": 288, "fvcore": 288, "ptflops": 288 + 144, "thop": 1152, "torchinfo": 36 * 36}


def test_linear_on_tokens():
    # 5 rows of 16 -> 8: MACs 5·16·8 = 640, bias 5·8 = 40; torchinfo: params 136 once per sample, not per row
    assert peers_count("{linear: 8}", "5, 16") == {
        "torchvision": 640, "fvcore": 640, "ptflops": 680, "thop": 640, "torchinfo": 136}


@pytest.mark.parametrize("affine, expected", [
    ("true", {"torchvision": 0, "fvcore": 512, "ptflops": 512, "thop": 1024, "torchinfo": 8}),
    ("false", {"torchvision": 0, "fvcore": 256, "ptflops": 256, "thop": 512, "torchinfo": 0}),
])
def test_batch_norm(affine, expected):
    # 4x8x8 = 256 elements; 2 params per channel with affine
    assert peers_count(f"{{batchnorm: {{affine: {affine}}}}}", "4, 8, 8") == expected


def test_layer_norm_and_group_norm():
    # 5x16 = 80 elements, 32 params; ptflops looks for `affine`, which nn.LayerNorm does not have
    assert peers_count("{layernorm: {}}", "5, 16") == {
        "torchvision": 0, "fvcore": 400, "ptflops": 80, "thop": 320, "torchinfo": 32}
    # thop has no hook for nn.GroupNorm: its silent zero
    assert peers_count("{groupnorm: 2}", "4, 8, 8") == {
        "torchvision": 0, "fvcore": 1280, "ptflops": 512, "thop": 0, "torchinfo": 8}


def test_local_response_norm():
    # ptflops: Tensor.mul twice and Tensor.add once on 256 elements, the patched avg_pool3d on (4 + 3 - 1)·64
    assert peers_count("{lrn: 3}", "4, 8, 8") == {
        "torchvision": 0, "fvcore": 0, "ptflops": 3 * 256 + 384, "thop": 0, "torchinfo": 0}


def test_relu_as_module_and_as_function():
    # 256 elements: ptflops' hook on nn.ReLU, and again its patched F.relu that the module calls
    assert peers_count("relu", "4, 8, 8") == {"torchvision": 0, "fvcore": 0, "ptflops": 512, "thop": 0,
                                              "torchinfo": 0}
    assert counted("{relu, functional: true}", "4, 8, 8", "ptflops") == 256


def test_activations_only_ptflops_counts():
    assert peers_count("relu6", "4, 8, 8")["ptflops"] == 256  # nn.ReLU6 calls F.hardtanh: not patched
    assert peers_count("gelu", "4, 8, 8")["ptflops"] == 512
    assert peers_count("silu", "4, 8, 8")["ptflops"] == 256
    for kind in ("sigmoid", "hardswish", "tanh"):
        assert set(peers_count(kind, "4, 8, 8").values()) == {0}


def test_pooling():
    # 2x2 windows on 4x8x8: 256 input elements, 64 output elements
    assert peers_count("{maxpool: 2}", "4, 8, 8") == {
        "torchvision": 0, "fvcore": 0, "ptflops": 512, "thop": 0, "torchinfo": 0}
    assert peers_count("{avgpool: 2}", "4, 8, 8") == {
        "torchvision": 0, "fvcore": 0, "ptflops": 512, "thop": 64, "torchinfo": 0}
    # global: thop (8·8 + 1) per output element, 4 of them; fvcore 1 per input element
    assert peers_count("global_avgpool", "4, 8, 8") == {
        "torchvision": 0, "fvcore": 256, "ptflops": 512, "thop": 260, "torchinfo": 0}
    functional = "{global_avgpool, functional: true}"
    assert (counted(functional, "4, 8, 8", "ptflops"), counted(functional, "4, 8, 8", "thop")) == (256, 0)
    # adaptive 8 -> 4: thop (2·2 + 1) per output element, 4·16 of them
    assert counted("{adaptive_avgpool: 4}", "4, 8, 8", "thop") == 5 * 64


def test_mean_is_no_pooling_to_any_counter():
    # x.mean([2, 3]) runs aten::mean: fvcore has no handler for it, ptflops does not patch Tensor.mean, torch.nn has
    # no module for thop or torchinfo to hook, and it has no MACs; F.adaptive_avg_pool2d(x, 1), which ATen computes
    # as that mean, is counted by fvcore (aten::adaptive_avg_pool2d) and ptflops (patched): 4x8x8 = 256 elements
    for mean in ("mean: [2, 3]", "mean: {dims: [2, 3], keepdim: true}", "mean: 1", "{mean: -1, functional: true}"):
        assert set(peers_count(mean, "4, 8, 8").values()) == {0}, mean
    assert (counted("{global_avgpool, functional: true}", "4, 8, 8", "fvcore"),
            counted("{global_avgpool, functional: true}", "4, 8, 8", "ptflops")) == (256, 256)


def test_shufflenet_v2_head_is_a_mean_and_ptflops_counts_nothing_for_it():
    # torchvision's ShuffleNet v2 ends with x.mean([2, 3]) on 1024x7x7: as a functional global_avgpool ptflops would
    # count 1024·7·7 = 50,176 more than it measures
    path = ROOT / "tests/data/more_models/shufflenet_v2_x1_0.yaml"
    result, counts = analyze_as(path, "ptflops")
    assert result["mean"].kind == "mean" and counts.by_name["mean"] == 0
    assert counts.total == MORE["models"]["tests/data/more_models/shufflenet_v2_x1_0.yaml"]["ptflops"] == 152_387_568
    as_pooling = (path.read_text().replace("- {name: mean, mean: [2, 3]}", "- {name: mean, global_avgpool, functional: "
                                                                            "true}\n  - flatten"))
    assert analyze_as(as_pooling, "ptflops")[1].total == 152_387_568 + 1024 * 7 * 7
    # fvcore 0.1.5 measured on torchvision 0.29.1's model (aten::mean among its unsupported operators): its
    # convolutions 143,883,992, batch norms 3,900,400 and classifier 1,024,000, nothing for the mean
    assert analyze_as(path, "fvcore")[1].total == 143_883_992 + 3_900_400 + 1_024_000


def test_softmax_and_upsample():
    # softmax over 16 features of 5 rows: thop 5·(3·16 - 1); ptflops' patched F.softmax 1 per element
    counts = peers_count("{softmax: -1}", "5, 16")
    assert (counts["thop"], counts["ptflops"], counts["fvcore"]) == (235, 80, 0)
    # nearest x2 on 4x8x8: 1,024 output elements; bilinear: fvcore 4, thop 11 per output element
    assert peers_count("{upsample: {scale: 2}}", "4, 8, 8") == {
        "torchvision": 0, "fvcore": 1024, "ptflops": 2048, "thop": 1024, "torchinfo": 0}
    bilinear = peers_count("{upsample: {scale: 2, mode: bilinear}}", "4, 8, 8")
    assert (bilinear["fvcore"], bilinear["thop"]) == (4096, 11264)


def test_lstm():
    # 3 steps of 4 features, hidden 5: params 4·5·(4 + 5) + 2·4·5 = 220
    # ptflops per step: 180 weights + 10·5 element-wise + 40 biases = 270; thop per step: 4·((4 + 5)·5 + 5 + 10)
    # + 4·5 = 260; torchinfo: params x steps; fvcore has no handler for aten::lstm
    assert peers_count("{lstm: 5}", "3, 4") == {
        "torchvision": 3 * 180, "fvcore": 0, "ptflops": 3 * 270, "thop": 3 * 260, "torchinfo": 3 * 220}


def test_attention():
    # L = 4 tokens, E = 8, 2 heads: projections 4·4·64 = 1,024, products 2·16·8 = 256
    # ptflops' hook adds the query scaling 32, the in-projection bias 96, the out-projection bias 32, and
    # the softmax heads·L² = 32
    assert peers_count("{attention: 2}", "4, 8") == {
        "torchvision": 1280, "fvcore": 1024, "ptflops": 1280 + 32 + 96 + 32 + 32, "thop": 0, "torchinfo": 0}


def test_layers_without_arithmetic_count_zero_everywhere():
    for layer, shape in (("{add, from: [input, input]}", "4, 8, 8"), ("flatten", "4, 8, 8"), ("dropout", "4, 8"),
                         ("{concat, from: [input, input]}", "4, 8, 8")):
        assert set(peers_count(layer, shape).values()) == {0}, layer


def test_batch_multiplies_and_train_only_layers_do_not_run():
    layers = ("{name: conv, conv2d: {out: 4, kernel: 3, padding: 1}};{name: aux, train_only: true, linear: 3};"
              "{name: out, identity, from: conv}")
    assert counted(layers, "3, 8, 8", "ptflops", batch=2) == 2 * 7168
    assert counted(layers, "3, 8, 8", "torchinfo") == 112 * 64


# --- ptflops and thop on every zoo model, and each kind run by a subclass (`module:`), as measured ------------
MORE = json.loads((DATA / "peer_counters_more.json").read_text())


@pytest.mark.parametrize("peer", ["ptflops", "thop"])
@pytest.mark.parametrize("spec", sorted(MORE["models"]))
def test_ptflops_and_thop_totals_of_every_zoo_model_are_the_measured_ones(spec, peer):
    fact = MORE["models"][spec]
    result, counts = analyze_as(ROOT / spec, peer)
    assert (result.batch, *result.input_shape) == tuple(fact["input"])
    assert counts.total == fact[peer]


def test_mc3_18_subclassed_convolutions_count_nothing_in_ptflops_and_thop():
    # its 16 block convolutions are Conv3DSimple and Conv3DNoTemporal (nn.Conv3d's subclasses), marked `module:`
    fact = MORE["models"]["specs/mc3_18.yaml"]
    assert (fact["ptflops"], fact["thop"]) == (1_840_259_472, 1_845_477_888)
    for peer in ("ptflops", "thop"):
        code, output = run("show", "specs/mc3_18.yaml", "--convention", peer, "--exact")
        assert code == 0, output
        assert f"{fact[peer]:,}" in output and "43,342,635,008" in output  # paramcalc's own MACs stay
    _, counts = analyze_as(ROOT / "specs" / "mc3_18.yaml", "ptflops")
    assert counts.by_name["layer1.0.conv1.0"] == 0 and counts.by_name["stem.0"] > 0  # the stem's is an nn.Conv3d


@pytest.mark.parametrize("fact", MORE["layers"], ids=lambda fact: f"{fact['layer']}-{fact['input']}")
def test_each_kind_run_by_a_subclass_counts_as_measured(fact):
    for peer in ("ptflops", "thop"):
        assert counted(fact["layer"], ", ".join(map(str, fact["input"])), peer) == fact[peer], peer


def test_module_changes_no_figure_of_paramcalc_nor_fvcore_and_torchinfo_reads_the_name():
    layer = "{conv3d: {out: 4, kernel: 3, bias: false}%s}"
    plain, simple, other = (peers_count(layer % mark, "3, 4, 6, 6") for mark in ("", ", module: Conv3DSimple",
                                                                               ", module: MyLayer"))
    assert simple["torchvision"] == plain["torchvision"] == 10368 and simple["fvcore"] == plain["fvcore"]
    # torchinfo: weight x output positions when the class's name holds "Conv", weight once per sample otherwise
    # (a weight of 4·3·27 = 324, 2x4x4 = 32 output positions)
    assert simple["torchinfo"] == plain["torchinfo"] == 324 * 32 and other["torchinfo"] == 324
    assert (simple["ptflops"], simple["thop"]) == (0, 0)
    # a linear layer's output 5x8 has 8 "positions" after its first size (torchinfo takes that for channels)
    assert counted("{linear: 8, module: Conv1DLike}", "5, 16", "torchinfo") == (16 * 8 + 8) * 8


def test_a_symbolic_input_needs_sizes():
    from paramcalc.errors import SpecError

    with pytest.raises(SpecError, match="--convention fvcore needs concrete input sizes"):
        analyze_as(ROOT / "specs" / "resnet18.yaml", "fvcore", input_shape=(3, "H", "W"))


# --- the command line --------------------------------------------------------------------------------------
def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_unknown_convention_exits_2_with_the_names():
    code, output = run("show", "specs/resnet18.yaml", "--convention", "flopcounter")
    assert code == 2
    for name in PEERS:
        assert name in output
    assert run("compare", "specs/resnet18.yaml", "--convention", "x")[0] == 2


def test_show_labels_the_counter_column_and_total():
    code, output = run("show", "specs/resnet18.yaml", "--convention", "fvcore", "--exact")
    assert code == 0, output
    assert "MACs (fvcore)" in output.splitlines()[1]
    assert "1,819,065,856" in output and "1,814,073,344" in output  # fvcore's total beside paramcalc's MACs


def test_show_json_has_the_convention():
    code, output = run("show", str(spec_path("mobilenet_v2")), "--convention", "thop", "--format", "json")
    assert code == 0, output
    data = json.loads(output)
    assert data["convention"]["name"] == "thop" and data["convention"]["macs"] == REFERENCE["mobilenet_v2"]["thop"]
    assert data["totals"]["macs"] == REFERENCE["mobilenet_v2"]["torchvision"]  # paramcalc's own stay as they are
    assert sum(layer["convention_macs"] for layer in data["layers"] if not layer["group"]) == data["convention"]["macs"]


@pytest.mark.parametrize("convention", [None, "ptflops"])
def test_by_kind_sums_to_the_total(convention):
    extra = ["--convention", convention] if convention else []
    code, output = run("show", "specs/densenet121.yaml", "--by", "kind", "--format", "json", *extra)
    assert code == 0, output
    data = json.loads(output)
    total = data["convention"]["macs"] if convention else data["totals"]["macs"]
    assert sum(row["macs"] for row in data["by_kind"]) == total
    assert sum(row["layers"] for row in data["by_kind"]) == sum(not layer["group"] for layer in data["layers"])
    assert abs(sum(row["share"] for row in data["by_kind"]) - 100) < 0.01


def test_by_kind_table_and_csv():
    code, output = run("show", "specs/resnet18.yaml", "--by", "kind", "--convention", "thop")
    assert code == 0 and "by layer kind" in output and "MACs (thop)" in output
    output = run("show", "specs/resnet18.yaml", "--by", "kind", "--format", "csv")[1]
    rows = [line.split(",") for line in output.splitlines()]
    assert rows[0] == ["kind", "layers", "params", "macs", "share"]
    assert sum(int(row[3]) for row in rows[1:]) == 1814073344


def test_compare_adds_the_counter_row():
    code, output = run("compare", "specs/resnet18.yaml", "specs/resnet34.yaml", "--convention", "torchinfo",
                       "--format", "json")
    assert code == 0, output
    row = next(row for row in json.loads(output)["figures"] if row["figure"] == "macs_torchinfo")
    assert row["values"] == [REFERENCE["resnet18"]["torchinfo"], REFERENCE["resnet34"]["torchinfo"]]


def test_usage_errors():
    assert run("show", "specs/resnet18.yaml", "--convention", "thop", "--metric", "flops")[0] == 2
    assert run("show", "specs/resnet18.yaml", "--by", "kind", "--depth", "1")[0] == 2
    assert run("show", "specs/resnet18.yaml", "--by", "operator")[0] == 2
