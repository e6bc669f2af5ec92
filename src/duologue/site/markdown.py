"""Post bodies to safe HTML: ``[[#N]]`` references, CommonMark + GitHub extensions, sanitising.

The one module that imports cmarkgfm and nh3. References become ordinary Markdown
links *before* rendering, with every punctuation character of the title
backslash-escaped, so a title can never become markup; raw HTML in a body is
kept by cmark and then cleaned by nh3 (no scripts, no ``on*=``, no
``javascript:``), so pages and feeds get the same safe HTML.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from urllib.parse import quote

import cmarkgfm
import nh3
from cmarkgfm.cmark import Options

from duologue.links import find_references

EXTENSIONS = ("table", "strikethrough", "autolink")
"""GitHub's extensions that SPEC §5 names; tasklists and tag filtering are left out."""

_EXTENSIONS = list(EXTENSIONS)

Resolver = Callable[[str, int], "tuple[str, str] | None"]
"""``(series, turn)`` → ``(title, absolute url)`` of the referenced post, or None."""

_MARKDOWN_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")

_ATTRIBUTES: dict[str, set[str]] = {
    tag: set(allowed) for tag, allowed in nh3.ALLOWED_ATTRIBUTES.items()
}
_ATTRIBUTES.setdefault("a", set()).add("title")
_ATTRIBUTES.setdefault("img", set()).add("title")
# cmark marks fenced code with class="language-x"; harmless, and stylesheets use it.
_ATTRIBUTES.setdefault("code", set()).add("class")

_CLEANER = nh3.Cleaner(
    attributes=_ATTRIBUTES,
    # No rel="noopener noreferrer" on every link: bodies cannot set target=_blank, and the
    # extra attribute would only make feed readers' HTML noisier.
    link_rel=None,
    strip_comments=True,
)


_LINKS: dict[tuple[str, str], str] = {}
"""``(title, url)`` → its Markdown link: a post is referenced by many others."""


def escape_markdown(text: str) -> str:
    """``text`` as Markdown that renders as exactly that text (all ASCII punctuation escaped)."""
    return "".join("\\" + ch if ch in _MARKDOWN_PUNCTUATION else ch for ch in text)


def markdown_url(url: str) -> str:
    """A URL safe inside ``(<...>)``: no angle brackets, spaces or line breaks."""
    return quote(url, safe=":/?#[]@!$&'()*+,;=%~-._")


def link_references(
    body: str, references: Iterable[tuple[str, int, int, int]], resolve: Resolver
) -> str:
    """Each resolvable reference as a Markdown link titled like its target.

    ``references`` are ``(series, turn, start, end)`` as ``find_references`` found them
    (outside code). A reference to nothing is left as written, so the reader sees it
    (and ``check`` reports it).
    """
    pieces: list[str] = []
    last = 0
    links = _LINKS
    for series, turn, start, end in references:
        target = resolve(series, turn)
        if target is None:
            continue
        link = links.get(target)
        if link is None:
            title, url = target
            link = links[target] = f"[{escape_markdown(title)}](<{markdown_url(url)}>)"
        pieces.append(body[last:start])
        pieces.append(link)
        last = end
    if not pieces:
        return body
    pieces.append(body[last:])
    return "".join(pieces)


def render_markdown(text: str, *, raw_html: bool = True) -> str:
    """CommonMark + tables, strikethrough and autolinks, then sanitised.

    ``raw_html=False`` promises that ``text`` came from a body without any ``<``, so it
    holds no raw HTML and no ``<...>`` autolink (a reference link's ``(<url>)`` is ours,
    with a URL of our own): cmark's safe mode then renders it as safely as nh3 would
    clean it (it blanks ``javascript:``, ``vbscript:``, ``file:`` and ``data:`` link
    URLs but for images), and nh3 is skipped — it was a third of the Markdown time.
    """
    if not raw_html:
        return str(
            cmarkgfm.markdown_to_html_with_extensions(
                text, options=Options.CMARK_OPT_DEFAULT, extensions=_EXTENSIONS
            )
        )
    html = cmarkgfm.markdown_to_html_with_extensions(
        text, options=Options.CMARK_OPT_UNSAFE, extensions=_EXTENSIONS
    )
    return sanitize(html)


def sanitize(html: str) -> str:
    """Only harmless HTML: nh3's allowlist, which drops script, on*= and javascript: URLs."""
    return str(_CLEANER.clean(html))


def find_body_references(body: str, own_series: str) -> list[tuple[str, int, int, int]]:
    """``(series, turn, start, end)`` of every reference in ``body`` outside code."""
    return [(r.series, r.turn, r.start, r.end) for r in find_references(body, own_series)]


def render_body(
    body: str, references: Iterable[tuple[str, int, int, int]], resolve: Resolver
) -> str:
    """A post body as the HTML that pages and feeds both carry."""
    return render_markdown(link_references(body, references, resolve), raw_html="<" in body)
