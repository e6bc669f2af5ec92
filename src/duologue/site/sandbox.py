"""The template sandbox: what a template may do while a page is rendered.

Templates travel with the repository, so a co-author's push controls those in the
workspace's ``templates/`` folder. Every template, packaged or not, is rendered in
Jinja's ``ImmutableSandboxedEnvironment``: no attribute starting with ``_``, none of
Python's internals, no changing of lists or dicts, so a template can read only what it
is given. On top of that, one render (a page, an author card) is bounded:

- ``range()`` makes at most ``MAX_RANGE`` numbers a call and ``MAX_RANGE_TOTAL`` a render;
- no value made in a template (by ``*``, ``+``, ``~``, ``%``, ``join``, ``replace``,
  ``center``, ``indent``, …) and no page may exceed the render's size limit, which is
  ``PAGE_BYTES`` plus room for the post bodies and entries the page shows;
- integers stay below ``MAX_INT_BITS`` bits (``10 ** (10 ** 10)`` would never finish);
- a render may take ``RENDER_SECONDS`` of CPU time (where the system has a CPU timer);
- a template that extends or includes itself ends at Python's recursion limit.

Each violation is a ``BuildError`` naming the template file and line. Workspace
templates are found by ``load.workspace_templates`` (no symlinks, ever) and read with
the same bounded UTF-8 reader as posts; ``template_problems`` is what ``check`` says of
them.
"""

from __future__ import annotations

import functools
import re
import signal
import string
import sys
import threading
from collections.abc import Callable, Iterator, MappingView
from itertools import islice
from pathlib import Path
from types import SimpleNamespace, TracebackType
from typing import Any, NoReturn

import jinja2
from jinja2 import nodes
from jinja2.exceptions import SecurityError
from jinja2.loaders import split_template_path
from jinja2.runtime import LoopContext, markup_join, str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import _PassArg, generate_lorem_ipsum

from duologue.errors import BuildError, DuologueError, InvalidInput
from duologue.files import read_text, unix_newlines
from duologue.site.load import PACKAGE_TEMPLATES, TEMPLATES_DIR, workspace_templates

MAX_TEMPLATE_BYTES = 1024 * 1024
"""A template file larger than this is refused rather than read."""
MAX_RANGE = 10_000
"""Numbers one ``range()`` in a template may make."""
MAX_RANGE_TOTAL = 100_000
"""Numbers all the ``range()`` calls of one render may make together."""
PAGE_BYTES = 4 * 1024 * 1024
"""What a page (or any value made while rendering it) may hold besides its bodies."""
ENTRY_BYTES = 16 * 1024
"""Room a page gets for each post entry it lists (a thread page lists them all)."""
BODY_FACTOR = 4
"""Room a page gets per character of the post bodies it shows (UTF-8 takes up to 4 bytes)."""
MAX_INT_BITS = 4096
"""Integers a template makes with ``*`` or ``**`` stay below this many bits."""
RENDER_SECONDS = 10.0
"""CPU seconds one render may take (the packaged templates take milliseconds)."""
_BATCH = 512
"""Pieces of output encoded and counted at a time."""


class Fields(SimpleNamespace):
    """What a template sees of a post, an author, a series: plain attributes.

    Not dicts: Jinja looks ``post.title`` up as an attribute first and only then as a
    key, so on a dict every lookup raised and caught an ``AttributeError`` (~50 a post
    page). ``post["title"]`` still works in a template: Jinja falls back to attributes.
    """


class TemplateLimit(SecurityError):
    """A template went past one of the bounds above (a Jinja error, so it is reported
    with the template's name and line like any other)."""


def page_limit(body_chars: int = 0, entries: int = 0) -> int:
    """The size limit of a render that shows ``body_chars`` of post bodies and lists
    ``entries`` posts."""
    return PAGE_BYTES + BODY_FACTOR * body_chars + ENTRY_BYTES * entries


