"""The build's edges: what is in the way of the output folder, the build cache and the
inputs, and the machine saying no in the middle of a build.

Real workspaces, the real ``duologue build`` in a subprocess (or ``build_site`` in this
process where a build must be caught in its middle: its ``progress`` callback runs after
each series), a real tmpfs to fill, a real read-only bind mount (the tests run as root,
so chmod would not stop a write), a real socket, FIFO and symlinks, and a real other
user (``nobody``) where another user's processes matter.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import pickle
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from duologue.errors import DuologueError
from duologue.site.build import build_site
from duologue.workspace import load_settings
from tests.helpers import children, left_behind, run_duologue
from tests.site.workspace import add_post, add_series, make_workspace, output_files, thread

CACHE = Path(".git/duologue/build-cache")
"""Where a workspace with its own ``.git`` folder keeps its build cache."""


def _workspace(root: Path, *, series: tuple[str, ...] = ("s",), posts: int = 4) -> Path:
    make_workspace(root, feed_limit=3)
    (root / ".git").mkdir(exist_ok=True)  # the cache and the lock then live in it
    for slug in series:
        add_series(root, slug)
        thread(root, slug, posts)
    return root


def _clean(root: Path, tmp_path: Path, name: str = "clean") -> dict[str, bytes]:
    """The same workspace built from scratch elsewhere: what the site must be."""
    copy = tmp_path / name
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(
        root, copy, symlinks=True, ignore=shutil.ignore_patterns("public", ".git", ".public.*")
    )
    (copy / ".git").mkdir()
    assert build_site(load_settings(copy)).written > 0
    return output_files(copy / "public")


def _one_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and "unexpectedly" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout




@contextlib.contextmanager
def _mounted(*args: str) -> Iterator[None]:
    """``mount ARGS...`` for the block; the last argument is the mount point."""
    subprocess.run(["mount", *args], check=True)
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", args[-1]], check=False)


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 64 KB tmpfs."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    with _mounted("-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)):
        yield mount


# --- The output folder: what is in its place ------------------------------------------------


def test_an_output_folder_that_is_a_file_is_refused_and_kept(tmp_path: Path) -> None:
    root = _workspace(tmp_path / "ws")
    (root / "site").write_text("not a folder\n")
    line = _one_error(run_duologue(root, "build", "--out", "site"))
    assert line == "error: output folder 'site' is a file; remove it or choose another --out."
    assert (root / "site").read_text() == "not a folder\n"
    assert left_behind(root) == []


def test_an_output_folder_whose_parents_do_not_exist_yet_is_made(tmp_path: Path) -> None:
    """``--out`` under folders that are not there: no sibling to look for, the folders
    made, the site renamed into place, nothing left beside it."""
    root = _workspace(tmp_path / "ws")
    out = tmp_path / "not" / "yet" / "site"
    _ok(run_duologue(root, "build", "--out", str(out)))
    assert output_files(out) == _clean(root, tmp_path)
    assert left_behind(tmp_path / "not") == []


def test_an_output_page_replaced_by_a_symlink_is_replaced_not_followed(tmp_path: Path) -> None:
    root = _workspace(tmp_path / "ws")
    _ok(run_duologue(root, "build"))
    secret = tmp_path / "secret.txt"
    secret.write_text("do not touch\n")
    page = root / "public/s/0002-post-2.html"
    good = page.read_bytes()
    page.unlink()
    page.symlink_to(secret)
    assert "1 written" in _ok(run_duologue(root, "build"))
    assert not page.is_symlink() and page.read_bytes() == good
    assert secret.read_text() == "do not touch\n"
    assert "0 written" in _ok(run_duologue(root, "build"))


def test_an_output_page_that_is_a_socket_is_one_sentence_naming_it(tmp_path: Path) -> None:
    """Opening a socket to compare it fails (ENXIO): refused, naming the file, the
    socket left as it is; once it is gone the next build puts the page back."""
    root = _workspace(tmp_path / "ws")
    _ok(run_duologue(root, "build"))
    page = root / "public/s/0002-post-2.html"
    good = page.read_bytes()
    page.unlink()
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(page))
        line = _one_error(run_duologue(root, "build"))
    finally:
        server.close()
    assert line == (
        f"error: {page}: cannot be read: the system refused it (No such device or address); "
        "fix that and run the command again."
    )
    assert page.is_socket()
    page.unlink()
    _ok(run_duologue(root, "build"))
    assert page.read_bytes() == good
    assert left_behind(root) == []


def _page_of(root: Path, size: int) -> Path:
    """Pad post 2's body until its page is exactly ``size`` bytes (built in place)."""
    page = root / "public/s/0002-post-2.html"
    pad = 0
    for _ in range(8):
        add_post(root, "s", 2, body="Padding " + "x" * pad + ".")
        build_site(load_settings(root))
        length = page.stat().st_size
        if length == size:
            return page
        pad += size - length
    raise AssertionError(f"could not make a page of {size} bytes")


