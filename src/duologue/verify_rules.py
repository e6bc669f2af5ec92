"""The turn rules of SPEC §7, one commit against its first parent, from git objects alone.

Only what a commit changes is read: its changed files, the folder listing of each series
it touches, that series' ``series.toml`` and latest post. A commit is then judged by the
same loaders ``check`` uses (``parse_post``, ``parse_series``, ``settings_from_toml``),
so a file verify accepts is one ``check`` accepts, and the cost of a commit never grows
with the history behind it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from duologue.errors import DuologueError
from duologue.files import decode_text
from duologue.git.history import MAX_BLOB_BYTES, REGULAR_FILE_MODES, Commit, History
from duologue.git.repository import TreeChange as Change
from duologue.links import find_references, reference_problem
from duologue.model import (
    POST_CONTENT_FIELDS,
    POST_FILE_PATTERN,
    POST_FIXED_FIELDS,
    SLUG_PATTERN,
    Post,
    Series,
    Settings,
    post_name_problem,
)
from duologue.posts import parse_draft, parse_post
from duologue.turns import next_author
from duologue.workspace import (
    SERIES_FILE,
    SETTINGS_FILE,
    parse_series,
    parse_toml,
    settings_from_toml,
)

IMPORT_TRAILER = "Duologue-Import"
GITLINK_MODE = "160000"
FORCED_TRAILER = "Duologue-Forced"


@dataclass(frozen=True, slots=True)
class Violation:
    """One rule one commit broke."""

    commit: Commit
    path: str
    rule: str
    message: str

    def line(self) -> str:
        return f"{self.commit.short} {self.commit.subject}: {self.path}: {self.message}"

    def as_json(self) -> dict[str, str]:
        return {
            "commit": self.commit.sha,
            "path": self.path,
            "rule": self.rule,
            "message": self.message,
        }


@dataclass
class _Judged:
    """One commit being judged: where its workspace lies and what it broke."""

    history: History
    commit: Commit
    parent: str | None
    prefix: str
    """The workspace's folder in the repository, ``""`` or ``"sub/"``."""
    found: list[Violation] = field(default_factory=list)
    _settings: dict[str, Settings | None] = field(default_factory=dict)
    _series: dict[tuple[str, str], Series | None] = field(default_factory=dict)

    def broke(self, path: str, rule: str, message: str) -> None:
        self.found.append(Violation(self.commit, path, rule, message))

    def text(self, sha: str, shown: str) -> str:
        return decode_text(self.history.blob(sha, shown), shown, MAX_BLOB_BYTES)

    def settings(self, rev: str | None) -> Settings | None:
        """The workspace settings at ``rev`` (None: before the first commit)."""
        key = rev or ""
        if key not in self._settings:
            self._settings[key] = self._read_settings(rev)
        return self._settings[key]

    def _read_settings(self, rev: str | None) -> Settings | None:
        if rev is None:
            return None
        entry = self.history.entry(rev, self.prefix + SETTINGS_FILE)
        if entry is None:
            return None
        root = Path("/", self.prefix)
        try:
            return settings_from_toml(
                root, parse_toml(self.text(entry[1], SETTINGS_FILE), SETTINGS_FILE)
            )
        except DuologueError:
            return None

    def series(self, rev: str | None, slug: str) -> Series | None:
        key = (rev or "", slug)
        if key not in self._series:
            self._series[key] = self._read_series(rev, slug)
        return self._series[key]

    def _read_series(self, rev: str | None, slug: str) -> Series | None:
        if rev is None:
            return None
        shown = f"series/{slug}/{SERIES_FILE}"
        entry = self.history.entry(rev, self.prefix + shown)
        if entry is None:
            return None
        try:
            return parse_series(slug, parse_toml(self.text(entry[1], shown), shown), shown)
        except DuologueError:
            return None


