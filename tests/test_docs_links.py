"""Every relative link of the documentation resolves: files exist and anchors name headings.

Checked: Markdown links and images in README.md and docs/**/*.md (outside code blocks), and the
``docs/....md`` pages that code (geokeras/**/*.py) and specs (specs/**/*.yaml) point readers to.
Anchors follow GitHub's rule for heading ids (lower case, punctuation dropped, spaces to
hyphens, ``-1``, ``-2``, ... for repeated headings).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
SOURCES = [*sorted((ROOT / "geokeras").rglob("*.py")), *sorted((ROOT / "specs").rglob("*.yaml"))]

FENCED_CODE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
DOCS_MENTION = re.compile(r"(?<![\w/.-])(docs/[\w./-]+\.md)(#[\w-]+)?")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def prose(text: str) -> str:
    """``text`` without fenced code blocks (their brackets and hashes are not Markdown)."""
    return FENCED_CODE.sub("", text)


def github_slug(heading: str) -> str:
    """The id GitHub gives a heading: lower case, punctuation but ``-`` and ``_`` dropped, spaces to ``-``."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading keeps its text
    text = re.sub(r"<[^>]+>", "", text).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


@lru_cache(maxsize=None)
def anchors(page: Path) -> frozenset[str]:
    """The heading ids of ``page``, repeated headings numbered as GitHub numbers them."""
    seen: dict[str, int] = {}
    ids = set()
    for match in HEADING.finditer(prose(page.read_text(encoding="utf-8"))):
        slug = github_slug(match.group(1))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        ids.add(slug if count == 0 else f"{slug}-{count}")
    return frozenset(ids)


def problem(target: str, source: Path) -> str | None:
    """Why the relative link ``target`` written in the file ``source`` is broken, or None.

    A path is relative to ``source``'s folder; an anchor alone (``#errors``) names a heading of ``source``.
    """
    path, _, anchor = target.partition("#")
    page = (source.parent / path).resolve() if path else source
    if not page.exists():
        return f"{target}: no file {page.relative_to(ROOT) if page.is_relative_to(ROOT) else page}"
    if anchor and page.suffix == ".md" and anchor not in anchors(page):
        return f"{target}: no heading #{anchor} in {page.name}"
    return None


def page_links(page: Path) -> list[str]:
    return [
        match.group(1)
        for match in LINK.finditer(INLINE_CODE.sub("", prose(page.read_text(encoding="utf-8"))))
        if not SCHEME.match(match.group(1))
    ]


def test_the_slug_rule_matches_github():
    assert github_slug(
        "The encodable-condition certificate: `encodable_certificate(regions_lower, bounds, manifold_lower)`"
    ) == ("the-encodable-condition-certificate-encodable_certificateregions_lower-bounds-manifold_lower")
    assert github_slug("Densities (`measure: {type: ...}`)") == "densities-measure-type-"
    assert github_slug("`hilbert`: the construction of the paper's Theorem 4.14") == (
        "hilbert-the-construction-of-the-papers-theorem-414"
    )


def test_a_broken_link_is_found(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n## Two words\n\n[ok](#two-words) [bad](#three) [gone](missing.md)\n", encoding="utf-8")
    found = [problem(target, page) for target in page_links(page)]
    assert found[0] is None
    assert found[1].startswith("#three: no heading #three")
    assert found[2].startswith("missing.md: no file")


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.relative_to(ROOT).as_posix())
def test_every_relative_link_of_the_docs_resolves(page):
    links = page_links(page)
    broken = [found for target in links if (found := problem(target, page))]
    assert broken == []


def test_the_docs_pages_code_and_specs_point_to_exist():
    broken = []
    for source in SOURCES:
        for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), 1):
            for match in DOCS_MENTION.finditer(line):
                found = problem(match.group(1) + (match.group(2) or ""), ROOT / "README.md")
                if found:
                    broken.append(f"{source.relative_to(ROOT)}:{number}: {found}")
    assert broken == []


def test_the_checks_see_the_documentation():
    assert len(PAGES) > 10 and len(SOURCES) > 50
    assert "docs/evaluators.md#learnability" in page_links(ROOT / "README.md")
