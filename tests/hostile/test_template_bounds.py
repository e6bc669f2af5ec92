"""The bounds of a render and of a body's HTML, as a hostile co-author meets them.

A co-author's push controls ``templates/`` and every post body. Each test here builds
a real workspace (the real CLI where the message matters, ``build_site`` in-process
where a table of cases would cost a second each) and holds the build to what the
README promises: a template reads only what it is given and nothing outside
``templates/``, one render is bounded, and any breach fails the build with one error
naming the template file and line; a body whose HTML would cost the sanitiser too much,
or lose text, is refused naming the post and the line of its body. A few branches no
workspace can reach are checked by calling the module's public classes directly; each
says why.
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import jinja2
import pytest

from duologue.errors import BuildError
from duologue.site.build import build_site
from duologue.site.load import PACKAGE_TEMPLATES
from duologue.site.sandbox import Sandbox, WorkspaceLoader
from duologue.workspace import load_settings
from tests.cli.workspaces import commit_all, sample_workspace
from tests.helpers import run_duologue
from tests.integration.conftest import ok, refused
from tests.site.workspace import add_post, add_series, make_workspace

SECRET = "TOP-SECRET-c41d2e"
POST = '{% extends "base.html" %}{% block main %}\n'  # what follows is line 2
END = "\n{% endblock %}\n"
PAGE_LIMIT = "4,194,304"  # PAGE_BYTES: what an author card may hold


def _templated(tmp_path: Path, files: dict[str, str], posts: int = 1) -> Path:
    """A committed sample workspace whose ``templates/`` holds ``files``, and a secret
    beside it (``../../secret.txt`` from ``templates/``)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "secret.txt").write_text(f"{SECRET}\n", encoding="utf-8")
    root = sample_workspace(tmp_path / "ws", posts=posts)
    for name, text in files.items():
        path = root / "templates" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    commit_all(root, "a co-author's templates")
    return root


def _refused_build(root: Path) -> str:
    """The one line of a refused build; nothing may have been written."""
    message = refused(root, "build")
    assert len(message.splitlines()) == 1, message
    assert SECRET not in message
    assert not (root / "public").exists()  # a failed first build leaves no output folder
    return message


def _check_lines(root: Path) -> tuple[int, list[str]]:
    result = run_duologue(root, "check")
    assert "Traceback" not in result.stderr
    return result.returncode, result.stdout.splitlines()


def _card(tmp_path: Path, line: str) -> Path:
    """A workspace whose author card's second line is ``line`` (rendered once per author,
    within exactly ``PAGE_BYTES``)."""
    root = sample_workspace(tmp_path / "ws", posts=1)
    (root / "templates").mkdir()
    (root / "templates" / "_author.html").write_text(
        '<span class="h-card">{{ author.name }}</span>\n' + line + "\n", encoding="utf-8"
    )
    return root


def _card_refused(tmp_path: Path, line: str) -> str:
    root = _card(tmp_path, line)
    with pytest.raises(BuildError) as raised:
        build_site(load_settings(root))
    assert not (root / "public").exists()
    return raised.value.message


# --- reading outside templates/ ----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        (
            "post.html",
            POST + '{% include "../../secret.txt" %}' + END,
            "templates/post.html (line 2): there is no template '../../secret.txt', "
            "in templates/ or packaged",
        ),
        (
            "post.html",
            POST + '{% include "../duologue.toml" %}' + END,
            "templates/post.html (line 2): there is no template '../duologue.toml', "
            "in templates/ or packaged",
        ),
        (
            "post.html",
            POST + '{% include "/etc/passwd" %}' + END,
            "templates/post.html (line 2): there is no template '/etc/passwd', "
            "in templates/ or packaged",
        ),
        (
            "series.html",
            '{% extends "../../secret.txt" %}',
            "templates/series.html (line 1): there is no template '../../secret.txt', "
            "in templates/ or packaged",
        ),
        (
            "post.html",
            POST + '{% import "../series/slow-work/series.toml" as s %}{{ s }}' + END,
            "templates/post.html (line 2): there is no template "
            "'../series/slow-work/series.toml', in templates/ or packaged",
        ),
        (
            "post.html",
            POST + '{% include ["../../secret.txt", "nowhere.html"] %}' + END,
            "templates/post.html (line 2): none of the templates given were found: "
            "../../secret.txt, nowhere.html",
        ),
        (
            "post.html",
            POST + '{% include "nowhere.html" %}' + END,
            "templates/post.html (line 2): there is no template 'nowhere.html', "
            "in templates/ or packaged",
        ),
    ],
    ids=["up-to-a-secret", "up-to-the-settings", "absolute", "extends", "import", "list", "none"],
)
def test_a_template_reads_nothing_outside_templates(
    tmp_path: Path, name: str, text: str, expected: str
) -> None:
    root = _templated(tmp_path, {name: text})
    assert _refused_build(root) == f"error: {expected}; fix the template.\n"


