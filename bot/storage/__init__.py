"""Storage: the database engine, the tables, migrations, and queries that take a session."""
