"""The repository cites nothing outside itself: the paper by arXiv number or through docs/paper.md, never
development notes that ship elsewhere; and every ``docs/paper.md §N`` names a section that exists."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
THIS = Path(__file__).resolve().relative_to(ROOT).as_posix()
BINARY_SUFFIXES = (".gz", ".png", ".jpg", ".jpeg", ".pdf", ".safetensors", ".bin", ".pt", ".whl", ".zip")

OUTSIDE = re.compile(r"environment\.md|organism-notes|landscape\.md|follow-ups\.md|shared/reference")
BARE_PAPER_MD = re.compile(r"(?<![\w/`])paper\.md")     # a paper.md that is not docs/paper.md
PAPER_SECTION = re.compile(r"\b[Pp]aper §")              # "paper §N": which numbering? say docs/paper.md §N
CITATION = re.compile(r"docs/paper\.md`{0,2} §(\d+(?:\.\d+)?)")
DOC_LINK = re.compile(r"\[[^\]]*\]\(paper\.md[^)]*\)")          # a relative link inside docs/


def tracked_text_files() -> list[tuple[str, str]]:
    try:
        out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: the tracked-file list is unavailable")
    files = []
    for rel in out.splitlines():
        path = ROOT / rel
        if rel == THIS or rel.endswith(BINARY_SUFFIXES) or not path.is_file():
            continue
        files.append((rel, path.read_text(encoding="utf-8", errors="ignore")))
    return files


def paper_sections() -> set[str]:
    text = (ROOT / "docs" / "paper.md").read_text(encoding="utf-8")
    return set(re.findall(r"^#{2,3} (\d+(?:\.\d+)?)[. ]", text, flags=re.M))


def offending_lines(files, pattern, allow=None) -> list[str]:
    bad = []
    for rel, text in files:
        for n, line in enumerate(text.splitlines(), 1):
            scrubbed = allow.sub("", line) if allow is not None and rel.startswith("docs/") else line
            if pattern.search(scrubbed):
                bad.append(f"{rel}:{n}: {line.strip()[:120]}")
    return bad


def test_no_citation_of_files_outside_the_repository():
    assert offending_lines(tracked_text_files(), OUTSIDE) == []


def test_paper_cited_as_docs_paper_md():
    files = tracked_text_files()
    assert offending_lines(files, BARE_PAPER_MD, allow=DOC_LINK) == []
    assert offending_lines(files, PAPER_SECTION) == []


def test_every_cited_section_exists():
    sections = paper_sections()
    assert {"2.4", "3.3", "6.4", "7.5", "8.5"} <= sections          # the parser reads the headings
    missing = [f"{rel}: §{sec}" for rel, text in tracked_text_files() for sec in CITATION.findall(text)
               if sec not in sections]
    assert missing == []


def test_the_checks_catch_what_they_are_for():
    fake = [("src/x.py", "see environment.md §3"), ("docs/y.md", "as in [paper.md](paper.md) §2"),
            ("src/z.py", "paper.md §2.4 and paper §8.5"), ("tests/t.py", "organism-notes §5")]
    assert len(offending_lines(fake, OUTSIDE)) == 2
    assert offending_lines(fake, BARE_PAPER_MD, allow=DOC_LINK) == ["src/z.py:1: paper.md §2.4 and paper §8.5"]
    assert len(offending_lines(fake, PAPER_SECTION)) == 1
    assert CITATION.findall("docs/paper.md §7.5-7.7 and ``docs/paper.md`` §6.4") == ["7.5", "6.4"]