# --- values within the bounds render; past them, the build names file and line ------------


def test_formats_and_replacements_within_the_bounds_render(tmp_path: Path) -> None:
    root = _templated(
        tmp_path,
        {
            "post.html": POST
            + "<p id=pct>{{ '%s|%5s|%.2f' % ('a', 'b', 1.5) }}</p>\n"
            + "<p id=fmt>{{ '{}-{:>3}-{:.1f}'.format(1, 2, 0.5) }}</p>\n"
            + "<p id=mod>{{ 7 % 3 }}</p>\n"
            + "<p id=rep>{{ 'aaa' | replace('a', 'bb', 2) }} {{ 'aaa'.replace('a', 'b', 1) }}</p>\n"
            + "<p id=lip>{{ lipsum(2, html=False) | wordcount > 10 }}</p>"
            + END
        },
    )
    ok(root, "build")
    page = (root / "public" / "slow-work" / "0001-letter-1.html").read_text("utf-8")
    assert "<p id=pct>a|    b|1.50</p>" in page
    assert "<p id=fmt>1-  2-0.5</p>" in page
    assert "<p id=mod>1</p>" in page
    assert "<p id=rep>bbbba baa</p>" in page  # the count of replacements is kept to
    assert "<p id=lip>True</p>" in page


@pytest.mark.parametrize(
    ("line", "what"),
    [
        (
            "{{ '%*d' % (5000000, 1) }}",
            "a `%` format takes a width from its arguments (*), which templates may not",
        ),
        (
            "{{ '{:{}}'.format(1, 5000000) }}",
            "a format takes a width from its arguments ({}), which templates may not",
        ),
        (
            "{{ lipsum(1000) }}",
            "lipsum() makes at most 100 paragraphs of 1,000 words in a template",
        ),
        (
            "{{ lipsum(5, min=5000, max=5000) }}",
            "lipsum() makes at most 100 paragraphs of 1,000 words in a template",
        ),
        (
            "{{ (2 ** 4000) * (2 ** 4000) }}",
            "`*` would make a number of more than 4,096 bits",
        ),
        (
            "{{ 5000000 * 'x' }}",
            f"`*` would make 5,000,000 characters, more than the {PAGE_LIMIT} one page may hold",
        ),
        (
            "{{ 5000000 * [1] }}",
            f"`*` would make 5,000,000 characters, more than the {PAGE_LIMIT} one page may hold",
        ),
        (
            "{{ ('x' * 3000000) + ('y' * 3000000) }}",
            f"`+` would make 6,000,000 characters, more than the {PAGE_LIMIT} one page may hold",
        ),
        (
            "{{ ([1] * 3000000) + ([2] * 3000000) }}",
            f"`+` would make 6,000,000 characters, more than the {PAGE_LIMIT} one page may hold",
        ),
        (
            "{% for x in [1] %}{{ loop.__class__ }}{% endfor %}",
            "access to attribute '__class__' of 'LoopContext' object is unsafe "
            "(a template may only read the fields it is given)",
        ),
        (
            "{% for x in [1] %}{{ loop.nothing }}{% endfor %}",
            "'jinja2.runtime.LoopContext object' has no attribute 'nothing'",
        ),
    ],
    ids=[
        "percent-star",
        "format-nested-width",
        "lipsum-paragraphs",
        "lipsum-words",
        "big-int-product",
        "int-times-text",
        "int-times-list",
        "text-plus-text",
        "list-plus-list",
        "loop-internals",
        "loop-missing",
    ],
)
def test_a_render_past_its_bounds_fails_naming_file_and_line(
    tmp_path: Path, line: str, what: str
) -> None:
    message = _card_refused(tmp_path, line)
    assert message == f"templates/_author.html (line 2): {what}; fix the template."


