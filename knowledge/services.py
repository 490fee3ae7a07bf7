"""Every write of the knowledge base: articles (create, edit with revisions, lifecycle), votes, view
counts and self-help resolutions.

Each function runs in one transaction. Functions that change an article lock its row
(``SELECT ... FOR UPDATE``), check the optimistic version when one is given, and write the change
history and a timeline entry in the same transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.db.models import F
from django.utils import timezone

from configuration.models import ConfigurationItem
from itsm import history, roles
from itsm import services as kernel
from itsm.exceptions import StaleVersion, TransitionNotAllowed
from itsm.models import ChangeRecord, TimelineEntry
from itsm.notifications import notify
from knowledge.choices import TRANSITIONS, Audience, SelfHelpSource, Status
from knowledge.models import Article, ArticleRevision, ArticleVote, SelfHelpResolution

# Fields a create or an edit may set; status, counters and dates are set by the actions.
ARTICLE_FIELDS = frozenset(
    {
        "title",
        "summary",
        "body",
        "audience",
        "organisation",
        "category",
        "services",
        "cis",
        "owner",
        "review_by",
    }
)
TEXT_FIELDS = ("title", "summary", "body")
M2M_FIELDS = ("services", "cis")


def _actor(actor):
    return actor if actor is not None and actor.is_authenticated else None


def _unknown(fields: Iterable[str]) -> None:
    unknown = set(fields) - ARTICLE_FIELDS
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "This field is set by an action, not here."))


def _note(article, actor, body: str, *, kind=TimelineEntry.Kind.SYSTEM) -> None:
    kernel.timeline_add(
        record=article, author=actor, kind=kind, visibility=TimelineEntry.Visibility.INTERNAL, body=body
    )


def _check(article: Article, m2m: dict[str, list]) -> None:
    """Rules across fields: an organisation's audience names the organisation; services are services."""
    errors = {}
    if not (article.body or "").strip():
        errors["body"] = "Write the article's text."
    if article.audience == Audience.ORGANISATION and article.organisation_id is None:
        errors["organisation"] = "Choose the organisation whose end users may read it."
    if article.audience != Audience.ORGANISATION:
        article.organisation = None
    if article.owner_id is not None and not roles.is_staff_role(article.owner):
        errors["owner"] = "The owner keeps the article true: choose a member of staff."
    services = m2m.get("services")
    if services:
        ids = [getattr(item, "pk", item) for item in services]
        not_services = ConfigurationItem.objects.filter(pk__in=ids, ci_class__is_service=False)
        names = sorted(not_services.values_list("name", flat=True))
        if names:
            errors["services"] = f"Not services: {', '.join(names)}."
    if errors:
        raise ValidationError(errors)


def _revision(article: Article, actor, note: str = "") -> ArticleRevision:
    article.revision_count += 1
    return ArticleRevision.objects.create(
        article=article,
        number=article.revision_count,
        title=article.title,
        summary=article.summary,
        body=article.body,
        author=_actor(actor),
        note=note[:300],
    )


@transaction.atomic
def article_create(
    *, actor, fields: dict[str, Any], link_to: models.Model | None = None, note: str = ""
) -> Article:
    """Write a draft article (revision 1). ``link_to``: the incident or known error it was written
    from, linked through the kernel's generic links so both records show it."""
    fields = dict(fields)
    _unknown(fields)
    m2m = {name: list(fields.pop(name)) for name in M2M_FIELDS if name in fields}
    article = Article(**fields)
    article.status = Status.DRAFT
    article.status_changed_at = timezone.now()
    article.created_by = _actor(actor)
    if article.owner_id is None and _actor(actor) is not None:
        article.owner = actor
    _check(article, m2m)
    article.full_clean(exclude=["services", "cis", "number"])
    article.save()
    for name, values in m2m.items():
        if values:
            getattr(article, name).set(values)
    _revision(article, actor, note or "First version")
    Article.objects.filter(pk=article.pk).update(revision_count=1)
    snapshot = history.snapshot(
        article, known={name: sorted(getattr(v, "pk", v) for v in values) for name, values in m2m.items()}
    )
    changes = {
        key: {"old": None, "new": value} for key, value in snapshot.items() if value not in (None, "", [], {})
    }
    changes["revision"] = {"old": None, "new": 1}
    kernel.history_record(instance=article, actor=actor, action=ChangeRecord.Action.CREATE, changes=changes)
    _note(article, actor, "Article written (draft).")
    if link_to is not None:
        kernel.link_add(
            source=link_to, target=article, actor=actor, kind="related", note="Article written from it"
        )
    return article


