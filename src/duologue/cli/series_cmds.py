"""``duologue series new|list``."""

from __future__ import annotations

from typing import Annotated

import typer

from duologue.cli.base import print_json, workspace_here
from duologue.cli.turn_cmds import NoVerifyOption

series_app = typer.Typer(
    help="Create and list the series of this workspace.",
    no_args_is_help=True,
)


@series_app.command("new")
def series_new(
    slug: Annotated[str, typer.Argument(help="Short name: lowercase letters, digits, hyphens.")],
    title: Annotated[str, typer.Option("--title", help="The series title.")],
    author: Annotated[
        list[str],
        typer.Option(
            "--author",
            help='"HANDLE:Name <email>", once per author, in turn order (at least two).',
        ),
    ],
    description: Annotated[str, typer.Option(help="One line about the series.")] = "",
    hashtag: Annotated[str | None, typer.Option(help="Optional hashtag, e.g. #SlowWork.")] = None,
    no_verify: NoVerifyOption = False,
) -> None:
    """Create series/SLUG/series.toml and commit it."""
    from datetime import UTC, datetime

    from duologue.setup import create_series

    settings = workspace_here()
    path = create_series(
        settings, slug, title, author, description, hashtag, datetime.now(UTC), not no_verify
    )
    typer.echo(f"created {path.relative_to(settings.root).as_posix()} and committed it")


@series_app.command("list")
def series_list(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document on stdout.")] = False,
) -> None:
    """List the series in the workspace."""
    from duologue.workspace import list_post_files, load_all_series

    settings = workspace_here()
    rows = [
        {
            "series": series.slug,
            "title": series.title,
            "id": series.id,
            "authors": list(series.handles),
            "posts": len(list_post_files(settings, series.slug)),
        }
        for series in load_all_series(settings)
    ]
    if as_json:
        print_json(rows)
        return
    if not rows:
        typer.echo("no series yet; start one with `duologue series new`")
    for row in rows:
        authors = ", ".join(row["authors"])  # type: ignore[arg-type]
        typer.echo(f"{row['series']}\t{row['title']}\t{row['posts']} posts\t{authors}")
