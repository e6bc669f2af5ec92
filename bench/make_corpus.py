"""Generate a deterministic duologue workspace for benchmarks.

    python bench/make_corpus.py OUT_DIR --series 10 --posts 1000 --words 1000

writes a complete workspace (``duologue.toml``, ``series/<slug>/series.toml`` and
``series/<slug>/NNNN-<slug>.md`` posts with realistic Markdown bodies), then
``git init``s it and commits everything with a fixed identity, so that build
caches kept under ``.git/`` work and ``duologue check`` passes.

The same arguments and ``--seed`` always give byte-identical files.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

GIT_IDENTITY = ("-c", "user.name=Bench Corpus", "-c", "user.email=bench@example.org")
GIT_DATE = "2026-11-27T00:00:00+00:00"

WORDS = """
about above across after again against almost along already also although always
among answer around asked back because become before begin behind being believe
below better between beyond both bring build built calm careful carry certain
change clear close common consider could course daily decide deep different
during early easy either enough even every example explain fact family feel
few field figure find first follow force found friend full gave general give
given good great group grow habit half hand happen hard head hear heard help
here high hold home hour however idea important inside instead interest just
keep kind knew know large last later lead learn least leave less letter level
light line list little long look made make many matter maybe mean meeting might
mind minute moment more morning most move much must near need never next night
note nothing notice number often once only open order other over own part
people perhaps place plan point possible present problem process question quiet
quite rather read ready real reason remember rest result right room rule same
second seem sense several shape short should show side simple since slow small
some something sometimes soon space speak special stand start still story
strong study such sure system table take talk team tell than that their them
then there these thing think those though thought three through time today
together told took toward tried true turn under until upon usual very view wait
walk want watch water week well went were what when where which while whole
why will with within without wonder word work world would write year young
""".split()  # noqa: SIM905 - a paragraph of words reads better than a list

FIRST_NAMES = [
    "Ana",
    "Ben",
    "Chloe",
    "Dario",
    "Elif",
    "Femi",
    "Greta",
    "Hiro",
    "Ines",
    "Jonas",
    "Kasia",
    "Luca",
    "Maya",
    "Nils",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sven",
    "Tala",
]
LAST_NAMES = [
    "Lima",
    "Okafor",
    "Martin",
    "Rossi",
    "Kaya",
    "Adeyemi",
    "Berg",
    "Tanaka",
    "Costa",
    "Weber",
    "Nowak",
    "Bianchi",
    "Patel",
    "Larsen",
    "Haddad",
    "Rao",
    "Doyle",
    "Vidal",
    "Strand",
    "Moana",
]
OFFSETS = [timedelta(hours=-5), timedelta(hours=1), timedelta(hours=9), timedelta(0)]
LANGUAGES = ["go", "python", "rust", "sh"]


@dataclass(frozen=True)
class Author:
    handle: str
    name: str
    email: str


def slugify(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60].rstrip("-")


def toml_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string


class Writer:
    """Builds post bodies from one seeded random generator."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def words(self, n: int) -> list[str]:
        return self.rng.choices(WORDS, k=n)

    def sentence(self, n: int | None = None) -> str:
        words = self.words(n or self.rng.randint(6, 16))
        return " ".join(words).capitalize() + self.rng.choice([".", ".", ".", "?", "!"])

    def title(self) -> str:
        return " ".join(self.words(self.rng.randint(3, 6))).title()

    def paragraph(self, budget: int, refs: list[int]) -> tuple[str, int]:
        """A paragraph of about ``budget`` words with inline markup; returns (text, words)."""
        parts: list[str] = []
        used = 0
        while used < budget:
            n = self.rng.randint(6, 16)
            words = self.words(n)
            roll = self.rng.random()
            if roll < 0.15:
                i = self.rng.randrange(n)
                words[i] = f"*{words[i]}*"
            elif roll < 0.25:
                i = self.rng.randrange(n)
                words[i] = f"**{words[i]}**"
            elif roll < 0.32:
                i = self.rng.randrange(n)
                words[i] = f"`{words[i]}`"
            elif roll < 0.40:
                i = self.rng.randrange(n - 1)
                words[i] = f"[{words[i]} {words[i + 1]}](https://example.com/{words[i]}/{i})"
                del words[i + 1]
            elif roll < 0.48 and refs:
                words.insert(self.rng.randrange(n), f"[[#{self.rng.choice(refs)}]]")
            parts.append(" ".join(words).capitalize() + self.rng.choice([".", ".", "?"]))
            used += n
        return " ".join(parts), used

    def table(self) -> tuple[str, int]:
        cols = self.rng.randint(2, 4)
        rows = self.rng.randint(2, 4)
        head = [w.title() for w in self.words(cols)]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * cols]
        lines += ["| " + " | ".join(self.words(cols)) + " |" for _ in range(rows)]
        return "\n".join(lines), cols * (rows + 1)

    def code(self) -> tuple[str, int]:
        lang = self.rng.choice(LANGUAGES)
        body = [
            f"{w} = {self.rng.randint(0, 999)}  # {' '.join(self.words(3))}"
            for w in self.words(self.rng.randint(3, 6))
        ]
        return f"```{lang}\n" + "\n".join(body) + "\n```", 5 * len(body)

    def bullet_list(self) -> tuple[str, int]:
        items = self.rng.randint(3, 5)
        ordered = self.rng.random() < 0.4
        lines = []
        for i in range(items):
            mark = f"{i + 1}." if ordered else "-"
            lines.append(f"{mark} {' '.join(self.words(self.rng.randint(4, 10))).capitalize()}")
        return "\n".join(lines), 7 * items

    def quote(self) -> tuple[str, int]:
        text = " ".join(self.sentence() for _ in range(2))
        return f"> {text}", len(text.split())

    def body(self, words: int, addressee: str, turn: int) -> str:
        refs = list(range(max(1, turn - 20), turn))
        blocks = [f"{addressee},"]
        if refs:
            blocks.append(f"Thank you for [[#{turn - 1}]]. {self.sentence()}")
        used = 12
        extras = [self.table, self.code, self.bullet_list, self.quote]
        self.rng.shuffle(extras)
        section = 0
        while used < words - 60:
            if section % 3 == 0 and used > 0:
                blocks.append(f"## {self.title()}")
                used += 4
            section += 1
            text, n = self.paragraph(self.rng.randint(40, 90), refs)
            blocks.append(text)
            used += n
            if extras and used > words * (4 - len(extras)) / 5:
                text, n = extras.pop()()
                blocks.append(text)
                used += n
        for extra in extras:  # very short bodies still get every construct once
            blocks.append(extra()[0])
        blocks.append(f"Over to you. {self.sentence()}")
        return "\n\n".join(blocks) + "\n"


