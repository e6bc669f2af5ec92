"""Crash points for the fault-injection tests.

``DUOLOGUE_FAULT=<step>`` kills the process at the ``fault_point(<step>)`` of that name,
as a crash or a power cut would: the tests use it to prove that every step of ``publish``,
``sync`` and an atomic write leaves the workspace recoverable. Unset (always, outside the
tests), a fault point costs one dictionary lookup.
"""

from __future__ import annotations

import os


def fault_point(step: str) -> None:
    """Kill this process right here when ``DUOLOGUE_FAULT`` names ``step``."""
    if os.environ.get("DUOLOGUE_FAULT") == step:
        import signal

        os.kill(os.getpid(), signal.SIGKILL)
