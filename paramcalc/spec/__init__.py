"""Specs as written: YAML text read with positions, checked and turned into a validated spec; budgets and device
files read the same way."""
