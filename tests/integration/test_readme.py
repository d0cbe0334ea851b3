"""Every relative link and anchor of README.md resolves inside the
repository (issue 10, item 16), the way GitHub renders them."""
import os
import re

import harness

LINK = re.compile(r"(?<!\!)\[[^\]]*\]\(([^)\s]+)\)")


def slug(heading):
    """GitHub's anchor of a heading: lower case, punctuation dropped but
    '-' and '_', each space a '-'."""
    text = re.sub(r"`|\*\*?|__", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path):
    seen, out = {}, set()
    in_code = False
    with open(path) as f:
        for line in f:
            if line.startswith("```"):
                in_code = not in_code
            m = re.match(r"#{1,6} (.*)", line)
            if m and not in_code:
                s = slug(m.group(1))
                n = seen.get(s, 0)
                seen[s] = n + 1
                out.add(s if n == 0 else "%s-%d" % (s, n))
    return out


def links(path):
    text = open(path).read()
    text = re.sub(r"```.*?```", "", text, flags=re.S)   # code blocks
    text = re.sub(r"`[^`\n]*`", "", text)                # inline code
    return LINK.findall(text)


def test_slug_is_githubs():
    assert slug("Withdrawal, unsubscribe links and regimes") == \
        "withdrawal-unsubscribe-links-and-regimes"
    assert slug("Guard mode: the forms an application already has") == \
        "guard-mode-the-forms-an-application-already-has"


def test_every_relative_link_of_the_readme_resolves():
    readme = os.path.join(harness.TOP, "README.md")
    found = links(readme)
    assert len(found) > 10, found
    broken = []
    for target in found:
        if re.match(r"[a-z]+:", target):        # http(s), mailto
            continue
        path, _, anchor = target.partition("#")
        full = os.path.normpath(os.path.join(harness.TOP, path)) \
            if path else readme
        if not full.startswith(harness.TOP) or not os.path.exists(full):
            broken.append(target + ": no such file")
        elif anchor and (not full.endswith(".md")
                         or anchor not in anchors(full)):
            broken.append(target + ": no such anchor")
    assert not broken, broken
