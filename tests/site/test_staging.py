"""A first build writes into a hidden sibling folder and renames it into place."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from duologue.errors import DuologueError
from duologue.site import writer as writer_module
from duologue.site.build import build_site
from duologue.workspace import load_settings
from tests.site.workspace import add_post, add_series, make_workspace, output_files


def _workspace(root: Path) -> Path:
    make_workspace(root, feed_limit=3)
    add_series(root, "s")
    for turn in range(1, 8):
        add_post(root, "s", turn, body=f"Turn {turn}, after [[#1]].")
    return root


def _siblings(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.name.startswith(".public."))


def test_a_first_build_writes_the_same_site_as_one_into_an_existing_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    staged = _workspace(tmp_path / "staged")
    in_place = _workspace(tmp_path / "in-place")
    (in_place / "public").mkdir()  # exists already: written file by file
    renamed: list[tuple[str, str]] = []
    real_rename = os.rename

    def spy(source: str, destination: str) -> None:
        renamed.append((Path(source).name, Path(destination).name))
        real_rename(source, destination)

    monkeypatch.setattr(writer_module.os, "rename", spy)
    first = build_site(load_settings(staged))
    assert renamed == [(f".public.building-{os.getpid()}", "public")]  # one rename, no temp files
    renamed.clear()
    build_site(load_settings(in_place))
    assert len(renamed) == first.files  # file by file: a temporary name each
    assert output_files(staged / "public") == output_files(in_place / "public")
    assert first.written == first.files == len(output_files(staged / "public"))
    assert _siblings(staged) == []
    # the stamps the manifest took inside the staging folder hold after the rename
    assert build_site(load_settings(staged)).written == 0


def test_a_failed_first_build_leaves_no_output_folder_and_no_sibling(tmp_path: Path) -> None:
    root = _workspace(tmp_path / "ws")
    # The site index is rendered last, after every series' files were written.
    (root / "templates").mkdir()
    (root / "templates/index.html").write_text("{{ no_such_thing }}\n")
    with pytest.raises(DuologueError, match=r"templates/index\.html \(line 1\): .no_such_thing"):
        build_site(load_settings(root))
    assert not (root / "public").exists()
    assert _siblings(root) == []


def test_a_sibling_left_by_a_killed_build_is_removed_and_a_live_ones_kept(
    tmp_path: Path,
) -> None:
    root = _workspace(tmp_path / "ws")
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead = root / f".public.building-{gone.stdout.strip()}"
    (dead / "s").mkdir(parents=True)
    (dead / "s" / "half.html").write_text("half a page")
    live = root / f".public.building-{os.getppid()}"  # a running process: not ours to remove
    live.mkdir()
    build_site(load_settings(root))
    assert _siblings(root) == [live.name]
    assert (root / "public/s/0001-post-1.html").is_file()
    # A build after the first (here a no-op) clears them too.
    (dead / "s").mkdir(parents=True)
    assert build_site(load_settings(root)).written == 0
    assert _siblings(root) == [live.name]


def test_a_parent_folder_that_refuses_a_sibling_means_writing_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _workspace(tmp_path / "ws")
    real_mkdir = Path.mkdir

    def refuse(self: Path, *args: object, **kwargs: object) -> None:
        if self.name.startswith(".public.building-"):
            raise PermissionError(13, "Permission denied")
        real_mkdir(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "mkdir", refuse)
    result = build_site(load_settings(root))
    assert result.written == result.files == len(output_files(root / "public"))
    assert _siblings(root) == []


def test_new_folder_writer_replaces_a_file_written_twice(tmp_path: Path) -> None:
    out = tmp_path / "new"
    out.mkdir()
    writer = writer_module.Writer(out, new_folder=True)
    assert writer.write("a/b.html", b"one")
    assert writer.write("a/b.html", b"two")
    assert (out / "a/b.html").read_bytes() == b"two"
    assert sorted(p.name for p in (out / "a").iterdir()) == ["b.html"]  # no temp file left


@pytest.mark.parametrize("step", ["open", "write", "rename"])
def test_an_interrupt_at_any_step_of_replacing_a_file_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    """A stopped build worker raises KeyboardInterrupt wherever its signal is handled:
    right after os.open returns (before the descriptor is even kept), while writing, or
    just before the rename. The page keeps its old bytes and no temporary file stays."""
    out = tmp_path / "site"
    out.mkdir()
    (out / "page.html").write_bytes(b"old")
    real = {"open": os.open, "write": os.write, "rename": os.rename}

    def interrupted(*args: Any) -> Any:
        done = real[step](*args)  # the step itself happens, then the signal is handled
        if step == "open" and not args[1] & os.O_CREAT:
            return done  # reading the page there now, to compare
        raise KeyboardInterrupt

    monkeypatch.setattr(writer_module.os, step, interrupted)
    writer = writer_module.Writer(out)
    with pytest.raises(KeyboardInterrupt):
        writer.write("page.html", b"new")
    monkeypatch.undo()
    kept = (out / "page.html").read_bytes()
    assert kept == (b"new" if step == "rename" else b"old")
    assert sorted(p.name for p in out.iterdir()) == ["page.html"]
