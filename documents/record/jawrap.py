"""Line breaking for Japanese text, with the basic kinsoku rules (禁則処理).

fpdf2 breaks lines at spaces (wrong for Japanese, which has none) or at any character (which lets
a line start with 。 or ）). Here: a line may break between any two characters, except that
closing punctuation and small kana never start a line, opening brackets never end one, the
full stop and comma hang into the margin (ぶら下げ) rather than start a line, and a Latin word or
number (a URL, an amount) moves to the next line whole when it fits on one.
"""

from __future__ import annotations

from collections.abc import Callable

HANGING = frozenset("、。，．,.")
NO_START = frozenset(
    "）］｝〕〉》」』】〙〗〟’”｠»)]}"
    "・：；？！!?:;‐゠–〜～…‥ー"
    "ヽヾゝゞ々〻ぁぃぅぇぉっゃゅょゎゕゖァィゥェォッャュョヮヵヶㇰㇱㇲㇳㇴㇵㇶㇷㇸㇹㇺㇻㇼㇽㇾㇿ"
)
NO_END = frozenset("（［｛〔〈《「『【〘〖〝‘“｟«([{")


def _wordlike(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch in "-_./:@%#&=?+~,")


def wrap(text: str, width: float, measure: Callable[[str], float]) -> list[str]:
    """`text` broken into lines no wider than `width` (hanging 、。 excepted); `\\n` is kept."""
    widths: dict[str, float] = {}

    def size(ch: str) -> float:
        if ch not in widths:
            widths[ch] = measure(ch)
        return widths[ch]

    lines: list[str] = []
    for paragraph in text.split("\n"):
        lines.extend(_paragraph(paragraph, width, size))
    return lines


def _paragraph(text: str, width: float, size: Callable[[str], float]) -> list[str]:
    lines: list[str] = []
    line = ""
    line_w = 0.0
    for ch in text:
        char_w = size(ch)
        if not line or line_w + char_w <= width:
            line += ch
            line_w += char_w
            continue
        if ch in HANGING:
            lines.append(line + ch)
            line, line_w = "", 0.0
            continue
        if ch == " ":
            lines.append(line.rstrip(" "))
            line, line_w = "", 0.0
            continue
        keep, carry = _split(line, ch)
        lines.append(keep.rstrip(" "))
        line = carry + ch
        line_w = sum(size(c) for c in line)
    lines.append(line)
    return lines


def _split(line: str, following: str) -> tuple[str, str]:
    """Where to end `line` when `following` does not fit: (what stays, what moves down)."""
    cut = len(line)
    if following in NO_START:
        # Take the previous character along (追い出し), and any closers before it.
        while cut > 1 and line[cut - 1] in NO_START:
            cut -= 1
        cut -= 1 if cut > 1 else 0
    while cut > 1 and line[cut - 1] in NO_END:
        cut -= 1
    if _wordlike(following):
        start = cut
        while start > 0 and _wordlike(line[start - 1]):
            start -= 1
        if start > 0:
            cut = start
    if cut <= 0:
        cut = len(line)
    return line[:cut], line[cut:]
