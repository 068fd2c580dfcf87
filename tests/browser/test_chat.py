"""Chat in two real Chromium sessions over the real event server (issue 5, stories 3 and 6):
live help from the requester's question to an incident resolved on first contact; an incident's
war room where the affected read official updates and ask; a member who drops offline and
reconnects without losing or doubling a message; the pages at phone width."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import transaction

from hashdesk.accounts.models import User
from hashdesk.chat import actions, war_rooms
from hashdesk.chat.choices import Lane
from hashdesk.chat.models import Conversation, Membership, Message, Room
from hashdesk.incidents import major
from hashdesk.incidents.actions import do_create_incident

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def _roomy_message_limit(settings: Any) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "chat_message": (1000, 60)}


@pytest.fixture
def vpn_room(vpn_service: Any) -> Room:
    return actions.service_room(vpn_service)


def _room_ids(tab: Any) -> list[int]:
    return [
        int(value)
        for value in tab.page.locator("[data-chat-messages] > li").evaluate_all(
            "nodes => nodes.map(node => node.dataset.messageId || '0')"
        )
    ]


def _wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    """Poll the database until ``condition`` holds (what a page did reaches it a moment later)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.05)


def _send(tab: Any, text: str) -> None:
    composer = tab.page.get_by_label("Message", exact=True)
    composer.fill(text)
    composer.press("Enter")


def test_live_help_from_question_to_incident_resolved_on_first_contact(
    open_tab: Any, requester: User, vpn_agent: User, vpn_service: Any
) -> None:
    agent = open_tab()
    agent.sign_in(vpn_agent)
    agent.open("/chat/queue/")
    agent.wait_until_live()
    agent.page.get_by_text("Nobody is waiting.").wait_for()

    person = open_tab()
    person.sign_in(requester)
    person.open("/chat/")
    person.page.get_by_role("link", name="Chat with the desk").first.click()
    person.page.get_by_label("What do you need help with?").fill("VPN keeps dropping")
    person.page.get_by_label("Your message").fill("My #vpn drops every few minutes at home.")
    person.page.get_by_role("button", name="Start the chat").click()
    person.page.get_by_role("heading", name="VPN keeps dropping").wait_for()
    person.wait_until_live()

    # The queue shows it without a reload, with the service it detected.
    row = agent.page.locator("tr[data-conversation-id]", has_text="VPN keeps dropping")
    row.wait_for()
    assert vpn_service.name in row.inner_text()
    row.get_by_role("button", name="Pick up VPN keeps dropping").click()
    agent.page.get_by_text("You picked up the conversation.").wait_for()
    agent.wait_until_live()
    person.page.locator("[data-chat-state]", has_text="With an agent").wait_for()

    # The agent types: the requester sees it; then the answer arrives live.
    agent.page.get_by_label("Message", exact=True).press_sequentially("Try", delay=20)
    person.page.get_by_text(f"{vpn_agent.display_name} is typing…").wait_for()
    agent.page.get_by_label("Message", exact=True).fill("Try the wired network, then reconnect.")
    agent.page.get_by_label("Message", exact=True).press("Enter")
    person.page.locator("[data-chat-messages]", has_text="Try the wired network").wait_for()

    # The requester answers; the agent's page shows it (and reads it): "Read" under it.
    _send(person, "That fixed it, thanks!")
    agent.page.locator("[data-chat-messages]", has_text="That fixed it").wait_for()
    mine = person.page.locator("[data-chat-messages] > li", has_text="That fixed it")
    mine.locator("[data-chat-read]").wait_for()

    # Filed as an incident resolved on first contact, with the transcript.
    agent.page.locator("summary", has_text="File as incident").click()
    agent.page.get_by_label("Resolved on first contact").check()
    agent.page.get_by_role("button", name="File as incident").click()
    agent.page.get_by_text("is recorded with the transcript").wait_for()
    conversation = Conversation.objects.get(requester=requester)
    assert conversation.incident is not None
    assert conversation.resolved_on_first_contact
    assert agent.page.url.endswith(f"/incidents/{conversation.incident.number}/")
    agent.page.locator(".incident-state", has_text="Resolved").first.wait_for()
    agent.page.get_by_role("link", name=f"transcript-{conversation.pk}.txt").wait_for()
    # The conversation becomes a knowledge-article draft: the question and the answer.
    agent.open(f"/chat/conversations/{conversation.pk}/")
    agent.page.get_by_role("button", name="Draft an article", exact=True).click()
    agent.page.get_by_text("is drafted").wait_for()
    assert agent.page.url.endswith("/edit/") and "/knowledge/articles/KB-" in agent.page.url
    draft = agent.page.get_by_label("Body").input_value()
    assert "> My #vpn drops every few minutes at home." in draft
    assert "Try the wired network, then reconnect." in draft
    # Each message once on each screen.
    for tab in (person,):
        ids = [value for value in _room_ids(tab) if value]
        assert len(ids) == len(set(ids))
    assert person.console_errors == []
    assert agent.console_errors == []


