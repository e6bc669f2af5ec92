"""What the commands share: the workspace around the current folder, as every command
but ``init`` and ``check`` opens it (the Typer app, ``duologue.cli.typer_app``, and the
bare ``duologue build``, ``duologue.cli.bare_build``, which runs without importing Typer
at all), and how ``--json`` output is printed."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from duologue.model import Settings


def workspace_here() -> Settings:
    """The workspace around the current folder, after repairing an interrupted publish or
    sync; refused when a sparse checkout hides part of it."""
    from duologue.git.sparse import refuse_hidden_files
    from duologue.git.transaction import repair_if_interrupted
    from duologue.workspace import open_workspace

    settings = open_workspace()
    repaired = repair_if_interrupted(settings.root)
    if repaired:
        from duologue.visible import printable

        print(f"note: {printable(repaired)}", file=sys.stderr, flush=True)
    refuse_hidden_files(settings.root)
    return settings


def print_json(data: object) -> None:
    """One JSON document on stdout, with nothing in it that a terminal would act on."""
    import json

    from duologue.visible import json_printable  # the same data; no raw U+202E on a terminal

    sys.stdout.write(json_printable(json.dumps(data, indent=2, ensure_ascii=False)) + "\n")
