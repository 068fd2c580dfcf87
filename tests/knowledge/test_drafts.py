"""Knowledge-article drafts: by hand, from a live-help conversation, a chat message and an
accepted answer; editing with versions; who may read which article (docs/knowledge.md)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser

from hashdesk.accounts import actions as account_actions
from hashdesk.accounts.choices import Role
from hashdesk.accounts.models import User
from hashdesk.audit.models import AuditEntry
from hashdesk.catalog import actions as catalog_actions
from hashdesk.chat import actions as chat_actions
from hashdesk.chat import help
from hashdesk.chat import messages as chat_messages
from hashdesk.chat.choices import MessageKind
from hashdesk.chat.models import Conversation, Message
from hashdesk.core import streams
from hashdesk.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from hashdesk.core.visibility import can_view, visible_to
from hashdesk.knowledge import actions
from hashdesk.knowledge.choices import ArticleOrigin, ArticleState, ArticleVisibility
from hashdesk.knowledge.models import Article, ArticleVersion
from hashdesk.wall import actions as wall_actions
from hashdesk.wall import answers, questions
from hashdesk.wall.models import Post

pytestmark = pytest.mark.django_db

PASSWORD_LINE = "password: Hunter2-Correct!Horse"


def draft(actor: User, **fields: Any) -> Article:
    fields.setdefault("title", "Reconnecting the VPN")
    fields.setdefault("body", "Restart the client.")
    fields.setdefault("visibility", ArticleVisibility.PUBLIC)
    return actions.do_create_draft(actor, **fields).article


def events_of(events: list[Any], op: str) -> list[Any]:
    return [e for e in events if e.type == "knowledge_article" and e.op == op]


# --- By hand ------------------------------------------------------------------------------------


def test_a_draft_by_hand_is_numbered_with_its_first_version(vpn_agent, vpn_service, capture_events):
    with capture_events() as events:
        saved = actions.do_create_draft(
            vpn_agent,
            title="  Reconnecting   the VPN ",
            body="Restart the **client**.",
            services=[vpn_service],
            visibility=ArticleVisibility.PUBLIC,
        )
    article = saved.article
    assert saved.created and saved.notice == ""
    assert article.number == f"KB-{article.pk:06d}"
    assert article.title == "Reconnecting the VPN" and article.state == ArticleState.DRAFT
    assert "<strong>client</strong>" in article.body_html
    assert (article.owner, article.origin, article.version) == (vpn_agent, "manual", 1)
    assert list(article.services.all()) == [vpn_service]
    [version] = ArticleVersion.objects.filter(article=article)
    assert (version.version, version.title, version.edited_by) == (1, article.title, vpn_agent)
    entry = AuditEntry.objects.get(action="knowledge.draft")
    assert entry.actor_id == vpn_agent.pk and entry.after["number"] == article.number
    [drafted] = events_of(events, "drafted")
    assert drafted.streams == [streams.STAFF]
    assert drafted.payload["article"]["number"] == article.number


def test_secrets_are_removed_before_a_draft_is_stored(vpn_agent):
    saved = actions.do_create_draft(
        vpn_agent,
        title="Signing in",
        body=f"Use this:\n\n{PASSWORD_LINE}",
        visibility=ArticleVisibility.INTERNAL,
    )
    assert "Hunter2" not in saved.article.body and "[redacted password]" in saved.article.body
    assert "Hunter2" not in ArticleVersion.objects.get().body
    assert saved.notice == "We removed a password before saving."


def test_requesters_cannot_draft_and_bad_input_is_refused(requester, vpn_agent):
    with pytest.raises(Forbidden):
        draft(requester)
    with pytest.raises(Forbidden):
        draft(AnonymousUser())  # type: ignore[arg-type]
    with pytest.raises(ValidationFailed) as blank:
        draft(vpn_agent, title="   ")
    assert blank.value.field == "title"
    with pytest.raises(ValidationFailed) as visibility:
        draft(vpn_agent, visibility="everyone")
    assert visibility.value.field == "visibility"
    assert (
        not Article.objects.exists()
        and not AuditEntry.objects.filter(action__startswith="knowledge.").exists()
    )


# --- From live help -----------------------------------------------------------------------------


def test_a_conversation_becomes_a_question_and_answer_draft(
    answered_conversation: Conversation, vpn_agent, vpn_service
):
    saved = actions.do_draft_from_conversation(vpn_agent, answered_conversation)
    article = saved.article
    assert saved.created and article.title == "VPN drops after the update"
    question, answer = article.body.split("## Answer")
    assert question.startswith("## Question")
    assert "> My #vpn drops every ten minutes." in question
    assert "> It started after the update." in question
    assert "turn off *Fast reconnect*" in answer and "picked up" not in article.body
    assert answer.rstrip().endswith(f"Source: live-help conversation #{answered_conversation.pk}")
    assert (article.origin, article.origin_id) == (
        ArticleOrigin.CHAT_CONVERSATION,
        answered_conversation.pk,
    )
    assert (article.contributor, article.owner) == (vpn_agent, vpn_agent)
    assert article.visibility == ArticleVisibility.INTERNAL
    assert list(article.services.all()) == [vpn_service]


def test_drafting_a_conversation_twice_opens_the_first_draft(
    answered_conversation, vpn_agent, make_person, capture_events
):
    first = actions.do_draft_from_conversation(vpn_agent, answered_conversation)
    colleague = make_person("second.agent@example.test", roles=[Role.AGENT])
    with capture_events() as events:
        again = actions.do_draft_from_conversation(colleague, answered_conversation)
    assert not again.created and again.article.pk == first.article.pk
    assert Article.objects.count() == 1 and ArticleVersion.objects.count() == 1
    assert events == [] and AuditEntry.objects.filter(action="knowledge.draft").count() == 1


def test_requesters_cannot_draft_conversations_and_unanswered_ones_are_refused(
    answered_conversation, requester, vpn_agent
):
    with pytest.raises(Forbidden):
        actions.do_draft_from_conversation(requester, answered_conversation)
    waiting = help.do_open_conversation(requester, topic="Printer", body="Jammed").conversation
    with pytest.raises(Conflict):
        actions.do_draft_from_conversation(vpn_agent, waiting)
    assert not Article.objects.exists()


# --- From a chat message ------------------------------------------------------------------------


def test_a_thread_becomes_a_draft_titled_by_its_first_line(requester, vpn_agent, vpn_service):
    room = chat_actions.service_room(vpn_service)
    for person in (requester, vpn_agent):
        chat_actions.do_join_room(person, room)
    root = chat_actions.do_send_message(
        requester, room, body="# How do I reset the VPN token?\n\nThe app says it expired."
    ).message
    chat_actions.do_send_message(vpn_agent, room, body="Scan the new QR code.", thread_root=root)
    saved = actions.do_draft_from_message(vpn_agent, Message.objects.get(pk=root.pk))
    article = saved.article
    assert article.title == "How do I reset the VPN token?"
    assert "The app says it expired." in article.body
    assert f"**{vpn_agent.display_name}:** Scan the new QR code." in article.body
    assert article.body.endswith(f"Source: chat message #{root.pk}")
    assert (article.origin, article.origin_id, article.contributor) == (
        ArticleOrigin.CHAT_MESSAGE,
        root.pk,
        requester,
    )
    assert list(article.services.all()) == [vpn_service]
    assert not actions.do_draft_from_message(vpn_agent, root).created


def test_long_first_lines_are_cut_and_system_or_deleted_messages_refused(
    answered_conversation, requester, vpn_agent
):
    room = answered_conversation.room
    long = chat_actions.do_send_message(requester, room, body="word " * 60).message
    title = actions.do_draft_from_message(vpn_agent, long).article.title
    assert len(title) == actions.DERIVED_TITLE_MAX and title.endswith("…")
    system = Message.objects.filter(room=room, kind=MessageKind.SYSTEM).first()
    assert system is not None
    with pytest.raises(Conflict):
        actions.do_draft_from_message(vpn_agent, system)
    gone = chat_actions.do_send_message(requester, room, body="Never mind").message
    chat_messages.do_delete_message(requester, gone)
    with pytest.raises(NotFound):
        actions.do_draft_from_message(vpn_agent, Message.objects.get(pk=gone.pk))
    with pytest.raises(Forbidden):
        actions.do_draft_from_message(requester, long)


# --- From an accepted answer --------------------------------------------------------------------


@pytest.fixture
def helper(make_person) -> User:
    return make_person("helper@example.test", roles=[Role.REQUESTER])


def ask_and_answer(asker: User, helper: User, text: str = "#vpn How do I reconnect?") -> Post:
    question = wall_actions.do_post(asker, body=text)
    questions.do_mark_question(asker, question)
    return wall_actions.do_post(helper, body="Restart the client, then sign in.", reply_to=question)


def test_the_askers_acceptance_proposes_a_draft_owned_by_the_service_team(
    requester, helper, vpn_agent, vpn_service, capture_events
):
    answer = ask_and_answer(requester, helper)
    with capture_events() as events:
        question = answers.do_accept_answer(requester, answer)
    article = Article.objects.get()
    assert (article.origin, article.origin_id) == (ArticleOrigin.WALL_ANSWER, answer.pk)
    assert (article.owner, article.contributor) == (vpn_agent, helper)
    assert article.title == "#vpn How do I reconnect?"
    assert "> #vpn How do I reconnect?" in article.body
    assert "## Answer\n\nRestart the client, then sign in." in article.body
    assert article.body.endswith(f"Source: wall conversation #{question.pk}")
    assert list(article.services.all()) == [vpn_service]
    # The asker is not staff: the system drafted it.
    assert AuditEntry.objects.get(action="knowledge.draft").actor_id is None
    assert len(events_of(events, "drafted")) == 1
    # Withdrawing and accepting again keeps the one draft.
    answers.do_unaccept_answer(requester, question)
    answers.do_accept_answer(requester, answer)
    assert Article.objects.count() == 1


def test_a_moderator_accepting_owns_the_draft(requester, helper, make_person, vpn_service):
    moderator = make_person("moderator@example.test", roles=[Role.AGENT])
    answer = ask_and_answer(requester, helper)
    answers.do_accept_answer(moderator, answer)
    article = Article.objects.get()
    assert article.owner == moderator
    assert AuditEntry.objects.get(action="knowledge.draft").actor_id == moderator.pk


def test_without_an_owner_team_an_administrator_owns_it(requester, helper, administrator):
    catalog_actions.do_create_service(None, name="Printing", hashtag="print")
    answer = ask_and_answer(requester, helper, "#print The printer is jammed")
    answers.do_accept_answer(requester, answer)
    assert Article.objects.get().owner == administrator


def test_without_any_staff_acceptance_proposes_nothing_and_still_succeeds(requester, helper):
    answer = ask_and_answer(requester, helper, "Where is the coffee machine?")
    question = answers.do_accept_answer(requester, answer)
    assert question.accepted_answer_id == answer.pk
    assert not Article.objects.exists()
    # A moderator drafts it later from the thread page.
    moderator = account_actions.do_create_user(
        None, email="late.agent@example.test", display_name="Late Agent", roles=[Role.AGENT]
    )
    saved = actions.do_draft_from_answer(moderator, answer)
    assert saved.created and saved.article.owner == moderator
    assert actions.draft_of_answer(answer.pk) == saved.article


def test_only_an_accepted_answer_is_drafted_by_hand(requester, helper, vpn_agent):
    answer = ask_and_answer(requester, helper)
    with pytest.raises(Conflict):
        actions.do_draft_from_answer(vpn_agent, answer)
    with pytest.raises(Forbidden):
        actions.do_draft_from_answer(requester, answer)


# --- Editing ------------------------------------------------------------------------------------


def test_editing_saves_a_new_version_and_a_stale_edit_is_a_conflict(
    vpn_agent, make_person, capture_events
):
    article = draft(vpn_agent)
    colleague = make_person("second.agent@example.test", roles=[Role.AGENT])
    with capture_events() as events:
        saved = actions.do_edit_draft(
            colleague,
            article,
            title="Reconnect",
            body="Restart it.",
            expected_version=1,
            note="Shorter",
        )
    assert saved.article.version == 2 and saved.article.body_html == "<p>Restart it.</p>\n"
    versions = list(ArticleVersion.objects.filter(article=article).order_by("version"))
    assert [(v.version, v.body, v.edited_by) for v in versions] == [
        (1, "Restart the client.", vpn_agent),
        (2, "Restart it.", colleague),
    ]
    assert versions[1].note == "Shorter"
    assert AuditEntry.objects.get(action="knowledge.edit").before["version"] == 1
    assert len(events_of(events, "edited")) == 1
    with pytest.raises(Conflict) as stale:
        actions.do_edit_draft(vpn_agent, article, title="X", body="Y", expected_version=1)
    assert stale.value.field == "version"
    assert Article.objects.get().title == "Reconnect" and ArticleVersion.objects.count() == 2


def test_the_same_text_again_saves_no_version(vpn_agent):
    article = draft(vpn_agent)
    saved = actions.do_edit_draft(
        vpn_agent, article, title=article.title, body=article.body, expected_version=1
    )
    assert saved.article.version == 1 and ArticleVersion.objects.count() == 1


def test_requesters_and_retired_articles_are_not_edited(requester, vpn_agent):
    article = draft(vpn_agent)
    with pytest.raises(Forbidden):
        actions.do_edit_draft(requester, article, title="X", body="Y", expected_version=1)
    Article.objects.filter(pk=article.pk).update(state=ArticleState.RETIRED)
    with pytest.raises(Conflict):
        actions.do_edit_draft(vpn_agent, article, title="X", body="Y", expected_version=1)
    assert Article.objects.get().title == "Reconnecting the VPN"


# --- Who reads which article --------------------------------------------------------------------


@pytest.mark.parametrize("state", list(ArticleState))
@pytest.mark.parametrize("visibility", list(ArticleVisibility))
def test_visibility_matrix(requester, vpn_agent, state, visibility):
    article = draft(vpn_agent, visibility=visibility)
    Article.objects.filter(pk=article.pk).update(state=state)
    article.refresh_from_db()
    readable = state == ArticleState.PUBLISHED and visibility == ArticleVisibility.PUBLIC
    assert can_view(vpn_agent, article)
    assert can_view(requester, article) is readable
    assert not can_view(AnonymousUser(), article)
    assert visible_to(requester, Article.objects.all()).exists() is readable
    # Earlier versions are the editors'.
    assert not visible_to(requester, ArticleVersion.objects.all()).exists()
    assert visible_to(vpn_agent, ArticleVersion.objects.all()).exists()