def test_a_range_too_long_to_count_is_refused_at_once(tmp_path: Path) -> None:
    # len(range(10**30)) overflows; the sandbox must still refuse, not hang or crash.
    root = _templated(
        tmp_path, {"post.html": POST + "{% for i in range(10**30) %}{% endfor %}" + END}
    )
    started = time.monotonic()
    message = _refused_build(root)
    assert time.monotonic() - started < 20
    assert message.startswith("error: templates/post.html (line 2): range() of "), message
    assert message.endswith(
        " numbers is more than the 10,000 a template may make; fix the template.\n"
    )


def test_a_range_too_long_to_count_is_not_given_a_made_up_length(tmp_path: Path) -> None:
    message = _card_refused(tmp_path, "{{ range(10**30) | length }}")
    assert message.startswith("templates/_author.html (line 2): range() of ")
    assert "range() of 1,000,000 numbers" not in message, message


# --- which file an error names -------------------------------------------------------------


def test_a_syntax_error_is_named_by_build_and_check(tmp_path: Path) -> None:
    root = _templated(tmp_path, {"post.html": POST + "{% if %}" + END})
    what = "Expected an expression, got 'end of statement block'"
    assert (
        _refused_build(root) == f"error: templates/post.html (line 2): {what}; fix the template.\n"
    )
    code, lines = _check_lines(root)
    assert code == 1
    assert f"templates/post.html: error: line 2: {what}; fix the template." in lines, lines


def test_the_error_names_the_template_at_fault_among_several(tmp_path: Path) -> None:
    root = _templated(
        tmp_path,
        {
            "_author.html": "<span>{{ author.name }}</span>\n",
            "parts/note.html": "<p>{{ post.title }}</p>\n",
            "post.html": POST + '{% include "parts/note.html" %}\n{{ no_such_field }}' + END,
        },
    )
    assert _refused_build(root) == (
        "error: templates/post.html (line 3): 'no_such_field' is undefined; fix the template.\n"
    )


def test_an_error_inside_a_packaged_template_is_named_as_packaged(tmp_path: Path) -> None:
    # The workspace's index.html hands the packaged post.html a context it was not made
    # for: the innermost frame, where the error happens, is the packaged file.
    root = _templated(tmp_path, {"index.html": '{% include "post.html" %}\n'})
    message = _refused_build(root)
    assert re.fullmatch(
        r"error: template post\.html \(packaged\) \(line \d+\): .+; fix the template\.\n", message
    ), message
    assert str(PACKAGE_TEMPLATES) not in message  # named, not a path of this machine


# --- check: what it follows and what it does not flag -----------------------------------


def test_check_follows_an_include_list_round_to_itself(tmp_path: Path) -> None:
    root = _templated(tmp_path, {"post.html": POST + '{% include ["post.html"] %}' + END})
    code, lines = _check_lines(root)
    assert code == 1
    assert any(
        line.startswith(
            "templates/post.html: error: extends, includes or imports itself "
            "(post.html → post.html; a workspace template replaces the packaged one of its name)"
        )
        for line in lines
    ), lines
    message = _refused_build(root)
    assert message.startswith("error: templates/post.html"), message
    assert "extends, includes, imports or calls itself without end" in message


def test_check_accepts_a_part_included_twice_and_plain_filters(tmp_path: Path) -> None:
    root = _templated(
        tmp_path,
        {
            "parts/note.html": "<p class=note>{{ post.title | upper }}</p>\n",
            "post.html": POST
            + '{% include "parts/note.html" %}{% include "parts/note.html" %}\n'
            + "{% set key = 'title' %}<p class=key>{{ post[key] }}</p>"
            + END,
        },
    )
    code, lines = _check_lines(root)
    assert code == 0, lines
    assert not [line for line in lines if line.startswith("templates/")], lines
    ok(root, "build")
    page = (root / "public" / "slow-work" / "0001-letter-1.html").read_text("utf-8")
    assert page.count("<p class=note>LETTER 1</p>") == 2
    assert "<p class=key>Letter 1</p>" in page