def test_a_folder_where_a_page_should_be_is_one_sentence_naming_it(tmp_path: Path) -> None:
    """A folder the size of the page (ext4's 4096 bytes) where the page was: compared
    (EISDIR on reading is no crash), then refused as it cannot be replaced; the folder
    and what it holds stay; once it is gone the next build puts the page back."""
    root = _workspace(tmp_path / "ws")
    page = _page_of(root, 4096)
    good = page.read_bytes()
    page.unlink()
    page.mkdir()
    if page.stat().st_size != 4096:
        pytest.skip("this file system does not give a folder 4096 bytes")
    (page / "keep.txt").write_text("mine\n")
    with pytest.raises(DuologueError) as refused:
        build_site(load_settings(root))
    assert re.fullmatch(f"{re.escape(str(page))}: cannot be written: .*", refused.value.message), (
        refused.value.message
    )
    assert (page / "keep.txt").read_text() == "mine\n"
    assert left_behind(root / "public") == []
    shutil.rmtree(page)
    build_site(load_settings(root))
    assert page.read_bytes() == good


def test_an_output_page_that_cannot_be_read_is_one_sentence_naming_it(tmp_path: Path) -> None:
    """A page the same size as the new one whose read fails (a sysfs file that answers
    EINVAL, bind-mounted over it): refused, naming the page, not a traceback."""
    speed = Path("/sys/class/net/lo/speed")
    if not speed.exists() or speed.stat().st_size != 4096:
        pytest.skip("no sysfs file of 4096 bytes that refuses reading")
    root = _workspace(tmp_path / "ws")
    page = _page_of(root, 4096)
    good = page.read_bytes()
    post = root / "series/s/0002-post-2.md"
    post.write_text(post.read_text().replace("Padding xxxx", "Padding yyyy"))  # same size
    with _mounted("--bind", str(speed), str(page)), pytest.raises(DuologueError) as refused:
        build_site(load_settings(root))
    assert refused.value.message == (
        f"{page}: cannot be read: the system refused it (Invalid argument); "
        "fix that and run the command again."
    )
    assert page.read_bytes() == good  # the mount gone, the old page is there
    build_site(load_settings(root))
    assert b"yyyy" in page.read_bytes()
    assert left_behind(root / "public") == []


def test_a_removed_posts_page_that_became_a_folder_is_left_alone(tmp_path: Path) -> None:
    root = _workspace(tmp_path / "ws")
    _ok(run_duologue(root, "build"))
    page = root / "public/s/0004-post-4.html"
    page.unlink()
    page.mkdir()
    (page / "notes.txt").write_text("mine\n")
    (root / "series/s/0004-post-4.md").unlink()
    _ok(run_duologue(root, "build"))
    assert (page / "notes.txt").read_text() == "mine\n"
    expected = _clean(root, tmp_path)
    assert {k: v for k, v in output_files(root / "public").items() if "0004" not in k} == expected


