"""What each counter counts, per layer kind: torchvision's `_ops`, fvcore, ptflops, thop and torchinfo.

One `Convention` per counter, each a table from layer kind to a rule (a function of the layer's settings
and per-sample shapes) plus the kinds it counts as 0, and, for the counters that pick a module's rule by its
class, one rule for a layer run by a subclass of its kind's standard module (a spec's `module:`), whatever
the kind: ptflops and thop look hooks up by exact type, torchinfo reads the class's name. The rules restate the counters' sources, named in
VERSIONS; the comments say which handler a rule follows. Shapes here are per sample: L tokens, E features,
"elements" are a tensor's numbers. docs/conventions.md gives the same table in prose.
"""

from __future__ import annotations

from .convention_rules import (
    ACTIVATIONS,
    ADAPTIVE_POOLS,
    CONVOLUTIONS,
    MOVES,
    RECURRENT,
    TRANSPOSED,
    WINDOW_POOLS,
    Convention,
    ModuleOrFunction,
    Rule,
    Site,
    affine,
    custom_macs,
    each,
    macs,
    module_or_function,
    nothing,
    per_input,
    per_output,
    registered,
)
from .dims import Dim, numel
from .layers import REGISTRY
from .layers.structure import sample_axis

VERSIONS = {
    "torchvision": "torchvision 0.28: the `_ops` of each model's weights metadata, shown as 'GFLOPS' in its docs",
    "fvcore": "fvcore 0.1.5.post20221221: FlopCountAnalysis(model, x).total()",
    "ptflops": "ptflops 0.7.5: get_model_complexity_info(model, shape, backend='pytorch')[0]",
    "thop": "thop 0.1.1.post2209072238: profile(model, inputs=(x,))[0]",
    "torchinfo": "torchinfo 1.8.0: summary(model, input_data=x).total_mult_adds",
}


# --- torchvision: paramcalc's own MACs are torchvision's `_ops` (tests/test_zoo.py holds them to it) --------
TORCHVISION = Convention("torchvision", VERSIONS["torchvision"], "GFLOPS (_ops)",
                         "paramcalc's MACs: multiply-accumulates of every matrix product, bias not counted",
                         dict.fromkeys(REGISTRY, macs), set())


# --- fvcore: handlers per traced operator; an operator without one counts 0 ----------------------------------
def _attention_projections(site: Site) -> Dim:
    # nn.MultiheadAttention as torchvision calls it (need_weights=False): the projections are aten::linear;
    # the two products happen inside aten::scaled_dot_product_attention, which fvcore has no handler for
    tokens, features = site.inputs[0]
    return 4 * tokens * features * features


def _fvcore_upsample(site: Site) -> Dim:
    # only aten::upsample_nearest2d (1 per output element) and aten::upsample_bilinear2d (4) have handlers
    if len(site.output) != 3:
        return 0
    return {"nearest": 1, "bilinear": 4}.get(site.layer.mode, 0) * site.output_elements


FVCORE = Convention(
    "fvcore", VERSIONS["fvcore"], "total()", "one 'flop' per multiply-accumulate of aten::_convolution, linear, "
    "matmul, bmm and einsum; batch norm, layer and group norm, 2-D upsampling and 2-D adaptive average pooling",
    {**each(f"{CONVOLUTIONS} {TRANSPOSED} linear patch_embed window_attention", macs),
     "attention": _attention_projections,
     "batchnorm": affine(per_input(2), per_input(1)),  # eval mode; training: as layer_norm
     **each("layernorm layernorm2d groupnorm", affine(per_input(5), per_input(4))),
     **each("adaptive_avgpool global_avgpool", per_input(1)),  # aten::adaptive_avg_pool2d only
     "upsample": _fvcore_upsample,
     "custom": custom_macs},
    # x.mean(dims) is aten::mean, which has no handler (F.adaptive_avg_pool2d(x, 1) is traced as
    # aten::adaptive_avg_pool2d, although ATen computes it as that mean)
    registered(MOVES, ACTIVATIONS, WINDOW_POOLS, RECURRENT, "adaptive_avgpool1d adaptive_avgpool3d adaptive_maxpool "
               "global_maxpool softmax embedding lrn scale position_embedding add mul mean"))


