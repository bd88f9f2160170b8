"""Logging: one line per event, and never the bot token (it sits in every API URL)."""

from __future__ import annotations

import logging


class RedactToken(logging.Filter):
    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.token:
            return True
        message = record.getMessage()
        if self.token in message:
            record.msg, record.args = message.replace(self.token, "[token]"), None
        if record.exc_info and record.exc_info[1] is not None:
            # Tracebacks of failed requests carry the URL too: render and redact them now.
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = text.replace(self.token, "[token]")
            record.exc_info = None
            record.msg = f"{record.getMessage()}\n{record.exc_text}"
            record.args, record.exc_text = None, None
        return True


class QuietStartup(logging.Filter):
    """Until the bot has started, a library's failure is one line, not a traceback: start-up
    problems are reported by the bot itself, once, with what to do about them."""

    starting = True

    def filter(self, record: logging.LogRecord) -> bool:
        if QuietStartup.starting and record.exc_info and not record.name.startswith("bot"):
            error = record.exc_info[1]
            record.msg = f"{record.getMessage()} ({type(error).__name__}: {error})"
            record.args, record.exc_info, record.exc_text = None, None, None
        return True


def started() -> None:
    """From now on errors log their tracebacks (token still redacted)."""
    QuietStartup.starting = False


def setup_logging(level: str, token: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(QuietStartup())
    handler.addFilter(RedactToken(token))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    # httpx logs every request URL (with the token) at INFO: keep it to warnings.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
