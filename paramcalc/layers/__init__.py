"""Every layer kind, registered by name. Importing this package fills the registry."""

from . import conv, dense, elementwise, pool, structure  # noqa: F401  (registration)
from .base import ALIASES, REGISTRY, LayerError, LayerKind, lookup, register
from .fields import REQUIRED, Field, FieldError

__all__ = ["ALIASES", "REGISTRY", "REQUIRED", "Field", "FieldError", "LayerError", "LayerKind", "lookup", "register"]
