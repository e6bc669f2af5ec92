"""Phase 3, render (pages): HTML from Jinja2 templates shipped in the package.

With ``sandbox`` (which bounds what a template may do), the modules that import Jinja2.
Autoescaping is on for every template, so any text from a post or series.toml is
escaped; only the already sanitised body goes in with ``| safe``. A workspace
``templates/`` folder overrides any template by name; every template is rendered in
the sandbox.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, MutableMapping
from datetime import datetime
from pathlib import Path
from types import CodeType
from typing import Any

import jinja2
from markupsafe import Markup, escape

from duologue.model import Author
from duologue.site.keys import digest
from duologue.site.linking import Site, Thread, ThreadPost
from duologue.site.load import PACKAGE_TEMPLATES, STYLESHEET, TEMPLATES_DIR, workspace_templates
from duologue.site.sandbox import (
    Fields,
    Limits,
    Sandbox,
    WorkspaceLoader,
    bounded_output,
    page_limit,
    read_template,
    text_size,
)

__all__ = ["STYLESHEET", "Fields", "PageRenderer", "index_entry", "templates_fingerprint"]
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def templates_fingerprint(root: Path) -> str:
    """Changes whenever any template or the stylesheet does: every page depends on it.
    Refuses (naming the file) a symlink under ``templates/``, and a workspace template
    that is not UTF-8 or too large, before any page is rendered."""
    packaged = [*sorted(PACKAGE_TEMPLATES.glob("*.html")), STYLESHEET]
    # Workspace-relative names, so the key does not depend on where the workspace is.
    return digest(
        *(f"{p.name}\n{p.read_text('utf-8', 'replace')}" for p in packaged[:-1]),
        *(
            f"{TEMPLATES_DIR}/{name}\n{read_template(root, path)}"
            for name, path in workspace_templates(root).items()
        ),
        f"{STYLESHEET.name}\n{STYLESHEET.read_text('utf-8', 'replace')}",
    )


def date_text(moment: datetime) -> str:
    """``18 May 2012``, in the post's own offset and in English whatever the locale."""
    return f"{moment.day} {MONTHS[moment.month - 1]} {moment.year}"


def _author(author: Author) -> Fields:
    return Fields(name=author.name, url=author.url, handle=author.handle)


def _link(placed: ThreadPost | None) -> Fields | None:
    return None if placed is None else _link_fields(placed)


def _link_fields(placed: ThreadPost, author: Callable[[Author], Fields] = _author) -> Fields:
    return Fields(
        turn=placed.turn,
        title=placed.post.title,
        url=placed.url,
        author=author(placed.author),
    )


def _entry(
    placed: ThreadPost,
    thread: Thread,
    author: Callable[[Author], Fields] = _author,
    link: Callable[[ThreadPost | None], Fields | None] = _link,
) -> Fields:
    post = placed.post
    return Fields(
        turn=post.turn,
        title=post.title,
        url=placed.url,
        date_iso=post.date.isoformat(),
        date_text=date_text(post.date),
        author=author(placed.author),
        summary=post.summary,
        tags=post.tags,
        canonical_url=post.canonical_url,
        reply_to=link(thread.answered(placed)),
        updated_iso=post.updated.isoformat() if post.updated else None,
        updated_text=date_text(post.updated) if post.updated else None,
        withdrawn_iso=post.withdrawn.isoformat() if post.withdrawn else None,
        withdrawn_text=date_text(post.withdrawn) if post.withdrawn else None,
        withdrawn_reason=post.withdrawn_reason,
    )


def _escaper(limits: Limits | None) -> Callable[[Any], str]:
    """``escape_output``, measuring with ``limits`` what is not text before it becomes
    text (a nested list shown whole would otherwise be made in full, unbounded, before
    the page's size is counted)."""

    def escape_output(value: Any) -> str:
        """What ``{{ value }}`` writes in an autoescaping template: ``markupsafe.escape``'s
        text.

        markupsafe wraps even a string with nothing to escape in a new ``Markup`` (~0.7
        µs, its ``__new__`` is Python), and a post page writes ~30 values: a fifth of its
        time. Such a string is written as it is instead. Only its type differs, and
        nothing can tell: Jinja hands what ``{{ }}`` gives only to a join (a page, or a
        ``Markup`` for a macro's or a ``{% set %}`` block's output), and escaping the
        string again changes nothing.
        """
        if value.__class__ is str:
            if not ("&" in value or "<" in value or ">" in value or '"' in value or "'" in value):
                return value
        elif value.__class__ is Markup:
            return value  # escape() would copy it: a Markup is already safe
        elif limits is not None and not isinstance(value, int | float) and value is not None:
            # What is not text may make more text than it shows (a nested list, a dict
            # view, a ``namespace()``): measured first. Numbers, ~10 a post page, are not:
            # they stay below 4,096 bits.
            limits.fits(text_size(value, limits.size), "`{{ … }}`")
        return escape(value)

    return escape_output


