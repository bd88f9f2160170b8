"""Log lines: one line per start-up failure of a library, tracebacks once running, and never
the token."""

from __future__ import annotations

import logging

import pytest

from bot import logs
from tests.conftest import TOKEN


def _fail_in_a_library() -> None:
    try:
        raise ConnectionError(f"POST https://api.telegram.org/bot{TOKEN}/getMe failed")
    except ConnectionError:
        logging.getLogger("telegram.ext.Application").exception("Error while bootstrapping")


def test_tracebacks_wait_until_the_bot_has_started(capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logs.QuietStartup, "starting", True)
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", list(root.handlers))  # put back afterwards
    monkeypatch.setattr(root, "level", root.level)
    logs.setup_logging("INFO", TOKEN)
    _fail_in_a_library()
    starting = capsys.readouterr().err
    assert starting.count("\n") == 1 and "Traceback" not in starting
    assert "Error while bootstrapping (ConnectionError: POST" in starting

    logs.started()
    _fail_in_a_library()
    running = capsys.readouterr().err
    assert "Traceback" in running and "ConnectionError" in running
    assert TOKEN not in starting + running and "[token]" in running