def judge(history: History, commit: Commit, prefix: str) -> list[Violation]:
    """What ``commit`` broke, against its first parent."""
    parent = commit.parents[0] if commit.parents else None
    judged = _Judged(history, commit, parent, prefix)
    changes = [c for c in history.changes(parent, commit.sha) if c.path.startswith(prefix)]
    settings = judged.settings(commit.sha)
    had_workspace = parent is not None and history.entry(parent, prefix + SETTINGS_FILE) is not None
    if settings is None:
        entry = history.entry(commit.sha, prefix + SETTINGS_FILE)
        if entry is None and not had_workspace:
            return []  # not a workspace (a deploy branch, say): nothing of duologue to judge
        _settings_file(judged, entry)
        return judged.found
    if len(commit.parents) > 1:
        _merge(judged, settings, changes)
        return judged.found
    by_series: dict[str, list[Change]] = {}
    for change in changes:
        local = change.path[len(prefix) :]
        parts = PurePosixPath(local).parts
        if change.new_mode == GITLINK_MODE:
            judged.broke(local, "check", "is a git submodule; a workspace holds only files.")
        elif local == SETTINGS_FILE:
            _settings_file(judged, history.entry(commit.sha, change.path))
        elif parts[0] == "series" and len(parts) >= 3:
            by_series.setdefault(parts[1], []).append(change)
        elif (
            parts[0] in ("series", "drafts")
            and change.new_sha
            and change.new_mode not in REGULAR_FILE_MODES
        ):
            judged.broke(
                local,
                "check",
                "is not a regular file (a link?); duologue reads only regular files.",
            )
        elif parts[0] == "drafts" and len(parts) >= 2:
            _draft(judged, settings, change, parts)
    for slug, series_changes in sorted(by_series.items()):
        _series_changes(judged, settings, slug, series_changes)
    return judged.found


def _merge(judged: _Judged, settings: Settings, changes: list[Change]) -> None:
    """A merge brings nothing of its own: its sides' commits are judged one by one (or were,
    when they reached the remote), so it must be exactly the automatic merge of its two
    sides. ``-s ours``, a resolved conflict or a third side could drop or change
    published posts unseen. Two posts left claiming one turn are a race it merged."""
    commit = judged.commit
    problem = None
    if len(commit.parents) != 2:
        problem = f"merges {len(commit.parents)} sides; a merge in a workspace joins two."
    else:
        merged = judged.history.merged_tree(*commit.parents)
        if merged is None:
            problem = (
                "merges two sides git cannot merge by itself (a conflict, or histories that "
                "share nothing); run `duologue sync` instead of a plain `git pull`."
            )
        elif merged != judged.history.tree_of(commit.sha):
            problem = (
                "is not the automatic merge of its two sides (a resolved conflict, `-s ours`, "
                "or a change of its own), so it could drop or change published posts; run "
                "`duologue sync` instead of a plain `git pull`."
            )
    if problem:
        judged.broke("(merge)", "merge", problem)
        return
    touched = {
        parts[1]
        for parts in (PurePosixPath(c.path[len(judged.prefix) :]).parts for c in changes)
        if len(parts) >= 3 and parts[0] == "series"
    }
    for slug in sorted(touched):
        _one_post_a_turn(judged, settings, slug)


def _settings_file(judged: _Judged, entry: tuple[str, str] | None) -> None:
    if entry is None:
        judged.broke(SETTINGS_FILE, "check", "duologue.toml was removed; every workspace needs it.")
        return
    if entry[0] not in REGULAR_FILE_MODES:
        judged.broke(
            SETTINGS_FILE,
            "check",
            "is not a regular file (a link?); duologue reads only regular files.",
        )
        return
    try:
        data = parse_toml(judged.text(entry[1], SETTINGS_FILE), SETTINGS_FILE)
        settings_from_toml(Path("/"), data)
    except DuologueError as error:
        judged.broke(SETTINGS_FILE, "check", error.message.removeprefix(f"{SETTINGS_FILE}: "))


def _draft(judged: _Judged, settings: Settings, change: Change, parts: tuple[str, ...]) -> None:
    shown = "/".join(parts)
    if change.new_sha is None or not shown.endswith(".md") or len(parts) != 3:
        return
    if change.new_mode not in REGULAR_FILE_MODES:
        judged.broke(shown, "check", "is not a regular file; duologue reads only regular files.")
        return
    try:
        parse_draft(judged.text(change.new_sha, shown), settings.root / shown, parts[1], settings)
    except DuologueError as error:
        judged.broke(shown, "check", error.message.removeprefix(f"{shown}: "))


@dataclass
class _SeriesAt:
    """One series at the parent: its posts by turn, the latest one read."""

    turns: dict[int, str]
    """Turn → file name."""
    latest: Post | None


def _posts_in(judged: _Judged, settings: Settings, rev: str | None, slug: str) -> _SeriesAt:
    if rev is None:
        return _SeriesAt({}, None)
    folder = f"{judged.prefix}series/{slug}"
    turns: dict[int, str] = {}
    shas: dict[int, str] = {}
    for name, (_mode, sha) in judged.history.entries(rev, folder).items():
        match = POST_FILE_PATTERN.match(name)
        if match:
            turns[int(match["turn"])] = name
            shas[int(match["turn"])] = sha
    latest = None
    if turns:
        top = max(turns)
        shown = f"series/{slug}/{turns[top]}"
        try:
            latest = parse_post(
                judged.text(shas[top], shown), settings.root / shown, slug, settings
            )
        except DuologueError:
            latest = None  # reported when the commit that made it was verified
    return _SeriesAt(turns, latest)


