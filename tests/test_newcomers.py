"""What people new to paramcalc tripped over when they wrote torchvision's CNNs from the README alone: a
squeeze-and-excitation gate's receptive field, layers that run only in training, a block that needs its
input's width, tables of settings, messages that pointed the wrong way, the usual dtype names, and the
Python API's options."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

import paramcalc
from paramcalc.cli import main

ROOT = Path(__file__).resolve().parent.parent
AUX = json.loads((ROOT / "tests/data/torchvision_aux_heads.json").read_text())


def spec(text: str) -> str:
    return textwrap.dedent(text).lstrip()


def error(text: str) -> str:
    with pytest.raises(paramcalc.SpecError) as caught:
        paramcalc.analyze(spec(text))
    return str(caught.value)


# --- a squeeze-and-excitation gate --------------------------------------------------------------------------
SE_MIN = """
    name: se_rf_min
    input: [8, 16, 16]
    layers:
      - {name: gap, global_avgpool}
      - {name: scale, mul, from: [input, gap]}
      - {name: gap2, global_avgpool}
      - {name: conv, from: scale, conv2d: {out: 8, kernel: 3, padding: 1}}
"""


def test_a_gate_multiplied_into_its_map_makes_every_unit_global_at_the_map_s_stride():
    result = paramcalc.analyze(spec(SE_MIN))
    scale = result["scale"].rf
    # every unit of `scale` reads the whole input through the gate; it moves with stride 1 and padding 0, as
    # the full-resolution input does, so a later 3x3 conv adds (3 - 1) x 1 and multiplies nothing
    assert scale.is_global and scale.stride == (1, 1) and scale.padding == (0, 0)
    conv = result["conv"].rf
    assert conv.stride == (1, 1) and conv.padding == (1, 1) and conv.size == (scale.size[0] + 2, scale.size[1] + 2)
    add = paramcalc.analyze(spec(SE_MIN.replace("mul,", "add,")))["scale"].rf
    assert add.is_global and add.stride == (1, 1)


def test_receptive_fields_stay_bounded_through_many_gates():
    # ten SE blocks on a 32x32 map: before, each gate's stride 32 multiplied the next (32^10 px)
    blocks = "".join(f"  - {{name: g{i}, global_avgpool}}\n  - {{name: m{i}, mul, from: [c{i}, g{i}]}}\n"
                     f"  - {{name: c{i + 1}, conv2d: {{out: 4, kernel: 3, padding: 1}}}}\n" for i in range(10))
    result = paramcalc.analyze("name: se\ninput: [4, 32, 32]\nlayers:\n  - {name: c0, conv2d: {out: 4, kernel: 1}}\n"
                               + blocks)
    field = result.totals.rf
    # by hand: c0 sees 1 pixel; g0 the whole 32x32 map (1 + 31·1 = 32) and so every unit of m0, at stride 1 and
    # padding 0; each later gate pools a field that is global already, which adds nothing; each 3x3 conv adds 2
    assert (field.size, field.stride, field.padding, field.is_global) == ((52, 52), (1, 1), (10, 10), True)


# --- layers that run only in training -----------------------------------------------------------------------
def test_inception_v3_with_its_auxiliary_head_is_torchvision_s():
    reference = AUX["inception_v3"]
    result = paramcalc.analyze(ROOT / "specs/inception_v3.yaml")
    assert result.totals.params == reference["params"]
    assert result.totals.buffers == reference["bn_running_stats"]
    assert result.totals.macs == reference["macs"]
    assert list(result.totals.output_shape) == reference["output"]
    aux = result["AuxLogits"]
    assert aux.train_only and aux.params == reference["aux_params"] and aux.macs == aux.flops == aux.activations == 0
    assert all(r.macs == 0 for r in result.records if r.name.startswith("AuxLogits."))


def test_train_only_layers_put_no_condition_on_the_size_at_inference():
    reference = AUX["inception_v3"]
    symbolic = paramcalc.analyze(ROOT / "specs/inception_v3.yaml", input="3xHxW")
    assert [str(c) for c, _ in symbolic.conditions] == ["H >= 75", "W >= 75"]
    assert [str(c) for c, _ in symbolic.training_conditions] == ["H >= 299", "W >= 299"]
    small = paramcalc.analyze(ROOT / "specs/inception_v3.yaml", input=(3, reference["min_size"], reference["min_size"]))
    assert small.totals.macs == reference["macs_at_min_size"] and small.totals.params == reference["params"]
    assert small["AuxLogits"].shape is None and small.not_run[0].startswith("AuxLogits.pool: ")
    with pytest.raises(paramcalc.SpecError, match="larger than the padded input"):
        paramcalc.analyze(ROOT / "specs/inception_v3.yaml", input=(3, 74, 74))
    output = CliRunner().invoke(main, ["show", str(ROOT / "specs/inception_v3.yaml"), "--input", "3xHxW"]).output
    assert "Valid for        H >= 75" in output and "Training needs   H >= 299" in output


AUX_TOO_BIG = """name: aux_too_big
input: [3, {size}, {size}]
layers:
  - {{name: stem, conv2d: {{out: 4, kernel: 3, padding: 1}}}}
  - {{name: aux, train_only: true, conv2d: {{out: 2, kernel: 9}}, from: stem}}
  - {{name: head, global_avgpool, from: stem}}
