"""The ``duologue`` command line: one Typer app (``duologue.cli.commands``), one file per
group of commands.

Start-up imports only Typer and the standard library; each command imports the core it
needs when it runs, so ``duologue --help`` stays fast. A bare ``duologue build``, the
command run after every edit, does not import Typer at all (``duologue.cli.quick``).
"""

from __future__ import annotations

import sys
from typing import Any


def main() -> None:
    if sys.argv[1:] == ["build"]:
        from duologue.cli.quick import build_now

        raise SystemExit(build_now())
    from duologue.cli.commands import app

    app()


def __getattr__(name: str) -> Any:
    # ``from duologue.cli import app`` (tests, other programs): the app with its commands,
    # loaded when asked for, so that importing this package does not import Typer.
    if name == "app":
        from duologue.cli.commands import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["app", "main"]
