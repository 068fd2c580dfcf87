from __future__ import annotations

from django import forms

from hashdesk.integrations.transfer.importers import KINDS
from hashdesk.integrations.transfer.parsing import MAX_FILE_BYTES, MAX_ROWS

KIND_LABELS = {"services": "Services", "people": "People", "incidents": "Historical incidents"}


class ImportForm(forms.Form):
    kind = forms.ChoiceField(
        label="What the file holds", choices=[(k, KIND_LABELS.get(k, k)) for k in KINDS]
    )
    file = forms.FileField(
        label="File (.csv or .json, UTF-8)",
        help_text=f"At most {MAX_FILE_BYTES // (1024 * 1024)} MB and {MAX_ROWS} rows.",
    )
