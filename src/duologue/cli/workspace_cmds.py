"""``duologue init``, ``status``, ``log`` and ``check``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from duologue.cli.base import app, print_json, workspace_here

AsOption = Annotated[
    str | None,
    typer.Option(
        "--as", help="Act as this author handle (else DUOLOGUE_AUTHOR, else git user.email)."
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="One JSON document on stdout.")]


@app.command()
def init(
    path: Annotated[Path, typer.Argument(help="Folder to make a workspace.")] = Path(),
    title: Annotated[str, typer.Option(help="Site title.")] = "Dialogues",
    base_url: Annotated[
        str, typer.Option("--base-url", help="Absolute URL the built site is served from.")
    ] = "https://example.org/",
    no_verify: Annotated[
        bool,
        typer.Option(
            "--no-verify",
            help="Skip the pre-commit and commit-msg hooks, as `git commit --no-verify`.",
        ),
    ] = False,
) -> None:
    """Make PATH a workspace: git init if needed, duologue.toml, series/, drafts/, .gitignore."""
    from duologue.setup import init_workspace
    from duologue.visible import printable

    result = init_workspace(path, title, base_url, verify=not no_verify)
    root = printable(str(result.root))
    if result.commit is None:
        typer.echo(f"{root} is already a duologue workspace; nothing to do")
    else:
        made = "created a git repository and " if result.created_repository else ""
        typer.echo(f"{made}made {root} a duologue workspace (commit {result.commit[:10]})")


@app.command()
def status(
    series: Annotated[str | None, typer.Argument(help="Only this series.")] = None,
    as_handle: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """For each series: posts so far, the latest post, whose turn it is and since when."""
    from datetime import UTC, datetime

    from duologue.identity import current_identity, unmatched_identity_notice
    from duologue.status import collect_status, status_record

    settings = workspace_here()
    identity = current_identity(as_handle, settings.root)
    found = collect_status(settings, identity, datetime.now(UTC), series)
    rows = [status_record(s) for s in found]
    unknown = unmatched_identity_notice(identity, [s.series for s in found if s.acting is None])
    if unknown:
        from duologue.visible import printable

        typer.echo(printable(unknown), err=True)
    if as_json:
        print_json(rows)
        return
    if not rows:
        typer.echo("no series yet; start one with `duologue series new`")
    for row in rows:
        typer.echo(format_status(row))


def format_status(row: dict[str, object]) -> str:
    lines = [f"{row['series']} — {row['title']}"]
    if row["posts"]:
        lines.append(
            f'  {row["posts"]} posts; latest #{row["last_turn"]} "{row["last_title"]}" '
            f"by {row['last_author']} on {row['last_date']}"
        )
        since = f" since {row['waiting_since']}"
    else:
        lines.append("  no posts yet")
        since = ""
    turn = f"  next: {row['next_author']}{since}"
    if row["your_turn"] is True:
        turn += " — your turn"
    elif row["your_turn"] is False:
        turn += f" — not your turn (you are {row['you']})"
    if row["overdue"]:
        turn += " — OVERDUE"
    lines.append(turn)
    from duologue.visible import printable  # each line one line, whatever a title holds

    return "\n".join(printable(line) for line in lines)


@app.command()
def log(
    series: Annotated[str, typer.Argument(help="The series slug.")],
    as_json: JsonOption = False,
) -> None:
    """The thread in the terminal: turn, date, author, title, what it answers."""
    from duologue.thread import load_thread, log_record
    from duologue.visible import printable

    settings = workspace_here()
    rows = [log_record(post, settings) for post in load_thread(settings, series)]
    if as_json:
        print_json(rows)
        return
    if not rows:
        typer.echo(f"{series} has no posts yet")
    for row in rows:
        answers = f"  (answers #{row['in_reply_to']})" if row["in_reply_to"] else ""
        typer.echo(
            printable(
                f"#{row['turn']:<4} {row['date']}  {row['author']:<12} {row['title']}{answers}"
            )
        )


@app.command()
def check(as_json: JsonOption = False) -> None:
    """Validate the whole workspace; exit 1 if anything is wrong."""
    from duologue.check import check_workspace
    from duologue.errors import CheckFailed
    from duologue.git.repository import forced_paths_lookup
    from duologue.git.sparse import refuse_hidden_files
    from duologue.git.transaction import repair_if_interrupted
    from duologue.visible import printable
    from duologue.workspace import find_root

    root = find_root()  # not open_workspace(): a broken duologue.toml is a finding here
    repair_if_interrupted(root)
    refuse_hidden_files(root, thorough=True)
    problems = check_workspace(root, forced_paths_lookup(root))
    errors = [p for p in problems if p.level == "error"]
    if as_json:
        print_json([{"path": p.path, "level": p.level, "message": p.message} for p in problems])
    else:
        for problem in problems:
            # A file name may hold an ESC or a line break: each problem stays one line.
            typer.echo(f"{printable(problem.path)}: {problem.level}: {printable(problem.message)}")
    if errors:
        if as_json:
            raise typer.Exit(1)
        raise CheckFailed(f"{len(errors)} error(s) found; fix them and run `duologue check` again.")
    if not as_json:
        warned = f" ({len(problems)} warning(s))" if problems else ""
        typer.echo(f"workspace is in order{warned}")
