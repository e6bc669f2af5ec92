"""Pages read back with mf2py and an HTML parser: microformats, escaping, links that resolve."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import mf2py
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from duologue.errors import BuildError
from duologue.site.build import build_site
from duologue.workspace import load_settings
from tests.site.workspace import add_post, add_series, make_workspace

BASE = "https://example.org/"


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.urls.append(value)


def _site(tmp_path: Path) -> Path:
    root = make_workspace(tmp_path / "ws")
    add_series(root, "slow-work", title="Slow <Work> & co", reply_within_days=7,
               author_url="https://ana.example.com/")
    add_post(root, "slow-work", 1, title="Opening <b>bold</b> & \"quoted\"", tags=("focus",))
    add_post(root, "slow-work", 2, title="Answer", body="Ana,\n\nI liked [[#1]].\n\n| a | b |\n|---|---|\n| 1 | ~~2~~ |\n")
    add_post(root, "slow-work", 3, title="Third")
    build_site(load_settings(root))
    return root / "public"


def test_post_page_is_an_h_entry_with_author_date_content_and_reply(tmp_path: Path) -> None:
    out = _site(tmp_path)
    html = (out / "slow-work/0002-post-2.html").read_text()
    parsed = mf2py.parse(doc=html, url=BASE + "slow-work/0002-post-2.html")
    entries = [i for i in parsed["items"] if "h-entry" in i["type"]]
    assert len(entries) == 1
    props = entries[0]["properties"]
    assert props["name"] == ["Answer"]
    assert props["url"] == [BASE + "slow-work/0002-post-2.html"]
    assert props["published"][0].startswith("2026-01-03T09:30:00+00")
    assert props["in-reply-to"] == [BASE + "slow-work/0001-post-1.html"]
    author = props["author"][0]
    assert "h-card" in author["type"] and author["properties"]["name"] == ["Ben Okafor"]
    content = props["content"][0]["html"]
    assert "<table>" in content and "<del>2</del>" in content
    assert "Opening &lt;b&gt;bold&lt;/b&gt; &amp; \"quoted\"</a>" in content  # the [[#1]] link


def test_opening_post_links_its_replies_and_next_and_has_no_in_reply_to(tmp_path: Path) -> None:
    out = _site(tmp_path)
    html = (out / "slow-work/0001-post-1.html").read_text()
    props = mf2py.parse(doc=html, url=BASE)["items"][0]["properties"]
    assert "in-reply-to" not in props
    assert props["author"][0]["properties"]["url"] == ["https://ana.example.com/"]
    assert props["category"] == ["focus"]
    assert "Replied to by" in html and 'href="https://example.org/slow-work/0002-post-2.html"' in html
    assert 'rel="next"' in html and 'rel="prev"' not in html
    assert "<h1 class=\"p-name\">Opening &lt;b&gt;bold&lt;/b&gt; &amp; &#34;quoted&#34;</h1>" in html


def test_thread_page_lists_every_post_in_order_and_says_whose_turn_is_next(tmp_path: Path) -> None:
    out = _site(tmp_path)
    html = (out / "slow-work/index.html").read_text()
    parsed = mf2py.parse(doc=html, url=BASE + "slow-work/")
    feed = next(i for i in parsed["items"] if "h-feed" in i["type"])
    names = [c["properties"]["name"][0] for c in feed["children"]]
    assert names == ['Opening <b>bold</b> & "quoted"', "Answer", "Third"]
    entries = feed["children"]
    # the whole thread: each entry carries its body, author, date, URL and what it answers
    contents = [e["properties"]["content"][0] for e in entries]
    assert contents[0]["value"].strip() == "Body of post 1."
    assert 'I liked <a href="https://example.org/slow-work/0001-post-1.html">' in contents[1]["html"]
    assert "<del>2</del>" in entries[1]["properties"]["content"][0]["html"]
    assert [e["properties"]["author"][0]["properties"]["name"][0] for e in entries] == [
        "Ana Lima", "Ben Okafor", "Ana Lima",
    ]
    assert [e["properties"]["url"][0] for e in entries] == [
        f"{BASE}slow-work/000{n}-post-{n}.html" for n in (1, 2, 3)
    ]
    assert entries[0]["properties"]["published"][0].startswith("2026-01-02T09:30:00")
    assert "in-reply-to" not in entries[0]["properties"]
    assert entries[2]["properties"]["in-reply-to"] == [f"{BASE}slow-work/0002-post-2.html"]
    assert html.index("Body of post 3.") < html.index("Next: Ben Okafor's turn")
    assert "Slow &lt;Work&gt; &amp; co" in html
    assert "Next: Ben Okafor's turn" in html
    assert 'data-due="2026-01-11T09:30:00+00:00"' in html  # 7 days after the latest post


def test_site_index_names_each_series_latest_post_and_next_author(tmp_path: Path) -> None:
    out = _site(tmp_path)
    html = (out / "index.html").read_text()
    assert 'href="https://example.org/slow-work/0003-post-3.html">Third</a>' in html
    assert "Next: Ben Okafor's turn." in html


def test_every_link_under_the_base_url_resolves_to_a_built_file(tmp_path: Path) -> None:
    out = _site(tmp_path)
    pages = sorted(out.rglob("*.html"))
    assert len(pages) == 5
    for page in pages:
        parser = _Links()
        parser.feed(page.read_text())
        for url in parser.urls:
            if not url.startswith(BASE):
                assert url.startswith("https://ana.example.com/"), (page, url)
                continue
            target = out / url.removeprefix(BASE).split("#")[0]
            if url.endswith("/"):
                target = target / "index.html"
            assert target.is_file(), (page, url)


def test_a_workspace_template_may_read_fields_as_keys_or_attributes(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    add_series(root, "s")
    add_post(root, "s", 1, title="First")
    add_post(root, "s", 2, title="Second")
    (root / "templates").mkdir()
    (root / "templates/post.html").write_text(
        '{% extends "base.html" %}{% block main %}'
        "<p>{{ post.title }}|{{ post['title'] }}|{{ reply_to['title'] if reply_to else '-' }}"
        "|{{ series['url'] }}|{{ post.author['name'] }}|{{ feeds[0]['type'] }}</p>"
        "{% endblock %}"
    )
    build_site(load_settings(root))
    page = (root / "public/s/0002-post-2.html").read_text()
    assert "<p>Second|Second|First|https://example.org/s/|Ben Okafor|application/rss+xml</p>" in page


def test_a_workspace_author_card_shows_on_post_thread_and_index_pages(tmp_path: Path) -> None:
    """Post and thread pages show ``_author.html`` rendered once per author (``card``); a
    workspace override applies everywhere, and may read ``site`` as well as ``author``."""
    root = make_workspace(tmp_path / "ws")
    add_series(root, "s")
    for turn in (1, 2, 3):
        add_post(root, "s", turn)
    (root / "templates").mkdir()
    (root / "templates/_author.html").write_text(
        '<i class="p-author h-card">{{ author.name }} of {{ site.title }} &amp; co</i>'
    )
    build_site(load_settings(root))
    out = root / "public"
    card = '<i class="p-author h-card">Ana Lima of Sample dialogues &amp; co</i>'
    assert card in (out / "s/0003-post-3.html").read_text()
    assert (out / "s/index.html").read_text().count(card) == 2  # turns 1 and 3
    assert card in (out / "index.html").read_text()
    assert card.replace("Ana Lima", "Ben Okafor") in (out / "s/0002-post-2.html").read_text()


def test_a_workspace_feeds_template_sets_the_head_and_footer_of_every_page(tmp_path: Path) -> None:
    """``_feeds.html``'s ``links()`` and ``menu()`` are rendered once per series and shown
    by ``base.html`` on every page; a workspace override applies to all of them."""
    root = make_workspace(tmp_path / "ws")
    add_series(root, "s")
    add_post(root, "s", 1)
    add_post(root, "s", 2)
    (root / "templates").mkdir()
    (root / "templates/_feeds.html").write_text(
        "{% macro links(feeds) %}<!-- {{ feeds | length }} feeds & more -->\n{% endmacro %}"
        "{% macro menu(feeds) %}{{ feeds | map(attribute='title') | join(' | ') }}{% endmacro %}"
    )
    build_site(load_settings(root))
    out = root / "public"
    for page, count, menu in (
        ("s/0001-post-1.html", 3, "S (RSS) | S (Atom) | Sample dialogues (RSS, all series)"),
        ("s/index.html", 3, "S (RSS) | S (Atom) | Sample dialogues (RSS, all series)"),
        ("index.html", 1, "Sample dialogues (RSS, all series)"),
    ):
        html = (out / page).read_text()
        assert f"<!-- {count} feeds & more -->\n</head>" in html, page
        assert f'<footer class="site-footer">\n{menu}</footer>' in html, page


def test_a_feeds_template_without_its_macros_is_a_clear_error(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    add_series(root, "s")
    add_post(root, "s", 1)
    (root / "templates").mkdir()
    (root / "templates/_feeds.html").write_text("{% macro links(feeds) %}x{% endmacro %}")
    with pytest.raises(BuildError, match=r"templates/_feeds\.html: it must define the macros"):
        build_site(load_settings(root))


# Every way a value reaches a page through {{ }}: plain, an attribute, a number, joined
# with ~, in a {% set %} block, a macro, a call block, a filter block, through |e and
# |safe, in a loop; and values that are Markup already.
_ESCAPING = (
    "{% macro m(x) %}<i>{{ x }}</i>{% endmacro %}"
    "{% macro c() %}[{{ caller() }}]{% endmacro %}"
    "{% set block %}{{ a }}|{{ n }}{% endset %}"
    "{{ a }}/{{ f.a }}/{{ n }}/{{ a ~ b }}/{{ block }}/{{ m(a) }}/{{ m(safe) }}"
    "{% call c() %}{{ a }}{% endcall %}/{% filter upper %}{{ a }}{% endfilter %}"
    "/{{ a | e }}/{{ safe }}/{{ a | safe }}/{% for x in [a, b, safe] %}{{ x }},{% endfor %}"
    "/{{ [a, b] | join(safe) }}/{{ (block ~ a) | striptags }}"
)


@given(st.text(max_size=30), st.text(max_size=30), st.integers())
@settings(max_examples=300)
def test_values_are_escaped_exactly_as_jinja_escapes_them(a: str, b: str, n: int) -> None:
    """``escape_output`` writes a value with nothing to escape as the plain string:
    every page must still be byte for byte what stock Jinja writes."""
    import jinja2
    from markupsafe import Markup

    from duologue.site.pages import PageRenderer, escape_output

    ours = PageRenderer(Path("/nonexistent")).environment
    stock = jinja2.Environment(autoescape=True)
    values = {
        "a": a,
        "b": b,
        "n": n,
        "f": {"a": a},
        "safe": Markup(f"<b>{b}</b>"),  # raw on purpose: the same in both
    }
    template = ours.from_string(_ESCAPING)
    # The sandbox's own escaper: escape_output's code, measuring with its limits.
    assert template.root_render_func.__globals__["escape"].__code__ is escape_output.__code__
    assert template.render(values) == stock.from_string(_ESCAPING).render(values)
