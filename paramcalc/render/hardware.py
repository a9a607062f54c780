"""A model on a device, for people and programs: the layers that take the longest, a sweep over batch sizes, the
JSON data, and the roofline plot as SVG (written here as text: the picture is a few lines and axes, and every
text in it is escaped)."""

from __future__ import annotations

import math
from html import escape
from typing import Any

from ..engine.hardware import Roofline
from ..spec.devices import PRECISIONS, Device
from .grid import Column, Grid
from .units import count, size_in_bytes

CAVEAT = "a lower bound from the roofline model (each layer alone at the device's peak), not a measurement"
TOP_LAYERS = 15


def duration(seconds: float) -> str:
    if seconds == 0:
        return "0"
    for scale, unit in ((1, "s"), (1e-3, "ms"), (1e-6, "µs")):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def rate(flops_per_second: float) -> str:
    return f"{flops_per_second / 1e12:.3g} TFLOP/s"


def device_line(roof: Roofline) -> str:
    device = roof.device
    return (f"{device.title} at {roof.precision}: peak {count(roof.peak)}FLOP/s, "
            f"{size_in_bytes(device.bandwidth)}/s; ridge at {float(roof.ridge):.1f} FLOPs per byte")


def _step(roof: Roofline) -> str:
    return ", a training step (forward and backward)," if roof.training else ""


def layers_grid(roof: Roofline, top: int = TOP_LAYERS) -> Grid:
    """The layers that take the longest, then the rest in one line, then the total."""
    total = roof.seconds
    grid = Grid([Column("Layer", max_width=34, min_width=12), Column("Kind", max_width=18, min_width=8),
                 Column("FLOPs", right=True), Column("Bytes", right=True), Column("FLOP/B", right=True, drop=1),
                 Column("Bound"), Column("Time", right=True), Column("%", right=True, drop=2)],
                title=f"{roof.name}{_step(roof)} on {device_line(roof)} · batch {roof.batch}",
                caption=f"Estimated time {duration(total)}: {CAVEAT}.")
    ranked = sorted(roof.layers, key=lambda layer: -layer.seconds)
    for layer in ranked[:top]:
        intensity = layer.intensity
        grid.add(layer.name, layer.kind, count(layer.flops), size_in_bytes(layer.bytes),
                 f"{float(intensity):.1f}" if intensity is not None else "-",
                 (layer.bound, "green" if layer.bound == "compute" else "yellow") if layer.bound else "-",
                 duration(layer.seconds), f"{100 * layer.seconds / total:.1f}" if total else "0.0")
    rest = ranked[top:]
    if rest:
        seconds = sum(layer.seconds for layer in rest)
        grid.add((f"{len(rest)} more layers", "dim"), "", count(sum(layer.flops for layer in rest)),
                 size_in_bytes(sum(layer.bytes for layer in rest)), "", "", duration(seconds),
                 f"{100 * seconds / total:.1f}" if total else "0.0")
    grid.add(("Total", "bold"), "", count(roof.flops), size_in_bytes(roof.bytes),
             f"{roof.flops / roof.bytes:.1f}" if roof.bytes else "-",
             f"{100 * roof.share('compute'):.0f}% compute", (duration(total), "bold"), "100.0")
    return grid


def batches_grid(roofs: list[Roofline]) -> Grid:
    """How the time and the bound move with the batch size."""
    first = roofs[0]
    grid = Grid([Column("Batch", right=True), Column("Time", right=True), Column("Samples/s", right=True),
                 Column("Achieved", right=True), Column("FLOP/B", right=True), Column("Compute-bound", right=True)],
                title=f"{first.name}{_step(first)} on {device_line(first)}",
                caption="Time per batch: a lower bound from the roofline model, not a measurement; compute-bound: "
                        "the share of the time in compute-bound layers.")
    for roof in roofs:
        seconds = roof.seconds
        grid.add(str(roof.batch), duration(seconds), f"{roof.batch / seconds:,.0f}" if seconds else "-",
                 rate(roof.flops / seconds) if seconds else "-",
                 f"{roof.flops / roof.bytes:.1f}" if roof.bytes else "-", f"{100 * roof.share('compute'):.0f}%")
    return grid


def devices_grid(devices: list[Device]) -> Grid:
    """Each device's peaks (TFLOPS; int8 TOPS), bandwidth and memory, then where the figures come from."""
    grid = Grid([Column("Device", max_width=12), Column("Title", max_width=30, min_width=10),
                 *(Column(precision, right=True) for precision in PRECISIONS), Column("GB/s", right=True),
                 Column("GB", right=True, drop=1)],
                caption="Peak dense throughput in TFLOPS (int8: TOPS), from the sources below.")
    for device in devices:
        grid.add(device.name, device.title,
                 *(f"{device.peaks[p] / 1e12:g}" if p in device.peaks else "-" for p in PRECISIONS),
                 f"{device.bandwidth / 1e9:g}", f"{device.memory / 1e9:g}" if device.memory else "-")
    return grid


