"""Which remote URLs duologue lets git talk to (SPEC §4: hostile remotes are refused)."""

from __future__ import annotations

import pytest

from duologue.errors import GitFailure
from duologue.git.failures import check_remote_url


@pytest.mark.parametrize(
    "url",
    [
        "https://git.example.org/ana/letters.git",
        "ssh://git@git.example.org/ana/letters.git",
        "git@git.example.org:ana/letters.git",
        "/srv/git/letters.git",
        "../letters.git",
        "./letters.git",
        "file:///srv/git/letters.git",
        "letters.git",
    ],
)
def test_ordinary_remotes_are_allowed(url: str) -> None:
    check_remote_url(url, "origin")


@pytest.mark.parametrize(
    "url",
    [
        "ext::sh -c touch% /tmp/pwned",
        "fd::3",
        "-oProxyCommand=touch /tmp/x",
        "--upload-pack=touch /tmp/x",
        "http://plain.example.org/letters.git",
        "git://git.example.org/letters.git",
        "ftp://example.org/letters.git",
        "foo::bar",
        "",
        "host:path/without/user",
    ],
)
def test_hostile_or_unsupported_remotes_are_refused(url: str) -> None:
    with pytest.raises(GitFailure) as caught:
        check_remote_url(url, "origin")
    assert "origin" in caught.value.message
