"""Issue 13's benchmark: ``duologue verify`` of one new commit on a long and a short history.

    python bench/verify_bench.py [--runs 15] [--long 10000] [--short 10]

Two repositories are generated with ``git fast-import`` (each commit one turn of a
two-author series, committed by its author, as ``publish`` makes them), plus one new
valid turn on top. Timed as real subprocesses, taking turns round by round (warm: one
untimed round first, then the median of ``--runs``):

- ``duologue verify HEAD~1..HEAD`` in a clone;
- ``duologue verify --hook pre-receive`` in the bare repository, fed the ref line git
  gives the hook for a push of that commit (what a shared remote runs on every push).

SPEC §7 asks that verifying one new commit cost the same on both histories: the table
gives the ratio long/short (target ≤ 1.5) and the absolute time (target ≤ 0.3 s).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from benchlib import WORK, Sample, machine, revision, run_timed, venv_tool

SERIES = """title = "Slow Work"
id = "tag:example.org,2026-01-01:slow-work"

[[authors]]
handle = "ana"
name = "Ana Lima"
email = "ana@example.com"

[[authors]]
handle = "ben"
name = "Ben Okafor"
email = "ben@example.com"
"""
SETTINGS = 'title = "Letters"\nbase_url = "https://example.org/"\n'
AUTHORS = (("ana", "Ana Lima", "ana@example.com"), ("ben", "Ben Okafor", "ben@example.com"))
START = 946_684_800  # 2000-01-01, so 10,000 hourly turns stay in the past


def _post(turn: int) -> bytes:
    handle = AUTHORS[(turn - 1) % 2][0]
    reply = f"in_reply_to: {turn - 1}\n" if turn > 1 else ""
    cite = f"Thank you for [[#{turn - 1}]].\n\n" if turn > 1 else ""
    stamp = START + turn * 3600
    from datetime import UTC, datetime

    date = datetime.fromtimestamp(stamp, UTC).isoformat()
    return (
        f"---\ntitle: Letter {turn}\nauthor: {handle}\ndate: {date}\nturn: {turn}\n{reply}---\n"
        f"{cite}This is turn {turn}, a short letter about calmer work.\n"
    ).encode()


def _data(payload: bytes) -> bytes:
    return b"data %d\n" % len(payload) + payload + b"\n"


def fast_import_stream(turns: int) -> bytes:
    """The first commit (settings and series), then one commit a turn."""
    parts: list[bytes] = []
    stamp = START
    parts.append(b"commit refs/heads/main\nmark :1\n")
    parts.append(b"author Ana Lima <ana@example.com> %d +0000\n" % stamp)
    parts.append(b"committer Ana Lima <ana@example.com> %d +0000\n" % stamp)
    parts.append(_data(b"duologue: start a workspace"))
    parts.append(b"M 100644 inline duologue.toml\n" + _data(SETTINGS.encode()))
    parts.append(b"M 100644 inline series/slow-work/series.toml\n" + _data(SERIES.encode()))
    for turn in range(1, turns + 1):
        _handle, name, email = AUTHORS[(turn - 1) % 2]
        when = START + turn * 3600
        who = f"{name} <{email}> {when} +0000".encode()
        parts.append(b"commit refs/heads/main\nmark :%d\n" % (turn + 1))
        parts.append(b"author " + who + b"\ncommitter " + who + b"\n")
        parts.append(_data(f"slow-work #{turn}: Letter {turn}".encode()))
        parts.append(b"from :%d\n" % turn)
        path = f"series/slow-work/{turn:04d}-letter-{turn}.md".encode()
        parts.append(b"M 100644 inline " + path + b"\n" + _data(_post(turn)))
    return b"".join(parts)


def make_history(folder: Path, commits: int) -> tuple[Path, Path, str, str]:
    """A clone and a bare repository holding ``commits`` commits, the last of them a new
    turn; (clone, bare, sha before the new turn, sha of the new turn)."""
    clone, bare = folder / "clone", folder / "shared.git"
    marker = folder / "done"
    if not marker.exists():
        subprocess.run(["rm", "-rf", str(folder)], check=True)
        folder.mkdir(parents=True)
        subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
        subprocess.run(
            ["git", "fast-import", "--quiet"], cwd=bare, input=fast_import_stream(commits - 1),
            check=True,
        )  # fmt: skip
        subprocess.run(["git", "symbolic-ref", "HEAD", "refs/heads/main"], cwd=bare, check=True)
        subprocess.run(["git", "clone", "-q", str(bare), str(clone)], check=True)
        marker.write_text("")
    git = ["git", "-C", str(clone)]
    tip = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
    before = subprocess.run(
        [*git, "rev-parse", "HEAD~1"], capture_output=True, text=True, check=True
    )
    return clone, bare, before.stdout.strip(), tip.stdout.strip()


def measure_verify(jobs: list[tuple[list[str], Path, bytes | None]], runs: int) -> list[Sample]:
    samples = [Sample() for _ in jobs]
    for round_number in range(runs + 1):
        for (command, cwd, stdin), sample in zip(jobs, samples, strict=True):
            seconds, kib = run_timed(command, cwd, stdin=stdin)
            if round_number:  # the first round warms the caches
                sample.seconds.append(seconds)
                sample.peak_kib.append(kib)
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--long", type=int, default=10_000)
    parser.add_argument("--short", type=int, default=10)
    args = parser.parse_args()
    duologue = venv_tool("duologue")
    histories = {}
    for label, commits in (("short", args.short), ("long", args.long)):
        histories[label] = make_history(WORK / f"verify-{commits}", commits)
    jobs: list[tuple[list[str], Path, bytes | None]] = []
    names: list[str] = []
    for label, (clone, bare, before, tip) in histories.items():
        jobs.append(([duologue, "verify", "HEAD~1..HEAD"], clone, None))
        names.append(f"verify HEAD~1..HEAD, {label}")
        # What git hands pre-receive when the new turn is pushed on top of `before`:
        # the bare repository already holds the commit, so its ref is set back first.
        line = f"{before} {tip} refs/heads/main\n".encode()
        jobs.append(([duologue, "verify", "--hook", "pre-receive"], bare, line))
        names.append(f"pre-receive of one push, {label}")
    for _clone, bare, before, _tip in histories.values():
        subprocess.run(["git", "update-ref", "refs/heads/main", before], cwd=bare, check=True)
    samples = measure_verify(jobs, args.runs)
    print(f"## verify of one new commit: {args.long:,} vs {args.short:,} commits\n")
    print(f"{machine()}, duologue {revision()}, median of {args.runs} runs\n")
    print("| command | history | median s | best s | peak MiB |")
    print("| --- | --- | ---: | ---: | ---: |")
    for name, sample in zip(names, samples, strict=True):
        what, label = name.rsplit(", ", 1)
        commits = args.long if label == "long" else args.short
        print(
            f"| `{what}` | {commits:,} commits | {sample.median:.3f} | {sample.best:.3f} | "
            f"{sample.peak_mib:.0f} |"
        )
    print()
    ok = True
    for index, what in ((0, "verify HEAD~1..HEAD"), (1, "pre-receive")):
        short, long = samples[index], samples[index + 2]
        ratio = long.median / short.median
        ok &= ratio <= 1.5 and long.median <= 0.3
        print(
            f"- {what}: long/short = {ratio:.2f} (target ≤ 1.5), long {long.median:.3f} s (target ≤ 0.3 s)"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
