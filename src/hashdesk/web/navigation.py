"""The primary navigation of the web shell, as a registry that apps add themselves to.

The issue's full navigation (Wall, Incidents, Problems, Changes, Knowledge, Chat, Status,
Catalogue) is built over several issues, and we never ship a page that is only a placeholder.
So the shell has no fixed list: each app that has pages puts a ``navigation.py`` module next to
its ``urls.py`` and calls :func:`register` there. :class:`hashdesk.web.apps.WebConfig` imports
every installed app's ``navigation`` module at start-up (``autodiscover_modules``), so an app's
entry appears exactly when the app is installed. See docs/web.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import reverse

from hashdesk.core.visibility import Viewer, is_signed_in

PRIMARY = "primary"
ACCOUNT = "account"


@dataclass(frozen=True)
class NavEntry:
    """One link of the primary navigation.

    ``order`` places it (lower first; the issue's order is Wall 20, Incidents 30, Problems 40,
    Changes 50, Knowledge 60, Chat 70, Status 80, Catalogue 90). ``allowed`` decides, through
    hashdesk.core.visibility, who sees the link; the view behind it still checks for itself.
    ``icon`` names a symbol of web/templates/web/includes/icons.svg.
    """

    key: str
    label: str
    url_name: str
    icon: str
    order: int
    allowed: Callable[[Viewer], bool] = is_signed_in
    # PRIMARY is the header's row of sections; ACCOUNT is the account menu, for pages about
    # one's own settings and for administration, so the sections keep to one row on a desktop.
    menu: str = "primary"

    def url(self) -> str:
        return reverse(self.url_name)


@dataclass(frozen=True)
class NavLink:
    """An entry as one request sees it: resolved URL and whether it is the current section."""

    key: str
    label: str
    url: str
    icon: str
    current: bool


_entries: dict[str, NavEntry] = {}


def register(entry: NavEntry) -> NavEntry:
    """Add (or replace, by key) a navigation entry. Call it at import of an app's navigation.py."""
    _entries[entry.key] = entry
    return entry


def registered() -> list[NavEntry]:
    return sorted(_entries.values(), key=lambda entry: (entry.order, entry.label))


def _is_current(url: str, path: str) -> bool:
    # The home page is current only on itself; a section is current on any page below it.
    return path == url if url == "/" else path.startswith(url)


def links_for(request: HttpRequest, menu: str = PRIMARY) -> list[NavLink]:
    """The entries of ``menu`` that ``request.user`` may see, in order, with the current
    section marked."""
    user = getattr(request, "user", None)
    links = []
    for entry in registered():
        if entry.menu != menu or not entry.allowed(user):
            continue
        url = entry.url()
        links.append(
            NavLink(
                key=entry.key,
                label=entry.label,
                url=url,
                icon=entry.icon,
                current=_is_current(url, request.path),
            )
        )
    return links


register(NavEntry(key="home", label="Home", url_name="web:home", icon="home", order=10))
