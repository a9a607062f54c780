"""Other counters' headline numbers, layer by layer: what torchvision, fvcore, ptflops, thop and torchinfo print.

Every counter adds up something different, and calls it MACs or FLOPs. A `Convention` states, per layer kind,
what one counter counts for a layer of that kind, worked out from the layer's settings and shapes as the
counter's source does it. Each convention lists every kind: with a rule, or among the kinds it counts as 0
(a kind the counter has no handler for, which it passes over in silence). A test checks that every
registered kind is in one or the other, so a new kind cannot go unstated. The rules are read from the
counters' sources (the versions in VERSIONS); docs/conventions.md has them as a table.

Three facts besides the kind decide a count. Counters that hook modules (ptflops, thop, torchinfo) see a
layer only when PyTorch runs it as a module: a layer marked `functional: true` in the spec is a function
call (`F.relu(x)`), which thop and torchinfo miss and ptflops counts through its patched functions only.
They also pick a module's rule by its class: a layer whose spec names its class with `module:` (a subclass
of the kind's standard module, torchvision's Conv3DSimple for a conv3d) is counted by its convention's
`subclass` rule, one per counter for every kind (peers.py: ptflops and thop look the class up by exact type
and find no hook; torchinfo reads the class's name). And a layer marked `train_only` does not run at
inference, so no counter sees it.

Counts are per sample here; `peer_counts` multiplies them by the batch, as the analysis does its own.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable

from .dims import Dim, numel
from .layers import REGISTRY


class Site(namedtuple("Site", "layer inputs output functional module", defaults=("",))):
    """One layer as a counter meets it: its LayerKind (settings), input and output shapes per sample, whether
    the model calls it as a function rather than a module, and the class that runs it when that is a subclass
    of the kind's standard module (the spec's `module`; '' for the standard class)."""

    __slots__ = ()

    @property
    def macs(self) -> Dim:
        return self.layer.macs(self.inputs, self.output)

    @property
    def params(self) -> Dim:
        return self.layer.params(self.inputs)

    @property
    def input_elements(self) -> Dim:
        return numel(self.inputs[0])

    @property
    def output_elements(self) -> Dim:
        return numel(self.output)

    @property
    def bias_elements(self) -> Dim:
        """One per output element for a layer with a bias (the adds a bias costs)."""
        return self.output_elements if self.layer.bias else 0


Rule = Callable[[Site], Dim]


class Convention:
    """One counter's way of counting: a rule per kind it counts, and the kinds it counts as 0. `subclass` is how
    it counts a layer run by a subclass of its kind's standard module (a site with `module` set), for a counter
    that picks its rule by the module's class; None when the class makes no difference to it."""

    def __init__(self, name: str, tool: str, headline: str, counts: str, rules: dict[str, Rule],
                 zero: frozenset[str] | set[str], subclass: Rule | None = None) -> None:
        self.name, self.tool, self.headline, self.counts = name, tool, headline, counts
        self.rules, self.zero, self.subclass = rules, frozenset(zero), subclass
        both = self.zero & set(rules)
        if both:
            raise RuntimeError(f"{name}: kinds both counted and zero: {sorted(both)}")

    def count(self, site: Site) -> Dim:
        if site.module and self.subclass is not None:
            return self.subclass(site)
        return self.standard(site)

    def standard(self, site: Site) -> Dim:
        """The count for the kind's standard module (or function call), whatever the site's class."""
        rule = self.rules.get(site.layer.kind)
        return rule(site) if rule is not None else 0

    def unstated(self) -> list[str]:
        """Registered kinds this convention says nothing about (a test keeps this empty)."""
        return sorted(set(REGISTRY) - set(self.rules) - self.zero)

    def __repr__(self) -> str:
        return f"Convention({self.name!r})"


def each(kinds: str, rule: Rule) -> dict[str, Rule]:
    """The same rule for several kinds, named in one string."""
    return {kind: rule for kind in kinds.split()}


class ModuleOrFunction:
    """A count that depends on whether the model runs the layer as a module or calls it as a function: the kinds
    with such a rule are those where a spec's `functional` mark matters (peers.FUNCTIONAL_KINDS)."""

    __slots__ = ("function", "module")

    def __init__(self, module: Rule, function: Rule) -> None:
        self.module, self.function = module, function

    def __call__(self, site: Site) -> Dim:
        return self.function(site) if site.functional else self.module(site)


def module_or_function(module: Rule, function: Rule) -> Rule:
    """A count that depends on whether the model runs the layer as a module or calls it as a function."""
    return ModuleOrFunction(module, function)


def nothing(site: Site) -> Dim:
    return 0


def macs(site: Site) -> Dim:
    return site.macs


def per_input(factor: int) -> Rule:
    return lambda site: factor * site.input_elements


def per_output(factor: int) -> Rule:
    return lambda site: factor * site.output_elements


def affine(with_affine: Rule, without: Rule) -> Rule:
    return lambda site: with_affine(site) if site.layer.affine else without(site)


# The kinds grouped as the counters' handlers group them.
CONVOLUTIONS = "conv1d conv2d conv3d"
TRANSPOSED = "conv_transpose1d conv_transpose2d conv_transpose3d"
WINDOW_POOLS = "maxpool avgpool maxpool1d avgpool1d maxpool3d avgpool3d"
ADAPTIVE_POOLS = "adaptive_avgpool adaptive_avgpool1d adaptive_avgpool3d adaptive_maxpool global_avgpool global_maxpool"
RECURRENT = "lstm gru rnn"
# Kinds that are data movement, bookkeeping or inference no-ops: no counter counts them.
MOVES = {"concat", "flatten", "permute", "transpose", "reshape", "unflatten", "select", "channel_shuffle",
         "channel_split", "pad", "pixel_shuffle", "pixel_unshuffle", "dropout", "dropout1d", "dropout2d", "dropout3d",
         "identity", "stochastic_depth", "assert_shape", "patch_merging", "class_token"}
ACTIVATIONS = "relu relu6 leaky_relu sigmoid tanh silu hardsigmoid hardswish gelu"


def registered(*groups: str | set[str]) -> set[str]:
    kinds: set[str] = set()
    for group in groups:
        kinds |= set(group.split()) if isinstance(group, str) else group
    return kinds


def custom_macs(site: Site) -> Dim:
    # a layer paramcalc has no kind for: what a counter would see inside it is unknown; its stated MACs stand in
    return site.macs
