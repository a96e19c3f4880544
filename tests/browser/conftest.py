"""Browser tests: Playwright driving Debian's Chromium against the real ASGI application.

The application is served by Daphne in a thread of the test process, as in production (HTTP and
the notification WebSocket), with static files served from the finders. The thread shares the
test database: SQLite's test database is an in-memory database with a shared cache, PostgreSQL's
is a real one; the tests use `transactional_db` so that what they create is committed and seen by
the server. Screenshots go to tests/artifacts/ (ignored by git, kept by CI).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
TESTDATA = Path(__file__).resolve().parents[3] / "shared" / "testdata" / "pdfs"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests that drive the browser get the `browser` marker, are skipped without Chromium, and
    run last: Playwright's sync API keeps an event loop running in the main thread until the end
    of the session, where the async tests of other modules (async_to_sync) cannot run."""
    driving = [item for item in items if "browser" in getattr(item, "fixturenames", ())]
    if driving:
        others = [item for item in items if "browser" not in getattr(item, "fixturenames", ())]
        items[:] = others + driving
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)
            if not CHROMIUM.exists():
                item.add_marker(
                    pytest.mark.skip(
                        reason="needs Chromium at /usr/bin/chromium (apt-get install chromium)"
                    )
                )


def pytest_configure(config: pytest.Config) -> None:
    """On SQLite, a test database in a file rather than in memory, in WAL mode.

    The server answers requests in other threads, each with its own connection. SQLite's
    in-memory test database shares one cache between connections, where a table lock held by one
    makes the others fail at once ("database table is locked"); a file in WAL mode lets readers
    run beside a writer and makes writers wait their turn. It lives in /dev/shm where there is
    one, so it costs the rest of the suite next to nothing. (PostgreSQL, as in CI, needs nothing.)
    """
    from django.conf import settings

    database = settings.DATABASES["default"]
    if not CHROMIUM.exists():
        return
    if database["ENGINE"] != "django.db.backends.sqlite3":
        # The server's threads close their connections after each request, so none is left
        # open on the test database when it is dropped at the end of the session.
        database["CONN_MAX_AGE"] = 0
        return
    shm = Path("/dev/shm")
    folder = Path(tempfile.mkdtemp(prefix="ekessai-browser-db-", dir=shm if shm.is_dir() else None))
    database.setdefault("TEST", {})["NAME"] = str(folder / "test.sqlite3")
    options = database.setdefault("OPTIONS", {})
    options.setdefault("init_command", "PRAGMA journal_mode=WAL;")
    options["transaction_mode"] = "IMMEDIATE"  # take the write lock up front: no upgrade deadlock
    options["timeout"] = 30
    config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))


class _ServerThread(threading.Thread):
    """Daphne serving config.asgi in this process; Twisted's reactor runs once per process."""

    def __init__(self) -> None:
        super().__init__(name="daphne-test-server", daemon=True)
        self.port: int | None = None
        self.error: BaseException | None = None
        self.server: Any = None

    def run(self) -> None:
        try:
            from channels.routing import ProtocolTypeRouter
            from daphne.server import Server
            from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
            from twisted.internet import reactor

            from config import asgi

            application = ProtocolTypeRouter(
                {
                    "http": ASGIStaticFilesHandler(asgi.django_asgi_app),
                    "websocket": asgi.application.application_mapping["websocket"],
                }
            )
            self.server = Server(
                application=application,
                endpoints=["tcp:port=0:interface=127.0.0.1"],
                signal_handlers=False,
                verbosity=0,
            )
            reactor.callLater(0.05, self._find_port)  # type: ignore[attr-defined,arg-type,unused-ignore]
            self.server.run()
        except BaseException as exc:
            self.error = exc

    def _find_port(self) -> None:
        from twisted.internet import reactor

        if self.server.listening_addresses:
            self.port = self.server.listening_addresses[0][1]
        else:
            reactor.callLater(0.05, self._find_port)  # type: ignore[attr-defined,arg-type,unused-ignore]

    def stop(self) -> None:
        from twisted.internet import reactor

        reactor.callFromThread(reactor.stop)  # type: ignore[attr-defined,misc,unused-ignore]


@pytest.fixture(scope="session")
def asgi_server(django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    if not CHROMIUM.exists():
        pytest.skip("needs Chromium at /usr/bin/chromium")
    thread = _ServerThread()
    thread.start()
    deadline = time.monotonic() + 20
    while thread.port is None and thread.error is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if thread.error is not None:
        raise thread.error
    assert thread.port is not None, "the test server did not start"
    yield f"http://127.0.0.1:{thread.port}"
    thread.stop()


@pytest.fixture(scope="session")
def browser(django_db_setup: None) -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("needs Chromium at /usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread from here on; the ORM
    # calls that the tests and fixtures make in it are still synchronous.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class Console:
    """Every console error, page error and failed request of a page, for the final check."""

    problems: list[str] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)

    def expect(self, text: str) -> None:
        """The next console error containing `text` is one the test provokes on purpose."""
        self.expected.append(text)

    def _console(self, page: Any, message: Any) -> None:
        if message.type != "error":
            return
        for text in self.expected:
            if text in message.text:
                self.expected.remove(text)
                return
        self.problems.append(f"console {message.type}: {message.text} ({page.url})")

    def watch(self, page: Any) -> None:
        page.on("console", lambda m: self._console(page, m))
        page.on(
            "response",
            lambda r: (
                self.problems.append(f"HTTP {r.status} {r.request.method} {r.url}")
                if r.status >= 500
                else None
            ),
        )
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e} ({page.url})"))


@pytest.fixture
def server(asgi_server: str, transactional_db: None, demo_org: None) -> str:
    return asgi_server


@pytest.fixture
def open_page(browser: Any, server: str) -> Iterator[Callable[..., Any]]:
    """A function opening a new page (own context: own cookies) logged in as a demo user."""
    contexts: list[Any] = []
    console = Console()

    def open_as(
        username: str | None,
        *,
        width: int = 1440,
        height: int = 900,
        mobile: bool = False,
        storage: dict[str, str] | None = None,
    ) -> Any:
        options: dict[str, Any] = {
            "viewport": {"width": width, "height": height},
            "locale": "ja-JP",
        }
        if mobile:
            options.update(is_mobile=True, has_touch=True, device_scale_factor=3)
        context = browser.new_context(base_url=server, **options)
        context.set_default_timeout(15_000)
        if storage:
            script = "".join(
                f"localStorage.setItem({json.dumps(k)}, {json.dumps(v)});"
                for k, v in storage.items()
            )
            context.add_init_script(script)
        contexts.append(context)
        page = context.new_page()
        console.watch(page)
        if username:
            login(page, username)
        return page

    open_as.console = console  # type: ignore[attr-defined]
    yield open_as
    for context in contexts:
        context.close()
    assert console.problems == [], "\n".join(console.problems)


def login(page: Any, username: str) -> None:
    from org.demo import DEMO_PASSWORD

    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url("**/")


def screenshot(page: Any, name: str, *, full_page: bool = False) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now.

    The page's Content Security Policy refuses inline scripts, so `page.add_script_tag` is
    blocked; evaluating the source through the DevTools protocol is not subject to it.
    """
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"]][:5],
        }
        for v in result
        if v["impact"] in ("serious", "critical")
    ]
