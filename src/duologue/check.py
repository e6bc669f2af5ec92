"""``duologue check``: the whole workspace, read once, turned into a list of problems.

Loading rules live with the loaders (``workspace``, ``posts``); this module runs
them over every file, catching their errors as problems, and adds the rules that
need several files at once (numbering, replies, references, rotation).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from duologue.errors import CheckFailed, DuologueError
from duologue.files import relative
from duologue.links import find_references, reference_problem
from duologue.model import (
    POST_FILE_PATTERN,
    SLUG_PATTERN,
    Draft,
    Post,
    Problem,
    Series,
    Settings,
    post_name_problem,
)
from duologue.posts import read_draft, read_post
from duologue.turns import out_of_rotation
from duologue.workspace import (
    AUTHOR_KEYS,
    SERIES_FILE,
    SERIES_KEYS,
    SETTINGS_FILE,
    SETTINGS_KEYS,
    load_settings,
    parse_series,
    read_series_toml,
    read_settings_toml,
    unknown_keys,
)

if TYPE_CHECKING:  # GitPython stays out of import time
    from duologue.git.repository import AddedBy

IGNORED_NAMES = {".gitkeep", ".DS_Store"}

AddedLookup = Callable[[], "dict[str, AddedBy]"]
"""Path (relative to the root) → the commit that added it: who made it, whether it carried
Duologue-Forced or Duologue-Import."""


@dataclass
class _Findings:
    root: Path
    problems: list[Problem] = field(default_factory=list)

    def error(self, path: Path | str, message: str) -> None:
        self._add(path, "error", message)

    def warning(self, path: Path | str, message: str) -> None:
        self._add(path, "warning", message)

    def _add(self, path: Path | str, level: str, message: str) -> None:
        shown = relative(path, self.root) if isinstance(path, Path) else path
        prefix = f"{shown}: "
        # Loader messages already start with the path; do not say it twice.
        self.problems.append(Problem(shown, level, message.removeprefix(prefix)))


def check_clone(root: Path) -> list[Problem]:
    """``duologue check``: every problem in the workspace at ``root`` of a git clone, after
    an interrupted publish or sync is repaired, with the posts git records as forced
    (``Duologue-Forced``) not reported out of rotation. Refused when git keeps workspace
    files out of the work tree: what is not there cannot be checked."""
    from duologue.git.repository import added_by_lookup
    from duologue.git.sparse import refuse_hidden_files
    from duologue.git.transaction import repair_if_interrupted

    repair_if_interrupted(root)
    refuse_hidden_files(root, thorough=True)
    return check_workspace(root, added_by_lookup(root))


def verdict(problems: list[Problem]) -> str:
    """The line ``check`` ends with; raises ``CheckFailed`` (exit 1) when any is an error."""
    errors = sum(1 for problem in problems if problem.level == "error")
    if errors:
        raise CheckFailed(f"{errors} error(s) found; fix them and run `duologue check` again.")
    warned = f" ({len(problems)} warning(s))" if problems else ""
    return f"workspace is in order{warned}"


def check_workspace(
    root: Path, added_lookup: AddedLookup | None = None, now: datetime | None = None
) -> list[Problem]:
    """Every problem in the workspace at ``root``, in a stable order. ``now`` (default: the
    clock) is what a post's date may not lie more than ``FUTURE_TOLERANCE`` after."""
    found = _Findings(root)
    try:
        settings = load_settings(root)
    except DuologueError as error:
        found.error(SETTINGS_FILE, error.message)
        settings = Settings(root, "", "https://example.org/", ZoneInfo("UTC"), "UTC", "public")
    else:
        _check_unknown_keys(found, SETTINGS_FILE, _settings_keys(settings), SETTINGS_KEYS)

    _check_special_files(found, settings.series_dir)
    _check_special_files(found, settings.drafts_dir)
    _check_templates(found, root)

    all_series: dict[str, Series] = {}
    all_posts: dict[str, list[Post]] = {}
    turns_by_series: dict[str, set[int]] = {}
    for folder in _subfolders(found, settings.series_dir, "series"):
        series = _load_series(found, settings, folder.name)
        posts, turns = _load_posts(found, settings, folder, series)
        turns_by_series[folder.name] = turns
        if series is not None:
            all_series[folder.name] = series
            all_posts[folder.name] = posts

    added = added_lookup() if added_lookup and all_posts else {}
    for slug, series in all_series.items():
        posts = all_posts[slug]
        _check_authors(found, series, posts)
        _check_replies_and_dates(found, posts, turns_by_series[slug])
        _check_future_dates(found, posts, now or datetime.now(UTC))
        _check_bodies(found, posts)
        _check_references(found, turns_by_series, posts)
        late = [posts[i] for i in out_of_rotation(series.authors, [p.author for p in posts])]
        # A post after a broken one has no known predecessor: the broken one is reported already.
        parsed = {p.turn for p in posts}
        late = [
            p
            for p in late
            if series.author(p.author) is not None and (p.turn == 1 or p.turn - 1 in parsed)
        ]
        _check_committers(found, series, posts, added)
        for post in late:
            by = added.get(relative(post.path, root))
            if by is None or not (by.forced or by.imported):
                found.warning(
                    post.path,
                    f"turn {post.turn} by {post.author!r} is out of rotation (it was not their "
                    "turn) and its commit does not carry Duologue-Forced.",
                )

    for folder in _subfolders(found, settings.drafts_dir, "drafts"):
        _check_drafts(found, settings, folder, all_series.get(folder.name), turns_by_series)
    return sorted(found.problems, key=lambda p: (p.path, p.level, p.message))


