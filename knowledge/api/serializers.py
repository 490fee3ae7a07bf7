"""Serializers of the knowledge API. Reads show articles as the reader may see them (the body also as
sanitised HTML); writes validate the input's shape only, every rule is in ``knowledge.services``.
Choice fields are plain strings with their values listed (as enums they would collide with other
apps' ``status`` fields in the schema)."""

from __future__ import annotations

from rest_framework import serializers

from configuration.api.serializers import CISummarySerializer
from configuration.models import ConfigurationItem
from incidents.api.serializers import StrictFieldsMixin
from itsm import roles
from itsm.api.serializers import RecordSerializer, UserSummarySerializer
from knowledge import choices as c
from knowledge.models import Article, ArticleRevision, ArticleVote, Category, SelfHelpResolution
from knowledge.rendering import render_markdown
from people.models import Organisation, User

VERSION_HELP = "The version you are changing (or send If-Match); a stale one gets 409."


def choice(choices, **kwargs) -> serializers.CharField:
    """A choice as a plain string (the values listed in the help), validated against the choices."""
    values = [value for value, _ in choices]

    def valid(value):
        if value not in values:
            raise serializers.ValidationError(f"'{value}' is not one of: {', '.join(values)}.")

    help_text = "; ".join(f"{value}: {label}" for value, label in choices)
    return serializers.CharField(validators=[valid], help_text=help_text, **kwargs)


def shown(choices) -> serializers.CharField:
    return serializers.CharField(read_only=True, help_text="; ".join(f"{v}: {label}" for v, label in choices))


class KnowledgeCategorySerializer(StrictFieldsMixin, RecordSerializer):
    class Meta:
        model = Category
        fields = ["id", "name", "description", "order", "is_active", "version"]


class ArticleListSerializer(serializers.ModelSerializer):
    status = shown(c.Status.choices)
    audience = shown(c.Audience.choices)
    category_name = serializers.CharField(source="category.name", read_only=True, default=None)
    owner = UserSummarySerializer(read_only=True, allow_null=True, help_text="Staff only (null for readers).")
    url = serializers.CharField(source="get_absolute_url", read_only=True)
    snippet = serializers.SerializerMethodField(
        help_text="With q=: the body's best matching passages, HTML-escaped, matches in <mark>."
    )

    class Meta:
        model = Article
        fields = [
            "id",
            "number",
            "title",
            "summary",
            "status",
            "audience",
            "category",
            "category_name",
            "owner",
            "review_by",
            "view_count",
            "helpful_count",
            "not_helpful_count",
            "published_at",
            "updated_at",
            "version",
            "url",
            "snippet",
        ]

    def to_representation(self, article):
        data = super().to_representation(article)
        request = self.context.get("request")
        if request is not None and not roles.is_staff_role(request.user):
            # Readers are not told who owns an article (staff names stay with staff).
            data["owner"] = None
        return data

    def get_snippet(self, article) -> str | None:
        from knowledge.queries import snippet_html

        raw = getattr(article, "body_headline", None)
        return str(snippet_html(raw)) if raw is not None else None


class ArticleSerializer(ArticleListSerializer):
    body_html = serializers.SerializerMethodField(help_text="The body rendered and sanitised.")
    organisation_name = serializers.CharField(source="organisation.name", read_only=True, default=None)
    services = CISummarySerializer(many=True, read_only=True)
    cis = CISummarySerializer(many=True, read_only=True)

    class Meta(ArticleListSerializer.Meta):
        fields = [
            *[name for name in ArticleListSerializer.Meta.fields if name != "snippet"],
            "body",
            "body_html",
            "organisation",
            "organisation_name",
            "services",
            "cis",
            "revision_count",
            "created_at",
        ]

    def get_body_html(self, article) -> str:
        return str(render_markdown(article.body))