class Limits:
    """The bounds of the render under way (one object per environment, reset each render)."""

    __slots__ = ("ranges", "size")

    def __init__(self) -> None:
        self.size = PAGE_BYTES
        self.ranges = 0

    def start(self, size: int) -> None:
        self.size = size
        self.ranges = 0

    def fits(self, length: int, what: str) -> None:
        """Refuse a value of ``length`` characters (or items) made by ``what``."""
        if length > self.size:
            raise TemplateLimit(
                f"{what} would make {length:,} characters, more than the {self.size:,} "
                "one page may hold"
            )


def read_template(root: Path, path: Path) -> str:
    """A workspace template's text: a regular file in the workspace, UTF-8, bounded in
    size, never through a symlink; ``InvalidInput`` naming the file otherwise."""
    return unix_newlines(read_text(path, root, MAX_TEMPLATE_BYTES))


class WorkspaceLoader(jinja2.BaseLoader):
    """The workspace's templates by name (``post.html``, ``parts/a.html``): only the
    regular files ``workspace_templates`` found, each read with ``read_template``."""

    def __init__(self, root: Path, files: dict[str, Path]) -> None:
        self.root = root
        self.files = files

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        path = self.files.get("/".join(split_template_path(template)))
        if path is None:
            raise jinja2.TemplateNotFound(template)
        return read_template(self.root, path), str(path), lambda: True

    def list_templates(self) -> list[str]:
        return sorted(self.files)


# -- the sandbox ---------------------------------------------------------------------


def _argument(args: tuple[Any, ...], kwargs: dict[str, Any], index: int, name: str) -> Any:
    return args[index] if len(args) > index else kwargs.get(name)


def text_size(value: Any, cap: int) -> int:
    """About how many characters ``str(value)`` makes, counted no further than past
    ``cap`` (so its own cost is bounded too): text by its length, a list, tuple, set or
    dict by what its items make plus their separators, however deeply nested and however
    often one item is repeated (``[['x' * 1000] * 1000] * 10`` is ten million)."""
    total = 0
    pending = [value]
    while pending and total <= cap:
        item = pending.pop()
        if isinstance(item, str | bytes):
            total += len(item)
        elif isinstance(item, list | tuple | set | frozenset):
            total += 2 + 2 * len(item)
            pending.extend(item)
        elif isinstance(item, dict):
            total += 2 + 4 * len(item)
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, MappingView):  # d.keys(), d.values(), d.items()
            total += 16 + 4 * len(item)
            pending.extend(iter(item))  # type: ignore[call-overload]
        elif isinstance(item, SimpleNamespace | jinja2.utils.Namespace):
            # A ``Fields`` or a ``namespace()`` prints every field it holds.
            fields = getattr(item, "_Namespace__attrs", None) or vars(item)
            total += 16 + 4 * len(fields)
            pending.extend(fields.keys())
            pending.extend(fields.values())
        elif isinstance(item, int) and not isinstance(item, bool):
            # Its digits (exactly while cheap; ints stay below 4,096 bits anyway).
            total += len(str(item)) if -(10**12) < item < 10**12 else item.bit_length() // 3 + 1
        else:
            total += 8  # None, a float, a field object: a few characters
    return total


_PERCENT_FIELD = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")


def _check_widths(numbers: list[str], limits: Limits, what: str) -> None:
    for number in numbers:
        if number == "*":
            raise TemplateLimit(
                f"{what} takes a width from its arguments (*), which templates may not"
            )
        if number:  # int() of thousands of digits is refused, and slow: no need to read them
            limits.fits(int(number) if len(number) <= 12 else 10**12, what)


def _check_percent(text: str, limits: Limits, what: str = "a `%` format") -> None:
    """``'%10s' % x``: widths and precisions within the page's size."""
    for match in _PERCENT_FIELD.finditer(text):
        _check_widths([match[1] or "", match[2] or ""], limits, what)


def _check_format(text: str, limits: Limits) -> None:
    """``'{:>10}'.format(x)``: widths within the page's size, none taken from arguments."""
    try:
        fields = list(string.Formatter().parse(text))
    except ValueError:
        return  # str.format raises its own clear error
    for _literal, _field, spec, _conversion in fields:
        if spec and "{" in spec:
            raise TemplateLimit(
                "a format takes a width from its arguments ({}), which templates may not"
            )
        _check_widths(re.findall(r"\d+", spec or ""), limits, "a `format()`")


