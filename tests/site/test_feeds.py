"""Feeds read back with feedparser (and lxml where feedparser does not look)."""

from __future__ import annotations

from pathlib import Path

import feedparser
from lxml import etree

from duologue.site.build import build_site
from duologue.workspace import load_settings
from tests.site.workspace import add_post, add_series, make_workspace

THR = "{http://purl.org/syndication/thread/1.0}"
FH = "{http://purl.org/syndication/history/1.0}"
ATOM = "{http://www.w3.org/2005/Atom}"


def _workspace(tmp_path: Path) -> Path:
    root = make_workspace(tmp_path / "ws")
    add_series(root, "slow-work", title="Slow Work", author_url="https://ana.example.com/")
    add_post(root, "slow-work", 1, title="Opening", tags=("meetings", "focus"))
    add_post(root, "slow-work", 2, title="An answer", body="Ana,\n\nI liked [[#1]].")
    add_post(root, "slow-work", 3, title="Back to you")
    add_post(root, "slow-work", 4, title="Also to one", in_reply_to=1)
    add_series(root, "other")
    add_post(root, "other", 1, title="Elsewhere", date="2026-03-01T00:00:00+00:00")
    build_site(load_settings(root))
    return root / "public"


def test_series_rss_reads_back_newest_first_with_ids_links_authors_and_content(tmp_path: Path) -> None:
    out = _workspace(tmp_path)
    feed = feedparser.parse((out / "slow-work/feed.xml").read_bytes())
    assert not feed.bozo, feed.bozo_exception
    assert feed.feed.title == "Slow Work"
    assert feed.feed.link == "https://example.org/slow-work/"
    assert [e.title for e in feed.entries] == ["Also to one", "Back to you", "An answer", "Opening"]
    assert [e.id for e in feed.entries] == [
        f"tag:example.org,2026-01-01:slow-work/{n}" for n in (4, 3, 2, 1)
    ]
    assert all(e.guidislink is False for e in feed.entries)
    assert feed.entries[0].link == "https://example.org/slow-work/0004-post-4.html"
    assert [e.author for e in feed.entries] == ["Ben Okafor", "Ana Lima", "Ben Okafor", "Ana Lima"]
    opening = feed.entries[-1]
    assert [t.term for t in opening.tags] == ["meetings", "focus"]
    assert "Answered by" in opening.description
    assert "0002-post-2.html" in opening.description and "0004-post-4.html" in opening.description
    answer = feed.entries[2]
    assert "In reply to" in answer.description
    assert '<a href="https://example.org/slow-work/0001-post-1.html">Opening</a>' in answer.description
    assert feed.feed.updated == "Mon, 05 Jan 2026 09:30:00 +0000"  # the newest post, not now


def test_series_atom_carries_thr_in_reply_to_on_every_reply(tmp_path: Path) -> None:
    out = _workspace(tmp_path)
    data = (out / "slow-work/atom.xml").read_bytes()
    feed = feedparser.parse(data)
    assert not feed.bozo, feed.bozo_exception
    assert feed.feed.id == "tag:example.org,2026-01-01:slow-work"
    assert feed.feed.updated == "2026-01-05T09:30:00+00:00"
    assert [e.title for e in feed.entries] == ["Also to one", "Back to you", "An answer", "Opening"]
    assert feed.entries[-1].author_detail.href == "https://ana.example.com/"
    assert feed.entries[0].content[0].type == "text/html"
    root = etree.fromstring(data)
    self_links = [x.get("href") for x in root.findall(f"{ATOM}link") if x.get("rel") == "self"]
    assert self_links == ["https://example.org/slow-work/atom.xml"]
    replies = {}
    for entry in root.findall(f"{ATOM}entry"):
        ref = entry.find(f"{THR}in-reply-to")
        replies[entry.findtext(f"{ATOM}id")] = None if ref is None else (ref.get("ref"), ref.get("href"))
    base = "tag:example.org,2026-01-01:slow-work/"
    assert replies == {
        base + "1": None,
        base + "2": (base + "1", "https://example.org/slow-work/0001-post-1.html"),
        base + "3": (base + "2", "https://example.org/slow-work/0002-post-2.html"),
        base + "4": (base + "1", "https://example.org/slow-work/0001-post-1.html"),
    }
    assert root.find(f"{FH}complete") is not None


