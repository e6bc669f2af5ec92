"""Before nh3 sees a body's HTML: refuse what would cost it too much or lose text.

nh3 parses HTML with html5ever, the HTML standard's tree builder. Its work per tag
grows with the *stack of open elements* (scope checks walk it) and the *list of
active formatting elements* (a ``<b>`` left open is reopened in every later block),
so hostile HTML made it superlinear: 50,000 nested ``<div>`` took 31 s, and 39
formatting tags left open before 100,000 ``<div>x</div>`` made 1.2 MB into 34 MB.

``examine`` reads the HTML once, in linear time, with a *simplified* tree builder:
it keeps the list of active formatting elements as the standard does (markers,
"Noah's Ark", reopening) and pushes and pops open elements as html5ever would, or
pops fewer, so that its depth, its count of elements and its count of work can only
be larger than html5ever's (``tests/hostile/test_html_budget.py`` holds it to nh3's
own output on generated tag soup). It refuses nesting past ``MAX_DEPTH``, more than
``MAX_FORMATTING`` formatting elements active, more than ``MAX_REOPENED`` reopened,
and more than ``MAX_WORK`` steps (an element walked past by a scope check or a list
search, or made). It also refuses what would take text off the page without a word:
a ``<script>``, ``<style>``, comment or tag never closed (the rest of the post would
be its content), and ``<svg>``, ``<math>`` and ``<select>``, which nh3 removes and
whose parsing rules differ. ``lost_text`` then compares the text of the HTML with
the text nh3 kept, for every other way of losing it (``<template>``, tags named like
SVG or MathML elements, a script's end hidden by its own comment).
"""

from __future__ import annotations

import html as entities
import re
from collections import Counter
from dataclasses import dataclass

MAX_DEPTH = 512
"""Elements open at once (as this model counts them, tables count three: html5ever
adds their row groups and rows). Blink stops nesting at 512; real posts stay under 30."""
MAX_FORMATTING = 256
"""Formatting elements (``<b>``, ``<i>``, ``<a>``…) left open at once."""
MAX_REOPENED = 20_000
"""Formatting elements reopened in one body. Browsers do it too (a ``<b>`` left open
bolds every later paragraph), but each is one more element on the page: 39 left open
before 100,000 blocks made a 1.2 MB body into 34 MB of page."""
MAX_WORK = 200_000_000
"""Steps of html5ever's work, an upper bound: about a second of nh3 on this project's
machine, a thousand times what the longest real post asks for."""


@dataclass(frozen=True)
class HtmlProblem:
    """Why the HTML is refused: ``offset`` of the construct at fault in the HTML,
    ``snippet`` its opening text as written, ``message`` a sentence without the file."""

    offset: int
    snippet: str
    message: str


class _Refused(Exception):
    def __init__(self, offset: int, snippet: str, message: str) -> None:
        super().__init__(message)
        self.problem = HtmlProblem(offset, snippet, message)


# --- the tokenizer's view of a tag -------------------------------------------------------
# After "<" and a letter: a name, then attributes, then ">". A quote opens a value only
# right after an attribute's "=" and must close; possessive groups fail in linear time.
_ATTR = (
    r"[^\t\n\f\r />][^\t\n\f\r />=]*+"
    r"(?:(?=[\t\n\f\r ]*+=)(?>[\t\n\f\r ]*+=[\t\n\f\r ]*+"
    r"""(?:"[^"]*+"|'[^']*+'|[^\t\n\f\r >"'][^\t\n\f\r >]*+|(?=>)))|(?![\t\n\f\r ]*+=))"""
)
_TAG = re.compile(r"</?([A-Za-z][^\t\n\f\r />]*+)((?:[\t\n\f\r /]++|" + _ATTR + r")*+)>")
_COMMENT_END = re.compile(r"--!?>")
_TAG_OPENING = re.compile(r"</?[A-Za-z][^\t\n\f\r />]*")
_SERIALISED_TAG = re.compile(r"<[^>\"]*(?:\"[^\"]*\"[^>\"]*)*>")  # nh3's output: quotes are "
_RAW_ENDS: dict[str, re.Pattern[str]] = {}
_DROPPED = frozenset(("script", "style"))  # content removed, as its author meant
_RCDATA = frozenset(("textarea", "title"))  # content is text, entities decoded
_RAWTEXT = frozenset(("xmp", "iframe", "noembed", "noframes", "noscript"))  # literal text
_FOREIGN = frozenset(("svg", "math"))


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


