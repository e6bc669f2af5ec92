"""The commands of SPEC §7 that keep a shared remote honest: ``verify``, ``hooks
install``, ``amend`` and ``retract`` (registered on the app by ``register``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from duologue.cli.shared import print_json, workspace_here

hooks_app = typer.Typer(
    help="Install `duologue verify` as a git hook, in this clone or on a bare shared remote.",
    no_args_is_help=True,
)


def verify(
    revision_range: Annotated[
        str | None,
        typer.Argument(
            metavar="[RANGE]",
            help="A git revision range, like origin/main..HEAD (default: what the upstream "
            "lacks, or every commit without an upstream).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document on stdout.")] = False,
    hook: Annotated[
        str | None,
        typer.Option(
            "--hook",
            metavar="pre-push|pre-receive|pre-commit",
            help="Read the pushed refs as this hook gets them (what `hooks install` writes).",
        ),
    ] = None,
    prefix: Annotated[
        str | None,
        typer.Option("--prefix", help="The workspace's folder inside the repository."),
    ] = None,
) -> None:
    """Check the turn rules commit by commit, from git objects alone (also in a bare
    repository); exit 1 on any violation."""
    import os

    from duologue.git.history import History
    from duologue.verify import HOOK_MODES, verify, verify_push, workspace_prefix
    from duologue.visible import printable

    if hook is not None and hook not in HOOK_MODES:
        raise typer.BadParameter(f"use one of {', '.join(HOOK_MODES)}", param_hint="--hook")
    if revision_range is not None and (
        revision_range.startswith("-") or not revision_range.strip()
    ):
        raise typer.BadParameter("give a revision range like origin/main..HEAD", param_hint="RANGE")
    if hook is not None and revision_range is not None:
        raise typer.BadParameter(
            "a hook reads its range from git; leave RANGE out", param_hint="RANGE"
        )
    history = History(Path.cwd())
    try:
        where = _prefix(prefix) if prefix is not None else workspace_prefix(history, Path.cwd())
        if hook is None:
            report = verify(history, None if revision_range is None else (revision_range,), where)
        else:
            stdin = "" if hook == "pre-commit" else sys.stdin.read(1 << 20)
            report = verify_push(history, hook, stdin, os.environ, where)
    finally:
        history.close()
    if as_json:
        print_json([v.as_json() for v in report.violations])
    else:
        # A hook's stdout is not the pusher's terminal (git shows a pre-push hook's stderr).
        to_stderr = hook is not None
        for violation in report.violations:
            typer.echo(printable(violation.line()), err=to_stderr)
        for line in report.turns:
            typer.echo(printable(line), err=to_stderr)
        if not report.violations and report.checked:
            typer.echo(f"{report.checked} commit(s) keep the turn rules", err=to_stderr)
        elif not report.violations:
            typer.echo("no commits to verify", err=to_stderr)
    if report.violations:
        if not as_json:
            print(
                f"error: {len(report.violations)} violation(s) of the turn rules; fix the "
                "commits (e.g. `git reset` to before them) and publish with duologue.",
                file=sys.stderr,
            )
        raise typer.Exit(1)


def _clone_prefix() -> str:
    """Where the workspace around the current folder lies in its clone (``""`` at the top,
    or outside any clone): a server's hook must look there too."""
    from duologue.errors import GitFailure
    from duologue.git.history import History
    from duologue.verify import workspace_prefix

    try:
        history = History(Path.cwd())
    except GitFailure:
        return ""
    try:
        return workspace_prefix(history, Path.cwd())
    finally:
        history.close()


def _prefix(value: str) -> str:
    cleaned = value.strip("/")
    if ".." in cleaned.split("/") or cleaned.startswith("-"):
        raise typer.BadParameter("name a folder inside the repository", param_hint="--prefix")
    return f"{cleaned}/" if cleaned else ""


@hooks_app.command("install")
def hooks_install(
    server: Annotated[
        Path | None,
        typer.Option(
            "--server",
            metavar="PATH.git",
            help="A bare shared repository: install verify as its pre-receive hook.",
        ),
    ] = None,
    replace: Annotated[
        bool,
        typer.Option("--replace", help="Replace a hook duologue did not write (it is kept)."),
    ] = False,
) -> None:
    """Install `duologue verify` as this clone's pre-push hook, or with --server as a bare
    repository's pre-receive hook."""
    from duologue.git.history import History
    from duologue.hooks import bare_hooks_dir, clone_hooks_dir, install
    from duologue.verify import workspace_prefix

    if server is None:
        history = History(Path.cwd())
        try:
            prefix = workspace_prefix(history, Path.cwd())
        finally:
            history.close()
        done = install(clone_hooks_dir(Path.cwd()), "pre-push", "pre-push", prefix, replace=replace)
        what = "this clone's pre-push hook: a push that breaks the turn rules stops here"
    else:
        prefix = _clone_prefix()  # run from a clone whose workspace lies in a subfolder
        done = install(
            bare_hooks_dir(server), "pre-receive", "pre-receive", prefix, replace=replace
        )
        what = f"the pre-receive hook of {server}: it refuses a push that breaks the turn rules"
    verb = "updated" if done.replaced_own else "installed"
    typer.echo(f"{verb} {done.path} as {what}")
    if done.kept is not None:
        typer.echo(f"the hook that was there is kept as {done.kept}; it no longer runs")


def amend(
    series: Annotated[str, typer.Argument(help="The series slug.")],
    turn: Annotated[int, typer.Argument(help="The turn to correct.", min=1)],
    no_edit: Annotated[
        bool,
        typer.Option("--no-edit", help="Commit the edits already made to the post's file."),
    ] = False,
    as_handle: Annotated[
        str | None, typer.Option("--as", help="Act as this author handle.")
    ] = None,
) -> None:
    """Correct a published post in one commit; it gets `updated: <now>` and feeds show it."""
    from datetime import UTC, datetime

    from duologue.corrections import amend_post
    from duologue.identity import current_identity

    settings = workspace_here()
    done = amend_post(
        settings,
        series,
        turn,
        current_identity(as_handle, settings.root),
        datetime.now(UTC),
        edit=not no_edit,
    )
    typer.echo(
        f"amended {done.path} (updated {done.moment.isoformat()}) in commit {done.commit[:10]}"
    )


def retract(
    series: Annotated[str, typer.Argument(help="The series slug.")],
    turn: Annotated[int, typer.Argument(help="The turn to withdraw.", min=1)],
    reason: Annotated[
        str | None, typer.Option("--reason", help="One line saying why, shown on its page.")
    ] = None,
    as_handle: Annotated[
        str | None, typer.Option("--as", help="Act as this author handle.")
    ] = None,
) -> None:
    """Withdraw a published post in one commit: its file stays, its text leaves the site."""
    from datetime import UTC, datetime

    from duologue.corrections import retract_post
    from duologue.identity import current_identity

    settings = workspace_here()
    done = retract_post(
        settings,
        series,
        turn,
        current_identity(as_handle, settings.root),
        datetime.now(UTC),
        reason,
    )
    typer.echo(f"withdrew {done.path} in commit {done.commit[:10]}; its text stays in git history")


def register(app: typer.Typer) -> None:
    app.command()(verify)
    app.command()(amend)
    app.command()(retract)
    app.add_typer(hooks_app, name="hooks")
