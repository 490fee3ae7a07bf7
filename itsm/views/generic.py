"""Generic pages every record type gets: a filtered, sortable, keyset-paginated list; a detail page
with fields, panels, timeline, history and attachments; create and edit forms that call services.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.utils.html import format_html
from django.views.generic import TemplateView
from rest_framework.exceptions import NotFound
from rest_framework.request import Request

from itsm import queries, roles, services
from itsm.api.pagination import CursorPagination
from itsm.exceptions import ConflictError
from itsm.forms import style_form
from itsm.models import Attachment, TimelineEntry
from itsm.registry import registry
from itsm.views.mixins import RoleRequiredMixin


@dataclass(frozen=True)
class Column:
    """A table column: ``accessor`` is an attribute path (``organisation.name``) or a callable."""

    label: str
    accessor: Any
    ordering: str | None = None
    link: bool = False

    def value(self, obj):
        if callable(self.accessor):
            return self.accessor(obj)
        value = obj
        for part in self.accessor.split("."):
            value = getattr(value, part, None)
            if value is None:
                return ""
        if isinstance(value, bool):
            return "Yes" if value else "No"
        return value


class RecordListView(RoleRequiredMixin, TemplateView):
    """A list page: the app's FilterSet, sortable columns and cursor pagination (no COUNT(*))."""

    template_name = "itsm/record_list.html"
    model = None
    filterset_class = None
    columns: list[Column] = []
    default_ordering = "-pk"
    page_size = 50
    create_url_name: str | None = None
    create_roles: frozenset[str] = frozenset({roles.ADMIN})
    title = ""

    def base_queryset(self):
        return self.model.objects.all()

    def get_ordering(self) -> str:
        requested = self.request.GET.get("ordering", "")
        allowed = {column.ordering for column in self.columns if column.ordering}
        allowed |= {f"-{name}" for name in allowed}
        return requested if requested in allowed else self.default_ordering

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        queryset = self.base_queryset().visible_to(self.request.user)
        filterset = self.filterset_class(self.request.GET or None, queryset=queryset, request=self.request)
        # An invalid filter shows its errors and no rows, never the unfiltered list.
        filter_invalid = filterset.is_bound and not filterset.is_valid()
        rows = queryset.none() if filter_invalid else filterset.qs if filterset.is_bound else queryset
        paginator = CursorPagination()
        paginator.page_size = self.page_size
        ordering = self.get_ordering()
        paginator.ordering = (ordering, "-pk" if ordering.startswith("-") else "pk")
        try:
            page = paginator.paginate_queryset(
                rows.order_by(*paginator.ordering), Request(self.request), view=None
            )
        except NotFound:
            # An unreadable cursor (edited or truncated link) shows the first page, not a 500.
            query = self.request.GET.copy()
            query.pop("cursor", None)
            self.request.GET = query
            page = paginator.paginate_queryset(
                rows.order_by(*paginator.ordering), Request(self.request), view=None
            )
        current = ordering
        context.update(
            title=self.title or self.model._meta.verbose_name_plural.capitalize(),
            filterset=filterset,
            filter_invalid=filter_invalid,
            columns=[
                {
                    "label": c.label,
                    "ordering": c.ordering,
                    "sorted": current.lstrip("-") == c.ordering,
                    "descending": current.startswith("-"),
                }
                for c in self.columns
            ],
            rows=[{"object": obj, "cells": [(c.value(obj), c.link) for c in self.columns]} for obj in page],
            next_url=paginator.get_next_link(),
            previous_url=paginator.get_previous_link(),
            ordering=current,
            query_without_ordering=_query_without(self.request, "ordering", "cursor"),
            create_url_name=self.create_url_name
            if roles.has_role(self.request.user, *self.create_roles)
            else None,
        )
        return context


def _query_without(request, *names: str) -> str:
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


class TimelineForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[
            (TimelineEntry.Kind.COMMENT, "Comment (the caller sees it)"),
            (TimelineEntry.Kind.WORK_NOTE, "Work note (internal)"),
        ]
    )
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="Entry", max_length=50000)


class AttachmentForm(forms.Form):
    file = forms.FileField()
    visibility = forms.ChoiceField(
        choices=Attachment.Visibility.choices, initial=Attachment.Visibility.PUBLIC
    )


def render_panels(record, request) -> list[dict]:
    """The registered panels of a record, each rendered with its own context: ``{"panel", "html"}``."""
    from django.template.loader import render_to_string

    return [
        {
            "panel": panel,
            "html": render_to_string(
                panel.template, {"record": record, **panel.context(record, request.user)}, request=request
            ),
        }
        for panel in registry.panels_for(record)
    ]