def _check_replace(limits: Limits, text: Any, old: Any, new: Any, count: Any) -> None:
    text, old, new = str(text), str(old), str(new)
    found = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    limits.fits(len(text) + found * max(0, len(new) - len(old)), "`replace`")


def _check_join(limits: Limits, items: list[Any], separator: Any) -> None:
    total = sum(text_size(item, limits.size) for item in items)
    limits.fits(total + len(str(separator)) * max(0, len(items) - 1), "`join`")


def _check_filter(
    name: str, limits: Limits, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Any, ...]:
    """Refuse a filter call that would make a value past the page's size (checked before
    the filter runs: one ``center(10**9)`` is a gigabyte at once). Returns the arguments,
    an iterable among them turned into a list."""
    value = args[0] if args else kwargs.get("value", kwargs.get("s"))
    rest = args[1:]
    if name == "join":
        items = list(value or ())
        _check_join(limits, items, _argument(rest, kwargs, 0, "d") or "")
        return (items, *rest)
    if name == "replace":
        _check_replace(
            limits, value, _argument(rest, kwargs, 0, "old"), _argument(rest, kwargs, 1, "new"),
            _argument(rest, kwargs, 2, "count"),
        )  # fmt: skip
    elif name == "center":
        width = _argument(rest, kwargs, 0, "width")
        if isinstance(width, int):
            limits.fits(width, "`center`")
    elif name == "indent":
        width = _argument(rest, kwargs, 0, "width")
        step = len(width) if isinstance(width, str) else width if isinstance(width, int) else 4
        text = str(value)
        limits.fits(len(text) + max(0, step) * (text.count("\n") + 1), "`indent`")
    elif name == "wordwrap":
        wrap = _argument(rest, kwargs, 3, "wrapstring")
        text = str(value)
        limits.fits(len(text) * (1 + len(str(wrap or "\n"))), "`wordwrap`")
    elif name == "format":
        _check_percent(str(value), limits, "`format`")
    elif name in ("string", "pprint"):
        limits.fits(text_size(value, limits.size), f"`{name}`")
    elif name == "tojson":
        indent = _argument(rest, kwargs, 0, "indent")
        step = indent if isinstance(indent, int) and indent > 0 else 0
        # Every value on a line of its own, indented: at worst each character its own.
        size = text_size(value, limits.size)
        limits.fits(size * (1 + step) if step else size, "`tojson`")
    elif name == "sum":
        start = _argument(rest, kwargs, 1, "start")
        if not isinstance(start, int | float):
            # A sum of lists or text copies what it has so far at every step.
            limits.fits(text_size(value, limits.size), "`sum`")
    elif name in ("batch", "slice"):
        count = _argument(rest, kwargs, 0, "linecount" if name == "batch" else "slices")
        if isinstance(count, int) and count > MAX_RANGE:
            raise TemplateLimit(
                f"{name}({count:,}) is more than the {MAX_RANGE:,} a template may ask for"
            )
    return args


def _guarded_filter(name: str, inner: Callable[..., Any], limits: Limits) -> Callable[..., Any]:
    skip = 1 if _PassArg.from_obj(inner) is not None else 0

    @functools.wraps(inner)  # keeps jinja_pass_arg: Jinja passes what it passed before
    def guarded(*args: Any, **kwargs: Any) -> Any:
        checked = _check_filter(name, limits, args[skip:], kwargs)
        result = inner(*args[:skip], *checked, **kwargs)
        if isinstance(result, str):
            limits.fits(len(result), f"`{name}`")
        return result

    return guarded


_GUARDED_FILTERS = (
    "join", "replace", "center", "indent", "wordwrap", "format", "batch", "slice",
    "string", "pprint", "tojson", "sum",
)  # fmt: skip
_WIDTH_METHODS = frozenset({"center", "ljust", "rjust", "zfill"})