def _lock(article: Article, expected_version: int | None) -> Article:
    locked = Article.objects.select_for_update(of=("self",)).get(pk=article.pk)
    if expected_version is not None and locked.version != expected_version:
        raise StaleVersion(expected=expected_version, current=locked.version)
    return locked


@transaction.atomic
def article_update(
    *,
    article: Article,
    actor,
    changes: dict[str, Any],
    expected_version: int | None = None,
    note: str = "",
) -> Article:
    """Edit an article under its row lock. A change of title, summary or body adds a revision (the
    history row names it); setting the values it already has changes nothing."""
    changes = dict(changes)
    _unknown(changes)
    locked = _lock(article, expected_version)
    before = history.snapshot(locked)
    text_before = tuple(getattr(locked, name) for name in TEXT_FIELDS)
    m2m = {name: list(changes.pop(name)) for name in M2M_FIELDS if name in changes}
    for name, value in changes.items():
        setattr(locked, name, value)
    _check(locked, m2m)
    locked.full_clean(exclude=list(M2M_FIELDS))
    after = history.snapshot(
        locked, fields=[f for f in history.tracked_fields(Article) if not f.many_to_many]
    )
    after.update({name: sorted(getattr(v, "pk", v) for v in values) for name, values in m2m.items()})
    delta = history.diff(before, {**before, **after})
    text_changed = tuple(getattr(locked, name) for name in TEXT_FIELDS) != text_before
    if not delta and not text_changed:
        return locked
    if text_changed:
        revision = _revision(locked, actor, note)
        delta["revision"] = {"old": revision.number - 1, "new": revision.number}
        if "body" not in delta and locked.body != text_before[2]:
            delta["body"] = {"old": f"revision {revision.number - 1}", "new": f"revision {revision.number}"}
    locked.version += 1
    locked.save()
    for name, values in m2m.items():
        getattr(locked, name).set(values)
    kernel.history_record(
        instance=locked, actor=actor, action=ChangeRecord.Action.UPDATE, changes=delta, reason=note
    )
    return locked


@transaction.atomic
def article_transition(
    *, article: Article, actor, to: str, expected_version: int | None = None, note: str = ""
) -> Article:
    """Move an article along its lifecycle (``choices.TRANSITIONS``); 409 naming the allowed statuses.
    Asking for the status it already has does nothing."""
    if to not in Status.values:
        raise ValidationError({"status": f"Unknown status '{to}'. Known: {', '.join(Status.values)}."})
    locked = _lock(article, expected_version)
    current = locked.status
    if to == current:
        return locked
    if to not in TRANSITIONS[current]:
        raise TransitionNotAllowed(current=current, requested=to, allowed=TRANSITIONS[current])
    if to == Status.PUBLISHED and not locked.summary.strip():
        raise ValidationError({"summary": "Write a summary before publishing: readers see it in results."})
    now = timezone.now()
    before = history.snapshot(locked)
    locked.status = to
    locked.status_changed_at = now
    if to == Status.PUBLISHED:
        locked.published_at = now
    locked.version += 1
    locked.save()
    kernel.history_record(
        instance=locked,
        actor=actor,
        action=ChangeRecord.Action.UPDATE,
        changes=history.diff(before, history.snapshot(locked)),
        reason=note,
    )
    labels = dict(Status.choices)
    body = f"Status: {labels[current].lower()} → {labels[to].lower()}."
    if note.strip():
        body += f" {note.strip()}"
    _note(locked, actor, body, kind=TimelineEntry.Kind.STATUS_CHANGE)
    return locked


