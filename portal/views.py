"""The portal's pages: home (search, "we know, we're on it"), self-help (search, articles,
workarounds, "this solved it"), raising an incident (intake script, suggestions while typing,
attachments) and My tickets (public timeline, reply, files, confirm or reopen, rating, sharing).

Every page goes through ``PortalView``: signed in, one ``PortalVisit`` upsert per full page seen,
the agent preview banner. Every ticket is read through ``queries.tickets`` (visible_to, then the
user's own or watched): anything else is a 404, whatever the id. Writes call ``portal.services``."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views import View

from incidents import services as incident_services
from incidents.choices import Status
from itsm import roles
from itsm.exceptions import ConflictError
from itsm.models import Notification
from knowledge import queries as knowledge_queries
from knowledge import services as knowledge_services
from knowledge.choices import Status as ArticleStatus
from knowledge.rendering import render_markdown
from portal import forms as f
from portal import queries, services
from portal.ratelimit import RateLimited


def _messages_of(error: ValidationError) -> list[str]:
    if hasattr(error, "message_dict"):
        return [message for values in error.message_dict.values() for message in values]
    return list(error.messages)


class PortalView(LoginRequiredMixin, View):
    """Base of every portal page: sign-in required, visits counted, rate limits answered with 429."""

    count_visit = True

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        try:
            response = super().dispatch(request, *args, **kwargs)
        except RateLimited as limited:
            response = render(request, "portal/rate_limited.html", {"message": str(limited)}, status=429)
            response["Retry-After"] = str(limited.retry_after)
            return response
        # Visits measure end users' self-help: agents previewing the portal are not counted.
        if (
            self.count_visit
            and request.method == "GET"
            and not request.htmx
            and response.status_code == 200
            and not roles.is_staff_role(request.user)
        ):
            knowledge_services.portal_visit_record(user=request.user)
        return response

    def render(self, template: str, context: dict | None = None, status: int = 200):
        context = {"preview": roles.is_staff_role(self.request.user), **(context or {})}
        return render(self.request, template, context, status=status)


# -- home and self-help ----------------------------------------------------------------------------


class HomeView(PortalView):
    def get(self, request):
        user = request.user
        return self.render(
            "portal/home.html",
            {
                "title": "Help and support",
                "majors": queries.major_incidents(user),
                "open_tickets": list(queries.ticket_list(user, open_only=True)[:5]),
                "popular": queries.popular_articles(user),
            },
        )


class SearchView(PortalView):
    def get(self, request):
        text = request.GET.get("q", "").strip()[:200]
        found = queries.search(request.user, text)
        return self.render("portal/search.html", {"title": "Search", "q": text, "found": found})


class ArticleView(PortalView):
    def get(self, request, pk: int, vote_form=None, status: int = 200):
        article = get_object_or_404(
            knowledge_queries.article_detail(request.user).filter(status=ArticleStatus.PUBLISHED), pk=pk
        )
        if vote_form is None:
            knowledge_services.article_record_view(article=article)
        vote = article.votes.filter(user=request.user).first()
        return self.render(
            "portal/article.html",
            {
                "title": article.title,
                "article": article,
                "body_html": render_markdown(article.body),
                "vote": vote,
                "vote_form": vote_form or f.VoteForm(),
                "q": request.GET.get("q", "")[:200],
            },
            status=status,
        )

    def post(self, request, pk: int):
        article = get_object_or_404(
            knowledge_queries.article_detail(request.user).filter(status=ArticleStatus.PUBLISHED), pk=pk
        )
        form = f.VoteForm(request.POST)
        if not form.is_valid():
            return self.get(request, pk, vote_form=form, status=400)
        knowledge_services.article_vote(
            article=article,
            user=request.user,
            helpful=form.cleaned_data["helpful"] == "yes",
            comment=form.cleaned_data["comment"],
        )
        messages.success(request, "Thank you: your feedback helps us improve this article.")
        return HttpResponseRedirect(reverse("portal:article", args=[pk]))


class WorkaroundView(PortalView):
    def get(self, request, pk: int):
        known_error = queries.published_known_error(request.user, pk)
        if known_error is None:
            raise Http404("No such workaround.")
        return self.render(
            "portal/workaround.html",
            {
                "title": known_error.title,
                "known_error": known_error,
                "q": request.GET.get("q", "")[:200],
            },
        )


class SolvedView(PortalView):
    """ "This solved it": a self-help resolution with the article or workaround that helped; no incident."""

    def post(self, request):
        article = known_error = None
        article_id, known_error_id = request.POST.get("article", ""), request.POST.get("known_error", "")
        if article_id.isdigit():
            article = (
                knowledge_queries.articles(request.user)
                .filter(status=ArticleStatus.PUBLISHED, pk=int(article_id))
                .first()
            )
        elif known_error_id.isdigit():
            known_error = queries.published_known_error(request.user, int(known_error_id))
        if article is None and known_error is None:
            raise Http404("No such article or workaround.")
        knowledge_services.self_help_record(
            user=request.user, article=article, known_error=known_error, query=request.POST.get("q", "")
        )
        return self.render(
            "portal/solved.html",
            {"title": "Glad it is solved", "article": article, "known_error": known_error},
        )


# -- raise an incident -----------------------------------------------------------------------------


def _category_of(raw) -> object | None:
    raw = str(raw or "")
    return queries.categories().filter(pk=int(raw)).first() if raw.isdigit() else None


class RaiseView(PortalView):
    def form(self, data=None, files=None):
        source = data if data is not None else self.request.GET
        category = _category_of(source.get("category"))
        return f.RaiseForm(
            data,
            files,
            categories=queries.categories(),
            services=queries.services_for(self.request.user),
            questions=incident_services.intake_questions(category) if category else [],
            initial={"short_description": self.request.GET.get("q", "")[:200], "category": category},
        )

    def page(self, form, status: int = 200):
        return self.render("portal/raise.html", {"title": "Report a problem", "form": form}, status=status)

    def get(self, request):
        return self.page(self.form())

    def post(self, request):
        form = self.form(request.POST, request.FILES)
        if not form.is_valid():
            return self.page(form, status=400)
        try:
            incident = services.ticket_raise(
                user=request.user,
                fields=form.service_fields(),
                answers=form.answers(),
                uploads=form.cleaned_data["attachments"],
            )
        except ValidationError as error:
            by_field = error.message_dict if hasattr(error, "error_dict") else {None: error.messages}
            for field, errors in by_field.items():
                target = {"file": "attachments"}.get(field, field)
                if target not in form.fields:
                    target = None
                for message in errors:
                    form.add_error(target, message)
            return self.page(form, status=400)
        messages.success(
            request, f"Thank you. {incident.number} is logged; the service desk will be in touch."
        )
        return HttpResponseRedirect(reverse("portal:ticket", args=[incident.pk]))


class IntakePartial(PortalView):
    """htmx: the chosen category's intake questions."""

    count_visit = False

    def get(self, request):
        category = _category_of(request.GET.get("category"))
        form = f.RaiseForm(
            categories=queries.categories(),
            services=queries.services_for(request.user),
            questions=incident_services.intake_questions(category) if category else [],
        )
        return render(request, "portal/partials/intake.html", {"form": form})


