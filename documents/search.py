"""Search over documents that works for Japanese.

Japanese is written without spaces, so PostgreSQL's text search (which splits on spaces) finds
nothing, and pg_trgm ignores characters the database locale does not call alphanumeric. We index
character n-grams ourselves instead — the technique of Japanese full-text engines such as Groonga's
TokenBigram: every character and every pair of neighbouring characters becomes a lexeme of a
`tsvector` with a GIN index. A query term becomes the AND of its bigrams (one character: its
unigram), which the index answers; a substring check on the normalised text then removes the rare
false positives (東京都 matches a text holding 東京 and 京都 apart). Both steps are exact.

Lexemes are hex-encoded UTF-8 with a one-letter field prefix (t: title/body/counterparty,
c: counterparty alone), so that no character of the text can break the tsvector syntax and one
index serves both the free-text and the counterparty condition.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from django.db import connection
from django.db.models import BooleanField, Func, QuerySet, Value
from django.db.models.expressions import RawSQL

# Long bodies are indexed up to here; a search for words beyond it still works on SQLite but is
# not found by the index. 20,000 characters is ~10 pages of dense Japanese.
MAX_INDEXED_CHARS = 20_000
_SEPARATORS = re.compile(r"[\s\u3000、。，．・「」『』（）()\[\]【】〈〉《》\"'`,.;:!?！？]+")
TEXT, COUNTERPARTY = "t", "c"


def normalize(text: str) -> str:
    """NFKC folds full-width/half-width forms (ＡＢＣ１２３, ｶﾀｶﾅ); casefold ignores case."""
    return unicodedata.normalize("NFKC", text or "").casefold()


def _segments(text: str) -> list[str]:
    return [s for s in _SEPARATORS.split(normalize(text)[:MAX_INDEXED_CHARS]) if s]


def _lexeme(field: str, gram: str) -> str:
    return field + gram.encode("utf-8").hex()


def ngram_lexemes(field: str, text: str) -> set[str]:
    grams: set[str] = set()
    for segment in _segments(text):
        grams.update(segment)
        grams.update(segment[i : i + 2] for i in range(len(segment) - 1))
    return {_lexeme(field, g) for g in grams}


def query_lexemes(field: str, term: str) -> list[str]:
    """The lexemes every match of `term` must have (term already normalised, no separators)."""
    if len(term) == 1:
        return [_lexeme(field, term)]
    return sorted({_lexeme(field, term[i : i + 2]) for i in range(len(term) - 1)})


def search_text(title: str, body: str, counterparty: str) -> str:
    """What the substring check runs against: normalised, fields separated by a newline."""
    return "\n".join(normalize(part) for part in (title, body, counterparty))


def vector_literal(title: str, body: str, counterparty: str) -> str:
    lexemes = ngram_lexemes(TEXT, f"{title}\n{body}\n{counterparty}")
    lexemes |= ngram_lexemes(COUNTERPARTY, counterparty)
    # Lexemes are [0-9a-z] only, so quoting them needs no escaping.
    return " ".join(f"'{lexeme}'" for lexeme in sorted(lexemes))


def terms(query: str) -> list[str]:
    return _segments(query)


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def filter_text(qs: QuerySet[Any], query: str, *, field: str = TEXT) -> QuerySet[Any]:
    """Documents containing every whitespace-separated term of `query` (substring semantics).

    `field` TEXT searches title, body and counterparty; COUNTERPARTY the counterparty alone.
    """
    words = terms(query)
    if not words:
        return qs
    if is_postgres():
        lexemes = [lex for word in words for lex in query_lexemes(field, word)]
        tsquery = " & ".join(f"'{lex}'" for lex in dict.fromkeys(lexemes))
        # Cast, not parsed: our lexemes need no text-search configuration.
        qs = qs.filter(
            RawSQL(
                '"documents_document"."search_vector" @@ %s::tsquery',
                [tsquery],
                output_field=BooleanField(),
            )
        )
    column = "search_text" if field == TEXT else "counterparty_key"
    for word in words:
        qs = qs.filter(**{f"{column}__contains": word})
    return qs


def index_fields(title: str, body: str, counterparty: str) -> dict[str, Any]:
    """The values to store on a Document whenever its title, body or counterparty change."""
    values: dict[str, Any] = {
        "search_text": search_text(title, body, counterparty),
        "counterparty_key": normalize(counterparty),
    }
    if is_postgres():
        values["search_vector"] = _TsVector(Value(vector_literal(title, body, counterparty)))
    return values


class _TsVector(Func):
    template = "%(expressions)s::tsvector"

    def __init__(self, *expressions: Any, **extra: Any) -> None:
        from django.contrib.postgres.search import SearchVectorField

        super().__init__(*expressions, output_field=SearchVectorField(), **extra)
