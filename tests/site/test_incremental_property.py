"""Property: after any sequence of edits, a rebuild writes exactly what a clean build of
the same workspace writes. Guards every shortcut the incremental build takes (the no-op
check, per-series rebuilds, the post and body caches, the output stamps)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from duologue.site import cache as build_cache
from duologue.site import stamps
from duologue.site.build import build_site
from duologue.workspace import load_settings
from tests.site.workspace import add_post, add_series, make_workspace, output_files

SERIES = ("alpha", "beta", "gamma")
BODIES = st.sampled_from(
    [
        "Plain words.",
        "See [[#1]] and [[beta#2]].",
        "In code: `[[#2]]`, not linked; [[alpha#3]] is.",
        "<div>\nRaw [[#1]] block.\n</div>",
        "| a |\n|---|\n| [[#2]] |\n\n~~gone~~",
    ]
)
EDITS = st.one_of(
    st.tuples(
        st.just("retitle"),
        st.sampled_from(SERIES),
        st.integers(1, 4),
        st.text("xyz <&", min_size=1, max_size=6),
    ),
    st.tuples(st.just("body"), st.sampled_from(SERIES), st.integers(1, 4), BODIES),
    st.tuples(st.just("add"), st.sampled_from(SERIES), st.just(0), BODIES),
    st.tuples(st.just("drop"), st.sampled_from(SERIES), st.just(0), st.just("")),
    st.tuples(st.just("touch"), st.sampled_from(SERIES), st.integers(1, 4), st.just("")),
)


def _posts(root: Path, slug: str) -> list[Path]:
    return sorted((root / "series" / slug).glob("[0-9][0-9][0-9][0-9]-*.md"))


def _apply(root: Path, edit: tuple[str, str, int, str]) -> None:
    kind, slug, turn, text = edit
    count = len(_posts(root, slug))
    if kind == "retitle" and turn <= count:
        add_post(root, slug, turn, title=f"Title {text}")
    elif kind == "body" and turn <= count:
        add_post(root, slug, turn, body=text)
    elif kind == "add":
        add_post(root, slug, count + 1, body=text)
    elif kind == "drop" and count > 1:
        _posts(root, slug)[-1].unlink()
    elif kind == "touch":
        pages = sorted((root / "public" / slug).glob("*.html"))
        if pages:
            pages[min(turn, len(pages)) - 1].write_text("vandalised")


def _clean_build(root: Path, into: Path) -> dict[str, bytes]:
    shutil.copytree(root, into, ignore=shutil.ignore_patterns("public", ".git"))
    build_site(load_settings(into))
    return output_files(into / "public")


@pytest.mark.parametrize("forked", [False, True])
def test_a_rebuild_after_any_edits_equals_a_clean_build(
    forked: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(build_cache, "BODY_CHUNK", 2)  # several body cache files a series
    if forked:
        monkeypatch.setattr(stamps, "ASIDE_MIN", 1)
        monkeypatch.setattr(stamps, "_can_fork", lambda: True)

    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(st.lists(st.lists(EDITS, min_size=1, max_size=3), min_size=1, max_size=3))
    def check(rounds: list[list[tuple[str, str, int, str]]]) -> None:
        with tempfile.TemporaryDirectory() as temp:
            root = make_workspace(Path(temp) / "ws", feed_limit=2)
            for slug in SERIES:
                add_series(root, slug)
                for turn in (1, 2, 3):
                    add_post(root, slug, turn, body=f"Turn {turn}: see [[#1]].")
            build_site(load_settings(root))
            for number, edits in enumerate(rounds):
                for edit in edits:
                    _apply(root, edit)
                build_site(load_settings(root))
                clean = _clean_build(root, Path(temp) / f"clean-{number}")
                assert output_files(root / "public") == clean, edits
            assert build_site(load_settings(root)).written == 0

    check()
