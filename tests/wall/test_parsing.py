"""Reading hashtags and mentions, and rendering safe HTML with them linked."""

from __future__ import annotations

from hashdesk.accounts.models import User
from hashdesk.wall import parsing


def test_hashtags_and_handles_are_found_once_lowercase_in_order():
    text = "#VPN down, #vpn again; see #sso-, mail a@b.example, issue#3, &#39; @Ana.Lopez. @bo"
    assert parsing.hashtags(text) == ["vpn", "sso"]
    assert parsing.handles(text) == ["ana.lopez", "bo"]


def test_resolve_handles_needs_exactly_one_active_person(make_person):
    ana = make_person("ana.lopez@example.test")
    make_person("bo@one.example")
    make_person("bo@two.example")
    gone = make_person("gone@example.test")
    User.objects.filter(pk=gone.pk).update(is_active=False)
    assert parsing.resolve_handles(["ANA.LOPEZ", "bo", "gone", "nobody"]) == {"ana.lopez": ana}


def test_render_links_tags_and_mentions_but_not_in_code_or_links(make_person):
    ana = make_person("ana.lopez@example.test")
    html = parsing.render(
        "#vpn and @ana.lopez, `#vpn @ana.lopez` [#vpn](https://example.test/#vpn) <b>#x</b>",
        tag_names=["vpn", "x"],
        people={"ana.lopez": ana},
    )
    assert html.count('class="hashtag"') == 2
    assert html.count('class="mention"') == 1
    assert "<code>#vpn @ana.lopez</code>" in html
    assert 'href="https://example.test/#vpn"' in html
    assert "<b>" not in html
