"""The bundled sample workspace, built as the README's quick start builds it, and read the
way a browser and a feed reader would: every page parses, every link lands on a file."""

from __future__ import annotations

import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

import feedparser
import mf2py
import pytest

from tests.helpers import run_duologue

REPOSITORY = Path(__file__).resolve().parents[2]
BASE = "https://example.org/"


class LinkCollector(HTMLParser):
    """Collects href/src values and notices tags closed that were never opened."""

    VOID = frozenset({"meta", "link", "br", "img", "hr", "input", "source", "wbr", "col"})

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.links.append(value)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        if tag not in self.stack:
            self.errors.append(f"</{tag}> without <{tag}>")
            return
        while self.stack and self.stack.pop() != tag:
            pass


@pytest.fixture(scope="module")
def sample_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workspace = tmp_path_factory.mktemp("sample")
    shutil.copy(REPOSITORY / "duologue.toml", workspace / "duologue.toml")
    shutil.copytree(REPOSITORY / "series", workspace / "series")
    shutil.copytree(REPOSITORY / "drafts", workspace / "drafts")
    checked = run_duologue(workspace, "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    built = run_duologue(workspace, "build")
    assert built.returncode == 0, built.stderr
    return workspace / "public"


def test_every_page_parses_and_every_link_resolves(sample_site: Path) -> None:
    pages = sorted(sample_site.rglob("*.html"))
    assert len(pages) == 1 + 1 + len(list((REPOSITORY / "series" / "slow-work").glob("0*.md")))
    for page in pages:
        collector = LinkCollector()
        collector.feed(page.read_text("utf-8"))
        collector.close()
        assert not collector.errors, f"{page}: {collector.errors}"
        assert collector.stack == [], f"{page}: unclosed {collector.stack}"
        for link in collector.links:
            url, _fragment = urldefrag(link)
            if not url.startswith(BASE):
                assert urlsplit(url).scheme in ("https", "http", "mailto"), f"{page}: {link}"
                continue
            target = sample_site / url.removeprefix(BASE)
            if url.endswith("/"):
                target = target / "index.html"
            assert target.is_file(), f"{page.relative_to(sample_site)} links to missing {url}"


def test_feeds_read_cleanly(sample_site: Path) -> None:
    for name in ("feed.xml", "slow-work/feed.xml", "slow-work/atom.xml"):
        feed = feedparser.parse((sample_site / name).read_bytes())
        assert not feed.bozo, f"{name}: {feed.get('bozo_exception')}"
        assert len(feed.entries) == 5
        titles = [entry.title for entry in feed.entries]
        assert titles[-1].endswith("Fewer Meetings, Better Ones")  # newest first, opening last
        assert all(
            entry.id.startswith("tag:example.org,2026-11-27:slow-work/") for entry in feed.entries
        )


def test_thread_reads_as_a_thread_to_indieweb_tools(sample_site: Path) -> None:
    page = sample_site / "slow-work" / "0003-where-the-writing-lives-and-how-to-say-no.html"
    parsed = mf2py.parse(doc=page.read_text("utf-8"), url=f"{BASE}slow-work/{page.name}")
    entry = next(item for item in parsed["items"] if "h-entry" in item["type"])
    assert entry["properties"]["in-reply-to"] == [
        f"{BASE}slow-work/0002-mornings-without-meetings.html"
    ]
    author = entry["properties"]["author"][0]
    assert author["properties"]["name"] == ["Ana Lima"]
