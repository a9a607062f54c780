"""Bad input: one message with file, line, column, layer path, what is wrong and what would be right;
exit status 2; never a traceback."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner

from paramcalc.cli import main

HEAD = "name: t\ninput: [3, 32, 32]\n"

CASES = {
    "yaml_syntax": (
        HEAD + "layers:\n  - conv2d: {out: 8, kernel: 3\n  - relu\n",
        "6:1", None, ["YAML syntax error", "hint: check the indentation"]),
    "unknown_kind": (
        HEAD + "layers:\n  - conv2: {out: 8, kernel: 3}\n",
        "4:5", "0", ["unknown layer kind 'conv2'", "did you mean 'conv2d'"]),
    "unknown_block_typo": (
        HEAD + "blocks:\n  bottleneck: {layers: [relu]}\nlayers:\n  - bottlenek\n",
        "6:5", "0", ["unknown layer kind 'bottlenek'", "did you mean 'bottleneck'"]),
    "missing_field": (
        HEAD + "layers:\n  - conv2d: {kernel: 3}\n",
        "4:13", "0", ["conv2d needs 'out'", "out: integer >= 1"]),
    "misspelt_field": (
        HEAD + "layers:\n  - {name: c1, conv2d: {out: 8, kernal: 3}}\n",
        "4:33", "c1", ["conv2d has no field 'kernal'", "did you mean 'kernel'"]),
    "mistyped_field": (
        HEAD + "layers:\n  - {name: c1, conv2d: {out: 8, kernel: 3, bias: 1}}\n",
        "4:50", "c1", ["bias: must be true or false, got 1"]),
    "fractional_size": (
        HEAD + "layers:\n  - {name: c1, conv2d: {out: 64 / 3, kernel: 3}}\n",
        "4:30", "c1", ["out: the value must be a whole number, got 64/3", "use // for whole-number division"]),
    "non_positive_size": (
        HEAD + "layers:\n  - {name: c1, conv2d: {out: 0, kernel: 3}}\n",
        "4:30", "c1", ["out: must be at least 1, got 0"]),
    "non_positive_input": (
        "name: t\ninput: [3, 0, 32]\nlayers: [relu]\n",
        "2:8", None, ["each input size must be between 1 and"]),
    "kernel_larger_than_input": (
        "name: t\ninput: [3, 4, 4]\nlayers:\n  - {name: c1, conv2d: {out: 8, kernel: 7}}\n",
        "4:41", "c1", ["kernel 7", "larger than the padded input height 4", "--input"]),
    "groups": (
        HEAD + textwrap.dedent("""\
            blocks:
              b:
                args: {g: 3}
                layers:
                  - {name: conv1, conv2d: {out: 64, kernel: 3, groups: g}}
            layers:
              - {name: stem, conv2d: {out: 64, kernel: 3}}
              - {name: stage2, repeat: 2, b}
            """),
        "7:60", "stage2.0.conv1", ["groups=3 does not divide in_channels=64"]),
    "add_mismatch": (
        HEAD + "layers:\n  - {name: a, conv2d: {out: 8, kernel: 1}}\n  - {name: b, conv2d: {out: 16, kernel: 1}}\n"
               "  - {name: s, add, from: [a, b]}\n",
        "6:5", "s", ["add needs matching shapes, got 8x32x32 and 16x32x32", "projection"]),
    "concat_mismatch": (
        HEAD + "layers:\n  - {name: a, conv2d: {out: 8, kernel: 3, padding: 1}}\n"
               "  - {name: b, from: input, conv2d: {out: 8, kernel: 3, stride: 2, padding: 1}}\n"
               "  - {name: s, concat, from: [a, b]}\n",
        "6:5", "s", ["cannot concatenate 8x32x32 with 8x16x16", "same size"]),
    "unknown_name": (
        HEAD + "layers:\n  - {name: conv_a, relu}\n  - {name: s, add, from: [conv_b, input]}\n",
        "5:26", "s", ["no layer named 'conv_b'", "did you mean 'conv_a'"]),
    "unknown_name_inside_group": (
        HEAD + "layers:\n  - {name: g, layers: [{name: x, relu}]}\n  - {name: s, relu, from: g.y}\n",
        "5:27", "s", ["'g.y': no layer 'y' inside", "inside: x"]),
    "duplicate_name": (
        HEAD + "layers:\n  - {name: a, relu}\n  - {name: a, relu}\n",
        "5:5", "a", ["duplicate layer name 'a' (first used on line 4)"]),
    "duplicate_key": (
        HEAD + "layers:\n  - conv2d: {out: 8, kernel: 3, out: 16}\n",
        "4:33", None, ["duplicate key 'out' (first given on line 4)", "silently keep only the last"]),
    "cycle": (
        HEAD + "layers:\n  - {name: a, relu, from: b}\n  - {name: b, relu}\n",
        "4:27", "a", ["'b' comes later in the list", "rules out cycles"]),
    "later_in_the_outer_list": (
        HEAD + "layers:\n  - name: g\n    layers:\n      - {name: x, add, from: [input, later]}\n  - {name: later, relu}\n",
        "6:30", "g.x", ["'later' comes later in the list", "rules out cycles"]),
    "self_loop": (
        HEAD + "layers:\n  - {name: a, add, from: [a, input]}\n",
        "4:26", "a", ["takes its own output as input", "cycle"]),
    "block_uses_itself": (
        HEAD + "blocks:\n  a: {layers: [b]}\n  b: {layers: [relu, a]}\nlayers:\n  - a\n",
        "5:22", "0.0.1", ["block 'a' uses itself (a -> b -> a)"]),
    "block_missing_argument": (
        HEAD + "blocks:\n  unit:\n    args: {out: ~}\n    layers: [{conv2d: {out: out, kernel: 1}}]\n"
               "layers:\n  - {name: u, unit}\n",
        "8:15", "u", ["block 'unit' needs the argument 'out'"]),
    "block_unknown_argument": (
        HEAD + "blocks:\n  unit:\n    args: {out: ~}\n    layers: [{conv2d: {out: out, kernel: 1}}]\n"
               "layers:\n  - {name: u, unit: {outt: 3}}\n",
        "8:22", "u", ["block 'unit' has no argument 'outt'", "did you mean 'out'"]),
    "two_kinds_in_one_layer": (
        HEAD + "layers:\n  - conv2d: {out: 8, kernel: 3}\n    relu:\n",
        "4:5", "0", ["one layer has several kinds: conv2d, relu", "its own '- '"]),
    "block_named_as_a_kind": (
        HEAD + "blocks:\n  conv: {layers: [relu]}\nlayers:\n  - conv\n",
        "4:9", None, ["block 'conv' has the name of a built-in layer kind", "e.g. 'conv_block'"]),
    "block_named_as_a_layer_key": (
        HEAD + "blocks:\n  module: {layers: [relu]}\nlayers:\n  - {name: m, module}\n",
        "4:11", None, ["block 'module' has the name of a layer's key", "e.g. 'module_block'"]),
    "unknown_top_level_key": (
        HEAD + "layer:\n  - relu\n",
        "3:1", None, ["unknown top-level key 'layer'", "did you mean 'layers'"]),
    "missing_layers": (
        HEAD, "1:1", None, ["missing 'layers'"]),
    "unknown_variable": (
        HEAD + "vars: {width: 64}\nlayers:\n  - {name: c, conv2d: {out: widht, kernel: 3}}\n",
        "5:29", "c", ["out: unknown name 'widht'", "did you mean 'width'"]),
    "merge_with_one_input": (
        HEAD + "layers:\n  - {name: c, concat}\n",
        "4:5", "c", ["concat merges several inputs, got 1", "from: [a, b]"]),
    "empty_file": ("", "1:1", None, ["the file is empty"]),
    "not_a_mapping": ("- relu\n", "1:1", None, ["a spec must be a mapping"]),
    "python_tag": (
        "name: t\ninput: !!python/object/apply:os.system ['echo hi']\nlayers: [relu]\n",
        "2:8", None, ["YAML tag '!!python/object/apply:os.system' is not allowed"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_spec_gives_one_located_message_and_exit_2(case, tmp_path):
    text, where, layer, fragments = CASES[case]
    path = tmp_path / f"{case}.yaml"
    path.write_text(text)
    result = CliRunner().invoke(main, ["show", str(path)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.stdout == ""
    message = result.stderr
    prefix = f"error: {path}:{where}: "
    if layer is not None:
        prefix += f"layer '{layer}': "
    assert message.startswith(prefix), message
    for fragment in fragments:
        assert fragment in message


def test_missing_file_and_bad_options(tmp_path):
    runner = CliRunner()
    missing = runner.invoke(main, ["show", str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 2 and "no such file" in missing.stderr
    spec = tmp_path / "ok.yaml"
    spec.write_text(HEAD + "layers: [relu]\n")
    for options in (["--input", "3x4.5x4"], ["--input", "3x0x4"], ["--batch", "0"], ["--depth", "zero"],
                    ["--batch", "²"], ["--input", "3x²x4"], ["--input", "3xHxW", "--at", "2²x4"]):
        result = runner.invoke(main, ["show", str(spec), *options])
        assert result.exit_code == 2, options
        assert "Traceback" not in result.output


def test_a_spec_on_the_command_line_is_a_file_whatever_its_name(tmp_path):
    # load_spec reads a string as a path only when it ends in .yaml or .yml; the command line's argument is
    # always a path (it was read as YAML text: 'a spec must be a mapping' at <string>:1:1)
    spec = tmp_path / "model.spec"
    spec.write_text(HEAD + "layers:\n  - {name: c, conv2d: {out: 4, kernel: 3}}\n")
    runner = CliRunner()
    for arguments in (["show", str(spec)], ["show", str(spec), "--format", "csv"], ["check", str(spec)],
                      ["compare", str(spec), str(spec)], ["explain", str(spec), "c"]):
        result = runner.invoke(main, arguments)
        assert result.exit_code == 0, (arguments, result.output)
    fast = subprocess.run([sys.executable, "-m", "paramcalc", "show", str(spec), "--format", "csv"],
                          capture_output=True, text=True)
    assert fast.returncode == 0 and fast.stdout.splitlines()[1].startswith("c,"), fast.stderr
    for arguments in (["show", str(tmp_path / "nope")], ["show", str(tmp_path / "nope"), "--format", "json"],
                      ["check", str(tmp_path / "nope")]):
        result = runner.invoke(main, arguments)
        assert result.exit_code == 2 and result.stderr.startswith(f"error: {tmp_path / 'nope'}: no such file")


def test_the_installed_command_prints_no_traceback(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(HEAD + "layers:\n  - conv2: {out: 8}\n")
    process = subprocess.run([sys.executable, "-m", "paramcalc", "show", str(path)], capture_output=True, text=True)
    assert process.returncode == 2
    assert process.stdout == ""
    assert process.stderr.startswith(f"error: {path}:4:5: layer '0': unknown layer kind 'conv2'")
    assert "Traceback" not in process.stderr


def test_a_long_list_of_names_is_shortened_in_a_hint(tmp_path):
    path = tmp_path / "spec.yaml"
    layers = "".join(f"  - {{name: c{i}, relu}}\n" for i in range(30))
    path.write_text(HEAD + "layers:\n" + layers + "  - {name: bad, add, from: [c0, nowhere]}\n")
    hint = CliRunner().invoke(main, ["show", str(path)]).stderr.split("hint: ")[1].strip()
    assert hint == "names here: input, ..., " + ", ".join(f"c{i}" for i in range(20, 30)) + " (31 names)"


# --- text that would act on the terminal ----------------------------------------------------------------------
ONE_LAYER = "input: [3]\nlayers:\n  - {name: fc, linear: 3}\n"


@pytest.mark.parametrize("text, where, message", [
    ('name: "a\\e[31mRED"\n' + ONE_LAYER, "1:7", "'name' holds the unprintable character U+001B ('\\x1b')"),
    ('name: "a\\u202eb"\n' + ONE_LAYER, "1:7", "'name' holds the unprintable character U+202E ('\\u202e')"),
    ('name: t\ndescription: "red\\e[31m"\n' + ONE_LAYER, "2:14",
     "'description' holds the unprintable character U+001B ('\\x1b')"),
    ('name: t\nblocks:\n  b: {description: "\\r\\e[2K", layers: [relu]}\n' + ONE_LAYER, "3:20",
     "block 'b', 'description' holds the unprintable character U+000D ('\\r')"),
])
def test_a_spec_s_text_cannot_hold_characters_a_terminal_acts_on(text, where, message, tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(text)
    for arguments in (["show", str(path)], ["check", str(path), "--max-params", "1"]):
        result = CliRunner().invoke(main, arguments)
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith(f"error: {path}:{where}: {message}"), result.stderr
        assert "hint: write plain text: it is printed" in result.stderr
        assert "\x1b" not in result.output and "\r" not in result.output and "\u202e" not in result.output


def test_a_multi_line_description_is_plain_text():
    import paramcalc

    text = 'name: t\ndescription: "one line\\n\\tand another"\n' + ONE_LAYER
    assert paramcalc.analyze(text).description == "one line\n\tand another"


@pytest.mark.parametrize("text, message", [
    ('name: t\ninput: [3]\nlayers:\n  - "lin\\x1bear": 3\n', "error: {path}:4:5: layer '0': unknown layer kind "
                                                            "'lin\\x1bear'"),
    ('name: t\n"lay\\rers": [relu]\ninput: [3]\n', "error: {path}:2:1: unknown top-level key 'lay\\rers'"),
    ('name: t\ninput: [3]\nlayers:\n  - conv2d: {"ker\\nnel": 3}\n', "error: {path}:4:14: layer '0': conv2d has no "
                                                                   "field 'ker\\nnel'"),
    ('name: t\ninput: [3]\ndtype: "f\\e[2J"\nlayers: [relu]\n', "error: {path}:3:8: unknown dtype 'f\\x1b[2J'"),
])
def test_messages_show_the_unprintable_characters_they_echo_escaped(text, message, tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(text)
    result = CliRunner().invoke(main, ["show", str(path)])
    assert result.exit_code == 2
    assert result.stderr.startswith(message.format(path=path)), result.stderr
    assert "\x1b" not in result.stderr and "\r" not in result.stderr and len(result.stderr.splitlines()) <= 2


def test_a_file_name_is_shown_escaped(tmp_path):
    path = tmp_path / "a\x1b[31m.yaml"
    path.write_text("name: t\ninput: [3]\nlayers:\n  - conv2: 3\n")
    shown = str(tmp_path) + "/a\\x1b[31m.yaml"
    for arguments in (["show", str(path)], ["check", str(path)], ["show", str(tmp_path / "gone\x07.yaml")]):
        result = CliRunner().invoke(main, arguments)
        assert result.exit_code == 2 and "\x1b" not in result.output and "\x07" not in result.output, result.output
    assert CliRunner().invoke(main, ["show", str(path)]).stderr.startswith(f"error: {shown}:4:5: layer '0'")


@pytest.mark.parametrize("device, where, message", [
    ('slow: {title: "x\\e[2J", peak: {fp32: 1}, bandwidth: 1, source: s}', "1:15",
     "device 'slow': 'title' holds the unprintable character U+001B ('\\x1b')"),
    ('slow: {peak: {fp32: 1}, bandwidth: 1, source: "datasheet\\e[8m"}', "1:47",
     "device 'slow': 'source' holds the unprintable character U+001B ('\\x1b')"),
    ('"sl\\e[0mow": {peak: {fp32: 1}, bandwidth: 1, source: s}', "1:14",
     "device 'sl\\x1b[0mow': its name holds the unprintable character U+001B ('\\x1b')"),
])
def test_a_devices_file_s_text_cannot_hold_characters_a_terminal_acts_on(device, where, message, tmp_path):
    path = tmp_path / "devices.yaml"
    path.write_text(device + "\n")
    result = CliRunner().invoke(main, ["devices", "--devices", str(path)])
    assert result.exit_code == 2 and "\x1b" not in result.output and "\r" not in result.output
    assert result.stderr.startswith(f"error: {path}:{where}: {message}"), result.stderr
    folded = tmp_path / "folded.yaml"
    folded.write_text("slow:\n  peak: {fp32: 1}\n  bandwidth: 1\n  source: >\n    a datasheet,\n    page 2\n")
    assert "a datasheet, page 2" in CliRunner().invoke(main, ["devices", "--devices", str(folded)]).output
