"""Knowledge's pages (docs/knowledge.md, "Pages")."""

from django.urls import URLPattern, URLResolver, path

from hashdesk.knowledge import views

app_name = "knowledge"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.index, name="index"),
    path("drafts/", views.drafts, name="drafts"),
    path("review/", views.review_queue, name="review"),
    path("articles/<str:number>/", views.article, name="article"),
    path("articles/<str:number>/edit/", views.edit, name="edit"),
    path("articles/<str:number>/diff/", views.diff, name="diff"),
    path("articles/<str:number>/submit/", views.submit, name="submit"),
    path("articles/<str:number>/approve/", views.approve, name="approve"),
    path("articles/<str:number>/send-back/", views.send_back, name="send-back"),
    path("articles/<str:number>/retire/", views.retire, name="retire"),
    path("articles/<str:number>/restore/<int:version>/", views.restore, name="restore"),
    path("articles/<str:number>/feedback/", views.feedback, name="feedback"),
    # "Draft an article" buttons on the live-help room, chat messages and the wall's answers.
    path(
        "drafts/from-conversation/<int:conversation_id>/",
        views.draft_from_conversation,
        name="from-conversation",
    ),
    path("drafts/from-message/<int:message_id>/", views.draft_from_message, name="from-message"),
    path("drafts/from-answer/<int:post_id>/", views.draft_from_answer, name="from-answer"),
]