# --- the tree builder's sets (the HTML standard, "parsing HTML documents") ---------------
_VOID = _names("""area base basefont bgsound br col embed frame hr image img input keygen
    link meta param source track wbr""")
_IGNORED = _names("html head body frameset")
_FORMATTING = _names("a b big code em font i nobr s small strike strong tt u")
_MARKERS = _names("applet caption marquee object td th template")
_SCOPE = _names("applet caption html table td th marquee object template select")
_SPECIAL = _names("""address applet area article aside base basefont bgsound blockquote body br
    button caption center col colgroup dd details dir div dl dt embed fieldset figcaption
    figure footer form frame frameset h1 h2 h3 h4 h5 h6 head header hgroup hr html iframe
    img input keygen li link listing main marquee menu meta nav noembed noframes noscript
    object ol p param plaintext pre script search section select source style summary
    table tbody td template textarea tfoot th thead title tr track ul wbr xmp""")
_CLOSES_P = _names("""address article aside blockquote center details dialog dir div dl
    fieldset figcaption figure footer header hgroup main menu nav ol p search section
    summary ul h1 h2 h3 h4 h5 h6 pre listing form hr li dd dt table plaintext xmp""")
_HEADINGS = _names("h1 h2 h3 h4 h5 h6")
_BLOCK_STARTS = _names("""caption col colgroup frame head iframe noembed noscript tbody td
    textarea tfoot th thead tr style script title template base basefont bgsound link
    meta param source track rb rtc rp rt""")
"""Start tags (besides those that close a <p>) before which html5ever reopens nothing."""

# Barriers, by kind: the nearest one below the top bounds a scope check.
_BARRIER_SCOPE = 1  # default scope
_BARRIER_BUTTON = 2  # button scope: default + button
_BARRIER_LIST = 4  # list item scope: default + ol, ul
_BARRIER_TABLE = 8  # table scope: html, table, template
_BARRIER_SPECIAL = 16  # where li, dd and dt stop looking: special but address, div, p
_BARRIER_BLOCK = 32  # any special element: a misnested </b> around one moves elements
_KINDS: dict[str, int] = {}
for _name in _SCOPE:
    _KINDS[_name] = _BARRIER_SCOPE | _BARRIER_BUTTON | _BARRIER_LIST
for _name in ("html", "table", "template"):
    _KINDS[_name] |= _BARRIER_TABLE
_KINDS["button"] = _BARRIER_BUTTON
for _name in ("ol", "ul"):
    _KINDS[_name] = _BARRIER_LIST
for _name in _SPECIAL - {"address", "div", "p"}:
    _KINDS[_name] = _KINDS.get(_name, 0) | _BARRIER_SPECIAL
for _name in _SPECIAL:
    _KINDS[_name] = _KINDS.get(_name, 0) | _BARRIER_BLOCK
