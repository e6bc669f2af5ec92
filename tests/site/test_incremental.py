"""A rebuild writes only what changed: nothing at all when nothing did."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from duologue.site.build import build_site
from duologue.workspace import load_settings
from tests.site.workspace import add_post, add_series, make_workspace, thread


def _stamps(out: Path) -> dict[str, tuple[int, int]]:
    return {
        p.relative_to(out).as_posix(): (p.stat().st_mtime_ns, p.stat().st_ino)
        for p in out.rglob("*")
        if p.is_file()
    }


def _changed(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]) -> set[str]:
    return {name for name in after if before.get(name) != after[name]}


def _workspace(tmp_path: Path) -> Path:
    root = make_workspace(tmp_path / "ws", feed_limit=3)
    add_series(root, "s")
    thread(root, "s", 8)
    add_series(root, "t")
    thread(root, "t", 2)
    return root


def test_a_rebuild_with_nothing_changed_rewrites_no_file(tmp_path: Path) -> None:
    root = _workspace(tmp_path)
    first = build_site(load_settings(root))
    assert first.written == first.files
    before = _stamps(root / "public")
    again = build_site(load_settings(root))
    assert (again.written, again.removed, again.files) == (0, 0, first.files)
    assert _stamps(root / "public") == before


def test_a_no_op_rebuild_opens_no_post(tmp_path: Path, monkeypatch) -> None:
    root = _workspace(tmp_path)
    build_site(load_settings(root))
    import duologue.site.load as load

    def refuse(*_args: object) -> str:
        raise AssertionError("a post was read")

    monkeypatch.setattr(load, "read_source_text", refuse)
    assert build_site(load_settings(root)).written == 0
    # touching a file without changing it re-checks it, but still writes nothing
    post = root / "series/s/0004-post-4.md"
    os.utime(post, ns=(post.stat().st_atime_ns, post.stat().st_mtime_ns + 10_000))
    monkeypatch.undo()
    assert build_site(load_settings(root)).written == 0


def test_one_changed_body_rewrites_its_page_and_the_feeds_holding_it(tmp_path: Path) -> None:
    root = _workspace(tmp_path)
    build_site(load_settings(root))
    before = _stamps(root / "public")
    add_post(root, "s", 7, body="A new body for post 7.")
    result = build_site(load_settings(root))
    assert _changed(before, _stamps(root / "public")) == {
        "s/0007-post-7.html",
        "s/feed.xml",
        "s/atom.xml",
        "feed.xml",
        "s/index.html",  # the thread page carries every body
    }
    assert result.written == 5
    assert result.rendered < result.files // 2


def test_a_new_title_reaches_neighbours_answerers_thread_and_index(tmp_path: Path) -> None:
    root = _workspace(tmp_path)
    build_site(load_settings(root))
    before = _stamps(root / "public")
    add_post(root, "s", 2, title="Renamed")
    build_site(load_settings(root))
    assert _changed(before, _stamps(root / "public")) == {
        "s/0001-post-1.html",  # next link and "replied to by"
        "s/0002-post-2.html",
        "s/0003-post-3.html",  # previous link and "in reply to"
        "s/index.html",
        "s/archive/1.xml",  # post 2 and the footers of 1 and 3
    }


def test_a_new_post_adds_its_page_and_updates_the_thread(tmp_path: Path) -> None:
    root = _workspace(tmp_path)
    build_site(load_settings(root))
    before = _stamps(root / "public")
    add_post(root, "t", 3)
    build_site(load_settings(root))
    assert _changed(before, _stamps(root / "public")) == {
        "t/0002-post-2.html",
        "t/0003-post-3.html",
        "t/index.html",
        "t/feed.xml",
        "t/atom.xml",
        "index.html",  # not feed.xml: its three newest posts are all from series s
    }


def test_a_deleted_or_edited_output_file_is_put_back(tmp_path: Path) -> None:
    root = _workspace(tmp_path)
    build_site(load_settings(root))
    page = root / "public/s/0003-post-3.html"
    good = page.read_bytes()
    page.unlink()
    (root / "public/s/feed.xml").write_text("vandalised")
    result = build_site(load_settings(root))
    assert result.written == 2
    assert page.read_bytes() == good
    assert (root / "public/s/feed.xml").read_text().startswith("<?xml")


def test_a_template_override_rerenders_pages_only(tmp_path: Path) -> None:
    root = _workspace(tmp_path)
    build_site(load_settings(root))
    (root / "templates").mkdir()
    (root / "templates/_author.html").write_text(
        '<span class="p-author h-card"><b class="p-name">{{ author.name }}</b></span>'
    )
    build_site(load_settings(root))
    page = (root / "public/s/0001-post-1.html").read_text()
    assert '<b class="p-name">Ana Lima</b>' in page


def test_the_cache_lives_outside_the_output_folder(tmp_path: Path) -> None:
    root = _workspace(tmp_path)
    (root / ".git").mkdir()
    build_site(load_settings(root))
    names = {p.name for p in (root / "public").rglob("*")}
    assert not any(n.endswith((".pickle", ".tmp")) for n in names)
    assert (root / ".git/duologue/build-cache").is_dir()


def _clean_build(root: Path, tmp_path: Path) -> dict[str, bytes]:
    """The same workspace built from scratch elsewhere (its own, empty cache)."""
    import shutil

    from tests.site.workspace import output_files

    copy = tmp_path / "clean"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(root, copy, ignore=shutil.ignore_patterns("public"))
    build_site(load_settings(copy))
    return output_files(copy / "public")


def _linked_series(monkeypatch) -> list[set[str]]:
    """Records the series each build links."""
    import duologue.site.linking as linking

    calls: list[set[str]] = []
    real = linking.link_series

    def spy(title, base_url, series, sources, outside):  # type: ignore[no-untyped-def]
        calls.append({series.slug})
        return real(title, base_url, series, sources, outside)

    monkeypatch.setattr(linking, "link_series", spy)
    return calls


def test_an_old_post_edit_links_only_its_series(tmp_path: Path, monkeypatch) -> None:
    from tests.site.workspace import output_files

    root = _workspace(tmp_path)
    build_site(load_settings(root))
    before = _stamps(root / "public")
    calls = _linked_series(monkeypatch)
    add_post(root, "s", 2, body="Another body for post 2.")
    result = build_site(load_settings(root))
    assert calls == [{"s"}]  # series t is neither loaded nor linked
    assert _changed(before, _stamps(root / "public")) == {
        "s/0002-post-2.html",
        "s/index.html",
        "s/archive/1.xml",
    }
    assert result.files == len(before)
    assert output_files(root / "public") == _clean_build(root, tmp_path)
    assert build_site(load_settings(root)).written == 0


def test_a_cross_series_title_change_updates_the_referencing_post(
    tmp_path: Path, monkeypatch
) -> None:
    from tests.site.workspace import output_files

    root = _workspace(tmp_path)
    add_post(root, "t", 1, body="As [[s#2]] said.")
    build_site(load_settings(root))
    assert ">Post 2</a>" in (root / "public/t/0001-post-1.html").read_text()
    before = _stamps(root / "public")
    calls = _linked_series(monkeypatch)
    add_post(root, "s", 2, title="Renamed")
    build_site(load_settings(root))
    assert calls == [{"s"}, {"t"}]  # t for its reference to s
    assert ">Renamed</a>" in (root / "public/t/0001-post-1.html").read_text()
    changed = _changed(before, _stamps(root / "public"))
    assert {"t/0001-post-1.html", "t/index.html", "t/feed.xml", "t/atom.xml"} <= changed
    assert "index.html" not in changed and "feed.xml" not in changed
    assert output_files(root / "public") == _clean_build(root, tmp_path)


def test_a_new_cross_series_reference_and_a_deleted_page_on_the_fast_path(
    tmp_path: Path, monkeypatch
) -> None:
    from tests.site.workspace import output_files

    root = _workspace(tmp_path)
    build_site(load_settings(root))
    calls = _linked_series(monkeypatch)
    add_post(root, "s", 1, body="See [[t#2]] and [[t#9]].")  # t#9 does not exist
    (root / "public/t/0001-post-1.html").unlink()
    result = build_site(load_settings(root))
    assert calls == [{"s"}, {"t"}]
    assert result.written == 4  # s#1 page, s thread, s archive 1, and t's deleted page
    assert output_files(root / "public") == _clean_build(root, tmp_path)
    # renaming the referenced post (a new file name) reaches s#1 too
    (root / "series/t/0002-post-2.md").unlink()
    add_post(root, "t", 2, slug="renamed")
    build_site(load_settings(root))
    assert not (root / "public/t/0002-post-2.html").exists()
    assert "t/0002-renamed.html" in (root / "public/s/0001-post-1.html").read_text()
    assert output_files(root / "public") == _clean_build(root, tmp_path)


def test_a_change_seen_on_the_site_index_builds_everything(tmp_path: Path, monkeypatch) -> None:
    from tests.site.workspace import output_files

    root = _workspace(tmp_path)
    build_site(load_settings(root))
    calls = _linked_series(monkeypatch)
    add_post(root, "s", 8, title="Latest, renamed")  # shown on the index and in feed.xml
    build_site(load_settings(root))
    assert calls == [{"s"}, {"t"}]  # s alone, then t too once the index showed a change
    assert "Latest, renamed" in (root / "public/index.html").read_text()
    assert output_files(root / "public") == _clean_build(root, tmp_path)
    (root / "public/style.css").unlink()  # a site-wide file: everything is checked again
    assert build_site(load_settings(root)).written == 1


def test_editing_a_template_in_a_subfolder_rebuilds_the_pages(tmp_path: Path) -> None:
    from duologue.site.build import build_site as build
    from duologue.workspace import load_settings as settings_of
    from tests.site.workspace import add_series as series_in
    from tests.site.workspace import make_workspace as workspace_at
    from tests.site.workspace import thread as posts_in

    root = workspace_at(tmp_path / "ws")
    series_in(root, "s")
    posts_in(root, "s", 2)
    parts = root / "templates" / "parts"
    parts.mkdir(parents=True)
    (parts / "a.html").write_text(
        '<span class="p-author h-card"><span class="p-name">{{ author.name }}</span> V1</span>'
    )
    (root / "templates" / "_author.html").write_text('{% include "parts/a.html" %}')
    build(settings_of(root))
    page = next((root / "public" / "s").glob("0001-*.html"))
    assert " V1</span>" in page.read_text()
    (parts / "a.html").write_text((parts / "a.html").read_text().replace("V1", "V2"))
    build(settings_of(root))
    assert " V2</span>" in page.read_text()


def _no_children_left() -> bool:
    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def test_output_stamps_checked_in_a_forked_child_give_the_same_answers(
    tmp_path: Path, monkeypatch
) -> None:
    """Big sites check their outputs in a child process while the inputs are scanned."""
    import duologue.site.stamps as stamps

    monkeypatch.setattr(stamps, "ASIDE_MIN", 1)
    monkeypatch.setattr(stamps, "_can_fork", lambda: True)
    forks: list[int] = []
    real_fork = os.fork

    def counting_fork() -> int:
        pid = real_fork()
        if pid:
            forks.append(pid)
        return pid

    monkeypatch.setattr(stamps.os, "fork", counting_fork)
    root = _workspace(tmp_path)
    first = build_site(load_settings(root))
    assert forks == []  # no manifest yet: nothing to check
    before = _stamps(root / "public")
    assert build_site(load_settings(root)).written == 0
    assert len(forks) == 1 and _stamps(root / "public") == before

    (root / "public/s/feed.xml").write_text("vandalised")
    assert build_site(load_settings(root)).written == 1  # the child saw the damage
    add_post(root, "s", 7, body="A new body for post 7.")
    assert build_site(load_settings(root)).written == 5  # inputs changed: child stopped
    assert len(forks) == 3 and _no_children_left()
    assert build_site(load_settings(root)).files == first.files


@pytest.mark.parametrize("forked", [False, True])
def test_an_edit_and_a_touched_file_in_another_series_are_both_mended(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forked: bool
) -> None:
    """The output check runs even when an input changed, and the rebuild trusts it."""
    import duologue.site.stamps as stamps

    if forked:
        monkeypatch.setattr(stamps, "ASIDE_MIN", 1)
        monkeypatch.setattr(stamps, "_can_fork", lambda: True)
    root = _workspace(tmp_path)
    build_site(load_settings(root))
    good = (root / "public/t/0001-post-1.html").read_bytes()
    (root / "public/t/0001-post-1.html").write_text("vandalised")
    add_post(root, "s", 7, body="A new body for post 7.")
    result = build_site(load_settings(root))
    assert (root / "public/t/0001-post-1.html").read_bytes() == good
    assert "A new body for post 7." in (root / "public/s/0007-post-7.html").read_text()
    assert result.written == 6  # the five of the edit, and the mended page
    assert build_site(load_settings(root)).written == 0


def test_the_body_cache_rewrites_only_the_chunk_of_an_edited_post(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from duologue.site import cache as build_cache
    from duologue.site.keys import digest

    monkeypatch.setattr(build_cache, "BODY_CHUNK", 3)  # turns 1-3, 4-6, 7-8 of series s
    root = _workspace(tmp_path)
    build_site(load_settings(root))
    folder = build_cache.cache_dir(root, digest(str(root.resolve())))

    def chunks() -> dict[str, int]:
        return {p.name: p.stat().st_mtime_ns for p in folder.glob("bodies-s.*.marshal")}

    before = chunks()
    assert sorted(before) == ["bodies-s.0.marshal", "bodies-s.1.marshal", "bodies-s.2.marshal"]
    add_post(root, "s", 5, body="A new body for post 5.")
    build_site(load_settings(root))
    after = chunks()
    assert [name for name in after if after[name] != before[name]] == ["bodies-s.1.marshal"]
    # The thread page still carries every body, the new one from the new chunk.
    thread_page = (root / "public/s/index.html").read_text()
    assert "A new body for post 5." in thread_page and "Body of post 8." in thread_page

    for turn in (7, 8):
        next((root / "series/s").glob(f"{turn:04d}-*.md")).unlink()
    build_site(load_settings(root))
    assert sorted(chunks()) == ["bodies-s.0.marshal", "bodies-s.1.marshal"]
    assert build_site(load_settings(root)).written == 0


def test_a_refused_fork_means_checking_the_outputs_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import duologue.site.stamps as stamps

    def no_fork() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(stamps, "ASIDE_MIN", 1)
    monkeypatch.setattr(stamps, "_can_fork", lambda: True)
    monkeypatch.setattr(stamps.os, "fork", no_fork)
    root = _workspace(tmp_path)
    build_site(load_settings(root))
    assert build_site(load_settings(root)).written == 0
    (root / "public/s/feed.xml").write_text("vandalised")
    assert build_site(load_settings(root)).written == 1
