"""Every layer kind, registered by name. Importing this package fills the registry."""

from ...errors import LayerError
from ...spec.format import Kinds
from . import attention, conv, custom, dense, elementwise, pool, resample, sequence, structure, tokens  # noqa: F401
from .base import ALIASES, REGISTRY, WHOLE, LayerKind, lookup, register
from .fields import REQUIRED, FieldError, SpecField

# the bare words any field takes as they are ('same', 'depthwise', 'batch'): a block argument passes them on
WORDS = frozenset(word for kind in REGISTRY.values() for field in kind.fields for word in field.type.words())
# what the spec reader checks kinds and fields against
KINDS = Kinds(lookup, tuple([*REGISTRY, *ALIASES]))

__all__ = ["ALIASES", "KINDS", "REGISTRY", "REQUIRED", "WORDS", "FieldError", "LayerError", "LayerKind", "SpecField",
           "WHOLE", "lookup", "register"]
