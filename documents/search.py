"""Search over documents that works for Japanese.

Japanese is written without spaces, so PostgreSQL's text search (which splits on spaces) finds
nothing, and pg_trgm ignores characters the database locale does not call alphanumeric. We index
character bigrams ourselves instead — the technique of Japanese full-text engines such as
Groonga's TokenBigram: every pair of neighbouring characters becomes a lexeme of a `tsvector` with
a GIN index. A query term becomes the AND of its bigrams, which the index answers; a substring
check on the normalised text then removes the rare false positives (東京都 matches a text holding
東京 and 京都 apart). Both steps are exact. A one-character term has no bigram and is found by the
substring check alone (with the other conditions narrowing the rows first).

Lexemes carry a one-letter field prefix (t: title/body/counterparty, c: counterparty alone), so
one index serves both the free-text and the counterparty condition. They are written as quoted
tsvector/tsquery literals and cast, never parsed by a text-search configuration. Rows stay narrow
(the bigrams as they are, no unigrams), which is what keeps the heap visits of a search cheap.
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


def _quote(lexeme: str) -> str:
    # The literal syntax of tsvector and tsquery: quote, doubling quotes and backslashes.
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def ngram_lexemes(field: str, text: str) -> set[str]:
    return {
        field + segment[i : i + 2] for segment in _segments(text) for i in range(len(segment) - 1)
    }


def query_lexemes(field: str, term: str) -> list[str]:
    """The lexemes every match of `term` must have (term already normalised, no separators)."""
    return list(dict.fromkeys(field + term[i : i + 2] for i in range(len(term) - 1)))


def search_text(title: str, body: str, counterparty: str) -> str:
    """What the substring check runs against: normalised, fields separated by a newline."""
    return "\n".join(normalize(part) for part in (title, body, counterparty))


def vector_literal(title: str, body: str, counterparty: str) -> str:
    lexemes = ngram_lexemes(TEXT, f"{title}\n{body}\n{counterparty}")
    lexemes |= ngram_lexemes(COUNTERPARTY, counterparty)
    return " ".join(_quote(lexeme) for lexeme in sorted(lexemes))


def _probe(lexemes: list[str]) -> list[str]:
    """The first and last bigram of a term stand for it in the index condition.

    The planner multiplies the selectivities of the lexemes in a tsquery as if they were
    independent; the bigrams of one word are anything but, so seven of them made it expect five
    rows where there were ten thousand, and skip the date and amount indexes. Two per term keep
    its estimate honest; the substring check still makes the result exact.
    """
    return lexemes if len(lexemes) <= 2 else [lexemes[0], lexemes[-1]]


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
    lexemes = [lex for word in words for lex in _probe(query_lexemes(field, word))]
    if is_postgres() and lexemes:
        tsquery = " & ".join(_quote(lex) for lex in dict.fromkeys(lexemes))
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
