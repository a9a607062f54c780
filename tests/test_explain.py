"""`paramcalc explain`: the arithmetic behind a layer, with its own numbers (written out by hand here)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from paramcalc.cli import main

SPECS = Path(__file__).resolve().parent.parent / "specs"


def explain(spec: str | Path, layer: str) -> dict[str, list[str]]:
    result = CliRunner().invoke(main, ["explain", str(SPECS / spec), layer])
    assert result.exit_code == 0, result.output
    lines: dict[str, list[str]] = {}
    for line in result.output.splitlines():
        label, _, text = line.partition("  ")
        lines.setdefault(label.strip(), []).append(text.strip())
    return lines


def test_a_convolution():
    lines = explain("vgg16.yaml", "features.conv2_1")
    assert lines["height"] == ["floor((112 + 1 + 1 - 1·(3 - 1) - 1) / 1) + 1 = 112"]
    assert lines["params"] == [f"3·3·64·128 + 128 = {3 * 3 * 64 * 128 + 128:,}"]
    assert lines["MACs"] == [f"128·112·112·64·3·3 = {128 * 112 * 112 * 64 * 3 * 3:,}"]
    assert lines["FLOPs"] == [f"2·{128 * 112 * 112 * 64 * 9:,} + 128·112·112 = "
                              f"{2 * 128 * 112 * 112 * 64 * 9 + 128 * 112 * 112:,}"]
    # VGG16 pool1 has field 6, stride 2, padding 2 (Araujo et al.); a 3x3 conv adds (3 - 1)·2
    assert lines["RF"] == ["size 6 + (3 - 1)·2 = 10, stride 2·1 = 2, padding 2 + 1·2 = 4"]


def test_a_ceil_mode_pool_and_a_linear_layer():
    pool = explain("googlenet.yaml", "maxpool1")
    assert pool["height"] == ["ceil((112 + 0 + 0 - 1·(3 - 1) - 1) / 2) + 1 = 56"]
    assert pool["FLOPs"] == [f"(3·3 - 1)·{64 * 56 * 56:,} = {8 * 64 * 56 * 56:,}"]
    fc = explain("vgg16.yaml", "classifier.fc6")
    assert fc["params"] == [f"25088·4096 + 4096 = {25088 * 4096 + 4096:,}"]


def test_a_block_sums_its_layers():
    lines = explain("resnet50.yaml", "layer3.0")
    conv1, conv2, conv3, bn = 512 * 256, 3 * 3 * 256 * 256, 256 * 1024, 2 * 256
    downsample = 512 * 1024 + 2 * 1024
    total = conv1 + bn + conv2 + bn + conv3 + 2 * 1024 + downsample
    assert lines["params"] == [f"{conv1:,} + {bn} + {conv2:,} + {bn} + {conv3:,} + 2,048 + {downsample:,} = {total:,}"]
    assert lines["downsample"] == [f"group: params {downsample:,}, MACs {512 * 1024 * 14 * 14:,}"]


def test_an_unknown_layer():
    result = CliRunner().invoke(main, ["explain", str(SPECS / "resnet50.yaml"), "layr3"])
    assert result.exit_code == 2
    assert "no layer named 'layr3'" in result.stderr and "did you mean 'layer3'" in result.stderr


def test_a_mean_over_chosen_dimensions(tmp_path):
    spec = tmp_path / "mean.yaml"
    spec.write_text("name: mean\ninput: [4, 6, 5]\nlayers:\n  - {name: m, mean: {dims: [-1, 2]}}\n"
                    "  - {name: k, mean: {dims: 1, keepdim: true}}\n")
    over_the_map = explain(spec, "m")
    assert over_the_map["settings"] == ["dims=[-1, 2], keepdim=false"]
    assert over_the_map["FLOPs"] == ["6·5·4 = 120  (4 means of 6·5 values: 6·5 − 1 adds and 1 divide each)"]
    assert over_the_map["output"] == ["4"]
    one_mean = explain(spec, "k")  # the 4 channels left, averaged into one value
    assert one_mean["settings"] == ["dims=1, keepdim=true"]
    assert one_mean["FLOPs"] == ["4·1 = 4  (1 mean of 4 values: 4 − 1 adds and 1 divide each)"]
    assert one_mean["output"] == ["1"]


def test_pools_on_a_map_that_is_not_square(tmp_path):
    """Each axis with its own size, kernel, stride, padding and dilation, worked out by hand."""
    spec = tmp_path / "pools.yaml"
    spec.write_text("name: pools\ninput: [3, 11, 20]\nlayers:\n"
                    "  - {name: mp, maxpool: {kernel: [2, 3], stride: [2, 1], padding: [1, 0], dilation: [1, 2], "
                    "ceil_mode: true}}\n"
                    "  - {name: ap, avgpool: {kernel: [3, 2], stride: [1, 2], padding: 1, count_include_pad: false}}\n")
    mp = explain(spec, "mp")
    # ceil(11 / 2) + 1 = 7 windows, the last starting at 6·2 = 12, past the 11 rows and the 1 row of padding before
    assert mp["height"] == ["ceil((11 + 1 + 1 - 1·(2 - 1) - 1) / 2) + 1 - 1 (PyTorch drops a last window that "
                            "would start in the padding) = 6"]
    assert mp["width"] == ["ceil((20 + 0 + 0 - 2·(3 - 1) - 1) / 1) + 1 = 16"]
    assert mp["FLOPs"] == [f"(2·3 - 1)·{3 * 6 * 16} = {5 * 3 * 6 * 16:,}"]
    assert mp["RF"] == ["height: size 1 + (2 - 1)·1 = 2, stride 1·2 = 2, padding 0 + 1·1 = 1; "
                        "width: size 1 + (5 - 1)·1 = 5, stride 1·1 = 1, padding 0 + 0·1 = 0"]  # 2·(3 - 1) + 1 = 5
    ap = explain(spec, "ap")
    assert ap["height"] == ["floor((6 + 1 + 1 - 1·(3 - 1) - 1) / 1) + 1 = 6"]
    assert ap["width"] == ["floor((16 + 1 + 1 - 1·(2 - 1) - 1) / 2) + 1 = 9"]
    assert ap["FLOPs"] == [f"3·2·{3 * 6 * 9} = {3 * 2 * 3 * 6 * 9}"]
    assert ap["RF"] == ["height: size 2 + (3 - 1)·2 = 6, stride 2·1 = 2, padding 1 + 1·2 = 3; "
                        "width: size 5 + (2 - 1)·1 = 6, stride 1·2 = 2, padding 0 + 1·1 = 1"]


def test_a_grouped_convolution_on_a_map_that_is_not_square(tmp_path):
    spec = tmp_path / "grouped.yaml"
    spec.write_text("name: grouped\ninput: [4, 9, 6]\nlayers:\n"
                    "  - {name: c, conv2d: {out: 6, kernel: [3, 2], groups: 2, stride: [2, 1], padding: [1, 0]}}\n"
                    "  - {name: d, conv2d: {out: 6, kernel: 1, bias: false}}\n")
    grouped = explain(spec, "c")
    # PyTorch's Conv2d: floor((9 + 2·1 - 1·(3 - 1) - 1) / 2) + 1 = 5 rows, floor((6 - 1·(2 - 1) - 1) / 1) + 1 = 5
    assert grouped["height"] == ["floor((9 + 1 + 1 - 1·(3 - 1) - 1) / 2) + 1 = 5"]
    assert grouped["width"] == ["floor((6 + 0 + 0 - 1·(2 - 1) - 1) / 1) + 1 = 5"]
    assert grouped["params"] == [f"3·2·(4/2)·6 + 6 = {3 * 2 * 2 * 6 + 6}"]  # each filter sees 4/2 channels
    assert grouped["MACs"] == [f"6·5·5·(4/2)·3·2 = {6 * 25 * 2 * 6:,}"]
    assert grouped["FLOPs"] == [f"2·{6 * 25 * 2 * 6:,} + 6·5·5 = {2 * 1800 + 150:,}"]
    plain = explain(spec, "d")
    assert plain["params"] == ["1·1·6·6 = 36"] and plain["FLOPs"] == [f"2·{6 * 25 * 6} = {2 * 900:,}"]


def test_a_custom_layer_states_its_own_figures(tmp_path):
    spec = tmp_path / "custom.yaml"
    spec.write_text("name: c\ninput: [8]\nlayers:\n  - {name: m, custom: {out: [4], params: 36, buffers: 2, macs: 32}}\n"
                    "  - {name: n, custom: {out: [4], macs: 16, flops: 20}}\n")
    assert explain(spec, "m")["settings"] == ["out=[4], params=36, buffers=2, macs=32"]
    assert explain(spec, "n")["settings"] == ["out=[4], params=0, buffers=0, macs=16, flops=20"]
    # FLOPs left out are 2 per MAC (docs/layer-kinds.md); given, they are as given
    assert explain(spec, "m")["totals"] == ["params 36, buffers 2, MACs 32, FLOPs 64"]
    assert explain(spec, "n")["totals"] == ["params 0, buffers 0, MACs 16, FLOPs 20"]


def test_a_depthwise_convolution_and_a_ceil_mode_pool_that_drops_nothing(tmp_path):
    spec = tmp_path / "depthwise.yaml"
    spec.write_text("name: depthwise\ninput: [2, 13, 8]\nlayers:\n"
                    "  - {name: mp, maxpool: {kernel: 3, stride: 2, ceil_mode: true}}\n"
                    "  - {name: dw, conv2d: {out: 4, kernel: 3, groups: depthwise}}\n")
    mp = explain(spec, "mp")
    # PyTorch's MaxPool2d(3, 2, ceil_mode=True) on 13 x 8: 6 x 4, every last window starting inside the input
    assert mp["height"] == ["ceil((13 + 0 + 0 - 1·(3 - 1) - 1) / 2) + 1 = 6"]
    assert mp["width"] == ["ceil((8 + 0 + 0 - 1·(3 - 1) - 1) / 2) + 1 = 4"]
    dw = explain(spec, "dw")
    # one group per input channel (2), each of 2 filters: nn.Conv2d(2, 4, 3, groups=2) has 40 parameters
    assert dw["params"] == ["3·3·(2/2)·4 + 4 = 40"]
    assert dw["MACs"] == [f"4·4·2·(2/2)·3·3 = {4 * 4 * 2 * 9}"]


def test_activations_count_their_operations_per_element(tmp_path):
    spec = tmp_path / "activations.yaml"
    spec.write_text("name: activations\ninput: [3, 5, 7]\nlayers:\n"
                    "  - {name: g, gelu}\n  - {name: d, dropout: 0.2}\n")
    # GELU: x·Φ(x), Φ(x) = (1 + erf(x / √2)) / 2: a divide, erf, an add and two multiplies on each of 3·5·7 values
    assert explain(spec, "g")["FLOPs"] == [f"5·{3 * 5 * 7} = {5 * 105}  (5 per element (divide, erf, add, multiply, "
                                           "multiply))"]
    assert "FLOPs" not in explain(spec, "d")  # nothing at inference


def test_an_add_of_three_inputs(tmp_path):
    spec = tmp_path / "add.yaml"
    spec.write_text("name: add\ninput: [2, 3, 5]\nlayers:\n  - {name: a, relu}\n  - {name: b, gelu, from: input}\n"
                    "  - {name: s, add, from: [input, a, b]}\n")
    assert explain(spec, "s")["FLOPs"] == [f"(3 - 1)·{2 * 3 * 5} = {2 * 30}"]  # two adds per output value


DENSE = """name: dense
input: [2, 3, 5]
layers:
  - {name: fc, linear: 4}
  - {name: fc_nb, linear: {out: 4, bias: false}, from: input}
  - {name: flat, flatten, from: input}
  - {name: fc_vec, linear: 4}
  - {name: bn, batchnorm, from: input}
  - {name: bn_batch, batchnorm: {track_running_stats: false, affine: false}, from: input}
  - {name: ln, layernorm, from: input}
  - {name: ln_nb, layernorm: {bias: false}, from: input}
  - {name: ln_na, layernorm: {affine: false}, from: input}
  - {name: ln2d, layernorm2d, from: input}