# --- Python's own errors in a template -------------------------------------------------


PYTHON_ERRORS = ["'{'.format(1)", "1 / 0", "'%d' % 'x'", "'%(a)s' % {}", "range(0, 9, 0)"]


def test_debug_keeps_the_traceback_of_a_template_error(tmp_path: Path) -> None:
    """``DUOLOGUE_DEBUG=1`` asks for where an error came from: a template's own Python
    error is then shown with its traceback, not turned into the one-line refusal."""
    root = _templated(tmp_path, {"post.html": POST + "{{ 1 / 0 }}" + END})
    result = run_duologue(root, "build", env={"DUOLOGUE_DEBUG": "1"})
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "ZeroDivisionError" in result.stderr


@pytest.mark.parametrize("expression", PYTHON_ERRORS)
def test_a_template_raising_a_python_error_is_named_with_its_line(
    tmp_path: Path, expression: str
) -> None:
    root = _templated(tmp_path, {"post.html": POST + f"{{{{ {expression} }}}}" + END})
    message = _refused_build(root)  # exit 1, one line, no traceback, nothing written
    assert message.startswith("error: templates/post.html (line 2): "), message
    assert message.endswith("; fix the template.\n"), message


# --- values the size bound does not see ---------------------------------------------------

# Each makes a value of 5 to 40 MB (the page may hold 4 MiB) from pieces each within the
# bound, then shows only its length. Scaled up by 100 (one more `* 100`), each is one C
# call making gigabytes, which the CPU timer cannot interrupt either.
UNBOUNDED = {
    "tilde-of-nested-lists": "{{ ([['x' * 1000] * 1000] * 10 ~ '') | length }}",
    "string-of-nested-lists": "{{ ([['x' * 1000] * 1000] * 10) | string | length }}",
    "pprint-of-nested-lists": "{{ ([['x' * 1000] * 1000] * 10) | pprint | length }}",
    "percent-of-nested-lists": "{{ ('%s' % ([['x' * 1000] * 1000] * 10,)) | length }}",
    "tojson-indent": "{{ [[1]] | tojson(indent=5000000) | length }}",
    "sum-of-lists": "{{ ([[1] * 1000000] * 5) | sum(start=[]) | length }}",
    # str() of a dict view or a namespace() prints every value it holds, too.
    "dict-view": "{% set d = {'a': ['x' * 1000] * 5000} %}{{ d.values() }}",
    "dict-items-string": "{% set d = {'a': ['x' * 1000] * 5000} %}{{ d.items() | string }}",
    "namespace-tilde": "{% set n = namespace(a=['x' * 1000] * 5000) %}{{ n ~ '' }}",
}


@pytest.mark.parametrize("line", list(UNBOUNDED.values()), ids=list(UNBOUNDED))
def test_no_value_made_in_a_template_exceeds_the_page_size(tmp_path: Path, line: str) -> None:
    message = _card_refused(tmp_path, line)
    assert message.startswith("templates/_author.html (line 2): "), message
    assert f"more than the {PAGE_LIMIT}" in message, message


# --- a build outside the main thread ------------------------------------------------------


def test_a_build_in_a_worker_thread_keeps_the_other_bounds(tmp_path: Path) -> None:
    """Signals reach only the main thread, so a render elsewhere is not timed (as the
    sandbox documents); its other bounds hold, and a fine build writes its pages."""
    fine = sample_workspace(tmp_path / "fine", posts=2)
    looping = _templated(
        tmp_path / "hostile",
        {"post.html": POST + "{% for i in range(10**9) %}{% endfor %}" + END},
    )
    outcome: dict[str, object] = {}

    def build(key: str, root: Path) -> None:
        try:
            outcome[key] = build_site(load_settings(root))
        except BuildError as error:
            outcome[key] = error.message

    for key, root in (("fine", fine), ("hostile", looping)):
        worker = threading.Thread(target=build, args=(key, root))
        worker.start()
        worker.join(60)
        assert not worker.is_alive()
    assert (fine / "public" / "slow-work" / "0002-letter-2.html").is_file()
    assert outcome["hostile"] == (
        "templates/post.html (line 2): range() of 1,000,000,000 numbers is more than the "
        "10,000 a template may make; fix the template."
    )
    assert not (looping / "public").exists()