def test_a_temporary_file_left_with_our_pid_is_replaced(tmp_path: Path) -> None:
    """A build killed between writing ``.<page>.<pid>.tmp`` and renaming it, whose pid
    this process now has: the next write of that page removes it and writes anew."""
    root = _workspace(tmp_path / "ws")
    build_site(load_settings(root))
    page = root / "public/s/0002-post-2.html"
    left = page.with_name(f".{page.name}.{os.getpid()}.tmp")
    left.write_text("half a page")
    add_post(root, "s", 2, body="A new body.")
    build_site(load_settings(root))
    assert not left.exists()
    assert output_files(root / "public") == _clean(root, tmp_path)


def test_a_page_bigger_than_the_free_space_is_one_sentence(tmp_path: Path, tiny_disk: Path) -> None:
    """The page is written in part (a short write) and then the disk is full: one
    sentence naming the page, and no site or staging folder on the full disk."""
    root = _workspace(tmp_path / "ws", posts=1)
    add_post(root, "s", 1, body=" ".join(["word"] * 30_000))  # 150 KB of body
    out = tiny_disk / "site"
    line = _one_error(run_duologue(root, "build", "--out", str(out)))
    assert re.fullmatch(
        f"error: {re.escape(str(tiny_disk))}/\\.site\\.building-[0-9]+/s/\\S+\\.html: "
        "cannot be written: the disk is full; free some space and run the command again.",
        line,
    ), line
    assert sorted(os.listdir(tiny_disk)) == []
    add_post(root, "s", 1, body="Short again.")
    _ok(run_duologue(root, "build", "--out", str(out)))
    assert output_files(out) == _clean(root, tmp_path)


def test_an_output_folder_made_during_a_first_build_is_not_overwritten(tmp_path: Path) -> None:
    """Someone makes the output folder while the first build writes its staging folder:
    the rename cannot put the site there, the build says so, removes its staging folder
    and leaves theirs as it is; the next build then writes into it."""
    root = _workspace(tmp_path / "ws", series=("a", "b"))

    def someone_makes_it(_what: str, _done: int, _total: int) -> None:
        (root / "public").mkdir(exist_ok=True)
        (root / "public/theirs.txt").write_text("theirs\n")

    with pytest.raises(DuologueError) as refused:
        build_site(load_settings(root), progress=someone_makes_it)
    out = root / "public"
    assert refused.value.message.startswith(f"{out}: cannot put the built site there (")
    assert refused.value.message.endswith(
        "was the folder made during the build? Run `duologue build` again."
    )
    assert output_files(out) == {"theirs.txt": b"theirs\n"}
    assert left_behind(root) == []
    build_site(load_settings(root))
    assert output_files(out) == {**_clean(root, tmp_path), "theirs.txt": b"theirs\n"}


# --- Inputs changing under the build ----------------------------------------------------------


def _warm(root: Path) -> None:
    """Built once, so a build for another base URL takes the posts from the post cache
    and reads each body again from its file as it renders it."""
    build_site(load_settings(root))


@pytest.mark.parametrize("change", ["edited", "deleted", "folder"])
def test_a_post_changed_between_scan_and_render_is_one_sentence(
    tmp_path: Path, change: str
) -> None:
    root = _workspace(tmp_path / "ws", series=("a", "b"))
    _warm(root)
    post = root / "series/b/0003-post-3.md"
    before = output_files(root / "public")

    def meanwhile(_what: str, _done: int, _total: int) -> None:
        if not post.exists() or post.is_dir():
            return
        if change == "edited":
            post.write_text(post.read_text().replace("Body of post 3", "Edited"))
        else:
            post.unlink()
            if change == "folder":
                post.mkdir()

    with pytest.raises(DuologueError) as refused:
        build_site(load_settings(root), base_url="https://example.net/", progress=meanwhile)
    assert (
        refused.value.message
        == {
            "edited": "series/b/0003-post-3.md: changed while the site was being built; "
            "run `duologue build` again.",
            "deleted": "series/b/0003-post-3.md: cannot be read (No such file or directory).",
            "folder": "series/b/0003-post-3.md: is not a regular file; duologue reads only "
            "regular files.",
        }[change]
    )
    # Series a was written for the new address already; b's pages are as they were.
    after = output_files(root / "public")
    assert {k: v for k, v in after.items() if k.startswith("b/")} == {
        k: v for k, v in before.items() if k.startswith("b/")
    }
    assert left_behind(root) == []
    if change == "folder":
        post.rmdir()
    if change != "edited":
        add_post(root, "b", 3)
    build_site(load_settings(root), base_url="https://example.net/")
    assert b"https://example.net/b/0003-post-3.html" in (root / "public/b/index.html").read_bytes()


