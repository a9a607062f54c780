"""Numbers for people: 138.36 M, 15.47 G, 553.43 MB, in decimal (SI) units (1 MB = 10^6 bytes)."""

from __future__ import annotations

from ..engine.dims import Dim, format_shape
from ..engine.receptive import ReceptiveField

_PREFIXES = ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "k"))


def count(value: Dim, exact: bool = False) -> str:
    """A count with an SI prefix (1.23 M); below a thousand, or with exact=True, every digit.

    A symbolic count is its leading term (≈ 2,352·H·W), or with exact=True its whole formula."""
    if not isinstance(value, int):
        return str(value) if exact else _leading(value)
    if exact or abs(value) < 1000:
        return f"{value:,}"
    for scale, prefix in _PREFIXES:
        if abs(value) >= scale:
            return f"{value / scale:.2f} {prefix}"
    return f"{value:,}"  # pragma: no cover - the loop always returns


def count_in_full(value: int, exact: bool = False) -> str:
    """'25.56 M  (25,557,032)': the short form and every digit (every digit only, below a thousand or exact)."""
    return f"{count(value)}  ({value:,})" if not exact and value >= 1000 else f"{value:,}"


def size_in_bytes(value: Dim, exact: bool = False) -> str:
    if not isinstance(value, int):
        return f"{value if exact else _leading(value)} B"
    if exact or abs(value) < 1000:
        return f"{value:,} B"
    for scale, prefix in _PREFIXES:
        if abs(value) >= scale:
            return f"{value / scale:.2f} {prefix.upper() if prefix == 'k' else prefix}B"
    return f"{value:,} B"  # pragma: no cover


def percent(part: Dim, whole: Dim) -> float:
    """part's share of whole; for symbolic sizes, the share of the leading term (as the input grows)."""
    if not isinstance(whole, int):
        from ..engine.symbolic import leading_weight

        degree = whole.leading()[0]  # type: ignore[attr-defined]
        scale = leading_weight(whole, degree)
        return 100.0 * leading_weight(part, degree) / scale if scale else 0.0
    if not isinstance(part, int) or whole == 0:
        return 0.0
    return 100.0 * part / whole


def _leading(value: Dim) -> str:
    from ..engine.symbolic import leading_text

    return leading_text(value)


def field_size(rf: ReceptiveField | None) -> str:
    """The receptive field's size for a table cell: '212', '7x11', with '*' when paths do not align."""
    if rf is None:
        return "-"
    height, width = rf.size
    text = str(height) if height == width else f"{height}x{width}"
    return text + ("*" if not rf.aligned else "")


def field_long(rf: ReceptiveField | None) -> str:
    if rf is None:
        return ("- (paramcalc follows receptive fields on a 2-D input through windows, element-wise layers and "
                "layers that read every position; not through this input or a layer before this one)")

    def pair(values: tuple) -> str:
        return str(values[0]) if values[0] == values[1] else f"{values[0]}x{values[1]}"

    if rf.is_global:
        return f"{pair(rf.size)} px: global, every output unit sees all the input that reaches the layer"
    text = f"{pair(rf.size)} px, stride {pair(rf.stride)}, padding {pair(rf.padding)}"
    if not rf.aligned:
        text += " (* paths with different centres merge here)"
    return text


def shape(value: tuple | None) -> str:
    """'3x224x224'; '-' for a layer that runs only in training and cannot take this input size."""
    return "-" if value is None else format_shape(value)