def _check_committers(
    found: _Findings, series: Series, posts: list[Post], added: dict[str, AddedBy]
) -> None:
    """SPEC §7: a turn is committed by its post's author, unless the commit was forced (a
    post pushed with plain git by the other author would otherwise pass as theirs). A
    commit that added several posts at once is no turn but history brought in (an import,
    the sample workspace, an exchange older than duologue): ``verify`` refuses a new one
    without the ``Duologue-Import`` trailer, and its authorship is not a turn's."""
    for post in posts:
        by = added.get(relative(post.path, found.root))
        author = series.author(post.author)
        if by is None or author is None or by.forced or by.imported or by.posts != 1:
            continue
        if by.email.lower() != author.email.lower():
            found.error(
                post.path,
                f"its commit {by.short} was made by <{by.email}>, but the post is by "
                f"{author.name} <{author.email}>; a post is committed by its author (`duologue "
                "publish` does that). If it is not pushed yet, undo it with `git reset "
                "HEAD~1` and let its author publish it.",
            )


def _settings_keys(settings: Settings) -> dict[str, object]:
    return read_settings_toml(settings.root)


def _check_unknown_keys(
    found: _Findings, shown: str, data: dict[str, object], known: set[str]
) -> None:
    for key in unknown_keys(data, known):
        found.warning(shown, f"unknown setting `{key}` is ignored; check its spelling.")


def _check_special_files(found: _Findings, folder: Path) -> None:
    """Anything under ``folder`` that is not a regular file or a folder: never followed."""
    try:
        info = folder.lstat()
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(info.st_mode):
        found.error(folder, "must be a folder (not a link or a file); duologue does not follow it.")
        return
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        for name in [*dirnames, *filenames]:
            path = Path(dirpath) / name
            mode = path.lstat().st_mode
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                kind = "a symbolic link" if stat.S_ISLNK(mode) else "not a regular file"
                found.error(path, f"is {kind}; duologue reads only regular files, so remove it.")


def _check_templates(found: _Findings, root: Path) -> None:
    """``templates/`` comes with a co-author's push: no links or special files, and every
    template readable, parseable and free of sandbox escapes (``duologue.site.sandbox``)."""
    folder = root / "templates"
    if not folder.exists() and not folder.is_symlink():
        return
    _check_special_files(found, folder)
    from duologue.site.sandbox import template_problems  # Jinja: only with templates

    for shown, message in template_problems(root):
        found.error(shown, message)


