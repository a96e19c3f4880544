"""What an uploaded file is: names, sizes and PDFs (documents.inspection)."""

from __future__ import annotations

import io
import os
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest
from django.utils.functional import Promise

from documents.inspection import (
    Inspection,
    Limits,
    UploadRefused,
    clean_filename,
    inspect_file,
)
from tests.documents.inspection_support import *  # noqa: F403  (the shared builders)

# ---------------------------------------------------------------- file names


@pytest.mark.parametrize(
    "name",
    ["見積書（最終版）.pdf", "令和7年度 契約書.docx", "a.b.c.xlsx", ".hidden", "x" * 255],
)
def test_good_names_are_kept_intact(name: str) -> None:
    assert clean_filename(name) == name


def test_name_is_nfc_and_trimmed() -> None:
    nfd = "ﾃｽﾄ_カ\u3099イド.pdf"  # macOS sends dakuten as a combining mark
    assert clean_filename(nfd) == "ﾃｽﾄ_ガイド.pdf"
    assert clean_filename("  報告書.pdf\u3000") == "報告書.pdf"
    assert clean_filename("絵文字👨\u200d👩\u200d👧.png").endswith(".png")


@pytest.mark.parametrize(
    "name",
    [
        "",
        "   ",
        ".",
        "..",
        "../etc/passwd",
        "a/b.pdf",
        "a\\b.pdf",
        "a\x00.pdf",
        "a\n.pdf",
        "a\r.pdf",
        "a\t.pdf",
        "invoice\u202efdp.exe",
        "doc\u2066x\u2069.pdf",
        "zero\u200bwidth.pdf",
        "bad\ud800.pdf",
        "あ" * 86,  # 258 bytes in UTF-8
    ],
)
def test_bad_names_are_refused(name: str) -> None:
    with pytest.raises(UploadRefused) as caught:
        clean_filename(name)
    assert caught.value.code == "bad_filename"
    assert caught.value.status == 400


def test_name_of_255_bytes_is_the_limit() -> None:
    assert clean_filename("あ" * 85) == "あ" * 85  # 255 bytes
    with pytest.raises(UploadRefused):
        clean_filename("あ" * 85 + "a")


def test_inspect_file_checks_the_name_too(put: Callable[..., Path]) -> None:
    assert refused(put(b"hello"), "a/b.txt").code == "bad_filename"


# ---------------------------------------------------------------- the refusal itself


def test_refusal_carries_code_status_filename_and_a_lazy_message(put: Callable[..., Path]) -> None:
    error = refused(put(b""), "空.pdf")
    assert (error.code, error.status, error.filename) == ("empty_file", 422, "空.pdf")
    assert isinstance(error.message, Promise)  # translated when shown, in the reader's language
    assert "空.pdf" in str(error.message)
    assert "empty_file" in str(error)


def test_message_never_echoes_control_characters() -> None:
    with pytest.raises(UploadRefused) as caught:
        clean_filename("evil\u202e\x1b[2J.pdf")
    assert "\u202e" not in str(caught.value.message)
    assert "\x1b" not in str(caught.value.message)


# ---------------------------------------------------------------- sizes


def test_zero_bytes_is_refused(put: Callable[..., Path]) -> None:
    assert refused(put(b""), "a.pdf").code == "empty_file"


def test_too_large_is_413(put: Callable[..., Path]) -> None:
    error = refused(put(b"x" * 2000), "a.txt", limits=Limits(max_file_bytes=1000))
    assert (error.code, error.status) == ("too_large", 413)


# ---------------------------------------------------------------- PDFs: real-world samples


def test_every_sample_is_listed() -> None:
    assert sorted(p.name for p in PDFS.glob("*.pdf")) == sorted(REAL_WORLD_PAGES)


@pytest.mark.parametrize("name", sorted(set(REAL_WORLD_PAGES) - {PASSWORD_PDF}))
def test_real_world_pdfs_are_accepted_with_their_page_count(name: str) -> None:
    result = inspect_file(PDFS / name, name)
    assert result == Inspection("application/pdf", "pdf", REAL_WORLD_PAGES[name], False,
                                result.note)  # fmt: skip


def test_embedded_files_are_noted() -> None:
    assert "embedded" in inspect_file(PDFS / "with-attachment.pdf", "a.pdf").note


def test_encrypted_pdf_needs_its_password() -> None:
    path = PDFS / PASSWORD_PDF
    error = refused(path, PASSWORD_PDF)
    assert (error.code, error.status) == ("encrypted_pdf", 422)
    assert "password" in str(error.message)
    assert refused(path, PASSWORD_PDF, password="wrong").code == "wrong_password"
    opened = inspect_file(path, PASSWORD_PDF, password="openpassword")
    assert (opened.kind, opened.page_count, opened.encrypted) == ("pdf", 1, True)


