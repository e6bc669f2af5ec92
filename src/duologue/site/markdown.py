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


def _leak_free_renderer() -> Callable[[str, int], str] | None:
    """cmark-gfm through cmarkgfm's low-level API, freeing what it allocates.

    cmarkgfm's ``markdown_to_html_with_extensions`` never frees the document tree nor the
    rendered string (~60 KB a post: a 1,000-post series grew a worker by 70 MB). Its cffi
    declarations lack ``cmark_node_free``, so that and libc's ``free`` come from the same
    shared library through ctypes (a second cffi handle needs ``cdef``, which imports
    pycparser: ~45 ms of every build that renders a body). None when that is not possible.
    """
    try:
        import ctypes

        from cmarkgfm import _cmark
        from cmarkgfm.cmark import core_extensions_ensure_registered, find_syntax_extension

        node_free = ctypes.CDLL(_cmark.__file__).cmark_node_free
        free = ctypes.CDLL(None).free
        for function in (node_free, free):
            function.argtypes = [ctypes.c_void_p]
            function.restype = None
        address = _cmark.ffi.cast
    except Exception:  # pragma: no cover - an unexpected cmarkgfm or ctypes: use the wrapper
        return None
    lib, string = _cmark.lib, _cmark.ffi.string
    core_extensions_ensure_registered()
    extensions = [find_syntax_extension(name) for name in EXTENSIONS]

    def render(text: str, options: int) -> str:
        parser = lib.cmark_parser_new(options)
        try:
            for extension in extensions:
                lib.cmark_parser_attach_syntax_extension(parser, extension)
            data = text.encode("utf-8")
            lib.cmark_parser_feed(parser, data, len(data))
            root = lib.cmark_parser_finish(parser)
            try:
                raw = lib.cmark_render_html(
                    root, options, lib.cmark_parser_get_syntax_extensions(parser)
                )
                try:
                    return str(string(raw).decode("utf-8"))
                finally:
                    free(int(address("uintptr_t", raw)))
            finally:
                node_free(int(address("uintptr_t", root)))
        finally:
            lib.cmark_parser_free(parser)

    return render


_RENDER = _leak_free_renderer()


def _cmark(text: str, options: int) -> str:
    if _RENDER is not None:
        return _RENDER(text, options)
    return str(  # pragma: no cover - the leaking fallback
        cmarkgfm.markdown_to_html_with_extensions(text, options=options, extensions=_EXTENSIONS)
    )


def render_markdown(text: str, *, raw_html: bool = True) -> str:
    """CommonMark + tables, strikethrough and autolinks, then sanitised.

    ``raw_html=False`` promises that ``text`` came from a body without any ``<``, so it
    holds no raw HTML and no ``<...>`` autolink (a reference link's ``(<url>)`` is ours,
    with a URL of our own): cmark's safe mode then renders it as safely as nh3 would
    clean it (it blanks ``javascript:``, ``vbscript:``, ``file:`` and ``data:`` link
    URLs but for images), and nh3 is skipped — it was a third of the Markdown time.
    """
    if not raw_html:
        return _cmark(text, Options.CMARK_OPT_DEFAULT)
    return sanitize(_cmark(text, Options.CMARK_OPT_UNSAFE))


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