def test_a_post_over_eight_mebibytes_is_refused_naming_it(tmp_path: Path) -> None:
    root = _workspace(tmp_path / "ws")
    big = root / "series/s/0005-big.md"
    big.write_text(
        "---\ntitle: Big\nauthor: ana\ndate: 2026-02-01T09:30:00+00:00\nturn: 5\n"
        "in_reply_to: 4\n---\n" + ("word " * 1_700_000)
    )
    line = _one_error(run_duologue(root, "build"))
    assert line == (
        "error: series/s/0005-big.md: is larger than the 8,388,608 bytes duologue reads."
    )
    assert not (root / "public").exists()
    big.unlink()
    _ok(run_duologue(root, "build"))


def test_a_series_folder_without_series_toml_is_refused(tmp_path: Path) -> None:
    root = _workspace(tmp_path / "ws")
    (root / "series/lost").mkdir()
    add_post(root, "lost", 1)
    line = _one_error(run_duologue(root, "build"))
    assert line == (
        "error: series/lost/series.toml: is missing; every folder under series/ needs one."
    )
    assert not (root / "public").exists()


def test_a_linked_series_folder_is_no_series(tmp_path: Path) -> None:
    """A symlink under series/ is never followed, wherever it points: ``--series`` naming
    it is refused by name, and a whole build leaves it out."""
    root = _workspace(tmp_path / "ws")
    (root / "series/alias").symlink_to("s")
    outside = add_series(tmp_path / "elsewhere", "far")
    (root / "series/far").symlink_to(outside)
    for name in ("alias", "far"):
        line = _one_error(run_duologue(root, "build", "--series", name))
        assert line == (
            f"error: series/{name}: is a symbolic link, not a series folder; duologue never "
            "follows one, so replace it with the folder itself."
        )
    _ok(run_duologue(root, "build"))
    assert sorted(p.name for p in (root / "public").iterdir()) == [
        "feed.xml",
        "index.html",
        "s",
        "style.css",
    ]


