"""The chat REST API: rooms, history pages, sending, edits, reactions, threads, read markers,
files and search (docs/api.md, "Chat"), with constant queries on the lists."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from hashdesk.audit.models import AuditEntry
from hashdesk.catalog import actions as catalog_actions
from hashdesk.chat import actions, messages
from hashdesk.chat.models import ChatAttachment, Message
from tests.api.support import ApiCaller, assert_problem, raw_token


def caller(person) -> ApiCaller:
    return ApiCaller(Client(), {"HTTP_AUTHORIZATION": f"Bearer {raw_token(person)}"})


@pytest.fixture(autouse=True)
def _uploads(settings: Any, tmp_path: Path) -> None:
    settings.ATTACHMENTS_DIR = tmp_path / "uploads"


@pytest.fixture
def api(requester, vpn_room) -> ApiCaller:
    actions.do_join_room(requester, vpn_room)
    return caller(requester)


def test_sending_is_201_then_200_for_the_same_key(api, vpn_room):
    url = f"/api/v1/chat/rooms/{vpn_room.pk}/messages"
    first = api.post(url, {"body": "hello #vpn", "client_key": "k-1"})
    assert first.status_code == 201, first.content
    message = first.json()
    assert message["body"] == "hello #vpn" and message["author"]["name"] == "Requester"
    assert message["attachments"] == [] and message["client_key"] == "k-1"
    again = api.post(url, {"body": "hello #vpn", "client_key": "k-1"})
    assert again.status_code == 200 and again.json()["id"] == message["id"]
    assert Message.objects.count() == 1
    assert_problem(api.post(url, {"body": "  "}), 422)
    assert_problem(api.post(url, {"body": "x", "thread_root_id": 999999}), 404)


def test_history_pages_back_and_forward(api, requester, vpn_room):
    ids = [actions.do_send_message(requester, vpn_room, body=f"m{i}").message.pk for i in range(7)]
    url = f"/api/v1/chat/rooms/{vpn_room.pk}/messages"
    newest = api.get(f"{url}?limit=3").json()
    assert [m["id"] for m in newest["items"]] == ids[4:]
    assert newest["prev_cursor"] == ids[4] and newest["next_cursor"] is None
    older = api.get(f"{url}?limit=3&before={newest['prev_cursor']}").json()
    assert [m["id"] for m in older["items"]] == ids[1:4]
    oldest = api.get(f"{url}?limit=3&before={older['prev_cursor']}").json()
    assert [m["id"] for m in oldest["items"]] == ids[:1] and oldest["prev_cursor"] is None
    missed = api.get(f"{url}?limit=4&after={ids[1]}").json()
    assert [m["id"] for m in missed["items"]] == ids[2:6] and missed["next_cursor"] == ids[5]
    rest = api.get(f"{url}?limit=4&after={missed['next_cursor']}").json()
    assert [m["id"] for m in rest["items"]] == ids[6:] and rest["next_cursor"] is None


def test_edit_delete_react_and_threads(api, requester, vpn_agent, vpn_room):
    root = actions.do_send_message(requester, vpn_room, body="VPN slow?").message
    reply = api.post(
        f"/api/v1/chat/rooms/{vpn_room.pk}/messages", {"body": "yes", "thread_root_id": root.pk}
    ).json()
    edited = api.patch(f"/api/v1/chat/messages/{root.pk}", {"body": "VPN slow today?"})
    assert edited.status_code == 200 and edited.json()["edited_at"] is not None
    assert_problem(caller(vpn_agent).patch(f"/api/v1/chat/messages/{root.pk}", {"body": "x"}), 403)
    reacted = api.post(f"/api/v1/chat/messages/{root.pk}/reactions", {"emoji": "+1"})
    assert reacted.json()["reactions"] == {"+1": 1}
    assert_problem(api.post(f"/api/v1/chat/messages/{root.pk}/reactions", {"emoji": "<3"}), 422)
    unreacted = api.delete(f"/api/v1/chat/messages/{root.pk}/reactions/%2B1")
    assert unreacted.status_code == 200 and unreacted.json()["reactions"] == {}
    assert_problem(api.delete(f"/api/v1/chat/messages/{root.pk}/reactions/nope"), 422)
    thread = api.get(f"/api/v1/chat/messages/{reply['id']}/thread").json()
    assert thread["root"]["id"] == root.pk and [r["id"] for r in thread["replies"]] == [reply["id"]]
    assert thread["root"]["reply_count"] == 1
    assert api.delete(f"/api/v1/chat/messages/{reply['id']}?reason=oops").status_code == 204
    assert AuditEntry.objects.get(action="chat.message_delete").after["reason"] == "oops"
    assert_problem(api.get(f"/api/v1/chat/messages/{reply['id']}/thread"), 404)
    assert api.get(f"/api/v1/chat/messages/{root.pk}/thread").json()["replies"] == []


def test_join_leave_members_and_read(api, requester, other_requester, vpn_room):
    other = caller(other_requester)
    joinable = other.get("/api/v1/chat/rooms?joinable=true").json()["items"]
    assert [r["id"] for r in joinable] == [vpn_room.pk] and joinable[0]["member"] is False
    joined = other.post(f"/api/v1/chat/rooms/{vpn_room.pk}/join")
    assert joined.status_code == 200 and joined.json()["member"] is True
    assert_problem(other.post(f"/api/v1/chat/rooms/{vpn_room.pk}/join"), 409)
    assert other.get("/api/v1/chat/rooms?joinable=true").json()["items"] == []
    members = api.get(f"/api/v1/chat/rooms/{vpn_room.pk}/members").json()["items"]
    assert [m["user"]["id"] for m in members] == [requester.pk, other_requester.pk]
    sent = [actions.do_send_message(requester, vpn_room, body=f"m{i}").message for i in range(3)]
    [room] = other.get("/api/v1/chat/rooms").json()["items"]
    assert room["unread"] == 3 and room["last_message_id"] == sent[-1].pk
    read = other.post(f"/api/v1/chat/rooms/{vpn_room.pk}/read", {"message_id": sent[1].pk})
    assert read.json() == {
        "room_id": vpn_room.pk,
        "last_read_message_id": sent[1].pk,
        "unread": 1,
    }
    assert other.get(f"/api/v1/chat/rooms/{vpn_room.pk}").json()["unread"] == 1
    assert other.delete(f"/api/v1/chat/rooms/{vpn_room.pk}/join").status_code == 204
    assert_problem(other.delete(f"/api/v1/chat/rooms/{vpn_room.pk}/join"), 404)


def test_files_are_uploaded_then_sent(api, vpn_room, other_requester):
    upload = SimpleUploadedFile("vpn.log", b"tunnel down\n")
    response = api.client.post(
        f"/api/v1/chat/rooms/{vpn_room.pk}/attachments", {"file": upload}, **api.headers
    )
    assert response.status_code == 201, response.content
    attachment = response.json()
    assert attachment["filename"] == "vpn.log" and attachment["content_type"] == "text/plain"
    bad = api.client.post(
        f"/api/v1/chat/rooms/{vpn_room.pk}/attachments",
        {"file": SimpleUploadedFile("x.exe", b"MZ")},
        **api.headers,
    )
    assert_problem(bad, 415)
    outsider = caller(other_requester)
    forbidden = outsider.client.post(
        f"/api/v1/chat/rooms/{vpn_room.pk}/attachments",
        {"file": SimpleUploadedFile("a.txt", b"a")},
        **outsider.headers,
    )
    assert_problem(forbidden, 403)
    sent = api.post(
        f"/api/v1/chat/rooms/{vpn_room.pk}/messages",
        {"body": "log", "attachment_ids": [attachment["id"]]},
    )
    assert sent.status_code == 201 and sent.json()["attachments"] == [attachment]
    again = api.post(
        f"/api/v1/chat/rooms/{vpn_room.pk}/messages",
        {"body": "log", "attachment_ids": [attachment["id"]]},
    )
    assert assert_problem(again, 422)["errors"][0]["field"] == "attachment_ids"
    assert ChatAttachment.objects.get().message_id == sent.json()["id"]


def test_search(api, requester, vpn_room, confidential_room):
    actions.do_send_message(requester, vpn_room, body="The <b>tunnel</b> drops")
    found = api.get("/api/v1/chat/search?q=tunnel").json()["items"]
    assert [hit["room"]["id"] for hit in found] == [vpn_room.pk]
    assert found[0]["snippet"] == "The &lt;b&gt;<mark>tunnel</mark>&lt;/b&gt; drops"
    assert api.get(f"/api/v1/chat/search?q=tunnel&room_id={vpn_room.pk}").json()["items"]
    assert_problem(api.get(f"/api/v1/chat/search?q=tunnel&room_id={confidential_room.pk}"), 404)
    assert_problem(api.get("/api/v1/chat/search?q=%2A%2A"), 422)


def test_history_and_room_list_cost_the_same_for_3_or_30(
    requester, vpn_agent, make_person, vpn_room, sso_service, query_count, settings
):
    """Each message and room of a page is read with the page: authors, files, unread counts."""
    api = caller(requester)
    api.get("/api/v1/chat/rooms")  # the token's first use is recorded once
    actions.do_join_room(requester, vpn_room)
    actions.do_join_room(vpn_agent, vpn_room)

    def grow(n: int, start: int) -> tuple[int, int]:
        for i in range(start, start + n):
            author = requester if i % 2 else vpn_agent
            files = [messages.do_upload_attachment(author, vpn_room, _file())] if i % 3 else []
            actions.do_send_message(author, vpn_room, body=f"m{i}", attachments=files)
            service = catalog_actions.do_create_service(
                None, name=f"Service {i}", hashtag=f"service{i}"
            )
            actions.do_join_room(requester, actions.service_room(service))
        with query_count() as history:
            page = api.get(f"/api/v1/chat/rooms/{vpn_room.pk}/messages?limit=100")
        with query_count() as rooms:
            listed = api.get("/api/v1/chat/rooms?limit=100")
        assert page.status_code == 200 and listed.status_code == 200
        return len(history), len(rooms)

    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "chat_attachment": (1000, 60)}
    assert grow(3, 0) == grow(27, 3)


def _file() -> SimpleUploadedFile:
    return SimpleUploadedFile("note.txt", b"note\n")
