"""The documentation's relative links: every Markdown link and image in README.md and docs/*.md
points to a file or folder of the repository, and every ``#anchor`` to a heading of its page."""
import glob
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGES = ["README.md"] + sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "docs", "*.md"))
                              + glob.glob(os.path.join(ROOT, "models", "*", "MODEL_CARD.md")))


LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HTML_SRC = re.compile(r"<(?:img|a)\b[^>]*\b(?:src|href)=\"([^\"]+)\"", re.I)
FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.S | re.M)
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1", re.S)
HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", re.M)


def prose(text):
    """The page without fenced code blocks and inline code spans (links there are not links)."""
    return CODE_SPAN.sub("", FENCE.sub("", text))


def slug(heading):
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)        # a link in a heading: its text
    text = re.sub(r"[`*]", "", text).strip().lower()                  # markup
    text = re.sub(r"[^\w\- ]", "", text)                              # punctuation, keeps letters
    return text.replace(" ", "-")


def anchors(path):
    """Every anchor of a page, with GitHub's -1, -2 suffixes for repeated headings."""
    seen, result = {}, set()
    for heading in HEADING.findall(FENCE.sub("", open(path, encoding="utf-8").read())):
        base = slug(heading)
        n = seen.get(base, 0)
        seen[base] = n + 1
        result.add(base if n == 0 else f"{base}-{n}")
    return result


def relative_links(page):
    text = prose(open(os.path.join(ROOT, page), encoding="utf-8").read())
    for target in LINK.findall(text) + HTML_SRC.findall(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):     # http:, https:, mailto: ...
            continue
        yield target


def test_the_link_pattern_finds_links_and_images_outside_code():
    text = ("See [a](docs/a.md#x), ![pic](docs/p.png) and [b [c]](../b.md \"title\").\n"
            "`[not](a-link.md)`\n```\n[not](in-a-fence.md)\n```\n[web](https://example.org)\n")
    assert LINK.findall(prose(text)) == ["docs/a.md#x", "docs/p.png", "../b.md", "https://example.org"]
    assert slug("What `make demo` shows") == "what-make-demo-shows"
    assert slug("From records to your photo at the paper's scale") == "from-records-to-your-photo-at-the-papers-scale"
    assert slug("Run folders of gain-tf 0.1") == "run-folders-of-gain-tf-01"


def test_the_pages_are_found_and_the_front_page_has_links():
    assert "README.md" in PAGES and len(PAGES) > 1
    assert list(relative_links("README.md"))


@pytest.mark.parametrize("page", PAGES)
def test_relative_links_point_to_existing_files_and_headings(page):
    broken = []
    for target in relative_links(page):
        path, _, anchor = target.partition("#")
        resolved = os.path.normpath(os.path.join(os.path.dirname(os.path.join(ROOT, page)), path)) if path \
            else os.path.join(ROOT, page)
        in_repo = os.path.relpath(resolved, ROOT).replace(os.sep, "/")
        if in_repo.startswith("../"):
            broken.append(f"{target}: outside the repository")
        elif not os.path.exists(resolved):
            broken.append(f"{target}: no such file")
        elif anchor and resolved.endswith(".md") and anchor not in anchors(resolved):
            broken.append(f"{target}: no heading #{anchor} in {in_repo}")
    assert not broken, f"{page}: " + "; ".join(broken)
