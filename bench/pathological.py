"""Hostile post bodies: how long ``duologue build`` and ``check`` take on each shape.

    python bench/pathological.py [--size 2M] [--shape NAME ...] [--stages] [--timeout 300]

Each shape is one post body of about ``--size`` bytes (a post file may be 8 MiB) in a
fresh git workspace of two posts; the build and check run as subprocesses with a time
limit and an address-space limit (``--memory``, so a runaway shape cannot take the
machine). ``--stages`` also times cmark, nh3 and the reference linking of the body in
one process. Prints a Markdown table: seconds, or ``refused`` with the error sentence,
or ``timeout``/``killed``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FORMATTING = [
    "b",
    "big",
    "code",
    "em",
    "font",
    "i",
    "nobr",
    "s",
    "small",
    "strike",
    "strong",
    "tt",
    "u",
]


def _nested_list(depth: int) -> str:
    return "".join("  " * level + "- x\n" for level in range(depth))


SHAPES: dict[str, Callable[[int], str]] = {
    # raw HTML
    "html_divs": lambda n: "<div>" * n + "x" + "</div>" * n,
    "html_divs_unclosed": lambda n: "<div>" * n + "x",
    "html_ul_li": lambda n: "<ul><li>" * n + "x",
    "html_b_attrs": lambda n: "".join(f'<b title="{i}">' for i in range(n)) + "x",
    "html_reconstruct": lambda n: (
        "<p>" + "".join(f"<{t}>" * 3 for t in FORMATTING) + "<div>x</div>" * n
    ),
    "html_unclosed_bi": lambda n: "<b><i>" * n + "x",
    "html_table_nest": lambda n: "<table><tr><td>" * n + "x",
    "html_misnested": lambda n: "<b><div></b>" * n + "x",
    "html_comment_div": lambda n: "<div><!-- </div> -->" * n + "x",
    "html_flat": lambda n: "<p><b>bold</b> and <i>it</i></p>\n" * n,
    # accepted, as close to each limit as they go: the most work a post can ask for
    "html_deep_flat": lambda n: "<div>" * 254 + "<p>x</p>" * n,
    "html_deep_lists": lambda n: "<div>" * 250 + "<ul><li>x<li>y</ul>" * n,
    "html_agency": lambda n: "<div>" * 200 + "<b>x<p>y</b>z</p>" * n,
    "html_reopen_max": lambda n: (
        "<p>"
        + "".join(f"<{t}>" * 3 for t in FORMATTING)
        + "<div>x</div>" * 2500
        + "<p>x</p>" * max(0, n - 2500)
    ),
    "html_attrs_max": lambda n: "".join(f'<b title="{i}">' for i in range(250)) + "<i>x</i>" * n,
    "html_table": lambda n: "<table>" + "<tr><td>a</td><td><b>b</b></td></tr>" * n + "</table>",
    "html_sloppy": lambda n: "<p>one<p>two<li>three<b>four</p>five<div>six</b></div>" * n,
    # Markdown
    "md_quotes": lambda n: "> " * n + "x",
    "md_quotes_raw": lambda n: "> " * n + "x <b>y</b>",
    "md_lists": lambda n: "- " * n + "x",
    "md_lists_raw": lambda n: "- " * n + "x <b>y</b>",
    "md_indented_lists_raw": lambda n: _nested_list(int(n**0.5)) + "<b>y</b>",
    "md_quote_lines_raw": lambda n: (
        "".join(">" * i + " x\n" for i in range(int(n**0.5))) + "<b>y</b>"
    ),
    "md_emphasis": lambda n: " ".join("*a" if i % 2 else "**b" for i in range(n)),
    "md_refs": lambda n: "[[#1]] " * n,
    "md_refs_raw": lambda n: "[[#1]] " * n + "<b>y</b>",
    "md_links": lambda n: "[a](https://example.org/) " * n,
    "md_links_raw": lambda n: "[a](https://example.org/) " * n + "<b>y</b>",
    "md_brackets": lambda n: "[" * n,
    "md_lt": lambda n: "<" * n,
    "md_backticks": lambda n: "`" * n,
    "md_backtick_runs": lambda n: " ".join("`" * (i % 500 + 1) for i in range(n)),
    "md_fences": lambda n: "```\n" * n,
    "md_autolinks": lambda n: "www.example.org " * n,
    "md_quotes_flat": lambda n: ">\n\n" * n,
    "md_quote_chars": lambda n: '"' * n,
    "md_ampersands": lambda n: "&" * n,
    "md_headings": lambda n: "#\n" * n,
    "md_table": lambda n: "|a|\n|-|\n" + "|\n" * n,
    "md_paragraphs": lambda n: "Some text with *emphasis* and a [link](https://e.org/).\n\n" * n,
}


def body_of(shape: str, size: int) -> str:
    """The shape's body at about ``size`` bytes (shapes grow linearly in ``n``, but
    for the quadratic-size ones, which take ``n`` as their size)."""
    make = SHAPES[shape]
    unit = max(1, len(make(1000).encode()) / 1000)
    n = max(1, int(size / unit))
    body = make(n)
    while len(body.encode()) > size and n > 1:
        n = int(n * 0.95)
        body = make(n)
    return body


def parse_size(text: str) -> int:
    scale = {"K": 1024, "M": 1024 * 1024}.get(text[-1:].upper(), 1)
    return int(float(text[:-1] if scale > 1 else text) * scale)


def make_workspace(root: Path, body: str) -> None:
    (root / "series" / "s").mkdir(parents=True)
    (root / "drafts").mkdir()
    (root / "duologue.toml").write_text(
        'title = "T"\nbase_url = "https://example.org/"\ntimezone = "UTC"\noutput = "public"\n'
    )
    authors = "".join(
        f'\n[[authors]]\nhandle = "{h}"\nname = "{h.title()}"\nemail = "{h}@example.org"\n'
        for h in ("ana", "ben")
    )
    (root / "series" / "s" / "series.toml").write_text(
        f'title = "S"\ndescription = "D"\nid = "tag:example.org,2026-01-01:s"\n{authors}'
    )
    posts = [
        ("ana", 1, "2026-01-01T09:00:00+00:00", "", body),
        ("ben", 2, "2026-01-02T09:00:00+00:00", "in_reply_to: 1\n", "See [[#1]]."),
    ]
    for author, turn, date, extra, text in posts:
        (root / "series" / "s" / f"{turn:04d}-p.md").write_text(
            f"---\ntitle: P{turn}\nauthor: {author}\ndate: {date}\nturn: {turn}\n{extra}---\n{text}\n",
            encoding="utf-8",
        )
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Ana",
        "GIT_AUTHOR_EMAIL": "ana@example.org",
        "GIT_COMMITTER_NAME": "Ana",
        "GIT_COMMITTER_EMAIL": "ana@example.org",
    }
    for command in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "x"]):
        subprocess.run(command, cwd=root, env=env, check=True)


def _limit(memory: int) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    return apply


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str], cwd: Path, timeout: float, memory: int) -> str:
    """``wall s (cpu s)``: the machine may be shared, and CPU time is what a shape costs."""
    start, cpu = time.perf_counter(), _cpu()
    try:
        done = subprocess.run(
            command,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            preexec_fn=_limit(memory),
        )
    except subprocess.TimeoutExpired:
        return f"timeout (>{timeout:.0f} s)"
    seconds, cpu = time.perf_counter() - start, _cpu() - cpu
    if done.returncode == 0:
        return f"{seconds:.2f} s ({cpu:.2f} cpu)"
    error = done.stderr.strip().splitlines()[-1:] or ["?"]
    if done.returncode < 0 or "MemoryError" in done.stderr:
        return f"killed ({seconds:.1f} s): {error[0][:60]}"
    return f"refused {seconds:.2f} s ({cpu:.2f} cpu): {error[0][:100]}"


STAGES = """
import json, sys, time
from cmarkgfm.cmark import Options
from duologue.site import markdown
from duologue.site.load import body_references
clock = time.process_time  # CPU seconds: the machine may be shared
body = open(sys.argv[1], encoding="utf-8").read()
raw = "<" in body
times = {}
start = clock()
html = markdown._cmark(body, Options.CMARK_OPT_UNSAFE if raw else Options.CMARK_OPT_DEFAULT)
times["cmark"] = clock() - start
problem = None
if raw:
    try:  # absent before the fix
        from duologue.site.html_budget import examine, lost_text
    except ImportError:
        examine = lost_text = None
    examined = None
    if examine is not None:
        start = clock()
        examined = examine(html)
        problem = examined.problem
        times["budget"] = clock() - start
    if problem is None:
        start = clock()
        html = markdown.sanitize(html)
        times["nh3"] = clock() - start
        if examined is not None and lost_text is not None:
            start = clock()
            problem = lost_text(examined.text, html)
            times["lost"] = clock() - start
