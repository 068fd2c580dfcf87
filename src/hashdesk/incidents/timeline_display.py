"""How timeline entries read on the incident page: one sentence per entry, names resolved.

Entries store ids in ``data`` (the person who said "me too", the team and person assigned, the
old and new service); the page shows names. All ids of a page's entries are collected first and
each kind of object is read in one query, through ``core.visibility`` like everything shown, so
a timeline costs the same few queries whether it has three entries or three hundred. Something
the viewer may not see reads as "someone" or "a service you cannot see", never its name.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.html import format_html
from django.utils.safestring import SafeString

from hashdesk.accounts.models import Team, User
from hashdesk.catalog.choices import Visibility
from hashdesk.catalog.models import ConfigurationItem, Service
from hashdesk.core.visibility import visible_to
from hashdesk.incidents.choices import (
    Category,
    Channel,
    HoldReason,
    Level,
    LinkKind,
    SlaKind,
    State,
    TimelineKind,
)
from hashdesk.incidents.models import TimelineEntry

FIELD_LABELS = {
    "title": "Title",
    "description": "Description",
    "service": "Service",
    "configuration_item": "Configuration item",
    "category": "Category",
    "impact": "Impact",
    "urgency": "Urgency",
    "visibility": "Visibility",
    "is_major": "Major incident",
}
# How an entry looks: conversation (updates), internal (work notes and other staff-only
# entries), official (major-incident communication), change (record changes), system.
STYLE_UPDATE = "update"
STYLE_INTERNAL = "internal"
STYLE_OFFICIAL = "official"
STYLE_CHANGE = "change"


@dataclass
class Names:
    """Names of the objects a page's entries mention, keyed by id (only those the viewer sees)."""

    people: dict[int, str] = field(default_factory=dict)
    teams: dict[int, str] = field(default_factory=dict)
    services: dict[int, str] = field(default_factory=dict)
    items: dict[int, str] = field(default_factory=dict)

    def person(self, pk: Any) -> str:
        return self.people.get(pk, "someone") if pk else "nobody"

    def team(self, pk: Any) -> str:
        return self.teams.get(pk, "a team") if pk else "no group"

    def service(self, pk: Any) -> str:
        return self.services.get(pk, "a service you cannot see") if pk else "none"

    def item(self, pk: Any) -> str:
        return self.items.get(pk, "an item you cannot see") if pk else "none"


@dataclass(frozen=True)
class EntryDisplay:
    """One timeline entry as the page shows it."""

    entry: TimelineEntry
    headline: SafeString
    actor: str
    style: str
    body_html: str

    @property
    def is_internal(self) -> bool:
        return not self.entry.is_public

    @property
    def is_system(self) -> bool:
        return self.entry.author_id is None

    @property
    def byline(self) -> str:
        """ "by Ana", "automatically" for the system, or nothing when the headline names them."""
        if self.entry.author_id is None:
            return "automatically"
        data = self.entry.data or {}
        if self.entry.kind == TimelineKind.AFFECTED_USER and self.entry.author_id in (
            data.get("added"),
            data.get("removed"),
        ):
            return ""
        return f"by {self.actor}"

    @property
    def merged_from(self) -> str:
        """The number of the duplicate this entry came from when it was merged here."""
        return str((self.entry.data or {}).get("merged_from") or "")


def _ids(values: Iterable[Any]) -> set[int]:
    return {v for v in values if isinstance(v, int) and not isinstance(v, bool)}


def _references(entries: Sequence[TimelineEntry]) -> dict[str, set[int]]:
    wanted: dict[str, set[int]] = {
        "people": set(),
        "teams": set(),
        "services": set(),
        "items": set(),
    }
    for entry in entries:
        data = entry.data or {}
        if entry.kind == TimelineKind.AFFECTED_USER:
            wanted["people"] |= _ids([data.get("added"), data.get("removed")])
        elif entry.kind == TimelineKind.FIELD_CHANGE:
            name = data.get("field")
            pair = [data.get("old"), data.get("new")]
            if name == "assignment":
                groups = [v[0] for v in pair if isinstance(v, list) and len(v) == 2]
                people = [v[1] for v in pair if isinstance(v, list) and len(v) == 2]
                wanted["teams"] |= _ids(groups)
                wanted["people"] |= _ids(people)
            elif name == "service":
                wanted["services"] |= _ids(pair)
            elif name == "configuration_item":
                wanted["items"] |= _ids(pair)
        elif entry.kind == TimelineKind.MAJOR:
            wanted["people"] |= _ids([data.get("commander")])
    return wanted


