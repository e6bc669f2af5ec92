"""``duologue publish``: a draft becomes turn N+1 in ONE commit, or nothing changes."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from duologue.committed_posts import post_paths_at, read_post_at
from duologue.errors import InvalidInput, NotYourTurn
from duologue.faults import fault_point
from duologue.files import create_exclusive, is_inside, read_text, relative
from duologue.git.publish_journal import (
    PublishJournal,
    clear_journal,
    finish_publish,
    sha256_of,
    write_journal,
)
from duologue.git.transaction import changing
from duologue.identity import Identity, require_author
from duologue.links import find_references
from duologue.model import Author, Draft, Post, Series, Settings, post_file_name
from duologue.posts import format_post, parse_draft, parse_post
from duologue.slugs import slugify
from duologue.turns import next_author
from duologue.workspace import list_draft_paths, list_post_files, load_series


@dataclass(frozen=True, slots=True)
class PublishResult:
    post: Post
    commit: str
    next_author: Author
    forced: bool
    notes: tuple[str, ...] = ()
    """What the commit hooks printed, and a draft that could not be removed."""


def refuse_broken_series(settings: Settings, series: Series, now: datetime) -> None:
    """Publish adds to the series what ``check`` says of it: a series with errors (two posts
    with one turn after a hand-made ``git pull --rebase``, a post dated years ahead) would
    only be made worse by one more turn."""
    from duologue.check import check_workspace

    folder = f"series/{series.slug}"
    errors = [
        p
        for p in check_workspace(settings.root, None, now)
        if p.level == "error" and (p.path == folder or p.path.startswith(folder + "/"))
    ]
    if errors:
        shown = "; ".join(f"{p.path}: {p.message.rstrip('.')}" for p in errors[:3])
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        raise InvalidInput(
            f"{folder} fails `duologue check`, so nothing was published: {shown}{more}. "
            "Run `duologue check` to see every problem, "
            "and `duologue sync` if they came with your co-author's posts; fix them, then "
            "publish again."
        )


def refuse_unwritable(settings: Settings, *folders: Path) -> None:
    """Before anything is committed: publish creates the post in one folder and removes the
    draft from another, and a folder that allows neither would stop it halfway."""
    import os

    for folder in folders:
        if folder.is_dir() and not os.access(folder, os.W_OK | os.X_OK):
            shown = relative(folder, settings.root)
            raise InvalidInput(
                f"{shown}/ is not writable, and publish must add or remove a file there; "
                f"nothing was changed. Make it writable (e.g. `chmod u+w {shown}`, or remount "
                "it read-write), then publish again."
            )


def refuse_future_date(moment: datetime, now: datetime, shown: str) -> None:
    from duologue.check import future_date_problem

    problem = future_date_problem(moment, now)
    if problem:
        raise InvalidInput(
            f"{shown}: {problem.split(';')[0]}; a post is dated when it is published, so "
            "leave the date out (publish then uses now) or give one at most a day ahead."
        )


def find_draft(
    settings: Settings, target: str, cwd: Path, identity: Identity
) -> tuple[Series, Path]:
    """A draft path, or a series slug naming the acting author's only draft there."""
    candidate = (cwd / target) if not Path(target).is_absolute() else Path(target)
    looks_like_path = "/" in target or target.endswith(".md")
    if looks_like_path:
        drafts = settings.drafts_dir
        if candidate.is_symlink():
            raise InvalidInput(
                f"{target}: is a symbolic link; duologue publishes only regular files."
            )
        if (
            not is_inside(candidate, drafts)
            or candidate.parent.parent.resolve() != drafts.resolve()
        ):
            raise InvalidInput(
                f"{target}: is not a draft in {relative(drafts, settings.root)}/<series>/; "
                "publish only drafts inside this workspace."
            )
        if not candidate.exists():
            raise InvalidInput(f"{target}: no such draft.")
        series = load_series(settings, candidate.parent.name)
        return series, candidate.absolute()
    series = load_series(settings, target)
    author = require_author(series, identity)
    mine: list[Path] = []
    for path in list_draft_paths(settings, series.slug):
        try:
            draft = parse_draft(read_text(path, settings.root), path, series.slug, settings)
        except InvalidInput as error:
            # Never pick another draft past one that cannot be read: it may be the one meant.
            raise InvalidInput(
                # Loader messages already say how to fix the draft; add the other way out.
                f"{error.message.rstrip('.')}, or name another draft to publish "
                f"(`duologue publish drafts/{series.slug}/<file>.md`)."
            ) from None
        if draft.author in (None, author.handle):
            mine.append(path)
    if not mine:
        raise InvalidInput(
            f"you ({author.handle}) have no draft in drafts/{series.slug}/; write one with "
            f"`duologue draft {series.slug}`."
        )
    if len(mine) > 1:
        names = ", ".join(relative(p, settings.root) for p in mine)
        raise InvalidInput(
            f"you have {len(mine)} drafts in {series.slug} ({names}); name the one to publish."
        )
    return series, mine[0]


