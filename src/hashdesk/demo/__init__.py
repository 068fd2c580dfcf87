"""The demo organisation: ``hashdesk demo`` (and ``hashdesk run`` on an empty database).

About 40 services with a realistic dependency graph, their configuration items, the IT teams
and 500 people across departments and sites, with one demo sign-in per role. Seeded, so every
installation gets the same organisation; idempotent, so loading it twice changes nothing.
"""

from hashdesk.demo.people import DEMO_PASSWORD, DEMO_SEED, DemoAccount, demo_sign_ins

__all__ = ["DEMO_PASSWORD", "DEMO_SEED", "DemoAccount", "demo_sign_ins"]
