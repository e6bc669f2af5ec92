"""``duologue draft``, ``publish``, ``handoff`` and ``sync``: the turn cycle."""

from __future__ import annotations

from typing import Annotated

import typer

from duologue.cli.base import app, workspace_here
from duologue.cli.workspace_cmds import AsOption

NoVerifyOption = Annotated[
    bool,
    typer.Option(
        "--no-verify", help="Skip the pre-commit and commit-msg hooks, as `git commit --no-verify`."
    ),
]
RemoteOption = Annotated[
    str | None,
    typer.Option("--remote", help="Git remote (default: the branch's upstream, else origin)."),
]


@app.command()
def draft(
    series: Annotated[str, typer.Argument(help="The series slug.")],
    title: Annotated[
        str | None, typer.Option(help='Title (default: "Re: <latest title>").')
    ] = None,
    as_handle: AsOption = None,
    no_edit: Annotated[bool, typer.Option("--no-edit", help="Do not open $EDITOR.")] = False,
) -> None:
    """Create drafts/SERIES/<slug>.md as a reply to the latest post."""
    from duologue.drafting import create_draft
    from duologue.editor import maybe_open_editor
    from duologue.identity import current_identity

    settings = workspace_here()
    result = create_draft(settings, series, current_identity(as_handle, settings.root), title)
    if result.out_of_turn:
        typer.echo(result.out_of_turn, err=True)
    typer.echo(result.path.relative_to(settings.root).as_posix())
    if not no_edit:
        maybe_open_editor(result.path)


@app.command()
def publish(
    draft_or_series: Annotated[
        str, typer.Argument(metavar="DRAFT_OR_SERIES", help="A draft's path, or a series slug.")
    ],
    as_handle: AsOption = None,
    date: Annotated[
        str | None, typer.Option(help="Publication date, ISO 8601 (default: now).")
    ] = None,
    force: Annotated[bool, typer.Option(help="Publish even when it is not your turn.")] = False,
    push: Annotated[bool, typer.Option(help="Hand off (push) right after publishing.")] = False,
    no_verify: NoVerifyOption = False,
) -> None:
    """Publish a draft as the next turn: one commit holding the post and the draft's removal."""
    from datetime import UTC, datetime

    from duologue.handoff import hand_off
    from duologue.identity import current_identity
    from duologue.posts import coerce_date
    from duologue.publish import publish_draft

    settings = workspace_here()
    when = coerce_date(date, settings.timezone, "--date", "date") if date else None
    result = publish_draft(
        settings,
        draft_or_series,
        current_identity(as_handle, settings.root),
        datetime.now(UTC),
        date=when,
        force=force,
        verify=not no_verify,
    )
    for note in result.notes:
        typer.echo(note, err=True)
    post = result.post
    forced = " (out of turn, --force)" if result.forced else ""
    typer.echo(
        f'published {post.series} #{post.turn} "{post.title}"{forced} as '
        f"{post.path.relative_to(settings.root).as_posix()} (commit {result.commit[:10]}); "
        f"next: {result.next_author.handle}"
    )
    if push:
        done = hand_off(settings, None)
        typer.echo(f"handed off: {done.remote}/{done.branch} is at {done.sha[:10]}")


@app.command()
def handoff(remote: RemoteOption = None) -> None:
    """Push the current branch so the co-author gets the turn."""
    from duologue.handoff import hand_off

    done = hand_off(workspace_here(), remote)
    typer.echo(f"handed off: {done.remote}/{done.branch} is at {done.sha[:10]}")


@app.command()
def sync(remote: RemoteOption = None, as_handle: AsOption = None) -> None:
    """Fetch and bring the co-author's posts in, then show the status of each series."""
    from datetime import UTC, datetime

    from duologue.cli.workspace_cmds import format_status
    from duologue.identity import current_identity
    from duologue.status import collect_status, status_record
    from duologue.sync import sync_workspace

    settings = workspace_here()
    result = sync_workspace(settings, remote)
    summary = {
        "up-to-date": f"already up to date with {result.remote}",
        "fast-forward": f"brought in {result.brought_in} commit(s) from {result.remote}",
        "rebased": f"brought in {result.brought_in} commit(s) from {result.remote} and "
        "replayed yours on top",
        "ahead": f"nothing new on {result.remote}",
        "no-remote-branch": f"nothing on {result.remote} yet",
    }[result.state]
    typer.echo(summary)
    from duologue.visible import printable  # a message may quote a co-author's title

    for message in result.messages:
        typer.echo(printable(message))
    identity = current_identity(as_handle, settings.root)
    for status in collect_status(settings, identity, datetime.now(UTC)):
        typer.echo(format_status(status_record(status)))