def _check_references(settings: Settings, draft: Draft, new_turn: int) -> None:
    own = {f.turn for f in list_post_files(settings, draft.series)} | {new_turn}
    for ref in find_references(draft.body, draft.series):
        if ref.series == draft.series:
            turns = own
        else:
            turns = {f.turn for f in list_post_files(settings, ref.series)}
        if ref.turn not in turns:
            label = f"#{ref.turn}" if ref.series == draft.series else f"{ref.series}#{ref.turn}"
            raise InvalidInput(
                f"{relative(draft.path, settings.root)}: [[{label}]] points at a turn that does "
                "not exist; fix the reference."
            )


def commit_message(post: Post, upcoming: Author, forced: bool, answering: int | None) -> str:
    lines = [f"{post.series} #{post.turn}: {post.title}", ""]
    if answering:
        lines.append(f"In reply to #{answering}.")
    if forced:
        lines.append("Published out of turn with --force.")
    if len(lines) > 2:
        lines.append("")
    lines += [
        f"Duologue-Series: {post.series}",
        f"Duologue-Turn: {post.turn}",
        f"Duologue-Author: {post.author}",
        f"Duologue-Next: {upcoming.handle}",
    ]
    if forced:
        lines.append("Duologue-Forced: true")
    return "\n".join(lines) + "\n"


