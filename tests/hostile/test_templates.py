"""Hostile workspace templates: a co-author's push controls ``templates/``.

Symlinks are refused (by ``check`` and ``build``, never followed), every template is
rendered in Jinja's sandbox with bounds on what one render may do, and every template
is read with the bounded UTF-8 reader posts use. Real git repositories and the real CLI
throughout; the time bound is shortened in-process so its test takes a second.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from duologue.errors import BuildError
from duologue.site.build import build_site
from duologue.workspace import load_settings
from tests.cli.workspaces import commit_all, sample_workspace
from tests.helpers import git, run_duologue
from tests.integration.conftest import Pair, new_draft, ok, refused, start_workspace

SECRET = "TOP-SECRET-7f3a9c"


def _published_files(out: Path) -> dict[str, str]:
    return {
        p.relative_to(out).as_posix(): p.read_text("utf-8", "replace")
        for p in sorted(out.rglob("*"))
        if p.is_file()
    }


def _leaks(out: Path) -> list[str]:
    return [name for name, text in _published_files(out).items() if SECRET in text]


def _check(root: Path) -> tuple[int, list[str], str]:
    result = run_duologue(root, "check")
    assert "Traceback" not in result.stderr
    return result.returncode, result.stdout.splitlines(), result.stderr


@pytest.fixture
def pair(tmp_path: Path) -> Pair:
    """Ana's workspace with one published post on the shared remote, and Ben's clone."""
    remote = tmp_path / "shared.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    ana = start_workspace(tmp_path / "ana")
    git(ana, "remote", "add", "origin", str(remote))
    new_draft(ana, "Opening", "Ben,\n\nShall we begin?")
    ok(ana, "publish", "slow-work")
    ok(ana, "handoff")
    shared = Pair(remote=remote, ana=ana, ben=tmp_path / "ben")
    shared.clone("ben", "Ben Okafor", "ben@example.com")
    return shared


@pytest.mark.parametrize("target", ["relative", "absolute"])
def test_a_symlinked_template_pulled_by_sync_is_refused_by_check_and_build(
    pair: Pair, tmp_path: Path, target: str
) -> None:
    secret = tmp_path / "secret.txt"  # beside Ana's clone: ../../secret.txt from templates/
    secret.write_text(f"{SECRET}\n", encoding="utf-8")
    ok(pair.ana, "build")
    before = _published_files(pair.ana / "public")

    # Ben commits a link, as any co-author can, and pushes it.
    (pair.ben / "templates").mkdir()
    link = "../../secret.txt" if target == "relative" else str(secret)
    os.symlink(link, pair.ben / "templates" / "post.html")
    git(pair.ben, "add", "templates/post.html")
    git(pair.ben, "commit", "-qm", "nicer post pages")
    git(pair.ben, "push", "-q", "origin", "HEAD")

    ok(pair.ana, "sync")
    assert (pair.ana / "templates" / "post.html").is_symlink()  # it did arrive

    code, lines, stderr = _check(pair.ana)
    assert code == 1, lines
    assert (
        "templates/post.html: error: is a symbolic link; duologue reads only regular files, "
        "so remove it." in lines
    )
    assert stderr.startswith("error: 1 error(s) found")

    message = refused(pair.ana, "build")
    assert message == (
        "error: templates/post.html: is a symbolic link; duologue reads only regular files, "
        "so remove it.\n"
    )
    assert SECRET not in message
    assert _leaks(pair.ana / "public") == []
    assert _published_files(pair.ana / "public") == before


# Each would run `touch <marker>` (or read Python's internals) outside the sandbox.
PAYLOADS = [
    "{{ cycler.__init__.__globals__.os.popen('touch MARKER').read() }}",
    "{{ joiner.__init__.__globals__['os'].popen('touch MARKER').read() }}",
    "{{ namespace.__init__.__globals__.os.system('touch MARKER') }}",
    "{{ lipsum.__globals__['os'].popen('touch MARKER').read() }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ ''.__class__.__mro__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ (post | attr('__class__')).__init__.__globals__ }}",
    "{% for x in [1] %}{{ loop.__class__.__init__.__globals__ }}{% endfor %}",
    "{{ post.__dict__ }}",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_template_injection_runs_nothing_and_fails_the_build_clearly(
    tmp_path: Path, payload: str
) -> None:
    root = sample_workspace(tmp_path / "ws", posts=2)
    marker = tmp_path / "pwned"
    (root / "templates").mkdir()
    (root / "templates" / "post.html").write_text(
        '{% extends "base.html" %}{% block main %}\n'
        + payload.replace("MARKER", str(marker))
        + "\n{% endblock %}\n",
        encoding="utf-8",
    )
    commit_all(root, "a co-author's template")

    message = refused(root, "build")
    assert not marker.exists()
    assert message.startswith("error: templates/post.html (line 2): access to attribute '_"), (
        message
    )
    assert "is unsafe" in message and message.rstrip().endswith("fix the template.")
    assert len(message.splitlines()) == 1
    assert not (root / "public").exists()  # a failed first build leaves no output folder

    code, lines, _stderr = _check(root)
    assert not marker.exists()
    assert code == 1
    assert any(
        line.startswith("templates/post.html: error: line 2: reads '_")
        and "templates may not read names starting with _" in line
        for line in lines
    ), lines


def test_a_huge_range_finishes_at_once_with_an_error(tmp_path: Path) -> None:
    root = sample_workspace(tmp_path / "ws", posts=2)
    (root / "templates").mkdir()
    (root / "templates" / "post.html").write_text(
        "{% for i in range(10**9) %}{% endfor %}\n", encoding="utf-8"
    )
    started = time.monotonic()
    message = refused(root, "build")
    assert time.monotonic() - started < 20
    assert message == (
        "error: templates/post.html (line 1): range() of 1,000,000,000 numbers is more than "
        "the 10,000 a template may make; fix the template.\n"
    )


def test_nested_ranges_are_bounded_per_page(tmp_path: Path) -> None:
    root = sample_workspace(tmp_path / "ws", posts=2)
    (root / "templates").mkdir()
    (root / "templates" / "series.html").write_text(
        "{% for a in range(10000) %}{% for b in range(10000) %}{% endfor %}{% endfor %}\n",
        encoding="utf-8",
    )
    started = time.monotonic()
    message = refused(root, "build")
    assert time.monotonic() - started < 20
    assert message.startswith("error: templates/series.html (line 1): range() made more than ")


@pytest.mark.parametrize(
    ("expression", "what"),
    [
        ("'x' * 5000000", "`*` would make 5,000,000 characters"),
        ("'x' | center(6000000)", "`center` would make 6,000,000 characters"),
        ("'x'.ljust(6000000)", "`ljust()` would make 6,000,000 characters"),
        ("'%05000000d' % 1", "a `%` format would make 5,000,000 characters"),
        ("'{:>5000000}'.format(1)", "a `format()` would make 5,000,000 characters"),
        ("range(5000) | join('x' * 1000)", "`join` would make 5,017,890 characters"),
        ("('ab' * 3000) | replace('', 'y' * 1000)", "`replace` would make 6,007,000 characters"),
        ("7 ** 5000", "`**` would make a number of more than 4,096 bits"),
    ],
)
def test_values_past_the_page_size_are_refused_before_they_are_made(
    tmp_path: Path, expression: str, what: str
) -> None:
    root = sample_workspace(tmp_path / "ws", posts=1)
    (root / "templates").mkdir()
    (root / "templates" / "_author.html").write_text(f"{{{{ {expression} }}}}", encoding="utf-8")
    with pytest.raises(BuildError) as raised:
        build_site(load_settings(root))
    message = raised.value.message
    assert message.startswith(f"templates/_author.html (line 1): {what}"), message
    assert message.endswith("; fix the template.")


def test_doubling_a_string_with_tilde_is_refused(tmp_path: Path) -> None:
    root = sample_workspace(tmp_path / "ws", posts=1)
    (root / "templates").mkdir()
    (root / "templates" / "post.html").write_text(
        "{% set ns = namespace(s='x') %}\n"
        "{% for i in range(23) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s | length }}\n",
        encoding="utf-8",
    )
    with pytest.raises(BuildError, match=r"^templates/post\.html \(line 2\): `~` would make "):
        build_site(load_settings(root))


def test_a_page_past_its_size_is_refused(tmp_path: Path) -> None:
    root = sample_workspace(tmp_path / "ws", posts=1)
    (root / "templates").mkdir()
    (root / "templates" / "post.html").write_text(
        "{% for i in range(5000) %}{{ 'x' * 1000 }}{% endfor %}\n", encoding="utf-8"
    )
    with pytest.raises(BuildError, match=r"^templates/post\.html.*: the page would be more than"):
        build_site(load_settings(root))


def test_a_render_that_loops_too_long_is_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No range needed: two loops over a post's text. The bound is 10 s of CPU a render;
    half a second here, to keep the test short."""
    import duologue.site.sandbox as sandbox

    monkeypatch.setattr(sandbox, "RENDER_SECONDS", 0.5)
    root = sample_workspace(tmp_path / "ws", posts=1)
    (root / "templates").mkdir()
    (root / "templates" / "post.html").write_text(
        "{% set text = post.title * 400 %}\n"
        "{% for a in text %}{% for b in text %}{% for c in text %}{% endfor %}"
        "{% endfor %}{% endfor %}\n",
        encoding="utf-8",
    )
    started = time.process_time()
    with pytest.raises(BuildError) as raised:
        build_site(load_settings(root))
    assert time.process_time() - started < 10
    assert raised.value.message == (
        "templates/post.html (line 2): took more than 0.5 seconds of CPU time for one page; "
        "a template must not loop this much; fix the template."
    )


