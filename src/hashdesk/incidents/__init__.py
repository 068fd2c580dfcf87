"""Incidents: the service desk's core record, its lifecycle, affected users and timeline."""
