"""Bodies: GitHub-flavoured Markdown, sanitised raw HTML, and [[#N]] references."""

from __future__ import annotations

from pathlib import Path

import feedparser
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from duologue.site.build import build_site
from duologue.site.load import body_references
from duologue.site.markdown import render_body, render_markdown
from duologue.workspace import load_settings
from tests.site.workspace import add_post, add_series, make_workspace

HOSTILE = """Hello.

<script>alert("x")</script>
<p onclick="steal()">click</p>
<a href="javascript:alert(1)">js</a> <img src="x" onerror="alert(3)">
<a href="JaVaScRiPt:alert(4)">mixed case</a> <iframe src="https://evil.example/"></iframe>

A Markdown link: [md](javascript:alert(2)).
"""


def _all_text(out: Path) -> dict[str, str]:
    return {p.relative_to(out).as_posix(): p.read_text() for p in out.rglob("*") if p.is_file()}


def test_scripts_event_handlers_and_javascript_urls_never_reach_pages_or_feeds(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    add_series(root, "s")
    add_post(root, "s", 1, body=HOSTILE)
    build_site(load_settings(root))
    out = root / "public"
    for name, text in _all_text(out).items():
        if name == "s/index.html":  # the thread page's own overdue script is not from a post
            continue
        lowered = text.lower()
        assert "<script" not in lowered and "&lt;script" not in lowered, name
        assert "onclick" not in lowered and "onerror" not in lowered, name
        assert "javascript:" not in lowered, name
        assert "<iframe" not in lowered and "&lt;iframe" not in lowered, name
    page = (out / "s/0001-post-1.html").read_text()
    assert "<p>click</p>" in page  # the harmless part of the raw HTML stays
    for feed_name in ("s/feed.xml", "s/atom.xml", "feed.xml"):
        entry = feedparser.parse((out / feed_name).read_bytes()).entries[0]
        assert "click" in entry.description


def test_github_extensions_render() -> None:
    html = render_markdown("| a | b |\n|---|---|\n| 1 | 2 |\n\n~~gone~~ and www.example.org\n")
    assert "<table>" in html and "<td>1</td>" in html
    assert "<del>gone</del>" in html
    assert '<a href="http://www.example.org">www.example.org</a>' in html


def _linked(body: str) -> str:
    """``body`` rendered as the build does, every reference resolving to a post titled
    ``T<n> & co``: every ``[[...]]`` of the text allowed, code or not, so only the
    rendered HTML decides what is code."""
    return render_body(
        body,
        "s",
        body_references(body, "s"),
        lambda s, t: (f"T{t} & co", f"https://example.org/{s}/{t}.html"),
    )


LINK_1 = '<a href="https://example.org/s/1.html">T1 &amp; co</a>'


@pytest.mark.parametrize(
    ("body", "linked"),
    [
        ("See [[#1]].", True),
        ("<div>\nSee [[#1]] here.\n</div>", True),  # a raw HTML block: linked, not Markdown
        ("A <em>raw [[#1]] span</em>.", True),
        ("| a |\n|---|\n| [[#1]] |", True),
        ("A <code>[[#1]]</code> in raw HTML.", False),
        ("<pre>\n[[#1]]\n</pre>", False),
        ("`[[#1]]`", False),
        ("```\n[[#1]]\n```", False),
        ("A [link with [[#1]] in it](https://example.org/x).", False),
        ("[[l](u) then [[#1]]](https://example.org/x)", False),  # cmark nests this link
        ("A [*emphasis* then [[#1]]](https://example.org/x).", False),  # a tag since <a
        ("`code` then [[#1]].", True),  # after a code span: text again
        ("![[[#1]]](picture.png)", False),  # the alt text is an attribute
        ('A <span title="a > b [[#1]]">raw title</span>.', False),
        ("    indented code [[#1]]", False),
        ("> ```\n> [[#1]]\n> ```", False),  # a fence inside a quote
        ("A ``code span with ` and [[#1]]`` here.", False),
        # Only in the HTML once cmark decoded it: not in the text, so not keyed nor linked.
        ("An entity &#91;[#1]] only.", False),
    ],
)
def test_references_are_linked_only_in_text(body: str, linked: bool) -> None:
    html = _linked(body)
    assert (LINK_1 in html) is linked, html
    if not linked:
        assert "[[#1]]" in html  # shown as written
    assert html.count("<a ") == html.count("</a>")


def test_a_reference_title_never_becomes_markup() -> None:
    html = render_body(
        "See [[#1]].", "s", [("s", 1)], lambda _s, _t: ('<b onclick="x">"hi"</b>', "https://e.org/a'b&c")
    )
    assert html == (
        '<p>See <a href="https://e.org/a&#x27;b&amp;c">'
        "&lt;b onclick=&quot;x&quot;&gt;&quot;hi&quot;&lt;/b&gt;</a>.</p>\n"
    )


def test_references_become_titled_links_and_unresolved_ones_stay_visible(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    add_series(root, "s")
    add_series(root, "other")
    add_post(root, "other", 1, title="Far <away>")
    add_post(root, "s", 1, title="First *post* ](x)")
    add_post(root, "s", 2, body=(
        "See [[#1]], [[other#1]], [[#99]] and [[nowhere#1]].\n\n"
        "In code: `[[#1]]`\n\n```\n[[#1]]\n```\n"
    ))
    build_site(load_settings(root))
    page = (root / "public/s/0002-post-2.html").read_text()
    assert '<a href="https://example.org/s/0001-post-1.html">First *post* ](x)</a>' in page
    assert '<a href="https://example.org/other/0001-post-1.html">Far &lt;away&gt;</a>' in page
    assert "[[#99]]" in page and "[[nowhere#1]]" in page
    assert "<code>[[#1]]</code>" in page
    assert "<pre><code>[[#1]]\n</code></pre>" in page


def test_a_retitled_post_retitles_the_links_to_it(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    add_series(root, "s")
    add_post(root, "s", 1, title="Old title")
    add_post(root, "s", 2, body="About [[#1]].")
    build_site(load_settings(root))
    add_post(root, "s", 1, title="New title")
    build_site(load_settings(root))
    page = (root / "public/s/0002-post-2.html").read_text()
    assert ">New title</a>" in page and "Old title" not in page
    atom = (root / "public/s/atom.xml").read_text()
    assert "Old title" not in atom


@pytest.mark.parametrize(
    "body",
    [
        "[x](javascript:alert(1))",
        "[x](JavaScript:alert(1)) and [y](vbscript:msgbox(1))",
        "[x](&#x6A;avascript:alert(1))",
        "[x][r]\n\n[r]: javascript:alert(1)",
        "![x](javascript:alert(1))",
        "<javascript:alert(1)>",
        "see <javascript:alert(1)> and [x](javascript:alert(1))",
    ],
)
def test_javascript_urls_never_survive_with_or_without_raw_html(body: str) -> None:
    html = render_body(body, "s", (), lambda _s, _t: None).lower()
    assert "javascript:" not in html.replace(">javascript:alert(1)<", "><")
    assert "vbscript:" not in html
    assert 'href="javascript' not in html and "href='javascript" not in html


def test_a_body_without_raw_html_renders_like_one_with_it() -> None:
    body = "# Title\n\nSome *text*, `code`, [a link](https://example.org/x?a=1&b=2), www.example.org.\n"
    safe = render_body(body, "s", (), lambda _s, _t: None)
    assert safe == render_markdown(body)  # safe mode == cmark UNSAFE + nh3 on this text
    assert '<a href="https://example.org/x?a=1&amp;b=2">a link</a>' in safe


_PIECES = st.sampled_from(
    [
        "a",
        " ",
        "\n",
        "\n\n",
        "|",
        "| a | b |\n|---|:--|\n| 1 | 2 |\n",
        "~",
        "~~gone~~",
        "~~~\ncode\n~~~\n",
        "www.example.org",
        "https://example.org/x",
        "me@example.org",
        "`x|y`",
        "*",
        "- ",
        "> ",
        "<b>",
        "&",
        # Where cmark-gfm's autolink extension can and cannot act (duologue leaves it out
        # of a text that cannot use it): link targets, link text, images, code, entities.
        "http",
        "://",
        ":",
        "w",
        "www.",
        "ftp://example.org",
        "[see](https://example.org/y)",
        "[https://example.org](https://example.org)",
        "![www.example.org a@b.org](https://example.org/i.png)",
        "<https://example.org/z>",
        "`https://example.org`",
        "mailto:a@example.org",
        "xmpp:a@example.org/r",
        "a&#64;example.org",
        "a&commat;example.org",
        "&#58;//",
        # A "://" found after '="http' is a link target's; quotes in text are &quot;.
        '"',
        "=",
        '="https://example.org',
        '<a href="http://example.org/a">',
        '<span title="x https://example.org">',
        "[q](/x?u=https://example.org)",
        '[t](https://example.org "title http://example.org")',
        "(",
        ")",
        "_",
        "\\",
    ]
)


@settings(max_examples=600, deadline=None)
@given(st.lists(_PIECES, max_size=12).map("".join), st.booleans())
@example("a\n:- ", False)  # a one-column table: no pipe in it
@example("a\n-:", True)
def test_the_leak_free_renderer_gives_cmarkgfms_own_html(text: str, raw: bool) -> None:
    """duologue calls cmark-gfm through its low-level API to free what it allocates: the
    HTML is what cmarkgfm's own wrapper gives, with the same extensions and options."""
    import cmarkgfm
    from cmarkgfm.cmark import Options

    from duologue.site.markdown import EXTENSIONS, _cmark

    options = Options.CMARK_OPT_UNSAFE if raw else Options.CMARK_OPT_DEFAULT
    expected = cmarkgfm.markdown_to_html_with_extensions(
        text, options=options, extensions=list(EXTENSIONS)
    )
    assert _cmark(text, options) == expected
