"""Edges of reading a workspace, as a user or a co-author's push reaches them.

Every case is a real git workspace in ``tmp_path``, broken by hand the way a co-author's
push or a hand edit would break it, then read by the real CLI: in-process through
Typer's ``CliRunner`` (``check --json``) or as a subprocess (``run_duologue``) where the
exact stderr line, the exit code or the process's own argv matters.

- settings and series files: each wrong value is one ``error: <file>: …`` sentence from
  every command, and the same finding (file, level, message) from ``check``;
- ``check``'s findings for stray files, a ``turn`` in a draft, unknown author fields;
- ``[[#N]]`` inside code at the very edges of a body (a fence closing or opening on the
  last line, a long backtick run, an indented block beside a fence);
- hidden characters shown as escapes, beyond the BMP and as bytes that are not UTF-8;
- ``draft``, ``init``, ``series new`` and ``publish`` refusals and notes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from duologue.check import check_workspace
from duologue.cli import app
from duologue.git.repository import added_by_lookup
from duologue.model import Author, Series
from duologue.scaffold import series_text as duologue_series_text
from duologue.workspace import parse_series
from tests.cli.workspaces import (
    commit_all,
    make_workspace,
    sample_workspace,
    write_draft,
    write_series,
)
from tests.helpers import git, run_duologue

S = "series/slow-work"
P2, P3 = f"{S}/0002-letter-2.md", f"{S}/0003-letter-3.md"
SERIES_TOML = f"{S}/series.toml"
SETTINGS = "duologue.toml"

Finding = tuple[str, str, str]


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    """Series ``slow-work`` (ana, ben) with three letters: ana, ben, ana."""
    return sample_workspace(tmp_path / "ws", posts=3)


def edit(root: Path, relative: str, old: str, new: str) -> None:
    path = root / relative
    text = path.read_text(encoding="utf-8")
    assert old in text, (old, text)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def check_json(root: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[int, list[Finding]]:
    """``duologue check --json`` in-process: its exit code and its findings."""
    monkeypatch.chdir(root)
    result = CliRunner().invoke(app, ["check", "--json"])
    assert "Traceback" not in result.output
    rows = json.loads(result.stdout)
    return result.exit_code, [(r["path"], r["level"], r["message"]) for r in rows]


def one_error_line(result: subprocess.CompletedProcess[str], expected: str) -> None:
    """A refusal: exit 1, nothing on stdout, exactly ``expected`` (one line) on stderr."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert result.stderr == expected + "\n"
    assert "Traceback" not in result.stderr


def oversized(path: Path, size: int) -> None:
    """``path``'s TOML padded with a comment to exactly ``size`` bytes."""
    text = path.read_text(encoding="utf-8") + "# "
    path.write_text(text + "x" * (size - len(text) - 1) + "\n", encoding="utf-8")
    assert path.stat().st_size == size


# -- duologue.toml and series.toml: one sentence naming the file and the field -------------

SETTINGS_CASES: list[tuple[str, Callable[[Path], object], str]] = [
    (
        "title is a number",
        lambda root: edit(root, SETTINGS, 'title = "Test dialogues"', "title = 5"),
        "`title` must be a string, not int.",
    ),
    (
        "base_url port is not a number",
        lambda root: edit(root, SETTINGS, "https://example.org/", "https://example.org:abc/"),
        "`base_url` must be an absolute http(s) URL of scheme, host and path only, like "
        "https://example.org/blog/; 'https://example.org:abc/' has a host or port that is "
        "not valid.",
    ),
    (
        "base_url port 0",
        lambda root: edit(root, SETTINGS, "https://example.org/", "https://example.org:0/"),
        "`base_url` must be an absolute http(s) URL of scheme, host and path only, like "
        "https://example.org/blog/; 'https://example.org:0/' has port 0.",
    ),
    (
        "output is series/",
        lambda root: edit(root, SETTINGS, 'output = "public"', 'output = "series"'),
        "`output` 'series' must be a folder inside the workspace other than series/, "
        'drafts/ or .git/, like "public".',
    ),
    (
        "not UTF-8",
        lambda root: (root / SETTINGS).write_bytes(
            (root / SETTINGS).read_bytes().replace(b"Test dialogues", b"Caf\xe9 dialogues")
        ),
        "is not UTF-8 (bad byte on line 1); save it as UTF-8.",
    ),
    (
        "larger than 256 KiB",
        lambda root: oversized(root / SETTINGS, 256 * 1024 + 1),
        "is 262,145 bytes, more than the 262,144 duologue reads; split it or trim it.",
    ),
]