def _subfolders(found: _Findings, folder: Path, what: str) -> list[Path]:
    if not folder.is_dir() or folder.is_symlink():
        return []
    result: list[Path] = []
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        path = Path(entry.path)
        if entry.name in IGNORED_NAMES or entry.is_symlink():
            continue
        if not entry.is_dir(follow_symlinks=False):
            found.warning(path, f"is not a {what} folder; duologue ignores it.")
        elif not SLUG_PATTERN.match(entry.name):
            found.error(
                path,
                f"{entry.name!r} is not a valid series slug; use lowercase letters, digits and "
                "hyphens (at most 64).",
            )
        else:
            result.append(path)
    return result


def _load_series(found: _Findings, settings: Settings, slug: str) -> Series | None:
    path = settings.series_dir / slug / SERIES_FILE
    if not path.exists() and not path.is_symlink():
        found.error(path, "is missing; every series folder needs a series.toml.")
        return None
    try:
        data = read_series_toml(settings, slug)
        series = parse_series(slug, data, relative(path, settings.root))
    except DuologueError as error:
        found.error(path, error.message)
        return None
    _check_unknown_keys(found, relative(path, settings.root), data, SERIES_KEYS)
    for index, entry in enumerate(data.get("authors", [])):
        if isinstance(entry, dict):
            for key in unknown_keys(entry, AUTHOR_KEYS):
                found.warning(path, f"authors[{index}]: unknown field `{key}` is ignored.")
    return series


def _load_posts(
    found: _Findings, settings: Settings, folder: Path, series: Series | None
) -> tuple[list[Post], set[int]]:
    """Posts that parse, and every turn number a post file name claims."""
    posts: list[Post] = []
    seen: dict[int, Path] = {}
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        path = Path(entry.path)
        if entry.name == SERIES_FILE or entry.name in IGNORED_NAMES or entry.is_symlink():
            continue
        if entry.is_dir(follow_symlinks=False) or not entry.is_file(follow_symlinks=False):
            if POST_FILE_PATTERN.match(entry.name):
                found.error(path, "is named like a post but is not a regular file; remove it.")
            continue
        match = POST_FILE_PATTERN.match(entry.name)
        if not match:
            if entry.name.endswith(".md"):
                found.error(path, post_name_problem(entry.name))
            else:
                found.warning(path, "is not a post; duologue ignores it.")
            continue
        turn = int(match["turn"])
        if turn in seen:
            found.error(
                path, f"turn {turn} is taken twice (also {relative(seen[turn], settings.root)})."
            )
        seen[turn] = path
        try:
            posts.append(read_post(path, folder.name, settings))
        except DuologueError as error:
            found.error(path, error.message)
    if seen:
        missing = first_gaps(sorted(seen), 11)
        if missing:
            shown = ", ".join(str(t) for t in missing[:10]) + (" ..." if len(missing) > 10 else "")
            found.error(folder, f"turns must run 1..{max(seen)} without gaps; missing: {shown}.")
    posts.sort(key=lambda p: (p.turn, p.path.name))
    return posts, set(seen)


def first_gaps(turns: list[int], limit: int) -> list[int]:
    """The first ``limit`` numbers missing from 1..max(turns) (sorted, unique), without
    building the whole range: a file named 20260105-… must not cost gigabytes."""
    gaps: list[int] = []
    expected = 1
    for turn in turns:
        while expected < turn and len(gaps) < limit:
            gaps.append(expected)
            expected += 1
        if len(gaps) >= limit:
            break
        expected = turn + 1
    return gaps


def _check_authors(found: _Findings, series: Series, posts: list[Post]) -> None:
    for post in posts:
        if series.author(post.author) is None:
            found.error(
                post.path,
                f"`author` {post.author!r} is not an author of this series "
                f"({', '.join(series.handles)}).",
            )


