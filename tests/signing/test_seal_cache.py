"""The dated seal is drawn once a day for the deployment: other processes take it from the cache."""

from __future__ import annotations

import datetime as dt

from django.core.cache import cache

from signing import signer


def test_a_seal_drawn_once_serves_every_process(monkeypatch):
    drawn: list[tuple[str, dt.date, str]] = []
    real = signer.render_seal

    def render(family: str, day: dt.date, position: str) -> bytes:
        drawn.append((family, day, position))
        return real(family, day, position)

    monkeypatch.setattr(signer, "render_seal", render)
    day = dt.date(2026, 12, 7)
    for when in (day, day + dt.timedelta(days=1)):
        cache.delete(signer._seal_key("佐藤", when, "総務課長"))
    signer._dated_seal.cache_clear()
    first = signer._dated_seal("佐藤", day, "総務課長")
    signer._dated_seal.cache_clear()  # another worker process: its own memory is empty
    again = signer._dated_seal("佐藤", day, "総務課長")
    assert again == first and first.startswith(b"\x89PNG")
    assert drawn == [("佐藤", day, "総務課長")]
    signer._dated_seal("佐藤", day + dt.timedelta(days=1), "総務課長")  # the next day: drawn
    assert len(drawn) == 2


def test_a_failing_cache_only_costs_the_drawing(monkeypatch):
    def broken(*args: object, **kwargs: object) -> None:
        raise ConnectionError("redis is down")

    monkeypatch.setattr(signer.cache, "get", broken)
    monkeypatch.setattr(signer.cache, "set", broken)
    signer._dated_seal.cache_clear()
    assert signer._dated_seal("鈴木", dt.date(2026, 12, 7), "総務課係長").startswith(b"\x89PNG")