def _check_text_method(
    owner: str | bytes, name: str, args: tuple[Any, ...], kwargs: dict[str, Any], limits: Limits
) -> tuple[Any, ...]:
    """``'x'.center(10**9)`` and the like, as ``_check_filter``."""
    if name in _WIDTH_METHODS:
        width = _argument(args, kwargs, 0, "width")
        if isinstance(width, int):
            limits.fits(width, f"`{name}()`")
    elif name == "expandtabs":
        size = _argument(args, kwargs, 0, "tabsize")
        tabs = owner.count("\t") if isinstance(owner, str) else owner.count(b"\t")
        if isinstance(size, int):
            limits.fits(len(owner) + max(0, size) * tabs, "`expandtabs()`")
    elif name == "join" and args:
        items = list(args[0])
        _check_join(limits, items, owner)
        return (items, *args[1:])
    elif name == "replace":
        if isinstance(owner, str):
            _check_replace(
                limits, owner, _argument(args, kwargs, 0, "old"), _argument(args, kwargs, 1, "new"),
                _argument(args, kwargs, 2, "count"),
            )  # fmt: skip
    elif name == "translate":
        raise TemplateLimit("translate() is not available to templates")
    return args


class Sandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox with the limits above (``limits`` holds the current
    render's): ``range``, ``lipsum``, the filters that make long values, ``*``, ``**``,
    ``+`` and ``%``, the ``str`` methods that do, and ``~`` (``bounded_namespace``)."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = Limits()
        self.globals["range"] = self._range
        self.globals["lipsum"] = _lipsum
        for name in _GUARDED_FILTERS:
            self.filters[name] = _guarded_filter(name, self.filters[name], self.limits)

    def _range(self, *args: int) -> range:
        made = range(*args)
        try:
            count = len(made)
        except OverflowError:  # more than a machine word can count
            raise TemplateLimit(
                f"range() of more than {sys.maxsize:,} numbers is more than the "
                f"{MAX_RANGE:,} a template may make"
            ) from None
        if count > MAX_RANGE:
            raise TemplateLimit(
                f"range() of {count:,} numbers is more than the {MAX_RANGE:,} a template may make"
            )
        self.limits.ranges += count
        if self.limits.ranges > MAX_RANGE_TOTAL:
            raise TemplateLimit(
                f"range() made more than the {MAX_RANGE_TOTAL:,} numbers a template may make "
                "in one page"
            )
        return made

    def getattr(self, obj: Any, attribute: str) -> Any:
        """As the sandbox's, with two shortcuts that give what its checks would: a
        ``Fields`` holds only the data we put in it (``post.title``, ~45 a post page),
        and ``loop.last`` and the like are plain properties. The sandbox's own checks
        cost ~25,000 instructions a lookup on a ``LoopContext``: a fifth of a post page."""
        cls = obj.__class__
        if cls is Fields:
            try:
                return obj.__dict__[attribute]
            except KeyError:
                pass
        elif cls is LoopContext and attribute[:1] != "_":
            try:
                return getattr(obj, attribute)
            except AttributeError:
                pass
        return super().getattr(obj, attribute)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        limits = self.limits
        if operator == "*":
            if isinstance(left, int) and isinstance(right, int):
                if left.bit_length() + right.bit_length() > MAX_INT_BITS:
                    raise TemplateLimit(
                        f"`*` would make a number of more than {MAX_INT_BITS:,} bits"
                    )
            elif isinstance(right, int) and isinstance(left, str | bytes | list | tuple):
                limits.fits(len(left) * right, "`*`")
            elif isinstance(left, int) and isinstance(right, str | bytes | list | tuple):
                limits.fits(len(right) * left, "`*`")
        elif operator == "**":
            if (
                isinstance(left, int)
                and isinstance(right, int)
                and abs(left) > 1
                and max(1, abs(left).bit_length() - 1) * right > MAX_INT_BITS
            ):
                raise TemplateLimit(f"`**` would make a number of more than {MAX_INT_BITS:,} bits")
        elif operator == "+":
            if isinstance(left, str | bytes | list | tuple) and isinstance(
                right, str | bytes | list | tuple
            ):
                limits.fits(len(left) + len(right), "`+`")
        elif operator == "%" and isinstance(left, str):
            _check_percent(left, limits)
            limits.fits(len(left) + text_size(right, limits.size), "a `%` format")
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str | bytes):
            args = _check_text_method(
                owner, getattr(__obj, "__name__", ""), args, kwargs, __self.limits
            )
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapper = super().wrap_str_format(value)
        if wrapper is not None:
            _check_format(value.__self__, self.limits)
        return wrapper

    def handle_exception(self, source: str | None = None) -> NoReturn:
        # Rewriting a traceback a thousand templates deep (a template that extends itself)
        # costs more than it helps: ``_where`` reads the frames as they are.
        error = sys.exc_info()[1]
        if isinstance(error, RecursionError | MemoryError):
            raise error
        super().handle_exception(source)

    def bounded_namespace(self, namespace: dict[str, Any]) -> None:
        """Bound ``~`` in a compiled template's namespace (its ``str_join`` and
        ``markup_join``; ``Template.from_code`` hands the namespace over)."""
        limits = self.limits

        def bounded(join: Callable[[Any], str]) -> Callable[[Any], str]:
            def joined(seq: Any) -> str:
                items = list(seq)
                limits.fits(sum(text_size(item, limits.size) for item in items), "`~`")
                return join(items)

            return joined

        namespace["str_join"] = bounded(str_join)
        namespace["markup_join"] = bounded(markup_join)

    def rendering(self, name: str, size: int) -> _Rendering:
        """A context to render ``name`` in, within ``size`` and the time bound; any failure
        (a Jinja error, a limit, runaway recursion) becomes a ``BuildError`` naming the
        file and line."""
        return _Rendering(self, name, size)

    def _message(self, name: str, error: BaseException) -> str:
        where, line = self._where(name, error)
        at = f" (line {line})" if line else ""
        if isinstance(error, RecursionError):
            what = (
                "extends, includes, imports or calls itself without end (Python's recursion "
                "limit was reached)"
            )
        elif isinstance(error, MemoryError):
            what = "needs more memory than this machine has"
        elif isinstance(error, SecurityError) and not isinstance(error, TemplateLimit):
            what = f"{str(error).rstrip('.')} (a template may only read the fields it is given)"
        elif isinstance(error, jinja2.TemplateNotFound) and not isinstance(
            error, jinja2.TemplatesNotFound
        ):
            what = f"there is no template {error.name!r}, in {TEMPLATES_DIR}/ or packaged"
        elif isinstance(error, jinja2.TemplateError):
            what = str(getattr(error, "message", None) or error).rstrip(".")
        else:
            what = f"{type(error).__name__}: {str(error).rstrip('.')}"
        return f"{where}{at}: {what}; fix the template."

    def _where(self, name: str, error: BaseException) -> tuple[str, int | None]:
        """The template (as the user finds it) and line where ``error`` happened: the
        innermost template frame of its traceback, or the syntax error's own."""
        if isinstance(error, jinja2.TemplateSyntaxError):
            return self.shown(error.filename or error.name or name), error.lineno
        found: tuple[str, int] | None = None
        tb: TracebackType | None = error.__traceback__
        while tb is not None:
            frame_globals = tb.tb_frame.f_globals
            template = frame_globals.get("__jinja_template__")
            if template is not None:
                found = (template.filename or name, template.get_corresponding_lineno(tb.tb_lineno))
            elif "__jinja_exception__" in frame_globals:
                found = (tb.tb_frame.f_code.co_filename, tb.tb_lineno)
            tb = tb.tb_next
        if found is None:
            return self.shown(name), None
        return self.shown(found[0]), found[1]

    def shown(self, filename: str) -> str:
        """``templates/post.html`` for a workspace template, ``template post.html
        (packaged)`` for one of ours; ``filename`` may be a path or a template name."""
        package = str(PACKAGE_TEMPLATES)
        if filename.startswith(package):
            return f"template {Path(filename).name} (packaged)"
        for loader in _loaders(self.loader):
            if isinstance(loader, WorkspaceLoader):
                for relname, path in loader.files.items():
                    if filename in (str(path), relname):
                        return f"{TEMPLATES_DIR}/{relname}"
        return f"template {Path(filename).name} (packaged)"


