"""What `paramcalc verify` prints: one line per spec, and a table of the mismatches when there are any."""

from __future__ import annotations

from typing import Any


def _figure(value: Any) -> str:
    if isinstance(value, tuple):
        return "x".join(map(str, value))
    return f"{value:,}" if isinstance(value, int) else str(value)


def verification_lines(path: str, result: Any) -> list[str]:
    """result: a paramcalc.torch.verify.Verification."""
    totals = {figure: ours for figure, (ours, _) in result.totals.items()}
    if result.ok:
        layers = f"{result.layers} layer{'s' * (result.layers != 1)} agree{'s' * (result.layers == 1)}"
        return [f"ok    {path}: {layers} with PyTorch; params {totals['params']:,} "
                f"(trainable {totals['trainable']:,}), buffers {totals['buffers']:,}, MACs {totals['macs']:,}"]
    count = len(result.mismatches)
    lines = [f"FAIL  {path}: {count} mismatch{'es' * (count != 1)}"]
    width = max(len(m.layer or "(model)") for m in result.mismatches)
    lines.append(f"      {'layer':<{width}}  {'figure':<9} {'paramcalc':>22} {'PyTorch':>22}")
    for m in result.mismatches:
        lines.append(f"      {m.layer or '(model)':<{width}}  {m.figure:<9} {_figure(m.paramcalc):>22} "
                     f"{_figure(m.torch):>22}")
    return lines


def comparison_lines(path: str, result: Any) -> list[str]:
    """result: a paramcalc.torch.against.Comparison."""
    totals = {figure: ours for figure, (ours, _) in result.totals.items()}
    if result.ok:
        return [f"ok    {path} describes {result.model}: {result.layers} layers with parameters agree, in the order "
                f"they run; params {totals['params']:,}, buffers {totals['buffers']:,}, MACs {totals['MACs']:,}, "
                f"output {_figure(totals['output'])}"]
    lines = [f"FAIL  {path} against {result.model}"]
    if result.divergence is not None:
        lines.append(f"      {result.divergence}")
    differing = [(figure, ours, theirs) for figure, (ours, theirs) in result.totals.items() if ours != theirs]
    if differing:
        width = max(len(figure) for figure, _, _ in differing)
        lines.append(f"      {'total':<{width}}  {'spec':>22} {'model':>22}")
        lines += [f"      {figure:<{width}}  {_figure(ours):>22} {_figure(theirs):>22}" for figure, ours, theirs in differing]
    return lines
