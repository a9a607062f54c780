"""`paramcalc verify SPEC --against MODEL`: a spec against a PyTorch model written by hand (tests/data/torch_models.py),
and, when torchvision is installed, every zoo spec against torchvision's own model."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from click.testing import CliRunner

from paramcalc.cli import main

from .conftest import require_torch

torch = require_torch()

from paramcalc.torch.against import build_on_meta, verify_against  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "tests" / "data" / "torch_models.py"

NET = """\
name: net
input: [3, 32, 32]
blocks:
  block:
    layers:
      - {name: conv1, conv2d: {out: 16, kernel: 3, padding: 1, bias: false}}
      - {name: bn1, batchnorm}
      - relu
      - {name: conv2, conv2d: {out: 16, kernel: 3, padding: 1, bias: false}}
      - {name: bn2, batchnorm}
      - {add, from: [bn2, input]}
      - relu
layers:
  - {name: stem, conv2d: {out: 16, kernel: 3, padding: 1}}
  - {name: blocks, repeat: 2, block}
  - {name: pool, global_avgpool}
  - flatten
  - {name: fc, linear: 10}
"""
# by hand: stem 3·3·3·16 + 16 = 448; each block 2·(3·3·16·16) + 2·(2·16) = 4,672; fc 16·10 + 10 = 170
NET_PARAMS = 448 + 2 * 4_672 + 170
# stem 16·32·32·27 = 442,368; each conv 16·32·32·144 = 2,359,296, four of them; fc 160
NET_MACS = 442_368 + 4 * 2_359_296 + 160


def spec_file(tmp_path: Path, text: str, name: str = "net.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def invoke(*arguments: str):
    return CliRunner().invoke(main, ["verify", *arguments])


def test_a_spec_that_describes_the_model(tmp_path):
    comparison = verify_against(spec_file(tmp_path, NET), f"{MODELS}:Net")
    assert comparison.ok and comparison.divergence is None
    assert comparison.layers == 10  # stem, 2 x (conv, bn, conv, bn), fc
    assert comparison.totals["params"] == (NET_PARAMS, NET_PARAMS)
    assert comparison.totals["buffers"] == (4 * 2 * 16, 4 * 2 * 16)  # running mean and variance, 4 batch norms
    assert comparison.totals["MACs"] == (NET_MACS, NET_MACS)
    assert comparison.totals["output"] == ((1, 10), (1, 10))


def test_the_command_line_says_ok_and_exits_0(tmp_path):
    result = invoke(spec_file(tmp_path, NET), "--against", f"{MODELS}:net")  # a factory works as a class does
    assert result.exit_code == 0, result.output
    assert f"describes {MODELS}:net: 10 layers with parameters agree" in result.output
    assert f"params {NET_PARAMS:,}" in result.output and f"MACs {NET_MACS:,}" in result.output


def test_the_first_layer_that_differs_is_named_on_both_sides(tmp_path):
    wrong = NET.replace("{name: conv1, conv2d: {out: 16, kernel: 3, padding: 1", "{name: conv1, conv2d: {out: 16, "
                                                                              "kernel: 5, padding: 2")
    result = invoke(spec_file(tmp_path, wrong), "--against", f"{MODELS}:Net")
    assert result.exit_code == 1
    # blocks.0.conv1: 5·5·16·16 = 6,400 in the spec, 3·3·16·16 = 2,304 in the model; the 2nd layer with params
    assert (f"spec blocks.0.conv1 has 6,400 params; {MODELS}:Net blocks.0.conv1 has 2,304 (layer 2 with "
            "parameters, in the order they run)") in result.output
    assert result.output.splitlines()[3].split()[:3] == ["params", f"{NET_PARAMS + 2 * 4_096:,}", f"{NET_PARAMS:,}"]


def test_kwargs_reach_the_model_and_a_different_width_diverges_at_the_stem(tmp_path):
    result = invoke(spec_file(tmp_path, NET), "--against", f"{MODELS}:Net", "--kwargs", '{"width": 8}')
    assert result.exit_code == 1
    assert f"spec stem has 448 params; {MODELS}:Net stem has 224" in result.output  # 3·3·3·8 + 8


def test_a_shape_that_differs(tmp_path):
    strided = NET.replace("- {name: stem, conv2d: {out: 16, kernel: 3, padding: 1}}",
                          "- {name: stem, conv2d: {out: 16, kernel: 3, padding: 1, stride: 2}}")
    comparison = verify_against(spec_file(tmp_path, strided), f"{MODELS}:Net")
    assert comparison.divergence == (f"spec stem outputs 1x16x16x16; {MODELS}:Net stem outputs 1x16x32x32 "
                                     "(layer 1 with parameters)")
    assert not comparison.ok


def test_a_missing_block_and_a_missing_last_layer(tmp_path):
    one_block = NET.replace("repeat: 2", "repeat: 1")
    comparison = verify_against(spec_file(tmp_path, one_block), f"{MODELS}:Net")
    # the spec's 6th layer with parameters is fc (16·10 + 10), the model's is the second block's first conv
    assert comparison.divergence == (f"spec fc has 170 params; {MODELS}:Net blocks.1.conv1 has 2,304 (layer 6 with "
                                     "parameters, in the order they run)")
    headless = NET.replace("  - flatten\n  - {name: fc, linear: 10}\n", "  - flatten\n")
    comparison = verify_against(spec_file(tmp_path, headless), f"{MODELS}:Net")
    assert comparison.divergence == (f"{MODELS}:Net has 10 layers with parameters, the other 9: the first without "
                                     "a partner is fc (170 params)")
    assert comparison.totals["output"] == ((1, 16), (1, 10))


TOKENS = """\
name: tokens
input: [3, 32, 32]
layers:
  - {name: patches, conv2d: {out: 32, kernel: 8, stride: 8}}
  - {flatten: {start_dim: 2}}
  - {transpose: {dim0: 1, dim1: 2}}
  - {name: class_token, class_token}
  - {name: position, position_embedding: {length: 17}}
  - {name: attention, attention: 4}
  - {select: {dim: 1, index: 0}}
  - {name: head, linear: 5}