def _loaders(loader: jinja2.BaseLoader | None) -> list[jinja2.BaseLoader]:
    if isinstance(loader, jinja2.ChoiceLoader):
        return list(loader.loaders)
    return [] if loader is None else [loader]


def _lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
    """Jinja's ``lipsum()``, at most 100 paragraphs of at most 1,000 words."""
    if n > 100 or min > 1000 or max > 1000:
        raise TemplateLimit("lipsum() makes at most 100 paragraphs of 1,000 words in a template")
    return generate_lorem_ipsum(n, html, min, max)


class _Rendering:
    """``Sandbox.rendering``: a class, not a generator, as a page is ~70 µs and a
    generator-based context manager cost 2 of them."""

    __slots__ = ("environment", "name", "size", "timed")

    def __init__(self, environment: Sandbox, name: str, size: int) -> None:
        self.environment = environment
        self.name = name
        self.size = size
        self.timed = False

    def __enter__(self) -> None:
        self.environment.limits.start(self.size)
        self.timed = _TIMER.arm()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, _tb: object
    ) -> None:
        if self.timed:
            _TIMER.disarm()
        if error is None or isinstance(error, DuologueError):
            return  # a template file that cannot be read names itself already
        if isinstance(error, jinja2.TemplateError | RecursionError | MemoryError) or (
            isinstance(error, Exception) and self._workspace_templates_own(error)
        ):
            raise BuildError(self.environment._message(self.name, error)) from None

    def _workspace_templates_own(self, error: BaseException) -> bool:
        """A plain Python error (``1 / 0``, ``'{'.format(1)``, ``range(0, 9, 0)``) is the
        template's to fix when it happened in a workspace template's code; in a packaged
        template it is duologue's bug, to report as one. ``DUOLOGUE_DEBUG=1`` keeps the
        traceback of either."""
        import os

        if os.environ.get("DUOLOGUE_DEBUG") == "1":
            return False
        where, line = self.environment._where(self.name, error)
        return line is not None and where.startswith(f"{TEMPLATES_DIR}/")