class IntakeFixes(PortalView):
    """htmx, when an intake question is answered: the known fix the script gives for that answer
    [INC-9] (the same ``suggested_fixes`` the agents' form shows)."""

    count_visit = False

    def get(self, request):
        category = _category_of(request.GET.get("category"))
        questions = incident_services.intake_questions(category) if category else []
        given = [
            {"question": question.pk, "answer": request.GET.get(f"{f.ANSWER_PREFIX}{question.pk}", "")}
            for question in questions
        ]
        fixes = incident_services.suggested_fixes(questions, [row for row in given if row["answer"]])
        return render(request, "portal/partials/intake_fixes.html", {"fixes": fixes})


class SuggestPartial(PortalView):
    """htmx, while the user types: matching articles and published workarounds."""

    count_visit = False

    def get(self, request):
        text = " ".join(request.GET.get(name, "") for name in ("short_description", "description"))
        service = request.GET.get("service", "")
        found = queries.suggestions(request.user, text, int(service) if service.isdigit() else None)
        return render(request, "portal/partials/suggestions.html", {"found": found, "q": text.strip()[:200]})


# -- my tickets ------------------------------------------------------------------------------------


MY_TICKETS_SHOWN = 50


class TicketList(PortalView):
    def get(self, request):
        user = request.user
        # The 50 newest (open or not): rendering rows is most of this page's time (bench/portal.py);
        # older tickets through /api/v1/portal/tickets/ (cursor pages).
        rows = list(queries.ticket_list(user)[:MY_TICKETS_SHOWN])
        # One reverse() for every row's link: a {% url %} per row cost ~0.3 ms (bench/portal.py).
        url = reverse("portal:ticket", args=[0])[: -len("0/")]
        for row in rows:
            row.status_word = queries.STATUS_WORDS.get(row.status, row.status)
            row.portal_url = f"{url}{row.pk}/"
        return self.render(
            "portal/tickets.html",
            {
                "title": "My tickets",
                "open_rows": [
                    row for row in rows if row.status in (Status.NEW, Status.IN_PROGRESS, Status.ON_HOLD)
                ],
                "done_rows": [
                    row for row in rows if row.status not in (Status.NEW, Status.IN_PROGRESS, Status.ON_HOLD)
                ],
                "shared": [share for share in queries.shared_with(user)[:50] if not share.is_watching],
                "more": len(rows) == MY_TICKETS_SHOWN,
                "shown": MY_TICKETS_SHOWN,
            },
        )