"""


def test_linear_layers_on_rows_and_on_a_vector(tmp_path):
    spec = tmp_path / "dense.yaml"
    spec.write_text(DENSE)
    fc = explain(spec, "fc")  # nn.Linear(5, 4) on 2 x 3 x 5: 2·3 = 6 rows of 5 features
    assert fc["applies to"] == ["the last dimension (5 features) of each of the 6 rows of 2x3x5, as nn.Linear does; "
                                "the weights are shared by the rows"]
    assert (fc["params"], fc["MACs"], fc["FLOPs"]) == (["5·4 + 4 = 24"], ["5·4·6 = 120"], ["2·120 + 24 = 264"])
    no_bias = explain(spec, "fc_nb")
    assert (no_bias["params"], no_bias["FLOPs"]) == (["5·4 = 20"], ["2·120 = 240"])
    vector = explain(spec, "fc_vec")  # the flattened 30 values: one row
    assert "applies to" not in vector
    assert (vector["params"], vector["MACs"], vector["FLOPs"]) == (["30·4 + 4 = 124"], ["30·4 = 120"],
                                                                  ["2·120 + 4 = 244"])


def test_normalisation_layers(tmp_path):
    spec = tmp_path / "dense.yaml"
    spec.write_text(DENSE)
    bn = explain(spec, "bn")  # 2 channels; 2·3·5 = 30 values
    assert bn["params"] == ["2·2 = 4 (a scale and a shift per channel)"]
    assert bn["buffers"] == ["2·2 = 4 (running mean and variance)"] and bn["FLOPs"] == ["2·30 = 60"]
    batch = explain(spec, "bn_batch")  # no running statistics: the batch's, worked out as a layer norm's 5 per value
    assert "params" not in batch and "buffers" not in batch and batch["FLOPs"] == ["5·30 = 150"]
    assert batch["statistics"] == ["the batch's own, as no running statistics are kept (nn.BatchNorm2d with "
                                   "track_running_stats=False, at inference too)"]
    ln = explain(spec, "ln")
    assert ln["applies to"] == ["the last dimension (5) of 2x3x5"]
    assert (ln["params"], ln["FLOPs"]) == (["2·5 = 10"], ["7·30 = 210"])
    assert explain(spec, "ln_nb")["params"] == ["5 = 5"]  # a scale, no shift
    no_affine = explain(spec, "ln_na")
    assert "params" not in no_affine and no_affine["FLOPs"] == ["5·30 = 150"]
    channels = explain(spec, "ln2d")
    assert channels["applies to"] == ["the channels (2) of 2x3x5"] and channels["params"] == ["2·2 = 4"]


RESAMPLE = """name: resample
input: [4, 3, 5]
layers:
  - {name: up, conv_transpose2d: {out: 6, kernel: [3, 2], stride: [2, 3], padding: [1, 0], output_padding: [1, 2],
                                  groups: 2}}
  - {name: up_nb, conv_transpose2d: {out: 2, kernel: 2, stride: 2, bias: false}, from: input}
  - {name: bil, upsample: {scale: 1.5, mode: bilinear}, from: input}
  - {name: near, upsample: {size: [6, 10]}, from: input}
  - {name: like, upsample: {mode: bicubic}, from: [input, up]}