"""


def test_a_train_only_layer_too_large_for_the_spec_s_own_input_is_an_error_there_only():
    """Its parameters are counted at the spec's own size; when it cannot run there, nothing can count them."""
    with pytest.raises(paramcalc.SpecError, match="larger than the padded input height 8") as caught:
        paramcalc.analyze(AUX_TOO_BIG.format(size=8))
    assert "runs only in training" in caught.value.hint
    with pytest.raises(paramcalc.SpecError, match="larger than the padded input height 8"):
        paramcalc.analyze(AUX_TOO_BIG.format(size=8), input="3x8x8")
    # by hand: the 9x9 head holds 2·4·81 + 2 = 650 parameters; the stem 4·3·9 + 4 = 112 and 4·27·H·W MACs
    larger = paramcalc.analyze(AUX_TOO_BIG.format(size=8), input="3x16x16")
    assert (larger.totals.params, larger.totals.macs, larger["aux"].params) == (762, 4 * 27 * 256, 650)
    smaller = paramcalc.analyze(AUX_TOO_BIG.format(size=16), input="3x8x8")
    assert (smaller.totals.params, smaller.totals.macs, smaller["aux"].params) == (762, 4 * 27 * 64, 650)
    assert smaller["aux"].shape is None and smaller["aux"].rf is None and smaller.not_run == (
        "aux: the height window (kernel 9) is larger than the padded input height 8 (8 + padding 0)",)


def test_googlenet_s_auxiliary_heads_count_their_parameters_and_no_macs():
    reference = AUX["googlenet"]
    text = (ROOT / "specs/googlenet.yaml").read_text().replace("aux_logits: false", "aux_logits: true")
    result = paramcalc.analyze(text)
    assert (result.totals.params, result.totals.buffers, result.totals.macs) == (
        reference["params"], reference["bn_running_stats"], reference["macs"])
    assert [result["aux1"].params, result["aux2"].params] == reference["aux_params"]


def test_the_table_and_the_reports_mark_train_only_layers():
    path = str(ROOT / "specs/inception_v3.yaml")
    table = CliRunner().invoke(main, ["show", path, "--depth", "1"]).output
    assert next(line for line in table.splitlines() if line.startswith("AuxLogits")).split()[1:3] == ["group", "(train)"]
    layers = {layer["name"]: layer for layer in json.loads(
        CliRunner().invoke(main, ["show", path, "--format", "json"]).output)["layers"]}
    assert layers["AuxLogits.fc"]["train_only"] and not layers["fc"]["train_only"]


def test_a_layer_that_always_runs_cannot_take_a_train_only_input():
    message = error("""
        name: t
        input: [3, 8, 8]
        layers:
          - {name: aux, train_only: true, conv2d: {out: 4, kernel: 1}}
          - {name: head, conv2d: {out: 4, kernel: 1}}
    """)
    assert "'aux' runs only in training, so at inference it gives this layer no input" in message
    assert "t.yaml" not in message and "layer 'head'" in message
    message = error("""
        name: t
        input: [3, 8, 8]
        output: aux
        layers:
          - {name: main, conv2d: {out: 4, kernel: 1}}
          - {name: aux, train_only: true, from: input, conv2d: {out: 4, kernel: 1}}
    """)
    assert "the model's output, 'aux', runs only in training" in message


