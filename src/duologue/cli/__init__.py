"""The ``duologue`` command line: the Typer app with every command
(``duologue.cli.typer_app``), the bare ``duologue build`` (``duologue.cli.bare_build``),
what both share (``duologue.cli.shared``) and how every command meets Ctrl-C and a
closed pipe (``duologue.cli.edges``).

Start-up imports only Typer and the standard library; each command imports the core it
needs when it runs, so ``duologue --help`` stays fast. A bare ``duologue build``, the
command run after every edit, does not import Typer at all (``duologue.cli.bare_build``).
"""

from __future__ import annotations

import sys

# Imported here, not in main(): main's very first step is then to answer Ctrl-C and a
# closed pipe the same way for every command (duologue.cli.edges, standard library only).
from duologue.cli.edges import run

TYPE_CHECKING = False  # not typing's: importing typing takes ~10 ms before Ctrl-C is handled
if TYPE_CHECKING:
    from typing import Any


def main() -> None:
    run(_command)


def _command() -> int:
    if sys.argv[1:] == ["build"]:
        from duologue.cli.bare_build import build_now

        return build_now()
    from duologue.cli.typer_app import app

    app()
    return 0


def __getattr__(name: str) -> Any:
    # ``from duologue.cli import app`` (tests, other programs): the app with its commands,
    # loaded when asked for, so that importing this package does not import Typer.
    if name == "app":
        from duologue.cli.typer_app import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["app", "main"]
