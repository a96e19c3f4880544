"""The electronic seal image (電子印影), rendered with Pillow and Noto Sans JP.

Two styles, both a red ring on a transparent background, returned as PNG bytes:

* the dated stamp (日付印, :func:`render_seal` with a ``date``): a circle cut by two horizontal
  lines; the position (役職) in the top band, the date in the middle band, the family name in
  the bottom band;
* the name seal (認印, ``date=None``): the family name alone, written vertically (two
  characters, the usual case, stack nicely; one character is drawn large).

Text is drawn into its own layer and scaled to fit its band, condensed horizontally when it is
long, as rubber stamps do. Everything is drawn at 4× and downsampled, for clean edges.

The image is meant to be embedded as an image in the signature appearance (not as text: see
DESIGN.md §4 on glyph widths).
"""

from __future__ import annotations

import datetime as dt
import io
import math
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

SEAL_RED = (200, 22, 30)
SUPERSAMPLE = 4
REIWA_START = dt.date(2019, 5, 1)


def font_path() -> str:
    import pylopdf_fonts_jp  # data only: imported where its path is needed

    return str(pylopdf_fonts_jp.sans_path())


@lru_cache(maxsize=64)
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(font_path(), size)


def format_date(day: dt.date, style: str = "wareki") -> str:
    """``wareki``: 8.11.22 (the Reiwa year, as office stamps print it); ``western``: 2026.11.22."""
    if style == "western" or day < REIWA_START:
        return f"{day.year}.{day.month}.{day.day}"
    return f"{day.year - 2018}.{day.month}.{day.day}"


def _text_layer(text: str, color: tuple[int, int, int], px: int, stroke: int) -> Image.Image:
    """``text`` drawn large and cropped to its ink."""
    font = _font(px)
    left, top, right, bottom = font.getbbox(text, stroke_width=stroke)
    layer = Image.new("RGBA", (int(right - left) + 4, int(bottom - top) + 4), (0, 0, 0, 0))
    ImageDraw.Draw(layer).text(
        (2 - left, 2 - top), text, font=font, fill=color, stroke_width=stroke, stroke_fill=color
    )
    bbox = layer.getbbox()
    return layer.crop(bbox) if bbox else layer


def _paste_fitted(
    canvas: Image.Image,
    layer: Image.Image,
    box: tuple[float, float, float, float],
    *,
    squeeze: bool = True,
) -> None:
    """Scale ``layer`` to the height of ``box`` (narrower if needed) and centre it there."""
    x1, y1, x2, y2 = box
    bw, bh = x2 - x1, y2 - y1
    scale = min(bh / layer.height, bw / layer.width if not squeeze else math.inf)
    w, h = layer.width * scale, layer.height * scale
    if w > bw:  # condense horizontally instead of shrinking the characters
        w = bw
    w_i, h_i = max(1, round(w)), max(1, round(h))
    resized = layer.resize((w_i, h_i), Image.Resampling.LANCZOS)
    canvas.alpha_composite(resized, (round(x1 + (bw - w_i) / 2), round(y1 + (bh - h_i) / 2)))


def render_seal(
    family_name: str,
    date: dt.date | None = None,
    position: str | None = None,
    *,
    size: int = 240,
    color: tuple[int, int, int] = SEAL_RED,
    date_style: str = "wareki",
) -> bytes:
    """Render the seal; ``size`` is the width and height of the PNG in pixels."""
    family_name = family_name.strip() or "?"
    big = size * SUPERSAMPLE
    img = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    ring = max(2, round(big * 0.035))
    margin = ring
    r = big / 2 - margin
    cx = cy = big / 2
    draw.ellipse((margin, margin, big - margin, big - margin), outline=color, width=ring)
    inner = r - ring * 1.4  # radius available for text
    stroke = max(1, round(big * 0.004))

    if date is not None:
        band = r * 0.30  # the two lines at cy ± band
        line = max(2, round(ring * 0.75))
        for y in (cy - band, cy + band):
            half = math.sqrt(r * r - (y - cy) ** 2) - ring / 2
            draw.line((cx - half, y, cx + half, y), fill=color, width=line)
        pad = line * 1.6

        def chord(y: float) -> float:
            return 2 * math.sqrt(max(inner * inner - (y - cy) ** 2, 0.0))

        # top band: from the line up to where the ring leaves room
        top_y2 = cy - band - pad
        top_y1 = cy - inner * 0.84
        top_w = chord(top_y1) * 0.92
        if position:
            _paste_fitted(
                img,
                _text_layer(position, color, 200, stroke),
                (cx - top_w / 2, top_y1, cx + top_w / 2, top_y2),
            )
        mid_y1, mid_y2 = cy - band + pad, cy + band - pad
        mid_w = chord(cy - band) * 0.86
        _paste_fitted(
            img,
            _text_layer(format_date(date, date_style), color, 200, stroke),
            (
                cx - mid_w / 2,
                mid_y1 + (mid_y2 - mid_y1) * 0.08,
                cx + mid_w / 2,
                mid_y2 - (mid_y2 - mid_y1) * 0.08,
            ),
        )
        bot_y1 = cy + band + pad
        bot_y2 = cy + inner * 0.86
        bot_w = chord(bot_y2) * 0.92
        _paste_fitted(
            img,
            _text_layer(family_name, color, 200, stroke),
            (cx - bot_w / 2, bot_y1, cx + bot_w / 2, bot_y2),
        )
    else:
        chars = list(family_name)[:4]
        n = len(chars)
        # a square-ish column inside the circle
        col_h = inner * 1.55
        cell_h = col_h / n
        col_w = min(
            inner * (1.25 if n == 1 else 1.1), 2 * math.sqrt(inner**2 - (col_h / 2) ** 2) * 1.4
        )
        y = cy - col_h / 2
        for ch in chars:
            _paste_fitted(
                img,
                _text_layer(ch, color, 220, stroke),
                (cx - col_w / 2, y + cell_h * 0.06, cx + col_w / 2, y + cell_h * 0.94),
                squeeze=False,
            )
            y += cell_h

    out = img.resize((size, size), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    out.save(buf, format="PNG", optimize=True)
    return buf.getvalue()