@pytest.mark.parametrize(
    ("build", "message"),
    [(build, message) for _, build, message in SETTINGS_CASES],
    ids=[name for name, _, _ in SETTINGS_CASES],
)
def test_a_bad_setting_is_one_finding_and_one_error_line(
    ws: Path, monkeypatch: pytest.MonkeyPatch, build: Callable[[Path], object], message: str
) -> None:
    build(ws)
    code, found = check_json(ws, monkeypatch)
    assert (code, found) == (1, [(SETTINGS, "error", message)])
    one_error_line(run_duologue(ws / "series", "status"), f"error: {SETTINGS}: {message}")


AUTHORS_AS_STRINGS = (
    'title = "Slow Work"\nid = "tag:example.org,2026-01-01:slow-work"\nauthors = ["ana", "ben"]\n'
)
NO_AUTHORS = 'title = "Slow Work"\nid = "tag:example.org,2026-01-01:slow-work"\n'

SERIES_CASES: list[tuple[str, Callable[[Path], object], str]] = [
    (
        "title only spaces",
        lambda root: edit(root, SERIES_TOML, 'title = "Slow Work"', 'title = "   "'),
        "`title` is empty; give it a value.",
    ),
    (
        "author url not http(s)",
        lambda root: edit(
            root,
            SERIES_TOML,
            'email = "ana@example.com"',
            'email = "ana@example.com"\nurl = "ftp://ana.example/"',
        ),
        "authors[0]: `url` must be an absolute http(s) URL like https://example.org/, not "
        "'ftp://ana.example/'.",
    ),
    (
        "authors are strings, not tables",
        lambda root: write(root, SERIES_TOML, AUTHORS_AS_STRINGS),
        "authors[0] must be a table with handle, name and email.",
    ),
    (
        "id is not a URI",
        lambda root: edit(
            root, SERIES_TOML, 'id = "tag:example.org,2026-01-01:slow-work"', 'id = "slow-work"'
        ),
        "`id` 'slow-work' is not a URI like tag:example.org,2026-01-01:slow-work.",
    ),
    (
        "no authors at all",
        lambda root: write(root, SERIES_TOML, NO_AUTHORS),
        "`authors` is missing; add at least two [[authors]] tables.",
    ),
]


@pytest.mark.parametrize(
    ("build", "message"),
    [(build, message) for _, build, message in SERIES_CASES],
    ids=[name for name, _, _ in SERIES_CASES],
)
def test_a_bad_series_toml_is_one_finding_and_one_error_line(
    ws: Path, monkeypatch: pytest.MonkeyPatch, build: Callable[[Path], object], message: str
) -> None:
    build(ws)
    code, found = check_json(ws, monkeypatch)
    assert (code, found) == (1, [(SERIES_TOML, "error", message)])
    one_error_line(run_duologue(ws, "log", "slow-work"), f"error: {SERIES_TOML}: {message}")


