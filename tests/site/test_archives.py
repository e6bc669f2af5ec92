"""RFC 5005 archives past ``feed_limit``: full pages, oldest first, linked both ways."""

from __future__ import annotations

from pathlib import Path

import feedparser
from lxml import etree

from duologue.site.build import build_site
from duologue.workspace import load_settings
from tests.site.workspace import add_series, make_workspace, thread

ATOM = "{http://www.w3.org/2005/Atom}"
FH = "{http://purl.org/syndication/history/1.0}"
BASE = "https://example.org/s/"


def _links(root: etree._Element, parent_path: str = ".") -> dict[str, str]:
    parent = root.find(parent_path)
    assert parent is not None
    return {link.get("rel"): link.get("href") for link in parent.findall(f"{ATOM}link") + parent.findall("link")}


def _turns(data: bytes) -> list[int]:
    feed = feedparser.parse(data)
    assert not feed.bozo, feed.bozo_exception
    return [int(e.id.rsplit("/", 1)[1]) for e in feed.entries]


def test_a_long_series_splits_into_a_feed_and_full_archive_pages(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws", feed_limit=3)
    add_series(root, "s")
    thread(root, "s", 8)
    build_site(load_settings(root))
    out = root / "public/s"
    assert sorted(p.name for p in (out / "archive").iterdir()) == ["1.xml", "2.xml"]
    assert _turns((out / "feed.xml").read_bytes()) == [8, 7, 6]
    assert _turns((out / "atom.xml").read_bytes()) == [8, 7, 6]
    assert _turns((out / "archive/1.xml").read_bytes()) == [3, 2, 1]
    assert _turns((out / "archive/2.xml").read_bytes()) == [6, 5, 4]

    atom = etree.fromstring((out / "atom.xml").read_bytes())
    assert atom.find(f"{FH}complete") is None
    assert _links(atom)["prev-archive"] == BASE + "archive/2.xml"
    rss = etree.fromstring((out / "feed.xml").read_bytes())
    assert rss.find(f"channel/{FH}complete") is None
    assert _links(rss, "channel")["prev-archive"] == BASE + "archive/2.xml"

    newest = etree.fromstring((out / "archive/2.xml").read_bytes())
    assert newest.find(f"{FH}archive") is not None
    links = _links(newest)
    assert links["current"] == BASE + "atom.xml"
    assert links["prev-archive"] == BASE + "archive/1.xml"
    assert links["self"] == BASE + "archive/2.xml"
    # Already the link it will have, so the page never changes once full (RFC 5005).
    assert links["next-archive"] == BASE + "archive/3.xml"
    oldest = _links(etree.fromstring((out / "archive/1.xml").read_bytes()))
    assert oldest["next-archive"] == BASE + "archive/2.xml"
    assert "prev-archive" not in oldest


def test_a_full_archive_page_does_not_change_when_the_series_grows(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws", feed_limit=3)
    add_series(root, "s")
    thread(root, "s", 4)  # archive 1 is the newest (and only) archive
    build_site(load_settings(root))
    first = (root / "public/s/archive/1.xml").read_bytes()
    thread(root, "s", 10)  # rewrites 1..4 with the same text and adds 5..10
    build_site(load_settings(root))
    assert (root / "public/s/archive/1.xml").read_bytes() == first
    assert (root / "public/s/archive/3.xml").exists()


def test_a_feed_that_holds_everything_says_complete_and_links_no_archive(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws", feed_limit=3)
    add_series(root, "s")
    thread(root, "s", 3)
    build_site(load_settings(root))
    atom = etree.fromstring((root / "public/s/atom.xml").read_bytes())
    assert atom.find(f"{FH}complete") is not None
    assert "prev-archive" not in _links(atom)
    assert not (root / "public/s/archive").exists()


def test_archives_go_away_when_posts_do(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws", feed_limit=2)
    add_series(root, "s")
    thread(root, "s", 5)
    build_site(load_settings(root))
    assert (root / "public/s/archive/2.xml").exists()
    for turn in (4, 5):
        (root / f"series/s/{turn:04d}-post-{turn}.md").unlink()
    build_site(load_settings(root))
    assert (root / "public/s/archive/1.xml").exists()
    assert not (root / "public/s/archive/2.xml").exists()
    assert not (root / "public/s/0005-post-5.html").exists()
