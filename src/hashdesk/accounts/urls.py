from django.urls import URLPattern, URLResolver, path

from hashdesk.accounts import people_views, views

app_name = "accounts"
urlpatterns: list[URLPattern | URLResolver] = [
    path("sign-in/", views.sign_in, name="sign-in"),
    path("sign-out/", views.sign_out, name="sign-out"),
    path("password-reset/", views.password_reset, name="password-reset"),
    path("password-reset/sent/", views.password_reset_sent, name="password-reset-sent"),
    path(
        "password-reset/<uidb64>/<token>/",
        views.password_reset_confirm,
        name="password-reset-confirm",
    ),
    path("profile/", views.profile, name="profile"),
    path("profile/password/", views.password_change, name="password-change"),
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/<int:token_id>/revoke/", views.token_revoke, name="token-revoke"),
    path("people/", people_views.people_list, name="people"),
    path("people/new/", people_views.person_create, name="person-create"),
    path("people/<int:person_id>/", people_views.person_detail, name="person"),
    path("people/<int:person_id>/active/", people_views.person_active, name="person-active"),
    path("teams/", people_views.team_list, name="teams"),
    path("teams/new/", people_views.team_create, name="team-create"),
    path("teams/<slug:slug>/", people_views.team_detail, name="team"),
    path("teams/<slug:slug>/members/", people_views.team_member_add, name="team-member-add"),
    path(
        "teams/<slug:slug>/members/<int:person_id>/remove/",
        people_views.team_member_remove,
        name="team-member-remove",
    ),
]
