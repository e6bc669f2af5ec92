"""``duologue sync``: bring the co-author's posts in.

Fast-forward when we have nothing of our own; otherwise replay our unshared commits
on the remote's tip (``merge-tree``: nothing on disk moves until the whole new
history exists). A post of ours for a turn the remote already filled is not
replayed: it goes back to ``drafts/`` as a reply to the new latest post, and a
ref under ``refs/duologue/unpublished/`` keeps the original commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from duologue.errors import GitFailure
from duologue.files import write_atomic
from duologue.history import post_paths_at, read_post_at
from duologue.model import POST_FILE_PATTERN, Draft, Settings
from duologue.posts import format_draft, parse_post

if TYPE_CHECKING:  # GitPython stays out of import time
    from duologue.gitops import CommitInfo, Repository


@dataclass(slots=True)
class SyncResult:
    remote: str
    state: str
    """``up-to-date``, ``fast-forward``, ``rebased``, ``ahead`` or ``no-remote-branch``."""
    brought_in: int = 0
    """Commits from the remote now on our branch."""
    messages: list[str] = field(default_factory=list)
    drafts: list[Path] = field(default_factory=list)
    """Posts turned back into drafts."""


def _latest_turns(repo: Repository, rev: str) -> dict[str, int]:
    latest: dict[str, int] = {}
    for path in repo.list_tree(rev, "series"):
        parts = path.split("/")
        if len(parts) == 3:
            match = POST_FILE_PATTERN.match(parts[2])
            if match:
                latest[parts[1]] = max(latest.get(parts[1], 0), int(match["turn"]))
    return latest


def _clashing_post(info: CommitInfo, advanced: set[str]) -> str | None:
    """The post path this commit added in a series the remote moved on, if any."""
    for path in info.added:
        parts = path.split("/")
        if (
            len(parts) == 3
            and parts[0] == "series"
            and parts[1] in advanced
            and POST_FILE_PATTERN.match(parts[2])
        ):
            return path
    return None


def sync_workspace(settings: Settings, remote: str | None) -> SyncResult:
    from duologue.gitops import Repository
    from duologue.journal import exclusive

    repo = Repository(settings.root)
    if repo.root.resolve() != settings.root.resolve():
        raise GitFailure("sync needs the workspace at the root of its git repository.")
    with exclusive(repo):
        branch = repo.preflight()
        name, remote_branch = repo.upstream(branch, remote)
        seen_before = repo.resolve(repo.tracking_ref(name, remote_branch))
        fetched = repo.fetch(name, remote_branch)
        if seen_before and fetched and not repo.is_ancestor(seen_before, fetched):
            raise GitFailure(
                f"the history on {name!r} was rewritten (force-pushed) since you last synced; "
                "nothing was changed. Ask your co-author what happened before you sync, and "
                "compare with `git log --graph --all`."
            )
        local = repo.head()
        result = SyncResult(remote=name, state="up-to-date")
        if fetched is None:
            result.state = "no-remote-branch"
            result.messages.append(
                f"{name} has no {remote_branch.removeprefix('refs/heads/')} yet; run `duologue handoff` to share yours."
            )
            return result
        if local is None:
            raise GitFailure("this clone has no commits yet; clone the shared repository instead.")
        if local == fetched:
            return result
        if repo.is_ancestor(local, fetched):
            result.brought_in = len(repo.commits_between(local, fetched))
            repo.checkout_moving(branch, local, fetched)
            result.state = "fast-forward"
            return result
        if repo.is_ancestor(fetched, local):
            ahead = len(repo.commits_between(fetched, local))
            result.state = "ahead"
            result.messages.append(
                f"you have {ahead} commit(s) that {name} does not; run `duologue handoff` to share them."
            )
            return result
        return _replay(settings, repo, branch, local, fetched, result)


def _replay(
    settings: Settings, repo: Repository, branch: str, local: str, fetched: str, result: SyncResult
) -> SyncResult:
    base = repo.merge_base(local, fetched)
    if base is None:
        raise GitFailure("your branch and the remote's share no history; nothing was changed.")
    before = _latest_turns(repo, base)
    remote_latest = _latest_turns(repo, fetched)
    advanced = {s for s, turn in remote_latest.items() if turn > before.get(s, 0)}
    tip = fetched
    set_aside: list[tuple[CommitInfo, str]] = []
    for commit in repo.commits_between(fetched, local):
        info = repo.commit_info(commit)
        clash = _clashing_post(info, advanced)
        if clash:
            set_aside.append((info, clash))
            continue
        replayed = repo.replay(commit, tip)
        if replayed is None:
            raise GitFailure(
                f"your commit {commit[:10]} ({info.subject}) conflicts with what is on the remote; "
                "nothing was changed. Resolve it by hand with `git pull --rebase`, then run "
                "`duologue check`."
            )
        tip = replayed
    # Everything the returned drafts need is worked out before anything on disk moves.
    taken: set[Path] = set()
    returned = []
    for info, path in set_aside:
        draft = _returned_draft(settings, repo, info, path, fetched, taken)
        taken.add(draft[0])
        returned.append(draft)
    for info, path in set_aside:
        parts = path.split("/")
        repo.keep_ref(f"unpublished/{parts[1]}-{info.sha[:12]}", info.sha)
    repo.checkout_moving(branch, local, tip)
    result.state = "rebased"
    result.brought_in = len(repo.commits_between(base, fetched))
    for target, text, message in returned:
        write_atomic(target, text)
        result.drafts.append(target)
        result.messages.append(message)
    return result


def _returned_draft(
    settings: Settings,
    repo: Repository,
    info: CommitInfo,
    path: str,
    fetched: str,
    taken: set[Path],
) -> tuple[Path, str, str]:
    """Where our set-aside post goes back as a draft, its text, and what to tell the user."""
    from duologue.drafting import unique_path
    from duologue.workspace import load_series

    series_slug = path.split("/")[1]
    post = parse_post(
        repo.read_blob(info.sha, path).decode("utf-8"), repo.root / path, series_slug, settings
    )
    remote_posts = post_paths_at(repo, fetched, f"series/{series_slug}")
    latest_turn = max(remote_posts) if remote_posts else None
    restored = [p for p in info.removed if p.startswith(f"drafts/{series_slug}/")]
    if restored and repo.root / restored[0] not in taken:
        target = repo.root / restored[0]
    else:
        target = unique_path(settings.drafts_dir / series_slug, post.slug, taken)
    draft = Draft(
        series=series_slug,
        slug=target.stem,
        path=target,
        title=post.title,
        author=post.author,
        body=post.body,
        in_reply_to=latest_turn,
        tags=post.tags,
        summary=post.summary,
        canonical_url=post.canonical_url,
    )
    winner = ""
    if post.turn in remote_posts:
        first = read_post_at(repo, fetched, remote_posts[post.turn], series_slug, settings)
        who = load_series(settings, series_slug).author(first.author)
        winner = (
            f'{who.name if who else first.author}\'s "{first.title}" reached the remote first '
            f"as turn {post.turn}; "
        )
    shown = target.relative_to(settings.root).as_posix()
    message = (
        f'{winner}your "{post.title}" is back in {shown} as a reply to #{latest_turn} '
        f"(the original commit is kept as refs/duologue/unpublished/{series_slug}-{info.sha[:12]})."
    )
    return target, format_draft(draft), message