def _major_incident(agent: User, requester: User, service: Any) -> Any:
    with transaction.atomic():
        incident = do_create_incident(
            requester,
            title="VPN down for everyone",
            description="Nobody can connect to the VPN.",
            service=service,
        )
    with transaction.atomic():
        return major.do_declare_major(
            agent, incident, reason="Everyone is affected.", commander=agent
        )


def test_war_room_updates_reach_the_affected_who_never_see_the_responders(
    open_tab: Any, requester: User, vpn_agent: User, vpn_service: Any
) -> None:
    incident = _major_incident(vpn_agent, requester, vpn_service)
    lanes = war_rooms.war_room_lanes(incident)
    public, responders = lanes[Lane.PUBLIC], lanes[Lane.RESPONDERS]

    person = open_tab()
    person.sign_in(requester)
    person.open(f"/chat/rooms/{public.pk}/")
    person.wait_until_live()
    agent = open_tab()
    agent.sign_in(vpn_agent)
    agent.open(f"/chat/rooms/{public.pk}/")
    agent.wait_until_live()

    # Presence: the commander is online on the requester's member list.
    person.page.locator(
        f'.chat-member[data-user-id="{vpn_agent.pk}"] [data-presence="online"]'
    ).wait_for(state="attached")

    with transaction.atomic():
        major.do_post_official_update(
            vpn_agent, incident, body="We found the cause; a fix is rolling out."
        )
    official = person.page.locator(
        "[data-chat-messages] > li.chat-message--official", has_text="a fix is rolling out"
    )
    official.wait_for()
    assert "Official update" in official.inner_text()

    _send(person, "Do I need to restart my laptop afterwards?")
    agent.page.locator("[data-chat-messages]", has_text="restart my laptop").wait_for()

    assert person.console_errors == []
    # The responders' lane: not to be seen, not even that it exists.
    assert person.open(f"/chat/rooms/{responders.pk}/").status == 404
    person.open("/chat/")
    assert person.page.locator(f'a[href="/chat/rooms/{responders.pk}/"]').count() == 0
    assert agent.console_errors == []


def test_messages_typed_offline_are_sent_once_and_missed_ones_arrive_once(
    open_tab: Any, requester: User, vpn_agent: User, vpn_room: Room
) -> None:
    actions.add_member(vpn_room, requester)
    actions.add_member(vpn_room, vpn_agent)
    actions.do_send_message(vpn_agent, vpn_room, body="Morning, any VPN trouble?")
    mine = open_tab()
    mine.sign_in(requester)
    mine.open(f"/chat/rooms/{vpn_room.pk}/")
    mine.wait_until_live()
    theirs = open_tab()
    theirs.sign_in(vpn_agent)
    theirs.open(f"/chat/rooms/{vpn_room.pk}/")
    theirs.wait_until_live()

    mine.page.context.set_offline(True)
    mine.page.wait_for_selector('[data-live-status="reconnecting"]', state="attached")
    _send(mine, "First, typed offline")
    _send(mine, "Second, typed offline")
    assert mine.page.locator("[data-chat-messages] > li[data-pending]").count() == 2
    mine.page.locator("[data-chat-outbox]", has_text="2 messages").wait_for()
    # Kept in localStorage, so a closed tab would not lose them either.
    stored = mine.page.evaluate(
        f"JSON.parse(localStorage.getItem('hashdesk:chat-outbox:{requester.pk}:{vpn_room.pk}'))"
    )
    assert [item["body"] for item in stored] == ["First, typed offline", "Second, typed offline"]

    _send(theirs, "Meanwhile: the gateway restarted.")
    theirs.page.locator("[data-chat-messages] > li[data-message-id]", has_text="gateway").wait_for()
    assert Message.objects.filter(room=vpn_room).count() == 2

    mine.page.context.set_offline(False)
    for tab in (mine, theirs):
        tab.page.locator("[data-chat-messages] > li[data-message-id]", has_text="Second").wait_for()
        tab.page.locator(
            "[data-chat-messages] > li[data-message-id]", has_text="gateway"
        ).wait_for()
        tab.page.wait_for_function(
            "document.querySelectorAll('[data-chat-messages] > li[data-pending]').length === 0"
        )
    mine.page.wait_for_function(
        f"localStorage.getItem('hashdesk:chat-outbox:{requester.pk}:{vpn_room.pk}') === null"
    )

    stored_ids = list(
        Message.objects.filter(room=vpn_room).order_by("pk").values_list("pk", flat=True)
    )
    assert len(stored_ids) == 4
    assert Message.objects.filter(room=vpn_room, body__contains="typed offline").count() == 2
    for tab in (mine, theirs):
        assert _room_ids(tab) == stored_ids
        texts = tab.page.locator("[data-chat-messages] > li [data-chat-body]").all_inner_texts()
        # The desk's message was stored first: it comes before the two sent on reconnect.
        assert [text.strip() for text in texts] == [
            "Morning, any VPN trouble?",
            "Meanwhile: the gateway restarted.",
            "First, typed offline",
            "Second, typed offline",
        ]
    assert mine.console_errors == []
    assert theirs.console_errors == []