"""


def test_parameters_the_model_holds_itself_and_attention():
    model = build_on_meta(f"{MODELS}:Tokens")
    comparison = verify_against(TOKENS, f"{MODELS}:Tokens")
    assert comparison.ok, comparison
    # the class token (32) and the position embedding (17·32) are the model's own parameters
    assert comparison.totals["params held by modules themselves"] == (32 + 17 * 32, 32 + 17 * 32)
    assert comparison.totals["params"][1] == sum(p.numel() for p in model.parameters())
    assert comparison.layers == 3  # patches, attention (with its output projection), head
    # patches 16·32·3·8·8, attention 4·17·32² + 2·17²·32, head 32·5
    assert comparison.totals["MACs"] == (3 * 4 * 4 * 8 * 8 * 32 * 4 // 4 + 4 * 17 * 32 * 32 + 2 * 17 * 17 * 32 + 160,) * 2


def test_an_lstm_whose_kernel_the_flop_counter_does_not_see(tmp_path):
    spec = ("name: reader\ninput: [12]\nlayers:\n  - {name: embedding, embedding: {num: 100, dim: 16}}\n"
            "  - {name: lstm, lstm: 24}\n  - {select: {dim: 1, index: 11}}\n  - {name: head, linear: 3}\n")
    comparison = verify_against(spec_file(tmp_path, spec), f"{MODELS}:Reader")
    assert comparison.ok, comparison
    assert comparison.totals["MACs"][1] == 12 * (4 * 24 * 16 + 4 * 24 * 24) + 24 * 3  # steps·(W_ih + W_hh), head


def test_a_head_that_runs_only_in_training(tmp_path):
    spec = """\
name: aux
input: [3, 10, 10]
layers:
  - {name: conv, conv2d: {out: 8, kernel: 3}}
  - {name: pool, global_avgpool}
  - {name: flat, flatten}
  - {name: aux, linear: 2, train_only: true}
  - {name: fc, linear: 4, from: flat}
