"""README.txt of the evidence package: how to check it offline (Japanese first, then English).

The commands are the ones the tests run against a real package (tests/signing/test_evidence.py):
`sha256sum -c`, `pdfsig` (with an NSS database made by `certutil`), pyHanko's validator
trusting ``certificates/root.pem``, `openssl verify` and `openssl ts -verify`, and
``verify_audit_chain.py``. The hash format is the one `audit.models` documents (format 1).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .report_pdf import local_time

# Checks the document timestamp(s) with pyHanko's library (its CLI does not list them). The tests
# run this very text.
TIMESTAMP_CHECK = """venv/bin/python - <<'EOF'
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_timestamp
from pyhanko_certvalidator import ValidationContext
root = load_cert_from_pemder("certificates/root.pem")
vc = ValidationContext(trust_roots=[root], allow_fetching=False)
with open("record.pdf", "rb") as f:
    for ts in PdfFileReader(f).embedded_timestamp_signatures:
        s = validate_pdf_timestamp(ts, vc)
        print(ts.field_name, s.timestamp, "INTACT" if s.intact and s.valid else "ALTERED",
              "TRUSTED" if s.trusted else "NOT TRUSTED")
EOF"""


def indented(text: str, by: str = "    ") -> str:
    return "\n".join(by + line for line in text.splitlines())


def _listing(
    members: Sequence[str], earlier: Sequence[int], audit: Mapping[str, Any]
) -> dict[str, list[str]]:
    has_signers = any(m.startswith("certificates/signers/") for m in members)
    has_old_originals = any(m.startswith("originals/v") for m in members)
    ja = [
        "  README.txt             この説明（日本語・英語）",
        "  manifest.json          全ファイルの SHA-256 とサイズ、文書の情報、作成日時と作成者",
        "  SHA256SUMS             sha256sum 形式のハッシュ一覧（manifest.json を含む）",
        "  record.pdf             現在の決裁記録（電子署名・タイムスタンプ付き PDF、PAdES）",
    ]
    en = [
        "  README.txt             this text (Japanese, English)",
        "  manifest.json          SHA-256 and size of every file, the document, when and by whom",
        "  SHA256SUMS             the same hashes in sha256sum format (manifest.json included)",
        "  record.pdf             the current decision record (signed, timestamped PDF, PAdES)",
    ]
    if earlier:
        names = ", ".join(f"record-v{n}.pdf" for n in earlier)
        ja.append(f"  {names}  以前の版の決裁記録")
        en.append(f"  {names}  the records of earlier versions")
    ja.append("  originals/             添付ファイルの原本（バイト単位で同一）")
    en.append("  originals/             the attachments, byte for byte")
    if has_old_originals:
        ja.append("  originals/v{N}/        以前の版にだけある原本")
        en.append("  originals/v{N}/        originals found only in an earlier version")
    ja.append(
        "  audit.jsonl            この文書の監査証跡（1 行 1 エントリ、ハッシュ計算に使う全項目）"
    )
    en.append(
        "  audit.jsonl            the document's audit trail (one entry a line, every hashed field)"
    )
    if audit.get("anchors"):
        ja.append("  audit-anchors.jsonl    監査証跡のハッシュへのタイムスタンプ（アンカー）")
        ja.append("  audit-anchors/         同じタイムスタンプトークン（DER、openssl 用）")
        en.append("  audit-anchors.jsonl    RFC 3161 timestamps of the chain's hash (anchors)")
        en.append("  audit-anchors/         the same timestamp tokens (DER, for openssl)")
    ja += [
        "  verify_audit_chain.py  監査証跡の検証スクリプト（Python 標準ライブラリのみ）",
        "  verify_record.py       決裁記録の署名の検証スクリプト（pyHanko を使用）",
        "  record_policy.py       その判定方針（署名後に許される変更）。本システムと同じもの",
        "  history.json           決裁の経過（起案・承認・差し戻し等）と、各署名を行った者",
        "  verification.json      作成時の署名検証結果（機械可読）",
        "  verification.pdf       同じ検証結果（電子署名検証報告書）",
        "  certificates/root.pem  本システムのルート認証局の証明書",
        "  certificates/tsa.pem   タイムスタンプ局の証明書",
        "  certificates/crl.pem   現在の証明書失効リスト（CRL）",
    ]
    en += [
        "  verify_audit_chain.py  checks audit.jsonl (Python standard library only)",
        "  verify_record.py       checks record.pdf's signatures and coverage (uses pyHanko)",
        "  record_policy.py       the rules it applies (what may follow a signature): the system's",
        "  history.json           the route's history (draft, approvals, send-backs …) and signers",
        "  verification.json      the signature check made when the package was made",
        "  verification.pdf       the same check as a report to read (in Japanese and English)",
        "  certificates/root.pem  the root certificate of this system's CA",
        "  certificates/tsa.pem   the timestamp authority's certificate",
        "  certificates/crl.pem   the current certificate revocation list (CRL)",
    ]
    if has_signers:
        ja.append("  certificates/signers/  記録の署名から取り出した署名者の証明書")
        en.append("  certificates/signers/  the signers' certificates, taken from the signatures")
    return {"ja": ja, "en": en}


def readme(
    *,
    document: Mapping[str, Any],
    generated: Mapping[str, Any],
    members: Sequence[str],
    signatures: Sequence[Mapping[str, Any]],
    audit: Mapping[str, Any],
    earlier: Sequence[int],
) -> str:
    number = document.get("number") or "未定 / none"
    by = generated.get("by") or {}
    who = f"{by.get('name', '')} ({by.get('username', '')})"
    when = local_time(generated.get("at"))
    listing = _listing(members, earlier, audit)
    sigs = sum(1 for s in signatures if s.get("kind") == "signature")
    stamps = sum(1 for s in signatures if s.get("kind") == "document_timestamp")
    anchor_ja = anchor_en = ""
    if audit.get("anchors"):
        anchor_ja = """
  アンカー（audit-anchors.jsonl）は、ある時点の監査証跡全体のハッシュ（その seq のエントリの
  hash）にタイムスタンプ局が署名したものです。トークンの署名は OpenSSL で確認できます
  （HASH と N は audit-anchors.jsonl の hash と seq）:

    openssl ts -verify -digest HASH -in audit-anchors/seq-N.tst -token_in \\
      -CAfile certificates/root.pem -untrusted certificates/tsa.pem

  「Verification: OK」と表示されれば、その時刻に証跡のハッシュがその値であったことの証明です。
