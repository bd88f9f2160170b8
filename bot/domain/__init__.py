"""The pure domain: schedule maths, parsers, the stretch content, progress figures, what
the bot says. No I/O beyond reading the content and locale files once; imports neither
`telegram` nor `sqlalchemy` (checked by the import-linter contracts in pyproject.toml)."""
