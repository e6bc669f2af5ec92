"""``duologue verify``: the turn rules checked commit by commit, from git objects alone.

What is verified is a range of commits: the one given, the branch's commits its upstream
lacks, or (in a hook) what a push brings. Each commit is judged against its first parent
by ``duologue.verify_rules``; a push that rewrites published history is refused here, as
it is a rule about refs, not commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from duologue.errors import InvalidInput
from duologue.git.history import Commit, History
from duologue.git.repository import ZERO_SHA
from duologue.verify_rules import Violation, judge, whose_turn

HOOK_MODES = ("pre-push", "pre-receive", "pre-commit")
MAX_HOOK_LINES = 1000
"""Refs one push updates that verify reads at the most."""


@dataclass
class Report:
    """What one verify found."""

    checked: int = 0
    """Commits judged."""
    violations: list[Violation] = field(default_factory=list)
    turns: list[str] = field(default_factory=list)
    """Whose turn it is, for each series a violation names."""


@dataclass(frozen=True, slots=True)
class _Range:
    """Commits to judge (``git log`` arguments) and, for a push, the tip before it."""

    revisions: tuple[str, ...]
    before: str | None
    after: str
    published: bool
    """The ref is the branch the site is published from: its history is never rewritten."""


def verify_range(history: History, revisions: Iterable[str], prefix: str) -> Report:
    """Judge every commit ``git log <revisions>`` lists, oldest first."""
    report = Report()
    for commit in history.commits(*revisions):
        report.checked += 1
        report.violations += judge(history, commit, prefix)
    return report


def verify(history: History, revisions: tuple[str, ...] | None, prefix: str) -> Report:
    """``duologue verify [RANGE]``; without a range, the commits of the current branch its
    upstream lacks, or all of them without an upstream. (A branch that has parted from
    its upstream is not judged a rewrite here: a co-author's push does that too, and
    ``sync`` settles it; the hooks see the push that would rewrite.)"""
    base: str | None = None
    if revisions is None:
        if history.resolve("HEAD") is None:
            return Report()  # no commits yet: nothing to verify
        upstream = None if history.bare else history.upstream()
        if upstream is None:
            revisions = ("HEAD",)
        else:
            base = history.resolve(upstream)
            revisions = (f"{upstream}..HEAD",)
    report = verify_range(history, revisions, prefix)
    return _with_turns(history, report, prefix, base)


def verify_push(
    history: History, mode: str, stdin: str, env: Mapping[str, str], prefix: str
) -> Report:
    """What a hook's push brings: ``pre-push`` and ``pre-receive`` read their refs from
    ``stdin``, pre-commit's ``pre-push`` stage from its ``PRE_COMMIT_*`` variables."""
    ranges = _hook_ranges(history, mode, stdin, env)
    report = Report()
    base: str | None = None
    for pushed in ranges:
        if pushed.published:
            report.violations += _rewritten(history, pushed.before, pushed.after, pushed.after)
        part = verify_range(history, pushed.revisions, prefix)
        report.checked += part.checked
        report.violations += part.violations
        base = base or pushed.before
    return _with_turns(history, report, prefix, base)


def _hook_ranges(history: History, mode: str, stdin: str, env: Mapping[str, str]) -> list[_Range]:
    if mode == "pre-commit":
        # pre-commit's pre-push stage: the range of one pushed ref, in its variables.
        old = env.get("PRE_COMMIT_FROM_REF", "").strip()
        new = env.get("PRE_COMMIT_TO_REF", "").strip()
        if not new:
            raise InvalidInput(
                "verify --hook pre-commit runs in pre-commit's pre-push stage, which sets "
                "PRE_COMMIT_TO_REF (and PRE_COMMIT_FROM_REF); it is not set."
            )
        if new == ZERO_SHA:
            return []  # a deleted branch: pre-commit names no remote ref to judge it by
        branch = env.get("PRE_COMMIT_REMOTE_BRANCH", "").strip() or None
        published = branch is None or _published(history, branch, "pre-push")
        return [_push_range(history, old or ZERO_SHA, new, "--remotes", published)]
    lines = [line for line in stdin.splitlines() if line.strip()]
    if len(lines) > MAX_HOOK_LINES:
        raise InvalidInput(f"the push updates more than {MAX_HOOK_LINES} refs; push fewer at once.")
    ranges: list[_Range] = []
    for line in lines:
        words = line.split()
        if mode == "pre-push" and len(words) == 4:
            _local_ref, new, remote_ref, old = words
            ref = remote_ref
            others = "--remotes"
        elif mode == "pre-receive" and len(words) == 3:
            old, new, ref = words
            others = "--all"
        else:
            raise InvalidInput(
                f"verify --hook {mode} read a line it does not understand: {line[:80]!r}."
            )
        if not ref.startswith("refs/heads/"):
            continue  # tags, notes, duologue's own refs: no turns in them
        published = _published(history, ref, mode)
        if new == ZERO_SHA:
            if old != ZERO_SHA and published:
                ranges.append(_Range((), old, ZERO_SHA, published))
            continue
        ranges.append(_push_range(history, old, new, others, published))
    return ranges