def test_a_file_where_the_series_folder_should_be(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    (root / ".git").mkdir()
    shutil.rmtree(root / "series")
    (root / "series").write_text("not a folder\n")
    _ok(run_duologue(root, "build"))
    assert sorted(output_files(root / "public")) == ["feed.xml", "index.html", "style.css"]


def test_hidden_files_among_the_templates_are_no_templates(tmp_path: Path) -> None:
    root = _workspace(tmp_path / "ws")
    (root / "templates/parts").mkdir(parents=True)
    (root / "templates/.DS_Store").write_bytes(b"\x00\x01\xff not a template")
    (root / "templates/parts/.swp").write_bytes(b"\xff\xfe")
    _ok(run_duologue(root, "build"))
    assert output_files(root / "public") == _clean(root, tmp_path)
    (root / "templates/.DS_Store").write_bytes(b"\x00 changed")
    assert "(0 written)" in _ok(run_duologue(root, "build"))


def test_a_no_op_build_of_one_series_counts_its_files(tmp_path: Path) -> None:
    root = _workspace(tmp_path / "ws", series=("a", "b"))
    first = _ok(run_duologue(root, "build", "--series", "a"))
    again = _ok(run_duologue(root, "build", "--series", "a"))
    count = len([k for k in output_files(root / "public") if k.startswith("a/")])
    assert first.startswith(f"built {count} files ({count} written)")
    assert again.startswith(f"built {count} files (0 written)")


# --- The build cache: never trusted, never a traceback ----------------------------------------


def _cache(root: Path) -> Path:
    return root / CACHE


def _manifest(root: Path) -> Path:
    (found,) = _cache(root).glob("manifest-*.marshal")
    return found


MANIFESTS = {
    "another-version": lambda data: (6, *data[1:]),
    "another-length": lambda data: data[:5],
    "inputs-not-bytes": lambda data: (*data[:2], "inputs", *data[3:]),
    "series-of-another-shape": lambda data: (*data[:5], {"s": (1, 2)}),
    "feed-rows-not-a-tuple": lambda data: (*data[:5], {"s": ((), "", 4, [1])}),
    "truncated": None,
}


@pytest.mark.parametrize("damage", list(MANIFESTS))
def test_a_damaged_manifest_is_ignored_and_rebuilt(tmp_path: Path, damage: str) -> None:
    root = _workspace(tmp_path / "ws")
    _ok(run_duologue(root, "build"))
    manifest = _manifest(root)
    blob = manifest.read_bytes()
    change = MANIFESTS[damage]
    manifest.write_bytes(
        blob[: len(blob) // 2] if change is None else marshal.dumps(change(marshal.loads(blob)))
    )
    (root / "public/s/0001-post-1.html").write_text("vandalised")
    out = _ok(run_duologue(root, "build"))
    assert out.startswith("built ")
    assert output_files(root / "public") == _clean(root, tmp_path)
    assert manifest.read_bytes() != blob[: len(blob) // 2]
    assert "(0 written)" in _ok(run_duologue(root, "build"))


def _post_cache(root: Path) -> Path:
    return _cache(root) / "posts-s.pickle"


POST_CACHES = {
    "another-version": lambda data: (6, data[1]),
    "rows-of-another-shape": lambda data: (
        data[0],
        (data[1][0], {rel: (sig, ("short",)) for rel, (sig, _row) in data[1][1].items()}),
    ),
}


@pytest.mark.parametrize("damage", list(POST_CACHES))
def test_a_post_cache_of_another_shape_is_ignored(tmp_path: Path, damage: str) -> None:
    root = _workspace(tmp_path / "ws")
    build_site(load_settings(root))
    cache = _post_cache(root)
    cache.write_bytes(pickle.dumps(POST_CACHES[damage](pickle.loads(cache.read_bytes()))))
    add_post(root, "s", 2, title="Renamed")  # the series is built again, its cache read
    build_site(load_settings(root))
    assert output_files(root / "public") == _clean(root, tmp_path)
    assert pickle.loads(cache.read_bytes())[0] == 7  # written again, in this version's form


def test_damaged_and_old_body_caches_are_ignored(tmp_path: Path) -> None:
    """A truncated chunk, and the one file of every body that format 5 wrote: neither is
    read as bodies; the old one is removed when the bodies are written again."""
    root = _workspace(tmp_path / "ws")
    build_site(load_settings(root))
    (chunk,) = _cache(root).glob("bodies-s.*.marshal")
    blob = chunk.read_bytes()
    chunk.write_bytes(blob[: len(blob) // 2])
    old = _cache(root) / "bodies-s.marshal"
    old.write_bytes(marshal.dumps((5, "context", {1: ("key", "<p>stale</p>")})))
    settings = root / "duologue.toml"
    settings.write_text(settings.read_text().replace("Sample dialogues", "Renamed"))
    build_site(load_settings(root))
    assert output_files(root / "public") == _clean(root, tmp_path)
    assert marshal.loads(chunk.read_bytes())[0] == 7
    assert not old.exists()


def test_the_cache_folder_removed_during_a_build(tmp_path: Path) -> None:
    root = _workspace(tmp_path / "ws", series=("a", "b"))
    build_site(load_settings(root))
    removed: list[bool] = []

    def someone_removes_it(_what: str, _done: int, _total: int) -> None:
        if not removed:
            shutil.rmtree(_cache(root))
            removed.append(True)

    build_site(load_settings(root), base_url="https://example.net/", progress=someone_removes_it)
    assert removed
    assert b"https://example.net/b/" in (root / "public/b/index.html").read_bytes()
    assert build_site(load_settings(root), base_url="https://example.net/").written == 0


def test_a_folder_where_a_cache_file_should_be(tmp_path: Path) -> None:
    """The cache files cannot replace folders in their place: the build still works (the
    cache is best effort), every time from scratch, and leaves no temporary file."""
    root = _workspace(tmp_path / "ws")
    _ok(run_duologue(root, "build"))
    manifest = _manifest(root)
    manifest.unlink()
    manifest.mkdir()
    (manifest / "x").write_text("in the way")
    shutil.rmtree(root / "public")
    for _ in range(2):
        _ok(run_duologue(root, "build"))
        assert output_files(root / "public") == _clean(root, tmp_path)
    assert left_behind(root / ".git") == []
    assert (manifest / "x").read_text() == "in the way"


def test_temporary_files_in_the_cache_folder(tmp_path: Path) -> None:
    """A temporary file of pid 0 is no live process's: removed at the end of a build.
    One without a pid in its name is not known to be duologue's there: kept."""
    root = _workspace(tmp_path / "ws")
    _ok(run_duologue(root, "build"))
    dead = _cache(root) / ".posts-s.pickle.duologue-0-abc123.tmp"
    legacy = _cache(root) / ".posts-s.pickle.abcd1234.tmp"
    dead.write_text("half")
    legacy.write_text("half")
    add_post(root, "s", 2, title="Renamed")
    _ok(run_duologue(root, "build"))
    assert not dead.exists()
    assert legacy.read_text() == "half"


def test_a_read_only_cache_folder_does_not_stop_the_build(tmp_path: Path) -> None:
    root = _workspace(tmp_path / "ws")
    _ok(run_duologue(root, "build"))
    cache = _cache(root)
    with _mounted("--bind", "-o", "ro", str(cache), str(cache)):
        add_post(root, "s", 2, title="Renamed")
        _ok(run_duologue(root, "build"))
        assert output_files(root / "public") == _clean(root, tmp_path)
    assert left_behind(root / ".git") == []
    _ok(run_duologue(root, "build"))  # the cache written again now
    assert "(0 written)" in _ok(run_duologue(root, "build"))


# --- Another user's processes; folders this process may not open ----------------------------


def _as_root_without(caps: str, root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``duologue ARGS`` as root without the capabilities ``caps`` (``-kill,...``): what a
    person who is not root meets (another user's processes, folders closed to them)."""
    return subprocess.run(
        ["setpriv", f"--bounding-set={caps}", sys.executable, "-m", "duologue", *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def other_users_process() -> Iterator[int]:
    """The pid of a live process of user nobody."""
    if shutil.which("setpriv") is None:
        pytest.skip("needs setpriv")
    sleeper = subprocess.Popen(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "sleep", "60"]
    )
    try:
        yield sleeper.pid
    finally:
        sleeper.kill()
        sleeper.wait()


def test_another_users_staging_folder_and_cache_temp_file_are_kept(
    tmp_path: Path, other_users_process: int
) -> None:
    """A staging folder and a cache temporary file named by the pid of another user's live
    process (which may not even be signalled: EPERM) belong to a build still running:
    neither is removed; a dead pid's are."""
    root = _workspace(tmp_path / "ws")
    _ok(run_duologue(root, "build"))
    shutil.rmtree(root / "public")
    theirs = root / f".public.building-{other_users_process}"
    theirs.mkdir()
    (theirs / "half.html").write_text("half")
    temp = _cache(root) / f".posts-s.pickle.duologue-{other_users_process}-abc123.tmp"
    temp.write_text("half")
    result = _as_root_without("-kill", root, "build")
    _ok(result)
    assert output_files(root / "public") == _clean(root, tmp_path)
    assert (theirs / "half.html").read_text() == "half"
    assert temp.read_text() == "half"


def test_a_series_folder_this_user_may_not_open_is_one_sentence(tmp_path: Path) -> None:
    if shutil.which("setpriv") is None:
        pytest.skip("needs setpriv")
    root = _workspace(tmp_path / "ws", series=("a", "b"))
    folder = root / "series/b"
    folder.chmod(0)
    try:
        result = _as_root_without("-dac_override,-dac_read_search", root, "build")
    finally:
        folder.chmod(0o755)
    line = _one_error(result)
    assert line == (
        f"error: {folder}: permission denied; check the permissions of the file and of its folder."
    )
    assert not (root / "public").exists()
    assert left_behind(root) == []


# --- Build workers that stop or are killed --------------------------------------------------




class KilledWorker:
    """What a build did when one of its workers was killed and the other stopped."""

    def __init__(self, root: Path, stopped: int, code: int, stderr: str) -> None:
        self.root = root
        self.stopped = stopped
        self.code = code
        self.stderr = stderr


@pytest.fixture(scope="module")
def killed_worker(tmp_path_factory: pytest.TempPathFactory) -> KilledWorker:
    """A first build of two series of 250 posts, a worker each. One worker is killed (the
    OOM killer), the other stopped (SIGSTOP: it cannot leave when told to)."""
    if (os.cpu_count() or 1) < 2:
        pytest.skip("one CPU: the build forks no workers")
    root = _workspace(tmp_path_factory.mktemp("killed") / "ws", series=("a", "b"), posts=250)
    run = subprocess.Popen(
        [sys.executable, "-m", "duologue", "build"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while len(workers := children(run.pid)) < 2:
        assert run.poll() is None, run.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.002)
    stopped, killed = workers[:2]
    os.kill(stopped, signal.SIGSTOP)
    os.kill(killed, signal.SIGKILL)
    _stdout, stderr = run.communicate(timeout=60)
    return KilledWorker(root, stopped, run.returncode, stderr)


def test_a_killed_build_worker_fails_the_build_cleanly(killed_worker: KilledWorker) -> None:
    """The build ends with exit 1 and one line, the stopped worker killed after its grace
    (it could not leave), no staging folder or temporary file left, no output folder; the
    next build makes the whole site."""
    root = killed_worker.root
    assert killed_worker.code == 1, killed_worker.stderr
    assert "Traceback" not in killed_worker.stderr
    lines = killed_worker.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), killed_worker.stderr
    status = Path(f"/proc/{killed_worker.stopped}/status")
    assert not status.exists() or "State:\tZ" in status.read_text()
    assert not (root / "public").exists()
    assert left_behind(root) == []
    _ok(run_duologue(root, "build"))
    assert len(list((root / "public/a").glob("0*.html"))) == 250
    assert output_files(root / "public/b") != {}


def test_a_killed_build_worker_is_not_called_a_bug(killed_worker: KilledWorker) -> None:
    assert killed_worker.stderr.startswith("error: a build worker process was killed"), (
        killed_worker.stderr
    )
    assert "unexpectedly" not in killed_worker.stderr, killed_worker.stderr


def test_a_cache_folder_this_user_may_not_list(tmp_path: Path) -> None:
    """The cache folder may be entered and written but not listed (mode 0300): the body
    cache, found by listing, is then empty (every body rendered again), and the build is
    as it should be."""
    if shutil.which("setpriv") is None:
        pytest.skip("needs setpriv")
    root = _workspace(tmp_path / "ws")
    _ok(run_duologue(root, "build"))
    settings = root / "duologue.toml"
    settings.write_text(settings.read_text().replace("Sample dialogues", "Renamed"))
    _cache(root).chmod(0o300)
    try:
        result = _as_root_without("-dac_override,-dac_read_search", root, "build")
    finally:
        _cache(root).chmod(0o755)
    _ok(result)
    assert output_files(root / "public") == _clean(root, tmp_path)
    assert "(0 written)" in _ok(run_duologue(root, "build"))


@pytest.mark.parametrize("relpath", ["../escape.html", "/tmp/escape.html", "a/../../b.html"])
def test_the_writer_refuses_a_path_outside_its_folder(tmp_path: Path, relpath: str) -> None:
    """Output paths come from validated slugs, so no build asks this; were one to, the
    writer refuses rather than write outside the output folder."""
    from duologue.site.writer import Writer

    out = tmp_path / "site"
    out.mkdir()
    with pytest.raises(DuologueError) as refused:
        Writer(out).write(relpath, b"x")
    assert refused.value.message == f"refusing to write {relpath!r} outside the output folder."
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]
    assert list(out.iterdir()) == []