"""


def test_transposed_convolutions(tmp_path):
    spec = tmp_path / "resample.yaml"
    spec.write_text(RESAMPLE)
    up = explain(spec, "up")  # nn.ConvTranspose2d(4, 6, (3, 2), (2, 3), (1, 0), (1, 2), groups=2): 6 x 16, 78 params
    assert up["height"] == ["(3 - 1)·2 - 2·1 + 1·(3 - 1) + 1 + 1 = 6"]
    assert up["width"] == ["(5 - 1)·3 - 2·0 + 1·(2 - 1) + 2 + 1 = 16"]
    assert up["params"] == ["4·(6/2)·3·2 + 6 = 78"]
    # every input value (3·5 positions, 4 channels) meets the 6/2 filters of its group, each 3·2
    assert up["MACs"] == [f"3·5 input positions·4·(6/2)·3·2 = {15 * 4 * 3 * 6:,}"]
    assert up["FLOPs"] == [f"2·{1080:,} + {6 * 6 * 16} = {2 * 1080 + 576:,}"]
    plain = explain(spec, "up_nb")
    assert (plain["params"], plain["MACs"], plain["FLOPs"]) == (
        ["4·2·2·2 = 32"], [f"3·5 input positions·4·2·2·2 = {15 * 32}"], [f"2·480 = {960}"])


def test_interpolation(tmp_path):
    spec = tmp_path / "resample.yaml"
    spec.write_text(RESAMPLE)
    bilinear = explain(spec, "bil")  # F.interpolate(scale_factor=1.5, mode="bilinear") on 3 x 5: 4 x 7
    assert bilinear["size"] == ["floor(3·1.5) = 4 x floor(5·1.5) = 7"]
    assert bilinear["FLOPs"] == [f"(2·4 - 1)·{4 * 4 * 7} = {7 * 112} (4 input values weighted and summed per output "
                                 "value)"]
    nearest = explain(spec, "near")
    assert (nearest["size"], nearest["FLOPs"]) == (["as given: 6x10"], ["0 (nearest: a copy)"])
    like = explain(spec, "like")  # the size of up's output, 6 x 16, 16 taps
    assert like["size"] == ["the second input's: 6x16"]
    assert like["FLOPs"] == [f"(2·16 - 1)·{4 * 6 * 16} = {31 * 384:,} (16 input values weighted and summed per "
                             "output value)"]


TOKENS = """name: tokens
input: [3, 8, 12]
layers:
  - {name: pe, patch_embed: {patch: 4, out: 8}}
  - {name: cls, class_token}
  - {name: pos, position_embedding}
  - {name: att, attention: 2}
  - {name: att_nb, attention: {heads: 4, bias: false}}
