"""Who may connect and what they receive: session, token, anonymous; subscribe decisions."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.utils import timezone
from websockets.exceptions import InvalidStatus

from hashdesk.accounts import actions as account_actions
from hashdesk.accounts.models import ApiToken, User
from hashdesk.catalog import actions as catalog_actions
from hashdesk.catalog.models import Service
from hashdesk.core import streams
from tests.realtime.live import (
    RunningEventServer,
    assert_silent,
    next_event,
    open_client,
    publish,
    receive,
    say_hello,
    send,
    session_cookie,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_anonymous_connection_gets_only_public_events(event_server: RunningEventServer) -> None:
    with open_client(event_server) as anonymous:
        welcome = say_hello(anonymous)
        assert welcome["streams"] == [streams.PUBLIC]
        assert welcome["user_id"] is None

        publish(1, streams.MEMBERS)
        publish(2, streams.STAFF)
        public_id = publish(3, streams.PUBLIC)
        event = next_event(anonymous)
        assert (event["id"], event["type"], event["n"]) == (public_id, "probe", 3)
        assert_silent(anonymous)


def test_session_cookie_signs_the_connection_in(
    event_server: RunningEventServer, requester: User, other_requester: User
) -> None:
    with open_client(event_server, cookie=session_cookie(requester)) as ws:
        welcome = say_hello(ws)
        assert welcome["user_id"] == requester.pk
        assert welcome["streams"] == sorted(
            [streams.PUBLIC, streams.MEMBERS, streams.user(requester.pk)]
        )
        publish(1, streams.user(other_requester.pk))
        mine = publish(2, streams.user(requester.pk))
        assert next_event(ws)["id"] == mine
        assert_silent(ws)


def test_staff_get_the_staff_stream_by_default(
    event_server: RunningEventServer, vpn_agent: User
) -> None:
    with open_client(event_server, cookie=session_cookie(vpn_agent)) as ws:
        assert streams.STAFF in say_hello(ws)["streams"]


def test_session_cookie_from_a_foreign_origin_is_refused(
    event_server: RunningEventServer, requester: User
) -> None:
    with pytest.raises(InvalidStatus) as refused:
        open_client(
            event_server, cookie=session_cookie(requester), origin="https://evil.example.test"
        )
    assert refused.value.response.status_code == 403


def test_a_stale_session_cookie_is_just_anonymous(event_server: RunningEventServer) -> None:
    with open_client(event_server, cookie="hashdesk_session=not-a-real-session") as ws:
        assert say_hello(ws)["user_id"] is None


def _token_for(user: User) -> str:
    _, raw = account_actions.do_create_api_token(user, name="Live updates")
    return raw


def test_api_token_in_the_authorization_header(
    event_server: RunningEventServer, vpn_agent: User
) -> None:
    token = _token_for(vpn_agent)
    # Scripts send no Origin; a token is not a cookie, so no origin check applies anyway.
    with open_client(event_server, token=token, origin=None) as ws:
        welcome = say_hello(ws)
        assert welcome["user_id"] == vpn_agent.pk
        assert streams.STAFF in welcome["streams"]


def test_api_token_in_a_first_auth_message(
    event_server: RunningEventServer, requester: User
) -> None:
    token = _token_for(requester)
    with open_client(event_server, origin=None) as ws:
        send(ws, {"type": "auth", "token": token})
        welcome = say_hello(ws)
        assert welcome["user_id"] == requester.pk
        mine = publish(1, streams.user(requester.pk))
        assert next_event(ws)["id"] == mine


def test_bad_token_in_the_header_refuses_the_handshake(event_server: RunningEventServer) -> None:
    with pytest.raises(InvalidStatus) as refused:
        open_client(event_server, token="hd_000000000000_forged")
    assert refused.value.response.status_code == 401


def test_revoked_or_expired_tokens_do_not_sign_in(
    event_server: RunningEventServer, requester: User
) -> None:
    revoked = _token_for(requester)
    token_row = ApiToken.objects.get(user=requester)
    account_actions.do_revoke_api_token(requester, token_row.pk)
    expired = _token_for(requester)
    ApiToken.objects.filter(user=requester, revoked_at__isnull=True).update(
        expires_at=timezone.now()
    )
    for raw in (revoked, expired):
        with pytest.raises(InvalidStatus) as refused:
            open_client(event_server, token=raw)
        assert refused.value.response.status_code == 401
        with open_client(event_server) as ws:
            send(ws, {"type": "auth", "token": raw})
            error = receive(ws)
            assert (error["type"], error["code"]) == ("error", "unauthenticated")
            # Nothing changed: the connection is still anonymous.
            assert say_hello(ws)["user_id"] is None


def _update_quietly(administrator: User, service: Service) -> None:
    catalog_actions.do_update_service(administrator, service, description="Rotating keys")


def test_confidential_service_events_never_reach_a_requester(
    event_server: RunningEventServer,
    requester: User,
    vpn_agent: User,
    administrator: User,
    security_service: Service,
) -> None:
    secret_stream = streams.service(security_service.pk)
    with (
        open_client(event_server, cookie=session_cookie(requester)) as requester_ws,
        open_client(event_server, cookie=session_cookie(vpn_agent)) as agent_ws,
    ):
        send(requester_ws, {"type": "hello", "streams": [secret_stream]})
        refusal = receive(requester_ws)
        assert refusal["code"] == "forbidden_stream"
        assert refusal["streams"] == [secret_stream]
        assert secret_stream not in receive(requester_ws)["streams"]
        # Asking again after hello is refused the same way and changes nothing.
        send(requester_ws, {"type": "subscribe", "streams": [secret_stream]})
        assert receive(requester_ws)["code"] == "forbidden_stream"
        assert_silent(requester_ws, 0.1)

        assert secret_stream in say_hello(agent_ws, streams=[secret_stream])["streams"]

        _update_quietly(administrator, security_service)
        event = next_event(agent_ws)
        assert (event["type"], event["service"]["id"]) == ("service", security_service.pk)

        marker = publish(1, streams.PUBLIC)
        assert next_event(requester_ws)["id"] == marker
        assert_silent(requester_ws)


def test_subscribe_and_unsubscribe_change_what_arrives(
    event_server: RunningEventServer, requester: User, vpn_service: Service
) -> None:
    vpn_stream = streams.service(vpn_service.pk)
    with open_client(event_server, cookie=session_cookie(requester)) as ws:
        say_hello(ws)
        publish(1, vpn_stream)
        # Once this marker arrives the server has dealt with the event before it.
        marker = publish(0, streams.PUBLIC)
        assert next_event(ws)["id"] == marker
        send(ws, {"type": "subscribe", "streams": [vpn_stream, "no-such-kind:1"]})
        invalid = receive(ws)
        assert (invalid["code"], invalid["streams"]) == ("invalid_stream", ["no-such-kind:1"])
        assert vpn_stream in receive(ws)["streams"]
        wanted = publish(2, vpn_stream)
        assert next_event(ws)["id"] == wanted

        send(ws, {"type": "unsubscribe", "streams": [vpn_stream, streams.MEMBERS]})
        now = receive(ws)
        assert now == {"type": "subscribed", "streams": sorted(["public", f"user:{requester.pk}"])}
        publish(3, vpn_stream)
        publish(4, streams.MEMBERS)
        marker = publish(5, streams.PUBLIC)
        assert next_event(ws)["id"] == marker


def test_an_event_on_several_streams_arrives_once(
    event_server: RunningEventServer, vpn_agent: User, vpn_service: Service
) -> None:
    with open_client(event_server, cookie=session_cookie(vpn_agent)) as ws:
        say_hello(ws, streams=[streams.service(vpn_service.pk)])
        both = publish(
            1, streams.PUBLIC, streams.MEMBERS, streams.STAFF, streams.service(vpn_service.pk)
        )
        assert next_event(ws)["id"] == both
        assert_silent(ws)


def test_subscriptions_leave_the_hub_with_the_connection(
    event_server: RunningEventServer, requester: User
) -> None:
    def hub_size() -> Any:
        return event_server.call(lambda: len(event_server.server.hub))

    with open_client(event_server, cookie=session_cookie(requester)) as ws:
        say_hello(ws)
        assert hub_size() == 1
    publish(1, streams.PUBLIC)
    for _ in range(50):
        if hub_size() == 0:
            break
        time.sleep(0.02)
    assert hub_size() == 0