_BARRIERS = (
    _BARRIER_SCOPE,
    _BARRIER_BUTTON,
    _BARRIER_LIST,
    _BARRIER_TABLE,
    _BARRIER_SPECIAL,
    _BARRIER_BLOCK,
)
_SCOPE_KIND, _BUTTON, _LIST_KIND, _TABLE_KIND, _SPECIAL_KIND, _BLOCK_KIND = range(6)
"""Indexes into ``_Builder.nearest``, one per barrier kind."""
_END_SCOPES = {
    "p": _BUTTON,
    "li": _LIST_KIND,
    **dict.fromkeys(("table", "caption", "tbody", "thead", "tfoot", "tr", "td", "th"), _TABLE_KIND),
    **dict.fromkeys(
        _names("""address article aside blockquote button center details dialog dir div dl
        fieldset figcaption figure footer header hgroup listing main menu nav ol pre search
        section summary ul form dd dt h1 h2 h3 h4 h5 h6 applet marquee object"""),
        _SCOPE_KIND,
    ),
}
"""End tags closed when their element is in a scope; any other stops at a special element."""
_LIST_ITEMS = {"li": ("li",), "dd": ("dd", "dt"), "dt": ("dd", "dt")}
_TABLE_PARTS = {
    "td": ("td", "th"),
    "th": ("td", "th"),
    "tr": ("tr",),
    "tbody": ("tbody", "thead", "tfoot"),
    "thead": ("tbody", "thead", "tfoot"),
    "tfoot": ("tbody", "thead", "tfoot"),
}
_TABLE_SPACES = frozenset(("table", "tbody", "thead", "tfoot", "tr"))
_ASCII_LOWER = {c: c + 32 for c in range(65, 91)}
_Key = tuple[str, str]
"""A formatting element: its name and its start tag's attributes, as written."""


