"""Property: whatever Unicode a title or body holds (minus what ``check`` refuses),
feeds stay well-formed and pages keep the text as text."""

from __future__ import annotations

import html
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import feedparser
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from duologue.errors import BuildError
from duologue.site.build import build_site
from duologue.visible import hidden_character
from duologue.workspace import load_settings
from tests.site.workspace import add_post, add_series, make_workspace

# What YAML and check accept: no control characters, surrogates, line or paragraph
# separators (YAML reads those as line breaks), nor the non-characters YAML rejects.
_TEXT = st.characters(
    blacklist_categories=("Cc", "Cs", "Zl", "Zp"),
    blacklist_characters="\x85\ufeff\ufffe\uffff",
)
# A title may not hold a control or invisible character (duologue.visible refuses them).
TITLES = st.text(_TEXT, min_size=1, max_size=40).filter(
    lambda t: t.strip() != "" and hidden_character(t) is None
)
BODIES = st.lists(
    st.one_of(st.text(_TEXT, max_size=20),
              st.sampled_from(["\n", "<", ">", "&", "[[#1]]", "<script>", "`", "*", "\n---\n"])),
    min_size=1, max_size=20,
).map("".join).filter(lambda b: b.strip() != "")


class _Heading(HTMLParser):
    """The text of the page's ``<h1>``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.inside = False
        self.text = ""
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.inside = self.inside or tag == "h1"

    def handle_endtag(self, tag: str) -> None:
        if tag == "h1":
            self.inside = False

    def handle_data(self, data: str) -> None:
        if self.inside:
            self.text += data


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=TITLES, body=BODIES)
def test_any_title_and_body_give_well_formed_feeds_and_escaped_pages(title: str, body: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = make_workspace(Path(folder) / "ws")
        add_series(root, "s")
        add_post(root, "s", 1, title=title, body=body)
        add_post(root, "s", 2, title="Reply", body="About [[#1]].")
        try:
            build_site(load_settings(root))
        except BuildError as refused:
            # Raw HTML that would lose text ("<SCRIPT" is an HTML block to cmark, never
            # closed) is refused with the file named; anything else must build.
            assert str(refused).startswith("series/s/0001-post-1.md: "), str(refused)
            assert "not be shown" in str(refused) or "not shown" in str(refused)
            return
        out = root / "public"
        for name in ("s/feed.xml", "s/atom.xml", "feed.xml"):
            data = (out / name).read_bytes()
            tree = etree.fromstring(data)  # well-formed XML, or this raises
            feed = feedparser.parse(data)
            assert not feed.bozo, (name, feed.bozo_exception)
            # The exact title through lxml: feedparser "repairs" some text that looks like
            # mojibake (a title "Â¡" comes back as "¡" from a correct UTF-8 feed).
            titles = tree.findall(".//item/title") or tree.findall("{*}entry/{*}title")
            shown = titles[-1].text
            if name.endswith("feed.xml"):  # RSS: escaped again where HTML would misread it
                shown = html.unescape(shown)
            assert shown.endswith(title.strip())
            assert len(feed.entries) == len(titles)
        page = (out / "s/0001-post-1.html").read_text("utf-8")
        heading = _Heading()
        heading.feed(page)
        assert heading.text == title.strip()
        assert "<script" not in page.lower()  # post pages carry no script, the body's included
