"""Plain-text fields stay plain text, and hostile names stay visible.

Everything here arrives as a co-author's push would bring it: files written by hand
into a workspace made with the real CLI, then committed with real git. Feeds are read
back with feedparser, pages with mf2py, and the CLI runs as a subprocess.

- a title, a name, a summary or a description is text in RSS, Atom and the pages:
  what a reader gets back is the text as written, with no element or attribute made
  from it;
- control, bidirectional and invisible characters are refused in titles, names and
  handles, and every line duologue prints about a file or a field shows them escaped;
- a post's file name spells its turn one way only (``0003-``, never ``00003-``);
- ``base_url`` is a plain http(s) URL with a host: no query, no fragment, no password.
"""

from __future__ import annotations

import html
import json
import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import feedparser
import mf2py
import pytest
from hypothesis import given
from hypothesis import strategies as st

from duologue.model import POST_FILE_PATTERN, post_file_name, turn_digits
from tests.helpers import git, run_duologue

ANA = "ana:Ana Lima <ana@example.com>"
BEN = "ben:Ben Okafor <ben@example.com>"
SERIES = "slow-work"
BASE = "https://letters.example.org/"

HOSTILE_SUMMARY = "<img src=x onerror=alert(1)> & <b>bold</b> &amp; done"
HOSTILE_DESCRIPTION = "<img src=x onerror=alert(1)> Two leads & <i>calm</i> work &lt;3"
HOSTILE_TITLE = "<b onclick=alert(1)>Bold</b> & <img src=x onerror=alert(1)> &amp; more"
HOSTILE_SERIES_TITLE = "Slow <i>Work</i> & Co"
HOSTILE_NAME = "Ana <b>Lima</b> &amp; Co"


@pytest.fixture(autouse=True)
def identity(monkeypatch: pytest.MonkeyPatch) -> None:
    """A global git identity (the CLI subprocesses inherit it)."""
    for what in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{what}_NAME", "Ana Lima")
        monkeypatch.setenv(f"GIT_{what}_EMAIL", "ana@example.com")


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_duologue(cwd, *args)


def ok(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = cli(cwd, *args)
    assert result.returncode == 0, result.stderr + result.stdout
    return result


def new_workspace(tmp_path: Path, *, description: str = "Two leads on calmer work.") -> Path:
    """``duologue init`` and ``duologue series new``, as a user starts."""
    ok(tmp_path, "init", "ws", "--title", "Letters", "--base-url", BASE)
    root = tmp_path / "ws"
    ok(
        root,
        "series",
        "new",
        SERIES,
        "--title",
        "Slow Work",
        "--author",
        ANA,
        "--author",
        BEN,
        "--description",
        description,
    )
    return root


def yaml_text(value: str) -> str:
    """A YAML double-quoted scalar: JSON's escapes are YAML's too, and what YAML cannot
    hold raw (controls, C1, the BOM) is escaped; other characters stay as they are
    (PyYAML does not join JSON's surrogate pairs)."""
    quoted = json.dumps(value, ensure_ascii=False)
    return "".join(
        f"\\u{ord(c):04x}" if 0x7F <= ord(c) <= 0x9F or c == "\ufeff" else c for c in quoted
    )


def write_post(
    root: Path,
    turn: int,
    *,
    title: str | None = None,
    author: str | None = None,
    summary: str | None = None,
    name: str | None = None,
) -> Path:
    """A post as a co-author's push brings it; ``name`` is the file name to use."""
    author = author or ("ana" if turn % 2 else "ben")
    lines = [
        "---",
        f"title: {yaml_text(title or f'Letter {turn}')}",
        f"author: {yaml_text(author)}",
        f"date: 2026-01-{turn:02d}T09:00:00+00:00",
        f"turn: {turn}",
    ]
    if turn > 1:
        lines.append(f"in_reply_to: {turn - 1}")
    if summary is not None:
        lines.append(f"summary: {yaml_text(summary)}")
    lines += ["---", f"Dear friend,\n\nThis is turn {turn}.", ""]
    path = root / "series" / SERIES / (name or f"{turn:04d}-letter-{turn}.md")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def commit(root: Path, message: str = "from the co-author") -> None:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)