def _ticket(request, pk: int):
    return get_object_or_404(queries.ticket_detail(request.user), pk=pk)


class TicketDetail(PortalView):
    def get(self, request, pk: int, forms: dict | None = None, status: int = 200):
        incident = _ticket(request, pk)
        user = request.user
        timeline = queries.public_timeline(incident, user)
        people = {incident.caller_id, *incident.watchers.values_list("pk", flat=True)}
        entries = [(entry, queries.author_label(entry, incident, people)) for entry in timeline]
        is_caller = incident.caller_id == user.pk
        forms = forms or {}
        context = {
            "title": f"{incident.number} {incident.short_description}",
            "incident": incident,
            "status_word": queries.STATUS_WORDS.get(incident.status, incident.get_status_display()),
            "entries": entries,
            "attachments": queries.public_attachments(incident, user),
            "is_caller": is_caller,
            "is_open": incident.status in (Status.NEW, Status.IN_PROGRESS, Status.ON_HOLD),
            "can_reply": incident.status not in (Status.CLOSED, Status.CANCELLED),
            "awaiting_confirmation": is_caller and incident.status == Status.RESOLVED,
            "can_rate": is_caller
            and incident.status in (Status.RESOLVED, Status.CLOSED)
            and incident.resolved_at is not None
            and not incident.is_rated,
            "shares": queries.shares_of(incident) if is_caller else [],
            "shared_with_me": not is_caller and incident.is_watching,
            "comment_form": forms.get("comment") or f.CommentForm(),
            "attach_form": forms.get("attach") or f.AttachForm(),
            "reopen_form": forms.get("reopen") or f.ReopenForm(),
            "rate_form": forms.get("rate") or f.RateForm(),
            "share_form": forms.get("share") or f.ShareForm(),
        }
        return self.render("portal/ticket.html", context, status=status)


