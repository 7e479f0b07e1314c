"""Turning an assignment's reference into what students get: stubs, the notebook, a student
repository."""
