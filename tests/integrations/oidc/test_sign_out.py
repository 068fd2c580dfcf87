"""Signing out of Hashdesk after a single sign-on signs out at the provider too (OpenID
Connect RP-Initiated Logout 1.0), against the real provider process; a password sign-in's
sign-out stays at home."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from hashdesk.accounts.models import User
from hashdesk.integrations.oidc.sign_out import ID_TOKEN_SESSION_KEY
from tests.conftest import PASSWORD
from tests.integrations.oidc.conftest import SIGNED_OUT, Browser, Provider

pytestmark = pytest.mark.django_db


def signed_in(browser: Browser) -> bool:
    return "_auth_user_id" in browser.hashdesk.session


def query(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def test_sign_out_ends_the_session_here_then_at_the_provider(
    single_sign_on: Provider, browser: Browser, caplog: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    browser.sign_in("dana")
    id_token = browser.hashdesk.session[ID_TOKEN_SESSION_KEY]
    assert id_token.count(".") == 2  # the ID token from the sign-in, a JWT

    response = browser.hashdesk.post("/accounts/sign-out/")

    assert not signed_in(browser)  # Hashdesk's session is over before the browser leaves
    assert ID_TOKEN_SESSION_KEY not in browser.hashdesk.session
    assert response.status_code == 302
    end_session = response["Location"]
    assert end_session.startswith(single_sign_on.issuer + "/logout/?")
    sent = query(end_session)
    assert sent.keys() == {"id_token_hint", "post_logout_redirect_uri", "client_id", "state"}
    assert sent["id_token_hint"] == id_token
    assert sent["post_logout_redirect_uri"] == SIGNED_OUT
    assert sent["client_id"] == single_sign_on.client_id

    at_provider = browser.provider.get(end_session)

    assert at_provider.status_code == 302, at_provider.text[:2000]
    back = at_provider.headers["location"]
    assert back.startswith(SIGNED_OUT) and query(back) == {"state": sent["state"]}
    landing = browser.hashdesk.get(f"{urlsplit(back).path}?{urlsplit(back).query}")
    assert landing.status_code == 302 and landing["Location"] == "/accounts/sign-in/"
    assert "You are signed out." in browser.hashdesk.get("/accounts/sign-in/").content.decode()
    # The provider's session is over too: the next sign-in asks for the password there.
    again = browser.provider.get(browser.start())
    assert again.status_code == 302 and "/accounts/login/" in again.headers["location"]
    assert "oidc.signed_out_at_provider" in caplog.text  # the state came back, ours
    assert id_token not in caplog.text


def test_a_password_sign_in_signs_out_here_only(
    single_sign_on: Provider, browser: Browser, requester: User
) -> None:
    browser.hashdesk.post("/accounts/sign-in/", {"email": requester.email, "password": PASSWORD})
    assert signed_in(browser)

    response = browser.hashdesk.post("/accounts/sign-out/")

    assert response.status_code == 302 and response["Location"] == "/accounts/sign-in/"
    assert not signed_in(browser)


def test_provider_sign_out_can_be_turned_off(
    single_sign_on: Provider, browser: Browser, settings: Any
) -> None:
    settings.OIDC_PROVIDER_SIGN_OUT = False
    browser.sign_in("dana")

    response = browser.hashdesk.post("/accounts/sign-out/")

    assert response.status_code == 302 and response["Location"] == "/accounts/sign-in/"
    assert not signed_in(browser)


def test_sign_out_is_a_post(single_sign_on: Provider, browser: Browser) -> None:
    browser.sign_in("dana")
    assert browser.hashdesk.get("/accounts/sign-out/").status_code == 405
    assert signed_in(browser)


def test_the_way_back_leads_to_the_sign_in_page_whatever_its_state(
    single_sign_on: Provider, browser: Browser
) -> None:
    for state in ("forged", ""):
        response = browser.hashdesk.get("/integrations/oidc/signed-out/", {"state": state})
        assert response.status_code == 302 and response["Location"] == "/accounts/sign-in/"
