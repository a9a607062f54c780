"""Time on a device by the roofline model: figures worked out by hand for a small net on a made-up device, the
device files and their errors, and the SVG plot."""

from __future__ import annotations

import xml.dom.minidom

import pytest

from paramcalc.engine.hardware import roofline
from paramcalc.errors import SpecError
from paramcalc.render.hardware import roofline_svg
from paramcalc.spec.devices import find_device, read_devices

SPEC = """
name: small
input: [3, 8, 8]
layers:
  - {name: conv, conv2d: {out: 4, kernel: 3, padding: 1}}
  - {name: relu, relu}
  - {name: flatten, flatten}
  - {name: fc, linear: 10}
"""

# 1 GFLOP/s at fp32 (0.001 TFLOPS), 2 at fp16; 1 GB/s: a microsecond is a thousand FLOPs or a thousand bytes
DEVICE = """
slow:
  title: A slow device
  peak: {fp32: 0.001, fp16: 0.002}
  bandwidth: 1
  memory: 1
  source: made up for the tests
"""


@pytest.fixture
def device(tmp_path):
    path = tmp_path / "devices.yaml"
    path.write_text(DEVICE)
    return read_devices(str(path))["slow"]


def test_each_layer_by_hand(device):
    roof = roofline(SPEC, device)
    by_name = {layer.name: layer for layer in roof.layers}
    # conv: 4·27·64 = 6,912 MACs, 2 FLOPs each + a bias per output (256); reads 192 inputs and 4·27 + 4 weights,
    # writes 256 outputs, 4 bytes each: compute 14.08 µs against memory 2.24 µs
    assert (by_name["conv"].flops, by_name["conv"].bytes) == (2 * 6_912 + 256, 4 * (192 + 112 + 256))
    assert by_name["conv"].bound == "compute" and by_name["conv"].seconds == pytest.approx(14.08e-6)
    # relu: one FLOP per value; reads and writes 256 values: memory-bound, 2.048 µs
    assert (by_name["relu"].flops, by_name["relu"].bytes, by_name["relu"].bound) == (256, 2 * 4 * 256, "memory")
    # flatten: a view of its input, nothing moves
    assert (by_name["flatten"].bytes, by_name["flatten"].seconds, by_name["flatten"].bound) == (0, 0.0, "")
    # fc: 2,560 MACs (5,120 FLOPs) + 10 for the bias; reads 256 values and 2,570 weights, writes 10: 11.344 µs
    assert (by_name["fc"].flops, by_name["fc"].bytes) == (5_130, 4 * (256 + 2_570 + 10))
    assert by_name["fc"].bound == "memory"
    assert roof.seconds == pytest.approx((14_080 + 2_048 + 11_344) * 1e-9)
    assert roof.share("compute") == pytest.approx(14_080 / 27_472)
    assert roof.ridge == 1  # 1 GFLOP/s over 1 GB/s


def test_a_training_step_by_hand(device):
    """Forward as above; backward (conventions.md): the conv, the first layer, computes no input gradient, only its
    weights' (2·6,912 + 256 for the bias); the ReLU its input's (256); fc both (2·2,560 and 2·2,560 + 10). Each
    backward pass moves the forward pass's bytes, and its inputs' and weights' once more (their gradients)."""
    by_name = {layer.name: layer for layer in roofline(SPEC, device, train=True).layers}
    assert (by_name["conv"].flops, by_name["conv"].bytes) == (2 * 14_080, 2 * 2_240 + 4 * (192 + 112))
    assert by_name["conv"].seconds == pytest.approx(2 * 14.08e-6)
    assert (by_name["relu"].flops, by_name["relu"].bytes) == (2 * 256, 2 * 2_048 + 4 * 256)
    assert by_name["relu"].seconds == pytest.approx((2_048 + 3_072) * 1e-9)
    assert (by_name["fc"].flops, by_name["fc"].bytes) == (5_130 + 10_250, 2 * 11_344 + 4 * (256 + 2_570))
    assert by_name["fc"].seconds == pytest.approx((11_344 + 22_648) * 1e-9)
    assert by_name["flatten"].seconds == 0


def test_a_training_step_at_a_batch_of_2_by_hand(device):
    """At a batch of 2 the activations move twice, the weights once, forward and backward; each backward pass
    moves the forward pass's bytes and its inputs' and weights' once more (their gradients), and computes twice
    the FLOPs per sample as above (fc's bias gradient: 10 adds per sample). The flatten, a view, moves nothing."""
    roof = roofline(SPEC, device, train=True, batch=2)
    assert roof.training and not roofline(SPEC, device).training
    by_name = {layer.name: layer for layer in roof.layers}
    forward = 4 * (2 * (192 + 256) + 112)
    assert (by_name["conv"].flops, by_name["conv"].bytes) == (2 * 2 * 14_080, 2 * forward + 4 * (2 * 192 + 112))
    relu = 4 * 2 * (256 + 256)
    assert (by_name["relu"].flops, by_name["relu"].bytes) == (2 * 2 * 256, 2 * relu + 4 * 2 * 256)
    assert (by_name["flatten"].flops, by_name["flatten"].bytes, by_name["flatten"].bound) == (0, 0, "")
    fc = 4 * (2 * (256 + 10) + 2_570)
    assert by_name["fc"].flops == 2 * 5_130 + 2 * (2 * 2_560) + 2 * (2 * 2_560 + 10)
    assert by_name["fc"].bytes == 2 * fc + 4 * (2 * 256 + 2_570)
    assert roof.seconds == pytest.approx(sum(max(layer.flops / 1e9, layer.bytes / 1e9) for layer in roof.layers))


