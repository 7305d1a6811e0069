"""The docs tell the truth about the tree: every file, folder, Make target and `relay` command
that README.md, benchmarks/README.md or a page of docs/ names exists, and every link between them
lands on a file and a heading that exist. The README stays a short read that links every page
of docs/."""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from relay_cli.main import build_parser

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "layers" / "activity_relay" / "activity_relay"
README = ROOT / "README.md"
PAGES = sorted(ROOT.glob("docs/*.md"))
DOCS = [README, ROOT / "benchmarks" / "README.md", *PAGES]
DESIGN = ROOT / "docs" / "design.md"
"""The page whose Layout section draws the tree."""
README_MAX_BYTES = 12_000
"""A newcomer's ten minutes: what it is, the two commands, the main path, links."""
# Where a path in the docs may be relative to: the repository, local/ (its packages), the
# layer's package (core/..., adapters/...) and the layer itself.
BASES = [ROOT, ROOT / "local", PACKAGE, PACKAGE.parent]
PATH = re.compile(r"^[\w.-]+(?:/[\w.-]+)*/?$")
RELAY_COMMAND = re.compile(r"(?:^|[;&|(]\s*|\$ )relay ([a-z][\w-]*)(?: ([a-z][\w-]*))?")
FILE_SUFFIXES = (".py", ".md", ".yaml", ".yml", ".toml", ".json", ".lock", ".txt")


def code_spans(text: str, *, fenced_too: bool = True) -> Iterator[str]:
    """`inline` spans, and the lines of fenced blocks."""
    fenced = False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
            continue
        if fenced:
            if fenced_too:
                yield line.strip()
        else:
            yield from re.findall(r"`([^`]+)`", line)


def exists(path: str, *, beside: Path = ROOT) -> bool:
    return any((base / path).exists() for base in [*BASES, beside])


def repository_path(token: str, beside: Path) -> bool:
    """A path meant to be in the repository: its first folder is one of ours."""
    first = token.split("/", 1)[0]
    return any((base / first).is_dir() for base in [*BASES, beside])


def named_paths(text: str, beside: Path = ROOT) -> set[str]:
    """What a doc names as a file or folder of the repository: a path in any code span whose
    first folder is ours, or a file name in an inline span (the Layout tree's bare names are
    its own test's)."""
    found = set()
    for fenced in (True, False):
        for span in code_spans(text, fenced_too=fenced):
            words = span.split()
            token = words[0].split(":")[0].rstrip(",") if words else ""
            if not PATH.match(token) or token.startswith("-") or "*" in token:
                continue
            if "/" in token.rstrip("/"):
                if repository_path(token, beside):
                    found.add(token)
            elif not fenced and token.endswith(FILE_SUFFIXES) and not ignored(token):
                found.add(token)
    return found


def ignored(name: str) -> bool:
    """A file the tools write (.relay-local.json, say), which .gitignore names."""
    return name in (ROOT / ".gitignore").read_text().split()


def tracked_anywhere(name: str) -> bool:
    return any(ROOT.glob(f"**/{name}"))


def layout_paths(text: str) -> list[str]:
    """The entries of the Layout tree, each with the folders above it."""
    block = text.split("## Layout", 1)[1].split("```", 2)[1]
    parents: list[tuple[int, str]] = []
    paths = []
    for line in block.splitlines():
        indent = len(line) - len(line.lstrip(" "))
        names = re.split(r"\s{2,}", line.strip(), maxsplit=1)[0]
        if not names or indent >= 24 or names.startswith("("):
            continue  # a description going on, or a remark
        while parents and parents[-1][0] >= indent:
            parents.pop()
        prefix = "".join(name for _, name in parents)
        for name in (n.strip() for n in names.split(",")):
            paths.append(prefix + name)
        if names.endswith("/") and "," not in names:
            parents.append((indent, names))
    return paths


def make_targets() -> set[str]:
    makefile = (ROOT / "Makefile").read_text()
    return {m.group(1) for m in re.finditer(r"^([\w-]+)\s*:(?!=)", makefile, re.MULTILINE)}