class _Builder:
    """Open elements as html5ever would keep them, or more, and its list of active
    formatting elements exactly. Every loop here adds at least its length to ``work``,
    so this model's own cost is bounded by ``MAX_WORK`` too."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.ids: list[int] = []
        """Per open element: its id if it is a formatting element, else -1."""
        self.where: dict[str, list[int]] = {}
        """Name → indexes in ``names`` of the open elements of that name."""
        self.floors: list[tuple[int, ...]] = [(-1,) * len(_BARRIERS)]
        """Per level (and one below the bottom): for each barrier kind, the index of
        the nearest such element at or below it, so a scope check is two look-ups."""
        self.tables = 0
        self.work = 0
        self.reopened = 0
        self.deepest = 0
        self.elements = 0
        """Elements made: pushed, void, or implied (a table's row groups and rows)."""
        # The list of active formatting elements: ids, None for a marker (a cell, caption,
        # object…, whose formatting ends with it). An id's element may be open or closed
        # (by a block: reopened at the next text or inline tag).
        self.entries: list[int | None] = []
        self.entry_keys: list[_Key | None] = []
        """The key of each entry (None for a marker): counted at C speed."""
        self.markers: list[int] = []
        """Indexes of the markers in ``entries`` (entries are only ever removed after the
        last one, so these stay right)."""
        self.keys: dict[int, _Key] = {}
        self.index_of: dict[int, int] = {}
        """Id → index in ``names`` of the open formatting elements."""
        self.active_total = 0
        self.next_id = 0
        self.form_open = False
        """A <form> is open (html5ever's "form element pointer")."""

    @property
    def depth(self) -> int:
        return len(self.names) + 2 * self.tables

    def push(self, name: str, key: _Key | None = None) -> int:
        """Open an element; its id if it is a formatting element (``key``)."""
        self.elements += 1
        ident = -1
        if key is not None:
            ident = self.next_id
            self.next_id += 1
            self.keys[ident] = key
        if name in _MARKERS:
            self.markers.append(len(self.entries))
            self.entries.append(None)
            self.entry_keys.append(None)
        self._place(name, ident)
        return ident

    def pop_to(self, index: int) -> None:
        """Pop the element at ``index`` and every one above it."""
        while len(self.names) > index:
            if self._take() in _MARKERS:
                while self.entries:  # the formatting opened inside it ends with it
                    self.work += 1
                    self.entry_keys.pop()
                    if self.entries.pop() is None:
                        self.markers.pop()
                        break
                    self.active_total -= 1
            self.work += 1

    def remove_at(self, index: int) -> None:
        """Take the element at ``index`` out of the stack, keeping those above it."""
        above = []
        while len(self.names) > index + 1:
            ident = self.ids[-1]
            above.append((self._take(), ident))
        self._take()
        for name, ident in reversed(above):
            self._place(name, ident)
        self.work += len(above)

    def _place(self, name: str, ident: int) -> None:
        index = len(self.names)
        self.names.append(name)
        self.ids.append(ident)
        if ident >= 0:
            self.index_of[ident] = index
        self.where.setdefault(name, []).append(index)
        kind = _KINDS.get(name, 0)
        below = self.floors[-1]
        if kind:
            below = tuple(
                index if kind & bit else floor for bit, floor in zip(_BARRIERS, below, strict=True)
            )
        self.floors.append(below)
        if name == "table":
            self.tables += 1
        if self.depth > self.deepest:
            self.deepest = self.depth

    def _take(self) -> str:
        name = self.names.pop()
        ident = self.ids.pop()
        if ident >= 0:
            del self.index_of[ident]
        self.where[name].pop()
        self.floors.pop()
        if name == "table":
            self.tables -= 1
        return name

    def in_scope(self, name: str, barrier: int) -> int:
        """The index of the nearest open ``name`` within the scope, or -1."""
        found = self.where.get(name)
        return self.index_in_scope(found[-1] if found else -1, barrier)

    def index_in_scope(self, index: int, barrier: int) -> int:
        """``index`` if the element there is within the scope, else -1."""
        # html5ever walks down from the top to the element or the barrier: that is work.
        floor = self.floors[-1][barrier]
        if index >= floor:
            self.work += len(self.names) - index
            return index
        self.work += len(self.names) - floor
        return -1

    def close_p(self) -> None:
        index = self.in_scope("p", _BUTTON)
        if index >= 0:
            self.pop_to(index)

    def reconstruct(self) -> None:
        """Reopen the active formatting elements a block closed (before text or a tag)."""
        entries = self.entries
        if not entries or entries[-1] is None or entries[-1] in self.index_of:
            return
        first = len(entries) - 1
        while (
            first > 0 and entries[first - 1] is not None and entries[first - 1] not in self.index_of
        ):
            first -= 1
        for at in range(first, len(entries)):
            old = entries[at]
            assert old is not None
            key = self.keys.pop(old)
            entries[at] = self.push(key[0], key)
            self.reopened += 1
            self.work += 1

    def _last_entry(self, name: str) -> int:
        """Index in ``entries`` of the last one named ``name`` after the last marker, or -1."""
        entries, keys = self.entries, self.keys
        for at in range(len(entries) - 1, -1, -1):
            self.work += 1
            ident = entries[at]
            if ident is None:
                return -1
            if keys[ident][0] == name:
                return at
        return -1

    def _drop_entry(self, at: int) -> None:
        ident = self.entries.pop(at)
        self.entry_keys.pop(at)
        self.work += len(self.entries) - at
        if ident is not None:
            self.active_total -= 1
            if ident not in self.index_of:
                del self.keys[ident]

    def add_formatting(self, name: str, attributes: str) -> None:
        key = (name, attributes)
        # "Noah's Ark": a fourth alike (after the last marker) takes the first's place;
        # html5ever compares it with each entry there.
        start = self.markers[-1] + 1 if self.markers else 0
        since = self.entry_keys[start:]
        self.work += len(since)
        if since.count(key) >= 3:
            self._drop_entry(start + since.index(key))
        self.entries.append(self.push(name, key))
        self.entry_keys.append(key)
        self.active_total += 1

    def end_formatting(self, name: str) -> bool:
        """``</b>`` and the like (the "adoption agency"); False if no ``name`` is active."""
        at = self._last_entry(name)
        if at < 0:
            return False
        ident = self.entries[at]
        assert ident is not None
        index = self.index_of.get(ident, -1)
        if index < 0:
            self._drop_entry(at)  # closed already: only its entry goes
            return True
        if self.index_in_scope(index, _SCOPE_KIND) < 0:
            return True  # open but out of scope (behind a cell): html5ever leaves it be
        above = len(self.names) - index - 1
        if self.floors[-1][_BLOCK_KIND] > index:
            # Misnested around a block: html5ever takes it out of the stack and, once for
            # each block above it (8 at most), moves that block out and makes a copy of it
            # inside (up to 3 more copies of formatting elements on the way), each a walk.
            # Past 8 blocks a copy stays active: this model keeps the entry (reopened later).
            rounds = min(above, 8)
            self.work += rounds * (above + len(self.entries))
            self.elements += 4 * rounds
            self.remove_at(index)
            if above > 8:
                return True
        else:
            self.pop_to(index)  # nothing special above it: closed with what it holds
        self._drop_entry(at)
        return True


@dataclass(frozen=True)
class Examined:
    """What ``examine`` found: why nh3 should not be given the HTML (or None), the text a
    reader should see, and upper bounds of the tree nh3 would build: its depth and its
    number of elements."""

    problem: HtmlProblem | None
    text: str
    deepest: int
    elements: int


def examine(html: str) -> Examined:
    """Read ``html`` as nh3 would, in time linear in its length."""
    pieces: list[str] = []
    builder = _Builder()
    try:
        _walk(html, pieces, builder)
    except _Refused as refused:
        return Examined(refused.problem, "", builder.deepest, builder.elements)
    return Examined(None, entities.unescape("".join(pieces)), builder.deepest, builder.elements)


def _walk(html: str, pieces: list[str], builder: _Builder) -> None:
    find, length = html.find, len(html)
    at = 0
    while at < length:
        start = find("<", at)
        if start < 0:
            start = length
        if start > at:
            text = html[at:start]
            pieces.append(text)
            # Formatting a block closed reopens around text, but for blanks straight in a
            # table (html5ever files those in the table).
            top = builder.names[-1] if builder.names else ""
            if not (top in _TABLE_SPACES and text.isspace()):
                builder.reconstruct()
        if start == length:
            return
        following = html[start + 1 : start + 2]
        if (
            following == "/"
            and html[start + 2 : start + 3].isascii()
            and html[start + 2 : start + 3].isalpha()
        ):
            tag = _TAG.match(html, start)
            if tag is None:
                raise _unclosed(html, start)
            _end_tag(builder, _lower(tag.group(1)))
            at = tag.end()
        elif following in ("!", "?", "/"):
            at = _skip_markup(html, start)
        elif following.isascii() and following.isalpha():
            tag = _TAG.match(html, start)
            if tag is None:
                raise _unclosed(html, start)
            at = _start_tag(builder, html, start, tag, pieces)
        else:
            pieces.append("<")  # a "<" in text
            at = start + 1
        if builder.depth > MAX_DEPTH:
            raise _Refused(
                start,
                html[start:at],
                f"the HTML nests more than {MAX_DEPTH} levels deep at {_shown(html, start)} "
                "(Markdown quotes and lists count too); close its elements or flatten it.",
            )
        if builder.active_total > MAX_FORMATTING:
            raise _Refused(
                start,
                html[start:at],
                f"more than {MAX_FORMATTING} formatting tags (<b>, <i>, <a>…) are left open "
                f"at {_shown(html, start)}; close them.",
            )
        if builder.reopened > MAX_REOPENED:
            raise _Refused(
                start,
                html[start:at],
                f"formatting tags left open (<b>, <i>, <a>…) are reopened in every later "
                f"block, more than {MAX_REOPENED:,} times by {_shown(html, start)}; "
                "close them where they should end.",
            )
        if builder.work > MAX_WORK:
            raise _Refused(
                start,
                html[start:at],
                f"the HTML would cost the sanitiser more than {MAX_WORK:,} steps by "
                f"{_shown(html, start)}: {builder.depth} elements are open there and "
                f"{builder.active_total} formatting tags; close them or split the post.",
            )


def _unclosed(html: str, start: int) -> _Refused:
    opening = _TAG_OPENING.match(html, start)
    return _Refused(
        start,
        opening.group(0) if opening else html[start : start + 2],
        f"the tag {_shown(html, start)} is never closed with '>' (a quote left open?), "
        "so the rest of the post would not be shown; close it.",
    )


def _start_tag(
    builder: _Builder, html: str, start: int, tag: re.Match[str], pieces: list[str]
) -> int:
    """Apply a start tag; where the tokenizer goes on (past a raw-text element's content)."""
    end, name = tag.end(), _lower(tag.group(1))
    builder.work += 1
    if name in _FOREIGN:
        raise _Refused(
            start,
            html[start:end],
            f"{_shown(html, start)}: SVG and MathML are not shown on pages (the sanitiser "
            "removes them with what they hold); use an image or plain text instead.",
        )
    if name == "select":
        # Parsed by rules of its own (which change between html5ever versions), and
        # never shown: the sanitiser removes form controls.
        raise _Refused(
            start,
            html[start:end],
            f"{_shown(html, start)}: form controls are not shown on pages (the sanitiser "
            "removes them); write the choices as a list instead.",
        )
    if name in _IGNORED:
        return end
    if name == "form":
        if builder.form_open:
            return end  # a form inside a form is ignored
        builder.form_open = True
    if name in _TABLE_PARTS or name == "table":
        builder.elements += 2  # a <tbody> and a <tr> it may imply
    if name in _CLOSES_P:
        builder.close_p()
    if name in _HEADINGS and builder.names and builder.names[-1] in _HEADINGS:
        builder.pop_to(len(builder.names) - 1)
    elif name in _LIST_ITEMS:
        for other in _LIST_ITEMS[name]:
            found = builder.where.get(other)
            floor = builder.floors[-1][_SPECIAL_KIND]
            builder.work += len(builder.names) - floor  # the walk looks this far at most
            if found and found[-1] >= floor:
                builder.pop_to(found[-1])
    elif name == "table":
        _close_table_in_table(builder)
    elif name in _TABLE_PARTS or name == "caption" or name == "colgroup":
        if not builder.where.get("table"):
            return end  # a cell, row or caption outside any table is ignored
        if name == "caption" or name == "colgroup":
            _close_table_part(builder, ("caption", "colgroup"))
            builder.push(name)
            return end
        _close_table_part(builder, _TABLE_PARTS[name])
    elif name == "button":
        index = builder.in_scope("button", _SCOPE_KIND)
        if index >= 0:
            builder.pop_to(index)  # a button in a button closes the first
    elif name == "option" or name == "optgroup":
        for closed in ("option",) if name == "option" else ("option", "optgroup"):
            if builder.names and builder.names[-1] == closed:
                builder.pop_to(len(builder.names) - 1)
    if name not in _CLOSES_P and name not in _BLOCK_STARTS:
        builder.reconstruct()  # a block starts without: its text reopens inside it
    if name in _FORMATTING:
        if (name == "a" or name == "nobr") and builder.end_formatting(name):
            builder.reconstruct()  # a link inside a link closes the first
        builder.add_formatting(name, tag.group(2))
        return end
    if name not in _VOID:
        builder.push(name)
    else:
        builder.elements += 1
    if name == "plaintext":
        pieces.append(entities.escape(html[end:], quote=False))  # the rest, as written
        return len(html)
    if name in _DROPPED or name in _RCDATA or name in _RAWTEXT:
        return _raw_text(builder, html, start, end, name, pieces)
    return end


def _close_table_in_table(builder: _Builder) -> None:
    """A table straight inside a table (not in a cell) ends the first one."""
    tables = builder.where.get("table")
    if not tables:
        return
    inner = max((builder.where.get(kind) or [-1])[-1] for kind in ("td", "th", "caption"))
    if tables[-1] > inner:
        builder.pop_to(tables[-1])


def _close_table_part(builder: _Builder, kinds: tuple[str, ...]) -> None:
    """A cell, row or row group starts: the open one of its kind ends (within its table)."""
    tables = builder.where.get("table")
    floor = tables[-1] if tables else -1
    nearest = max((builder.where.get(kind) or [-1])[-1] for kind in kinds)
    if nearest > floor:
        builder.pop_to(nearest)


def _end_tag(builder: _Builder, name: str) -> None:
    builder.work += 1
    if name == "br":  # read as <br>
        builder.reconstruct()
        builder.elements += 1
        return
    if name in _FORMATTING and builder.end_formatting(name):
        return
    if name in _HEADINGS:  # any heading's end tag closes the open heading
        name = max(_HEADINGS, key=lambda heading: (builder.where.get(heading) or [-1])[-1])
    index = builder.in_scope(name, _END_SCOPES.get(name, _BLOCK_KIND))
    if name == "form":
        # html5ever takes the form off the stack, but what follows stays inside it.
        builder.form_open = False
        return
    if index >= 0:
        builder.pop_to(index)
    elif name == "p":
        builder.elements += 1  # "</p>" with no <p> open makes an empty one
        builder.deepest = max(builder.deepest, builder.depth + 1)


def _raw_text(
    builder: _Builder, html: str, start: int, end: int, name: str, pieces: list[str]
) -> int:
    """Past a raw-text element's content and end tag; refuse a script or style whose end
    never comes (what follows would vanish with it)."""
    pattern = _RAW_ENDS.get(name)
    if pattern is None:
        pattern = _RAW_ENDS[name] = re.compile(rf"</{name}[\t\n\f\r />]", re.IGNORECASE)
    close = pattern.search(html, end)
    stop = close.start() if close is not None else len(html)
    if close is None and name in _DROPPED:
        raise _Refused(
            start,
            html[start:end],
            f"{_shown(html, start)} is never closed, so the rest of the post would be "
            f"taken for its content and not shown; add </{name}>.",
        )
    if name in _RCDATA:
        pieces.append(html[end:stop])
    elif name in _RAWTEXT:
        pieces.append(entities.escape(html[end:stop], quote=False))
    builder.pop_to(builder.where[name][-1])
    if close is None:
        return len(html)
    tag = _TAG.match(html, stop)
    if tag is None:
        raise _unclosed(html, stop)
    return tag.end()


def _skip_markup(html: str, start: int) -> int:
    """Past a comment, ``<!…>``, ``<?…>`` or ``</…>`` at ``start``; refuse one never closed."""
    if html.startswith("<!--", start):
        if html.startswith(">", start + 4) or html.startswith("->", start + 4):
            return html.index(">", start + 4) + 1  # "<!-->" and "<!--->" end at once
        close = _COMMENT_END.search(html, start + 4)
        if close is None:
            raise _Refused(
                start,
                "<!--",
                "a comment (<!--) is never closed, so the rest of the post would not be "
                "shown; end it with -->.",
            )
        return close.end()
    if html.startswith("</>", start):
        return start + 3
    bracket = html.find(">", start)
    if bracket < 0:
        raise _Refused(
            start,
            html[start : start + 2],
            f"{_shown(html, start)} is never closed with '>', so the rest of the post "
            "would not be shown; close it, or write &lt; for a '<' in text.",
        )
    return bracket + 1


def _lower(name: str) -> str:
    # The tokenizer lowers ASCII letters only.
    return name.lower() if name.isascii() else name.translate(_ASCII_LOWER)


def _shown(html: str, start: int) -> str:
    """The opening of a tag, at most 40 characters, on one line, for a message."""
    end = html.find(">", start, start + 40)
    piece = html[start : end + 1] if end >= 0 else html[start : start + 40] + "…"
    return "".join(c if c.isprintable() else " " for c in piece)


# --- text lost ------------------------------------------------------------------------


def lost_text(text: str, sanitised: str) -> str | None:
    """Text a reader should see (``examine``'s) that nh3's output lost, or None; when
    lost, the first word of it that the output lacks (or "" if none stands out).

    Compared as multisets of characters, whitespace aside: text nh3 moved (out of a
    table) or merged (a tag removed mid-word) is not lost, and any text removed is."""
    shown = entities.unescape(_SERIALISED_TAG.sub(" ", sanitised))
    wanted = Counter(text)
    wanted.subtract(Counter(shown))
    if all(count <= 0 or char.isspace() for char, count in wanted.items()):
        return None
    seen = set(shown.split())
    return next((word for word in text.split() if word not in seen), "")
