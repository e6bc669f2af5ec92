"""The Typer app: every ``duologue`` command, its options and how its result is printed.

Each command imports the core module that does its work when it runs, so ``duologue
--help`` loads Typer and nothing heavy. Every failure becomes one ``error: …`` line and
its exit code in ``DuologueGroup``, through ``duologue.cli.edges.failure``, as it does
for the bare ``duologue build`` (``duologue.cli.bare_build``), which never loads this
module.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from duologue.cli.edges import failure
from duologue.cli.shared import print_json, workspace_here

if TYPE_CHECKING:
    from duologue.model import Settings


class DuologueGroup(TyperGroup):
    """Runs every command; turns a ``DuologueError`` (or a bug) into ``error: …`` and its
    exit code."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except BaseException as error:
            reported = failure(error)
            if reported is None:
                raise
            typer.echo(reported[0], err=True)
            raise typer.Exit(reported[1]) from None


app = typer.Typer(
    cls=DuologueGroup,
    name="duologue",
    help="Publish a dialogue series: co-authors answering each other, turn by turn, through git.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _print_version(value: bool) -> None:
    if value:
        from duologue import __version__

        typer.echo(f"duologue {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(
        False,
        "--version",
        help="Show the version and exit.",
        callback=_print_version,
        is_eager=True,
    ),
) -> None:
    """Publish a dialogue series: co-authors answering each other, turn by turn, through git."""


# -- options several commands share -----------------------------------------------------

AsOption = Annotated[
    str | None,
    typer.Option(
        "--as", help="Act as this author handle (else DUOLOGUE_AUTHOR, else git user.email)."
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="One JSON document on stdout.")]

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


# -- the site ---------------------------------------------------------------------------


@app.command()
def build(
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Output folder (default: `output` in duologue.toml)."),
    ] = None,
    series: Annotated[
        str | None, typer.Option("--series", help="Only this series' pages and feeds.")
    ] = None,
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="Absolute URL the site is served from.")
    ] = None,
) -> None:
    """Write the site and feeds: pages for every post and series, RSS and Atom feeds."""
    # The same build as a bare `duologue build`, which runs without Typer (duologue.cli).
    from duologue.cli.bare_build import build_summary

    typer.echo(build_summary(out, series, base_url))


@app.command()
def deploy(
    branch: Annotated[
        str, typer.Option("--branch", help="The branch the site is recorded on.")
    ] = "gh-pages",
    remote: RemoteOption = None,
    push: Annotated[bool, typer.Option("--push", help="Push the branch afterwards.")] = False,
    cname: Annotated[
        str | None, typer.Option("--cname", help="A custom domain, written as CNAME.")
    ] = None,
) -> None:
    """Build, then record the site as one new commit on BRANCH (history kept, the working
    tree, index and HEAD untouched); --push pushes that branch."""
    from duologue.deploy import deploy as deploy_site

    settings = workspace_here()
    result = deploy_site(settings, branch, remote, push, cname)
    typer.echo(result.built)
    if result.made:
        typer.echo(f"recorded the site on {result.branch} as {result.commit[:10]}")
    else:
        typer.echo(f"the site is as {result.branch} holds it ({result.commit[:10]}); no commit")
    if result.pushed_to:
        typer.echo(f"pushed {result.branch} to {result.pushed_to}")


# -- the workspace: init, status, log, check -------------------------------------------


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
    from duologue.scaffold import init_workspace
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
    from duologue.status import shared_turn_notice

    notice = shared_turn_notice(str(row["series"]), row.get("shared_turns") or [])  # type: ignore[arg-type]
    if notice:
        lines.append(f"  {notice}")
    from duologue.visible import printable  # each line one line, whatever a title holds

    return "\n".join(printable(line) for line in lines)


@app.command()
def log(
    series: Annotated[str, typer.Argument(help="The series slug.")],
    as_json: JsonOption = False,
) -> None:
    """The thread in the terminal: turn, date, author, title, what it answers."""
    from duologue.log_records import load_thread, log_record
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
    from duologue.check import check_clone, verdict
    from duologue.errors import CheckFailed
    from duologue.visible import printable
    from duologue.workspace import find_root

    problems = check_clone(find_root())  # not open_workspace(): a broken toml is a finding
    if as_json:
        print_json([{"path": p.path, "level": p.level, "message": p.message} for p in problems])
        try:
            verdict(problems)
        except CheckFailed:
            raise typer.Exit(1) from None
        return
    for problem in problems:
        # A file name may hold an ESC or a line break: each problem stays one line.
        typer.echo(f"{printable(problem.path)}: {problem.level}: {printable(problem.message)}")
    typer.echo(verdict(problems))


# -- the turn cycle: draft, publish, handoff, sync -------------------------------------


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
        _say_whose_turn(settings)


@app.command()
def handoff(remote: RemoteOption = None) -> None:
    """Push the current branch so the co-author gets the turn."""

    from duologue.handoff import hand_off

    settings = workspace_here()
    done = hand_off(settings, remote)
    typer.echo(f"handed off: {done.remote}/{done.branch} is at {done.sha[:10]}")
    _say_whose_turn(settings)


def _say_whose_turn(settings: Settings) -> None:
    """What a hand-off ends with (SPEC §8): whose turn it is now in each series, by when."""
    from datetime import UTC, datetime

    from duologue.identity import Identity
    from duologue.status import collect_status, turn_now_line
    from duologue.visible import printable

    for status in collect_status(settings, Identity(), datetime.now(UTC)):
        typer.echo(printable(turn_now_line(status)))


@app.command()
def sync(remote: RemoteOption = None, as_handle: AsOption = None) -> None:
    """Fetch and bring the co-author's posts in, then show the status of each series."""
    from datetime import UTC, datetime

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


# -- series new | list -----------------------------------------------------------------


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

    from duologue.scaffold import create_series

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


app.add_typer(series_app, name="series")


def _register_honest_remote() -> None:
    from duologue.cli.honest_remote import register

    register(app)


_register_honest_remote()