def _check_replies_and_dates(found: _Findings, posts: list[Post], turns: set[int]) -> None:
    """``turns`` holds every turn a file name claims: a broken post still exists."""
    previous: Post | None = None
    for post in posts:
        target = post.in_reply_to
        if target is not None and (target >= post.turn or target not in turns):
            why = "is not earlier" if target >= post.turn else "does not exist"
            found.error(post.path, f"`in_reply_to` names turn {target}, which {why}.")
        if target is None and post.turn > 1:
            found.warning(post.path, "`in_reply_to` is missing; say which turn this post answers.")
        if previous is not None and post.date < previous.date:
            found.error(
                post.path,
                f"`date` {post.date.isoformat()} is earlier than turn {previous.turn}'s "
                f"({previous.date.isoformat()}); dates must not go backwards.",
            )
        previous = post


FUTURE_TOLERANCE = timedelta(days=1)
"""How far past the clock a post's date may lie: time zones and a co-author's clock a few
hours off, never a post dated years ahead that every later turn would have to follow."""


def future_date_problem(moment: datetime, now: datetime) -> str | None:
    """The sentence for a date more than ``FUTURE_TOLERANCE`` after ``now``, or None."""
    if moment <= now + FUTURE_TOLERANCE:
        return None
    return (
        f"`date` {moment.isoformat()} lies more than a day in the future (it is "
        f"{now.astimezone(moment.tzinfo).replace(microsecond=0).isoformat()} now); every "
        "later turn would have to be dated after it, so correct it to the day the post was "
        "published and commit the fix."
    )


def _check_future_dates(found: _Findings, posts: list[Post], now: datetime) -> None:
    for post in posts:
        problem = future_date_problem(post.date, now)
        if problem:
            found.error(post.path, problem)


def _check_references(
    found: _Findings, turns_by_series: dict[str, set[int]], items: list[Post] | list[Draft]
) -> None:
    for item in items:
        if reference_problem(item.body) is not None:
            continue  # reported by _check_bodies
        for ref in find_references(item.body, item.series):
            if ref.series not in turns_by_series:
                found.error(
                    item.path, f"[[{ref.series}#{ref.turn}]] names a series that does not exist."
                )
            elif ref.turn not in turns_by_series[ref.series]:
                own = ref.series == item.series
                label = f"#{ref.turn}" if own else f"{ref.series}#{ref.turn}"
                found.error(
                    item.path, f"[[{label}]] points at turn {ref.turn}, which does not exist."
                )


def _check_drafts(
    found: _Findings,
    settings: Settings,
    folder: Path,
    series: Series | None,
    turns_by_series: dict[str, set[int]],
) -> None:
    if folder.name not in turns_by_series:
        found.error(folder, f"drafts for {folder.name!r}, but there is no series of that name.")
    drafts: list[Draft] = []
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        path = Path(entry.path)
        if entry.name in IGNORED_NAMES or not entry.is_file(follow_symlinks=False):
            continue
        if not entry.name.endswith(".md"):
            found.warning(path, "is not a draft (.md); duologue ignores it.")
            continue
        try:
            draft = read_draft(path, folder.name, settings)
        except DuologueError as error:
            found.error(path, error.message)
            continue
        drafts.append(draft)
        if series is not None and draft.author is not None and series.author(draft.author) is None:
            found.error(path, f"`author` {draft.author!r} is not an author of {series.slug!r}.")
        turns = turns_by_series.get(folder.name, set())
        if draft.in_reply_to is not None and draft.in_reply_to not in turns:
            found.error(
                path, f"`in_reply_to` names turn {draft.in_reply_to}, which does not exist."
            )
        if draft.extra_turn is not None:
            found.warning(path, "`turn` in a draft is ignored; publish assigns the turn.")
    _check_bodies(found, drafts, publishable=False)
    _check_references(found, turns_by_series, drafts)


def _check_bodies(
    found: _Findings, items: list[Post] | list[Draft], *, publishable: bool = True
) -> None:
    """Bodies the build would refuse (too many references; raw HTML that would cost nh3
    too much or lose text): errors for posts, warnings for drafts, not built yet."""
    report = found.error if publishable else found.warning
    for item in items:
        problem = reference_problem(item.body)
        if problem is None and "<" in item.body:
            from duologue.site.markdown import body_problem  # cmark and nh3: only then

            problem = body_problem(item.body)
        if problem is not None:
            report(item.path, problem)