"""


def test_patches_tokens_and_attention(tmp_path):
    spec = tmp_path / "tokens.yaml"
    spec.write_text(TOKENS)
    patches = explain(spec, "pe")  # nn.Conv2d(3, 8, 4, stride=4): 2·3 patches, 3·8·16 + 8 parameters
    assert patches["tokens"] == ["(8/4)·(12/4) = 6"]
    assert (patches["params"], patches["MACs"]) == (["4·4·3·8 + 8 = 392"], [f"6·8·3·4·4 = {6 * 8 * 3 * 16:,}"])
    plain = tmp_path / "plain.yaml"
    plain.write_text(TOKENS.replace("{patch: 4, out: 8}", "{patch: 4, out: 8, bias: false}"))
    assert explain(plain, "pe")["params"] == ["4·4·3·8 = 384"]
    assert explain(spec, "cls")["params"] == ["1·8 = 8 (one learned token of 8 features each)"]
    position = explain(spec, "pos")  # the class token and 6 patches: 7 positions of 8
    assert (position["params"], position["FLOPs"]) == (["7·8 = 56 (a vector per position)"], ["56 (one add per element)"])
    # nn.MultiheadAttention(8, 2): in_proj 3·8² + 3·8, out_proj 8² + 8
    attention = explain(spec, "att")
    assert attention["heads"] == ["2 of 8/2 = 4 features"]
    assert attention["params"] == ["4·8² + 4·8 = 288 (query, key, value and output projections)"]
    assert attention["MACs"] == [f"4·7·8² + 2·7²·8 = {4 * 7 * 64:,} (projections) + {2 * 49 * 8} (Q·Kᵀ and A·V) = "
                                 f"{4 * 7 * 64 + 2 * 49 * 8:,}"]
    # 2·MACs, the projections' biases (4 per token and feature), the 1/√d scale on Q, softmax 3 per score
    assert attention["FLOPs"] == [f"2·2,576 + 4·7·8 + 7·8 (scale) + 3·2·7² (softmax) = "
                                  f"{2 * 2576 + 4 * 56 + 56 + 3 * 2 * 49:,}"]
    plain = explain(spec, "att_nb")
    assert plain["params"] == ["4·8² = 256 (query, key, value and output projections)"]
    assert plain["FLOPs"] == [f"2·2,576 + 7·8 (scale) + 3·4·7² (softmax) = {2 * 2576 + 56 + 3 * 4 * 49:,}"]


def test_window_attention(tmp_path):
    spec = tmp_path / "windows.yaml"
    spec.write_text("name: windows\ninput: [4, 6, 8]\nlayers:\n"
                    "  - {name: w, window_attention: {heads: 2, window_size: 2, shift: 1}}\n"
                    "  - {name: w0, window_attention: {heads: 4, window_size: 2, bias: false}}\n")
    shifted = explain(spec, "w")  # 4 x 6 tokens in windows of 2 x 2; torchvision's ShiftedWindowAttention's tables
    assert shifted["windows"] == ["(4/2)·(6/2) = 6 windows of 2·2 = 4 tokens"]
    assert shifted["params"] == ["4·8² + 4·8 + (2·2 - 1)²·2 = 306 (projections, relative position bias table)"]
    assert shifted["buffers"] == ["2⁴ = 16 (relative position index)"]
    macs = 4 * 24 * 64 + 2 * 24 * 4 * 8
    assert shifted["MACs"] == [f"4·24·8² + 2·24·4·8 = {macs:,} (projections; Q·Kᵀ and A·V within each window)"]
    # per score (2 heads · 24 tokens · 4): softmax 3, the position bias 1, the shift's mask 1
    assert shifted["FLOPs"] == [f"2·{macs:,} + 4·24·8 + 24·8 (scale) + 5·2·24·4 (softmax, position bias, mask) = "
                                f"{2 * macs + 768 + 192 + 5 * 192:,}"]
    plain = explain(spec, "w0")
    assert plain["params"] == ["4·8² + (2·2 - 1)²·4 = 292 (projections, relative position bias table)"]
    assert plain["FLOPs"] == [f"2·{macs:,} + 24·8 (scale) + 4·4·24·4 (softmax, position bias) = "
                              f"{2 * macs + 192 + 4 * 4 * 96:,}"]


def test_an_embedding_and_recurrent_layers(tmp_path):
    spec = tmp_path / "sequence.yaml"
    spec.write_text("name: sequence\ninput: [5]\nlayers:\n  - {name: emb, embedding: {num: 100, dim: 6}}\n"
                    "  - {name: lstm, lstm: {hidden: 4}}\n"
                    "  - {name: gru, gru: {hidden: 3, layers: 2, bidirectional: true}}\n"
                    "  - {name: rnn, rnn: {hidden: 2, bias: false}}\n")
    assert explain(spec, "emb")["params"] == ["100·6 = 600 (a row per token id; a lookup, no arithmetic)"]
    # nn.LSTM(6, 4): 4 gates of 4 units over the 6 inputs and the 4 of the state, two biases each: 192
    lstm = explain(spec, "lstm")
    assert (lstm["layer 0"], lstm["params"]) == (["1·(4·4·6 + 4·4·4 + 2·4·4) params"], ["192"])
    assert lstm["MACs"] == [f"5 steps · 1 direction(s) · weights per step = {5 * 4 * 4 * (6 + 4)}"]
    # 22 per unit for the gates and 2 per gate for the biases, per step
    assert lstm["FLOPs"] == [f"2·MACs + 5·1·1·4·30 (gates, biases) = {2 * 800 + 5 * 4 * 30:,}"]
    # nn.GRU(4, 3, num_layers=2, bidirectional=True): 360 parameters; layer 1 reads both directions (6)
    gru = explain(spec, "gru")
    assert gru["layer 0"] == ["2·(3·3·4 + 3·3·3 + 2·3·3) params"] and gru["layer 1"] == ["2·(3·3·6 + 3·3·3 + 2·3·3) params"]
    macs = 5 * 2 * (3 * 3 * (4 + 3) + 3 * 3 * (6 + 3))
    assert gru["params"] == ["360"] and gru["MACs"] == [f"5 steps · 2 direction(s) · weights per step = {macs:,}"]
    assert gru["FLOPs"] == [f"2·MACs + 5·2·2·3·23 (gates, biases) = {2 * macs + 5 * 2 * 2 * 3 * 23:,}"]
    # nn.RNN(6, 2, bias=False): 16 parameters; tanh and the add of the two products, no biases
    rnn = explain(spec, "rnn")
    assert (rnn["layer 0"], rnn["params"]) == (["1·(1·2·6 + 1·2·2) params"], ["16"])
    assert rnn["FLOPs"] == [f"2·MACs + 5·1·1·2·2 (gates) = {2 * 80 + 5 * 2 * 2}"]


def test_deeper_and_projected_recurrent_layers(tmp_path):
    spec = tmp_path / "deep.yaml"
    spec.write_text("name: deep\ninput: [5, 4]\nlayers:\n  - {name: g, gru: {hidden: 3, layers: 3}}\n"
                    "  - {name: p, lstm: {hidden: 4, proj_size: 2}, from: input}\n")
    deep = explain(spec, "g")  # nn.GRU(4, 3, num_layers=3): 225 parameters; layers 1 and 2 read 3 features
    assert deep["layer 0"] == ["1·(3·3·4 + 3·3·3 + 2·3·3) params"]
    assert deep["layers 1-2"] == ["2·1·(3·3·3 + 3·3·3 + 2·3·3) params"] and deep["params"] == ["225"]
    projected = explain(spec, "p")  # nn.LSTM(4, 4, proj_size=2): the state is 2 wide, and weight_hr is 2 x 4
    assert projected["layer 0"] == ["1·(4·4·4 + 4·4·2 + 2·4 + 2·4·4) params"] and projected["params"] == ["136"]


DEFAULT_ARITHMETIC = """name: pools
input: [4, 6, 7]
layers:
  - {name: gn, groupnorm: 2}
  - {name: lrn, lrn: 3, from: input}
  - {name: sc, scale, from: input}
  - {name: ap, adaptive_avgpool: [3, 2], from: input}
  - {name: mp, adaptive_maxpool: [3, 2], from: input}
  - {name: gap, global_avgpool, from: input}
  - {name: gmp, global_maxpool, from: input}