def _published(history: History, ref: str, mode: str) -> bool:
    """Whether ``ref`` is the branch the site is published from: in a bare remote its
    ``HEAD``; pushing from a clone, the remote's default branch as the clone knows it
    (``refs/remotes/<remote>/HEAD``), else ``main`` or ``master``."""
    if mode == "pre-receive":
        head = history.current_branch()
        if head is not None and history.resolve(head) is None:
            # HEAD names a branch that does not exist (`git init --bare` without
            # init.defaultBranch says master): the usual names count as published.
            return ref in {head, "refs/heads/main", "refs/heads/master"}
        return head == ref
    return ref in history.remote_default_branches()


def _push_range(history: History, old: str, new: str, others: str, published: bool) -> _Range:
    if old == ZERO_SHA:
        # A new branch: what none of the refs already there holds. (In pre-receive, the
        # pushed refs are not updated yet, so --all is exactly what the remote had.)
        return _Range((new, "--not", others), None, new, published)
    if not history.has_object(old):
        # The remote's tip is unknown here (a pre-push after the co-author pushed): the
        # remote refuses a push that is not a fast-forward unless forced, and its own
        # hook judges a forced one; here, what the clone's remote refs lack is judged.
        return _Range((new, "--not", others), None, new, published)
    return _Range((f"{old}..{new}",), old, new, published)


def _rewritten(
    history: History, before: str | None, after: str | None, shown: str
) -> list[Violation]:
    """A push that is not a fast-forward of what was there (or deletes the branch)."""
    if before is None or after is None:
        return []
    if after == ZERO_SHA:
        commit = _commit(history, before)
        return [
            Violation(
                commit,
                "(branch)",
                "history-rewritten",
                "the push deletes the published branch; published history is never removed.",
            )
        ]
    if history.is_ancestor(before, after):
        return []
    commit = _commit(history, after)
    return [
        Violation(
            commit,
            "(history)",
            "history-rewritten",
            f"{shown} does not contain {before[:10]}, which was published: this rewrites "
            "published history (a force-push); run `duologue sync` and push on top of it "
            "instead.",
        )
    ]


def _commit(history: History, sha: str) -> Commit:
    found = history.commits("--no-walk", sha)
    return found[0] if found else Commit(sha, (), "", "", {})


def _with_turns(history: History, report: Report, prefix: str, base: str | None) -> Report:
    """Whose turn it is in each series a violation names, where the range started."""
    slugs: list[str] = []
    for violation in report.violations:
        parts = violation.path.split("/")
        if len(parts) >= 2 and parts[0] == "series" and parts[1] not in slugs:
            slugs.append(parts[1])
    rev = base
    judged = [v for v in report.violations if v.rule != "history-rewritten"]
    if judged:  # where the first broken commit started from
        first = judged[0].commit
        rev = first.parents[0] if first.parents else None
    if not slugs and report.violations and rev is not None:
        slugs = _series_at(history, rev, prefix)
    for slug in slugs:
        line = whose_turn(history, rev, prefix, slug) if rev else None
        if line is None and report.violations:
            line = f"{slug}: nobody has posted yet; its first author opens it."
        if line:
            report.turns.append(line)
    return report


def _series_at(history: History, rev: str, prefix: str) -> list[str]:
    return sorted(
        name
        for name, (mode, _sha) in history.entries(rev, prefix + "series").items()
        if mode == "040000"
    )


def workspace_prefix(history: History, start: Path) -> str:
    """Where the workspace around ``start`` lies in its repository: ``""`` at the top."""
    if history.top is None:
        return ""
    from duologue.workspace import find_root

    try:
        root = find_root(start)
    except Exception:
        return ""
    try:
        inside = root.resolve().relative_to(history.top.resolve()).as_posix()
    except ValueError:
        return ""
    return "" if inside == "." else inside + "/"
