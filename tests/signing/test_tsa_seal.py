"""The TSA (in process and over HTTP), the seal image, the command."""

from __future__ import annotations

import datetime as dt
import io
import json
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from asn1crypto import tsp
from django.core.management import call_command
from PIL import Image
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from signing.keystore import KeyStore
from signing.seal import format_date, render_seal
from signing.signer import sign_approval
from signing.tsa import (
    InternalTimeStamper,
    get_timestamper,
    response_status,
    timestamp_response,
)
from signing.verify import verify_pdf

from .conftest import ARTIFACTS, make_pdf


def test_signature_carries_internal_tsa_token(pki: KeyStore) -> None:
    out = io.BytesIO()
    info = sign_approval(
        make_pdf(1),
        out,
        position_key_id="somu-kacho",
        reason="承認 総務課長",
        signer_name="佐藤 太郎",
        field_name="s1",
    )
    assert info.tsa == "サンプル市 タイムスタンプ局"
    assert info.timestamp is not None
    assert abs((info.timestamp - dt.datetime.now(dt.UTC)).total_seconds()) < 60
    sig = PdfFileReader(io.BytesIO(out.getvalue())).embedded_signatures[0]
    vc = ValidationContext(trust_roots=[pki.root_asn1()], allow_fetching=False)
    status = validate_pdf_signature(sig, vc, ts_validation_context=vc)
    ts = status.timestamp_validity
    assert ts is not None and ts.intact and ts.valid and ts.trusted
    assert ts.signing_cert.subject.native["common_name"] == "サンプル市 タイムスタンプ局"


def test_get_timestamper_internal_or_http(pki: KeyStore, settings) -> None:
    assert isinstance(get_timestamper(), InternalTimeStamper)
    settings.SIGNING_TSA_URL = "http://tsa.example/"
    settings.SIGNING_TSA_USERNAME = "user"
    settings.SIGNING_TSA_PASSWORD = "pw"
    ts = get_timestamper()
    assert isinstance(ts, HTTPTimeStamper) and ts.url == "http://tsa.example/"
    assert ts.auth is not None and ts.auth.login == "user"


@pytest.fixture
def tsa_server(pki: KeyStore):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            assert self.headers["Content-Type"] == "application/timestamp-query"
            reply = timestamp_response(body)
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/tsa"
    server.shutdown()
    server.server_close()


def test_http_tsa_answers_pyhanko_client(pki: KeyStore, tsa_server: str) -> None:
    out = io.BytesIO()
    info = sign_approval(
        make_pdf(1),
        out,
        position_key_id="somu-kacho",
        reason="承認 総務課長",
        signer_name="佐藤 太郎",
        field_name="s1",
        timestamper=HTTPTimeStamper(tsa_server),
    )
    assert info.timestamp is not None
    assert verify_pdf(out.getvalue()).valid


def test_http_tsa_rejects_garbage_and_bad_algorithms(pki: KeyStore) -> None:
    assert response_status(timestamp_response(b"not der"))["status"] == "rejection"
    req = tsp.TimeStampReq(
        {
            "version": 1,
            "message_imprint": {
                "hash_algorithm": {"algorithm": "md5"},
                "hashed_message": b"0" * 16,
            },
            "cert_req": True,
        }
    )
    status = response_status(timestamp_response(req.dump()))
    assert status["status"] == "rejection" and "bad_alg" in status["fail_info"]


def test_view(pki: KeyStore, rf, django_user_model) -> None:
    from django.contrib.auth.models import AnonymousUser

    from signing.views import timestamp_view

    _, req = InternalTimeStamper().request_cms(b"\x00" * 32, "sha256")
    request = rf.post("/tsa/", data=req.dump(), content_type="application/timestamp-query")
    request.user = AnonymousUser()
    # Nobody outside may have our TSA vouch for the time of their hashes.
    assert timestamp_view(request).status_code == 401
    request.user = django_user_model(username="someone")
    response = timestamp_view(request)
    assert response["Content-Type"] == "application/timestamp-reply"
    assert tsp.TimeStampResp.load(response.content)["status"]["status"].native == "granted"
    wrong_type = rf.post("/tsa/", data=b"x", content_type="text/plain")
    wrong_type.user = request.user
    assert timestamp_view(wrong_type).status_code == 415


def test_seal_image() -> None:
    png = render_seal("佐藤", dt.date(2026, 11, 22), "総務課長", size=240)
    img = Image.open(io.BytesIO(png))
    assert img.size == (240, 240) and img.mode == "RGBA"
    alpha = img.getchannel("A")
    assert alpha.getpixel((0, 0)) == 0 and alpha.getpixel((239, 239)) == 0  # transparent corners
    assert sum(1 for a in alpha.get_flattened_data() if a == 0) > 240 * 240 // 2
    pixels: list = list(img.get_flattened_data())
    red = sum(1 for r, g, b, a in pixels if a > 200 and r > 150 and g < 80 and b < 80)
    assert red > 2000
    assert format_date(dt.date(2026, 11, 22)) == "8.11.22"
    assert format_date(dt.date(2026, 11, 22), "western") == "2026.11.22"
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "seal-dated.png").write_bytes(png)
    (ARTIFACTS / "seal-name.png").write_bytes(render_seal("佐藤"))


def test_signed_page_shows_red_seal_in_box(pki: KeyStore, tmp_path: Path) -> None:
    box = (0, 400.0, 650.0, 480.0, 730.0)  # points; the A4 page is 595 x 842
    out = io.BytesIO()
    sign_approval(
        make_pdf(1),
        out,
        position_key_id="somu-kacho",
        reason="承認 総務課長",
        signer_name="佐藤 太郎",
        field_name="s1",
        box=box,
    )
    pdf = tmp_path / "signed.pdf"
    pdf.write_bytes(out.getvalue())
    subprocess.run(
        ["pdftoppm", "-r", "72", "-png", "-singlefile", str(pdf), str(tmp_path / "p")], check=True
    )
    page = Image.open(tmp_path / "p.png").convert("RGB")
    ARTIFACTS.mkdir(exist_ok=True)
    page.save(ARTIFACTS / "signing-seal-page.png")
    height = page.height

    def is_red(px) -> bool:
        r, g, b = px
        return r > 150 and g < 110 and b < 110

    _, x1, y1, x2, y2 = box
    inside = [
        page.getpixel((x, y))
        for x in range(int(x1), int(x2))
        for y in range(int(height - y2), int(height - y1))
    ]
    assert sum(map(is_red, inside)) > 300
    outside = [
        page.getpixel((x, y))
        for x in range(0, 300)
        for y in range(int(height - y2), int(height - y1))
    ]
    assert not any(map(is_red, outside))


def test_verify_command(pki: KeyStore, tmp_path: Path) -> None:
    out = io.BytesIO()
    sign_approval(
        make_pdf(1),
        out,
        position_key_id="somu-kacho",
        reason="承認 総務課長",
        signer_name="佐藤 太郎",
        field_name="s1",
    )
    path = tmp_path / "x.pdf"
    path.write_bytes(out.getvalue())
    buf = io.StringIO()
    call_command("verify_pdf", str(path), "--json", stdout=buf)
    data = json.loads(buf.getvalue())
    assert data["valid"] and data["signatures"][0]["position"] == "総務課長"
    buf = io.StringIO()
    call_command("verify_pdf", str(path), stdout=buf)
    assert "VALID" in buf.getvalue()
    path.write_bytes(make_pdf(1))
    with pytest.raises(SystemExit):
        call_command("verify_pdf", str(path), stdout=io.StringIO())