escape_output = _escaper(None)
"""``{{ }}`` output for a template outside the sandbox (a sandboxed one measures too)."""


class _Template(jinja2.Template):
    """A template whose ``{{ }}`` output goes through ``escape_output``.

    Jinja's compiled code calls the ``escape`` of its own module namespace only there
    (filters such as ``|e`` use markupsafe's); every block and macro of the template
    shares that namespace with its root render function. The sandbox bounds ``~`` in
    that namespace too.
    """

    @classmethod
    def from_code(
        cls,
        environment: jinja2.Environment,
        code: CodeType,
        globals: MutableMapping[str, Any],
        uptodate: Callable[[], bool] | None = None,
    ) -> jinja2.Template:
        template = super().from_code(environment, code, globals, uptodate)
        namespace = template.root_render_func.__globals__
        if isinstance(environment, Sandbox):
            namespace["escape"] = _escaper(environment.limits)
            environment.bounded_namespace(namespace)
        else:
            namespace["escape"] = escape_output
        return template


class _BestEffortBytecodeCache(jinja2.FileSystemBytecodeCache):
    """Jinja's bytecode cache, but a cache: a full disk or the cache folder removed while
    a build runs costs the next build a recompile, never this build."""

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        # Jinja removes its temporary file before the error reaches here.
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with contextlib.suppress(OSError):
            super().load_bytecode(bucket)


