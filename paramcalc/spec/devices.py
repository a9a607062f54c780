"""Devices as written: the table shipped with paramcalc (paramcalc/devices.yaml) and a user's own file of the same
form, read and checked with positions for the messages. What a device does with a model is
paramcalc.engine.hardware's.

A device's figures are exact: throughput in FLOP/s and bandwidth in bytes/s as whole numbers (19.5 TFLOPS is
19,500,000,000,000 FLOP/s), from the decimal units vendors write (1 TFLOPS = 10^12, 1 GB/s = 10^9 bytes/s).
"""

from __future__ import annotations

from collections import namedtuple
from fractions import Fraction
from pathlib import Path
from typing import Any

from ..errors import ExprError, Pos, Problem, SpecError, check_plain_text, did_you_mean, one_of
from .literals import amount_as_written, read_number
from .source import YMap, load_yaml, read_text

PRECISIONS = ("fp32", "tf32", "fp16", "bf16", "int8")  # compute precisions a device states a peak for
FIELDS = {"title", "peak", "bandwidth", "memory", "source"}
BUNDLED = Path(__file__).resolve().parent.parent / "devices.yaml"


class Device(namedtuple("Device", "name title peaks bandwidth memory source file")):
    """peaks: {precision: FLOP/s} for the precisions the device has; bandwidth in bytes/s; memory in bytes."""

    __slots__ = ()


def read_devices(path: str | None = None) -> dict[str, Device]:
    """The bundled devices, and those of `path` (which may add devices or replace bundled ones by name)."""
    devices = _parse(read_text(str(BUNDLED)), "paramcalc/devices.yaml")
    if path is not None:
        devices.update(_parse(read_text(path), path))
    return devices


def find_device(devices: dict[str, Device], name: str) -> Device:
    key = name.lower()
    if key not in devices:
        known = "devices: " + one_of(devices) + " (add your own with --devices FILE)"
        close = did_you_mean(key, devices)
        raise SpecError(f"unknown device '{name}'", hint=f"{close} {known}" if close else known)
    return devices[key]


def _parse(text: str, file: str) -> dict[str, Device]:
    document = load_yaml(text, file)
    if not isinstance(document, YMap) or not document:
        raise SpecError("a devices file is a mapping of device names to their figures",
                        file=file, pos=getattr(document, "pos", None),
                        hint="a100: {title: ..., peak: {fp16: 312}, bandwidth: 2039, memory: 80, source: ...}")
    return {str(name).lower(): _device(str(name), figures, document.where(name), file)
            for name, figures in document.items()}


def _device(name: str, figures: Any, pos: Pos, file: str) -> Device:
    def fail(message: str, where: Pos, hint: str | None = None) -> SpecError:
        return SpecError(f"device '{name}': {message}", file=file, pos=where, hint=hint)

    if not isinstance(figures, YMap):
        raise fail("expected a mapping of its figures", pos, "title, peak, bandwidth, memory and source")
    for key in figures:
        if key not in FIELDS:
            raise fail(f"unknown field '{key}'", figures.key_where(key), did_you_mean(str(key), FIELDS) or
                       "fields: " + one_of(FIELDS))
    for key in ("peak", "bandwidth", "source"):
        if key not in figures:
            raise fail(f"'{key}' is missing", figures.pos, "every figure needs its source: the datasheet it is from")
    peak = figures["peak"]
    if not isinstance(peak, YMap) or not peak:
        raise fail("'peak' is a mapping of precisions to TFLOPS", figures.where("peak"), "peak: {fp32: 19.5, fp16: 312}")
    peaks = {}
    for precision, value in peak.items():
        if precision not in PRECISIONS:
            raise fail(f"unknown precision '{precision}'", peak.key_where(precision), "precisions: " + one_of(PRECISIONS))
        peaks[precision] = _amount(value, 10**12, f"peak {precision} (TFLOPS)", lambda m, h=None: fail(
            m, peak.where(precision), h))
    bandwidth = _amount(figures["bandwidth"], 10**9, "bandwidth (GB/s)", lambda m, h=None: fail(
        m, figures.where("bandwidth"), h))
    memory = _amount(figures["memory"], 10**9, "memory (GB)", lambda m, h=None: fail(m, figures.where("memory"), h)) \
        if "memory" in figures else None
    source = figures["source"]
    if not isinstance(source, str) or not source.strip():
        raise fail("'source' is the datasheet (or measurement) the figures are from", figures.where("source"))
    title, source = str(figures.get("title", name)), " ".join(source.split())  # a source may be folded over lines
    for what, text, where in (("its name", name, pos), ("'title'", title, figures.where("title")),
                              ("'source'", source, figures.where("source"))):
        try:
            check_plain_text(what, text)
        except Problem as err:
            raise fail(err.message, where, err.hint) from None
    return Device(name.lower(), title, peaks, bandwidth, memory, source, file)


def _amount(value: Any, unit: int, what: str, fail: Any) -> int:
    """A positive figure in the file's unit as a whole number of base units (FLOP/s, bytes/s, bytes)."""
    number: Any = value if isinstance(value, (int, Fraction)) and not isinstance(value, bool) else None
    if isinstance(value, str):  # '2.4k' or '1_979'
        try:
            number = read_number(value)
        except ExprError as err:
            raise fail(f"{what}: {err.message}") from None
    if not isinstance(number, (int, Fraction)) or number <= 0:
        raise fail(f"{what} must be a positive number, got {amount_as_written(value)}")
    exact = Fraction(number) * unit
    if exact.denominator != 1:
        raise fail(f"{what}: {amount_as_written(value)} has more decimals than a whole number of base units")
    return int(exact)
