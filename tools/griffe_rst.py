"""A Griffe extension for the API reference: fieldlab's docstrings use a few reStructuredText
constructs (``:func:`name```, ``:math:`x```, ``.. math::`` blocks) that Markdown does not know.
This rewrites them, at documentation build time only, into Markdown that the site renders:
cross-reference roles become code spans, and mathematics becomes ``$...$`` and ``$$...$$``
(rendered by MathJax through ``pymdownx.arithmatex``). The source files are not changed.
"""

from __future__ import annotations

import re

import griffe

_ROLE = re.compile(r":(?:func|class|meth|mod|data|attr|obj|exc):`(~?)\.?([^`]+)`")
_MATH = re.compile(r":math:`([^`]+)`")
_DIRECTIVE = re.compile(r"^(?P<indent>[ \t]*)\.\. math::[ \t]*(?P<first>.*)$")


def _role(match: re.Match) -> str:
    """``:func:`~a.b``` -> ``b`` (the tilde shows the last component only); ``:func:`a.b``` -> ``a.b``."""
    short, target = match.groups()
    return f"`{target.rsplit('.', 1)[-1] if short else target}`"


def _math_blocks(text: str) -> str:
    lines, out, i = text.split("\n"), [], 0
    while i < len(lines):
        m = _DIRECTIVE.match(lines[i])
        if not m:
            out.append(lines[i])
            i += 1
            continue
        indent, body = m.group("indent"), [m.group("first")] if m.group("first").strip() else []
        i += 1
        while i < len(lines) and (not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > len(indent)):
            body.append(lines[i].strip())
            i += 1
        body = [b for b in body if b]
        out += [f"{indent}$$", *[f"{indent}{b}" for b in body], f"{indent}$$", ""]
    return "\n".join(out)


def rst_to_markdown(text: str) -> str:
    """Rewrite the reStructuredText roles and math directives of a docstring into Markdown."""
    text = _math_blocks(text)
    text = _MATH.sub(lambda m: f"${m.group(1)}$", text)
    return _ROLE.sub(_role, text)


class RstRoles(griffe.Extension):
    """Apply :func:`rst_to_markdown` to every docstring Griffe loads."""

    def on_instance(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = rst_to_markdown(obj.docstring.value)
