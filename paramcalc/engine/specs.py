"""The spec stage's readers, given the engine's layer kinds: a spec from a file, from YAML text or from a
mapping. `as_spec` takes any of them, as analyze() does (a string is a path unless it holds a line break)."""

from __future__ import annotations

import os
from typing import Any

from ..spec import format
from ..spec.format import Spec
from .layers import KINDS


def load_spec(path: str | os.PathLike, *, file: str | None = None) -> Spec:
    """Read a spec file ('-' is standard input)."""
    return format.load_spec(path, KINDS, file=file)


def loads_spec(text: str, *, file: str | None = None) -> Spec:
    """Read a spec from YAML text."""
    return format.loads_spec(text, KINDS, file=file)


def spec_from_dict(data: Any, *, file: str | None = None) -> Spec:
    """Validate a spec given as Python values (a mapping with 'name', 'input' and 'layers')."""
    return format.spec_from_dict(data, KINDS, file=file)


def as_spec(source: str | os.PathLike | dict | Spec) -> Spec:
    """A loaded Spec as it is; a mapping validated; a string with a line break read as YAML text, any other
    string or path as a file."""
    if isinstance(source, Spec):
        return source
    if isinstance(source, dict):
        return spec_from_dict(source)
    if isinstance(source, str) and "\n" in source:
        return loads_spec(source)
    return load_spec(source)