class PageRenderer:
    """One sandboxed Jinja2 environment for the whole build; templates are compiled once.

    The workspace's templates are those ``workspace_templates`` finds (a symlink among
    them is refused), read with the bounded UTF-8 reader of ``sandbox.read_template``.
    """

    def __init__(self, root: Path, bytecode_dir: Path | None = None) -> None:
        loaders: list[jinja2.BaseLoader] = []
        files = workspace_templates(root)
        if files:
            loaders.append(WorkspaceLoader(root, files))
        loaders.append(jinja2.FileSystemLoader(PACKAGE_TEMPLATES))
        self.environment = Sandbox(
            loader=jinja2.ChoiceLoader(loaders),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            auto_reload=False,
            # Its own file names: code compiled outside the sandbox (by an earlier version)
            # must never be loaded into it.
            bytecode_cache=(
                _BestEffortBytecodeCache(str(bytecode_dir), "__sandboxed_%s.cache")
                if bytecode_dir
                else None
            ),
        )
        self.environment.template_class = _Template
        self._feed_context: dict[tuple[int, str | None], dict[str, Any]] = {}
        self._authors: dict[tuple[int, Author], Fields] = {}
        self._plain_authors: dict[Author, Fields] = {}
        self._links: dict[int, tuple[ThreadPost, Fields]] = {}
        self._series: dict[int, tuple[Thread, Fields]] = {}

    def _render(self, name: str, context: dict[str, Any]) -> str:
        environment = self.environment
        with environment.rendering(name, page_limit()):
            pieces = environment.get_template(name).generate(context)
            return bounded_output(pieces, environment.limits, "the output").decode("utf-8")

    def _page(self, name: str, context: dict[str, Any], size: int) -> bytes:
        """A page as UTF-8, at most ``size`` bytes, encoded a batch of pieces at a time as
        the template yields them: one non-ASCII character (the template's "·") made the
        whole joined page, 8 MB for a thread of 1,000 posts, take the encoder's slow path;
        now only its own batch does."""
        environment = self.environment
        with environment.rendering(name, size):
            pieces = environment.get_template(name).generate(context)
            return bounded_output(pieces, environment.limits, "the page")

    @staticmethod
    def _site(site: Site) -> Fields:
        return Fields(title=site.title, base_url=site.base_url)

    def _base(
        self, site: Site, page_title: str, lang: str, thread: Thread | None
    ) -> dict[str, Any]:
        # The feeds a page links to are the same for every page of a series: made once.
        key = (id(site), thread.series.slug if thread is not None else None)
        feeds = self._feed_context.get(key)
        if feeds is None:
            found = _feeds(site, thread)
            links, menu = self._feed_html(found)
            feeds = {"feeds": found, "feed_links": links, "feed_menu": menu}
            self._feed_context[key] = feeds
        return {
            "site": self._site(site),
            "lang": lang,
            "page_title": page_title,
            **feeds,
            "canonical": None,
        }

    def _feed_html(self, feeds: list[Fields]) -> tuple[Markup, Markup]:
        """``_feeds.html``'s ``links()`` and ``menu()`` of ``feeds`` (once per series: in
        every page's head and footer they were a quarter of its template time)."""
        environment = self.environment
        with environment.rendering("_feeds.html", page_limit()):
            module = environment.get_template("_feeds.html").module
            links, menu = getattr(module, "links", None), getattr(module, "menu", None)
            if not callable(links) or not callable(menu):
                raise jinja2.TemplateError("it must define the macros links() and menu()")
            head, foot = str(links(feeds)), str(menu(feeds))
            environment.limits.fits(len(head) + len(foot), "_feeds.html")
            # Safe: what an autoescaping template's macros return.
            return Markup(head), Markup(foot)  # noqa: S704

    def _entry_with_card(self, site: Site, placed: ThreadPost, thread: Thread) -> Fields:
        return _entry(placed, thread, functools.partial(self._author, site), self._link)

    # What pages are given of authors, linked posts and the series is made once a series
    # and shared: a post is linked from its neighbours', its answers' and the answered
    # post's pages, and templates cannot change what they are given.

    def _author(self, site: Site, author: Author) -> Fields:
        """``_author``, with its ``card``: ``_author.html`` rendered once per author (a
        thread page shows the same two or three h-cards a thousand times, and an include
        cost more than the rest of a post's entry)."""
        key = (id(site), author)
        found = self._authors.get(key)
        if found is None:
            found = self._authors[key] = _author(author)
            context = {"author": found, "site": self._site(site)}  # before it has a card
            # Safe: the output of an autoescaping template, as an include's would be.
            found.card = Markup(self._render("_author.html", context))  # noqa: S704
        return found

    def _link(self, placed: ThreadPost | None) -> Fields | None:
        if placed is None:
            return None
        found = self._links.get(id(placed))
        if found is None or found[0] is not placed:  # an id may be used again by then
            found = self._links[id(placed)] = (placed, _link_fields(placed, self._plain_author))
        return found[1]

    def _plain_author(self, author: Author) -> Fields:
        found = self._plain_authors.get(author)
        if found is None:
            found = self._plain_authors[author] = _author(author)
        return found

    def _series_fields(self, thread: Thread) -> Fields:
        found = self._series.get(id(thread))
        if found is None or found[0] is not thread:
            found = self._series[id(thread)] = (thread, _series(thread))
        return found[1]

    def post_page(self, site: Site, thread: Thread, index: int, body: str) -> bytes:
        placed = thread.posts[index]
        previous, following = thread.neighbours(index)
        context = self._base(
            site, f"{placed.post.title} — {thread.series.title}", thread.series.language, thread
        )
        context.update(
            canonical=placed.post.canonical_url,
            series=self._series_fields(thread),
            post=self._entry_with_card(site, placed, thread),
            body=body,
            reply_to=self._link(thread.answered(placed)),
            replies=[self._link(p) for p in thread.answers(placed.turn)],
            previous=self._link(previous),
            next=self._link(following),
        )
        return self._page("post.html", context, page_limit(len(body), 1))

    def thread_page(self, site: Site, thread: Thread, bodies: list[str]) -> bytes:
        """The whole thread in turn order, every post with its body (``bodies``, by index)."""
        context = self._base(site, thread.series.title, thread.series.language, thread)
        since = thread.waiting_since
        due = thread.reply_due
        posts = []
        for placed, body in zip(thread.posts, bodies, strict=True):
            entry = self._entry_with_card(site, placed, thread)
            entry.body = body
            posts.append(entry)
        context.update(
            series=self._series_fields(thread),
            posts=posts,
            next_author=_author(thread.next_author),
            waiting_since_iso=since.isoformat() if since else None,
            waiting_since_text=date_text(since) if since else None,
            reply_due_iso=due.isoformat() if due else None,
            reply_due_text=date_text(due) if due else None,
        )
        size = page_limit(sum(map(len, bodies)), len(posts))
        return self._page("series.html", context, size)

    def site_index(self, site: Site, entries: list[Fields]) -> bytes:
        """The site index: ``entries`` are ``index_entry`` of every series, in slug order
        (``site`` gives only its title and URL)."""
        context = self._base(site, site.title, "en", None)
        context["series"] = entries
        return self._page("index.html", context, page_limit(0, len(entries)))


def _feeds(site: Site, thread: Thread | None) -> list[Fields]:
    """The feeds a page links to: its series' RSS and Atom, and the site's RSS."""
    feeds = []
    if thread is not None:
        feeds.append(
            Fields(
                title=f"{thread.series.title} (RSS)",
                url=thread.url + "feed.xml",
                type="application/rss+xml",
            )
        )
        feeds.append(
            Fields(
                title=f"{thread.series.title} (Atom)",
                url=thread.url + "atom.xml",
                type="application/atom+xml",
            )
        )
    feeds.append(
        Fields(
            title=f"{site.title} (RSS, all series)",
            url=site.base_url + "feed.xml",
            type="application/rss+xml",
        )
    )
    return feeds


def index_entry(thread: Thread) -> Fields:
    """What the site index shows of a series (a build worker sends it to the parent)."""
    return Fields(
        **vars(_series(thread)),
        count=len(thread.posts),
        latest=_entry(thread.latest, thread) if thread.latest else None,
        next_author=_author(thread.next_author),
    )


def _series(thread: Thread) -> Fields:
    series = thread.series
    return Fields(
        slug=series.slug,
        title=series.title,
        url=thread.url,
        description=series.description,
        hashtag=series.hashtag,
    )
