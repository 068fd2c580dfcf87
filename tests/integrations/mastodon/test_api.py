"""The Mastodon client API (docs/integrations/mastodon.md), against a live web server.

Story 9: "any Mastodon app can post to and read the wall". Mastodon.py registers an app,
sends the person through the real sign-in and consent pages (driven with httpx, as a browser
would), logs in with the code and then posts, reads timelines, threads and notifications,
paging with the Link headers. OAuth's failure cases (PKCE, redirect URIs, reused codes,
client authentication) and the API's (scopes, revoked tokens, cookies, bad input) are checked
by hand with httpx, each leaving the counts of tokens and posts unchanged.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import requests
from django.utils import timezone
from mastodon import Mastodon
from oauth2_provider.models import AccessToken, Grant

from hashdesk.accounts import actions as account_actions
from hashdesk.accounts.models import User
from hashdesk.catalog.models import Service
from hashdesk.integrations.mastodon import actions as mastodon_actions
from hashdesk.integrations.mastodon.models import AppRegistration
from hashdesk.notify.models import Notification
from hashdesk.wall import actions as wall
from hashdesk.wall.models import Post, Reaction
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

OOB = "urn:ietf:wg:oauth:2.0:oob"
CALLBACK = "https://app.example/callback"


@pytest.fixture
def server(django_db_setup: Any, live_server: Any) -> Any:
    """The live server, started after the test database exists so that it stops (closing its
    connections) before the database is dropped at the end of the session."""
    return live_server


def http_client(base_url: str) -> httpx.Client:
    """An HTTP client that does not keep connections alive: each of the live server's request
    threads (and its database connection) ends with its response."""
    return httpx.Client(base_url=base_url, timeout=10, headers={"Connection": "close"})


@pytest.fixture
def mastodon_session() -> Iterator[requests.Session]:
    """Mastodon.py's HTTP session, closed after the test so the live server's keep-alive
    threads (and their database connections) end before the test database is dropped."""
    session = requests.Session()
    yield session
    session.close()


def api_base(live_server: Any) -> str:
    return f"{live_server.url}/mastodon"


def signed_in_browser(live_server: Any, person: User) -> httpx.Client:
    """A browser session signed in through the real sign-in form."""
    browser = http_client(live_server.url)
    page = browser.get("/accounts/sign-in/")
    assert page.status_code == 200, page.text[:300]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token is not None
    answer = browser.post(
        "/accounts/sign-in/",
        data={
            "csrfmiddlewaretoken": token.group(1),
            "email": person.email,
            "password": PASSWORD,
        },
        headers={"Referer": f"{live_server.url}/accounts/sign-in/"},
    )
    assert answer.status_code == 302, answer.text[:500]
    return browser


def consent(browser: httpx.Client, authorize_url: str, *, allow: bool = True) -> httpx.Response:
    """Open the consent page at ``authorize_url`` and press Authorize (or Deny)."""
    page = browser.get(authorize_url)
    assert page.status_code == 200, page.text[:500]
    assert "Authorize" in page.text
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    fields = {name: value.replace("&amp;", "&") for name, value in fields.items()}
    if allow:
        fields["allow"] = "on"
    return browser.post(
        urlsplit(authorize_url).path, data=fields, headers={"Referer": authorize_url}
    )


def oob_code(page: httpx.Response) -> str:
    assert page.status_code == 200, page.text[:500]
    found = re.search(r'id="authorization-code"[^>]*value="([^"]+)"', page.text)
    assert found is not None, page.text[:500]
    return found.group(1)


def quick_token(person: User, scope: str) -> str:
    """A token as the toolkit stores one for a registered app (for the error cases)."""
    app = mastodon_actions.do_register_app(
        client_name="Scope test", redirect_uris=OOB, scopes="read write", ip="192.0.2.9"
    )
    raw = secrets.token_urlsafe(32)
    AccessToken.objects.create(
        user=person,
        application=app.application,
        token=raw,
        expires=timezone.now() + timedelta(hours=1),
        scope=scope,
    )
    return raw


def test_a_mastodon_app_posts_to_and_reads_the_wall(
    server: Any,
    requester: User,
    other_requester: User,
    vpn_service: Service,
    mastodon_session: requests.Session,
) -> None:
    base = api_base(server)
    client_id, client_secret = Mastodon.create_app(
        "Toot for Hashdesk",
        scopes=["read", "write"],
        redirect_uris=OOB,
        api_base_url=base,
        session=mastodon_session,
    )
    registration = AppRegistration.objects.get(application__client_id=client_id)
    assert registration.scope_set == {"read", "write"}
    # Only the secret's hash is stored.
    assert registration.application.client_secret != client_secret

    app = Mastodon(
        client_id=client_id,
        client_secret=client_secret,
        api_base_url=base,
        session=mastodon_session,
    )
    authorize_url = app.auth_request_url(scopes=["read", "write"], allow_http=True)
    browser = signed_in_browser(server, requester)
    code = oob_code(consent(browser, authorize_url))
    token = app.log_in(code=code, scopes=["read", "write"], allow_http=True)
    # The toolkit keeps only the checksum of the token.
    stored = AccessToken.objects.get(user=requester)
    assert stored.token == "" and stored.scope == "read write"
    assert app.app_verify_credentials()["name"] == "Toot for Hashdesk"

    me = app.account_verify_credentials()
    assert me["username"] == "requester" and me["source"]["privacy"] == "public"
    assert app.retrieve_mastodon_version() == "4.3.0"
    assert app.instance_v2()["api_versions"]["mastodon"] == 2

    first = app.status_post("The #vpn drops every hour @colleague", idempotency_key="k-1")
    again = app.status_post("The #vpn drops every hour @colleague", idempotency_key="k-1")
    assert again["id"] == first["id"]
    assert Post.objects.filter(author=requester).count() == 1
    assert [tag["name"] for tag in first["tags"]] == ["vpn"]
    assert [m["acct"] for m in first["mentions"]] == ["colleague"]
    assert first["visibility"] == "public" and first["account"]["id"] == str(requester.pk)
    post = Post.objects.get(pk=first["id"])
    assert post.service == vpn_service

    reply = app.status_post("Since this morning", in_reply_to_id=first["id"])
    assert reply["in_reply_to_id"] == str(first["id"])
    assert reply["in_reply_to_account_id"] == str(requester.pk)
    context = app.status_context(reply["id"])
    assert [s["id"] for s in context["ancestors"]] == [first["id"]]
    assert [s["id"] for s in app.status_context(first["id"])["descendants"]] == [reply["id"]]

    assert [s["id"] for s in app.timeline_home()] == [reply["id"], first["id"]]
    assert [s["id"] for s in app.timeline_hashtag("vpn")][-1] == first["id"]
    assert app.status(first["id"])["content"].count('href="http') >= 2

    favourited = app.status_favourite(first["id"])
    assert favourited["favourited"] is True and favourited["favourites_count"] == 1
    assert Reaction.objects.filter(post=post, user=requester, kind="like").count() == 1
    assert app.status_unfavourite(first["id"])["favourites_count"] == 0

    # Paging with the Link headers, as Mastodon.py reads them.
    for number in range(3):
        wall.do_post(other_requester, body=f"Update {number} for @requester")
    page = app.timeline_public(limit=2)
    assert len(page) == 2
    older = app.fetch_next(page)
    assert older is not None and len(older) == 2
    assert int(older[0]["id"]) < int(page[-1]["id"])
    newer = app.fetch_previous(older)
    assert newer is not None
    assert [s["id"] for s in newer] == [s["id"] for s in page]

    mentions = app.notifications(limit=2)
    assert [n["type"] for n in mentions] == ["mention", "mention"]
    assert mentions[0]["account"]["acct"] == "colleague"
    assert "Update 2" in mentions[0]["status"]["content"]
    rest = app.fetch_next(mentions)
    assert rest is not None and len(rest) == 1 and "Update 0" in rest[0]["status"]["content"]
    app.notifications_dismiss(rest[0]["id"])
    assert Notification.objects.get(pk=rest[0]["id"]).read_at is not None

    deleted = app.status_delete(reply["id"])
    assert deleted["text"] == "Since this morning"
    assert Post.objects.get(pk=reply["id"]).deleted_at is not None
    assert [s["id"] for s in app.account_statuses(requester.pk)] == [first["id"]]

    app.revoke_access_token(allow_http=True)
    assert not AccessToken.objects.filter(user=requester).exists()
    assert token


def test_pkce_redirect_uris_and_codes_are_checked(server: Any, requester: User) -> None:
    base = api_base(server)
    http = http_client(base)
    registered = http.post(
        "/api/v1/apps",
        data={"client_name": "PKCE app", "redirect_uris": CALLBACK, "scopes": "read write"},
    ).json()
    client = {"client_id": registered["client_id"], "client_secret": registered["client_secret"]}
    browser = signed_in_browser(server, requester)
    verifier = secrets.token_urlsafe(48)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )

    def authorize(**extra: str) -> str:
        query = {
            "response_type": "code",
            "client_id": registered["client_id"],
            "redirect_uri": CALLBACK,
            "scope": "read",
            "state": "xyz",
            **extra,
        }
        url = str(httpx.URL(f"{base}/oauth/authorize", params=query))
        answer = consent(browser, url)
        assert answer.status_code == 302
        target = urlsplit(answer.headers["Location"])
        assert f"{target.scheme}://{target.netloc}{target.path}" == CALLBACK
        values = parse_qs(target.query)
        assert values["state"] == ["xyz"]
        return values["code"][0]

    def exchange(code: str, **extra: str) -> httpx.Response:
        return http.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": CALLBACK,
                **client,
                **extra,
            },
        )

    pkce = {"code_challenge": challenge, "code_challenge_method": "S256"}
    code = authorize(**pkce)
    wrong = exchange(code, code_verifier=secrets.token_urlsafe(48))
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    missing = exchange(authorize(**pkce))
    assert missing.status_code == 400 and missing.json()["error"] in {
        "invalid_request",
        "invalid_grant",
    }
    assert AccessToken.objects.count() == 0

    # Only S256 is accepted: a "plain" challenge gets no code.
    grants = Grant.objects.count()
    plain_url = str(
        httpx.URL(
            f"{base}/oauth/authorize",
            params={
                "response_type": "code",
                "client_id": registered["client_id"],
                "redirect_uri": CALLBACK,
                "scope": "read",
                "code_challenge": verifier,
                "code_challenge_method": "plain",
            },
        )
    )
    plain = consent(browser, plain_url)
    assert plain.status_code == 302 and "error=invalid_request" in plain.headers["Location"]
    assert Grant.objects.count() == grants

    code = authorize(**pkce)
    other_redirect = exchange(code, code_verifier=verifier, redirect_uri="https://evil.example/")
    assert other_redirect.status_code == 400
    assert other_redirect.json()["error"] in {"invalid_grant", "invalid_request"}
    bad_secret = exchange(code, code_verifier=verifier, client_secret="not-the-secret")
    assert bad_secret.status_code == 401 and bad_secret.json()["error"] == "invalid_client"
    assert AccessToken.objects.count() == 0

    code = authorize(**pkce)
    issued = exchange(code, code_verifier=verifier)
    assert issued.status_code == 200, issued.text
    body = issued.json()
    assert body["token_type"] == "Bearer" and body["scope"] == "read"
    assert isinstance(body["created_at"], int)
    reused = exchange(code, code_verifier=verifier)
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    assert AccessToken.objects.count() == 1

    # An address the app did not register: an error page, no redirect, no code.
    grants = Grant.objects.count()
    unregistered = browser.get(
        f"{base}/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": registered["client_id"],
            "redirect_uri": "https://evil.example/callback",
        },
    )
    assert unregistered.status_code == 400 and "cannot be authorized" in unregistered.text
    unknown = browser.get(
        f"{base}/oauth/authorize",
        params={"response_type": "code", "client_id": "nobody", "redirect_uri": CALLBACK},
    )
    assert unknown.status_code == 400
    assert Grant.objects.count() == grants

    # Scopes the app did not register are refused.
    more = browser.get(
        f"{base}/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": registered["client_id"],
            "redirect_uri": CALLBACK,
            "scope": "read push",
        },
    )
    assert more.status_code == 302 and "error=invalid_scope" in more.headers["Location"]

    # The app itself (client credentials) may verify itself but not act as a person.
    app_token = http.post(
        "/oauth/token", data={"grant_type": "client_credentials", "scope": "read", **client}
    ).json()["access_token"]
    bearer = {"Authorization": f"Bearer {app_token}"}
    assert http.get("/api/v1/apps/verify_credentials", headers=bearer).status_code == 200
    assert http.get("/api/v1/timelines/home", headers=bearer).status_code == 422
    password = http.post(
        "/oauth/token",
        data={"grant_type": "password", "username": requester.email, "password": PASSWORD} | client,
    )
    assert password.status_code == 400
    assert password.json()["error"] == "unsupported_grant_type"


def test_scopes_tokens_and_bad_input_are_refused(
    server: Any, requester: User, make_person: Any
) -> None:
    base = api_base(server)
    http = http_client(base)
    reader = {"Authorization": f"Bearer {quick_token(requester, 'read')}"}
    writer = {"Authorization": f"Bearer {quick_token(requester, 'read write')}"}
    posts = Post.objects.count()

    refused = http.post("/api/v1/statuses", data={"status": "hello"}, headers=reader)
    assert refused.status_code == 403 and "error" in refused.json()

    anonymous = http.get("/api/v1/timelines/home")
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    assert anonymous.json() == {"error": "The access token is invalid"}
    assert http.get("/api/v1/timelines/home", headers={"Authorization": "Bearer nope"}).json()[
        "error"
    ]

    # A signed-in browser's cookie is not a credential for the API (and needs no CSRF token).
    browser = signed_in_browser(server, requester)
    assert browser.get("/mastodon/api/v1/accounts/verify_credentials").status_code == 401
    assert browser.post("/mastodon/api/v1/statuses", data={"status": "x"}).status_code == 401

    for data, message in (
        ({"status": "hello", "visibility": "unlisted"}, "unlisted"),
        ({"status": "hello", "visibility": "direct"}, "direct"),
        ({"status": "hello", "visibility": "private"}, "team"),
        ({"status": "   "}, "Validation failed"),
        ({"status": "x" * 3000}, "Validation failed"),
        ({"status": "hello", "spoiler_text": "cw"}, "content warnings"),
        ({"status": "hello", "in_reply_to_id": "999999"}, "Record not found"),
    ):
        answer = http.post("/api/v1/statuses", data=data, headers=writer)
        assert answer.status_code in (404, 422), (data, answer.text)
        assert message in answer.json()["error"], (data, answer.text)
    assert http.get("/api/v1/timelines/home?max_id=abc", headers=writer).status_code == 422
    assert http.get("/api/v1/statuses/12345", headers=writer).status_code == 404
    assert http.get("/api/v1/no/such/thing", headers=writer).json() == {"error": "Record not found"}
    assert Post.objects.count() == posts

    # CORS for web clients on other origins: bearer tokens only, so no credentials.
    preflight = http.options("/api/v1/statuses", headers={"Origin": "https://web.example"})
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in preflight.headers

    # A team post is private; an outsider's token does not see it.
    team = account_actions.do_create_team(None, name="Finance desk")
    account_actions.do_add_team_member(None, team, requester)
    private = http.post(
        "/api/v1/statuses", data={"status": "Payroll run", "visibility": "private"}, headers=writer
    )
    assert private.status_code == 200 and private.json()["visibility"] == "private"
    outsider = make_person("outsider@example.test")
    outsider_token = {"Authorization": f"Bearer {quick_token(outsider, 'read')}"}
    hidden = http.get(f"/api/v1/statuses/{private.json()['id']}", headers=outsider_token)
    assert hidden.status_code == 404
    public = http.get("/api/v1/timelines/public", headers=outsider_token).json()
    assert private.json()["id"] not in [s["id"] for s in public]

    # A revoked (deleted) or expired token no longer works.
    AccessToken.objects.filter(user=requester, scope="read").delete()
    assert http.get("/api/v1/timelines/home", headers=reader).status_code == 401
    AccessToken.objects.filter(user=outsider).update(expires=timezone.now() - timedelta(1))
    assert http.get("/api/v1/timelines/home", headers=outsider_token).status_code == 401


def test_app_registration_refuses_bad_input(server: Any) -> None:
    http = http_client(api_base(server))
    apps = AppRegistration.objects.count()
    for data in (
        {"client_name": "", "redirect_uris": OOB},
        {"client_name": "No redirect"},
        {"client_name": "Script", "redirect_uris": "javascript:alert(1)"},
        {"client_name": "Relative", "redirect_uris": "/callback"},
        {"client_name": "Plain http", "redirect_uris": "http://app.example/callback"},
        {"client_name": "Scopes", "redirect_uris": OOB, "scopes": "read admin:write"},
        {"client_name": "Site", "redirect_uris": OOB, "website": "not a url"},
    ):
        answer = http.post("/api/v1/apps", data=data)
        assert answer.status_code == 422, (data, answer.text)
        assert answer.json()["error"].startswith("Validation failed")
    assert AppRegistration.objects.count() == apps
    good = http.post(
        "/api/v1/apps",
        json={
            "client_name": "Mobile",
            "redirect_uris": ["myapp://oauth", OOB, "http://127.0.0.1:8765/cb"],
            "scopes": "read write:statuses",
            "website": "https://mobile.example",
        },
    )
    assert good.status_code == 200, good.text
    assert good.json()["redirect_uris"] == ["myapp://oauth", OOB, "http://127.0.0.1:8765/cb"]
    assert good.json()["scopes"] == ["read", "write:statuses"]