def test_an_unknown_author_field_is_a_warning_and_nothing_more(
    ws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    edit(ws, SERIES_TOML, 'email = "ben@example.com"', 'email = "ben@example.com"\nwebsite = "x"')
    code, found = check_json(ws, monkeypatch)
    assert (code, found) == (
        0,
        [(SERIES_TOML, "warning", "authors[1]: unknown field `website` is ignored.")],
    )
    status = run_duologue(ws, "status", "slow-work", "--as", "ben", "--json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)[0]["your_turn"] is True


# -- check: stray files, drafts, front matter ------------------------------------------------

CHECK_CASES: list[tuple[str, Callable[[Path], object], list[Finding]]] = [
    (
        "a file directly under series/",
        lambda root: write(root, "series/README.md", "About the series.\n"),
        [("series/README.md", "warning", "is not a series folder; duologue ignores it.")],
    ),
    (
        "a file in drafts/<series>/ that is not .md",
        lambda root: write(root, "drafts/slow-work/notes.txt", "ideas\n"),
        [("drafts/slow-work/notes.txt", "warning", "is not a draft (.md); duologue ignores it.")],
    ),
    (
        "a draft with a turn",
        lambda root: write_draft(
            root, "slow-work", "reply", "---\ntitle: Re\nauthor: ben\nturn: 4\n---\nAna,\n"
        ),
        [
            (
                "drafts/slow-work/reply.md",
                "warning",
                "`turn` in a draft is ignored; publish assigns the turn.",
            )
        ],
    ),
    (
        "front matter that is only a YAML null",
        lambda root: write(root, P2, "---\n~\n---\nAna,\n\nturn 2.\n"),
        [(P2, "error", "`turn` is missing from the front matter; add turn: 2.")],
    ),
    (
        # `on` is a YAML 1.1 boolean: the key is True, not text, and the post still reads.
        "a front-matter key YAML reads as a boolean",
        lambda root: edit(root, P2, "author: ben", "author: ben\non: monday"),
        [],
    ),
    (
        "three hundred extra front-matter keys",
        lambda root: edit(
            root, P2, "author: ben", "author: ben\n" + "\n".join(f"k{i}: v{i}" for i in range(300))
        ),
        [],
    ),
]


@pytest.mark.parametrize(
    ("build", "expected"),
    [(build, expected) for _, build, expected in CHECK_CASES],
    ids=[name for name, _, _ in CHECK_CASES],
)
def test_check_finds_exactly(
    ws: Path,
    monkeypatch: pytest.MonkeyPatch,
    build: Callable[[Path], object],
    expected: list[Finding],
) -> None:
    build(ws)
    code, found = check_json(ws, monkeypatch)
    assert found == expected
    assert code == (1 if any(level == "error" for _, level, _ in expected) else 0)


def test_a_folder_inside_a_series_folder_is_not_an_error(
    ws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(ws, f"{S}/images/cover.png", "not really a png\n")
    commit_all(ws, "an image folder")
    code, found = check_json(ws, monkeypatch)
    assert code == 0, found
    assert [f for f in found if f[1] == "error"] == []
    log = run_duologue(ws, "log", "slow-work", "--json")
    assert [row["turn"] for row in json.loads(log.stdout)] == [1, 2, 3]


def test_a_workspace_without_series_or_drafts_folders(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    shutil.rmtree(root / "series")
    shutil.rmtree(root / "drafts")
    checked = run_duologue(root, "check")
    assert (checked.returncode, checked.stdout, checked.stderr) == (
        0,
        "workspace is in order\n",
        "",
    )
    for args in (("series", "list"), ("status",)):
        result = run_duologue(root, *args)
        assert result.returncode == 0, result.stderr
        assert result.stdout == "no series yet; start one with `duologue series new`\n"
    listed = run_duologue(root, "series", "list", "--json")
    assert json.loads(listed.stdout) == []


def test_problems_read_as_check_prints_them(ws: Path) -> None:
    edit(ws, P3, "in_reply_to: 2", "in_reply_to: 9")
    write(ws, "series/README.md", "About.\n")
    problems = check_workspace(ws, added_by_lookup(ws))
    assert [str(p) for p in problems] == [
        "series/README.md: warning: is not a series folder; duologue ignores it.",
        f"{P3}: error: `in_reply_to` names turn 9, which is not earlier.",
    ]
    printed = run_duologue(ws, "check")
    assert printed.stdout.splitlines()[:2] == [str(p) for p in problems]


# -- [[#N]] inside code at the edges of a body ------------------------------------------------

MISSING_7: Finding = (P3, "error", "[[#7]] points at turn 7, which does not exist.")


@pytest.mark.parametrize(
    "body",
    [
        # the closing fence is the body's last line: no line break after it
        "Ben,\n\nSee [[#7]].\n\n```\n[[#8]]\n```",
        # a run of four backticks in the middle of a line: a code span, not a fence
        "Ben,\n\nSee [[#7]] and ````[[#8]]```` here.",
        # an opening fence on the last line, its info string the only thing after it
        "Ben,\n\nSee [[#7]].\n\n```[[#8]]",
        # an indented block after a fence whose content is indented too
        "Ben,\n\nSee [[#7]].\n\n```\n    [[#8]]\n```\n\n    [[#9]]\n\nBye.",
    ],
    ids=["fence-closes-last", "long-backtick-run", "fence-opens-last", "indent-after-fence"],
)
def test_references_in_code_at_the_edges_are_not_references(
    ws: Path, monkeypatch: pytest.MonkeyPatch, body: str
) -> None:
    edit(ws, P3, "Dear friend,\n\nThis is turn 3.", body)
    code, found = check_json(ws, monkeypatch)
    assert (code, found) == (1, [MISSING_7])


# -- hidden characters, shown as escapes --------------------------------------------------------


def test_a_character_beyond_the_bmp_is_escaped_in_text_and_in_json(
    ws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = "x\U000e0001"  # U+E0001 LANGUAGE TAG: a format character, invisible
    (ws / "series" / name).mkdir()
    printed = run_duologue(ws, "check")
    assert printed.returncode == 1
    assert printed.stdout.splitlines() == [
        "series/x\\U000e0001: error: 'x\\U000e0001' is not a valid series slug; use "
        "lowercase letters, digits and hyphens (at most 64)."
    ]
    raw = run_duologue(ws, "check", "--json").stdout
    assert "\U000e0001" not in raw
    assert '"series/x\\udb40\\udc01"' in raw  # JSON's surrogate pair for U+E0001
    assert [r["path"] for r in json.loads(raw)] == [f"series/{name}"]


@pytest.mark.parametrize(
    ("title", "described"),
    [
        ("Re: caf\udcff", "the byte 0xFF, which is not UTF-8"),  # argv that is not UTF-8
        ("\u200dRe: hello", "U+200D (ZERO WIDTH JOINER)"),  # a joiner that joins nothing
        ("Re: hello\u200c", "U+200C (ZERO WIDTH NON-JOINER)"),
    ],
    ids=["byte-not-utf8", "joiner-first", "non-joiner-last"],
)
def test_draft_refuses_a_title_with_a_hidden_character(
    ws: Path, title: str, described: str
) -> None:
    result = run_duologue(ws, "draft", "slow-work", "--as", "ben", "--no-edit", "--title", title)
    one_error_line(
        result,
        f"error: `--title` contains {described}, a control or invisible character that can "
        "disguise what the text says; remove it.",
    )
    assert not (ws / "drafts" / "slow-work").exists()


# -- draft, init, log ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ("--as", "zed"),
            "error: 'zed' (from --as) is not an author of series 'slow-work'; use one of: "
            "ana, ben.",
        ),
        (
            ("--as", "ben", "--title", "   "),
            "error: --title is empty; give the draft a title or leave the option out.",
        ),
        (
            ("--as", "ben", "--title", "Re:\tyours"),
            "error: --title contains control characters or line breaks; use plain text.",
        ),
    ],
    ids=["unknown-handle", "blank-title", "tab-in-title"],
)
def test_draft_refusals(ws: Path, args: tuple[str, ...], expected: str) -> None:
    one_error_line(run_duologue(ws, "draft", "slow-work", "--no-edit", *args), expected)
    assert not (ws / "drafts" / "slow-work").exists()


def draft_reply_to(ws: Path, body: str) -> str:
    edit(ws, P3, "Dear friend,\n\nThis is turn 3.", body)
    commit_all(ws, "turn 3 as ana wrote it")
    result = run_duologue(ws, "draft", "slow-work", "--as", "ben", "--no-edit")
    assert result.returncode == 0, result.stderr
    (draft,) = (ws / "drafts" / "slow-work").iterdir()
    return draft.read_text(encoding="utf-8")


def test_draft_thanks_for_a_post_that_is_only_code_and_a_table(ws: Path) -> None:
    text = draft_reply_to(ws, "```\nmake quiet\n```\n\n| day | meetings |\n|---|---|\n| Mon | 0 |")
    assert "Ana,\n\nThank you for [[#3]].\n\nWrite your answer here." in text
    assert "You closed" not in text


def test_draft_does_not_quote_an_indented_code_block(ws: Path) -> None:
    text = draft_reply_to(
        ws,
        "Ben,\n\nHere is what I run every morning before the standup meeting.\n\n"
        "    $ curl https://example.org/standup?skip=1",
    )
    assert "> $ curl" not in text
    assert (
        "You closed [[#3]] with:\n\n"
        "> Here is what I run every morning before the standup meeting.\n\n"
    ) in text


def test_draft_quotes_the_last_paragraph_longer_than_a_sign_off(ws: Path) -> None:
    text = draft_reply_to(
        ws,
        "Ben,\n\nI have been keeping my mornings free of meetings for a month now.\n\n"
        "Warm regards, Ana",
    )
    assert (
        "You closed [[#3]] with:\n\n"
        "> I have been keeping my mornings free of meetings for a month now.\n\n"
    ) in text


def test_init_refuses_a_path_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "letters").write_text("not a folder\n")
    result = run_duologue(tmp_path, "init", "letters", "--title", "Letters")
    one_error_line(
        result, "error: letters is a file, not a folder; choose a folder for the workspace."
    )
    assert (tmp_path / "letters").read_text() == "not a folder\n"


def test_log_of_a_series_without_posts(tmp_path: Path) -> None:
    root = sample_workspace(tmp_path / "ws", posts=0)
    result = run_duologue(root, "log", "slow-work")
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        "slow-work has no posts yet\n",
        "",
    )


