"""Knowledge's pages (docs/knowledge.md, "Pages")."""

from django.urls import URLPattern, URLResolver, path

from hashdesk.knowledge import views

app_name = "knowledge"
urlpatterns: list[URLPattern | URLResolver] = [
    path("drafts/", views.drafts, name="drafts"),
    path("articles/<str:number>/", views.article, name="article"),
    path("articles/<str:number>/edit/", views.edit, name="edit"),
    # "Draft an article" buttons on the live-help room, chat messages and the wall's answers.
    path(
        "drafts/from-conversation/<int:conversation_id>/",
        views.draft_from_conversation,
        name="from-conversation",
    ),
    path("drafts/from-message/<int:message_id>/", views.draft_from_message, name="from-message"),
    path("drafts/from-answer/<int:post_id>/", views.draft_from_answer, name="from-answer"),
]