"""
        anchor_en = """
  An anchor (audit-anchors.jsonl) is the hash of the whole trail at one point (the hash of the
  entry with that seq), timestamped by the TSA. Check the token's signature with OpenSSL (HASH
  and N are the anchor's hash and seq):

    openssl ts -verify -digest HASH -in audit-anchors/seq-N.tst -token_in \\
      -CAfile certificates/root.pem -untrusted certificates/tsa.pem

  "Verification: OK" proves the trail had that hash at that time.
"""
    withheld_ja = withheld_en = ""
    if audit.get("addresses_withheld"):
        withheld_ja = """
  注意：このパッケージの作成者は監査担当ではないため、監査証跡の接続元（IPアドレスと
  クライアント）は伏せてあります。そのエントリのハッシュは再計算できず、スクリプトは
  「一部のみ検証」（終了コード 2）と表示します。完全な検証には監査担当が作成したパッケージを
  使ってください。
"""
        withheld_en = """
  Note: this package was made by someone who is not an auditor, so the audit entries' address
  and client are withheld; their hashes cannot be recomputed and the script says PARTLY
  CHECKED (exit status 2). An auditor's package has them.
"""
    ja_files = "\n".join(listing["ja"])
    version = document.get("version")
    entries, first, last = audit.get("entries"), audit.get("first_seq"), audit.get("last_seq")
    download = (audit.get("download_entry") or {}).get("seq")
    ts_check = indented(TIMESTAMP_CHECK)
    en_files = "\n".join(listing["en"])
    return f"""電子決裁 証拠パッケージ / Evidence package
==========================================

文書番号 / Number : {number}
件名 / Title      : {document.get("title")}
文書ID / Id       : {document.get("id")}（第{version}版 / version {version}）
作成日時 / Made at: {when}
作成者 / Made by  : {who}

（English follows the Japanese.）

━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━
日本語
━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━

このパッケージは、上記の文書の決裁記録、添付ファイルの原本、監査証跡、署名の検証結果、
証明書をまとめたものです。以下の手順で、ネットワークに接続せずに確認できます。
コマンドはこのフォルダ（ZIP を展開した場所）で実行してください。