class _CpuTimer:
    """The CPU-time bound of a render: ``SIGVTALRM`` after ``RENDER_SECONDS`` of CPU
    time raises ``TemplateLimit`` in the template's code. The handler is installed once
    a process, on first use in its main thread (signals are handled there; in any other
    thread, and where the system has no ``setitimer``, renders are not timed), and
    raises only while a render is armed; otherwise it hands the signal to the handler it
    replaced. Arming is one ``setitimer`` (a microsecond; installing a handler took 6)."""

    def __init__(self) -> None:
        self.installed = False
        self.armed = False
        self.seconds = RENDER_SECONDS
        self.previous: Any = None

    def arm(self) -> bool:
        timer = getattr(signal, "ITIMER_VIRTUAL", None)
        if timer is None or threading.current_thread() is not threading.main_thread():
            return False  # pragma: no cover - Windows, or a build in a thread
        if not self.installed:
            self.previous = signal.signal(signal.SIGVTALRM, self._expired)
            self.installed = True
        self.seconds = RENDER_SECONDS
        self.armed = True
        signal.setitimer(timer, self.seconds)
        return True

    def disarm(self) -> None:
        self.armed = False
        signal.setitimer(signal.ITIMER_VIRTUAL, 0)

    def _expired(self, signum: int, frame: Any) -> None:
        if self.armed:
            self.armed = False
            raise TemplateLimit(
                f"took more than {self.seconds:g} seconds of CPU time for one page; "
                "a template must not loop this much"
            )
        if callable(self.previous):  # pragma: no cover - nobody else uses SIGVTALRM
            self.previous(signum, frame)


_TIMER = _CpuTimer()


def bounded_output(pieces: Iterator[str], limits: Limits, what: str) -> bytes:
    """The UTF-8 of a template's output, refused past the render's size as it is made:
    encoded and joined a batch of pieces at a time (one non-ASCII character no longer
    takes a whole 8 MB page down the encoder's slow path; see ``PageRenderer._page``).
    A post page (~60 pieces) is one batch, and costs ~4,000 instructions more than one
    plain join (a list of each batch first cost 9,000)."""
    encoded = map(str.encode, pieces)
    parts: list[bytes] = []
    total = 0
    while True:
        data = b"".join(islice(encoded, _BATCH))
        more = next(encoded, None)  # the end, whatever the batch held (pieces may be empty)
        total += len(data)
        if more is None:
            _fits_page(total, limits, what)
            if not parts:
                return data
            parts.append(data)
            return b"".join(parts)
        total += len(more)
        _fits_page(total, limits, what)
        parts += (data, more)