def front_matter(fields: dict[str, object]) -> str:
    lines = ["---"]
    for key, value in fields.items():
        if key == "date":
            lines.append(f"{key}: {value}")  # an unquoted YAML timestamp, as people write it
        elif isinstance(value, str):
            lines.append(f"{key}: {json.dumps(value, ensure_ascii=False)}")
        elif isinstance(value, list):
            lines.append(f"{key}: [{', '.join(json.dumps(v) for v in value)}]")
        else:
            lines.append(f"{key}: {value}")
    lines.append("---")
    return "\n".join(lines) + "\n"


def make_series(root: Path, index: int, posts: int, words: int, seed: int) -> None:
    rng = random.Random(f"{seed}:{index}")
    writer = Writer(rng)
    slug = f"series-{index:02d}-" + slugify(" ".join(writer.words(2)))
    folder = root / "series" / slug
    folder.mkdir(parents=True)
    people = rng.sample(range(len(FIRST_NAMES)), 2)
    authors = [
        Author(
            handle=FIRST_NAMES[p].lower(),
            name=f"{FIRST_NAMES[p]} {LAST_NAMES[p]}",
            email=f"{FIRST_NAMES[p].lower()}@example.com",
        )
        for p in people
    ]
    offsets = [rng.choice(OFFSETS), rng.choice(OFFSETS)]
    toml = [
        f"title = {toml_str(writer.title())}",
        f"description = {toml_str(writer.sentence())}",
        'language = "en"',
        f'id = "tag:example.org,2026-11-27:{slug}"',
        "reply_within_days = 14",
    ]
    for author in authors:
        toml += [
            "",
            "[[authors]]",
            f"handle = {toml_str(author.handle)}",
            f"name = {toml_str(author.name)}",
            f"email = {toml_str(author.email)}",
        ]
    (folder / "series.toml").write_text("\n".join(toml) + "\n", encoding="utf-8")

    moment = datetime(2012, 1, 2, 9, 0, tzinfo=UTC) + timedelta(hours=index)
    tags = writer.words(8)
    for turn in range(1, posts + 1):
        who = (turn - 1) % 2
        author, other = authors[who], authors[1 - who]
        moment += timedelta(days=rng.randint(1, 5), minutes=rng.randint(0, 600))
        local = moment.astimezone(timezone(offsets[who]))
        title = writer.title()
        fields: dict[str, object] = {
            "title": title,
            "author": author.handle,
            "date": local.isoformat(),
            "turn": turn,
        }
        if turn > 1:
            fields["in_reply_to"] = turn - 1
        fields["tags"] = rng.sample(tags, rng.randint(1, 3))
        body = writer.body(words, other.name.split()[0], turn)
        path = folder / f"{turn:04d}-{slugify(title) or 'post'}.md"
        path.write_text(front_matter(fields) + "\n" + body, encoding="utf-8")


def make_workspace(out: Path, series: int, posts: int, words: int, seed: int, git: bool) -> None:
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / "duologue.toml").write_text(
        'title = "Benchmark dialogues"\n'
        'base_url = "https://example.org/"\n'
        'timezone = "UTC"\n'
        'output = "public"\n'
        "feed_limit = 50\n",
        encoding="utf-8",
    )
    (out / ".gitignore").write_text("/public/\n", encoding="utf-8")
    (out / "series").mkdir()
    (out / "drafts").mkdir()
    for index in range(series):
        make_series(out, index, posts, words, seed)
    if git:
        env_date = {"GIT_AUTHOR_DATE": GIT_DATE, "GIT_COMMITTER_DATE": GIT_DATE}
        env = {**os.environ, **env_date}
        for command in (
            ["git", "init", "-q", "-b", "main"],
            ["git", "add", "-A"],
            ["git", *GIT_IDENTITY, "commit", "-q", "-m", "Benchmark corpus"],
        ):
            subprocess.run(command, cwd=out, env=env, check=True, stdout=subprocess.DEVNULL)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="workspace folder to (re)create")
    parser.add_argument("--series", type=int, default=10)
    parser.add_argument("--posts", type=int, default=1000, help="posts per series")
    parser.add_argument("--words", type=int, default=1000, help="about this many words per post")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--no-git", action="store_true", help="do not git init/commit")
    args = parser.parse_args(argv)
    make_workspace(args.out, args.series, args.posts, args.words, args.seed, not args.no_git)
    total = args.series * args.posts
    print(
        f"wrote {args.out}: {args.series} series x {args.posts} posts = {total} posts",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
