"""Golden files: the whole output of one small series, byte for byte.

When a change to the build is meant to change the output, regenerate them and
review the diff like code:

    DUOLOGUE_REGENERATE_GOLDEN=1 .venv/bin/python -m pytest tests/site/test_golden.py
    git diff tests/data/golden/
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from duologue.site.build import build_site
from duologue.workspace import load_settings
from tests.site.workspace import add_post, add_series, make_workspace, output_files

GOLDEN = Path(__file__).parent.parent / "data" / "golden" / "slow-work"


def _build(tmp_path: Path) -> Path:
    root = make_workspace(tmp_path / "ws", feed_limit=2, title="Sample dialogues")
    add_series(root, "slow-work", title="Slow Work", reply_within_days=7,
               description="Two team leads on calmer work, one letter at a time.",
               author_url="https://ana.example.com/")
    add_post(root, "slow-work", 1, title="Why is every week so loud?", tags=("meetings", "focus"),
             body="Ben,\n\nThree questions for you:\n\n1. Which meeting could be a letter?\n"
                  "2. What would you *stop* doing?\n3. Who decides?\n\nOver to you.")
    add_post(root, "slow-work", 2, title="Three Steps to a Quieter Week",
             body="Ana,\n\nI really liked [[#1]] and the three questions you asked.\n\n"
                  "| step | what |\n|---|---|\n| 1 | ~~status meetings~~ letters |\n\n"
                  "> Who decides?\n\nWe do. Your turn.")
    add_post(root, "slow-work", 3, title="Letters <not> meetings & more",
             body="Ben,\n\n<div onclick=\"x()\">Raw HTML, <em>kept</em>.</div>\n\nSee www.example.org.")
    build_site(load_settings(root))
    return root / "public"


def test_output_matches_the_golden_files(tmp_path: Path) -> None:
    out = _build(tmp_path)
    if os.environ.get("DUOLOGUE_REGENERATE_GOLDEN") == "1":
        shutil.rmtree(GOLDEN, ignore_errors=True)
        shutil.copytree(out, GOLDEN)
    expected = output_files(GOLDEN)
    actual = output_files(out)
    assert sorted(actual) == sorted(expected)
    for name, data in actual.items():
        assert data == expected[name], f"{name} differs from tests/data/golden/slow-work/{name}"
