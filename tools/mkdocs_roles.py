"""MkDocs hook: show the docstrings' Sphinx cross-reference roles as code.

The docstrings use ``:class:`~tdxverify.errors.VerificationError``` and the like
(readable in ``help()`` and editors); mkdocstrings renders them as the role name
followed by code. This strips the role, and a leading ``~`` keeps only the last
dotted component, as Sphinx shows it.
"""

from __future__ import annotations

import re
from typing import Any

_ROLE = re.compile(r":(?:class|func|meth|data|attr|mod|exc|obj):<code>(~?)([^<]*)</code>")


def _code(m: re.Match[str]) -> str:
    tilde, target = m.group(1), m.group(2)
    return f"<code>{target.rsplit('.', 1)[-1] if tilde else target}</code>"


def on_page_content(html: str, **kwargs: Any) -> str:
    return _ROLE.sub(_code, html)
