"""Every build goes series by series; big ones a whole series per worker process, with
the same bytes as a build in one process."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from duologue.errors import DuologueError
from duologue.site import cache as build_cache
from duologue.site import pool, series_build
from duologue.site.build import build_site
from duologue.site.keys import digest
from duologue.workspace import load_settings
from tests.site.workspace import add_post, add_series, make_workspace


def _workspace(root: Path) -> Path:
    make_workspace(root, feed_limit=4)
    for slug in ("alpha", "beta", "gamma"):
        add_series(root, slug)
        for turn in range(1, 11):
            body = f"Turn {turn} of {slug}: see [[#1]], [[alpha#2]] and [[gamma#9]].\n\n`[[beta#3]]`"
            if slug == "beta" and turn == 5:
                body += "\n\n<div>\nRaw block citing [[alpha#10]].\n</div>"
            add_post(root, slug, turn, title=f"{slug.title()} {turn} <&>", body=body)
    return root


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def in_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every build here counts as big enough for worker processes."""
    monkeypatch.setattr(pool, "PARALLEL_MIN", 1)
    monkeypatch.setattr(pool.os, "cpu_count", lambda: 2)


def _count_worker_pools(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A list that gets the worker count each time a build forks a pool of workers."""
    calls: list[int] = []
    real = pool.fork_pool

    def counted(workers: int, shared: object) -> object:
        calls.append(workers)
        return real(workers, shared)

    monkeypatch.setattr(pool, "fork_pool", counted)
    return calls


def test_series_workers_write_the_same_site_as_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one = _workspace(tmp_path / "one")
    monkeypatch.setattr(pool, "use_processes", lambda _count: 0)
    build_site(load_settings(one))
    monkeypatch.undo()

    many = _workspace(tmp_path / "many")
    monkeypatch.setattr(pool, "PARALLEL_MIN", 1)
    monkeypatch.setattr(pool.os, "cpu_count", lambda: 2)
    calls = _count_worker_pools(monkeypatch)
    result = build_site(load_settings(many))
    assert calls == [2]

    assert result.written == result.files == len(_files(many / "public"))
    assert _files(many / "public") == _files(one / "public")
    page = (many / "public/beta/0005-post-5.html").read_text()
    assert '<a href="https://example.org/alpha/0010-post-10.html">Alpha 10 &lt;&amp;&gt;</a>' in page
    assert "<code>[[beta#3]]</code>" in page


def test_after_a_series_worker_build_a_rebuild_writes_nothing(tmp_path: Path, in_workers: None) -> None:
    root = _workspace(tmp_path / "ws")
    build_site(load_settings(root))
    again = build_site(load_settings(root))
    assert again.written == 0 and again.rendered == 0


def test_a_retitled_post_retitles_links_from_other_series_built_in_workers(
    tmp_path: Path, in_workers: None
) -> None:
    root = _workspace(tmp_path / "ws")
    build_site(load_settings(root))
    shutil.rmtree(root / "public")  # the rebuild below renders everything again, in workers
    add_post(root, "alpha", 2, title="Renamed")
    build_site(load_settings(root))
    page = (root / "public/gamma/0007-post-7.html").read_text()
    assert ">Renamed</a>" in page and "Alpha 2 &lt;" not in page


def test_the_first_broken_series_in_order_is_reported(tmp_path: Path, in_workers: None) -> None:
    root = _workspace(tmp_path / "ws")
    (root / "series/gamma/0003-post-3.md").write_text("no front matter\n")
    add_post(root, "beta", 4, author="nobody")
    with pytest.raises(DuologueError) as raised:
        build_site(load_settings(root))
    assert "beta/0004-post-4.md" in str(raised.value)
    assert "nobody" in str(raised.value)


def test_one_series_is_built_in_this_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_workers: None
) -> None:
    root = make_workspace(tmp_path / "ws")
    add_series(root, "long")
    for turn in range(1, 9):
        add_post(root, "long", turn)
    calls = _count_worker_pools(monkeypatch)
    result = build_site(load_settings(root))
    assert calls == []  # one series: a pool would have one worker
    assert result.written == result.files == len(_files(root / "public"))


def test_a_rebuild_after_an_edit_builds_only_that_series(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_workers: None
) -> None:
    root = _workspace(tmp_path / "ws")
    add_series(root, "delta")  # nothing refers to it
    for turn in range(1, 4):
        add_post(root, "delta", turn)
    build_site(load_settings(root))
    built: list[str] = []
    real = series_build.build_one_series

    def spy(job: series_build.SeriesJob, slug: str) -> series_build.SeriesOutcome:
        built.append(slug)
        return real(job, slug)

    monkeypatch.setattr(series_build, "build_one_series", spy)
    add_post(root, "delta", 2, body="An edited second post of delta.")
    result = build_site(load_settings(root))
    assert built == ["delta"]  # in this process: one series is not worth a pool
    assert result.written == 4  # the post, the thread page, feed.xml and atom.xml


def test_a_new_latest_post_rebuilds_the_site_index_and_feed(
    tmp_path: Path, in_workers: None
) -> None:
    root = _workspace(tmp_path / "ws")
    build_site(load_settings(root))
    add_post(root, "gamma", 11, title="Gamma 11, the newest")
    build_site(load_settings(root))
    assert "Gamma 11, the newest" in (root / "public/index.html").read_text()
    assert "Gamma 11, the newest" in (root / "public/feed.xml").read_text()
    clean = tmp_path / "clean"
    shutil.copytree(root, clean, ignore=shutil.ignore_patterns("public"))
    build_site(load_settings(clean))
    assert _files(clean / "public") == _files(root / "public")


def test_a_series_worker_build_removes_pages_of_deleted_posts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_workers: None
) -> None:
    root = _workspace(tmp_path / "ws")
    build_site(load_settings(root))
    (root / "series/beta/0010-post-10.md").unlink()
    # Another base URL (so no series can be rebuilt on its own) and no post cache: the
    # next build parses every post again, in workers; the manifest still lists the
    # deleted post's page.
    folder = build_cache.cache_dir(root, digest(str(root.resolve())))
    for cached in folder.glob("posts-*.pickle"):
        cached.unlink()
    calls = _count_worker_pools(monkeypatch)
    other = "https://other.example/"
    result = build_site(load_settings(root), base_url=other)
    assert calls == [2]
    assert not (root / "public/beta/0010-post-10.html").exists()
    assert other + "beta/0009-post-9.html" in (root / "public/beta/0008-post-8.html").read_text()
    assert result.removed == 1
    assert build_site(load_settings(root), base_url=other).written == 0


def test_after_a_worker_build_a_template_change_rerenders_every_page(
    tmp_path: Path, in_workers: None
) -> None:
    root = _workspace(tmp_path / "ws")
    build_site(load_settings(root))
    (root / "templates").mkdir()
    (root / "templates/_author.html").write_text('<b class="p-author h-card">{{ author.name }}</b>')
    result = build_site(load_settings(root))
    assert '<b class="p-author h-card">Ana Lima</b>' in (root / "public/gamma/0001-post-1.html").read_text()
    assert build_site(load_settings(root)).written == 0
    assert result.written > 30
