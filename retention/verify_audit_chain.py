#!/usr/bin/env python3
"""監査証跡のハッシュチェーンを検証する / Check the audit trail's hash chain (evidence package).

This file is copied as it is into every evidence package (`retention.evidence`). It needs only
Python 3.8+ and its standard library, and no network:

    python3 verify_audit_chain.py [FOLDER]

FOLDER (default: the folder this script is in) holds ``audit.jsonl`` and, if the system had
timestamped its chain after the document's entries, ``audit-anchors.jsonl``.

Each entry's hash is recomputed from its fields (format 1 of the audit trail, described in
README.txt), each entry that directly follows another must carry that entry's hash as its
``prev_hash``, and each anchor must name the hash of its entry where that entry is in the file,
and its timestamp token must contain that hash as its message imprint.

Exit status: 0 everything checked and intact; 1 something was changed (the entry is named);
2 nothing wrong was found, but some entries could not be recomputed because their address and
client were withheld from this package (ask an auditor for the full package).
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

FORMAT = 1
GENESIS = "0" * 64
EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)  # noqa: UP017 - Python 3.8+
NULL = b"\xff\xff\xff\xff"


def field(value: bytes | None) -> bytes:
    """A field: 4-byte big-endian signed length, then the bytes; NULL is length -1."""
    if value is None:
        return NULL
    return len(value).to_bytes(4, "big") + value


def integer(value: int | None) -> bytes:
    """An integer field: 8 bytes, big-endian two's complement (or NULL)."""
    if value is None:
        return NULL
    return field(value.to_bytes(8, "big", signed=True))


def microseconds(text: str) -> int:
    """Microseconds since 2000-01-01T00:00:00Z of an ISO 8601 time with its offset."""
    at = datetime.fromisoformat(text)
    if at.tzinfo is None:
        raise ValueError(f"time without a UTC offset: {text}")
    return (at - EPOCH) // timedelta(microseconds=1)


def message(entry: dict[str, Any]) -> bytes:
    """The hashed bytes of an entry: its eleven fields in order (audit format 1)."""
    return b"".join(
        (
            field(bytes.fromhex(entry["prev_hash"])),
            integer(entry["seq"]),
            integer(microseconds(entry["at"])),
            integer(entry["actor_id"]),
            integer(entry["on_behalf_of_id"]),
            field(entry["action"].encode("utf-8")),
            integer(entry["document_id"]),
            integer(entry["document_version"]),
            field(entry["ip"].encode("utf-8")),
            field(entry["client"].encode("utf-8")),
            field(entry["data"].encode("utf-8")),
        )
    )


def _load(path: Path) -> list[tuple[int, dict[str, Any]]]:
    rows: list[tuple[int, dict[str, Any]]] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as e:
                after = f" (after seq={rows[-1][1].get('seq')})" if rows else ""
                raise ValueError(f"line {number}{after} is not JSON: {e}") from None
            if not isinstance(row, dict):
                raise ValueError(f"line {number} is not a JSON object")
            rows.append((number, row))
    return rows


def _name(entry: dict[str, Any]) -> str:
    return f"seq={entry.get('seq')} ({entry.get('action')}, {entry.get('at')})"


