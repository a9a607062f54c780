"""PyTorch for paramcalc specs: build a module, export its source, verify every figure against PyTorch.

Needs the optional extra: pip install 'paramcalc[torch]'. Nothing else in paramcalc imports torch.
"""

import warnings

# torch warns on import when NumPy is absent; paramcalc never hands torch a NumPy array
warnings.filterwarnings("ignore", message="Failed to initialize NumPy")

from .build import build
from .verify import verify

__all__ = ["build", "verify"]
