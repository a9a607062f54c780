"""Reading a spec and analysing it make many small objects and no reference cycles; Python's cyclic
garbage collector, left on, walks the growing heap again and again and makes a long spec's time grow
with the square of its length. It is paused for that work and restored afterwards."""

from __future__ import annotations

import gc


class paused_gc:  # noqa: N801  (used like a function: `with paused_gc():`)
    def __enter__(self) -> None:
        self.was_enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc: object) -> None:
        if self.was_enabled:
            gc.enable()