def test_chat_pages_fit_a_phone(open_tab: Any, requester: User, vpn_room: Room) -> None:
    actions.add_member(vpn_room, requester)
    actions.do_send_message(
        requester, vpn_room, body="A long address: " + "verylongwordwithoutspaces" * 8
    )
    tab = open_tab(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    tab.sign_in(requester)
    for path in ("/chat/", f"/chat/rooms/{vpn_room.pk}/", "/chat/help/"):
        response = tab.open(path)
        assert response.status == 200, path
        assert tab.no_horizontal_scroll(), path
        assert tab.page.locator("h1").count() == 1, path
    assert tab.console_errors == []


def test_a_refused_message_says_why_and_is_sent_on_retry(
    open_tab: Any, requester: User, vpn_room: Room, settings: Any
) -> None:
    actions.add_member(vpn_room, requester)
    tab = open_tab()
    tab.sign_in(requester)
    tab.open(f"/chat/rooms/{vpn_room.pk}/")
    tab.wait_until_live()
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "chat_message": (0, 60)}
    _send(tab, "Is anyone there?")
    failed = tab.page.locator("[data-chat-messages] > li[data-state='failed']")
    failed.get_by_text("Not sent: Too many requests").wait_for()
    assert not Message.objects.exists()

    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "chat_message": (1000, 60)}
    failed.get_by_role("button", name="Retry").click()
    tab.page.locator(
        "[data-chat-messages] > li[data-message-id]:not([data-pending])", has_text="anyone there"
    ).wait_for()
    assert Message.objects.filter(room=vpn_room).count() == 1
    assert tab.page.locator("[data-chat-messages] > li").count() == 1
    assert tab.console_errors == []


def test_earlier_messages_load_in_place_and_unread_counts_follow_events(
    open_tab: Any, requester: User, vpn_agent: User, vpn_room: Room
) -> None:
    from hashdesk.chat.views import PAGE_SIZE

    actions.add_member(vpn_room, requester)
    actions.add_member(vpn_room, vpn_agent)
    for n in range(PAGE_SIZE + 5):
        actions.do_send_message(vpn_agent, vpn_room, body=f"Status line {n}")
    tab = open_tab()
    tab.sign_in(requester)
    tab.open(f"/chat/rooms/{vpn_room.pk}/")
    tab.wait_until_live()
    assert tab.page.locator("[data-chat-messages] > li").count() == PAGE_SIZE
    tab.page.get_by_role("link", name="Earlier messages").click()
    tab.page.locator("[data-chat-messages] > li", has_text="Status line 0").first.wait_for()
    ids = _room_ids(tab)
    assert len(ids) == PAGE_SIZE + 5 == len(set(ids))
    assert ids == sorted(ids)
    assert tab.page.get_by_role("link", name="Earlier messages").count() == 0

    # The newest message was on screen (the room opens at its end): read.
    newest = Message.objects.filter(room=vpn_room).order_by("-pk").values_list("pk", flat=True)[0]
    _wait_for(
        lambda: Membership.objects.get(room=vpn_room, user=requester).last_read_message_id == newest
    )

    # On "My rooms", a message from someone else raises the room's unread badge live.
    tab.open("/chat/")
    tab.wait_until_live()
    badge = tab.page.locator(f".chat-room-item[data-room-id='{vpn_room.pk}'] [data-chat-unread]")
    assert badge.is_hidden()
    with transaction.atomic():
        actions.do_send_message(vpn_agent, vpn_room, body="One more thing")
    tab.page.locator(
        f".chat-room-item[data-room-id='{vpn_room.pk}'] [data-chat-unread]", has_text="1"
    ).wait_for()
    assert tab.console_errors == []


def test_a_message_sent_while_the_page_loads_is_shown_once(
    open_tab: Any, requester: User, vpn_agent: User, vpn_room: Room
) -> None:
    """The connection may say hello before the room's script runs: what arrived in between is
    fetched, and shown once."""
    actions.add_member(vpn_room, requester)
    actions.add_member(vpn_room, vpn_agent)
    actions.do_send_message(vpn_agent, vpn_room, body="Before the page")
    tab = open_tab()
    tab.sign_in(requester)
    held: list[Any] = []

    def hold(route: Any) -> None:
        held.append(route)

    tab.page.route("**/static/chat/room.js", hold)
    tab.page.goto(f"{tab.base_url}/chat/rooms/{vpn_room.pk}/", wait_until="commit")
    tab.wait_until_live()
    with transaction.atomic():
        actions.do_send_message(vpn_agent, vpn_room, body="While the page loads")
    # Playwright hands the held request over while the test waits on the page.
    for _ in range(200):
        if held:
            break
        tab.page.wait_for_timeout(50)
    held[0].continue_()
    tab.page.locator("[data-chat-messages] > li", has_text="While the page loads").wait_for()
    with transaction.atomic():
        actions.do_send_message(vpn_agent, vpn_room, body="After it loaded")
    tab.page.locator("[data-chat-messages] > li", has_text="After it loaded").wait_for()
    ids = _room_ids(tab)
    assert ids == list(
        Message.objects.filter(room=vpn_room).order_by("pk").values_list("pk", flat=True)
    )
    assert tab.console_errors == []
