"""Vocabulary of the accounts app."""

from django.db import models


class Role(models.TextChoices):
    """A person's roles are Django groups with these names; permissions hang off the groups."""

    REQUESTER = "requester", "Requester"
    AGENT = "agent", "Agent"
    PROBLEM_MANAGER = "problem_manager", "Problem manager"
    CHANGE_MANAGER = "change_manager", "Change manager"
    ADMINISTRATOR = "administrator", "Administrator"


# Roles whose holders work in the service desk and may see internal records.
STAFF_ROLES = frozenset({Role.AGENT, Role.PROBLEM_MANAGER, Role.CHANGE_MANAGER, Role.ADMINISTRATOR})


class AccountKind(models.TextChoices):
    """Whom an account stands for. An integration's account (a Slack hook's, an Alertmanager
    receiver's) only authors what the integration brings in: it is listed nowhere as a person,
    never signs in and is never sent a notice (docs/accounts.md)."""

    PERSON = "person", "Person"
    INTEGRATION = "integration", "Integration"


class TokenScope(models.TextChoices):
    READ = "read", "Read only"
    WRITE = "write", "Read and write"


class TeamRole(models.TextChoices):
    MEMBER = "member", "Member"
    LEAD = "lead", "Team lead"
