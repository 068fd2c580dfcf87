"""The wall's pages. Posts, tags and people live at the addresses wall.parsing links to
(``/wall/posts/<id>/``, ``/wall/tags/<name>/``, ``/wall/people/<id>/``)."""

from django.urls import URLPattern, URLResolver, path

from hashdesk.wall import media_views, question_views, views

app_name = "wall"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.home, name="home"),
    path("everyone/", views.everyone, name="everyone"),
    path("mentions/", views.mentions, name="mentions"),
    path("questions/", question_views.unanswered, name="questions"),
    path("leaderboard/", question_views.leaderboard, name="leaderboard"),
    path("posts/<int:post_id>/vote/", question_views.vote, name="vote"),
    path("posts/<int:post_id>/question/", question_views.mark_question, name="question"),
    path(
        "workarounds/<int:proposal_id>/adopt/",
        question_views.adopt_workaround,
        name="adopt-workaround",
    ),
    path("tags/<str:name>/", views.tag, name="tag"),
    path("services/<slug:slug>/", views.service, name="service"),
    path("people/<int:person_id>/", views.person, name="person"),
    path("posts/new/", views.create, name="create"),
    path("posts/<int:post_id>/", views.thread, name="post"),
    path("posts/<int:post_id>/reply/", views.reply, name="reply"),
    path("posts/<int:post_id>/react/", views.react, name="react"),
    path("posts/<int:post_id>/accept/", views.accept, name="accept"),
    path("posts/<int:post_id>/report/", views.report, name="report"),
    path("posts/<int:post_id>/promote/", views.promote, name="promote"),
    path("posts/<int:post_id>/moderate/", views.moderate, name="moderate"),
    path("moderation/", views.moderation_queue, name="moderation"),
    path("reports/<int:report_id>/resolve/", views.resolve_report, name="resolve-report"),
    path("follow/", views.follow, name="follow"),
    path("suggestions/", views.suggestions, name="suggestions"),
    path("fragment/", views.fragment, name="fragment"),
    path("media/<int:media_id>/<str:filename>", media_views.download, name="media"),
]