# --- direct calls: branches no workspace reaches ------------------------------------------


def test_the_workspace_loader_lists_only_the_files_it_was_given(tmp_path: Path) -> None:
    # Jinja asks a loader for its list only through Environment.list_templates, which
    # no template can call: called here directly.
    (tmp_path / "post.html").write_text("x", encoding="utf-8")
    (tmp_path / "a.html").write_text("y", encoding="utf-8")
    files = {"post.html": tmp_path / "post.html", "parts/a.html": tmp_path / "a.html"}
    environment = Sandbox(loader=WorkspaceLoader(tmp_path, files))
    assert environment.list_templates() == ["parts/a.html", "post.html"]


def test_a_file_from_no_known_loader_is_shown_by_its_name(tmp_path: Path) -> None:
    # Every frame and syntax error of a build names a workspace or a packaged file, so
    # the fall-backs of ``shown`` are reached only by calling it directly.
    post = tmp_path / "templates" / "post.html"
    files = {"post.html": post}
    both = jinja2.ChoiceLoader(
        [WorkspaceLoader(tmp_path, files), jinja2.FileSystemLoader(PACKAGE_TEMPLATES)]
    )
    assert Sandbox(loader=both).shown(str(post)) == "templates/post.html"
    assert Sandbox(loader=both).shown("post.html") == "templates/post.html"
    elsewhere = str(tmp_path / "elsewhere" / "page.html")
    assert Sandbox(loader=both).shown(elsewhere) == "template page.html (packaged)"
    assert Sandbox(loader=WorkspaceLoader(tmp_path, files)).shown(str(post)) == (
        "templates/post.html"
    )
    assert Sandbox().shown("page.html") == "template page.html (packaged)"  # no loader


def test_a_render_out_of_memory_is_one_error_naming_the_template() -> None:
    # No test should exhaust the machine's memory: the MemoryError is raised by hand
    # inside the public ``rendering`` context every page is rendered in.
    environment = Sandbox(loader=jinja2.FileSystemLoader(PACKAGE_TEMPLATES))
    with pytest.raises(BuildError) as raised, environment.rendering("post.html", 1000):
        raise MemoryError
    assert raised.value.message == (
        "template post.html (packaged): needs more memory than this machine has; fix the template."
    )


# --- bodies: HTML the model reads as html5ever would ------------------------------------


def _bodies(root: Path, *bodies: str) -> Path:
    make_workspace(root)
    add_series(root, "s")
    for turn, body in enumerate(bodies, start=1):
        add_post(root, "s", turn, body=body)
    return root


def _content(root: Path, turn: int) -> str:
    page = (root / "public" / "s" / f"{turn:04d}-post-{turn}.html").read_text("utf-8")
    return page.split('class="e-content', 1)[1].split("</article>", 1)[0]


# (body, what its page must show): each builds, as browsers would show it.
KEPT = {
    "formatting closed with the object around it": (
        "<div><object><b>bold</object> after</div>",
        "<div><b>bold</b> after</div>",
    ),
    "end tag of formatting already closed": (
        "<p><b>bold</p></b> after",
        "<p><b>bold</b></p> after",
    ),
    "end tag of formatting behind a table": (
        "<div><b>bold<table></b><tr><td>cell</td></tr></table></div>",
        "<td>cell</td>",
    ),
    "formatting misnested around nine blocks": (
        "<div>\n<b>x" + "<div>" * 9 + "y</b>z" + "</div>" * 9 + "\n</div>",
        "<div>yz</div>",
    ),
    "body tag": ("<body>Hello there</body>", "Hello there"),
    "caption and colgroup": (
        "<table><caption>Cap</caption><colgroup><col></colgroup><tr><td>x</td></tr></table>",
        "<caption>Cap</caption>",
    ),
    "option after option outside a select": (
        "<div><option>a<option>b</div>",
        "<div>ab</div>",
    ),
    "table in a cell": (
        "<table><tr><td><table><tr><td>inner</td></tr></table></td></tr></table>",
        "<td><table><tbody><tr><td>inner</td></tr></tbody></table></td>",
    ),
    "doctype": ("<div>\n<!DOCTYPE html>\n<p>Hello doc</p>\n</div>", "<p>Hello doc</p>"),
}


