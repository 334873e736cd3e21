"""Background upload of metric events: the store is the outbox (see outbox.py)."""
