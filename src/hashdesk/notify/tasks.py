"""Periodic notification tasks (digests); filled in by issue 9."""