■ 収録ファイル
{ja_files}

■ 1. ファイルが改変されていないこと
    sha256sum -c SHA256SUMS
  すべての行が「OK」になることを確認します。各ファイルの SHA-256 とサイズは manifest.json
  にもあります（Windows では PowerShell の Get-FileHash -Algorithm SHA256 で比較できます）。
  この一覧自体には署名がありません。決裁記録の真正性は手順 2・3 の電子署名で、監査証跡は
  手順 4 で、それぞれ独立に確かめます。

■ 2. 決裁記録の電子署名（pdfsig, poppler-utils）
    pdfsig record.pdf
  記録には署名 {sigs} 件（起案者と各承認者、職責の証明書による）と文書タイムスタンプ {stamps} 件
  があります。各署名が「Signature is Valid.」であることを確認します。文書タイムスタンプは
  pdfsig では検証できない種類のため、その旨が表示されます（手順 3 の最後で確認します）。
  本システムのルート証明書を信頼させて証明書まで確認するには（libnss3-tools の certutil）:
    mkdir nssdb
    certutil -N -d sql:nssdb --empty-password
    certutil -A -d sql:nssdb -n ekessai-root -t ",C," -i certificates/root.pem
    pdfsig -nssdir sql:nssdb record.pdf
  各署名が「Certificate is Trusted.」となります。