@pytest.mark.parametrize(
    ("files", "named", "cycle"),
    [
        ({"post.html": '{% extends "post.html" %}'}, "post.html", "post.html → post.html"),
        ({"base.html": '{% extends "base.html" %}x'}, "base.html", "base.html → base.html"),
        (
            {
                "parts/a.html": '{% include "post.html" %}',
                "post.html": '{% include "parts/a.html" %}',
            },
            "parts/a.html",
            "parts/a.html → post.html → parts/a.html",
        ),
    ],
    ids=["extends-itself", "base-extends-base", "include-cycle"],
)
def test_a_template_that_extends_or_includes_itself_is_an_error(
    tmp_path: Path, files: dict[str, str], named: str, cycle: str
) -> None:
    root = sample_workspace(tmp_path / "ws", posts=2)
    for name, text in files.items():
        path = root / "templates" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    message = refused(root, "build")
    assert "extends, includes, imports or calls itself without end" in message, message
    assert message.startswith("error: templates/"), message
    assert len(message.splitlines()) == 1

    code, lines, _stderr = _check(root)
    assert code == 1
    assert any(
        line.startswith(f"templates/{named}: error: extends, includes or imports itself ({cycle}")
        for line in lines
    ), lines


def test_a_template_that_is_not_utf8_is_one_error_naming_it(tmp_path: Path) -> None:
    root = sample_workspace(tmp_path / "ws", posts=2)
    (root / "templates").mkdir()
    (root / "templates" / "post.html").write_bytes(
        b'{% extends "base.html" %}\n{% block main %}caf\xe9{% endblock %}\n'
    )
    expected = "templates/post.html: is not UTF-8 (bad byte on line 2); save it as UTF-8."
    assert refused(root, "build") == f"error: {expected}\n"
    code, lines, _stderr = _check(root)
    assert code == 1
    assert f"templates/post.html: error: {expected.removeprefix('templates/post.html: ')}" in lines


