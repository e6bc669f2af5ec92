"""Post bodies to safe HTML: CommonMark + GitHub extensions, sanitising, ``[[#N]]`` links.

The one module that imports cmarkgfm and nh3. Raw HTML in a body is kept by cmark
and then cleaned by nh3 (no scripts, no ``on*=``, no ``javascript:``), so pages and
feeds get the same safe HTML. References are linked *after* that, in the HTML: a
``[[#N]]`` that reached the page as text (not inside code, a link, or a tag) becomes
a link titled like its target, the title escaped. Done in the Markdown instead, a
reference inside a raw HTML block showed up as ``[Title](<url>)`` and one inside a
raw ``<code>`` became a link.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

import cmarkgfm
import nh3
from cmarkgfm.cmark import Options

from duologue.errors import BodyRefused
from duologue.links import REFERENCE
from duologue.site.html_budget import examine, lost_text

EXTENSIONS = ("table", "strikethrough", "autolink")
"""GitHub's extensions that SPEC §5 names; tasklists and tag filtering are left out."""

_EXTENSIONS = list(EXTENSIONS)

Resolver = Callable[[str, int], "tuple[str, str] | None"]
"""``(series, turn)`` → ``(title, absolute url)`` of the referenced post, or None."""

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


_SERIALISED_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)(?:[^>\"]|\"[^\"]*\")*>")
_REFERENCE = REFERENCE  # the one pattern (duologue.links); here it runs over HTML
_SKIPPED = frozenset({"pre", "code", "a"})


def _text_references(html: str) -> list[re.Match[str]]:
    """References in text (not in code, a link or a tag) of cmark's own HTML.

    cmark writes no raw ``<`` or ``>`` in text or attribute values and no tag inside
    code (``<pre>`` always holds a ``<code>``), so the nearest ``<`` before a reference
    tells whether it stands inside a tag (no ``>`` since) or in code (it opens
    ``<code``); links, which may hold other tags, are found once for all of them.
    """
    matches = list(_REFERENCE.finditer(html))
    if not matches:
        return matches
    links = _link_spans(html, matches[-1].start())
    starts = [start for start, _end in links]
    found: list[re.Match[str]] = []
    # The nearest "<" and whether a ">" follows it are carried from one reference to the
    # next, each search only covering the text between them: searching back from every
    # reference to the paragraph's "<p>" made 300,000 references in one paragraph take
    # 47 s to link.
    tag, closed, scanned = -1, True, 0
    for match in matches:
        start = match.start()
        nearest = html.rfind("<", scanned, start)
        if nearest >= 0:
            tag = nearest
            closed = html.find(">", tag, start) >= 0
        elif not closed:
            closed = html.find(">", scanned, start) >= 0
        scanned = start
        if tag >= 0 and (not closed or html.startswith("<code", tag)):
            continue
        inside = bisect_right(starts, start)
        if inside and links[inside - 1][1] > start:
            continue
        found.append(match)
    return found


def _link_spans(html: str, before: int) -> list[tuple[int, int]]:
    """``(start, end)`` of each outermost ``<a ...>...</a>`` of cmark's HTML that starts
    before ``before`` (cmark always writes ``<a href="``, and nests a link in a link's
    text for ``[[x](u) y](v)``)."""
    spans: list[tuple[int, int]] = []
    # The whole opening: searching for "<a " stopped at every space of the text (the spans
    # of a bench corpus body took 10.3 µs, now 5.7).
    start = html.find(_LINK_OPENING, 0, before)
    while start >= 0:
        depth, at = 1, start + len(_LINK_OPENING)
        while depth:
            end = html.find("</a>", at)
            if end < 0:
                at = end = len(html)
                break
            inner = html.find(_LINK_OPENING, at, end)
            if inner >= 0:
                depth, at = depth + 1, inner + len(_LINK_OPENING)
            else:
                depth, at = depth - 1, end + 4
        spans.append((start, end))
        start = html.find(_LINK_OPENING, at, before)
    return spans


_LINK_OPENING = '<a href="'


def _sanitised_text_references(html: str) -> list[re.Match[str]]:
    """The same for nh3's output, whose attribute values may hold a raw ``>`` (always in
    double quotes, a ``"`` written as ``&quot;``): a tokenizer that knows quotes."""
    found: list[re.Match[str]] = []
    depth = 0
    pos = 0
    for tag in _SERIALISED_TAG.finditer(html):
        if depth == 0:
            found.extend(_REFERENCE.finditer(html, pos, tag.start()))
        if tag.group(2).lower() in _SKIPPED:
            depth = max(0, depth + (-1 if tag.group(1) else 1))
        pos = tag.end()
    if depth == 0:
        found.extend(_REFERENCE.finditer(html, pos))
    return found


def _escape_text(text: str) -> str:
    """As cmark escapes text: ``&``, ``<``, ``>`` and ``"``."""
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def _escape_href(url: str) -> str:
    """As cmark writes a link's href: unsafe characters percent-encoded, ``&`` and ``'``
    as entities."""
    return quote(url, safe=":/?#[]@!$&'()*+,;=%~-._").replace("&", "&amp;").replace("'", "&#x27;")


_LINKS: dict[tuple[str, str], str] = {}
"""``(title, url)`` → its ``<a>``: a post is referenced by many others."""


def link_references(
    html: str,
    own_series: str,
    allowed: Iterable[tuple[str, int]],
    resolve: Resolver,
    *,
    sanitised: bool,
) -> str:
    """Each reference in the text of ``html`` as a link titled like its target.

    Only references listed in ``allowed`` (every ``[[...]]`` of the Markdown text, as
    ``duologue.site.load.body_references`` finds them) are linked, so the build's
    dependency keys always cover every title a page shows: a reference that only
    appears once cmark has decoded an entity or an escape stays as written. A reference
    to nothing is left as written too, so the reader sees it (and ``check`` reports it).
    """
    wanted = set(allowed)
    if not wanted:  # most bodies: then their HTML is not searched at all
        return html
    matches = _sanitised_text_references(html) if sanitised else _text_references(html)
    pieces: list[str] = []
    last = 0
    for match in matches:
        key = (match.group("series") or own_series, int(match.group("turn")))
        target = resolve(*key) if key in wanted else None
        if target is None:
            continue
        link = _LINKS.get(target)
        if link is None:
            title, url = target
            link = _LINKS[target] = f'<a href="{_escape_href(url)}">{_escape_text(title)}</a>'
        pieces.append(html[last : match.start()])
        pieces.append(link)
        last = match.end()
    if not pieces:
        return html
    pieces.append(html[last:])
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
    table, strikethrough, autolink = (find_syntax_extension(name) for name in EXTENSIONS)

    def run(data: bytes, options: int, extensions: list[Any]) -> str:
        parser = lib.cmark_parser_new(options)
        try:
            for extension in extensions:
                lib.cmark_parser_attach_syntax_extension(parser, extension)
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

    def render(text: str, options: int) -> str:
        # An extension only joins when the text can use it: each one makes cmark stop at
        # its characters, and autolink's stops at every "w" and ":" took a third of the
        # time of a post with no bare link at all.
        extensions = []
        # A one-column table needs no pipe: "a" over ":-" (or "-:") is one.
        if "|" in text or ":-" in text or "-:" in text:
            extensions.append(table)
        if "~" in text:
            extensions.append(strikethrough)
        if "@" in text:
            extensions.append(autolink)
        data = text.encode("utf-8")
        html = run(data, options, extensions)
        if autolink not in extensions and _autolink_can_act(html):
            html = run(data, options, [*extensions, autolink])
        return html

    return render


def _autolink_can_act(html: str) -> bool:
    """Whether cmark-gfm's autolink extension (``extensions/autolink.c``) could have
    changed ``html``, which cmark rendered without it.

    It links ``www.`` and ``<scheme>://`` where they stand in text, and e-mail addresses
    in text after entities are decoded (``&#64;``): each of which reaches the HTML as
    written. Most bodies have ``://`` only in the targets of ``[text](https://...)``,
    inside a tag, where the extension never looks.
    """
    if "@" in html or "www." in html:
        return True
    # Found from each ":" (a memchr; a search for "://" cost 5 µs a post): a link target
    # opens with it (href="https://…"), and cmark writes '"' in text as &quot;.
    at = html.find(":")
    while at >= 0:
        if html.startswith("//", at + 1) and not html.endswith(_SCHEME_ATTRIBUTE, 0, at):
            return _in_text(html, "://", at)
        at = html.find(":", at + 1)
    return False


_SCHEME_ATTRIBUTE = ('="http', '="https')


def _in_text(html: str, needle: str, start: int = 0) -> bool:
    """Whether ``needle`` occurs in ``html`` outside a tag, from ``start`` on. cmark escapes
    ``<`` and ``>`` in text and attribute values alike, so a ``>`` before any ``<`` means
    inside a tag (raw HTML it passes through may hold a ``>`` in quotes, but then still
    inside the tag)."""
    at = html.find(needle, start)
    while at >= 0:
        close = html.find(">", at)
        if close < 0 or html.find("<", at, close) >= 0:
            return True
        at = html.find(needle, close)
    return False


_RENDER = _leak_free_renderer()


def _cmark(text: str, options: int) -> str:
    if _RENDER is not None:
        return _RENDER(text, options)
    return str(  # pragma: no cover - the leaking fallback
        cmarkgfm.markdown_to_html_with_extensions(text, options=options, extensions=_EXTENSIONS)
    )


def render_markdown(text: str, *, raw_html: bool = True) -> str:
    """CommonMark + tables, strikethrough and autolinks, then sanitised.

    ``raw_html=False`` promises that ``text`` holds no ``<``, so no raw HTML and no
    ``<...>`` autolink: cmark's safe mode then renders it as safely as nh3 would clean
    it (it blanks ``javascript:``, ``vbscript:``, ``file:`` and ``data:`` link URLs but
    for images), and nh3 is skipped — it was a third of the Markdown time.
    """
    if not raw_html:
        return _cmark(text, Options.CMARK_OPT_DEFAULT)
    html = _cmark(text, Options.CMARK_OPT_UNSAFE)
    # Hostile HTML made nh3 take minutes, or the rest of a post vanish without a word:
    # duologue.site.html_budget refuses it first, and checks what nh3 kept after.
    examined = examine(html)
    problem = examined.problem
    if problem is not None:
        raise BodyRefused(_located(text, problem.snippet, html[: problem.offset], problem.message))
    clean = sanitize(html)
    lost = lost_text(examined.text, clean)
    if lost is not None:
        raise BodyRefused(
            _located(
                text,
                lost,
                "",
                f"the text {_quoted(lost)}would not be shown: the sanitiser removes it with "
                "the HTML around it (a <template>, a tag named like an SVG or MathML "
                "element, a script's end hidden in a comment); take that HTML out.",
            )
        )
    return clean


def body_problem(body: str) -> str | None:
    """Why the build would refuse ``body`` (``BodyRefused``'s message), or None: for
    ``check``, which does not render bodies otherwise."""
    if "<" not in body:
        return None
    try:
        render_markdown(body)
    except BodyRefused as refused:
        return refused.message
    return None


def _located(text: str, snippet: str, before: str, message: str) -> str:
    """``message`` as "line N of the body: ...": the line where ``snippet`` (as written in
    the body) stands, counting the times cmark's HTML held it ``before`` the fault; just
    ``message`` when the body does not hold it (cmark wrote it: a quote or a list)."""
    found = -1
    if snippet:
        found = text.find(snippet)
        for _ in range(before.count(snippet)):
            later = text.find(snippet, found + 1)
            if later < 0:
                break
            found = later
    if found < 0:
        return message
    return f"line {text.count(chr(10), 0, found) + 1} of the body: {message}"


def _quoted(word: str) -> str:
    if not word:
        return ""
    shown = "".join(c if c.isprintable() else " " for c in word[:40])
    return f"“{shown}{'…' if len(word) > 40 else ''}” "


def sanitize(html: str) -> str:
    """Only harmless HTML: nh3's allowlist, which drops script, on*= and javascript: URLs."""
    return str(_CLEANER.clean(html))


def render_body(
    body: str,
    own_series: str,
    references: Iterable[tuple[str, int]],
    resolve: Resolver,
) -> str:
    """A post body as the HTML that pages and feeds both carry; ``references`` are what
    ``duologue.site.load.body_references`` found in it."""
    raw_html = "<" in body
    html = render_markdown(body, raw_html=raw_html)
    return link_references(html, own_series, references, resolve, sanitised=raw_html)
