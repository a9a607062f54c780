"""Small helpers to analyse hand-written specs in tests."""

from __future__ import annotations

import textwrap

import paramcalc


def spec_text(input_shape: str, layers: str, extra: str = "") -> str:
    body = textwrap.indent(textwrap.dedent(layers), "  ")
    return f"name: t\ninput: {input_shape}\n{textwrap.dedent(extra)}layers:\n{body}"


def analyse(input_shape: str, layers: str, extra: str = "", **options) -> paramcalc.Analysis:
    return paramcalc.analyze(spec_text(input_shape, layers, extra), **options)


def last(input_shape: str, layers: str, extra: str = "", **options) -> paramcalc.LayerRecord:
    """The record of the last top-level layer."""
    return [r for r in analyse(input_shape, layers, extra, **options).records if r.depth == 0][-1]