def test_a_train_only_layer_runs_in_a_training_step_only(device):
    """An auxiliary head moves and computes in training, not at inference; at another input size (`input`) the
    figures are that size's: a 3x4x4 input makes the conv's output 4x4x4 and the head reads 64 values."""
    spec = SPEC + "  - {name: aux, linear: 2, from: flatten, train_only: true}\noutput: fc\n"
    inference = {layer.name for layer in roofline(spec, device).layers}
    training = {layer.name: layer for layer in roofline(spec, device, train=True).layers}
    assert "aux" not in inference and "aux" in training
    assert training["aux"].flops == (2 * 256 * 2 + 2) + (2 * 256 * 2 + 2 * 256 * 2 + 2)
    small = {layer.name: layer for layer in roofline(SPEC, device, input="3x4x4").layers}
    assert small["conv"].flops == 2 * 4 * 27 * 16 + 64 and small["fc"].flops == 2 * 640 + 10


def test_batch_and_precision(device):
    """A batch multiplies the activations moved and the FLOPs, not the weights; fp16 halves every byte and has
    its own peak."""
    roof = roofline(SPEC, device, batch=2, precision="fp16")
    conv = roof.layers[0]
    assert (conv.flops, conv.bytes) == (2 * 14_080, 2 * (2 * (192 + 256) + 112))
    assert conv.seconds == pytest.approx(2 * 14_080 / 2e9)
    assert roofline(SPEC, device, dtype="float16").precision == "fp16"  # the dtype's precision by default


def test_bad_devices_and_precisions_are_one_message(device, tmp_path):
    devices = read_devices()
    with pytest.raises(SpecError, match="unknown device 'a1000'") as caught:
        find_device(devices, "a1000")
    assert "did you mean 'a100'" in caught.value.hint and "'rtx4090', 't4'" in caught.value.hint
    with pytest.raises(SpecError, match="NVIDIA T4 16GB has no bf16 peak") as caught:
        roofline(SPEC, devices["t4"], precision="bf16")
    assert caught.value.hint == "its precisions: fp32, fp16, int8"
    with pytest.raises(SpecError, match="no device states a peak for float64"):
        roofline(SPEC, device, dtype="float64")
    cases = {
        "mine: {peak: {fp32: 1}, bandwidth: 1}\n": ":1:7: device 'mine': 'source' is missing",
        "mine: {peak: {fp33: 1}, bandwidth: 1, source: x}\n": ":1:15: device 'mine': unknown precision 'fp33'",
        "mine: {peak: {fp32: -1}, bandwidth: 1, source: x}\n": ":1:21: device 'mine': peak fp32 (TFLOPS) must be a",
        "mine: {peak: {fp32: 1}, bandwidth: 1, source: x, colour: red}\n": "device 'mine': unknown field 'colour'",
        "mine: {peak: {fp32: 1}, bandwidth: lots, source: x}\n": "device 'mine': bandwidth (GB/s): 'lots' is not",
        "- a100\n": "a devices file is a mapping of device names",
    }
    for text, message in cases.items():
        path = tmp_path / "bad.yaml"
        path.write_text(text)
        with pytest.raises(SpecError) as caught:
            read_devices(str(path))
        assert message in str(caught.value), text