class ArticleWriteSerializer(StrictFieldsMixin, serializers.Serializer):
    title = serializers.CharField(max_length=200)
    summary = serializers.CharField(max_length=300, required=False, allow_blank=True)
    body = serializers.CharField(max_length=200000)
    audience = choice(c.Audience.choices, required=False)
    organisation = serializers.PrimaryKeyRelatedField(
        queryset=Organisation.objects.all(), required=False, allow_null=True
    )
    category = serializers.PrimaryKeyRelatedField(
        queryset=Category.objects.filter(is_active=True), required=False, allow_null=True
    )
    services = serializers.PrimaryKeyRelatedField(
        queryset=ConfigurationItem.objects.all(), many=True, required=False
    )
    cis = serializers.PrimaryKeyRelatedField(
        queryset=ConfigurationItem.objects.all(), many=True, required=False
    )
    owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), required=False, allow_null=True
    )
    review_by = serializers.DateField(required=False, allow_null=True)
    note = serializers.CharField(
        max_length=300, required=False, allow_blank=True, default="", help_text="Why (kept on the revision)."
    )
    version = serializers.IntegerField(required=False, min_value=1, help_text=VERSION_HELP)


class ArticleCreateSerializer(ArticleWriteSerializer):
    """Title and body may come from the record the article is written from."""

    title = serializers.CharField(max_length=200, required=False)
    body = serializers.CharField(max_length=200000, required=False)
    from_incident = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="A resolved incident the article is written from (linked to it).",
    )
    from_known_error = serializers.IntegerField(
        required=False, min_value=1, help_text="A known error the article is written from (linked to it)."
    )

    def validate(self, attrs):
        if attrs.get("from_incident") and attrs.get("from_known_error"):
            raise serializers.ValidationError(
                {"from_known_error": "Name one source: an incident or a known error."}
            )
        return attrs


class ArticleDraftSerializer(serializers.Serializer):
    title = serializers.CharField()
    summary = serializers.CharField()
    body = serializers.CharField()
    audience = serializers.CharField()
    category = serializers.IntegerField(allow_null=True)
    services = serializers.ListField(child=serializers.IntegerField())
    cis = serializers.ListField(child=serializers.IntegerField())
    source = serializers.CharField(help_text="The number of the incident or known error.")


class ArticleTransitionSerializer(StrictFieldsMixin, serializers.Serializer):
    status = choice(c.Status.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)
    version = serializers.IntegerField(required=False, min_value=1, help_text=VERSION_HELP)


class ArticleVoteSerializer(StrictFieldsMixin, serializers.Serializer):
    helpful = serializers.BooleanField()
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)


class ArticleVoteResultSerializer(serializers.ModelSerializer):
    helpful_count = serializers.IntegerField(source="article.helpful_count", read_only=True)
    not_helpful_count = serializers.IntegerField(source="article.not_helpful_count", read_only=True)

    class Meta:
        model = ArticleVote
        fields = ["id", "article", "helpful", "comment", "updated_at", "helpful_count", "not_helpful_count"]


class ArticleRevisionSerializer(serializers.ModelSerializer):
    author = UserSummarySerializer(read_only=True)

    class Meta:
        model = ArticleRevision
        fields = ["id", "number", "title", "summary", "body", "author", "created_at", "note"]


class ArticleDiffLineSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="context, added, removed or hunk")
    text = serializers.CharField()


class ArticleDiffSerializer(serializers.Serializer):
    old = serializers.IntegerField(source="old_number")
    new = serializers.IntegerField(source="new_number")
    lines = ArticleDiffLineSerializer(many=True)


class SelfHelpSerializer(serializers.ModelSerializer):
    source = shown(c.SelfHelpSource.choices)

    class Meta:
        model = SelfHelpResolution
        fields = [
            "id",
            "user",
            "source",
            "article",
            "known_error_id",
            "known_error_number",
            "query",
            "created_at",
        ]
        read_only_fields = fields


class SelfHelpCreateSerializer(StrictFieldsMixin, serializers.Serializer):
    article = serializers.IntegerField(required=False, min_value=1)
    known_error = serializers.IntegerField(required=False, min_value=1)
    query = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)

    def validate(self, attrs):
        if bool(attrs.get("article")) == bool(attrs.get("known_error")):
            raise serializers.ValidationError(
                {"article": "Name the article or the known error that solved it (one of them)."}
            )
        return attrs