def set_toml_value(path: Path, key: str, value: str, *, occurrence: int = 1) -> None:
    """Replace the ``occurrence``-th ``key = ...`` line of a TOML file (a hand edit)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    seen = 0
    for index, line in enumerate(lines):
        if line.startswith(f"{key} = "):
            seen += 1
            if seen == occurrence:
                lines[index] = f"{key} = {json.dumps(value)}"
                break
    else:
        raise AssertionError(f"no {key} line in {path}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


# -- reading text back -------------------------------------------------------------------


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def text_of(detail: dict[str, str]) -> str:
    """What a reader shows for a feedparser text construct: plain text as it is; HTML
    rendered, which must make no element or attribute out of plain text."""
    value = detail["value"]
    if detail["type"] == "text/plain":
        return value
    assert detail["type"] == "text/html", detail
    parsed = _Elements()
    parsed.feed(value)
    parsed.close()
    assert parsed.tags == [], f"plain text became markup: {value!r}"
    return html.unescape(value)


def parse_feed(path: Path) -> feedparser.FeedParserDict:
    feed = feedparser.parse(path.read_bytes())
    assert not feed.bozo, feed.bozo_exception
    return feed


def assert_no_live_markup(page: str, *hostile: str) -> None:
    """No element of ``page`` carries an event handler, and no hostile text is raw in it."""
    parsed = _Elements()
    parsed.feed(page)
    for tag, attrs in parsed.tags:
        assert not any(name.startswith("on") for name, _ in attrs), (tag, attrs)
    for text in hostile:
        for fragment in ("<img src=x", "<b>", "<i>", "<b onclick"):
            if fragment in text:
                assert fragment not in page, fragment


def h_entries(page: str, url: str) -> list[dict[str, object]]:
    found: list[dict[str, object]] = []

    def walk(items: list[dict[str, object]]) -> None:
        for item in items:
            if "h-entry" in item["type"]:  # type: ignore[operator]
                found.append(item)
            walk(item.get("children", []))  # type: ignore[arg-type]

    walk(mf2py.parse(doc=page, url=url)["items"])
    return found


# -- 3: plain-text fields are text in every format -------------------------------------


def test_summary_and_series_description_are_text_in_rss_atom_and_pages(tmp_path: Path) -> None:
    root = new_workspace(tmp_path, description=HOSTILE_DESCRIPTION)
    write_post(root, 1, summary=HOSTILE_SUMMARY)
    write_post(root, 2, summary="Plain & simple")
    commit(root)
    ok(root, "build")
    out = root / "public"

    rss = parse_feed(out / SERIES / "feed.xml")
    assert text_of(rss.feed.subtitle_detail) == HOSTILE_DESCRIPTION
    by_title = {e.title: e for e in rss.entries}
    assert text_of(by_title["Letter 1"].summary_detail) == HOSTILE_SUMMARY
    assert text_of(by_title["Letter 2"].summary_detail) == "Plain & simple"

    atom = parse_feed(out / SERIES / "atom.xml")
    assert text_of(atom.feed.subtitle_detail) == HOSTILE_DESCRIPTION
    by_title = {e.title: e for e in atom.entries}
    assert text_of(by_title["Letter 1"].summary_detail) == HOSTILE_SUMMARY

    site = parse_feed(out / "feed.xml")
    entry = next(e for e in site.entries if e.title.endswith("Letter 1"))
    assert text_of(entry.summary_detail) == HOSTILE_SUMMARY

    thread = (out / SERIES / "index.html").read_text(encoding="utf-8")
    feed_item = mf2py.parse(doc=thread, url=f"{BASE}{SERIES}/")["items"][0]
    assert feed_item["properties"]["summary"] == [HOSTILE_DESCRIPTION]
    index = (out / "index.html").read_text(encoding="utf-8")
    for page in (thread, index):
        assert_no_live_markup(page, HOSTILE_DESCRIPTION)
        assert html.escape(HOSTILE_DESCRIPTION, quote=False) in page


def test_titles_and_names_are_text_in_rss_atom_and_pages(tmp_path: Path) -> None:
    root = new_workspace(tmp_path)
    toml = root / "series" / SERIES / "series.toml"
    set_toml_value(toml, "title", HOSTILE_SERIES_TITLE)
    set_toml_value(toml, "name", HOSTILE_NAME)  # the first author: ana
    write_post(root, 1, title=HOSTILE_TITLE)
    write_post(root, 2, title="Q&A, and a < b")
    commit(root)
    ok(root, "build")
    out = root / "public"

    for name in ("feed.xml", "atom.xml"):
        feed = parse_feed(out / SERIES / name)
        assert text_of(feed.feed.title_detail) == HOSTILE_SERIES_TITLE, name
        titles = sorted(text_of(e.title_detail) for e in feed.entries)
        assert titles == sorted([HOSTILE_TITLE, "Q&A, and a < b"]), name
        first = next(e for e in feed.entries if text_of(e.title_detail) == HOSTILE_TITLE)
        assert first.author == HOSTILE_NAME, name  # RSS dc:creator and Atom name: plain text
    site = parse_feed(out / "feed.xml")
    assert sorted(text_of(e.title_detail) for e in site.entries) == sorted(
        f"{HOSTILE_SERIES_TITLE}: {t}" for t in (HOSTILE_TITLE, "Q&A, and a < b")
    )

    post_page = (out / SERIES / "0001-letter-1.html").read_text(encoding="utf-8")
    entry = h_entries(post_page, f"{BASE}{SERIES}/0001-letter-1.html")[0]
    assert entry["properties"]["name"] == [HOSTILE_TITLE]  # type: ignore[index]
    author = entry["properties"]["author"][0]  # type: ignore[index]
    assert author["properties"]["name"] == [HOSTILE_NAME]
    thread = (out / SERIES / "index.html").read_text(encoding="utf-8")
    names = [e["properties"]["name"] for e in h_entries(thread, f"{BASE}{SERIES}/")]
    assert [HOSTILE_TITLE] in names
    for page in (post_page, thread, (out / "index.html").read_text(encoding="utf-8")):
        assert_no_live_markup(page, HOSTILE_TITLE, HOSTILE_SERIES_TITLE, HOSTILE_NAME)


# -- 4: control, bidi and invisible characters ------------------------------------------

RLO = "\u202e"


def assert_one_line_each(output: str) -> None:
    """Every line duologue printed starts like one of its own lines."""
    for line in output.splitlines():
        assert line.startswith(("series/", "drafts/", "duologue.toml", "error:", "note:")), line


def test_check_escapes_an_escape_sequence_and_a_line_break_in_a_file_name(
    tmp_path: Path,
) -> None:
    root = new_workspace(tmp_path)
    write_post(root, 1)
    # An OSC sequence (retitles the terminal; click strips only CSI colour codes when
    # piped), then a line break that would start a fake line of check's own.
    hostile = "0002-a\x1b]0;owned\x07\nduologue.toml: all good.md"
    write_post(root, 2, name=hostile)
    (root / "series" / SERIES / f"0003-{RLO}dm.txt.md").write_text("x", encoding="utf-8")
    commit(root)

    result = cli(root, "check")
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert "\x1b" not in output and "\x07" not in output and RLO not in output
    assert_one_line_each(output)
    lines = result.stdout.splitlines()
    assert (
        f"series/{SERIES}/0002-a\\x1b]0;owned\\x07\\nduologue.toml: all good.md: error: "
        "a post's file name must look like 0001-some-title.md."
    ) in lines
    assert any(line.startswith(f"series/{SERIES}/0003-\\u202edm.txt.md: error:") for line in lines)

    as_json = cli(root, "check", "--json")
    assert "\x1b" not in as_json.stdout and RLO not in as_json.stdout
    paths = {problem["path"] for problem in json.loads(as_json.stdout)}
    assert f"series/{SERIES}/{hostile}" in paths  # the JSON keeps the exact name
    assert f"series/{SERIES}/0003-{RLO}dm.txt.md" in paths


def test_a_file_name_that_is_not_utf8_is_shown_as_its_bytes(tmp_path: Path) -> None:
    root = new_workspace(tmp_path)
    write_post(root, 1)
    folder = os.fsencode(root / "series" / SERIES)
    with open(folder + b"/0002-\xff\x1b[2J.md", "wb") as handle:
        handle.write(b"x")
    result = subprocess.run(
        [sys.executable, "-m", "duologue", "check"], cwd=root, capture_output=True, check=False
    )
    assert result.returncode == 1
    assert b"\xff" not in result.stdout and b"\x1b" not in result.stdout
    assert f"series/{SERIES}/0002-\\xff\\x1b[2J.md: error:".encode() in result.stdout


def test_an_error_naming_a_hostile_path_is_one_escaped_line(tmp_path: Path) -> None:
    root = new_workspace(tmp_path)
    result = cli(root, "publish", f"drafts/{SERIES}/\x1b]0;owned\x07\nerror: fine.md")
    assert result.returncode == 1
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert f"drafts/{SERIES}/\\x1b]0;owned\\x07\\nerror: fine.md" in lines[0]


HIDDEN = [
    ("\u202e", "U+202E (RIGHT-TO-LEFT OVERRIDE)"),
    ("\u2066", "U+2066 (LEFT-TO-RIGHT ISOLATE)"),
    ("\u200f", "U+200F (RIGHT-TO-LEFT MARK)"),
    ("\u061c", "U+061C (ARABIC LETTER MARK)"),
    ("\u200b", "U+200B (ZERO WIDTH SPACE)"),
    ("\u200d", "U+200D (ZERO WIDTH JOINER)"),
    ("\u2060", "U+2060 (WORD JOINER)"),
    ("\ufeff", "U+FEFF (ZERO WIDTH NO-BREAK SPACE)"),
    ("\t", "U+0009 (TAB)"),
    ("\x9b", "U+009B (C1 control character 0x9b)"),
]


@pytest.mark.parametrize(("char", "described"), HIDDEN, ids=[d for _, d in HIDDEN])
def test_hidden_characters_are_refused_in_post_and_draft_titles_and_handles(
    tmp_path: Path, char: str, described: str
) -> None:
    root = new_workspace(tmp_path)
    write_post(root, 1, title=f"Quiet{char} week")
    write_post(root, 2, author=f"b{char}en")
    draft = root / "drafts" / SERIES / "reply.md"
    draft.parent.mkdir(parents=True)
    draft.write_text(f"---\ntitle: {yaml_text('Re' + char + 'ply')}\n---\nBen,\n", "utf-8")
    commit(root)

    result = cli(root, "check")
    assert result.returncode == 1
    assert char not in result.stdout
    for path, field in (
        (f"series/{SERIES}/0001-letter-1.md", "title"),
        (f"series/{SERIES}/0002-letter-2.md", "author"),
        (f"drafts/{SERIES}/reply.md", "title"),
    ):
        assert f"{path}: error: `{field}` contains {described}" in result.stdout, result.stdout

    for command in (("status",), ("log", SERIES), ("build",)):
        refused = cli(root, *command)
        assert refused.returncode == 1, command
        assert refused.stderr.startswith(f"error: series/{SERIES}/000"), refused.stderr
        assert f"` contains {described}" in refused.stderr
        assert char not in refused.stderr and len(refused.stderr.splitlines()) == 1


@pytest.mark.parametrize(("char", "described"), HIDDEN[:5], ids=[d for _, d in HIDDEN[:5]])
def test_hidden_characters_are_refused_in_series_and_workspace_settings(
    tmp_path: Path, char: str, described: str
) -> None:
    root = new_workspace(tmp_path)
    toml = root / "series" / SERIES / "series.toml"
    original = toml.read_text(encoding="utf-8")
    for key, shown, occurrence in (("title", "`title`", 1), ("name", "authors[1]: `name`", 2)):
        toml.write_text(original, encoding="utf-8")
        set_toml_value(toml, key, f"Be{char}n", occurrence=occurrence)
        result = cli(root, "check")
        assert result.returncode == 1
        assert f"series/{SERIES}/series.toml: error: {shown} contains {described}" in result.stdout
        assert char not in result.stdout
    toml.write_text(f"hashtag = {json.dumps('#Slow' + char + 'Work')}\n" + original, "utf-8")
    assert "error: `hashtag` contains " + described in cli(root, "check").stdout
    toml.write_text(original, encoding="utf-8")

    set_toml_value(root / "duologue.toml", "title", f"Let{char}ters")
    result = cli(root, "build")
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: duologue.toml: `title` contains {described}")
    assert char not in result.stderr


def test_hidden_characters_are_refused_in_titles_and_names_given_on_the_command_line(
    tmp_path: Path,
) -> None:
    root = new_workspace(tmp_path)
    before = git(root, "rev-parse", "HEAD")
    attempts = [
        ("series", "new", "other", "--title", f"Slow{RLO}", "--author", ANA, "--author", BEN),
        (
            "series",
            "new",
            "other",
            "--title",
            "Slow",
            "--author",
            ANA,
            "--author",
            "ben:Ben\u200b Okafor <ben@example.com>",
        ),
        ("draft", SERIES, "--as", "ana", "--no-edit", "--title", f"Hello{RLO}"),
    ]
    for args in attempts:
        result = cli(root, *args)
        assert result.returncode == 1, args
        assert result.stderr.startswith("error: ") and "contains U+20" in result.stderr
        assert RLO not in result.stderr and "\u200b" not in result.stderr
    assert git(root, "rev-parse", "HEAD") == before
    assert not (root / "series" / "other").exists()
    assert not list((root / "drafts").glob(f"{SERIES}/*.md"))

    fresh = cli(tmp_path, "init", "fresh", "--title", f"Let{RLO}ters")
    assert fresh.returncode == 1 and "`--title` contains U+202E" in fresh.stderr
    assert not (tmp_path / "fresh" / "duologue.toml").exists()


def test_zero_width_joiners_are_kept_only_inside_non_ascii_writing(tmp_path: Path) -> None:
    """Persian needs the non-joiner and emoji sequences the joiner; next to ASCII, a
    joiner only hides something."""
    root = new_workspace(tmp_path)
    persian = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"  # "I want", with a ZWNJ
    coder = "\U0001f469\u200d\U0001f4bb at work"  # woman + ZWJ + laptop
    write_post(root, 1, title=persian)
    write_post(root, 2, title=coder)
    write_post(root, 3, title="A\u200dna")
    commit(root)
    result = cli(root, "check")
    assert result.returncode == 1
    problems = [line for line in result.stdout.splitlines() if ": error: " in line]
    assert problems == [
        f"series/{SERIES}/0003-letter-3.md: error: `title` contains U+200D (ZERO WIDTH JOINER), "
        "a control or invisible character that can disguise what the text says; remove it."
    ]
    (root / "series" / SERIES / "0003-letter-3.md").unlink()
    commit(root, "drop the disguised one")
    logged = ok(root, "log", SERIES).stdout
    assert persian in logged and coder in logged  # valid text prints as itself


# -- 21: a turn is spelled one way ------------------------------------------------------


def test_a_five_digit_name_below_turn_10000_is_not_a_post(tmp_path: Path) -> None:
    root = new_workspace(tmp_path)
    write_post(root, 1)
    write_post(root, 2)
    write_post(root, 3, name="00003-five.md")
    commit(root)

    result = cli(root, "check", "--json")
    assert result.returncode == 1
    problems = {p["path"]: p["message"] for p in json.loads(result.stdout)}
    assert problems[f"series/{SERIES}/00003-five.md"] == (
        "a post's file name must look like 0001-some-title.md: turn 3 is written '0003' "
        "(four digits, more only from 10000 on), not '00003'; rename it to '0003-five.md'."
    )

    status = json.loads(ok(root, "status", "--json").stdout)[0]
    assert (status["posts"], status["last_turn"]) == (2, 2)
    assert [row["turn"] for row in json.loads(ok(root, "log", SERIES, "--json").stdout)] == [1, 2]
    ok(root, "build")
    pages = sorted(p.name for p in (root / "public" / SERIES).glob("*.html"))
    assert pages == ["0001-letter-1.html", "0002-letter-2.html", "index.html"]
    assert len(parse_feed(root / "public" / SERIES / "atom.xml").entries) == 2

    # publish numbers turns by the same rule: the next post is turn 3, not 4
    # publish refuses a series that fails check, and names the misspelt file; once it is
    # gone, publish numbers turns by the same rule: the next post is turn 3, not 4
    draft = ok(root, "draft", SERIES, "--as", "ana", "--no-edit", "--title", "Third").stdout
    refused = cli(root, "publish", draft.strip(), "--as", "ana")
    assert refused.returncode == 1 and "rename it to '0003-five.md'" in refused.stderr
    subprocess.run(["git", "rm", "-q", f"series/{SERIES}/00003-five.md"], cwd=root, check=True)
    subprocess.run(["git", "commit", "-qm", "remove the misspelt post"], cwd=root, check=True)
    published = ok(root, "publish", draft.strip(), "--as", "ana")
    assert f"series/{SERIES}/0003-third.md" in published.stdout


def test_zero_is_not_a_turn_and_ten_thousand_has_five_digits(tmp_path: Path) -> None:
    root = new_workspace(tmp_path)
    write_post(root, 1)
    write_post(root, 1, name="0000-zero.md")
    commit(root)
    problems = {p["path"]: p["message"] for p in json.loads(cli(root, "check", "--json").stdout)}
    assert problems == {
        f"series/{SERIES}/0000-zero.md": "a post's file name must look like 0001-some-title.md, "
        "and turns start at 1, not '0000'."
    }
    assert turn_digits(10000) == "10000" and POST_FILE_PATTERN.match("10000-x.md")


@given(
    digits=st.from_regex(r"[0-9]{1,7}", fullmatch=True),
    slug=st.from_regex(r"[a-z0-9][a-z0-9-]{0,20}", fullmatch=True),
)
def test_a_post_file_name_is_read_back_only_in_its_one_spelling(digits: str, slug: str) -> None:
    match = POST_FILE_PATTERN.match(f"{digits}-{slug}.md")
    turn = int(digits)
    canonical = turn >= 1 and digits == turn_digits(turn)
    assert (match is not None) == canonical
    if match:
        assert int(match["turn"]) == turn and post_file_name(turn, slug) == f"{digits}-{slug}.md"


# -- 13: base_url ------------------------------------------------------------------------

BAD_BASE_URLS = [
    ("https://x.example/?q=1#frag", "has a query"),
    ("https://x.example/?", "has a query"),
    ("https://x.example/blog#top", "has a fragment"),
    ("https://user:secret@x.example/", "holds a user name or password"),
    ("https://:8080/", "has no host"),
    ("https://x.example/a b/", "holds U+0020 (SPACE)"),
]


@pytest.mark.parametrize(("url", "why"), BAD_BASE_URLS, ids=[u for u, _ in BAD_BASE_URLS])
def test_a_base_url_links_cannot_follow_is_refused_everywhere(
    tmp_path: Path, url: str, why: str
) -> None:
    root = new_workspace(tmp_path)
    write_post(root, 1)
    commit(root)

    built = cli(root, "build", "--base-url", url)
    assert built.returncode == 1
    assert built.stderr.startswith("error: duologue build: `--base-url` must be an absolute")
    assert f"; {url!r} {why}" in built.stderr
    assert why in built.stderr and len(built.stderr.splitlines()) == 1
    assert not (root / "public").exists()

    fresh = cli(tmp_path, "init", "fresh", "--base-url", url)
    assert fresh.returncode == 1 and why in fresh.stderr
    assert fresh.stderr.startswith("error: duologue init: `--base-url` must be an absolute")
    assert not (tmp_path / "fresh").exists()

    set_toml_value(root / "duologue.toml", "base_url", url)
    checked = cli(root, "check")
    assert checked.returncode == 1
    assert "duologue.toml: error: `base_url` must be an absolute" in checked.stdout
    assert f"; {url!r} {why}" in checked.stdout
    built = cli(root, "build")
    assert built.returncode == 1
    assert built.stderr.startswith("error: duologue.toml: `base_url` must be an absolute")
    assert f"; {url!r} {why}" in built.stderr