def check(folder: Path) -> tuple[int, list[str]]:
    """(exit status, report lines)."""
    out: list[str] = []
    problems: list[str] = []
    path = folder / "audit.jsonl"
    try:
        rows = _load(path)
    except (OSError, ValueError) as e:
        return 1, [f"NG: {path.name} を読めません / cannot read {path.name}: {e}"]

    by_seq: dict[int, dict[str, Any]] = {}
    previous: dict[str, Any] | None = None
    recomputed = links = gaps = withheld = 0
    for line, entry in rows:
        try:
            seq = int(entry["seq"])
            stored = str(entry["hash"])
            prev_hash = str(entry["prev_hash"])
            if entry.get("format", FORMAT) != FORMAT:
                raise ValueError(f"unknown format {entry.get('format')}")
        except (KeyError, TypeError, ValueError) as e:
            problems.append(f"line {line}: 項目が不正 / malformed entry: {e}")
            break
        if previous is not None and seq <= int(previous["seq"]):
            problems.append(
                f"エントリ {_name(entry)} の順序が不正（前は seq={previous['seq']}） / "
                f"entry {_name(entry)} is out of order (follows seq={previous['seq']})"
            )
            break
        if entry.get("ip") is None or entry.get("client") is None:
            withheld += 1
        else:
            try:
                digest = hashlib.sha256(message(entry)).hexdigest()
            except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as e:
                problems.append(
                    f"エントリ {_name(entry)} を読めません / entry {_name(entry)} is malformed: {e}"
                )
                break
            if digest != stored:
                problems.append(
                    f"エントリ {_name(entry)} は改ざんされています：内容がハッシュと一致しません / "
                    f"entry {_name(entry)} was changed: its content no longer matches its hash "
                    f"(recomputed {digest}, recorded {stored})"
                )
                break
            recomputed += 1
        if seq == 1 and prev_hash != GENESIS:
            problems.append(
                f"最初のエントリ {_name(entry)} の prev_hash が 0 ではありません / "
                f"the first entry {_name(entry)} does not start the chain"
            )
            break
        if previous is not None:
            if seq == int(previous["seq"]) + 1:
                if prev_hash != previous["hash"]:
                    problems.append(
                        f"エントリ {_name(entry)} は直前のエントリ seq={previous['seq']} に"
                        f"連結していません（削除・差し替えの疑い） / entry {_name(entry)} does not "
                        f"link to entry seq={previous['seq']} (an entry was replaced or removed)"
                    )
                    break
                links += 1
            else:
                gaps += 1
        by_seq[seq] = entry
        previous = entry

    anchors_checked = 0
    anchor_notes: list[str] = []
    anchors_path = folder / "audit-anchors.jsonl"
    if not problems and anchors_path.exists():
        try:
            anchors = _load(anchors_path)
        except (OSError, ValueError) as e:
            anchors = []
            problems.append(f"{anchors_path.name} を読めません / cannot read it: {e}")
        for _line, anchor in anchors:
            seq, digest = int(anchor["seq"]), str(anchor["hash"])
            token = base64.b64decode(anchor["token"])
            # The token's TSTInfo holds the imprint as an OCTET STRING of 32 bytes.
            if b"\x04\x20" + bytes.fromhex(digest) not in token:
                problems.append(
                    f"アンカー seq={seq} のタイムスタンプは別のハッシュのものです / "
                    f"the timestamp of anchor seq={seq} covers another hash"
                )
                continue
            token_file = anchor.get("token_file")
            token_path = folder / token_file if token_file else None
            file_token = token_path.read_bytes() if token_path and token_path.exists() else token
            if file_token != token:
                problems.append(
                    f"{token_file} が audit-anchors.jsonl のトークンと異なります / "
                    f"{token_file} differs from the token in audit-anchors.jsonl"
                )
                continue
            if seq in by_seq:
                if by_seq[seq]["hash"] != digest:
                    problems.append(
                        f"エントリ {_name(by_seq[seq])} のハッシュが {anchor['gen_time']} の"
                        f"タイムスタンプと一致しません（証跡が書き換えられています） / entry "
                        f"{_name(by_seq[seq])} no longer has the hash timestamped at "
                        f"{anchor['gen_time']} (the trail was rewritten)"
                    )
                    continue
                anchor_notes.append(
                    f"  anchor seq={seq}: {anchor['gen_time']} の時点でこのエントリが存在 / "
                    f"the entry existed at {anchor['gen_time']}"
                )
            else:
                anchor_notes.append(
                    f"  anchor seq={seq}: {anchor['gen_time']}（他文書のエントリを経由して連結） / "
                    f"linked through entries of other documents"
                )
            anchors_checked += 1

    if problems:
        out.append("NG: 監査証跡の検証に失敗しました / the audit trail check FAILED")
        out.extend("  " + p for p in problems)
        return 1, out
    first = rows[0][1]["seq"] if rows else None
    last = rows[-1][1]["seq"] if rows else None
    out.append(
        f"エントリ {len(rows)} 件（seq {first}〜{last}） / "
        f"{len(rows)} entries (seq {first}..{last})"
    )
    out.append(
        f"  ハッシュ再計算 {recomputed} 件・連結確認 {links} 件・"
        f"他文書のエントリによる間隔 {gaps} 件"
        f" / {recomputed} hashes recomputed, {links} links checked, {gaps} gaps "
        "(entries of other documents, not in this package)"
    )
    if anchors_checked:
        out.append(f"  アンカー {anchors_checked} 件 / {anchors_checked} anchors")
        out.extend(anchor_notes)
    if withheld:
        out.append(
            f"一部のみ検証: {withheld} 件は接続元が開示されていないため再計算できません / "
            f"PARTLY CHECKED: {withheld} entries withheld their address and client, "
            "so their hashes could not be recomputed"
        )
        return 2, out
    out.append("OK: 監査証跡は改ざんされていません / the audit trail is intact")
    return 0, out


def main(argv: list[str]) -> int:
    folder = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent
    status, lines = check(folder)
    for line in lines:
        print(line)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