"""


def test_kinds_that_state_their_flops_by_formula(tmp_path):
    """4 x 6 x 7 = 168 values. The adaptive pools to 3 x 2 have windows of 2 rows and 4 columns (columns 0-3 and
    3-6 of 7): 24 windows of 8 values."""
    spec = tmp_path / "pools.yaml"
    spec.write_text(DEFAULT_ARITHMETIC)
    expected = {"gn": f"5 per element + 2 with affine = {7 * 168:,}",
                "lrn": f"2·size + 3 per element (squares and sums over the window, scale, power, divide) = "
                       f"{(2 * 3 + 3) * 168:,}",
                "sc": "1 per element = 168",
                "ap": f"one per input element read by each window (adds + 1 divide per output) = {24 * 8}",
                "mp": f"(window elements − 1) comparisons per output element = {24 * 7}",
                "gap": f"H·W per channel = {4 * 6 * 7}", "gmp": f"H·W − 1 per channel = {4 * (6 * 7 - 1)}"}
    assert {layer: explain(spec, layer)["FLOPs"] for layer in expected} == {
        layer: [line] for layer, line in expected.items()}


SETTINGS = """name: settings
input: [4, 6, 7]
layers:
  - {name: c, conv2d: {out: 8, kernel: [3, 1], padding: {top: 1, bottom: 2, left: 0, right: 0}, bias: false}}
  - {name: c2, conv2d: {out: 8, kernel: 3, padding: [1, 2]}, from: input}
  - {name: c3, conv2d: {out: 8, kernel: 3, padding: {top: 1, bottom: 1, left: 2, right: 2}}, from: input}
  - {name: c4, conv2d: {out: 8, kernel: 3, padding: {top: 1, bottom: 1, left: 1, right: 1}}, from: input}
  - {name: up, upsample: {scale: 2}, from: input}
  - {name: r, relu, from: input}
