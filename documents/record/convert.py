"""Turning non-PDF attachments into PDF pages: office files through LibreOffice, images with fpdf2.

Images go through fpdf2 rather than img2pdf: fpdf2 is already needed for the cover sheet, it copies
a JPEG's DCT data (and a single-strip CCITT G4 TIFF) into the PDF unchanged, so those stay
lossless, and unlike img2pdf it accepts PNGs with an alpha channel (as a soft mask) instead of
refusing them. Everything else is decoded by Pillow and stored Flate-compressed, which is
lossless for the decoded pixels.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import signal
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol
from xml.sax.saxutils import escape

from fpdf import FPDF
from PIL import Image, ImageOps, ImageSequence

from documents.record.cover import font_path

DEFAULT_TIMEOUT = 120.0
A4_PT = (595.28, 841.89)
IMAGE_MARGIN_PT = 28.35  # 10 mm: printers cannot reach the very edge of the sheet
# Scans and screenshots often carry no resolution; 96 dpi is what a screen shows them at.
DEFAULT_DPI = 96.0
# Fixed so that the same image gives the same bytes; fpdf2 would otherwise stamp the current time.
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_EXT_RE = re.compile(r"\.[A-Za-z0-9]{1,8}$")


class ConversionError(Exception):
    """LibreOffice ran but gave no usable PDF (its reason is the message)."""


class Converter(Protocol):
    """What `build_record` needs of an office converter; `OfficeConverter` is the real one."""

    def available(self) -> bool: ...

    def unavailable_reason(self) -> str: ...

    def convert(self, source: Path, workdir: Path) -> Path: ...


class OfficeConverter:
    """Converts office files to PDF with a headless LibreOffice, one process per file.

    Each `workdir` gets its own LibreOffice profile: two profiles in use at once by concurrent
    conversions would make the second soffice hand its job to the first and exit, and a profile
    kept across calls would carry state between unrelated documents. Files converted in one
    `build_record` call share its workdir, so the profile is created once per record.
    """

    def __init__(self, binary: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> None:
        self._binary = binary
        self.timeout = timeout

    def binary(self) -> str | None:
        if self._binary:
            return shutil.which(self._binary) or (
                self._binary if os.path.isfile(self._binary) else None
            )
        return shutil.which("soffice") or shutil.which("libreoffice")

    def available(self) -> bool:
        return self.binary() is not None

    def unavailable_reason(self) -> str:
        return "LibreOffice is not installed"

    def convert(self, source: Path, workdir: Path) -> Path:
        binary = self.binary()
        if binary is None:
            raise ConversionError(self.unavailable_reason())
        profile = workdir / "lo-profile"
        outdir = workdir / f"out-{source.stem}"
        outdir.mkdir(parents=True, exist_ok=True)
        command = [
            binary,
            "--headless",
            "--norestore",
            "--nologo",
            "--nolockcheck",
            f"-env:UserInstallation={profile.as_uri()}",
            "--convert-to",
            "pdf",
            "--outdir",
            str(outdir),
            str(source),
        ]
        # soffice is a wrapper script that starts soffice.bin: on a timeout the whole process
        # group must go, or the real office process lives on.
        env = {
            **os.environ,
            "HOME": str(workdir),
            "SAL_USE_VCLPLUGIN": "svp",
            "FONTCONFIG_FILE": str(_fontconfig(workdir)),
        }
        process = subprocess.Popen(  # noqa: S603 - the binary is LibreOffice, arguments are ours
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            cwd=workdir,
            env=env,
            start_new_session=True,
        )
        try:
            stdout, stderr = process.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            process.communicate()
            raise ConversionError(f"LibreOffice timed out after {self.timeout:g} s") from None
        result = outdir / f"{source.stem}.pdf"
        if process.returncode != 0 or not result.is_file() or result.stat().st_size == 0:
            detail = (stderr or stdout).decode("utf-8", "replace").strip().splitlines()
            reason = detail[-1] if detail else f"exit status {process.returncode}"
            raise ConversionError(f"LibreOffice produced no PDF ({reason[:200]})")
        return result


# Japanese documents name fonts that a Linux server lacks (ＭＳ 明朝, 游ゴシック, メイリオ …), and
# a server without a CJK font package would print every kanji as an empty box. The Noto JP fonts
# shipped for the cover are offered to LibreOffice through fontconfig, and the usual Windows
# and macOS Japanese font names are mapped to them (serif to Noto Serif JP, the rest to Sans).
_SERIF_NAMES = (
    "MS Mincho",
    "ＭＳ 明朝",
    "MS PMincho",
    "ＭＳ Ｐ明朝",
    "Yu Mincho",
    "游明朝",
    "Hiragino Mincho ProN",
    "ヒラギノ明朝 ProN",
    "IPAMincho",
    "IPAexMincho",
)
_SANS_NAMES = (
    "MS Gothic",
    "ＭＳ ゴシック",
    "MS PGothic",
    "ＭＳ Ｐゴシック",
    "MS UI Gothic",
    "Meiryo",
    "メイリオ",
    "Meiryo UI",
    "Yu Gothic",
    "游ゴシック",
    "Yu Gothic UI",
    "Hiragino Sans",
    "ヒラギノ角ゴシック",
    "IPAGothic",
    "IPAexGothic",
)


def _fontconfig(workdir: Path) -> Path:
    path = workdir / "fonts.conf"
    if path.exists():
        return path

    def alias(names: tuple[str, ...], family: str) -> str:
        return "".join(
            f'<alias binding="same"><family>{escape(name)}</family><prefer><family>{family}'
            "</family></prefer></alias>"
            for name in names
        )

    path.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
        '<include ignore_missing="yes">/etc/fonts/fonts.conf</include>'
        f"<dir>{escape(os.path.dirname(font_path()))}</dir>"
        f"<cachedir>{escape(str(workdir / 'fontconfig-cache'))}</cachedir>"
        + alias(_SERIF_NAMES, "Noto Serif JP")
        + alias(_SANS_NAMES, "Noto Sans JP")
        + "</fontconfig>",
        encoding="utf-8",
    )
    return path


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def source_name(filename: str, fallback: str) -> str:
    """A safe file name for the converter that keeps the extension LibreOffice recognises."""
    match = _EXT_RE.search(filename)
    return "input" + (match.group(0).lower() if match else fallback)


# --- images ---------------------------------------------------------------------------------------


class ImageReadError(Exception):
    """Pillow cannot read the file as an image."""


@dataclass(frozen=True)
class _Frame:
    source: bytes | Image.Image  # raw JPEG bytes are copied unchanged, anything else re-encoded
    width: int
    height: int
    rotate: int  # degrees counter-clockwise that the stored pixels must turn to display upright
    dpi: tuple[float, float]


# EXIF orientation → counter-clockwise rotation; the mirrored ones (2, 4, 5, 7) are rare enough
# that they are transposed by Pillow, at the cost of re-encoding.
_EXIF_ROTATION = {1: 0, 3: 180, 6: 270, 8: 90}


def image_to_pdf(data: bytes) -> tuple[bytes, int]:
    """A PDF with one A4 page per image frame (several for a multi-page TIFF), and its page count.

    A page is landscape when its image is wider than tall. An image is shown at its own
    resolution, shrunk to fit inside a 10 mm margin, never enlarged.
    """
    frames = _frames(data)
    pdf = FPDF(unit="pt", format="A4")
    pdf.set_creation_date(_EPOCH)
    pdf.set_auto_page_break(False)
    pdf.set_margin(0)
    for frame in frames:
        turned = frame.rotate in (90, 270)
        shown_w = (frame.height if turned else frame.width) * 72.0 / frame.dpi[1 if turned else 0]
        shown_h = (frame.width if turned else frame.height) * 72.0 / frame.dpi[0 if turned else 1]
        landscape = shown_w > shown_h
        page_w, page_h = (A4_PT[1], A4_PT[0]) if landscape else A4_PT
        scale = min(
            1.0,
            (page_w - 2 * IMAGE_MARGIN_PT) / shown_w,
            (page_h - 2 * IMAGE_MARGIN_PT) / shown_h,
        )
        box_w, box_h = shown_w * scale, shown_h * scale
        pdf.add_page(orientation="L" if landscape else "P")
        cx, cy = page_w / 2, page_h / 2
        image = frame.source if isinstance(frame.source, Image.Image) else io.BytesIO(frame.source)
        # Drawn unturned at its stored size around the page centre, then turned about it: a
        # quarter turn of a w×h rectangle about its centre gives the h×w box we fitted.
        draw_w, draw_h = (box_h, box_w) if turned else (box_w, box_h)
        with pdf.rotation(frame.rotate, cx, cy):
            pdf.image(image, x=cx - draw_w / 2, y=cy - draw_h / 2, w=draw_w, h=draw_h)
    return bytes(pdf.output()), len(frames)


def _frames(data: bytes) -> list[_Frame]:
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (OSError, ValueError, Image.DecompressionBombError, SyntaxError) as exc:
        raise ImageReadError(str(exc) or type(exc).__name__) from exc
    try:
        if image.format == "JPEG":
            return [_jpeg_frame(image, data)]
        # Only TIFF frames are pages (multi-page scans, faxes); other formats' frames are an
        # animation, of which the first frame stands for the image.
        sequence = ImageSequence.Iterator(image) if image.format == "TIFF" else [image]
        frames = []
        for frame in sequence:
            upright = ImageOps.exif_transpose(frame.copy())
            frames.append(
                _Frame(upright, upright.width, upright.height, 0, _dpi(frame.info.get("dpi")))
            )
        return frames
    except (OSError, ValueError, EOFError, SyntaxError) as exc:
        raise ImageReadError(str(exc) or type(exc).__name__) from exc


def _jpeg_frame(image: Image.Image, data: bytes) -> _Frame:
    orientation = image.getexif().get(0x0112, 1)
    dpi = _dpi(image.info.get("dpi"))
    # A CMYK JPEG is copied as is only when Adobe wrote it (inverted CMYK, which fpdf2 assumes).
    passthrough = image.mode in ("RGB", "L") or (image.mode == "CMYK" and "adobe" in image.info)
    if passthrough and orientation in _EXIF_ROTATION:
        return _Frame(data, image.width, image.height, _EXIF_ROTATION[orientation], dpi)
    upright = ImageOps.exif_transpose(image)
    if upright.mode not in ("RGB", "L"):
        upright = upright.convert("RGB")
    return _Frame(upright, upright.width, upright.height, 0, dpi)


def _dpi(value: object) -> tuple[float, float]:
    try:
        x, y = (float(v) for v in value)  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        return (DEFAULT_DPI, DEFAULT_DPI)
    # Cameras write 1 or 72 dpi without meaning it; anything implausible is ignored.
    if not (10.0 <= x <= 4800.0 and 10.0 <= y <= 4800.0):
        return (DEFAULT_DPI, DEFAULT_DPI)
    return (x, y)
