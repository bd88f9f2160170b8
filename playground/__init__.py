"""The playground: try Move Better in a terminal, without Telegram.

    python -m playground [--speed 60] [--start 2026-11-30T08:50] [--db playground.db]
                         [--user-id 1001] [--lang en|es]

It runs the real bot (`python -m bot`) against the local Bot API stand-in (`standin`) and
shows the chat as text; see playground/__main__.py.
"""