def _series_changes(judged: _Judged, settings: Settings, slug: str, changes: list[Change]) -> None:
    commit = judged.commit
    series = judged.series(commit.sha, slug)
    toml_shown = f"series/{slug}/{SERIES_FILE}"
    if not SLUG_PATTERN.match(slug):
        judged.broke(f"series/{slug}", "check", f"{slug!r} is not a valid series slug.")
        return
    for change in changes:
        if (
            change.path.endswith("/" + SERIES_FILE)
            and change.path.count("/") == judged.prefix.count("/") + 2
        ):
            _series_file(judged, slug, change, toml_shown)
    before = _posts_in(judged, settings, judged.parent, slug)
    added: list[tuple[Change, str]] = []
    for change in sorted(changes, key=lambda c: c.path):
        local = change.path[len(judged.prefix) :]
        parts = local.split("/")
        if len(parts) != 3 or parts[2] == SERIES_FILE:
            if len(parts) > 3 and change.new_sha is not None:
                judged.broke(
                    local,
                    "check",
                    "lies in a folder inside a series folder, which duologue does not read.",
                )
            continue
        name = parts[2]
        if not name.endswith(".md"):
            continue
        if not POST_FILE_PATTERN.match(name):
            if change.new_sha is not None:
                judged.broke(local, "check", post_name_problem(name))
            continue
        if change.new_sha is not None and change.new_mode not in REGULAR_FILE_MODES:
            judged.broke(
                local,
                "check",
                "is not a regular file (a link?); duologue reads only regular files.",
            )
            continue
        if change.old_sha is None:
            added.append((change, local))
        elif change.new_sha is None:
            judged.broke(
                local,
                "published-post-removed",
                "a published post is never deleted or renamed; retract it with "
                "`duologue retract` instead.",
            )
        else:
            _edited_post(judged, settings, slug, change, local)
    if not added:
        return
    if series is None:
        judged.broke(
            toml_shown,
            "check",
            "is missing or invalid, so the posts added to its series cannot be checked.",
        )
        return
    imported = IMPORT_TRAILER in commit.trailers
    if len(added) > 1 and not imported:
        judged.broke(
            f"series/{slug}",
            "one-post",
            f"the commit adds {len(added)} posts; a turn adds exactly one post.",
        )
        return
    latest_turn = max(before.turns, default=0)
    previous = before.latest
    known = set(before.turns)  # and, in an import, the posts it added before this one
    after = known | {
        int(m["turn"])
        for m in (POST_FILE_PATTERN.match(c.path.rsplit("/", 1)[-1]) for c, _ in added)
        if m
    }
    for offset, (change, local) in enumerate(added, start=1):
        post = _added_post(judged, settings, slug, change, local)
        if post is None:
            continue
        expected_turn = latest_turn + offset
        if post.turn != expected_turn:
            taken = post.turn in before.turns
            why = f"turn {post.turn} is taken" if taken else f"the latest turn is {latest_turn}"
            judged.broke(
                local,
                "turn-number",
                f"it adds turn {post.turn}, but {why}; the next post is turn {expected_turn}.",
            )
            continue
        _added_post_rules(judged, series, post, previous, local, imported, (known, after), slug)
        known.add(post.turn)
        previous = post


