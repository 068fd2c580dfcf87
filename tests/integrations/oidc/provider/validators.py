"""Claims the test provider puts in ID tokens: name, email and the person's groups."""

from __future__ import annotations

from typing import Any

from oauth2_provider.oauth2_validators import OAuth2Validator

# Members of this provider group have not verified their email address at the provider.
UNVERIFIED_EMAIL_GROUP = "email-unverified"


class GroupsValidator(OAuth2Validator):
    oidc_claim_scope = {**OAuth2Validator.oidc_claim_scope, "groups": "groups"}

    def get_additional_claims(self, request: Any) -> dict[str, Any]:
        user = request.user
        groups = sorted(user.groups.values_list("name", flat=True))
        return {
            "name": user.get_full_name() or user.username,
            "preferred_username": user.username,
            "email": user.email,
            "email_verified": UNVERIFIED_EMAIL_GROUP not in groups,
            "groups": [group for group in groups if group != UNVERIFIED_EMAIL_GROUP],
        }