■ 3. 本システムの判定方針による検証（verify_record.py, pyHanko）
  公開されている pyHanko の固定した版を、新しい仮想環境に入れて使います（Windows では
  venv/bin/ を venv\\Scripts\\ に読み替えてください）:
    python3 -m venv venv
    venv/bin/pip install pyhanko==0.38.0 pyhanko-cli==0.6.0
    venv/bin/python verify_record.py
  各署名と文書タイムスタンプについて「VALID」と、その後の変更（none 変更なし、annotations
  注釈・押印の追加のみ）が表示され、最後に「OK」と終了コード 0 になります。このスクリプトは
  record_policy.py（本システムが使う判定方針そのもの）で、署名の後に加えられたものが
  マーカー・付箋・後の承認者の押印だけであることと、最後の署名または文書タイムスタンプの
  後に、検証情報以外の誰も署名していない変更がないことを確かめます。
  pyHanko 自身のコマンドでも署名を検証できます:
    venv/bin/pyhanko sign validate --pretty-print --trust certificates/root.pem \\
      --soft-revocation-check --no-diff-analysis record.pdf
  {sigs} 件の署名それぞれについて「The signer's certificate is trusted.」「The signature is
  cryptographically sound.」「The TSA certificate is trusted.」「The signature is judged VALID.」
  と表示されます（OS の証明書ストアについての WARNING は無視して構いません）。
  証明書は失効リスト（CRL）の配布場所としてこのシステムの URL を示しています。ネットワークに
  接続していれば pyHanko はそこから CRL を取得して失効を確認します。接続せずに確認するときは
  --soft-revocation-check で取得の失敗を許します（失効の確認は verify_record.py が
  certificates/crl.pem と記録に埋め込まれた検証情報で行い、下の OpenSSL でもできます）。
  --no-diff-analysis を外すと、pyHanko の既定の方針は署名の後に加えられた注釈を一律に
  許されない変更とみなすため（pyHanko issue 209）、後に承認者のマーカー・付箋・押印がある
  署名は「The signature is judged INVALID.」となります。最後の署名（決裁）は、その後に検証
  情報と文書タイムスタンプしかないため既定の方針でも VALID です。両者の判定が異なるのは
  この 1 点だけで、注釈の扱いは verify_record.py の「changes after it」で確認してください。
  pyhanko sign validate は文書タイムスタンプを一覧に出さないため、pyHanko のライブラリでも
  確かめられます。「INTACT TRUSTED」と表示されます:
{ts_check}
  署名者の証明書がルートに連なり失効していないことは OpenSSL でも確認できます:
    openssl verify -no_check_time -crl_check -CAfile certificates/root.pem \\
      -CRLfile certificates/crl.pem certificates/signers/*.pem
  （-no_check_time は有効期限切れの後でも確認できるようにするためです。署名の時刻は
  タイムスタンプが証明します。）

■ 4. 監査証跡（ハッシュチェーン）
    python3 verify_audit_chain.py
  「OK: 監査証跡は改ざんされていません」と終了コード 0 になります。内容を 1 文字でも変えた
  エントリがあれば、その seq を示して終了コード 1 になります。
  audit.jsonl はこの文書に関するエントリだけです（{entries} 件、seq {first}〜{last}）。
  証跡はシステム全体で 1 本のチェーンのため、seq が連続しない所には他の文書のエントリが
  あり、その区間の連結はシステム内の verify_audit コマンドが全体を検証します。
  このパッケージのダウンロード自体も seq {download} として記録されています。
{withheld_ja}{anchor_ja}
  ハッシュの計算方法（形式 1）: 各エントリの hash は、次の 11 項目をこの順に連結したバイト列の
  SHA-256 です。
     1 prev_hash        直前のエントリの hash（16 進 64 桁をバイトに戻した 32 バイト。
                        seq 1 では 0 が 32 バイト）
     2 seq              整数
     3 at               時刻：2000-01-01T00:00:00Z からのマイクロ秒数（整数）
     4 actor_id         操作者の利用者 ID（整数、なければ NULL）
     5 on_behalf_of_id  代決で代理された者の ID（整数、なければ NULL）
     6 action           操作の種類（文字列、例 workflow.approve）
     7 document_id      文書 ID（整数、なければ NULL）
     8 document_version 版（整数、なければ NULL）
     9 ip               接続元アドレス（文字列、なければ空文字列）
    10 client           クライアント（User-Agent、文字列、なければ空文字列）
    11 data             詳細：audit.jsonl の "data" の文字列そのもの（正規化 JSON）
  各項目は「4 バイトのビッグエンディアン符号付き長さ」に続けてその長さのバイト列で表し、
  NULL は長さ -1（ff ff ff ff）でバイト列なしです。整数は 8 バイトのビッグエンディアン
  2 の補数、文字列は UTF-8 です（PostgreSQL の binary COPY の行の形式と同じ）。
  正規化 JSON は Python の json.dumps(値, ensure_ascii=False, sort_keys=True,
  separators=(",", ":"), allow_nan=False) で、数値は整数（金額などは文字列）、日時は ISO 8601
  の文字列です。"data" は記録されたままの文字列をハッシュするので、読み直して書き直しては
  いけません。audit.jsonl の "at" は UTC の ISO 8601（マイクロ秒まで）、prev_hash と hash は
  16 進数です。"actor" と "on_behalf_of" は読みやすさのための補足で、ハッシュには含みません。

■ 5. 検証結果と経過
  verification.json と verification.pdf は、作成時に本システムが record.pdf を検証した結果
  です。署名ごとに署名者、職名、理由、署名日時、タイムスタンプの時刻とタイムスタンプ局、
  改ざんの有無（intact）、信頼性（trusted）、その後の変更（modification: "none" 変更なし、
  "annotations" 注釈の追加のみ、"other" 許されない変更あり）を示します。
  history.json は決裁の経過と、記録の各版（revision）でどの職責の鍵を誰が使ったかを示します。

━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━
English
━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━

This package holds the decision record of the document above, the original attachments, the
audit trail, the result of the signature check and the certificates. Everything below works
without a network. Run the commands in this folder (where the ZIP was extracted).

Files
{en_files}

1. Nothing was changed
    sha256sum -c SHA256SUMS
  Every line must say OK. manifest.json lists the same SHA-256 and sizes (on Windows, compare
  with PowerShell's Get-FileHash -Algorithm SHA256). The list itself is not signed: the record
  is authenticated by its signatures (steps 2 and 3), the audit trail by its chain (step 4).

2. The record's signatures (pdfsig, poppler-utils)
    pdfsig record.pdf
  The record has {sigs} signatures (the drafter and each approver, with position certificates)
  and {stamps} document timestamp(s). Each signature must say "Signature is Valid."; pdfsig cannot
  check a document timestamp and says so (the end of step 3 checks it). To check the
  certificates against this system's root as well (certutil from libnss3-tools):
    mkdir nssdb
    certutil -N -d sql:nssdb --empty-password
    certutil -A -d sql:nssdb -n ekessai-root -t ",C," -i certificates/root.pem
    pdfsig -nssdir sql:nssdb record.pdf
  Each signature then says "Certificate is Trusted."

3. The record by this system's own rules (verify_record.py, pyHanko)
  Install the pinned, published pyHanko into a fresh virtual environment (on Windows read
  venv\\Scripts\\ for venv/bin/):
    python3 -m venv venv
    venv/bin/pip install pyhanko==0.38.0 pyhanko-cli==0.6.0
    venv/bin/python verify_record.py
  It prints VALID for each signature and document timestamp with what changed after it (none,
  or annotations: marks and later seals only), then OK, and exits with 0. It applies
  record_policy.py, the very rules this system judges records by: what follows a signature may
  only be highlights, notes, pen marks and later approvers' seals, and nothing but validation
  data may follow the last signature or document timestamp (nobody signed it).
  pyHanko's own command checks the signatures too:
    venv/bin/pyhanko sign validate --pretty-print --trust certificates/root.pem \\
      --soft-revocation-check --no-diff-analysis record.pdf
  For each of the {sigs} signatures it prints "The signer's certificate is trusted.", "The
  signature is cryptographically sound.", "The TSA certificate is trusted." and "The signature is
  judged VALID." (a WARNING about the operating system's trust list does no harm).
  The certificates name this system's URL as their CRL distribution point: online, pyHanko
  fetches the CRL there and checks revocation. Offline, --soft-revocation-check lets the fetch
  fail (verify_record.py checks revocation with certificates/crl.pem and the validation data
  embedded in the record, and so does OpenSSL below).
  Without --no-diff-analysis, pyHanko's default policy counts every annotation added after a
  signature as an illegal change (pyHanko issue 209), so a signature followed by later
  approvers' marks or seals is "judged INVALID"; the last signature (the decision), followed only
  by validation data and the document timestamp, is VALID either way. That is the one point
  where the two disagree, by design: verify_record.py's "changes after it" says what followed.
  pyhanko sign validate does not list the document timestamp; pyHanko's library checks it. It
  prints INTACT TRUSTED:
{ts_check}
  OpenSSL confirms that the signers' certificates chain to the root and are not revoked:
    openssl verify -no_check_time -crl_check -CAfile certificates/root.pem \\
      -CRLfile certificates/crl.pem certificates/signers/*.pem
  (-no_check_time keeps this working after the certificates expire; the timestamps prove when
  each signature was made.)

4. The audit trail (hash chain)
    python3 verify_audit_chain.py
  It prints "OK" and exits with 0. If any character of an entry was changed, it names the entry
  (its seq) and exits with 1. audit.jsonl holds this document's entries only
  ({entries} entries, seq {first} to {last}). The trail is one chain for the whole system, so
  where seq jumps, entries of other documents lie between; the system's verify_audit command
  checks those links. This download itself is entry seq {download}.
{withheld_en}{anchor_en}
  How an entry's hash is made (format 1): hash = SHA-256 of these eleven fields, in this order:
     1 prev_hash        the previous entry's hash (32 bytes; 32 zero bytes for seq 1)
     2 seq              int
     3 at               time: microseconds since 2000-01-01T00:00:00Z, as an int
     4 actor_id         int, the acting user's id, or NULL
     5 on_behalf_of_id  int, the user acted for (deputy decision), or NULL
     6 action           text, e.g. workflow.approve
     7 document_id      int, or NULL
     8 document_version int, or NULL
     9 ip               text, the client's address ("" if none)
    10 client           text, the User-Agent ("" if none)
    11 data             text: the "data" string of audit.jsonl exactly as it is (canonical JSON)
  Each field is a 4-byte big-endian signed length followed by that many bytes; NULL is the length
  -1 (ff ff ff ff) and no bytes. An int is 8 bytes, big-endian two's complement; text is UTF-8.
  (This is PostgreSQL's binary COPY row format.) Canonical JSON is Python's json.dumps(value,
  ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False); numbers are
  integers (amounts and decimals are strings), times ISO 8601 strings. "data" is hashed exactly as
  stored: never parse and re-serialise it. In audit.jsonl "at" is UTC ISO 8601 to the
  microsecond, prev_hash and hash are hex; "actor" and "on_behalf_of" are for reading only and
  are not hashed.

5. The reports and the history
  verification.json and verification.pdf are this system's check of record.pdf when the package
  was made: for each signature the signer, position, reason, the claimed signing time, the
  timestamp and its TSA, intact, trusted, and what changed after it (modification: "none",
  "annotations" = annotations only, "other" = a change that is not allowed).
  history.json is the route's history and, for each revision of the record, whose hands used
  which position key.
"""