"""


def test_a_layer_s_settings_as_a_spec_writes_them(tmp_path):
    """Every field, the defaults too; padding as one number, per axis, or by side; a field left out (upsample's
    size, when it has a scale) not at all; true and false as YAML writes them."""
    spec = tmp_path / "settings.yaml"
    spec.write_text(SETTINGS)
    conv = "out=8, kernel={kernel}, stride=1, padding={padding}, dilation=1, groups=1, bias={bias}"
    assert {layer: explain(spec, layer)["settings"] for layer in ("c", "c2", "c3", "c4", "up", "r")} == {
        "c": [conv.format(kernel="[3, 1]", padding="{top: 1, bottom: 2, left: 0, right: 0}", bias="false")],
        "c2": [conv.format(kernel=3, padding="[1, 2]", bias="true")],
        "c3": [conv.format(kernel=3, padding="[1, 2]", bias="true")],
        "c4": [conv.format(kernel=3, padding=1, bias="true")],
        "up": ["scale=2.0, mode=nearest, align_corners=false"], "r": ["(none)"]}


def test_a_layer_without_flops_shows_no_flops_line(tmp_path):
    spec = tmp_path / "moves.yaml"
    spec.write_text("name: moves\ninput: [4, 6, 7]\nlayers:\n  - {name: f, flatten}\n"
                    "  - {name: p, pad: 1, from: input}\n")
    for layer in ("f", "p"):
        lines = explain(spec, layer)
        assert "FLOPs" not in lines and lines["totals"] == ["params 0, buffers 0, MACs 0, FLOPs 0"]