def test_a_users_file_adds_and_replaces_devices(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("a100: {title: My A100, peak: {fp16: 250}, bandwidth: 1500, source: measured\n"
                    "          by us}\nmine: {peak: {int8: 1k}, bandwidth: 100, source: x}\n")
    devices = read_devices(str(path))
    assert devices["a100"].title == "My A100" and devices["a100"].peaks == {"fp16": 250 * 10**12}
    assert devices["a100"].source == "measured by us"
    assert devices["mine"].peaks == {"int8": 1000 * 10**12} and devices["mine"].memory is None
    assert "h100" in devices


def test_the_plot_is_svg_and_escapes_every_name(device):
    spec = SPEC.replace("name: small", "name: '<script>alert(1)</script>&'")
    svg = roofline_svg(roofline(spec, device._replace(title="<b>slow</b>")))
    xml.dom.minidom.parseString(svg)  # well-formed
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "&lt;b&gt;slow" in svg
    assert svg.count("<circle") == 3  # the layers with FLOPs (flatten has none)


def run(*arguments):
    from click.testing import CliRunner

    from paramcalc.cli import main

    return CliRunner().invoke(main, list(arguments), env={"COLUMNS": "200"})


@pytest.fixture
def files(tmp_path):
    (tmp_path / "small.yaml").write_text(SPEC)
    (tmp_path / "devices.yaml").write_text(DEVICE)
    return str(tmp_path / "small.yaml"), str(tmp_path / "devices.yaml")


def test_show_on_a_device(files, tmp_path):
    spec, devices = files
    result = run("show", spec, "--devices", devices, "--device", "slow")
    assert result.exit_code == 0, result.output
    assert "small on A slow device at fp32" in result.output
    assert "Estimated time 27.5 µs: a lower bound from the roofline model" in result.output
    assert "not a measurement" in result.output
    sweep = run("show", spec, "--devices", devices, "--device", "slow", "--batch", "1,2,4")
    assert sweep.exit_code == 0, sweep.output
    rows = [line.split() for line in sweep.output.splitlines() if line.strip()[:1].isdigit()]
    assert [row[0] for row in rows[-3:]] == ["1", "2", "4"]
    data = run("show", spec, "--devices", devices, "--device", "slow", "--format", "json", "--batch", "1,2")
    assert data.exit_code == 0, data.output
    import json

    roofs = json.loads(data.output)["roofline"]
    assert [roof["batch"] for roof in roofs] == [1, 2] and roofs[0]["flops"] == 14_080 + 256 + 5_130
    assert roofs[0]["layers"][0] == {"name": "conv", "kind": "conv2d", "flops": 14_080, "bytes": 2_240,
                                     "seconds": pytest.approx(14.08e-6), "bound": "compute"}
    plot = tmp_path / "roofline.svg"
    assert run("show", spec, "--devices", devices, "--device", "slow", "--export", str(plot)).exit_code == 0
    assert plot.read_text().startswith("<svg") and "attained FLOP/s" in plot.read_text()


def test_device_options_are_checked(files):
    spec, devices = files
    for arguments, message in [
        (["--device", "a1000"], "unknown device 'a1000'"),
        (["--batch", "1,8"], "a list of batch sizes goes with --device"),
        (["--precision", "fp16"], "--devices and --precision go with --device"),
        (["--device", "a100", "--convention", "fvcore"], "leave out --convention and --by"),
        (["--device", "t4", "--precision", "bf16"], "NVIDIA T4 16GB has no bf16 peak"),
        (["--batch", "0,8"], "'0,8' is not a batch size"),
        (["--devices", spec, "--device", "a100"], "device 'name': expected a mapping"),
    ]:
        result = run("show", spec, *arguments)
        assert result.exit_code == 2 and message in result.output, (arguments, result.output)
        assert "Traceback" not in result.output


def test_the_devices_command(files):
    _, devices = files
    listed = run("devices")
    assert listed.exit_code == 0
    for name in ("a100", "h100", "h200", "l4", "t4", "rtx4090"):
        assert f"\n{name} " in listed.output and f"\n{name}: " in listed.output  # a row, and its source
    mine = run("devices", "--devices", devices)
    assert "A slow device" in mine.output and "slow: made up for the tests" in mine.output


def test_a_model_that_moves_nothing_takes_no_time(device):
    roof = roofline("name: views\ninput: [3, 2, 2]\nlayers: [flatten]\n", device)
    assert (roof.seconds, roof.flops, roof.bytes) == (0, 0, 0)
    assert roof.share("compute") == roof.share("memory") == 0.0


def test_a_symbolic_input_is_refused_with_what_needs_numbers(device):
    with pytest.raises(SpecError) as caught:
        roofline("name: s\ninput: [3, H, W]\nlayers: [{conv2d: {out: 2, kernel: 1}}]\n", device)
    assert "a roofline needs concrete input sizes" in str(caught.value) and caught.value.file == "<string>"


def test_what_bounds_a_layer_at_the_edges(device):
    """Padding computes nothing but writes a new map: memory-bound. A layer whose FLOPs take exactly as long as
    its bytes (24 FLOPs; reading 4 values and writing 2, 4·(4 + 2) bytes, on a device of 1 GFLOP/s and 1 GB/s)
    counts as compute-bound."""
    spec = ("name: edges\ninput: [1, 2, 2]\nlayers:\n  - {name: pad, pad: 1}\n"
            "  - {name: tie, custom: {out: [2], flops: 24}, from: input}\noutput: pad\n")
    by_name = {layer.name: layer for layer in roofline(spec, device).layers}
    assert (by_name["pad"].flops, by_name["pad"].bytes, by_name["pad"].bound) == (0, 4 * (4 + 16), "memory")
    assert (by_name["tie"].flops, by_name["tie"].bytes, by_name["tie"].bound) == (24, 24, "compute")
