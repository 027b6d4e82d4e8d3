"""What the outbox writers, the relay and the wiring agree on. Plain constants: the relay imports
this without pulling in the event models."""

EVENT_SOURCE = "oms"
"""`source` of every event the OMS puts on its bus."""

OUTBOX_PREFIX = "EVENT#"
"""Partition key prefix of outbox items; the stack's stream filter matches it."""
