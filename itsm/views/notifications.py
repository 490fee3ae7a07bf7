"""A person's notifications in the browser: the bell's unread count, the list, preferences."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from itsm import notifications
from itsm.forms import style_form
from itsm.models import Notification, NotificationPreference
from itsm.registry import registry


@login_required
def bell(request):
    """The unread count, fetched by htmx after the page loads (so no page pays a query for it)."""
    return render(
        request,
        "itsm/partials/notification_bell.html",
        {"unread": notifications.unread_for(request.user).count()},
    )


@login_required
def notification_list(request):
    rows = Notification.objects.filter(recipient=request.user).order_by("-created_at", "-id")
    if request.GET.get("unread") == "1":
        rows = rows.filter(read_at__isnull=True)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "itsm/notifications.html",
        {
            "title": "Notifications",
            "page": page,
            "unread_only": request.GET.get("unread") == "1",
            "kinds": registry.notification_kinds,
        },
    )


@login_required
def notification_open(request, pk: int):
    """Mark one read and go where it leads."""
    notification = get_object_or_404(Notification, pk=pk, recipient=request.user)
    if notification.read_at is None:
        Notification.objects.filter(pk=pk).update(read_at=timezone.now())
    target = notification.url or reverse("notifications")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("notifications")
    return HttpResponseRedirect(target)


@login_required
@require_POST
def notification_mark_read(request):
    ids = request.POST.getlist("id")
    changed = notifications.mark_read(request.user, [int(i) for i in ids if i.isdigit()] if ids else None)
    messages.success(request, f"{changed} marked as read.")
    return HttpResponseRedirect(reverse("notifications"))


class PreferencesForm(forms.Form):
    def __init__(self, *args, kinds: dict[str, str], current: dict[str, bool], **kwargs):
        super().__init__(*args, **kwargs)
        for kind, label in sorted(kinds.items(), key=lambda item: item[1]):
            self.fields[kind] = forms.BooleanField(
                label=label, required=False, initial=current.get(kind, True), help_text="Send me an e-mail"
            )


@login_required
def notification_preferences(request):
    kinds = registry.notification_kinds
    current = dict(NotificationPreference.objects.filter(user=request.user).values_list("kind", "email"))
    form = PreferencesForm(request.POST or None, kinds=kinds, current=current)
    if request.method == "POST" and form.is_valid():
        notifications.set_preferences(request.user, form.cleaned_data)
        messages.success(request, "Notification settings saved.")
        return HttpResponseRedirect(reverse("notification-preferences"))
    return render(
        request,
        "itsm/notification_preferences.html",
        {"title": "Notification settings", "form": style_form(form)},
    )