def _fits_page(total: int, limits: Limits, what: str) -> None:
    if total > limits.size:
        raise TemplateLimit(
            f"{what} would be more than {limits.size:,} bytes (a page may hold "
            f"{PAGE_BYTES:,} besides the posts it shows)"
        )


# -- what check says of the workspace's templates --------------------------------------


def template_problems(root: Path) -> list[tuple[str, str]]:
    """``(file, message)`` for every workspace template that cannot be read or parsed,
    reads a name starting with ``_`` (a sandbox escape), or extends, includes or
    imports itself. Symlinks and other special files are skipped here: ``check``
    reports those itself."""
    files = workspace_templates(root, refuse=False)
    environment = Sandbox()
    problems: list[tuple[str, str]] = []
    uses: dict[str, list[str]] = {}
    for name, path in files.items():
        shown = f"{TEMPLATES_DIR}/{name}"
        try:
            tree = environment.parse(read_template(root, path), name, str(path))
        except InvalidInput as error:
            problems.append((shown, error.message))
            continue
        except jinja2.TemplateSyntaxError as error:
            problems.append((shown, f"line {error.lineno}: {error.message}; fix the template."))
            continue
        problems += [(shown, message) for message in _unsafe_reads(tree)]
        uses[name] = _used_templates(tree)
    packaged = sorted(PACKAGE_TEMPLATES.glob("*.html"))
    for template in packaged:
        if template.name not in files:
            tree = environment.parse(template.read_text("utf-8"), template.name, str(template))
            uses[template.name] = _used_templates(tree)
    for name in files:
        cycle = _cycle(name, uses)
        if cycle is not None:
            note = (
                "; a workspace template replaces the packaged one of its name"
                if {p.name for p in packaged}.intersection(cycle)
                else ""
            )
            problems.append(
                (
                    f"{TEMPLATES_DIR}/{name}",
                    f"extends, includes or imports itself ({' → '.join(cycle)}{note}), so it "
                    "would never finish; fix the template.",
                )
            )
    return problems


def _unsafe_reads(tree: nodes.Template) -> Iterator[str]:
    """A message for every read of a name starting with ``_`` (``x.__class__``,
    ``x['_y']``, ``x | attr('__init__')``): how templates escape a sandbox."""
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Filter)):
        name: object = None
        if isinstance(node, nodes.Getattr):
            name = node.attr
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            name = node.arg.value
        elif isinstance(node, nodes.Filter) and node.name == "attr" and node.args:
            first = node.args[0]
            name = first.value if isinstance(first, nodes.Const) else None
        if isinstance(name, str) and name.startswith("_"):
            yield (
                f"line {node.lineno}: reads {name!r}, and templates may not read names "
                "starting with _ (Python's internals); remove it."
            )


def _used_templates(tree: nodes.Template) -> list[str]:
    """The templates ``tree`` names in ``extends``, ``include``, ``import``, ``from``."""
    found: list[str] = []
    for node in tree.find_all((nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)):
        if not isinstance(node, nodes.Extends | nodes.Include | nodes.Import | nodes.FromImport):
            continue  # pragma: no cover - find_all gives only those
        target = node.template
        if isinstance(target, nodes.Const) and isinstance(target.value, str):
            found.append(target.value)
        elif isinstance(target, nodes.List | nodes.Tuple):
            found += [
                i.value
                for i in target.items
                if isinstance(i, nodes.Const) and isinstance(i.value, str)
            ]
    return found


def _cycle(start: str, uses: dict[str, list[str]]) -> list[str] | None:
    """A path of template names from ``start`` back to itself, if there is one."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        name, path = stack.pop()
        for used in uses.get(name, []):
            if used == start:
                return [*path, used]
            if used not in seen:
                seen.add(used)
                stack.append((used, [*path, used]))
    return None