def test_pdf_with_only_an_owner_password_opens_without_one(put: Callable[..., Path]) -> None:
    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=str(PDFS / "minimal-document.pdf"))
    writer.encrypt(user_password="", owner_password="owner", algorithm="AES-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    result = inspect_file(put(buffer.getvalue()), "restricted.pdf")
    assert (result.page_count, result.encrypted) == (1, False)
    assert "restrictions" in result.note


# ---------------------------------------------------------------- PDFs: not, broken, bombs


def test_html_named_pdf_is_not_a_pdf(put: Callable[..., Path]) -> None:
    page = b"<!DOCTYPE html><html><body>Session expired</body></html>"
    error = refused(put(page), "契約書.pdf")
    assert (error.code, error.status) == ("not_a_pdf", 422)


def test_declared_pdf_must_be_a_pdf(put: Callable[..., Path]) -> None:
    path = put(image_bytes("PNG"))
    assert refused(path, "scan", declared_type="application/pdf").code == "not_a_pdf"
    assert inspect_file(path, "scan", declared_type="image/png").kind == "image"


def test_pdf_under_another_name_is_a_pdf_with_a_note(put: Callable[..., Path]) -> None:
    result = inspect_file(put((PDFS / "minimal-document.pdf").read_bytes()), "report.docx")
    assert (result.content_type, result.kind, result.page_count) == ("application/pdf", "pdf", 1)
    assert ".docx" in result.note


def test_truncated_pdf_is_broken(put: Callable[..., Path]) -> None:
    data = (PDFS / "pdflatex-4-pages.pdf").read_bytes()
    error = refused(put(data[: len(data) // 2]), "half.pdf")
    assert error.code == "broken_pdf"
    assert "again" in str(error.message)  # asks for a re-export


def test_garbage_after_the_header_is_broken(put: Callable[..., Path]) -> None:
    garbage = b"%PDF-1.7\n" + os.urandom(20_000).replace(b"%%EOF", b"") + b"\n%%EOF\n"
    assert refused(put(garbage), "noise.pdf").code == "broken_pdf"


def test_pdf_without_pages_is_broken(put: Callable[..., Path]) -> None:
    empty = raw_pdf(b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>")
    assert refused(put(empty), "empty.pdf").code == "broken_pdf"


def test_too_many_pages(put: Callable[..., Path]) -> None:
    path = PDFS / "pdflatex-4-pages.pdf"
    error = refused(path, "a.pdf", limits=Limits(max_pdf_pages=3))
    assert error.code == "too_many_pages"
    assert "4" in str(error.message)


def test_declared_page_count_is_refused_before_walking_the_tree(put: Callable[..., Path]) -> None:
    assert refused(put(one_page_pdf(b"", count=10**9)), "a.pdf").code == "too_many_pages"


def test_too_many_objects(put: Callable[..., Path]) -> None:
    path = put(one_page_pdf(b"BT ET"))
    assert refused(path, "a.pdf", limits=Limits(max_pdf_objects=3)).code == "pdf_bomb"


def test_stream_inflating_past_the_cap(put: Callable[..., Path]) -> None:
    path = put(one_page_pdf(deflated_zeros(64, layers=1), "/Filter /FlateDecode"))
    error = refused(path, "bomb.pdf", limits=Limits(max_pdf_stream_bytes=16 * 1024**2))
    assert error.code == "pdf_bomb"
    assert inspect_file(path, "ok.pdf").page_count == 1  # 64 MB is within the default bound


def test_nested_flate_is_refused_by_its_ratio(put: Callable[..., Path]) -> None:
    bomb = deflated_zeros(64, layers=2)  # 64 MB of zeros in a few hundred bytes
    assert len(bomb) < 10_000
    path = put(one_page_pdf(bomb, "/Filter [/FlateDecode /FlateDecode]"))
    assert refused(path, "bomb.pdf").code == "pdf_bomb"


def test_pdf_bomb_at_default_limits_is_refused_quickly(put: Callable[..., Path]) -> None:
    # One layer, so only the size cap (512 MB by default) can stop it, not the ratio.
    path = put(one_page_pdf(deflated_zeros(600, layers=1), "/Filter /Fl"))
    started = time.perf_counter()
    assert refused(path, "bomb.pdf").code == "pdf_bomb"
    assert time.perf_counter() - started < 10


def test_damaged_flate_stream_is_not_a_bomb(put: Callable[..., Path]) -> None:
    path = put(one_page_pdf(b"\x78\x9cnot really deflate", "/Filter /FlateDecode"))
    assert inspect_file(path, "a.pdf").page_count == 1


def test_large_pdf_is_not_read_into_memory(put: Callable[..., Path]) -> None:
    # A 48 MB stream that no page uses: inspection must neither load nor decode it.
    ballast = stream(os.urandom(48 * 1024**2))
    pdf = raw_pdf(
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>",
        stream(b"BT ET"),
        ballast,
    )
    path = put(pdf)
    del pdf, ballast
    tracemalloc.start()
    try:
        assert inspect_file(path, "big.pdf").page_count == 1
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024**2
