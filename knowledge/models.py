"""Knowledge management: articles for agents and for self-help, their categories, revisions, the
readers' votes, and the self-help resolutions the portal records [INC-8].

Every write goes through ``knowledge.services``; these classes hold data and visibility only.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q
from django.urls import reverse

from itsm import roles
from itsm.models import NumberedRecord, Record, RecordQuerySet
from itsm.search import search_vector
from knowledge.choices import Audience, SelfHelpSource, Status

USER = settings.AUTH_USER_MODEL


class CategoryQuerySet(RecordQuerySet):
    def visible_to(self, user):
        # Reference data: anyone signed in may browse by category (the portal too).
        return self if user is not None and user.is_authenticated else self.none()


class Category(Record):
    """A knowledge category (reference data, kept in the admin): how readers browse the articles."""

    name = models.CharField(max_length=100, unique=True)
    description = models.CharField(max_length=300, blank=True)
    order = models.PositiveSmallIntegerField(default=100)
    is_active = models.BooleanField(default=True)

    objects = CategoryQuerySet.as_manager()

    class Meta:
        ordering = ["order", "name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("knowledge:list") + f"?category={self.pk}"


class ArticleQuerySet(RecordQuerySet):
    def visible_to(self, user):
        """Staff see every article (drafts and retired ones too). An end user sees published articles
        written for end users, or for their own organisation; nobody else sees anything."""
        if roles.is_staff_role(user):
            return self
        if user is None or not user.is_authenticated:
            return self.none()
        audience = Q(audience=Audience.END_USERS)
        if user.organisation_id:
            audience |= Q(audience=Audience.ORGANISATION, organisation_id=user.organisation_id)
        return self.filter(audience, status=Status.PUBLISHED)


class Article(NumberedRecord):
    """A knowledge article: how to fix or work around something, for agents or for end users. The body
    is Markdown, shown only through the sanitising renderer (``knowledge.rendering``)."""

    number_prefix = "KB"

    title = models.CharField(max_length=200)
    summary = models.CharField(max_length=300, blank=True, help_text="One or two lines shown in results.")
    body = models.TextField(help_text="Markdown.")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT, editable=False)
    audience = models.CharField(max_length=15, choices=Audience.choices, default=Audience.AGENTS)
    organisation = models.ForeignKey(
        "people.Organisation",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="articles",
        help_text="For the audience 'one organisation's end users'.",
    )
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.PROTECT, related_name="articles"
    )
    services = models.ManyToManyField(
        "configuration.ConfigurationItem",
        blank=True,
        related_name="service_articles",
        limit_choices_to={"ci_class__is_service": True},
        verbose_name="related services",
    )
    cis = models.ManyToManyField(
        "configuration.ConfigurationItem", blank=True, related_name="articles", verbose_name="related CIs"
    )
    owner = models.ForeignKey(
        USER,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="articles_owned",
        help_text="Keeps the article true; told about readers' feedback.",
    )
    review_by = models.DateField(null=True, blank=True, help_text="When the owner should check it again.")
    created_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    status_changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    published_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Counters kept by the services (votes under the article's row lock, views by an UPDATE).
    view_count = models.PositiveIntegerField(default=0, editable=False)
    helpful_count = models.PositiveIntegerField(default=0, editable=False)
    not_helpful_count = models.PositiveIntegerField(default=0, editable=False)
    revision_count = models.PositiveIntegerField(default=0, editable=False)

    search_vector = models.GeneratedField(
        expression=search_vector(("title", "A"), ("summary", "B"), ("body", "C")),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    # The body's changes are kept whole as revisions (with a diff view), not in the change history.
    history_exclude = frozenset(
        {
            "id",
            "created_at",
            "updated_at",
            "version",
            "search_vector",
            "body",
            "status_changed_at",
            "view_count",
            "helpful_count",
            "not_helpful_count",
            "revision_count",
        }
    )

    objects = ArticleQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            GinIndex(fields=["search_vector"], name="article_search_idx"),
            models.Index(fields=["status", "-id"], name="article_status_idx"),
            models.Index(
                fields=["review_by"], condition=Q(status=Status.PUBLISHED), name="article_review_due_idx"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(audience=Audience.ORGANISATION) | Q(organisation__isnull=False),
                name="article_organisation_audience",
            )
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    @property
    def record_label(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        return reverse("knowledge:detail", args=[self.pk])

    @property
    def helpful_share(self) -> int | None:
        """Share of helpful votes in percent, or None before the first vote."""
        total = self.helpful_count + self.not_helpful_count
        return round(100 * self.helpful_count / total) if total else None


class ArticleRevision(models.Model):
    """The title, summary and body of an article as saved at one time, by whom. Revision 1 is the
    first text; each later change of the title, summary or body adds one."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    summary = models.CharField(max_length=300, blank=True)
    body = models.TextField()
    author = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["article", "-number"]
        constraints = [models.UniqueConstraint(fields=["article", "number"], name="unique_article_revision")]

    def __str__(self) -> str:
        return f"{self.article_id} r{self.number}"


