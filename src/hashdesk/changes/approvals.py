"""CAB approval of changes (docs/changes.md, "Approvals").

Entering Authorise opens a round: one pending approval per member of every active approver
group whose ``change_types`` include the change's type and whose ``min_risk`` is at most the
change's risk — except the requester, who may not approve their own change. Emergency changes
so reach the emergency CAB (the groups listing "emergency"). A group's quorum is met when
``quorum`` members approved (0: every member asked). Authorise → Scheduled needs every group's
quorum; a rejection (with its comment) sends the change back to Assess, where it is reworked
and submitted again for a fresh round.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db import transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from hashdesk.accounts.models import User
from hashdesk.audit import trail
from hashdesk.changes import actions
from hashdesk.changes.choices import ApprovalDecision, ChangeState, ChangeType, Risk
from hashdesk.changes.models import Approval, ApproverGroup, Change
from hashdesk.changes.risk import at_least
from hashdesk.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from hashdesk.core.validation import require_text
from hashdesk.core.visibility import can_manage_changes, can_view
from hashdesk.notify.actions import Notice, do_send_notices

COMMENT_MAX = 2_000


def groups_for(change: Change) -> list[ApproverGroup]:
    """The active groups that must approve ``change`` (its type, its risk)."""
    groups = ApproverGroup.objects.filter(is_active=True).prefetch_related("members")
    return [
        group
        for group in groups
        if change.type in (group.change_types or []) and at_least(change.risk, group.min_risk)
    ]


def open_round(change: Change) -> list[Approval]:
    """Ask every approver of ``change`` (inside the caller's transaction). A previous round's
    rows make way: the audit trail keeps their decisions."""
    Approval.objects.filter(change=change).delete()
    rows = [
        Approval(change=change, group=group, approver=member)
        for group in groups_for(change)
        for member in group.members.all()
        if member.pk != change.requester_id and member.is_active
    ]
    Approval.objects.bulk_create(rows)
    url = _url(change)
    do_send_notices(
        Notice(
            recipient=approver,
            kind="change.approval_requested",
            title=f"Approval requested: {change.number} {change.summary}",
            body=f"{change.get_type_display()} change, {change.get_risk_display().lower()} risk.",
            url=url,
        )
        for approver in {row.approver.pk: row.approver for row in rows}.values()
    )
    return rows


def _url(change: Change) -> str:
    try:
        return reverse("api:get_change", kwargs={"number": change.number})
    except NoReverseMatch:  # the API is not mounted (some management commands)
        return ""


def quorum_status(change: Change) -> dict[str, tuple[int, int]]:
    """Per group name: (approvals given, approvals needed) for the open round."""
    given: dict[int, int] = defaultdict(int)
    asked: dict[int, int] = defaultdict(int)
    names: dict[int, str] = {}
    quorum: dict[int, int] = {}
    for row in Approval.objects.filter(change=change).select_related("group"):
        names[row.group_id] = row.group.name
        quorum[row.group_id] = row.group.quorum
        asked[row.group_id] += 1
        given[row.group_id] += row.decision == ApprovalDecision.APPROVED
    for group in groups_for(change):
        # A group with nobody to ask (only the requester in it) still needs its approval.
        names.setdefault(group.pk, group.name)
        quorum.setdefault(group.pk, group.quorum)
    return {names[pk]: (given[pk], max(1, quorum[pk] or asked[pk])) for pk in sorted(names)}


def missing_groups(change: Change) -> list[str]:
    """Names of the groups whose quorum is not met yet, sorted."""
    return sorted(name for name, (got, need) in quorum_status(change).items() if got < need)


@transaction.atomic
def do_decide(approver: User, change: Change, *, approve: bool, comment: str = "") -> Change:
    """Record ``approver``'s decision on every pending approval they hold for ``change``."""
    if not can_view(approver, change):
        raise NotFound("No such change.")
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX:
        raise ValidationFailed(f"A comment is at most {COMMENT_MAX} characters.", field="comment")
    if not approve and not comment:
        raise ValidationFailed("Say why you reject the change in the comment.", field="comment")
    change = actions.lock_change(change, None)
    if change.requester_id == approver.pk:
        raise Forbidden("You cannot approve or reject your own change.")
    mine = list(Approval.objects.select_for_update().filter(change=change, approver=approver))
    if not mine:
        raise Forbidden(f"You are not asked to approve {change.number}.")
    if change.state != ChangeState.AUTHORISE:
        raise Conflict(
            f"{change.number} is {change.get_state_display().lower()}, not awaiting approval.",
            field="state",
        )
    pending = [row for row in mine if row.decision == ApprovalDecision.PENDING]
    if not pending:
        raise Conflict(f"You have already decided on {change.number}.")
    now = timezone.now()
    decision = ApprovalDecision.APPROVED if approve else ApprovalDecision.REJECTED
    for row in pending:
        row.decision, row.comment, row.decided_at = decision, comment, now
    Approval.objects.bulk_update(pending, ["decision", "comment", "decided_at"])
    before = actions.change_snapshot(change)
    if not approve:
        # Rejected: back to Assess for rework; submitting again opens a fresh round.
        change.state = ChangeState.ASSESS
        actions.bump(change, ["state"], now)
    trail.record(
        actor=approver,
        action="change.approve" if approve else "change.reject",
        obj=change,
        before=before,
        after={
            **actions.change_snapshot(change),
            "groups": sorted(row.group.name for row in pending),
            "comment": comment,
        },
    )
    _tell_requester(change, approver, approve=approve, comment=comment)
    actions.publish(change, "approval")
    return change


def _tell_requester(change: Change, approver: User, *, approve: bool, comment: str) -> None:
    if not approve:
        title = f"{change.number} was rejected by {approver.display_name}"
    elif not missing_groups(change):
        title = f"{change.number} is approved and may be scheduled"
    else:
        return
    people = {change.requester_id, change.owner_id} - {None, approver.pk}
    do_send_notices(
        Notice(
            recipient=person, kind="change.approval", title=title, body=comment, url=_url(change)
        )
        for person in User.objects.filter(pk__in=people)
    )


@transaction.atomic
def do_create_approver_group(
    actor: User | None,
    *,
    name: str,
    members: Iterable[User],
    change_types: Iterable[str],
    min_risk: str = Risk.LOW,
    quorum: int = 1,
) -> ApproverGroup:
    """A CAB (change managers; ``None`` for the system: the demo, fixtures)."""
    if actor is not None and not can_manage_changes(actor):
        raise Forbidden("Only change managers can set up approver groups.")
    label = require_text(name, field="name", max_length=100)
    types = sorted(set(change_types))
    if not types or set(types) - set(ChangeType.values):
        raise ValidationFailed(
            "Change types are some of: " + ", ".join(ChangeType.values) + ".", field="change_types"
        )
    if min_risk not in Risk.values:
        raise ValidationFailed(f"Unknown risk {min_risk!r}.", field="min_risk")
    if quorum < 0:
        raise ValidationFailed("A quorum is 0 (every member) or more.", field="quorum")
    if ApproverGroup.objects.filter(name__iexact=label).exists():
        raise Conflict(f"An approver group named {label} already exists.", field="name")
    group = ApproverGroup.objects.create(
        name=label, change_types=types, min_risk=min_risk, quorum=quorum
    )
    people = list(members)
    group.members.set(people)
    trail.record(
        actor=actor,
        action="change.approver_group_create",
        obj=group,
        after={
            "name": label,
            "change_types": types,
            "min_risk": min_risk,
            "quorum": quorum,
            "members": sorted(p.pk for p in people),
        },
    )
    return group