# -- hooks: what they say is shown, what they leave is kept ------------------------------------


def install_hook(root: Path, name: str, script: str) -> None:
    hook = root / ".git" / "hooks" / name
    hook.parent.mkdir(parents=True, exist_ok=True)
    hook.write_text("#!/bin/sh\n" + script, encoding="utf-8")
    hook.chmod(0o755)


def test_publish_shows_what_the_post_commit_hook_says(ws: Path) -> None:
    install_hook(ws, "post-commit", "echo 'post-commit: mirrored to the archive'\n")
    write_draft(ws, "slow-work", "reply", "---\ntitle: Re\nauthor: ben\n---\nAna,\n\nYes.\n")
    result = run_duologue(ws, "publish", "slow-work", "--as", "ben")
    assert result.returncode == 0, result.stderr
    assert result.stderr == "post-commit: mirrored to the archive\n"
    assert result.stdout.startswith('published slow-work #4 "Re" as series/slow-work/0004-reply.md')


def test_series_new_keeps_what_a_refusing_hook_left_in_the_folder(ws: Path) -> None:
    install_hook(
        ws,
        "pre-commit",
        "mkdir -p series/deep-work && echo draft > series/deep-work/NOTES\n"
        "echo 'pre-commit: no new series on Fridays'\nexit 1\n",
    )
    head = git(ws, "rev-parse", "HEAD")
    result = run_duologue(
        ws,
        "series",
        "new",
        "deep-work",
        "--title",
        "Deep Work",
        "--author",
        "ana:Ana Lima <ana@example.com>",
        "--author",
        "ben:Ben Okafor <ben@example.com>",
    )
    assert result.returncode == 1
    assert result.stderr.startswith(
        "error: the pre-commit hook refused the commit (exit status 1), so nothing was "
        "changed; fix what it reports, or skip the hooks with --no-verify. It said:"
    )
    assert "pre-commit: no new series on Fridays" in result.stderr
    assert "Traceback" not in result.stderr
    assert git(ws, "rev-parse", "HEAD") == head
    assert not (ws / "series" / "deep-work" / "series.toml").exists()
    assert (ws / "series" / "deep-work" / "NOTES").read_text() == "draft\n"


