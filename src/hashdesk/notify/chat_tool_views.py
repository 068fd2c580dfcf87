"""Administrators' pages for chat tools: list, create, edit, delete, send a test, enable again.

Every change goes through hashdesk.notify.chat_tools; a tool's apprise URL is never rendered.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hashdesk.core.errors import DomainError
from hashdesk.core.visibility import can_manage_chat_tools
from hashdesk.notify import chat_tools
from hashdesk.notify.chat_tool_forms import ChatToolForm
from hashdesk.notify.choices import Category
from hashdesk.notify.models import ChatTool
from hashdesk.web.forms import raise_if_forbidden
from hashdesk.web.requests import current_user

View = Callable[..., HttpResponse]


def chat_tool_admin_required(view: View) -> View:
    """Signed in and an administrator (hashdesk.core.visibility), else 403."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not can_manage_chat_tools(current_user(request)):
            raise PermissionDenied("Only administrators configure chat tools.")
        return view(request, *args, **kwargs)

    return wrapper


def _tool(pk: int) -> ChatTool:
    return get_object_or_404(ChatTool, pk=pk)


@chat_tool_admin_required
@require_GET
def chat_tool_list(request: HttpRequest) -> HttpResponse:
    tools = list(ChatTool.objects.prefetch_related("services").order_by("name"))
    labels = dict(Category.choices)
    rows = [
        {
            "tool": tool,
            "services": sorted(service.name for service in tool.services.all()),
            "categories": [
                labels.get(c, c)
                for c in (tool.categories or [str(x) for x in chat_tools.DEFAULT_CATEGORIES])
            ],
        }
        for tool in tools
    ]
    return render(request, "notify/chat_tools/list.html", {"rows": rows})


def _form_page(request: HttpRequest, form: ChatToolForm, tool: ChatTool | None) -> HttpResponse:
    return render(
        request,
        "notify/chat_tools/form.html",
        {"form": form, "tool": tool},
        status=400 if form.errors else 200,
    )


@chat_tool_admin_required
@require_http_methods(["GET", "POST"])
def chat_tool_create(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    form = ChatToolForm(request.POST if request.method == "POST" else None, user=user)
    if request.method == "POST" and form.is_valid():
        try:
            tool = chat_tools.do_create_chat_tool(user, **form.arguments())
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(request, f"The chat tool {tool.name} is set up.")
            return redirect("notify:chat-tools")
    return _form_page(request, form, None)


@chat_tool_admin_required
@require_http_methods(["GET", "POST"])
def chat_tool_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = current_user(request)
    tool = _tool(pk)
    form = ChatToolForm(request.POST if request.method == "POST" else None, user=user, tool=tool)
    if request.method == "POST" and form.is_valid():
        try:
            tool = chat_tools.do_update_chat_tool(user, tool, **form.arguments())
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(request, f"The chat tool {tool.name} is saved.")
            return redirect("notify:chat-tools")
    return _form_page(request, form, tool)


@chat_tool_admin_required
@require_http_methods(["GET", "POST"])
def chat_tool_delete(request: HttpRequest, pk: int) -> HttpResponse:
    tool = _tool(pk)
    if request.method == "GET":
        return render(request, "notify/chat_tools/delete.html", {"tool": tool})
    name = tool.name
    try:
        chat_tools.do_delete_chat_tool(current_user(request), tool)
    except DomainError as error:
        raise_if_forbidden(error)
        messages.error(request, error.detail)
    else:
        messages.success(request, f"The chat tool {name} is removed.")
    return redirect("notify:chat-tools")


@chat_tool_admin_required
@require_POST
def chat_tool_test(request: HttpRequest, pk: int) -> HttpResponse:
    tool = _tool(pk)
    try:
        chat_tools.do_send_chat_tool_test(current_user(request), tool)
    except DomainError as error:
        raise_if_forbidden(error)
        messages.error(request, error.detail)
    else:
        messages.success(
            request,
            f"A test message to {tool.name} is on its way. The delivery log shows whether "
            "it arrived.",
        )
    return redirect("notify:chat-tools")


@chat_tool_admin_required
@require_POST
def chat_tool_enable(request: HttpRequest, pk: int) -> HttpResponse:
    tool = _tool(pk)
    try:
        tool = chat_tools.do_enable_chat_tool(current_user(request), tool)
    except DomainError as error:
        raise_if_forbidden(error)
        messages.error(request, error.detail)
    else:
        messages.success(request, f"{tool.name} is enabled again.")
    return redirect("notify:chat-tools")