def resolve_names(viewer: Any, entries: Sequence[TimelineEntry]) -> Names:
    """One query per kind of object mentioned, and none for kinds no entry mentions."""
    wanted = _references(entries)
    names = Names()
    if wanted["people"]:
        people = visible_to(viewer, User.objects.filter(pk__in=wanted["people"]))
        names.people = dict(people.values_list("pk", "display_name"))
    if wanted["teams"]:
        teams = visible_to(viewer, Team.objects.filter(pk__in=wanted["teams"]))
        names.teams = dict(teams.values_list("pk", "name"))
    if wanted["services"]:
        services = visible_to(viewer, Service.objects.filter(pk__in=wanted["services"]))
        names.services = dict(services.values_list("pk", "name"))
    if wanted["items"]:
        items = visible_to(viewer, ConfigurationItem.objects.filter(pk__in=wanted["items"]))
        names.items = dict(items.values_list("pk", "name"))
    return names


def _label(choices: Any, value: Any, default: str = "none") -> str:
    if value in (None, ""):
        return default
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)


def _priority(value: Any) -> str:
    return f"P{value}" if isinstance(value, int) else "?"


def _field_value(name: str, value: Any, names: Names) -> str:
    if name == "service":
        return names.service(value)
    if name == "configuration_item":
        return names.item(value)
    if name == "category":
        return _label(Category, value)
    if name in {"impact", "urgency"}:
        return _label(Level, value)
    if name == "visibility":
        # The short word: the choices' labels explain each level at length.
        return str(value).capitalize() if value in Visibility.values else str(value)
    if name == "is_major":
        return "yes" if value else "no"
    if name == "title":
        return f"“{value}”"
    return "none" if value in (None, "") else str(value)


def _assignment(value: Any, names: Names) -> str:
    if not isinstance(value, list) or len(value) != 2:
        return "nobody"
    group, person = value
    if group and person:
        return f"{names.team(group)} · {names.person(person)}"
    if group:
        return names.team(group)
    return names.person(person) if person else "nobody"


def _field_change(data: dict[str, Any], names: Names) -> SafeString:
    name = str(data.get("field", ""))
    if name == "assignment":
        old, new = _assignment(data.get("old"), names), _assignment(data.get("new"), names)
        if old == "nobody":
            return format_html("Assigned to <strong>{}</strong>", new)
        return format_html("Assignment {} → <strong>{}</strong>", old, new)
    label = FIELD_LABELS.get(name, name.replace("_", " ").capitalize())
    if name == "description":
        return format_html("{} edited", label)
    old = _field_value(name, data.get("old"), names)
    new = _field_value(name, data.get("new"), names)
    return format_html("{} {} → <strong>{}</strong>", label, old, new)


def _priority_change(data: dict[str, Any]) -> SafeString:
    pair = data.get("priority") or [None, None]
    headline = format_html(
        "Priority {} → <strong>{}</strong>", _priority(pair[0]), _priority(pair[-1])
    )
    if data.get("reason") == "major_incident":
        return format_html("{} (declared a major incident)", headline)
    if data.get("reason") == "impact_policy":
        impact = data.get("impact") or [None, None]
        return format_html(
            "{} (impact raised to {} as more people are affected)",
            headline,
            _label(Level, impact[-1]).lower(),
        )
    return headline


def _state_change(data: dict[str, Any]) -> SafeString:
    new = data.get("new")
    headline = format_html(
        "State {} → <strong>{}</strong>", _label(State, data.get("old")), _label(State, new)
    )
    if new == State.ON_HOLD and data.get("hold_reason"):
        return format_html("{}: {}", headline, _label(HoldReason, data["hold_reason"]).lower())
    if data.get("old") == State.RESOLVED and new == State.IN_PROGRESS:
        return format_html(
            "Reopened: state {} → <strong>{}</strong>",
            _label(State, "resolved"),
            _label(State, new),
        )
    return headline


