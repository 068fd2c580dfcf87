"""The operator's reference stays complete: every HASHDESK_* variable is documented."""

from __future__ import annotations

import re
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
SOURCE = REPOSITORY / "src" / "hashdesk"


def test_every_environment_variable_in_settings_is_in_the_deploy_guide() -> None:
    code = (SOURCE / "settings.py").read_text() + (SOURCE / "config.py").read_text()
    variables = set(re.findall(r'"(HASHDESK_[A-Z0-9_]+)"', code))
    assert len(variables) > 30
    guide = (REPOSITORY / "docs" / "deploy.md").read_text()
    undocumented = sorted(v for v in variables if f"`{v}`" not in guide)
    assert undocumented == [], f"add these to the table in docs/deploy.md: {undocumented}"
