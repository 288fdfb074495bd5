"""Linear-time splitting of PEM text into blocks.

Every marker is found with one forward ``str.find`` from the current
position, and a block without its END marker fails at once: the work is
linear in the input whatever it holds (a backtracking regex over many BEGIN
markers without an END is quadratic). Pure text handling, no decoding of
the base64 and no cryptography.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PemBlock", "PemProblem", "split_pem"]

_BEGIN = "-----BEGIN "
_DASHES = "-----"
_LABEL_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ")
_MAX_LABEL = 64


class PemProblem(ValueError):
    """Why a text is not a sequence of PEM blocks (callers turn it into their coded error)."""

    def __init__(self, message: str, blocks_before: int) -> None:
        super().__init__(message)
        self.blocks_before = blocks_before
        """How many well-formed blocks precede the problem."""


@dataclass(frozen=True)
class PemBlock:
    """One ``-----BEGIN label----- ... -----END label-----`` block."""

    label: str
    body: str
    """The text between the header line and the END marker (base64 and line breaks)."""
    start: int
    end: int
    """``text[start:end]`` is the whole block, markers included."""


def split_pem(text: str, *, gap_chars: str = " \t\r\n", newline_required: bool = True) -> list[PemBlock]:
    """The PEM blocks of ``text``, in order.

    Only characters of ``gap_chars`` may appear before, between and after the
    blocks. With ``newline_required`` the BEGIN line must end in a line break
    (``\\n`` or ``\\r\\n``); else the break is optional. Raises :class:`PemProblem`.
    """
    blocks: list[PemBlock] = []
    pos = 0
    while True:
        begin = text.find(_BEGIN, pos)
        gap = text[pos:] if begin < 0 else text[pos:begin]
        if gap.strip(gap_chars):
            raise PemProblem(f"has text outside its PEM blocks ({gap.strip()[:40]!r})", len(blocks))
        if begin < 0:
            return blocks
        label_start = begin + len(_BEGIN)
        label_end = text.find(_DASHES, label_start)
        label = text[label_start:label_end] if label_end >= 0 else ""
        if label_end < 0 or not label or len(label) > _MAX_LABEL or not _LABEL_CHARS.issuperset(label):
            raise PemProblem(f"has a malformed PEM BEGIN line at offset {begin}", len(blocks))
        body_start = label_end + len(_DASHES)
        if text.startswith("\r\n", body_start):
            body_start += 2
        elif text.startswith("\n", body_start):
            body_start += 1
        elif newline_required:
            raise PemProblem(f"has a PEM BEGIN line at offset {begin} not followed by a line break", len(blocks))
        end_marker = f"-----END {label}-----"
        end = text.find(end_marker, body_start)
        if end < 0:
            raise PemProblem(f"has a PEM block of type {label!r} at offset {begin} without its END line", len(blocks))
        pos = end + len(end_marker)
        blocks.append(PemBlock(label=label, body=text[body_start:end], start=begin, end=pos))
