"""``duologue deploy``: build, then record the output folder as one new commit on the
site branch (SPEC §8), and with ``--push`` send that branch to the remote.

The commit is deterministic: its tree is the output folder plus ``.nojekyll`` (GitHub
Pages would otherwise run Jekyll over it) and ``CNAME``; its date is when the newest
post last changed; its message names the workspace commit it was built from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from duologue.errors import GitFailure, InvalidInput
from duologue.model import Settings

DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
if TYPE_CHECKING:  # GitPython stays out of import time
    from duologue.git.repository import Repository


@dataclass(frozen=True, slots=True)
class DeployResult:
    branch: str
    commit: str
    made: bool
    built: str
    """The build's summary line."""
    pushed_to: str | None


def check_domain(value: str) -> str:
    domain = value.strip().lower().rstrip(".")
    if not DOMAIN.match(domain):
        raise InvalidInput(
            f"--cname {value!r} is not a domain name; give one like letters.example.org."
        )
    return domain


def check_branch(value: str) -> str:
    if (
        not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,99}", value)
        or ".." in value
        or value.endswith((".lock", "/", "."))
        or "//" in value
    ):
        raise InvalidInput(f"--branch {value!r} is not a branch name git accepts; use gh-pages.")
    return value


def newest_change(settings: Settings) -> datetime | None:
    """When the newest post last changed (published, amended, withdrawn); None without
    posts."""
    from duologue.posts import load_posts
    from duologue.workspace import list_series_slugs

    moments = [
        post.changed for slug in list_series_slugs(settings) for post in load_posts(settings, slug)
    ]
    return max(moments, default=None)


def deploy(
    settings: Settings, branch: str, remote: str | None, push: bool, cname: str | None
) -> DeployResult:
    from duologue.cli.bare_build import build_summary
    from duologue.git.site_branch import commit_site
    from duologue.git.transaction import locked

    branch = check_branch(branch)
    domain = None if cname is None else check_domain(cname)
    built = build_summary(None, None, None)
    moment = newest_change(settings)
    extra = {".nojekyll": b""}
    if domain:
        extra["CNAME"] = f"{domain}\n".encode()
    with locked(settings.root) as repo:
        head = repo.head()
        if head is None:
            raise GitFailure("the workspace has no commits yet; publish something first.")
        name = None
        if push or remote:
            name, _ = repo.upstream(repo.preflight(), remote)
        parent = _parent(repo, branch, name, fetch=push)
        short = repo.run("rev-parse", "--short", head).strip()
        if moment is None:  # no post yet: the workspace commit's own date, as fixed
            moment = datetime.fromtimestamp(int(repo.run("log", "-1", "--format=%ct", head)), UTC)
        done = commit_site(
            repo, settings.output_dir, branch, extra, f"deploy: {short}", moment, parent
        )
        pushed = None
        if push and name is not None:
            repo.push_ref(name, f"refs/heads/{branch}")
            pushed = name
    return DeployResult(branch, done.commit, done.made, built, pushed)


def _parent(repo: Repository, branch: str, remote: str | None, *, fetch: bool) -> str | None:
    """The site branch's previous tip: ours, or the remote's when a co-author deployed
    since (fetched first when pushing); refused when the two have parted."""
    ref = f"refs/heads/{branch}"
    ours = repo.resolve(ref)
    theirs = None
    if remote is not None:
        tracking = repo.tracking_ref(remote, ref)
        theirs = repo.fetch_into(remote, ref, tracking) if fetch else repo.resolve(tracking)
    if ours is None or theirs is None or ours == theirs:
        return ours or theirs
    if repo.is_ancestor(ours, theirs):
        return theirs
    if repo.is_ancestor(theirs, ours):
        return ours
    raise GitFailure(
        f"your {branch} and {remote}'s have parted (each has deploys the other lacks); "
        f"nothing was deployed. Compare them with `git log --graph {branch} {remote}/{branch}`."
    )
