"""Run the Bot API stand-in on its own: python -m standin --port 8081 [--token TOKEN].

Point a bot at the printed base URL; Ctrl-C stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from standin.server import BotAPIStandIn


async def _serve(args: argparse.Namespace) -> None:
    standin = BotAPIStandIn(token=args.token, host=args.host, port=args.port,
                            create_unknown_chats=True)
    await standin.start(refuse_for=args.refuse_for)
    print(f"Bot API stand-in listening; base_url={standin.base_url}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await standin.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m standin", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default=None, help="accept only this token (default: any)")
    parser.add_argument("--refuse-for", type=float, default=0, metavar="SECONDS",
                        help="refuse connections for this long first (a network not up yet)")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
