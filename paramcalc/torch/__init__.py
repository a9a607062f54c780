"""PyTorch for paramcalc specs: build a module, export its source, verify every figure against PyTorch.

Needs the optional extra: pip install 'paramcalc[torch]'. Nothing else in paramcalc imports torch.
"""

import warnings

# torch warns on import when NumPy is absent; paramcalc never hands torch a NumPy array
warnings.filterwarnings("ignore", message="Failed to initialize NumPy")

from .build import build  # noqa: E402
from .verify import verify  # noqa: E402

__all__ = ["build", "verify"]
