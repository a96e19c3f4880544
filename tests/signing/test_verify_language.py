"""The verifier speaks the reader's language: Japanese by default (LANGUAGE_CODE), English when
asked, in verify_pdf, in the API (Accept-Language or the language cookie) and in its cache."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.management import call_command
from django.utils import translation
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from documents.models import Document
from signing.keystore import KeyStore
from signing.verify import verify_pdf
from storage import get_store, key_for
from tests.workflow.test_approval_flow import client, draft, submit

from .conftest import make_pdf
from .test_tamper import signed

ALTERED_JA = "署名後に文書が変更されています"
ALTERED_EN = "the document was changed after signing"
CHANGE_JA = "リビジョン 2: 1 ページ目の内容が変更されています"
CHANGE_EN = "revision 2: content of page 1 changed"


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    """No language left active by an earlier test: the default is LANGUAGE_CODE."""
    translation.deactivate()
    yield
    translation.deactivate()


def tampered(data: bytes) -> bytes:
    """``data`` with a rectangle drawn on its first page in a later revision."""
    w = IncrementalPdfFileWriter(io.BytesIO(data))
    w.add_stream_to_page(
        0, w.add_object(generic.StreamObject(stream_data=b"0 0 1 rg 10 10 50 50 re f"))
    )
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def test_a_tampered_record_is_reported_in_japanese_unless_english_is_asked_for(
    pki: KeyStore,
) -> None:
    assert settings.LANGUAGE_CODE == "ja"
    data = tampered(signed(make_pdf(1)))

    report = verify_pdf(data)
    sig = report.signatures[0]
    assert not report.valid and not sig.valid
    assert ALTERED_JA in (sig.problem or ""), sig.problem
    assert CHANGE_JA in sig.changes, sig.changes
    # the change is signed by nobody: the report leads with it, then the signature's problem
    assert report.unsigned_changes == [CHANGE_JA]
    assert (report.problem or "").endswith(f"stamp-1: {sig.problem}")
    assert "changed" not in (report.problem or "")

    with translation.override("en"):
        english = verify_pdf(data)
    sig = english.signatures[0]
    assert ALTERED_EN in (sig.problem or ""), sig.problem
    assert CHANGE_EN in sig.changes, sig.changes
    assert not any("リビジョン" in c or "ページ" in c for c in sig.changes)

    # the language does not change the verdict
    assert english.as_dict()["valid"] == report.as_dict()["valid"]
    assert [s.modification for s in english.signatures] == ["other"]


def test_the_simple_problems_in_both_languages() -> None:
    assert verify_pdf(make_pdf(1)).problem == "署名がありません"
    assert (verify_pdf(b"hello").problem or "").startswith("PDFとして読み取れません: ")
    with translation.override("en"):
        assert verify_pdf(make_pdf(1)).problem == "the PDF has no signature"
        assert (verify_pdf(b"hello").problem or "").startswith("not a readable PDF: ")


def test_verify_pdf_command_speaks_japanese_or_the_language_asked_for(
    pki: KeyStore, tmp_path
) -> None:
    path = tmp_path / "tampered.pdf"
    path.write_bytes(tampered(signed(make_pdf(1))))
    for language, expected in ((None, CHANGE_JA), ("en", CHANGE_EN)):
        out = io.StringIO()
        options = {"language": language} if language else {}
        with pytest.raises(SystemExit):  # invalid: exit 1
            call_command("verify_pdf", str(path), stdout=out, **options)
        assert expected in out.getvalue(), out.getvalue()


@pytest.mark.django_db
def test_the_api_answers_in_the_readers_language_and_caches_each_apart(demo_org: None) -> None:
    document_id = draft()
    submit(document_id)  # the drafter's seal signs the record
    document = Document.objects.get(pk=document_id)
    version = document.versions.get(number=document.version)
    with get_store().open(key_for(version.record_sha256)) as reader:
        bad = tampered(reader.read())
    version.record_sha256 = get_store().put(bad).sha256
    version.save(update_fields=["record_sha256"])
    sha = version.record_sha256
    keys = {lang: f"verification:{lang}:{sha}" for lang in ("ja", "en")}
    cache.delete_many(list(keys.values()))

    url = f"/api/v1/documents/{document_id}/verification"
    tanaka = client("tanaka")

    def problem(response) -> str:
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["valid"] is False and body["sha256"] == sha
        return str(body["signatures"][0]["problem"])

    # Japanese by default; the report is cached under the Japanese key only
    assert ALTERED_JA in problem(tanaka.get(url))
    assert ALTERED_JA in cache.get(keys["ja"])["signatures"][0]["problem"]
    assert cache.get(keys["en"]) is None

    # English by Accept-Language: not the cached Japanese report
    english = tanaka.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert ALTERED_EN in problem(english)
    assert CHANGE_EN in english.json()["signatures"][0]["changes"]
    assert ALTERED_EN in cache.get(keys["en"])["signatures"][0]["problem"]

    # English by the language cookie (the /i18n/setlang/ switch), Japanese again without it
    by_cookie = client("tanaka")
    by_cookie.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert ALTERED_EN in problem(by_cookie.get(url))
    japanese = tanaka.get(url, HTTP_ACCEPT_LANGUAGE="ja")
    assert ALTERED_JA in problem(japanese)
    assert CHANGE_JA in japanese.json()["signatures"][0]["changes"]
    assert ALTERED_JA in cache.get(keys["ja"])["signatures"][0]["problem"]

    # POST /api/v1/verify, the same file, both languages
    for language, expected in (("ja", ALTERED_JA), ("en", ALTERED_EN)):
        upload = io.BytesIO(bad)
        upload.name = "record.pdf"
        response = tanaka.post(
            "/api/v1/verify",
            {"file": upload},
            format="multipart",
            HTTP_ACCEPT_LANGUAGE=language,
        )
        assert response.status_code == 200, response.content
        assert expected in response.json()["signatures"][0]["problem"]
    cache.delete_many(list(keys.values()))
