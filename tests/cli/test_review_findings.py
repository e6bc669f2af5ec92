"""Hostile and odd input found in review: each gets a clear sentence, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.workspaces import sample_workspace, write_post
from tests.helpers import run_duologue


def _check(root: Path) -> tuple[int, list[dict[str, str]], str]:
    result = run_duologue(root, "check", "--json")
    assert "Traceback" not in result.stderr
    return result.returncode, json.loads(result.stdout), result.stderr


def test_a_turn_number_like_a_date_is_one_error_not_gigabytes(tmp_path: Path) -> None:
    root = sample_workspace(tmp_path / "ws", posts=1)
    write_post(
        root, "slow-work", 202601051200, "ben", slug="dated", in_reply_to=1, date="2026-02-01"
    )
    code, problems, _ = _check(root)
    assert code == 1
    gaps = [p for p in problems if "without gaps" in p["message"]]
    assert len(gaps) == 1 and "missing: 2, 3, 4" in gaps[0]["message"]


def test_a_folder_named_like_a_post_is_reported(tmp_path: Path) -> None:
    root = sample_workspace(tmp_path / "ws", posts=1)
    (root / "series" / "slow-work" / "0002-odd.md").mkdir()
    code, problems, _ = _check(root)
    assert code == 1
    assert any(
        p["path"] == "series/slow-work/0002-odd.md" and "not a regular file" in p["message"]
        for p in problems
    )


def test_settings_with_a_byte_order_mark_are_read(tmp_path: Path) -> None:
    root = sample_workspace(tmp_path / "ws", posts=1)
    settings = root / "duologue.toml"
    settings.write_bytes(b"\xef\xbb\xbf" + settings.read_bytes())
    code, problems, _ = _check(root)
    assert code == 0, problems


def test_characters_xml_cannot_carry_are_refused_by_check_and_build(tmp_path: Path) -> None:
    root = sample_workspace(tmp_path / "ws", posts=1)
    toml = root / "series" / "slow-work" / "series.toml"
    toml.write_text(toml.read_text().replace('title = "', 'title = "\\uFFFE', 1))
    code, problems, _ = _check(root)
    assert code == 1 and any("control characters" in p["message"] for p in problems)
    built = run_duologue(root, "build")
    assert built.returncode == 1 and built.stderr.startswith("error: series/slow-work/series.toml")
    assert "Traceback" not in built.stderr


def test_crlf_posts_link_references_after_a_code_block(tmp_path: Path) -> None:
    root = sample_workspace(tmp_path / "ws", posts=1)
    body = "Ben,\r\n\r\n```\r\n[[#1]] in code\r\n```\r\n\r\nSee [[#1]].\r\n"
    path = write_post(root, "slow-work", 2, "ben", body=body)
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n").replace(b"\r\r\n", b"\r\n"))
    assert run_duologue(root, "build").returncode == 0
    page = (root / "public" / "slow-work" / "0002-letter-2.html").read_text()
    assert "[[#1]] in code" in page
    assert 'See <a href="https://example.org/slow-work/0001-letter-1.html">' in page


def test_status_says_when_the_named_author_is_nobody(tmp_path: Path) -> None:
    root = sample_workspace(tmp_path / "ws", posts=1)
    result = run_duologue(root, "status", "--as", "zed", "--json")
    assert result.returncode == 0
    assert json.loads(result.stdout)[0]["your_turn"] is None
    assert "'zed' (from --as) is not an author" in result.stderr and "ana, ben" in result.stderr