if problem is None:
    start = clock()
    refs = body_references(body, "s")
    html = markdown.link_references(html, "s", refs, lambda s, t: ("T", "https://e.org/"), sanitised=raw)
    times["link"] = clock() - start
    times["out MB"] = len(html) / 1e6
else:
    times["refused"] = 1
print(json.dumps(times))
"""


def stages(body_file: Path, timeout: float, memory: int) -> str:
    try:
        done = subprocess.run(
            [sys.executable, "-c", STAGES, str(body_file)],
            capture_output=True,
            text=True,
            timeout=timeout,
            preexec_fn=_limit(memory),
        )
    except subprocess.TimeoutExpired:
        return f"timeout (>{timeout:.0f} s)"
    if done.returncode != 0:
        return "failed: " + (done.stderr.strip().splitlines() or ["?"])[-1][:60]
    result = json.loads(done.stdout)
    return ", ".join(k if k == "refused" else f"{k} {v:.2f}" for k, v in result.items())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="2M", help="body size, e.g. 500K, 2M, 8M")
    parser.add_argument("--shape", action="append", choices=sorted(SHAPES), help="default: all")
    parser.add_argument("--stages", action="store_true", help="also time cmark, nh3, linking")
    parser.add_argument("--no-check", action="store_true", help="skip `duologue check`")
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--memory", default="6144M", help="address-space limit per run")
    parser.add_argument("--duologue", default=str(Path(sys.executable).parent / "duologue"))
    args = parser.parse_args(argv)
    size, memory = parse_size(args.size), parse_size(args.memory)
    print(f"| shape | body | build | check |{' stages (s) |' if args.stages else ''}")
    print(f"| --- | --- | --- | --- |{' --- |' if args.stages else ''}")
    for shape in args.shape or list(SHAPES):
        body = body_of(shape, size)
        with tempfile.TemporaryDirectory(prefix="duologue-patho-") as folder:
            root = Path(folder) / "ws"
            root.mkdir()
            make_workspace(root, body)
            build = timed([args.duologue, "build"], root, args.timeout, memory)
            shutil.rmtree(root / "public", ignore_errors=True)
            check = (
                "-"
                if args.no_check
                else timed([args.duologue, "check"], root, args.timeout, memory)
            )
            row = f"| {shape} | {len(body.encode()) / 1e6:.2f} MB | {build} | {check} |"
            if args.stages:
                body_file = Path(folder) / "body.md"
                body_file.write_text(body, encoding="utf-8")
                row += f" {stages(body_file, args.timeout, memory)} |"
        print(row, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