def roofline_data(roof: Roofline) -> dict[str, Any]:
    """Plain data: exact FLOPs and bytes, seconds as floats (an estimate has no exact value)."""
    device = roof.device
    return {
        "device": {"name": device.name, "title": device.title, "precision": roof.precision, "peak_flops": roof.peak,
                   "bandwidth_bytes": device.bandwidth, "source": device.source},
        "batch": roof.batch, "seconds": roof.seconds, "flops": roof.flops, "bytes": roof.bytes,
        "compute_bound_share": roof.share("compute"), "note": CAVEAT,
        "layers": [{"name": layer.name, "kind": layer.kind, "flops": layer.flops, "bytes": layer.bytes,
                    "seconds": layer.seconds, "bound": layer.bound or None} for layer in roof.layers],
    }


def roofline_svg(roof: Roofline) -> str:
    """The roofline (bandwidth times intensity, up to the peak) on log-log axes, each layer a point at its
    intensity and the throughput it attains in the estimate; the longest layers labelled."""
    width, height, left, bottom, top, right = 760, 500, 70, 50, 70, 20
    points = [(float(layer.intensity), layer.flops / layer.seconds, layer) for layer in roof.layers
              if layer.intensity and layer.flops and layer.seconds]
    ridge, peak = float(roof.ridge), float(roof.peak)
    xs = [x for x, _, _ in points] + [ridge]
    x_low, x_high = 10 ** math.floor(math.log10(min(xs) / 2)), 10 ** math.ceil(math.log10(max(xs) * 2))
    y_high = 10 ** math.ceil(math.log10(peak * 1.5))
    y_low = 10 ** math.floor(math.log10(min([y for _, y, _ in points] + [float(roof.device.bandwidth) * x_low])))

    def x_of(value: float) -> float:
        return left + (width - left - right) * math.log10(value / x_low) / math.log10(x_high / x_low)

    def y_of(value: float) -> float:
        return height - bottom - (height - top - bottom) * math.log10(value / y_low) / math.log10(y_high / y_low)

    bandwidth = float(roof.device.bandwidth)
    roof_line = [(x_low, bandwidth * x_low), (ridge, peak), (x_high, peak)]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
             f'font-size="11"><rect width="100%" height="100%" fill="white"/>',
             f'<text x="{left}" y="20" font-size="14">{escape(roof.name)}{_step(roof)} on {escape(roof.device.title)} at '
             f'{roof.precision}, batch {roof.batch}</text>',
             f'<text x="{left}" y="38" fill="#444">{escape(device_line(roof))}</text>',
             f'<text x="{left}" y="54" fill="#666">estimated time {duration(roof.seconds)}: {escape(CAVEAT)}</text>']
    for exponent in range(round(math.log10(x_low)), round(math.log10(x_high)) + 1):
        x = x_of(10.0 ** exponent)
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{height - bottom}" stroke="#eee"/>'
                     f'<text x="{x:.1f}" y="{height - bottom + 14}" text-anchor="middle">1e{exponent}</text>')
    for exponent in range(round(math.log10(y_low)), round(math.log10(y_high)) + 1):
        y = y_of(10.0 ** exponent)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#eee"/>'
                     f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">1e{exponent}</text>')
    path = " ".join(f"{x_of(x):.1f},{y_of(y):.1f}" for x, y in roof_line)
    parts.append(f'<polyline points="{path}" fill="none" stroke="#333" stroke-width="2"/>')
    labelled: set[int] = set()  # the longest layers, one label per place
    taken: list[tuple[int, int]] = []
    for layer in sorted(roof.layers, key=lambda item: -item.seconds):
        place = (round(x_of(float(layer.intensity or 1)) / 40), round(y_of(layer.flops / layer.seconds or 1) / 14)) \
            if layer.seconds else None
        if place is not None and place not in taken and len(labelled) < 6:
            labelled.add(id(layer))
            taken.append(place)
    for x, y, layer in points:
        colour = "#2a7" if layer.bound == "compute" else "#d80"
        parts.append(f'<circle cx="{x_of(x):.1f}" cy="{y_of(y):.1f}" r="3" fill="{colour}" fill-opacity="0.7">'
                     f'<title>{escape(layer.name)} ({escape(layer.kind)}): {x:.1f} FLOPs/byte, '
                     f'{duration(layer.seconds)}</title></circle>')
        if id(layer) in labelled:
            parts.append(f'<text x="{x_of(x) + 5:.1f}" y="{y_of(y) - 5:.1f}">{escape(layer.name)}</text>')
    parts += [f'<text x="{(left + width - right) / 2}" y="{height - 12}" text-anchor="middle">arithmetic intensity '
              f'(FLOPs per byte moved)</text>',
              f'<text x="16" y="{(top + height - bottom) / 2}" text-anchor="middle" transform="rotate(-90 16 '
              f'{(top + height - bottom) / 2})">attained FLOP/s</text>',
              "</svg>"]
    return "\n".join(parts) + "\n"
