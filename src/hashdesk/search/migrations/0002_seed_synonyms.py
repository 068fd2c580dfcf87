"""About thirty IT synonyms to start from (administrators edit them on /search/synonyms/)."""

from typing import Any

from django.db import migrations

SEED = {
    "vpn": "remote access, tunnel",
    "pw": "password, passwort",
    "password": "passphrase, credentials",
    "o365": "office, microsoft 365, m365",
    "wifi": "wlan, wireless",
    "mfa": "2fa, two-factor, multi-factor",
    "sso": "single sign-on",
    "laptop": "notebook",
    "pc": "desktop, computer",
    "email": "mail, e-mail",
    "outlook": "mail client",
    "printer": "drucker",
    "monitor": "screen, display",
    "login": "logon, sign-in, signin",
    "crash": "freeze, hang",
    "slow": "performance, lag",
    "ad": "active directory",
    "teams": "ms teams",
    "onedrive": "cloud storage",
    "sharepoint": "intranet",
    "disk": "drive, storage",
    "locked": "lockout",
    "certificate": "cert",
    "dns": "name resolution",
    "sap": "erp",
    "crm": "salesforce",
    "phone": "mobile, smartphone",
    "headset": "headphones",
    "badge": "access card",
    "wlan": "wifi, wireless",
    "error": "fault, failure",
}


def seed(apps: Any, schema_editor: Any) -> None:
    synonym = apps.get_model("search", "Synonym")
    for term, words in SEED.items():
        synonym.objects.get_or_create(term=term, defaults={"synonyms": words})


def unseed(apps: Any, schema_editor: Any) -> None:
    apps.get_model("search", "Synonym").objects.filter(term__in=list(SEED)).delete()


class Migration(migrations.Migration):
    dependencies = [("search", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