# -- publish into a repository with no commit yet -----------------------------------------------


def test_publish_the_first_commit_of_a_repository(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws", commit=False)
    write_series(root, "slow-work")
    write_draft(
        root, "slow-work", "opening", "---\ntitle: Opening\nauthor: ana\n---\nBen,\n\nHi?\n"
    )
    assert git(root, "rev-parse", "--verify", "-q", "HEAD", check=False) == ""
    result = run_duologue(root, "publish", "slow-work", "--as", "ana")
    assert result.returncode == 0, result.stderr
    assert git(root, "rev-list", "--count", "HEAD").strip() == "1"
    assert git(root, "log", "-1", "--format=%s%n%P").splitlines() == ["slow-work #1: Opening", ""]
    committed = git(root, "ls-tree", "-r", "--name-only", "HEAD").split()
    assert f"{S}/0001-opening.md" in committed
    assert not (root / "drafts" / "slow-work" / "opening.md").exists()


# -- a committed symlink in place of a series folder --------------------------------------------


def symlinked_series(ws: Path) -> None:
    """series/slow-work becomes a link to a folder elsewhere in the workspace, committed."""
    (ws / "store").mkdir()
    os.rename(ws / S, ws / "store" / "slow-work")
    (ws / S).symlink_to(Path("..") / "store" / "slow-work")
    commit_all(ws, "series folder moved behind a link")


@pytest.mark.parametrize(
    "args",
    [
        ("status", "slow-work"),
        ("log", "slow-work"),
        ("draft", "slow-work", "--as", "ben", "--no-edit"),
    ],
    ids=["status", "log", "draft"],
)
def test_commands_refuse_a_symlinked_series_folder(ws: Path, args: tuple[str, ...]) -> None:
    symlinked_series(ws)
    result = run_duologue(ws, *args)
    assert "Traceback" not in result.stderr
    assert result.returncode == 1, result.stdout
    assert result.stderr == (
        f"error: {S}: is a symbolic link, not a series folder; duologue never follows one, "
        "so replace it with the folder itself.\n"
    )


# -- the series.toml writer and its loader agree ------------------------------------------------


def test_series_toml_duologue_writes_loads_back_with_every_field() -> None:
    # `series new` has no option for a deadline or an author URL (hand edits add them);
    # whatever duologue writes must still load back as the same series.
    series = Series(
        slug="slow-work",
        title="Slow Work",
        id="tag:example.org,2026-01-01:slow-work",
        authors=(
            Author("ana", "Ana Lima", "ana@example.com", url="https://ana.example/"),
            Author("ben", "Ben Okafor", "ben@example.com"),
        ),
        description="Two leads.",
        hashtag="#SlowWork",
        reply_within_days=7,
    )
    text = duologue_series_text(series)
    assert parse_series("slow-work", tomllib.loads(text), SERIES_TOML) == series
    data = tomllib.loads(text)
    assert data["reply_within_days"] == 7
    assert data["authors"][0]["url"] == "https://ana.example/"