def test_rss_has_dc_creator_self_link_and_complete_marker(tmp_path: Path) -> None:
    out = _workspace(tmp_path)
    root = etree.fromstring((out / "slow-work/feed.xml").read_bytes())
    channel = root.find("channel")
    assert channel is not None
    assert channel.find(f"{FH}complete") is not None
    creators = [i.findtext("{http://purl.org/dc/elements/1.1/}creator") for i in channel.iter("item")]
    assert creators == ["Ben Okafor", "Ana Lima", "Ben Okafor", "Ana Lima"]
    guids = channel.findall("item/guid")
    assert {g.get("isPermaLink") for g in guids} == {"false"}
    assert channel.find(f"{ATOM}link").get("href") == "https://example.org/slow-work/feed.xml"
    assert "ana@example.com" not in (out / "slow-work/feed.xml").read_text()


def test_site_feed_holds_every_series_newest_first(tmp_path: Path) -> None:
    out = _workspace(tmp_path)
    feed = feedparser.parse((out / "feed.xml").read_bytes())
    assert not feed.bozo, feed.bozo_exception
    assert feed.feed.title == "Sample dialogues"
    assert [e.title for e in feed.entries] == [
        "Other: Elsewhere", "Slow Work: Also to one", "Slow Work: Back to you",
        "Slow Work: An answer", "Slow Work: Opening",
    ]
    assert feed.entries[0].id == "tag:example.org,2026-01-01:other/1"
    assert feed.feed.updated == "Sun, 01 Mar 2026 00:00:00 +0000"


def test_ids_survive_a_retitle_and_a_domain_move(tmp_path: Path) -> None:
    out = _workspace(tmp_path)
    before = [e.id for e in feedparser.parse((out / "slow-work/atom.xml").read_bytes()).entries]
    root = out.parent
    add_post(root, "slow-work", 2, title="A new title", body="Ana,\n\nI liked [[#1]].")
    build_site(load_settings(root), base_url="https://moved.example.net/")
    feed = feedparser.parse((out / "slow-work/atom.xml").read_bytes())
    assert [e.id for e in feed.entries] == before
    assert feed.entries[2].title == "A new title"
    assert feed.entries[2].link == "https://moved.example.net/slow-work/0002-post-2.html"


def test_an_empty_series_gets_valid_feeds_dated_without_the_clock(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    add_series(root, "empty")
    build_site(load_settings(root))
    for name in ("feed.xml", "atom.xml"):
        feed = feedparser.parse((root / "public/empty" / name).read_bytes())
        assert not feed.bozo, feed.bozo_exception
        assert feed.entries == []
    assert b"1970-01-01T00:00:00+00:00" in (root / "public/empty/atom.xml").read_bytes()



def test_entry_html_goes_out_as_cdata_in_rss_and_atom(tmp_path: Path) -> None:
    """The HTML of an entry is a CDATA section in RSS and in Atom, whose type stays
    "html" (feedgen would write type="CDATA", which Atom does not know)."""
    out = _workspace(tmp_path)
    atom = (out / "slow-work/atom.xml").read_bytes()
    assert b'<content type="html"><![CDATA[<p>' in atom
    assert b'type="CDATA"' not in atom and b"&lt;p&gt;" not in atom
    assert b"<description><![CDATA[<p>" in (out / "slow-work/feed.xml").read_bytes()
    entry = feedparser.parse(atom).entries[2]
    assert entry.content[0].type == "text/html"
    assert '<a href="https://example.org/slow-work/0001-post-1.html">Opening</a>' in (
        entry.content[0].value
    )


def test_html_holding_the_cdata_end_marker_goes_out_as_escaped_text() -> None:
    """cmark and nh3 write no "]]>", but a CDATA section cannot carry one: such HTML
    would go out escaped, and read back the same."""
    from datetime import UTC, datetime

    from duologue.site.feeds import FeedItem, _add_items, _new_feed, site_feed

    html = "<p>x]]>y</p>"
    item = FeedItem(
        "s", 1, datetime(2026, 1, 1, tzinfo=UTC), "S", "tag:x,2026:s/1", "T",
        "https://example.org/s/1.html", "Ana", None, html, None, (), None,
        datetime(2026, 1, 1, tzinfo=UTC),
    )  # fmt: skip
    rss = site_feed("Site", "https://example.org/", [item], complete=True)
    feed = _new_feed("S", "", "https://example.org/s/", "https://example.org/s/atom.xml",
                     "tag:x,2026:s", item.date, "en", rss=False)  # fmt: skip
    _add_items(feed, [item], with_series=False, rss=False)
    atom = feed.atom_str(pretty=True)
    assert b"x]]&gt;y" in rss and b"x]]&gt;y" in atom and b"CDATA" not in rss + atom
    assert feedparser.parse(rss).entries[0].description == html
    assert feedparser.parse(atom).entries[0].content[0].value == html