def relay_commands() -> dict[str, set[str]]:
    """Each `relay` command and its actions (empty for a command without any)."""

    def choices(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                return dict(action.choices)
        return {}

    return {name: set(choices(sub)) for name, sub in choices(build_parser()).items()}


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_path_a_doc_names_exists(doc: Path) -> None:
    named = named_paths(doc.read_text(), doc.parent)
    missing = sorted(
        p
        for p in named
        if not exists(p, beside=doc.parent) and ("/" in p or not tracked_anywhere(p))
    )
    assert missing == [], f"{doc.name} names paths that do not exist"


def test_every_entry_of_the_layout_exists() -> None:
    entries = layout_paths(DESIGN.read_text())
    assert len(entries) > 40, "the Layout tree was not read"
    assert [e for e in entries if not exists(e)] == []


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_make_target_a_doc_names_exists(doc: Path) -> None:
    named = {
        m.group(1)
        for span in code_spans(doc.read_text())
        for m in re.finditer(r"(?:^|[;&|(]\s*)make ([a-z][\w-]*)", span)
    }
    assert sorted(named - make_targets()) == []


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relay_command_a_doc_names_exists(doc: Path) -> None:
    commands = relay_commands()
    unknown = []
    for span in code_spans(doc.read_text()):
        for match in re.finditer(
            r"(?:^|[;&|(]\s*|\$ )relay ([a-z][\w-]*)(?: ([a-z][\w-]*))?", span
        ):
            command, action = match.group(1), match.group(2)
            if command not in commands:
                unknown.append(command)
            elif commands[command] and action is not None and action not in commands[command]:
                unknown.append(f"{command} {action}")
    assert unknown == []


def test_the_checks_see_what_is_missing() -> None:
    # Given a doc naming a file, a target and a command that do not exist
    text = "See `core/nowhere.py` and run `make nothing`, then `relay frobnicate`."

    # Then each check finds it
    assert [p for p in named_paths(text) if not exists(p)] == ["core/nowhere.py"]
    assert not tracked_anywhere("nowhere.py")
    assert "nothing" not in make_targets()
    assert "frobnicate" not in relay_commands()
    assert exists("core/sync/engine.py")
    assert "webhooks" in relay_commands()
    assert "add" in relay_commands()["webhooks"]


LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def anchors(text: str) -> set[str]:
    """The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces to
    hyphens, a repeated one numbered."""
    seen: dict[str, int] = {}
    found = set()
    fenced = False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        if fenced or not re.match(r"#{1,6} ", line):
            continue
        slug = re.sub(r"[^\w\- ]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def links(text: str) -> list[str]:
    """The targets of the Markdown links outside code blocks (a link's text may wrap)."""
    prose, fenced = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced:
            prose.append(line)
    return LINK.findall("\n".join(prose))


def broken_links(doc: Path) -> list[str]:
    broken = []
    for target in links(doc.read_text()):
        if re.match(r"[a-z]+:", target):
            continue  # https:, mailto:: not ours to check
        path, _, anchor = target.partition("#")
        file = (doc.parent / path).resolve() if path else doc
        heading_missing = (
            file.exists()
            and file.suffix == ".md"
            and anchor
            and anchor not in anchors(file.read_text())
        )
        if not file.exists() or heading_missing:
            broken.append(target)
    return broken


@pytest.mark.parametrize("doc", [*DOCS, ROOT / "SECURITY.md"], ids=lambda p: p.name)
def test_every_link_lands_on_a_file_and_heading_that_exist(doc: Path) -> None:
    assert broken_links(doc) == []


def test_the_readme_stays_short() -> None:
    size = len(README.read_bytes())
    assert size < README_MAX_BYTES, f"README.md is {size} bytes: move detail into docs/"


def test_the_readme_links_every_page_of_docs() -> None:
    linked = {(ROOT / target.partition("#")[0]).resolve() for target in links(README.read_text())}
    assert PAGES, "docs/ has no pages"
    assert [page.name for page in PAGES if page.resolve() not in linked] == []


def test_the_link_check_sees_what_is_broken(tmp_path: Path) -> None:
    # Given a page linking a missing file, a missing heading (link text wrapped) and a good one
    (tmp_path / "other.md").write_text("# Other\n\n## With `sam local invoke`\n")
    page = tmp_path / "page.md"
    page.write_text(
        "See [gone](gone.md), [a wrapped\nheading](other.md#nowhere), "
        "[this](other.md#with-sam-local-invoke) and [a site](https://example.com).\n"
    )

    # Then only the first two are reported
    assert broken_links(page) == ["gone.md", "other.md#nowhere"]
