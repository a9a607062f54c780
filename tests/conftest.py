"""Shared test set-up: PyTorch-based tests skip without torch, except in CI, which must run them."""

from __future__ import annotations

import os
import warnings

import pytest

# torch warns on import when NumPy is absent; nothing here hands torch a NumPy array
warnings.filterwarnings("ignore", message="Failed to initialize NumPy")


def require_torch():
    """Import torch, or skip the calling test module; with PARAMCALC_REQUIRE_TORCH=1 (CI) a missing torch fails."""
    if os.environ.get("PARAMCALC_REQUIRE_TORCH") == "1":
        import torch

        return torch
    return pytest.importorskip("torch", reason="PyTorch is not installed: pip install 'paramcalc[torch]'")
