"""``duologue sync``: bring the co-author's posts in.

The fetch lands in a private ref (``refs/duologue/incoming/…``); the remote-tracking
ref moves only once that history is accepted, so a force-pushed remote is refused
every time, not once. Fast-forward when we have nothing of our own; otherwise replay
our unshared commits on the remote's tip, one non-merge commit at a time (a merge
commit must be exactly the merge of its sides, whose commits are replayed), with
nothing on disk moving until the whole new history exists. A post of ours for a turn
the remote already filled is not replayed: it goes back to ``drafts/`` as a reply to
the new latest post, and a ref under ``refs/duologue/unpublished/`` keeps the original
commit. The work tree then moves all or nothing (``duologue.git.sync_journal``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from duologue.committed_posts import post_paths_at, read_post_at
from duologue.errors import GitFailure
from duologue.model import POST_FILE_PATTERN, Draft, Settings
from duologue.posts import format_draft, parse_post

if TYPE_CHECKING:  # GitPython stays out of import time
    from duologue.git.repository import CommitInfo, Repository
    from duologue.git.sync_journal import ReturnedDraft


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


def _turn_paths(repo: Repository, rev: str) -> dict[str, dict[int, list[str]]]:
    """Series → turn → the post paths claiming it at ``rev``."""
    found: dict[str, dict[int, list[str]]] = {}
    for path in repo.list_tree(rev, "series"):
        parts = path.split("/")
        if len(parts) == 3:
            match = POST_FILE_PATTERN.match(parts[2])
            if match:
                found.setdefault(parts[1], {}).setdefault(int(match["turn"]), []).append(path)
    return found


def _clashing_post(
    info: CommitInfo, remote: dict[str, dict[int, list[str]]], moved_on: set[str]
) -> str | None:
    """The post path this commit added in a series where it can no longer stand: one the
    remote moved on since we parted (``moved_on``, which also gathers the series where an
    earlier post of ours was set aside), or for a turn another post holds on the remote
    (a race that a plain ``git pull`` merged)."""
    for path in info.added:
        parts = path.split("/")
        match = POST_FILE_PATTERN.match(parts[2]) if len(parts) == 3 else None
        if match is None or parts[0] != "series":
            continue
        holders = remote.get(parts[1], {}).get(int(match["turn"]), [])
        if parts[1] in moved_on or any(other != path for other in holders):
            moved_on.add(parts[1])  # a later post of ours there answers this one
            return path
    return None


def _shared_turns(repo: Repository, rev: str) -> list[str]:
    """``slug #turn`` for every turn two posts claim at ``rev``."""
    return [
        f"{slug} #{turn}"
        for slug, turns in sorted(_turn_paths(repo, rev).items())
        for turn, paths in sorted(turns.items())
        if len(paths) > 1
    ]


def sync_workspace(settings: Settings, remote: str | None) -> SyncResult:
    from duologue.faults import fault_point
    from duologue.git.sparse import refuse_hidden_files
    from duologue.git.sync_journal import journal_path
    from duologue.git.transaction import changing

    with changing(settings.root, whole_repository=True) as repo:
        branch = repo.preflight()
        refuse_hidden_files(settings.root, thorough=True)
        name, remote_branch = repo.upstream(branch, remote)
        place = _Place(
            remote=name,
            branch=branch,
            tracking=repo.tracking_ref(name, remote_branch),
            incoming=repo.incoming_ref(name, remote_branch),
        )
        seen_before = repo.resolve(place.tracking)
        # Into a private ref: the remote-tracking ref moves only once this is accepted.
        fetched = repo.fetch_into(name, remote_branch, place.incoming)
        fault_point("sync-after-fetch")
        if fetched is None:
            result = SyncResult(remote=name, state="no-remote-branch")
            result.messages.append(
                f"{name} has no {remote_branch.removeprefix('refs/heads/')} yet; run `duologue handoff` to share yours."
            )
            return result
        if seen_before and not repo.is_ancestor(seen_before, fetched):
            raise GitFailure(
                f"the history on {name!r} was rewritten (force-pushed) since you last synced; "
                "nothing was changed. Ask your co-author what happened before you sync, and "
                f"compare with `git log --graph {place.tracking} {place.incoming}` (what "
                f"{name!r} holds now)."
            )
        try:
            return _bring_in(settings, repo, place, fetched)
        except BaseException:
            if not journal_path(repo).exists():  # refused or undone: as if never fetched
                repo.delete_ref(place.incoming)
            raise


@dataclass(frozen=True, slots=True)
class _Place:
    """Where one sync fetches from and to, and which branch it moves."""

    remote: str
    branch: str
    tracking: str
    incoming: str


def _accept(repo: Repository, place: _Place, fetched: str) -> None:
    repo.set_ref(place.tracking, fetched)
    repo.delete_ref(place.incoming)