def _series_file(judged: _Judged, slug: str, change: Change, shown: str) -> None:
    if change.new_sha is None:
        judged.broke(shown, "check", "was removed; every series folder needs its series.toml.")
        return
    if change.new_mode not in REGULAR_FILE_MODES:
        judged.broke(
            shown, "check", "is not a regular file (a link?); duologue reads only regular files."
        )
        return
    try:
        parse_series(slug, parse_toml(judged.text(change.new_sha, shown), shown), shown)
    except DuologueError as error:
        judged.broke(shown, "check", error.message.removeprefix(f"{shown}: "))
        return
    old = judged.series(judged.parent, slug)
    new = judged.series(judged.commit.sha, slug)
    if old is None or new is None:
        return
    if old.id != new.id:
        judged.broke(
            shown,
            "series-id",
            f"`id` changed from {old.id!r} to {new.id!r}; a series id never changes, or "
            "every feed reader shows its posts again.",
        )
    settings = judged.settings(judged.commit.sha)
    if settings is None or not _posts_in(judged, settings, judged.parent, slug).turns:
        return  # no turn taken yet: the authors may still be anyone, in any order
    kept = new.handles[: len(old.handles)]
    if kept != old.handles:
        judged.broke(
            shown,
            "series-authors",
            f"the authors {', '.join(old.handles)} became {', '.join(new.handles)}; authors "
            "keep their handles and their turn order (add a new author at the end), or the "
            "turns already taken would belong to someone else.",
        )
        return
    for before in old.authors:
        after = new.author(before.handle)
        changed = after is not None and after.email.lower() != before.email.lower()
        if changed and judged.commit.author_email.lower() != before.email.lower():
            assert after is not None
            judged.broke(
                shown,
                "series-authors",
                f"{before.handle}'s e-mail changed from {before.email} to {after.email} in "
                f"a commit by <{judged.commit.author_email}>; only {before.name} changes "
                "their own e-mail (it is how git tells who wrote a turn).",
            )


def _added_post(
    judged: _Judged, settings: Settings, slug: str, change: Change, local: str
) -> Post | None:
    assert change.new_sha is not None
    try:
        post = parse_post(judged.text(change.new_sha, local), settings.root / local, slug, settings)
    except DuologueError as error:
        judged.broke(local, "check", error.message.removeprefix(f"{local}: "))
        return None
    if post.withdrawn is not None:
        judged.broke(
            local, "check", "a post is published before it is withdrawn, not withdrawn already."
        )
        return None
    return post


def _added_post_rules(
    judged: _Judged,
    series: Series,
    post: Post,
    previous: Post | None,
    local: str,
    imported: bool,
    turns: tuple[set[int], set[int]],
    slug: str,
) -> None:
    """``turns``: those before this post (what it may answer), and those after the commit
    (what its references may name: an import's posts reference each other)."""
    commit = judged.commit
    known, after = turns
    author = series.author(post.author)
    if author is None:
        judged.broke(
            local,
            "check",
            f"`author` {post.author!r} is not an author of this series ({', '.join(series.handles)}).",
        )
        return
    if not imported:
        due = next_author(series.authors, previous.author if previous else None)
        if due.handle != post.author and commit.trailers.get(FORCED_TRAILER, "").lower() != "true":
            judged.broke(
                local,
                "turn-order",
                f"turn {post.turn} is by {post.author}, but it was {due.name}'s ({due.handle}) "
                "turn; publish in turn, or with `duologue publish --force`.",
            )
        if commit.author_email.lower() != author.email.lower():
            judged.broke(
                local,
                "commit-author",
                f"the commit's author is <{commit.author_email}>, but turn {post.turn} is by "
                f"{author.name} <{author.email}>; a post is committed by its author.",
            )
    if post.in_reply_to is not None and (
        post.in_reply_to >= post.turn or post.in_reply_to not in known
    ):
        judged.broke(
            local, "check", f"`in_reply_to` names turn {post.in_reply_to}, which does not exist."
        )
    if previous is not None and post.date < previous.date:
        judged.broke(
            local,
            "check",
            f"`date` {post.date.isoformat()} is earlier than turn {previous.turn}'s "
            f"({previous.date.isoformat()}); dates must not go backwards.",
        )
    from duologue.check import future_date_problem

    problem = future_date_problem(post.date, datetime.now(UTC))
    if problem:
        judged.broke(local, "check", problem)
    _references(judged, post, local, after, slug)


def _references(judged: _Judged, post: Post, local: str, own_turns: set[int], slug: str) -> None:
    problem = reference_problem(post.body)
    if problem:
        judged.broke(local, "check", problem)
        return
    other_turns: dict[str, set[int]] = {}
    for ref in find_references(post.body, slug):
        if ref.series == slug:
            if ref.turn not in own_turns:
                judged.broke(
                    local,
                    "check",
                    f"[[#{ref.turn}]] points at turn {ref.turn}, which does not exist.",
                )
            continue
        if ref.series not in other_turns:
            names = judged.history.entries(judged.commit.sha, f"{judged.prefix}series/{ref.series}")
            other_turns[ref.series] = {
                int(m["turn"]) for m in map(POST_FILE_PATTERN.match, names) if m
            }
        if ref.turn not in other_turns[ref.series]:
            judged.broke(
                local, "check", f"[[{ref.series}#{ref.turn}]] points at a post that does not exist."
            )


