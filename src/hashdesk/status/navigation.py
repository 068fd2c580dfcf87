"""Filled in by the status page work (issue 9)."""
