"""The catalogue's entry in the primary navigation (hashdesk.web.navigation)."""

from hashdesk.web.navigation import NavEntry, register

register(
    NavEntry(
        key="catalogue", label="Catalogue", url_name="catalog:list", icon="catalogue", order=90
    )
)