def test_a_huge_template_is_refused_unread(tmp_path: Path) -> None:
    root = sample_workspace(tmp_path / "ws", posts=1)
    (root / "templates").mkdir()
    (root / "templates" / "post.html").write_text("x" * (2 * 1024 * 1024), encoding="utf-8")
    message = refused(root, "build")
    assert message == (
        "error: templates/post.html: is 2,097,152 bytes, more than the 1,048,576 duologue "
        "reads; split it or trim it.\n"
    )


@pytest.mark.parametrize("kind", ["linked folder", "templates itself linked", "fifo"])
def test_other_special_files_under_templates_are_refused(tmp_path: Path, kind: str) -> None:
    root = sample_workspace(tmp_path / "ws", posts=1)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "post.html").write_text(SECRET, encoding="utf-8")
    if kind == "linked folder":
        (root / "templates").mkdir()
        os.symlink(elsewhere, root / "templates" / "parts")
        shown, what = "templates/parts", "is a symbolic link"
    elif kind == "templates itself linked":
        os.symlink(elsewhere, root / "templates")
        shown, what = "templates", "must be a folder (not a link or a file)"
    else:
        (root / "templates").mkdir()
        os.mkfifo(root / "templates" / "post.html")
        shown, what = "templates/post.html", "is not a regular file"

    message = refused(root, "build")
    assert message.startswith(f"error: {shown}: {what}"), message
    code, lines, _stderr = _check(root)
    assert code == 1
    assert any(line.startswith(f"{shown}: error: {what}") for line in lines), lines
    assert _leaks(root / "public") == [] if (root / "public").exists() else True


