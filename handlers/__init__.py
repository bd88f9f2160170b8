"""The features that answer users, one module each, named in the product's words.

A feature is a function of a `Turn` (handlers/turn.py) that returns an `Answer`; buttons
also get their typed callback data. `routes.py` says which function answers which
command, button and step, and who may use it; `jobs.py` says which job sends each kind of
due message. Nothing here imports `telegram`: the adapter in bot/adapter does that.
"""
