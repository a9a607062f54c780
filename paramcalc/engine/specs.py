"""The spec stage's readers, given the engine's layer kinds: a spec from a file, from YAML text or from a
mapping. `as_spec` takes any of them, as analyze() does (a string is a path unless it holds a line break; a
SpecPath is a path always)."""

from __future__ import annotations

import os
from typing import Any

from ..spec import format
from ..spec.format import Spec
from .layers import KINDS


class SpecPath(str):
    """A spec file's path, as the command line gives it: as_spec reads it as a file even when it holds a line
    break (a file's name may, and a name that is YAML text must not stand in for the file's text)."""

    __slots__ = ()


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
    string, a SpecPath or a path as a file."""
    if isinstance(source, Spec):
        return source
    if isinstance(source, dict):
        return spec_from_dict(source)
    if isinstance(source, str) and not isinstance(source, SpecPath) and "\n" in source:
        return loads_spec(source)
    return load_spec(source)