def publish_draft(
    settings: Settings,
    target: str,
    identity: Identity,
    now: datetime,
    date: datetime | None = None,
    force: bool = False,
    cwd: Path | None = None,
    verify: bool = True,
) -> PublishResult:
    """``verify=False`` is ``--no-verify``: the pre-commit and commit-msg hooks are skipped,
    as ``git commit --no-verify`` skips them."""
    from duologue.git.repository import Person

    series, draft_path = find_draft(settings, target, cwd or Path.cwd(), identity)
    with changing(settings.root) as repo:
        branch = repo.preflight()
        committer = repo.committer()
        acting = require_author(series, identity)
        refuse_broken_series(settings, series, now)
        refuse_unwritable(settings, settings.series_dir / series.slug, draft_path.parent)
        draft_text = read_text(draft_path, settings.root)  # regular files inside only
        draft_bytes = draft_text.encode("utf-8")
        draft = parse_draft(draft_text, draft_path, series.slug, settings)
        if draft.author not in (None, acting.handle):
            raise InvalidInput(
                f"{relative(draft_path, settings.root)}: `author` is {draft.author!r} but you are "
                f"{acting.handle!r}; publish it as its author (--as {draft.author})."
            )
        old = repo.head()
        # Turns come from the commit the new one goes on top of, not from the work tree:
        # an uncommitted move or edit of a post must not give two posts one turn.
        folder = (settings.series_dir / series.slug).resolve().relative_to(repo.root.resolve())
        committed = post_paths_at(repo, old, folder.as_posix())
        turns = sorted(committed)
        if turns != list(range(1, len(turns) + 1)):
            raise InvalidInput(
                f"series/{series.slug}: turns are not numbered 1..{len(turns)} without gaps; "
                "run `duologue check` and fix them first."
            )
        latest = (
            read_post_at(repo, old, committed[turns[-1]], series.slug, settings)
            if old and turns
            else None
        )
        upcoming = next_author(series.authors, latest.author if latest else None)
        if upcoming.handle != acting.handle and not force:
            since = f" since {latest.date.isoformat()}" if latest else ""
            raise NotYourTurn(
                f"it is {upcoming.handle}'s turn in {series.slug}{since}, not yours "
                f"({acting.handle}); wait for their post (`duologue sync`), or publish anyway "
                "with --force."
            )
        forced = upcoming.handle != acting.handle
        new_turn = len(turns) + 1
        in_reply_to = draft.in_reply_to or (latest.turn if latest else None)
        if in_reply_to is not None and in_reply_to >= new_turn:
            raise InvalidInput(
                f"{relative(draft_path, settings.root)}: `in_reply_to` names turn {in_reply_to}, "
                "which does not exist yet."
            )
        given = date or draft.date
        if given is not None:
            refuse_future_date(
                given, now, "--date" if date else relative(draft_path, settings.root)
            )
        moment = (given or now).astimezone(settings.timezone).replace(microsecond=0)
        if latest and moment < latest.date:
            source = (
                "give a later --date"
                if date
                else "correct the draft's `date` (or remove it)"
                if draft.date
                else "check your clock"
            )
            raise InvalidInput(
                f"the date {moment.isoformat()} is earlier than turn {latest.turn}'s "
                f"({latest.date.isoformat()}, in {committed[turns[-1]]}); dates must not go "
                f"backwards: {source}, or correct that post's date if it is wrong."
            )
        _check_references(settings, draft, new_turn)
        post_slug = slugify(draft.slug, fallback=f"turn-{new_turn}")
        post_path = settings.series_dir / series.slug / post_file_name(new_turn, post_slug)
        post = Post(
            series=series.slug,
            turn=new_turn,
            slug=post_slug,
            path=post_path,
            title=draft.title,
            author=acting.handle,
            date=moment,
            body=draft.body.strip("\n"),
            in_reply_to=in_reply_to,
            tags=draft.tags,
            summary=draft.summary,
            canonical_url=draft.canonical_url,
        )
        text = format_post(post)
        post = parse_post(text, post_path, series.slug, settings)  # the same rules as check
        data = text.encode("utf-8")
        if post_path.exists() or post_path.is_symlink():
            raise InvalidInput(
                f"{relative(post_path, settings.root)} already exists; nothing was changed."
            )

        post_rel = post_path.resolve().relative_to(repo.root.resolve()).as_posix()
        draft_rel = draft_path.resolve().relative_to(repo.root.resolve()).as_posix()
        changes: dict[str, bytes | None] = {post_rel: data}
        if old and repo.in_tree(old, draft_rel):
            changes[draft_rel] = None
        message = commit_message(
            post, next_author(series.authors, acting.handle), forced, in_reply_to
        )
        journal = PublishJournal(
            branch=branch,
            old=old,
            new=None,
            post_path=post_rel,
            post_sha256=sha256_of(data),
            draft_path=draft_rel,
            draft_sha256=sha256_of(draft_bytes),
        )
        notes: list[str] = []
        new: str | None = None
        created = False
        try:
            with repo.staged_index(old, changes) as index:
                # The journal names the post before the post (or its temporary file) exists:
                # a kill from here on is undone by the next command.
                write_journal(repo, journal)
                fault_point("after-journal")
                create_exclusive(post_path, text)
                created = True
                fault_point("after-post-written")
                # As `git commit <paths>`: the hooks see the index being committed and a
                # work tree that holds the post.
                message, said = repo.commit_hooks(index, message, verify)
                _require_trailers(message, post)
                tree = repo.write_tree(index)
            new = repo.make_commit(
                tree,
                [old] if old else [],
                message,
                Person(acting.name, acting.email),
                author_date=moment.isoformat(),
                committer=committer,
            )
            fault_point("after-commit-object")
            journal = replace(journal, new=new)
            write_journal(repo, journal)
            fault_point("after-journal-commit")
            repo.move_branch(branch, new, old, f"duologue: publish {post_rel}")
        except BaseException:
            # The branch did not move: put the working tree back as it was.
            if new is None or repo.resolve(branch) != new:
                # Ours, even if a hook reformatted it before refusing: the draft has the text.
                if created or _sha_or_none(post_path) == journal.post_sha256:
                    post_path.unlink(missing_ok=True)
                clear_journal(repo)
            raise
        fault_point("after-branch-moved")
        left = finish_publish(repo, journal)
        after = repo.run_post_commit()
        notes += [n for n in (said.strip(), left, after.strip()) if n]
        return PublishResult(
            post, new, next_author(series.authors, acting.handle), forced, tuple(notes)
        )


def _sha_or_none(path: Path) -> str | None:
    try:
        return sha256_of(path.read_bytes())
    except OSError:
        return None


def _require_trailers(message: str, post: Post) -> None:
    """A commit-msg hook may add to the message, not take duologue's trailers out of it."""
    from duologue.errors import HookFailed
    from duologue.git.repository import parse_trailers

    found = parse_trailers(message)
    wanted = {"Duologue-Series": post.series, "Duologue-Turn": str(post.turn)}
    if any(found.get(key) != value for key, value in wanted.items()):
        raise HookFailed(
            "the commit-msg hook removed or changed duologue's Duologue-* trailers, which "
            "sync and check read from the commit; nothing was changed. Fix the hook, or skip "
            "the hooks with --no-verify."
        )