def _edited_post(
    judged: _Judged, settings: Settings, slug: str, change: Change, local: str
) -> None:
    """A published post changed: only ``amend`` and ``retract`` edits are accepted."""
    assert change.old_sha is not None and change.new_sha is not None
    try:
        old = parse_post(judged.text(change.old_sha, local), settings.root / local, slug, settings)
    except DuologueError:
        old = None  # it was broken before: judged by the commit that broke it
    try:
        new = parse_post(judged.text(change.new_sha, local), settings.root / local, slug, settings)
    except DuologueError as error:
        judged.broke(local, "check", error.message.removeprefix(f"{local}: "))
        return
    if old is None:
        return
    fixed = [name for name in POST_FIXED_FIELDS if getattr(old, name) != getattr(new, name)]
    if fixed:
        judged.broke(
            local,
            "published-post-changed",
            f"changes {', '.join(f'`{name}`' for name in fixed)} of a published post, which "
            "never change; correct the text with `duologue amend` instead.",
        )
        return
    series = judged.series(judged.commit.sha, slug)
    writer = series.author(new.author) if series else None
    if writer is not None and judged.commit.author_email.lower() != writer.email.lower():
        judged.broke(
            local,
            "commit-author",
            f"the commit's author is <{judged.commit.author_email}>, but turn {new.turn} is by "
            f"{writer.name} <{writer.email}>; only a post's author amends or retracts it.",
        )
    if old.withdrawn is not None:
        if new != old:
            judged.broke(
                local,
                "published-post-changed",
                "the post is withdrawn; a withdrawn post changes no more.",
            )
        return
    from duologue.check import future_date_problem

    for moment in (new.updated, new.withdrawn):
        problem = None if moment is None else future_date_problem(moment, datetime.now(UTC))
        if problem:
            judged.broke(local, "check", problem.replace("`date`", "`updated`/`withdrawn`", 1))
            return
    if new.withdrawn is not None:
        # retract: `withdrawn` set and the body emptied (parse_post holds it to that); the
        # rest stays as it was, so the page keeps the title its references show.
        kept = [
            name
            for name in POST_CONTENT_FIELDS
            if name != "body" and getattr(old, name) != getattr(new, name)
        ]
        if kept:
            judged.broke(
                local,
                "published-post-changed",
                f"withdraws the post and changes {', '.join(f'`{n}`' for n in kept)}; a "
                "retract changes nothing else (use `duologue retract`).",
            )
        return
    content = [name for name in POST_CONTENT_FIELDS if getattr(old, name) != getattr(new, name)]
    if content and (
        new.updated is None or (old.updated is not None and new.updated <= old.updated)
    ):
        judged.broke(
            local,
            "published-post-changed",
            f"changes {', '.join(f'`{name}`' for name in content)} of a published post "
            "without a later `updated` date; correct a post with `duologue amend`.",
        )
    elif old.updated is not None and (new.updated is None or new.updated < old.updated):
        judged.broke(local, "published-post-changed", "moves `updated` of a published post back.")
    if new.body != old.body:
        turns = set(_posts_in(judged, settings, judged.commit.sha, slug).turns)
        _references(judged, new, local, turns, slug)


def _one_post_a_turn(judged: _Judged, settings: Settings, slug: str) -> None:
    """After a merge: two posts claiming one turn are a race a plain ``git pull`` merged."""
    seen: dict[int, str] = {}
    for name in sorted(judged.history.entries(judged.commit.sha, f"{judged.prefix}series/{slug}")):
        match = POST_FILE_PATTERN.match(name)
        if not match:
            continue
        turn = int(match["turn"])
        if turn in seen:
            judged.broke(
                f"series/{slug}/{name}",
                "one-post-a-turn",
                f"this merge leaves two posts with turn {turn} ({seen[turn]} and {name}); run "
                "`duologue sync` instead of a plain `git pull`, and it keeps the one that "
                "reached the remote first.",
            )
        seen[turn] = name


def whose_turn(history: History, rev: str | None, prefix: str, slug: str) -> str | None:
    """A sentence saying whose turn it is in ``slug`` at ``rev``."""
    judged = _Judged(history, Commit("", (), "", "", {}), rev, prefix)
    settings = judged.settings(rev)
    series = judged.series(rev, slug)
    if settings is None or series is None:
        return None
    state = _posts_in(judged, settings, rev, slug)
    latest = state.latest
    due = next_author(series.authors, latest.author if latest else None)
    number = max(state.turns, default=0) + 1
    return f"{slug}: it is {due.name}'s ({due.handle}) turn, for turn {number}."