class ArticleVoteQuerySet(RecordQuerySet):
    def visible_to(self, user):
        if roles.is_staff_role(user):
            return self
        if user is None or not user.is_authenticated:
            return self.none()
        return self.filter(user=user)


class ArticleVote(models.Model):
    """A reader's verdict on an article: helpful or not, with an optional comment. One per reader and
    article; voting again changes it."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="votes")
    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="article_votes")
    helpful = models.BooleanField()
    comment = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ArticleVoteQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["article", "user"], name="unique_article_vote")]

    def __str__(self) -> str:
        return f"{self.user_id} on {self.article_id}: {'helpful' if self.helpful else 'not helpful'}"


class SelfHelpResolutionQuerySet(RecordQuerySet):
    def visible_to(self, user):
        if roles.is_staff_role(user):
            return self
        if user is None or not user.is_authenticated:
            return self.none()
        return self.filter(user=user)


class SelfHelpResolution(models.Model):
    """A user solved their own issue with an article or a published known error ("this solved it"):
    a deflected incident, the self-help record the seed asks to keep for measurement [INC-8].

    Known errors belong to ``problems`` (same layer), so they are kept by id and number, not by FK.
    """

    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="self_help_resolutions")
    organisation = models.ForeignKey(
        "people.Organisation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(max_length=12, choices=SelfHelpSource.choices)
    article = models.ForeignKey(
        Article, null=True, blank=True, on_delete=models.CASCADE, related_name="self_help_resolutions"
    )
    known_error_id = models.PositiveIntegerField(null=True, blank=True)
    known_error_number = models.CharField(max_length=20, blank=True)
    query = models.CharField(max_length=500, blank=True, help_text="What the user searched or typed.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = SelfHelpResolutionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(source=SelfHelpSource.ARTICLE, article__isnull=False, known_error_id__isnull=True)
                    | Q(source=SelfHelpSource.KNOWN_ERROR, article__isnull=True, known_error_id__isnull=False)
                ),
                name="self_help_one_source",
            )
        ]

    def __str__(self) -> str:
        what = self.article_id if self.source == SelfHelpSource.ARTICLE else self.known_error_number
        return f"{self.user_id} solved with {what}"


class PortalVisitQuerySet(RecordQuerySet):
    def visible_to(self, user):
        return self if roles.is_staff_role(user) else self.none()


class PortalVisit(models.Model):
    """One user's visits to the self-help portal on one day: ``hits`` pages, first and last seen.
    With ``SelfHelpResolution`` and the incidents raised in the portal it measures self-help
    (visitors, deflection) [INC-8]. Written by ``services.portal_visit_record``, one upsert a page."""

    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="portal_visits")
    organisation = models.ForeignKey(
        "people.Organisation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    day = models.DateField()
    hits = models.PositiveIntegerField(default=1)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()

    objects = PortalVisitQuerySet.as_manager()

    class Meta:
        ordering = ["-day", "user"]
        constraints = [models.UniqueConstraint(fields=["day", "user"], name="one_portal_visit_a_day")]

    def __str__(self) -> str:
        return f"{self.user_id} on {self.day}: {self.hits}"
