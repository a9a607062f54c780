"""Every layer kind, registered by name. Importing this package fills the registry."""

from . import conv, dense, elementwise, pool, structure  # noqa: F401  (registration)
from .base import ALIASES, REGISTRY, LayerError, LayerKind, lookup, register
from .fields import REQUIRED, Field, FieldError

# the bare words any field takes as they are ('same', 'depthwise', 'batch'): a block argument passes them on
WORDS = frozenset(word for kind in REGISTRY.values() for field in kind.fields for word in field.type.words())

__all__ = ["WORDS", "ALIASES", "REGISTRY", "REQUIRED", "Field", "FieldError", "LayerError", "LayerKind", "lookup", "register"]
