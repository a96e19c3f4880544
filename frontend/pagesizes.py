"""The size and rotation of every page of a stored PDF, for laying out the viewer before any page
is drawn: placeholders of the right shape, scroll positions that do not jump, and the mapping
between the screen and PDF points for marks, also where pages are shown as server images.

Cached by the content hash (a stored object never changes).
"""

from __future__ import annotations

import io
import logging

from django.core.cache import cache
from pypdf import PdfReader

from storage import get_store, key_for

logger = logging.getLogger(__name__)
CACHE_SECONDS = 7 * 24 * 3600

# [x1, y1, x2, y2, rotate]: the crop box in PDF points (what viewers show) and /Rotate in degrees.
PageBox = list[float]


def page_boxes(sha256: str) -> list[PageBox]:
    cache_key = f"frontend:pageboxes:{sha256}"
    boxes = cache.get(cache_key)
    if boxes is not None:
        return list(boxes)
    with get_store().open(key_for(sha256)) as reader:
        data = reader.read()
    try:
        pdf = PdfReader(io.BytesIO(data))
        boxes = []
        for page in pdf.pages:
            box = page.cropbox
            boxes.append(
                [
                    round(float(box.left), 3),
                    round(float(box.bottom), 3),
                    round(float(box.right), 3),
                    round(float(box.top), 3),
                    int(page.rotation) % 360,
                ]
            )
    except Exception:
        # The viewer then falls back to A4 placeholders; pdf.js and PDFium still draw the pages.
        logger.warning("could not read page sizes of %s", sha256, exc_info=True)
        return []
    cache.set(cache_key, boxes, CACHE_SECONDS)
    return boxes