# --- a block sees its input, and tables of settings --------------------------------------------------------
TABLE = """
    name: table
    input: [16, 8, 8]
    vars:
      cfg: [[24, 1], [32, 2]]
    blocks:
      expand:
        args: {out: ~, stride: 1}
        layers:
          - conv2d: {out: in_channels * 2, kernel: 1, bias: false}
          - conv2d: {out: out, kernel: 3, stride: stride, padding: 1, bias: false}
    layers:
      - {name: stages, repeat: len(cfg), expand: {out: "cfg[index][0]", stride: "cfg[index][1]"}}
"""


def test_a_table_of_settings_drives_one_block_that_reads_its_input_channels():
    result = paramcalc.analyze(spec(TABLE))
    # 16 -> 32 (1x1) -> 24 (3x3): 512 + 6,912; 24 -> 48 (1x1) -> 32 (3x3, stride 2): 1,152 + 13,824
    assert result.totals.params == 16 * 32 + 32 * 24 * 9 + 24 * 48 + 48 * 32 * 9 == 22_400
    assert result.totals.output_shape == (32, 4, 4)


def test_tables_of_mappings_and_the_input_shape():
    result = paramcalc.analyze(spec("""
        name: t
        input: [8, 12, 12]
        vars:
          cfg: [{kernel: 3, out: 16}, {kernel: 5, out: 8}]
        blocks:
          unit:
            args: {i: ~}
            layers:
              - conv2d: {out: "cfg[i].out", kernel: "cfg[i].kernel", padding: "cfg[i].kernel // 2"}
              - conv2d: {out: "in_shape[1]", kernel: 1}
        layers:
          - {name: s, repeat: len(cfg), unit: {i: index}}
    """))
    assert result["s.0.0"].shape == (16, 12, 12) and result["s.1.0"].shape == (8, 12, 12)
    assert result["s.0.1"].shape == (12, 12, 12)  # in_shape[1] is the block's input height
    symbolic = paramcalc.analyze(spec(TABLE), input="16xHxW")
    assert symbolic.totals.params == 22_400


@pytest.mark.parametrize("expression, message", [
    ("cfg[5][0]", "index 5 is outside a list of 2 items"), ("cfg[0].kernel", "a list of 2 has no field 'kernel'"),
    ("cfg[index]", "out: the value must be a whole number, got [24, 1]"),
    ("len(3)", "len() takes a list or a mapping, not 3"),
])
def test_table_mistakes_say_what_is_wrong(expression, message):
    assert message in error(TABLE.replace('"cfg[index][0]"', f'"{expression}"'))


# --- messages ------------------------------------------------------------------------------------------------
def test_whole_numbers_are_names():
    result = paramcalc.analyze(spec("""
        name: t
        input: [3, 8, 8]
        layers:
          - {name: 0, conv2d: {out: 4, kernel: 1}}
          - {name: 1, relu}
          - {name: merged, concat, from: [0, input]}
    """))
    assert result["merged"].inputs == ("0", "input") and result["merged"].shape == (7, 8, 8)
    message = error("name: t\ninput: [3]\nlayers:\n  - {name: 1.5, relu}\n")
    assert "layer name 1.5 is not a valid name" in message and "YAML reads 1.5 as a number, not text" in message


def test_a_comma_that_split_an_expression_is_explained():
    message = error("""
        name: t
        input: [32, 8, 8]
        vars: {c: 32}
        layers:
          - {conv2d: {out: make_divisible(c // 4, 8), kernel: 1}}
    """)
    assert "conv2d has no field '8)': a comma inside an unquoted expression splits a YAML flow mapping" in message
    assert 'quote the expression: out: "make_divisible(c // 4, ..."' in message


SPLIT = "a comma inside an unquoted expression splits a YAML flow mapping"


