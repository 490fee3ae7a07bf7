"""Knowledge pages: the article list (agents' view of every status), the search page (ranked, with
highlighted snippets), an article (rendered body, votes, moves, revisions, timeline, files), the
article form (also pre-filled from a resolved incident or a known error), revisions and their diff.

Readers (end users included) list, search, read and vote on what ``visible_to`` lets them see;
staff write. Every write goes through ``knowledge.services``.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.views.generic import TemplateView

from incidents.forms import LinkForm
from itsm import queries as kernel_queries
from itsm import roles
from itsm import services as kernel_services
from itsm.exceptions import ConflictError
from itsm.registry import registry
from itsm.views.generic import Column, RecordDetailView, RecordListView
from itsm.views.mixins import RoleRequiredMixin
from knowledge import forms as f
from knowledge import queries, services, sources
from knowledge.choices import TRANSITIONS, Status
from knowledge.filters import ArticleFilterSet
from knowledge.models import Article
from knowledge.rendering import render_markdown

STAFF = roles.STAFF_ROLES
READERS = roles.STAFF_ROLES | {roles.END_USER}


def _apply_errors(form, error: ValidationError) -> None:
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for key, errors in error.message_dict.items():
        form.add_error(key if key in form.fields else None, errors)


class ArticleList(RecordListView):
    """Every article the reader may see, newest first; agents filter by status, audience, category,
    service and review due."""

    model = Article
    filterset_class = ArticleFilterSet
    title = "Knowledge articles"
    allowed_roles = READERS
    create_url_name = "knowledge:create"
    create_roles = STAFF
    default_ordering = "-id"
    staff_columns = [
        Column("Number", "number", ordering="id", link=True),
        Column("Title", "title"),
        Column("Status", lambda a: a.get_status_display()),
        Column("Audience", lambda a: a.organisation.name if a.organisation_id else a.get_audience_display()),
        Column("Category", "category.name"),
        Column("Owner", "owner"),
        Column("Review by", "review_by", ordering="review_by"),
        Column("Views", "view_count", ordering="view_count"),
        Column("Helpful", lambda a: f"{a.helpful_count} / {a.helpful_count + a.not_helpful_count}"),
        Column("Updated", "updated_at", ordering="updated_at"),
    ]

    reader_columns = [
        Column("Number", "number", ordering="id", link=True),
        Column("Title", "title"),
        Column("Category", "category.name"),
        Column("Updated", "updated_at", ordering="updated_at"),
    ]

    @property
    def columns(self):
        # End users are not shown who owns an article, its review date or its counters.
        return self.staff_columns if roles.is_staff_role(self.request.user) else self.reader_columns

    def base_queryset(self):
        return queries.articles(self.request.user)


class SearchView(RoleRequiredMixin, TemplateView):
    """Ranked full-text search with highlighted snippets; agents may include every status."""

    template_name = "knowledge/search.html"
    allowed_roles = READERS

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = f.styled(f.SearchForm(self.request.GET or None))
        text = form.cleaned_data["q"] if form.is_valid() else ""
        every_status = roles.is_staff_role(self.request.user) and self.request.GET.get("all") == "1"
        results = queries.search(self.request.user, text, status=None if every_status else Status.PUBLISHED)
        context.update(
            title="Search the knowledge base",
            form=form,
            q=text,
            results=results,
            every_status=every_status,
            staff=roles.is_staff_role(self.request.user),
        )
        return context


class ArticleDetail(RecordDetailView):
    """An article: the rendered body, its facts, votes, the moves its status allows, links, timeline,
    files and history. Reading it counts a view."""

    model = Article
    template_name = "knowledge/article_detail.html"
    allowed_roles = READERS
    edit_url_name = "knowledge:edit"
    edit_roles = STAFF

    def base_queryset(self):
        return queries.article_detail(self.request.user)

    def get(self, request, *args, **kwargs):
        article = self.get_object()
        services.article_record_view(article=article)
        return self.render_to_response(self.get_context_data(record=article))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        article, user = context["record"], self.request.user
        staff = roles.is_staff_role(user)
        vote = article.votes.filter(user=user).first()
        moves = []
        if staff:
            labels = dict(Status.choices)
            moves = [
                {"status": target, "label": labels[target]}
                for target in Status.values
                if target in TRANSITIONS[article.status]
            ]
        context.update(
            article=article,
            title=article.number,
            body_html=render_markdown(article.body),
            staff=staff,
            moves=moves,
            my_vote=vote,
            vote_form=kwargs.get("vote_form")
            or f.styled(
                f.VoteForm(
                    initial={
                        "helpful": "yes" if vote and vote.helpful else "no" if vote else None,
                        "comment": vote.comment if vote else "",
                    }
                ),
                small=True,
            ),
            links=kernel_queries.links_for(article, user) if staff else [],
            solved_count=article.self_help_resolutions.count() if staff else None,
            link_form=kwargs.get("link_form") or f.styled(self.link_form(), small=True),
        )
        if not staff:
            context.update(history=[], timeline=[])
        return context

    def link_form(self, data=None):
        """Link this article to another record: a known error, an incident, a problem... (every
        registered link target but articles)."""
        targets = [target for target in registry.link_targets if target.model is not Article]
        return LinkForm(data, targets=targets, auto_id="link_%s")

    def link_add(self, article, request):
        form = f.styled(self.link_form(request.POST), small=True)
        if form.is_valid():
            data = form.cleaned_data
            target = form.targets.get(data["target_type"])
            found = target.find(request.user, data["target"]) if target else []
            if not found:
                form.add_error("target", f"Nothing found for '{data['target']}'.")
            elif data["kind"] not in target.kinds:
                form.add_error("kind", f"A {target.label.lower()} is linked as: {', '.join(target.kinds)}.")
            else:
                try:
                    kernel_services.link_add(
                        source=found[0],
                        target=article,
                        actor=request.user,
                        kind=data["kind"],
                        note=data["note"],
                    )
                except ConflictError as error:
                    form.add_error(None, error.message)
                else:
                    messages.success(request, f"Linked to {found[0].record_label}.")
                    return HttpResponseRedirect(request.path + "#links")
        return self.render_to_response(self.get_context_data(record=article, link_form=form), status=400)

    def link_remove(self, article, request):
        links = {row["link"].pk: row["link"] for row in kernel_queries.links_for(article, request.user)}
        raw = request.POST.get("id", "")
        link = links.get(int(raw)) if raw.isdigit() else None
        if link is None:
            messages.error(request, "No such link.")
        else:
            kernel_services.link_remove(link=link, actor=request.user)
            messages.success(request, "Link removed.")
        return HttpResponseRedirect(request.path + "#links")

    def post(self, request, *args, **kwargs):
        action = request.POST.get("action", "")
        staff = roles.is_staff_role(request.user)
        if action in ("timeline", "attach"):
            if not staff:
                raise PermissionDenied("Only service desk staff add entries and files to articles.")
            return super().post(request, *args, **kwargs)
        article = self.get_object()
        if action == "vote":
            form = f.styled(f.VoteForm(request.POST), small=True)
            if form.is_valid():
                services.article_vote(
                    article=article,
                    user=request.user,
                    helpful=form.cleaned_data["helpful"],
                    comment=form.cleaned_data["comment"],
                )
                messages.success(request, "Thank you: your vote is recorded.")
                return HttpResponseRedirect(request.path + "#feedback")
            return self.render_to_response(self.get_context_data(record=article, vote_form=form), status=400)
        if action == "link_add" and staff:
            return self.link_add(article, request)
        if action == "link_remove" and staff:
            return self.link_remove(article, request)
        if action == "transition" and staff:
            form = f.TransitionForm(request.POST)
            if not form.is_valid():
                messages.error(request, "Choose a status.")
                return HttpResponseRedirect(request.path)
            try:
                services.article_transition(
                    article=article,
                    actor=request.user,
                    to=form.cleaned_data["status"],
                    note=form.cleaned_data["note"],
                    expected_version=form.cleaned_data["version"],
                )
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
                return self.render_to_response(self.get_context_data(record=self.get_object()), status=400)
            except ConflictError as error:
                messages.error(request, error.message)
                return self.render_to_response(self.get_context_data(record=self.get_object()), status=409)
            messages.success(
                request,
                f"{article.number} is now {dict(Status.choices)[form.cleaned_data['status']].lower()}.",
            )
            return HttpResponseRedirect(request.path)
        messages.error(request, "Unknown action.")
        return HttpResponseRedirect(request.path)


class ArticleFormView(RoleRequiredMixin, TemplateView):
    """Write an article (``?from_incident=<id>`` / ``?from_known_error=<id>`` pre-fill it and link it
    to its source) or edit one (version-checked; a text change adds a revision)."""

    template_name = "knowledge/article_form.html"
    allowed_roles = STAFF

    def get_object(self):
        if "pk" not in self.kwargs:
            return None
        return get_object_or_404(Article.objects.visible_to(self.request.user), pk=self.kwargs["pk"])

    def source_params(self, data) -> dict:
        return {
            "from_incident": data.get("from_incident", ""),
            "from_known_error": data.get("from_known_error", ""),
        }

    def context(self, article, form, draft=None, status=200):
        title = f"Edit {article.number}" if article else "Write an article"
        return self.render_to_response(
            self.get_context_data(form=f.styled(form), record=article, title=title, draft=draft),
            status=status,
        )

    def get(self, request, *args, **kwargs):
        article = self.get_object()
        if article is not None:
            return self.context(
                article, f.ArticleForm(instance=article, initial={"version": article.version})
            )
        params = self.source_params(request.GET)
        try:
            draft = sources.draft_for(request.user, **params)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return self.context(None, f.ArticleForm(), status=400)
        initial = {**(draft.initial if draft else {}), **params}
        return self.context(None, f.ArticleForm(initial=initial), draft)

    def post(self, request, *args, **kwargs):
        article = self.get_object()
        form = f.ArticleForm(data=request.POST, instance=article)
        draft = None
        if form.is_valid():
            try:
                if article is None:
                    draft = sources.draft_for(request.user, **self.source_params(form.cleaned_data))
                    saved = services.article_create(
                        actor=request.user,
                        fields=form.service_fields(),
                        link_to=draft.source if draft else None,
                        note=form.cleaned_data["note"],
                    )
                else:
                    saved = services.article_update(
                        article=article,
                        actor=request.user,
                        changes=form.service_fields(),
                        expected_version=form.cleaned_data.get("version"),
                        note=form.cleaned_data["note"],
                    )
            except ValidationError as error:
                _apply_errors(form, error)
            except ConflictError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, f"Saved {saved.number}.")
                return HttpResponseRedirect(saved.get_absolute_url())
        return self.context(article, form, draft, status=400)


class _ArticlePage(RoleRequiredMixin, TemplateView):
    allowed_roles = STAFF

    def article(self):
        return get_object_or_404(Article.objects.visible_to(self.request.user), pk=self.kwargs["pk"])


class RevisionList(_ArticlePage):
    """Every saved text of an article, with a choice of two to compare."""

    template_name = "knowledge/revisions.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        article = self.article()
        context.update(
            article=article, title=f"{article.number} revisions", revisions=list(queries.revisions(article))
        )
        return context


class RevisionDiff(_ArticlePage):
    """What changed between two revisions (``?old=1&new=3``; by default the last change)."""

    template_name = "knowledge/diff.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        article = self.article()
        try:
            old, new = queries.revision_pair(
                article, self.request.GET.get("old"), self.request.GET.get("new")
            )
        except ValidationError as error:
            raise Http404(" ".join(error.messages)) from None
        context.update(
            article=article,
            title=f"{article.number}: revision {old.number} → {new.number}",
            old=old,
            new=new,
            lines=queries.revision_diff(old, new),
        )
        return context


class MarkdownPreview(RoleRequiredMixin, TemplateView):
    """POST ``body``: the text as readers will see it (rendered and sanitised), for the form's preview."""

    allowed_roles = STAFF
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        body = request.POST.get("body", "")[:200000].replace("\x00", "")
        html = (
            render_markdown(body)
            if body.strip()
            else '<p class="text-body-secondary">Nothing to preview.</p>'
        )
        return HttpResponse(html)