def test_the_incremental_build_notices_a_template_symlink_added_and_removed(
    tmp_path: Path,
) -> None:
    root = sample_workspace(tmp_path / "ws", posts=2)
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET, encoding="utf-8")
    templates = root / "templates"
    templates.mkdir()
    (templates / "post.html").write_text(
        '{% extends "base.html" %}{% block main %}<p>OURS {{ post.title }}</p>{% endblock %}\n',
        encoding="utf-8",
    )
    ok(root, "build")
    page = root / "public" / "slow-work" / "0001-letter-1.html"
    assert "<p>OURS Letter 1</p>" in page.read_text()
    built = _published_files(root / "public")

    # Replaced by a symlink: refused, nothing published from it.
    (templates / "post.html").unlink()
    os.symlink(secret, templates / "post.html")
    assert refused(root, "build").startswith("error: templates/post.html: is a symbolic link")
    assert _published_files(root / "public") == built

    # Removed: the pages come from the packaged template again.
    (templates / "post.html").unlink()
    out = ok(root, "build")
    assert "(0 written)" not in out, out
    assert "OURS" not in page.read_text() and '<h1 class="p-name">Letter 1</h1>' in page.read_text()

    # A new symlink, even under a name no page uses, is refused too.
    built = _published_files(root / "public")
    os.symlink(secret, templates / "extra.html")
    assert refused(root, "build").startswith("error: templates/extra.html: is a symbolic link")
    assert _published_files(root / "public") == built
    (templates / "extra.html").unlink()
    assert "(0 written)" in ok(root, "build")


@pytest.mark.parametrize("count", [0, 1, 511, 512, 513, 1024, 1025, 3000])
def test_the_bounded_output_is_the_plain_join_in_any_number_of_batches(count: int) -> None:
    """Pieces may be empty (a batch of them must not end the page) or not ASCII."""
    from duologue.site.sandbox import Limits, TemplateLimit, bounded_output

    pieces = [("", "a", "·", "<p>", "")[i % 5] for i in range(count)]
    expected = "".join(pieces).encode("utf-8")
    assert bounded_output(iter(pieces), Limits(), "the page") == expected
    small = Limits()
    small.start(len(expected) - 1)
    if expected:
        with pytest.raises(TemplateLimit, match=r"^the page would be more than"):
            bounded_output(iter(pieces), small, "the page")
