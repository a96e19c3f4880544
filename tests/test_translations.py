"""Japanese first: every message of every catalogue has its Japanese, nothing is left fuzzy, and
each compiled catalogue (.mo, what Django reads) holds what its .po says (`make messages`)."""

from __future__ import annotations

import ast
import gettext
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CATALOGUES = sorted(
    p
    for p in ROOT.glob("**/locale/ja/LC_MESSAGES/*.po")
    if ".venv" not in p.parts and "node_modules" not in p.parts
)


def entries(po: Path) -> list[tuple[str, str, str, bool]]:
    """(context, msgid, msgstr, fuzzy) of each live entry; plural forms give their first form."""
    found = []
    current: dict[str, str] = {}
    fuzzy = False
    field = ""

    def flush() -> None:
        nonlocal current, fuzzy
        if current.get("msgid"):
            found.append(
                (current.get("msgctxt", ""), current["msgid"], current.get("msgstr", ""), fuzzy)
            )
        current, fuzzy = {}, False

    for line in po.read_text(encoding="utf-8").splitlines():
        if line.startswith("#~"):
            continue  # obsolete
        if not line.strip():
            flush()
            continue
        if line.startswith("#,") and "fuzzy" in line:
            fuzzy = True
            continue
        if line.startswith("#"):
            continue
        if line.startswith('"'):
            current[field] = current.get(field, "") + ast.literal_eval(line)
            continue
        key, _, value = line.partition(" ")
        field = "msgstr" if key == "msgstr[0]" else key
        if key.startswith("msgstr[") and key != "msgstr[0]":
            field = "ignored"
        current[field] = ast.literal_eval(value)
    flush()
    return found


def test_there_are_catalogues() -> None:
    assert any(p.parent.parent.parent.parent == ROOT for p in CATALOGUES), CATALOGUES
    assert len(CATALOGUES) >= 5


@pytest.mark.parametrize("po", CATALOGUES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_message_has_its_japanese_and_is_compiled(po: Path) -> None:
    missing = [msgid for _ctx, msgid, msgstr, fuzzy in entries(po) if not msgstr or fuzzy]
    assert not missing, f"{po.relative_to(ROOT)}: untranslated or fuzzy: {missing[:20]}"
    mo = po.with_suffix(".mo")
    assert mo.is_file(), f"{mo.relative_to(ROOT)} is missing: run make messages"
    with mo.open("rb") as stream:
        compiled = gettext.GNUTranslations(stream)
    stale = [
        msgid
        for ctx, msgid, msgstr, _fuzzy in entries(po)
        if (compiled.pgettext(ctx, msgid) if ctx else compiled.gettext(msgid)) != msgstr
        and "\x00" not in msgid
    ]
    assert not stale, f"{mo.relative_to(ROOT)} is older than its .po: {stale[:10]}"