def _affected(entry: TimelineEntry, names: Names) -> SafeString:
    data = entry.data or {}
    if data.get("removed"):
        person = data["removed"]
        if person == entry.author_id:
            return format_html("{} is no longer affected", names.person(person))
        return format_html("{} was removed from the affected people", names.person(person))
    person = data.get("added")
    channel = data.get("channel")
    via = f" (via {_label(Channel, channel).lower()})" if channel and channel != Channel.WEB else ""
    if person == entry.author_id:
        return format_html("{} is affected too{}", names.person(person), via)
    return format_html("{} was added as affected{}", names.person(person), via)


def _sla_breach(data: dict[str, Any]) -> SafeString:
    return format_html("{} SLA breached", _label(SlaKind, data.get("clock"), "An"))


def _link(data: dict[str, Any]) -> SafeString:
    """``link_kind`` from the incident that points (``outgoing``) to ``other`` (a number)."""
    kind = _label(LinkKind, data.get("link_kind"), "linked to").lower()
    other = data.get("other") or "another incident"
    if data.get("outgoing", True):
        sentence = format_html("this incident is {} <strong>{}</strong>", kind, other)
    else:
        sentence = format_html("<strong>{}</strong> is {} this incident", other, kind)
    if data.get("removed"):
        return format_html("Link removed: {}", sentence)
    return format_html("Linked: {}", sentence)


def _merge(data: dict[str, Any]) -> SafeString:
    if data.get("into"):
        return format_html("Merged into <strong>{}</strong>", data["into"])
    if data.get("duplicate"):
        return format_html("<strong>{}</strong> merged into this incident", data["duplicate"])
    return format_html("{}", "Duplicates merged")


def _major(data: dict[str, Any], names: Names) -> SafeString:
    if data.get("op") == "stood_down":
        return format_html("{}", "Major incident stood down")
    if data.get("commander"):
        return format_html(
            "Declared a <strong>major incident</strong>, led by {}", names.person(data["commander"])
        )
    return format_html("Declared a <strong>{}</strong>", "major incident")


def _attachment(data: dict[str, Any]) -> SafeString:
    filename = data.get("filename") or "a file"
    if data.get("removed"):
        return format_html("Removed the attachment {}", filename)
    return format_html("Attached <strong>{}</strong>", filename)


def _headline(entry: TimelineEntry, names: Names) -> SafeString:
    data = entry.data or {}
    kind = entry.kind
    if kind == TimelineKind.PUBLIC_UPDATE:
        return format_html("{}", "Update")
    if kind == TimelineKind.WORK_NOTE:
        return format_html("{}", "Work note")
    if kind == TimelineKind.OFFICIAL_UPDATE:
        return format_html("{}", "Official update")
    if kind == TimelineKind.FIELD_CHANGE:
        return _field_change(data, names)
    if kind == TimelineKind.PRIORITY_CHANGE:
        return _priority_change(data)
    if kind == TimelineKind.STATE_CHANGE:
        return _state_change(data)
    if kind == TimelineKind.AFFECTED_USER:
        return _affected(entry, names)
    if kind == TimelineKind.SLA_BREACH:
        return _sla_breach(data)
    if kind == TimelineKind.LINK:
        return _link(data)
    if kind == TimelineKind.MERGE:
        return _merge(data)
    if kind == TimelineKind.MAJOR:
        return _major(data, names)
    if kind == TimelineKind.ATTACHMENT:
        return _attachment(data)
    return format_html("{}", entry.get_kind_display())


def _style(entry: TimelineEntry) -> str:
    if not entry.is_public:
        return STYLE_INTERNAL
    if entry.kind in {TimelineKind.OFFICIAL_UPDATE, TimelineKind.MAJOR}:
        return STYLE_OFFICIAL
    if entry.kind == TimelineKind.PUBLIC_UPDATE:
        return STYLE_UPDATE
    return STYLE_CHANGE


def describe_timeline(viewer: Any, entries: Sequence[TimelineEntry]) -> list[EntryDisplay]:
    """``entries`` (already filtered to what ``viewer`` may see, authors selected) as displayed."""
    names = resolve_names(viewer, entries)
    return [
        EntryDisplay(
            entry=entry,
            headline=_headline(entry, names),
            actor=entry.author.display_name if entry.author is not None else "Hashdesk",
            style=_style(entry),
            body_html=entry.body_html,
        )
        for entry in entries
    ]