"""
    comparison = verify_against(spec_file(tmp_path, spec), f"{MODELS}:WithAuxiliary")
    assert comparison.ok, comparison
    assert comparison.totals["params of layers that do not run"] == (8 * 2 + 2, 8 * 2 + 2)
    without = verify_against(spec_file(tmp_path, spec.replace(", train_only: true", "").replace(
        "  - {name: aux, linear: 2}\n", "")), f"{MODELS}:WithAuxiliary")
    assert without.totals["params of layers that do not run"] == (0, 18) and not without.ok


def test_a_model_that_computes_while_it_is_made_is_made_again_a_parameter_at_a_time(tmp_path):
    spec = "name: c\ninput: [3, 4, 4]\nlayers: [{name: conv, conv2d: {out: 12, kernel: 1}}]\n"
    model = build_on_meta(f"{MODELS}:Computed")
    assert {p.device.type for p in model.parameters()} == {"meta"}
    assert verify_against(spec_file(tmp_path, spec), f"{MODELS}:Computed").ok


@pytest.mark.parametrize("arguments, message", [
    (["--against", "no_such_package.models.Net"], "cannot find the model 'no_such_package.models.Net'"),
    (["--against", "torch.nn.NoSuchThing"], "cannot find the model 'torch.nn.NoSuchThing'"),
    (["--against", "missing.py:Net"], "no such file: missing.py"),
    (["--against", "math.pi"], "'math.pi' is not a class or a function"),
    (["--against", "collections:OrderedDict"], "made a OrderedDict, not a torch.nn.Module"),
    (["--against", "MODELS:Net", "--kwargs", "{width: 8}"], "--kwargs is not JSON"),
    (["--against", "MODELS:Net", "--kwargs", "[8]"], "--kwargs must be a JSON object"),
    (["--against", "MODELS:Net", "--kwargs", '{"depth": 8}'], "making 'MODELS:Net' failed: TypeError"),
    (["--against", "MODELS:Net", "--input", "5x32x32"], "the model does not run on an input of shape 1x5x32x32"),
])
def test_bad_input_is_one_message_and_exit_2(tmp_path, arguments, message):
    arguments = [argument.replace("MODELS", str(MODELS)) for argument in arguments]
    result = invoke(spec_file(tmp_path, NET), *arguments)
    assert result.exit_code == 2, result.output
    assert message.replace("MODELS", str(MODELS)) in result.output
    assert "Traceback" not in result.output


def test_kwargs_and_input_go_with_against(tmp_path):
    result = invoke(spec_file(tmp_path, NET), "--kwargs", "{}")
    assert result.exit_code == 2 and "--kwargs and --input go with --against MODEL" in result.output


# --- every zoo spec against torchvision's model, where torchvision is installed ----------------------------
TORCHVISION = importlib.util.find_spec("torchvision") is not None
ZOO = {path.stem: path for path in (ROOT / "specs").glob("*.yaml")}
MODEL_PATHS = {
    "fcn_resnet101": ("torchvision.models.segmentation.fcn_resnet101", '{"weights_backbone": null}'),
    "deeplabv3_mobilenet_v3_large": ("torchvision.models.segmentation.deeplabv3_mobilenet_v3_large",
                                     '{"weights_backbone": null}'),
    "mc3_18": ("torchvision.models.video.mc3_18", None),
    "googlenet": ("torchvision.models.googlenet", '{"aux_logits": false}'),  # as the spec and the published weights
}


@pytest.mark.skipif(not TORCHVISION, reason="torchvision is not installed (pip install torch==2.14.1 torchvision==0.29.1)")
@pytest.mark.parametrize("name", sorted(ZOO))
def test_every_zoo_spec_describes_torchvision_s_model(name):
    model, kwargs = MODEL_PATHS.get(name, (f"torchvision.models.{name}", None))
    result = invoke(str(ZOO[name]), "--against", model, *(["--kwargs", kwargs] if kwargs else []))
    assert result.exit_code == 0, result.output