def _bring_in(settings: Settings, repo: Repository, place: _Place, fetched: str) -> SyncResult:
    local = repo.head()
    name = place.remote
    result = SyncResult(remote=name, state="up-to-date")
    if local is None:
        raise GitFailure("this clone has no commits yet; clone the shared repository instead.")
    if local == fetched:
        _accept(repo, place, fetched)
        return result
    if repo.is_ancestor(local, fetched):
        result.brought_in = len(repo.commits_between(local, fetched))
        _move(repo, place, local, fetched, fetched, [])
        result.state = "fast-forward"
        return result
    if repo.is_ancestor(fetched, local) and _shared_turns(repo, local):
        # A plain `git pull` merged a race: settled as sync settles one, from the remote.
        shared = ", ".join(_shared_turns(repo, local))
        result.messages.append(
            f"a plain git pull or merge left two posts with one turn ({shared}); the one "
            f"that reached {name} first keeps it."
        )
        return _replay(settings, repo, place, local, fetched, result)
    if repo.is_ancestor(fetched, local):
        _accept(repo, place, fetched)
        ahead = len(repo.commits_between(fetched, local))
        result.state = "ahead"
        result.messages.append(
            f"you have {ahead} commit(s) that {name} does not; run `duologue handoff` to share them."
        )
        return result
    return _replay(settings, repo, place, local, fetched, result)


def _move(
    repo: Repository,
    place: _Place,
    local: str,
    tip: str,
    fetched: str,
    drafts: list[ReturnedDraft],
) -> None:
    """The work tree, index and branch from ``local`` to ``tip``, all or nothing."""
    import secrets

    from duologue.git.sync_journal import SyncJournal, check_work_tree, move_work_tree

    repo.refuse_paths_git_refuses(tip)
    files = repo.tree_changes(local, tip)
    folders = check_work_tree(repo, files, drafts)
    journal = SyncJournal(
        branch=place.branch,
        old=local,
        new=tip,
        token=secrets.token_hex(8),
        files=tuple(files),
        drafts=tuple(drafts),
        folders=folders,
        kept=tuple(d.ref for d in drafts if repo.resolve(d.ref) != d.sha),
        tracking=place.tracking,
        fetched=fetched,
        incoming=place.incoming,
    )
    move_work_tree(repo, journal)


def _check_merges(repo: Repository, merges: list[str]) -> None:
    """Merge commits are not replayed (their sides are, one commit at a time), so each
    must be exactly what merging its two sides gives: nothing of its own is lost."""
    for merge in merges:
        parents = repo.parents(merge)
        if len(parents) != 2 or repo.merged_tree(parents[0], parents[1]) != repo.tree_of(merge):
            subject = repo.commit_info(merge).subject
            unrelated = len(parents) == 2 and not repo.share_history(parents[0], parents[1])
            what = (
                "merges two sides that share no history"
                if unrelated
                else "holds more than its two sides (a resolved conflict, or a third side)"
            )
            raise GitFailure(
                f"your merge commit {merge[:10]} ({subject}) {what}, which sync cannot "
                "replay; nothing was changed. Rebase it by hand with `git pull "
                "--rebase=merges`, then run `duologue check`."
            )


def _replay(
    settings: Settings,
    repo: Repository,
    place: _Place,
    local: str,
    fetched: str,
    result: SyncResult,
) -> SyncResult:
    base = repo.merge_base(local, fetched)
    if base is None:
        raise GitFailure("your branch and the remote's share no history; nothing was changed.")
    remote_turns = _turn_paths(repo, fetched)
    before = {slug: max(turns) for slug, turns in _turn_paths(repo, base).items()}
    moved_on = {slug for slug, turns in remote_turns.items() if max(turns) > before.get(slug, 0)}
    singles, merges = repo.replayable_between(fetched, local)
    _check_merges(repo, merges)
    tip = fetched
    set_aside: list[tuple[CommitInfo, str]] = []
    for commit in singles:
        info = repo.commit_info(commit)
        clash = _clashing_post(info, remote_turns, moved_on)
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
    from duologue.git.sync_journal import ReturnedDraft

    # Everything the returned drafts need is worked out before anything on disk moves.
    in_tip = {repo.root / p for p in repo.list_tree(tip, "drafts")}
    taken: set[Path] = set()
    drafts: list[ReturnedDraft] = []
    messages: list[str] = []
    for info, path in set_aside:
        target, text, message = _returned_draft(settings, repo, info, path, fetched, taken, in_tip)
        taken.add(target)
        ref = f"refs/duologue/unpublished/{path.split('/')[1]}-{info.sha[:12]}"
        rel = target.relative_to(repo.root).as_posix()
        drafts.append(ReturnedDraft(path=rel, text=text, ref=ref, sha=info.sha))
        messages.append(message)
    _move(repo, place, local, tip, fetched, drafts)
    result.state = "rebased"
    result.brought_in = len(repo.commits_between(base, fetched))
    result.drafts += [repo.root / d.path for d in drafts]
    result.messages += messages
    return result


def _returned_draft(
    settings: Settings,
    repo: Repository,
    info: CommitInfo,
    path: str,
    fetched: str,
    taken: set[Path],
    in_tip: set[Path],
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
    back = repo.root / restored[0] if restored else None
    if back is not None and back not in taken and not (back.exists() or back.is_symlink()):
        target = back  # where the draft was, even when the new tree still has it committed
    else:
        target = unique_path(settings.drafts_dir / series_slug, post.slug, taken | in_tip)
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