@pytest.mark.parametrize("text, located, what, hint", [
    ("input: [8, 4, 4]\nvars: {c: 32}\nblocks:\n  b: {args: {w: 1}, layers: [{conv2d: {out: w, kernel: 1}}]}\n"
     "layers:\n  - {b: {w: max(8, c // 4)}}\n", "<string>:7:20: layer '0': ", "block 'b' has no argument 'c // 4)'",
     'w: "max(8, ..."'),
    ("input: [8]\nvars: {c: max(8, 4)}\nlayers:\n  - linear: c\n", "<string>:3:20: ", "variable name '4)' is not a "
     "valid name", 'c: "max(8, ..."'),
    ("input: [8]\nblocks:\n  b: {args: {w: max(8, 4)}, layers: [{linear: w}]}\nlayers:\n  - b\n",
     "<string>:4:26: block 'b', ", "argument name '4)' is not a valid name", 'w: "max(8, ..."'),
    ("input: [8]\nlayers:\n  - {repeat: max(1, 2), relu}\n", "<string>:4:5: layer '0': ",
     "one layer has several kinds: 2), relu", 'repeat: "max(1, ..."'),
    ("input: [8]\nlayers:\n  - {repeat: max(1, 2), layers: [relu]}\n", "<string>:4:5: layer '0': ",
     "a layer of kind '2)' cannot also have 'layers'", 'repeat: "max(1, ..."'),
])
def test_a_comma_that_split_an_expression_is_explained_wherever_it_splits_one(text, located, what, hint):
    message = error("name: t\n" + text)
    assert message.startswith(f"{located}{what}: {SPLIT}\n"), message
    assert message.endswith(f"hint: quote the expression: {hint}"), message


@pytest.mark.parametrize("layer, shown", [
    ("{identity: 0.1}", "identity takes its settings as a mapping, got 0.1"),
    ("{conv2d: 32.5}", "conv2d takes its settings as a mapping, got 32.5"),
    ("{relu: yes}", "relu takes its settings as a mapping, got true"),
    ("{flatten: 1e-6}", "flatten takes its settings as a mapping, got '1e-6'"),  # text in YAML 1.1: no dot
    ("{linear: 0.1}", "out: the value must be a whole number, got 0.1"),
    ("[0.5, null]", "a layer must be a kind name or a mapping, got [0.5, null]"),
    ("{relu, from: [0.5]}", "'from' must name layers, got 0.5"),
])
def test_values_in_messages_are_shown_as_the_spec_writes_them(layer, shown):
    assert shown in error(f"name: t\ninput: [3, 8, 8]\nlayers:\n  - {layer}\n")


@pytest.mark.parametrize("text, shown", [
    ("name: yes\ninput: [3]\nlayers: [relu]\n", "'name' must be text, got true"),
    ("name: t\ninput: [3]\ndtype: 0.5\nlayers: [relu]\n", "unknown dtype 0.5"),
    ("name: t\ninput: [3]\nlayers: [relu]\noutput: 0.5\n", "'output' must name a layer, got 0.5"),
    ("name: t\ninput: [3]\nlayers: [relu]\nbudget: {params: yes}\n", "budget params: expected a number, got true"),
    ("name: t\ninput: [3]\nlayers: [relu]\nbudget: {params: -0.5}\n",
     "budget params: a limit cannot be negative, got -0.5"),
])
def test_top_level_values_in_messages_are_shown_as_the_spec_writes_them(text, shown):
    assert shown in error(text)


@pytest.mark.parametrize("argument", ["in_channels", "in_shape"])
def test_a_block_argument_cannot_stand_for_what_paramcalc_says_of_the_block_s_input(argument):
    message = error(f"""
        name: t
        input: [8, 4, 4]
        blocks:
          b:
            args: {{{argument}: 3}}
            layers: [{{conv2d: {{out: 4, kernel: 1}}}}]
        layers:
          - b
    """)
    assert message.startswith(f"<string>:5:12: block 'b', argument name '{argument}' is given by paramcalc"), message
    assert "hint: inside a block, in_channels and in_shape are the channels and the shape of the block's input" \
           in message


@pytest.mark.parametrize("name", ["in_channels", "in_shape"])
def test_a_variable_cannot_stand_for_what_paramcalc_says_of_a_block_s_input(name):
    # with vars {in_channels: 3}, a block that reads its input's channels would have sized itself from 3, not 8
    message = error(f"""
        name: t
        input: [8, 4, 4]
        vars: {{{name}: 3}}
        blocks:
          b:
            layers: [{{conv2d: {{out: in_channels, kernel: 1}}}}]
        layers:
          - b
    """)
    assert message.startswith(f"<string>:3:8: variable name '{name}' is given by paramcalc"), message