@transaction.atomic
def article_vote(*, article: Article, user, helpful: bool, comment: str = "") -> ArticleVote:
    """Record the reader's verdict (one vote per reader and article; voting again changes it) and keep
    the article's counters under its row lock. A "not helpful" with a comment tells the owner once."""
    if _actor(user) is None:
        raise ValidationError({"user": "Sign in to vote."})
    comment = (comment or "").strip()
    locked = Article.objects.select_for_update(of=("self",)).get(pk=article.pk)
    vote = ArticleVote.objects.filter(article=locked, user=user).first()
    if vote is None:
        vote = ArticleVote.objects.create(article=locked, user=user, helpful=helpful, comment=comment[:1000])
        counter = "helpful_count" if helpful else "not_helpful_count"
        Article.objects.filter(pk=locked.pk).update(**{counter: F(counter) + 1})
    else:
        if vote.helpful != helpful:
            gained, lost = (
                ("helpful_count", "not_helpful_count") if helpful else ("not_helpful_count", "helpful_count")
            )
            Article.objects.filter(pk=locked.pk).update(**{gained: F(gained) + 1, lost: F(lost) - 1})
        vote.helpful = helpful
        vote.comment = comment[:1000]
        vote.save(update_fields=["helpful", "comment", "updated_at"])
    if not helpful and comment and locked.owner_id and locked.owner_id != user.pk:
        digest = hashlib.sha256(comment.encode()).hexdigest()[:12]
        notify(
            [locked.owner],
            subject=f"{locked.number} was not helpful to a reader",
            body=f"{user.get_full_name() or user.get_username()} wrote: {comment}",
            record=locked,
            key=f"article:{locked.pk}:feedback:{vote.pk}:{digest}",
            kind="knowledge.feedback",
        )
    return vote


def article_record_view(*, article: Article) -> None:
    """Count one reading of the article (one UPDATE; no lock held, no history)."""
    Article.objects.filter(pk=article.pk).update(view_count=F("view_count") + 1)


@transaction.atomic
def self_help_record(
    *, user, article: Article | None = None, known_error=None, query: str = ""
) -> SelfHelpResolution:
    """Record that ``user`` solved their issue with an article or a published known error ("this
    solved it"): a deflected incident, counted for measurement [INC-8].

    ``article`` must be one the user may read. ``known_error`` is any object with ``pk`` and
    ``number`` that the caller has already checked the user may read (the portal takes it from
    problems' ``KnownError.objects.published_for(user)``).
    """
    if _actor(user) is None:
        raise ValidationError({"user": "Sign in first."})
    if (article is None) == (known_error is None):
        raise ValidationError(
            {"article": "Name the article or the known error that solved it (one of them)."}
        )
    if article is not None:
        if not Article.objects.visible_to(user).filter(pk=article.pk).exists():
            raise ValidationError({"article": "No such article."})
        return SelfHelpResolution.objects.create(
            user=user,
            organisation_id=user.organisation_id,
            source=SelfHelpSource.ARTICLE,
            article=article,
            query=(query or "").strip()[:500],
        )
    return SelfHelpResolution.objects.create(
        user=user,
        organisation_id=user.organisation_id,
        source=SelfHelpSource.KNOWN_ERROR,
        known_error_id=known_error.pk,
        known_error_number=str(getattr(known_error, "number", ""))[:20],
        query=(query or "").strip()[:500],
    )


def portal_visit_record(*, user, at=None) -> None:
    """Count one portal page seen by ``user`` today: one upsert (no lock held, no history). The
    day is the local calendar day of ``TIME_ZONE``."""
    if _actor(user) is None:
        return
    at = at or timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO knowledge_portalvisit
                   (user_id, organisation_id, day, hits, first_seen_at, last_seen_at)
               VALUES (%s, %s, %s, 1, %s, %s)
               ON CONFLICT (day, user_id) DO UPDATE
                   SET hits = knowledge_portalvisit.hits + 1, last_seen_at = EXCLUDED.last_seen_at""",
            [user.pk, getattr(user, "organisation_id", None), timezone.localdate(at), at, at],
        )


def reviews_due(*, today=None, batch: int = 500) -> int:
    """Tell the owners of published articles whose ``review_by`` date has come (beat, daily). Each
    date is told once per owner (notification key), so a second run, a retry or two beats tell nobody
    twice. Returns the number of articles due."""
    today = today or timezone.localdate()
    due = (
        Article.objects.filter(status=Status.PUBLISHED, review_by__lte=today)
        .select_related("owner", "created_by")
        .only("id", "number", "title", "review_by", "owner", "created_by")
        .order_by("review_by", "id")[:batch]
    )
    count = 0
    for article in due:
        count += 1
        reader = article.owner or article.created_by
        if reader is None:
            continue
        with transaction.atomic():
            told = notify(
                [reader],
                subject=f"Review {article.number}: {article.title}"[:200],
                body=f"{article.number} was due for review on {article.review_by}: check it is still true, "
                "then set the next review date (or retire it).",
                record=article,
                key=f"article:{article.pk}:review:{article.review_by}",
                kind="knowledge.review_due",
            )
            if told:
                _note(article, None, f"Review due (since {article.review_by}).")
    return count
