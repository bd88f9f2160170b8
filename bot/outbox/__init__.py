"""The outbox: every future message is a due row; the dispatcher claims, sends and records
them. It knows nothing of breaks: each kind of row has a job (see handlers/jobs.py)."""