class TicketAction(PortalView):
    """POST /portal/tickets/<id>/<action>/: each action validates its form and calls one service;
    refusals come back as the form's errors (400) or a message (409, 403)."""

    count_visit = False
    actions = {"comment", "attach", "confirm", "reopen", "rate", "share", "unshare", "unwatch"}

    def post(self, request, pk: int, action: str):
        if action not in self.actions:
            raise Http404("No such action.")
        incident = _ticket(request, pk)
        try:
            done = getattr(self, f"do_{action}")(request, incident)
            if isinstance(done, tuple):  # (form name, invalid form)
                return TicketDetail(request=request).get(request, pk, forms={done[0]: done[1]}, status=400)
        except ValidationError as error:
            for message in _messages_of(error):
                messages.error(request, message)
            return TicketDetail(request=request).get(request, pk, forms={}, status=400)
        except ConflictError as error:
            messages.error(request, str(error))
            return TicketDetail(request=request).get(request, pk, forms={}, status=409)
        except PermissionDenied as error:
            messages.error(request, str(error) or "You may not do that.")
            return TicketDetail(request=request).get(request, pk, forms={}, status=403)
        if action == "unwatch":
            return HttpResponseRedirect(reverse("portal:tickets"))
        return HttpResponseRedirect(reverse("portal:ticket", args=[pk]))

    def do_comment(self, request, incident):
        form = f.CommentForm(request.POST)
        if not form.is_valid():
            return ("comment", form)
        services.ticket_comment(user=request.user, incident=incident, body=form.cleaned_data["body"])
        messages.success(request, "Your message was added; the service desk has been told.")
        return None

    def do_attach(self, request, incident):
        form = f.AttachForm(request.POST, request.FILES)
        if not form.is_valid():
            return ("attach", form)
        try:
            services.ticket_attach(user=request.user, incident=incident, upload=form.cleaned_data["file"])
        except ValidationError as error:
            for message in _messages_of(error):
                form.add_error("file", message)
            return ("attach", form)
        messages.success(request, "The file was added.")
        return None

    def do_confirm(self, request, incident):
        services.ticket_confirm(user=request.user, incident=incident)
        messages.success(request, "Thank you for confirming: the ticket is closed.")
        return None

    def do_reopen(self, request, incident):
        form = f.ReopenForm(request.POST)
        if not form.is_valid():
            return ("reopen", form)
        services.ticket_reopen(user=request.user, incident=incident, reason=form.cleaned_data["reason"])
        messages.success(request, "The ticket is open again; the service desk has been told.")
        return None

    def do_rate(self, request, incident):
        form = f.RateForm(request.POST)
        if not form.is_valid():
            return ("rate", form)
        services.ticket_rate(
            user=request.user,
            incident=incident,
            rating=form.cleaned_data["rating"],
            comment=form.cleaned_data["comment"],
        )
        messages.success(request, "Thank you for your rating.")
        return None

    def do_share(self, request, incident):
        form = f.ShareForm(request.POST)
        if not form.is_valid():
            return ("share", form)
        colleague = queries.colleague(request.user, form.cleaned_data["colleague"])
        try:
            services.ticket_share(user=request.user, incident=incident, colleague=colleague)
        except ValidationError as error:
            for message in _messages_of(error):
                form.add_error("colleague", message)
            return ("share", form)
        messages.success(request, f"Shared with {colleague.get_full_name() or colleague.username}.")
        return None

    def do_unshare(self, request, incident):
        user_id = request.POST.get("user", "")
        share = next((s for s in queries.shares_of(incident) if str(s.user_id) == user_id), None)
        if share is None:
            raise ValidationError({"user": "The ticket is not shared with that person."})
        services.ticket_unshare(user=request.user, incident=incident, colleague=share.user)
        messages.success(request, "No longer shared.")
        return None

    def do_unwatch(self, request, incident):
        services.ticket_watch(user=request.user, incident=incident, watching=False)
        messages.success(request, f"You no longer follow {incident.number}.")
        return None


class WatchView(PortalView):
    """Follow again a ticket shared with you: only with an active share (404 otherwise)."""

    count_visit = False

    def post(self, request, pk: int):
        share = get_object_or_404(queries.shared_with(request.user), incident_id=pk)
        try:
            services.ticket_watch(user=request.user, incident=share.incident, watching=True)
        except ConflictError as error:
            messages.error(request, str(error))
            return HttpResponseRedirect(reverse("portal:tickets"))
        messages.success(request, f"You follow {share.incident.number} again.")
        return HttpResponseRedirect(reverse("portal:ticket", args=[pk]))


class NotificationList(PortalView):
    def get(self, request):
        rows = Notification.objects.filter(recipient=request.user).order_by("-created_at", "-id")[:50]
        return self.render("portal/notifications.html", {"title": "Notifications", "rows": list(rows)})