# --- ptflops: a hook per module type (looked up by exact type), plus patched torch.nn.functional calls -------
# A module whose forward calls a patched function (nn.ReLU calls F.relu) is counted twice: by its hook and by
# the function. Operators (a + b, a * b) are not patched; torch.add and torch.mul would be.
def _with_bias(site: Site) -> Dim:
    return site.macs + site.bias_elements


def _ptflops_lrn(site: Site) -> Dim:
    # F.local_response_norm: the patched Tensor.mul (square, then alpha) and Tensor.add (k), 1 per element each,
    # and the patched avg_pool over the squares padded to C + size - 1 channels
    channels = site.inputs[0][0]
    return 3 * site.input_elements + (channels + site.layer.size - 1) * (site.input_elements // channels)


def _interpolated(site: Site) -> Dim:
    # the patched F.interpolate counts the output's elements: from its size, or the input's times the scale
    scale = site.layer.scale
    if scale is None or float(scale).is_integer():
        return site.output_elements
    return int(site.input_elements * float(scale) ** (len(site.output) - 1))


def _ptflops_attention(site: Site) -> Dim:
    # multihead_attention_counter_hook: scale the queries, 3 projections (+ bias), per head Q·Kᵀ, softmax and
    # A·V, and the output projection with its bias ("always enabled"); batch-first self-attention
    tokens, features = site.inputs[0]
    projections = 4 * tokens * features * features + tokens * features * (2 + (3 if site.layer.bias else 0))
    return projections + 2 * tokens * tokens * features + site.layer.heads * tokens * tokens


def _ptflops_window_attention(site: Site) -> Dim:
    # torchvision's shifted_window_attention calls F.linear (not patched), Tensor.matmul twice and F.softmax
    height, width, features = site.inputs[0]
    scores = height * width * site.layer.window_size ** 2  # per head: each token meets its window's tokens
    return 2 * scores * features + site.layer.heads * scores


def _ptflops_recurrent(extra_per_unit: int) -> Rule:
    # rnn_flops_counter_hook, per step: each layer's weights (both matrices) + element-wise work + both biases,
    # twice when bidirectional
    def rule(site: Site) -> Dim:
        layer = site.layer
        first, later = layer.layer_inputs(site.inputs)
        gates, hidden, state = layer.gates, layer.hidden, layer.state()
        per_step = sum(gates * hidden * (features + state) + extra_per_unit * hidden
                       + (2 * gates * hidden if layer.bias else 0)
                       for features in [first] + [later] * (layer.layers - 1))
        return site.inputs[0][0] * layer.directions() * per_step
    return rule


_PTFLOPS_FUNCTIONS_ONLY = frozenset({"softmax", "silu", "lrn", "window_attention", "custom"})  # no module hook


def _ptflops_subclass(site: Site) -> Dim:
    # MODULES_MAPPING (and custom_modules_hooks) is looked up with type(module): a subclass has no hook, so only
    # what the standard module's forward calls through a patched function counts: nn.ReLU's F.relu, a pool's
    # F.max_pool2d, nn.Upsample's F.interpolate (the `functional` count); F.conv*d, F.linear, F.batch_norm,
    # F.layer_norm, F.group_norm, F.hardtanh (nn.ReLU6), F.leaky_relu, the recurrent kernels and attention's
    # F.linear and scaled_dot_product_attention are not patched: 0
    rule = PTFLOPS.rules.get(site.layer.kind)
    if isinstance(rule, ModuleOrFunction):
        return rule.function(site)
    return rule(site) if rule is not None and site.layer.kind in _PTFLOPS_FUNCTIONS_ONLY else 0


PTFLOPS = Convention(
    "ptflops", VERSIONS["ptflops"], "MACs", "multiply-accumulates with the bias, plus 1 per element of norms, "
    "activations and pooling, counted again where a module calls a patched function",
    {**each(f"{CONVOLUTIONS} {TRANSPOSED} linear patch_embed", _with_bias),
     **each("batchnorm groupnorm", affine(per_input(2), per_input(1))),
     "layernorm": per_input(1),  # the norm hook doubles for `affine`, an attribute nn.LayerNorm does not have
     "lrn": _ptflops_lrn,
     **each("relu gelu", module_or_function(per_output(2), per_output(1))),
     "relu6": per_output(1),  # nn.ReLU6 calls F.hardtanh, which is not patched; F.relu6 is
     "leaky_relu": module_or_function(per_output(1), nothing),
     "silu": per_output(1),  # no hook for nn.SiLU; F.silu is patched
     "softmax": per_input(1),  # no hook for nn.Softmax; F.softmax is patched
     **each(f"{WINDOW_POOLS} {ADAPTIVE_POOLS}", module_or_function(per_input(2), per_input(1))),
     "upsample": module_or_function(lambda site: site.output_elements + _interpolated(site), _interpolated),
     "attention": _ptflops_attention,
     "window_attention": _ptflops_window_attention,
     "lstm": _ptflops_recurrent(10), "gru": _ptflops_recurrent(7), "rnn": _ptflops_recurrent(1),
     "custom": custom_macs},
    # Tensor.mean and torch.mean are not patched (F.adaptive_avg_pool2d is), and torch.nn has no module for a mean
    registered(MOVES, "sigmoid tanh hardsigmoid hardswish layernorm2d embedding scale position_embedding add mul "
               "mean"),
    _ptflops_subclass)


# --- thop: a hook per module type (exact type); functional calls and unknown modules count 0 ----------------
def _thop_subclass(site: Site) -> Dim:
    # register_hooks (and custom_ops) is looked up with m_type = type(m): a subclass has no hook and counts 0
    return custom_macs(site) if site.layer.kind == "custom" else 0


def _thop_transposed(site: Site) -> Dim:
    # count_convNd as for any convolution: output elements x input channels per group x kernel volume
    return site.output_elements * (site.inputs[0][0] // site.layer.groups) * numel(site.layer.kernel)


def _thop_softmax(site: Site) -> Dim:
    # per row of `dim`: n exponentials, n - 1 adds, n divisions
    features = site.inputs[0][sample_axis(site.layer.dim, len(site.inputs[0]), "softmax")]
    return site.input_elements // features * (3 * features - 1)


def _thop_adaptive_avgpool(site: Site) -> Dim:
    # count_adap_avgpool: (the product of input/output sizes, in floating point, + 1) per output element
    window = 1.0
    for size, out in zip(site.inputs[0][1:], site.output[1:]):
        window *= float(size) / float(out)
    return int((window + 1) * site.output_elements)


_THOP_UPSAMPLE = {"nearest": 1, "linear": 5, "bilinear": 11, "bicubic": 259}  # trilinear: "not implemented", 0


def _thop_recurrent(cell: str) -> Rule:
    # count_rnn / count_gru / count_lstm: one cell per layer and direction, per step; a later layer's input is
    # the hidden size (twice it when bidirectional), whatever proj_size is
    def ops(features: Dim, hidden: int, bias: bool) -> Dim:
        gate = (features + hidden) * hidden + hidden + (2 * hidden if bias else 0)
        return {"rnn": gate, "gru": 3 * gate + 4 * hidden, "lstm": 4 * gate + 4 * hidden}[cell]

    def rule(site: Site) -> Dim:
        layer = site.layer
        directions, hidden = layer.directions(), layer.hidden
        cells = ops(site.inputs[0][1], hidden, layer.bias) + (layer.layers - 1) * ops(directions * hidden, hidden,
                                                                                       layer.bias)
        return site.inputs[0][0] * directions * cells
    return rule


THOP = Convention(
    "thop", VERSIONS["thop"], "MACs", "multiply-accumulates without the bias, plus batch norm, average pooling, "
    "softmax and upsampling, for the modules it has a hook for",
    {**each(f"{CONVOLUTIONS} linear patch_embed", macs),
     **each(TRANSPOSED, _thop_transposed),
     **each("batchnorm layernorm", affine(per_input(4), per_input(2))),  # 2 per element, twice with affine
     "softmax": module_or_function(_thop_softmax, nothing),
     **each("avgpool avgpool1d avgpool3d", module_or_function(per_output(1), nothing)),
     **each("adaptive_avgpool adaptive_avgpool1d adaptive_avgpool3d global_avgpool",
            module_or_function(_thop_adaptive_avgpool, nothing)),
     "upsample": module_or_function(lambda site: _THOP_UPSAMPLE.get(site.layer.mode, 0) * site.output_elements,
                                    nothing),
     "lstm": _thop_recurrent("lstm"), "gru": _thop_recurrent("gru"), "rnn": _thop_recurrent("rnn"),
     "custom": custom_macs},
    registered(MOVES, ACTIVATIONS, "maxpool maxpool1d maxpool3d adaptive_maxpool global_maxpool layernorm2d "
               "groupnorm lrn embedding attention window_attention scale position_embedding add mul mean"),
    _thop_subclass)


# --- torchinfo: per leaf module that runs, its parameters named weight or bias times the batch --------------
def _per_position(site: Site) -> Dim:
    # a class whose name holds "Conv": its parameters times the output positions (batch x spatial sizes)
    return site.params * (site.output_elements // site.layer.out)


def _per_step(site: Site) -> Dim:
    # weight_ih_l0 and the like: the parameters times the output's first two sizes (batch x steps)
    return site.params * site.inputs[0][0]


_TORCHINFO_POSITIONS = registered(CONVOLUTIONS, TRANSPOSED, "patch_embed")  # their standard classes hold "Conv"
_TORCHINFO_WEIGHTS = _TORCHINFO_POSITIONS | registered("linear batchnorm layernorm layernorm2d groupnorm embedding")


def _torchinfo_subclass(site: Site) -> Dim:
    # calculate_macs asks whether "Conv" is in the class's name, not what the class is: parameters named weight
    # and bias count per output position (the sizes after the channels) under such a name, once per sample
    # under any other; parameters under other names (a recurrent layer's) count per step whatever the class
    kind = site.layer.kind
    if kind not in _TORCHINFO_WEIGHTS:
        return TORCHINFO.standard(site)
    if "Conv" not in site.module:
        return site.params
    return _per_position(site) if kind in _TORCHINFO_POSITIONS else site.params * numel(site.output[1:])


TORCHINFO = Convention(
    "torchinfo", VERSIONS["torchinfo"], "Total mult-adds", "the parameters of each leaf module that runs, times "
    "the output positions for a convolution, times the batch for any other module",
    {**each(f"{CONVOLUTIONS} {TRANSPOSED} patch_embed", _per_position),
     **each("linear batchnorm layernorm layernorm2d groupnorm embedding", lambda site: site.params),
     **each(RECURRENT, _per_step),
     "custom": custom_macs},
    # attention and window attention keep their weights in a module with sub-modules (not a leaf), and
    # torchvision keeps a layer scale, a class token and a position embedding as parameters of such a module
    registered(MOVES, ACTIVATIONS, WINDOW_POOLS, ADAPTIVE_POOLS, "lrn softmax upsample attention window_attention "
               "scale position_embedding add mul mean"),
    _torchinfo_subclass)

ALL = (TORCHVISION, FVCORE, PTFLOPS, THOP, TORCHINFO)

# The kinds whose count, in some convention, depends on whether the model calls the layer as a function: where a
# spec's `functional` mark matters, and the kinds `paramcalc import` marks when it finds a function call
FUNCTIONAL_KINDS = frozenset(kind for convention in ALL for kind, rule in convention.rules.items()
                             if isinstance(rule, ModuleOrFunction))