def test_tag_soup_that_costs_little_builds_with_all_its_text(tmp_path: Path) -> None:
    names = list(KEPT)
    root = _bodies(tmp_path / "ws", *(KEPT[name][0] for name in names))
    code, lines = _check_lines(root)
    assert code == 0, lines
    result = run_duologue(root, "build")
    assert result.returncode == 0, result.stderr
    for turn, name in enumerate(names, start=1):
        content = _content(root, turn)
        assert KEPT[name][1] in content, (name, content)
        assert "DOCTYPE" not in content and "<body" not in content and "<option" not in content


def _body_refused(root: Path) -> tuple[str, str]:
    """The build's error line and check's report line for the only post."""
    name = "series/s/0001-post-1.md"
    built = run_duologue(root, "build")
    assert built.returncode == 1, built.stdout
    assert "Traceback" not in built.stderr
    assert built.stderr.count("\n") == 1
    assert not (root / "public").exists()
    report = run_duologue(root, "check")
    assert report.returncode == 1
    found = [line for line in report.stdout.splitlines() if line.startswith(name)]
    assert len(found) == 1, report.stdout
    return built.stderr.strip(), found[0]


def test_a_select_is_refused_by_build_and_check(tmp_path: Path) -> None:
    root = _bodies(tmp_path / "ws", "Pick one:\n\nBefore <select><option>a</option></select>")
    what = (
        "line 3 of the body: <select>: form controls are not shown on pages (the sanitiser "
        "removes them); write the choices as a list instead."
    )
    built, checked = _body_refused(root)
    assert built == f"error: series/s/0001-post-1.md: {what}"
    assert checked == f"series/s/0001-post-1.md: error: {what}"


@pytest.mark.parametrize("name", ["xmp", "style", "textarea"])
def test_a_raw_text_end_tag_never_closed_is_refused(tmp_path: Path, name: str) -> None:
    # cmark leaves raw HTML as it is inside an HTML block (one opened by <div>); the end
    # tag's quote never closes, so nh3 would take the rest of the post into the tag.
    body = f'Intro.\n\n<div>\n<{name}>x</{name} title="oops\n\nSecret words.'
    root = _bodies(tmp_path / "ws", body)
    built, checked = _body_refused(root)
    assert built == (
        f'error: series/s/0001-post-1.md: line 4 of the body: the tag </{name} title="oops '
        "<p> is never closed with '>' (a quote left open?), so the rest of the post would "
        "not be shown; close it."
    )
    assert checked.startswith("series/s/0001-post-1.md: error: line 4 of the body: the tag ")


def test_html_past_the_work_bound_is_refused_quickly(tmp_path: Path) -> None:
    # 500 open <span> (within the 512 levels) and 400,000 end tags of nothing: each makes
    # html5ever walk the whole stack, 2 * 10**8 steps in 1.6 MB.
    body = "Intro.\n\n<div>" + "<span>" * 500 + "</x>" * 400_000
    root = _bodies(tmp_path / "ws", body)
    started = time.monotonic()
    result = run_duologue(root, "build")
    assert time.monotonic() - started < 20
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr == (
        "error: series/s/0001-post-1.md: line 3 of the body: the HTML would cost the "
        "sanitiser more than 200,000,000 steps by </x>: 501 elements are open there and "
        "0 formatting tags; close them or split the post.\n"
    )
    assert not (root / "public").exists()
    # A tenth of it is real (if odd) HTML, and builds.
    fine = _bodies(tmp_path / "fine", "Intro.\n\n<div>" + "<span>" * 500 + "</x>" * 40_000)
    assert run_duologue(fine, "build").returncode == 0
    assert "Intro." in _content(fine, 1)
