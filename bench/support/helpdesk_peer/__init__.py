"""The peer for bench/incidents.py: django-helpdesk in a minimal Django project.

Installed into its own virtual environment (``bench/.peer-venv``, created by the benchmark) and
served by granian like Hashdesk, on SQLite, with DRF token and session authentication for its
API. ``manage.py seed_tickets`` fills it. It exists only for the benchmark.
"""