def test_short_forms_and_messages_name_the_kind_as_written():
    result = paramcalc.analyze(spec("""
        name: t
        input: [8, 4, 4]
        layers:
          - {name: drop, stochastic_depth: 0.1}
          - {name: gamma, scale: 1e-6}
          - {name: sd, stochastic_depth: {p: 0.2, mode: batch}}
    """))
    assert result.totals.params == 8 and result.totals.macs == 0 and result["drop"].kind == "stochastic_depth"
    message = error("name: t\ninput: [3, 8, 8]\nlayers:\n  - conv: {out: 4, kernal: 3}\n")
    assert "conv has no field 'kernal'" in message and "did you mean 'kernel'" in message
    message = error("name: t\ninput: [3, 8, 8]\nlayers:\n  - {layer_scale: {p: 1}}\n")
    assert "layer_scale has no field 'p'" in message and "layer_scale fields: init" in message


# --- the usual names, and the Python API's options ---------------------------------------------------------
@pytest.mark.parametrize("short, full, size", [("fp16", "float16", 2), ("bf16", "bfloat16", 2), ("fp32", "float32", 4),
                                               ("fp64", "float64", 8)])
def test_short_dtype_names(short, full, size):
    path = str(ROOT / "specs/examples/rgb_conv.yaml")
    data = json.loads(CliRunner().invoke(main, ["show", path, "--dtype", short, "--format", "json"]).output)
    assert data["dtype"] == full and data["totals"]["param_bytes"] == 112 * size
    assert paramcalc.analyze(path, dtype=short).dtype == full
    assert paramcalc.analyze(f"name: t\ninput: [3]\ndtype: {short}\nlayers: [relu]\n").dtype == full


def test_layers_shows_the_kinds_named():
    output = CliRunner().invoke(main, ["layers", "conv2d"]).output
    assert output.startswith("conv2d ") and "maxpool" not in output
    refused = CliRunner().invoke(main, ["layers", "conv2"])
    assert refused.exit_code == 2 and "did you mean 'conv2d'" in refused.output


def test_analyze_takes_the_command_line_s_options():
    path = ROOT / "specs/resnet50.yaml"
    result = paramcalc.analyze(path, depth=2, batch=8, dtype="fp16", input="3x448x448")
    assert {r.depth for r in result.records} == {0, 1} and result.totals.layers == 175
    assert result.batch == 8 and result.dtype == "float16" and result.input_shape == (3, 448, 448)
    assert result["layer3"].params == 7_098_368  # a collapsed group sums its layers
    with pytest.raises(KeyError):
        result["layer3.0.conv1"]
    assert paramcalc.analyze(path, input=(3, 224, 224)).totals.macs == 4_089_184_256


def test_a_result_displays_once_in_jupyter(monkeypatch):
    import rich.console
    import rich.jupyter

    shown = []
    monkeypatch.setattr(rich.console, "_is_jupyter", lambda: True)  # as rich finds it inside a notebook
    monkeypatch.setattr(rich.jupyter, "display", lambda *args, **kwargs: shown.append(args))
    html = paramcalc.analyze(ROOT / "specs/examples/stack_3x3.yaml")._repr_html_()
    assert "stack_3x3" in html and "conv1" in html
    assert shown == []  # the notebook shows the HTML returned, and nothing printed besides


def test_numbers_in_messages_are_decimals_where_a_decimal_is_exact():
    from fractions import Fraction

    from paramcalc.spec.literals import as_written

    cases = {Fraction(2): "2", Fraction(-4, 2): "-2", Fraction(1, 10): "0.1", Fraction(-1, 20): "-0.05",
             Fraction(3, 8): "0.375", Fraction(65, 2): "32.5", Fraction(1, 3): "1/3", Fraction(64, 3): "64/3"}
    assert {value: as_written(value) for value in cases} == cases
    assert as_written([Fraction(1, 2), None, True, "a"]) == "[0.5, null, true, 'a']"


def test_training_needs_only_what_inference_does_not_already():
    # inference: the 2x2 pool (H >= 2) and the sum of the input with its pooled and doubled copy (H even);
    # training adds the 9x9 head's H >= 9, and repeats neither
    result = paramcalc.analyze("name: t\ninput: [3, H, W]\noutput: s\nlayers:\n  - {name: a, maxpool: {kernel: 2, stride: 2}}\n"
                               "  - {name: b, upsample: {scale: 2}}\n  - {name: s, add, from: [input, b]}\n"
                               "  - {name: aux, train_only: true, conv2d: {out: 1, kernel: 9}, from: input}\n")
    assert [str(c) for c, _ in result.conditions] == ["H >= 2", "W >= 2", "H divisible by 2", "W divisible by 2"]
    assert [str(c) for c, _ in result.training_conditions] == ["H >= 9", "W >= 9"]