class RecordDetailView(RoleRequiredMixin, TemplateView):
    """A record's page: its fields, registered panels, timeline, attachments and history.

    POST with ``action=timeline`` adds an entry; ``action=attach`` uploads a file.
    """

    template_name = "itsm/record_detail.html"
    model = None
    fields: list[Column] = []
    edit_url_name: str | None = None
    edit_roles: frozenset[str] = frozenset({roles.ADMIN})

    def base_queryset(self):
        return self.model.objects.all()

    def get_object(self):
        return get_object_or_404(self.base_queryset().visible_to(self.request.user), pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        record = kwargs.get("record") or self.get_object()
        user = self.request.user
        context.update(
            record=record,
            title=getattr(record, "record_label", str(record)),
            verbose_name=self.model._meta.verbose_name,
            field_rows=[(column.label, column.value(record)) for column in self.fields],
            panels=render_panels(record, self.request),
            timeline=queries.timeline_for(record, user)[:100],
            history=queries.readable_history(record, queries.history_for(record)[:50], user),
            attachments=queries.attachments_for(record, user),
            timeline_form=kwargs.get("timeline_form") or TimelineForm(),
            attachment_form=kwargs.get("attachment_form") or AttachmentForm(),
            edit_url_name=self.edit_url_name if roles.has_role(user, *self.edit_roles) else None,
        )
        return context

    def _timeline_partial(self, record, form):
        """Only the timeline section, for an htmx request that added an entry."""
        return render(
            self.request,
            "itsm/partials/timeline.html",
            {
                "record": record,
                "timeline": queries.timeline_for(record, self.request.user)[:100],
                "timeline_form": form,
            },
        )

    def post(self, request, *args, **kwargs):
        record = self.get_object()
        action = request.POST.get("action")
        if action == "timeline":
            form = TimelineForm(request.POST)
            if form.is_valid():
                kind = form.cleaned_data["kind"]
                visibility = (
                    TimelineEntry.Visibility.INTERNAL
                    if kind == TimelineEntry.Kind.WORK_NOTE
                    else TimelineEntry.Visibility.PUBLIC
                )
                services.timeline_add(
                    record=record,
                    author=request.user,
                    kind=kind,
                    visibility=visibility,
                    body=form.cleaned_data["body"],
                )
                if request.htmx:
                    return self._timeline_partial(record, TimelineForm())
                messages.success(request, "Entry added.")
                return HttpResponseRedirect(request.path + "#timeline")
            if request.htmx:
                return self._timeline_partial(record, form)
            return self.render_to_response(self.get_context_data(record=record, timeline_form=form))
        if action == "attach":
            form = AttachmentForm(request.POST, request.FILES)
            if form.is_valid():
                try:
                    services.attachment_add(
                        record=record,
                        upload=form.cleaned_data["file"],
                        actor=request.user,
                        visibility=form.cleaned_data["visibility"],
                    )
                except ValidationError as error:
                    for field, errors in error.message_dict.items():
                        form.add_error(field if field in form.fields else None, errors)
                else:
                    messages.success(request, "File attached.")
                    return HttpResponseRedirect(request.path + "#attachments")
            return self.render_to_response(self.get_context_data(record=record, attachment_form=form))
        messages.error(request, "Unknown action.")
        return HttpResponseRedirect(request.path)


class RecordFormView(RoleRequiredMixin, TemplateView):
    """Create or edit a record through a ModelForm; the write goes through the kernel services.

    Edits carry the record's ``version``: when someone else saved first, the form says so (409 in the
    API) instead of overwriting their change.
    """

    template_name = "itsm/record_form.html"
    model = None
    form_class = None
    allowed_roles = frozenset({roles.ADMIN})

    def get_object(self):
        if "pk" not in self.kwargs:
            return None
        return get_object_or_404(self.model.objects.visible_to(self.request.user), pk=self.kwargs["pk"])

    def get_form(self, record, data=None):
        form = self.form_class(data=data, instance=record)
        form.fields["version"] = forms.IntegerField(
            widget=forms.HiddenInput, required=False, initial=record.version if record else None
        )
        return style_form(form)

    def get(self, request, *args, **kwargs):
        record = self.get_object()
        return self.render_to_response(self.context(record, self.get_form(record)))

    def render_to_response(self, context, **kwargs):
        style_form(context["form"])  # again after validation, to mark invalid fields
        return super().render_to_response(context, **kwargs)

    def context(self, record, form):
        name = self.model._meta.verbose_name
        return self.get_context_data(
            record=record, form=form, title=f"Edit {record}" if record else f"New {name}", verbose_name=name
        )

    def save(self, record, form):
        data = {name: form.cleaned_data[name] for name in form._meta.fields if name in form.cleaned_data}
        m2m_names = {field.name for field in self.model._meta.many_to_many}
        if record is None:
            fields = {k: v for k, v in data.items() if k not in m2m_names}
            m2m = {k: v for k, v in data.items() if k in m2m_names}
            return services.record_create(model=self.model, actor=self.request.user, fields=fields, m2m=m2m)
        return services.record_update(
            instance=record,
            actor=self.request.user,
            changes=data,
            expected_version=form.cleaned_data.get("version"),
        )

    def post(self, request, *args, **kwargs):
        record = self.get_object()
        form = self.get_form(record, data=request.POST)
        if form.is_valid():
            try:
                saved = self.save(record, form)
            except ConflictError as error:
                form.add_error(None, error.message)
            except ValidationError as error:
                for field, errors in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, format_html("Saved {}.", saved))
                return HttpResponseRedirect(saved.get_absolute_url())
        return self.render_to_response(self.context(record, form))
