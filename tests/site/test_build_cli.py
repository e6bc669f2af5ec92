"""``duologue build`` as users run it: determinism across paths and time zones, options, errors."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import run_duologue
from tests.site.workspace import add_post, add_series, make_workspace, output_files, thread


def _workspace(root: Path) -> Path:
    make_workspace(root, feed_limit=2, timezone="Europe/Lisbon")
    add_series(root, "slow-work", reply_within_days=7)
    thread(root, "slow-work", 5)
    add_post(root, "slow-work", 6, date="2026-07-01T10:00:00", body="No offset: Lisbon time. [[#2]]")
    add_series(root, "second")
    add_post(root, "second", 1, title="Ünïcödé ✓ 対話", tags=("ça", "日本"))
    return root


def test_same_workspace_gives_byte_identical_output_whatever_path_and_time_zone(tmp_path: Path) -> None:
    first = _workspace(tmp_path / "one")
    second = _workspace(tmp_path / "elsewhere" / "two")
    a = run_duologue(first, "build", env={"TZ": "Pacific/Kiritimati", "LC_ALL": "C"})
    b = run_duologue(second, "build", env={"TZ": "America/Los_Angeles", "LANG": "C.UTF-8"})
    assert a.returncode == 0, a.stderr
    assert b.returncode == 0, b.stderr
    files = output_files(first / "public")
    assert files == output_files(second / "public")
    assert "slow-work/archive/2.xml" in files
    assert b"2026-07-01T10:00:00+01:00" in files["slow-work/0006-post-6.html"]


def test_build_prints_a_one_line_summary_and_a_rebuild_writes_nothing(tmp_path: Path) -> None:
    root = _workspace(tmp_path / "ws")
    (root / "series" / "slow-work" / "sub").mkdir()
    first = run_duologue(root / "series" / "slow-work" / "sub", "build")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("built ") and first.stdout.count("\n") == 1
    again = run_duologue(root, "build")
    assert again.returncode == 0, again.stderr
    assert "(0 written)" in again.stdout
    assert again.stderr == ""  # no progress bar when stderr is not a terminal


def test_out_and_base_url_options(tmp_path: Path) -> None:
    root = _workspace(tmp_path / "ws")
    result = run_duologue(root, "build", "--out", "site", "--base-url", "https://dialogues.example.net/x")
    assert result.returncode == 0, result.stderr
    page = (root / "site/slow-work/0002-post-2.html").read_text()
    assert 'href="https://dialogues.example.net/x/slow-work/0001-post-1.html"' in page
    assert not (root / "public").exists()


def test_series_option_builds_only_that_series(tmp_path: Path) -> None:
    root = _workspace(tmp_path / "ws")
    result = run_duologue(root, "build", "--series", "second")
    assert result.returncode == 0, result.stderr
    assert sorted(output_files(root / "public")) == [
        "second/0001-post-1.html", "second/atom.xml", "second/feed.xml", "second/index.html",
    ]
    unknown = run_duologue(root, "build", "--series", "nope")
    assert unknown.returncode == 1
    assert unknown.stderr.startswith("error: ") and "nope" in unknown.stderr


def test_output_folders_that_would_clobber_the_workspace_are_refused(tmp_path: Path) -> None:
    root = _workspace(tmp_path / "ws")
    (root / ".git").mkdir()
    for out in (".", "series", "series/slow-work", "drafts", ".git", "..", str(root)):
        result = run_duologue(root, "build", "--out", out)
        assert result.returncode == 1, (out, result.stdout)
        assert result.stderr.startswith("error: output folder"), (out, result.stderr)
        assert "Traceback" not in result.stderr
    assert not (root / "index.html").exists()
    bad_url = run_duologue(root, "build", "--base-url", "ftp://example.org/")
    assert bad_url.returncode == 1 and bad_url.stderr.startswith("error: ")


def test_a_broken_post_fails_the_build_with_one_clear_sentence(tmp_path: Path) -> None:
    root = _workspace(tmp_path / "ws")
    assert run_duologue(root, "build").returncode == 0
    post = root / "series/slow-work/0003-post-3.md"
    post.write_text(post.read_text().replace("author: ana", "author: zed"))
    result = run_duologue(root, "build")
    assert result.returncode == 1
    assert result.stderr == (
        "error: series/slow-work/0003-post-3.md: `author` 'zed' is not an author of slow-work "
        "(ana, ben); fix the handle.\n"
    )
    post.write_text("---\ntitle: [unclosed\n---\nbody\n")
    result = run_duologue(root, "build")
    assert result.returncode == 1
    assert result.stderr.startswith("error: series/slow-work/0003-post-3.md: ")
    assert "Traceback" not in result.stderr
    post.write_bytes(b"---\ntitle: x\n---\n\xff\n")
    result = run_duologue(root, "build")
    assert result.returncode == 1 and "not UTF-8" in result.stderr
