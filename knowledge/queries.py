"""Read-side queries of the knowledge base, shared by pages, the API, the global search, the
incident suggestions and (later) the portal. Every one goes through ``Article.objects.visible_to``."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import F, QuerySet
from django.http import Http404
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from incidents.queries import STOP_WORDS
from itsm.search import SEARCH_CONFIG, search_query
from knowledge.choices import Status
from knowledge.models import Article, ArticleRevision, Category

LIST_ONLY = (
    "id",
    "number",
    "title",
    "summary",
    "status",
    "audience",
    "organisation__name",
    "category__name",
    "owner__username",
    "owner__first_name",
    "owner__last_name",
    "review_by",
    "view_count",
    "helpful_count",
    "not_helpful_count",
    "created_at",
    "updated_at",
    "published_at",
    "version",
)


def articles(user) -> QuerySet:
    """Articles ``user`` may see, for lists: the body and the search vector are not read."""
    return (
        Article.objects.visible_to(user).select_related("category", "owner", "organisation").only(*LIST_ONLY)
    )


def search_list(user, text: str) -> QuerySet:
    """The API's list with ``q=``: the related rows are read for the page only (two small queries),
    not joined to every matching article before the ranking sorts them (a common word matches
    thousands); ``snippet`` headlines are computed for the page only (after the sort and limit)."""
    fields = [name for name in LIST_ONLY if "__" not in name] + ["category", "owner"]
    return with_snippets(
        Article.objects.visible_to(user).only(*fields).prefetch_related("category", "owner"), text
    )


def article_detail(user) -> QuerySet:
    return (
        Article.objects.visible_to(user)
        .select_related("category", "owner", "organisation", "created_by")
        .prefetch_related("services", "cis")
        .defer("search_vector")
    )


def categories(user) -> QuerySet:
    return Category.objects.visible_to(user).filter(is_active=True)


# -- full-text search with highlighted snippets ----------------------------------------------------

_START, _STOP = "\x02", "\x03"
_MARKDOWN_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MARKDOWN_NOISE = re.compile(r"(^|\s)#{1,6}\s|[*_`>|~]{1,3}")


def snippet_html(raw: str) -> SafeString:
    """A ``ts_headline`` fragment as safe HTML: the text escaped, Markdown noise dropped, the matched
    words in ``<mark>``. The markers are control characters, so nothing the author wrote becomes markup."""
    text = _MARKDOWN_NOISE.sub(" ", _MARKDOWN_LINK.sub(r"\1", raw or ""))
    text = escape(re.sub(r"\s+", " ", text).strip())
    html = text.replace(_START, "<mark>").replace(_STOP, "</mark>")
    if html.count("<mark>") != html.count("</mark>"):  # the author typed a marker character
        html = text.replace(_START, "").replace(_STOP, "")
    return mark_safe(html)  # noqa: S308 - escaped above; only our own <mark> tags added


def headline(field_name: str, query: SearchQuery, *, fragments: int = 2) -> SearchHeadline:
    return SearchHeadline(
        field_name,
        query,
        config=SEARCH_CONFIG,
        start_sel=_START,
        stop_sel=_STOP,
        max_words=30,
        min_words=12,
        max_fragments=fragments,
        fragment_delimiter=" … ",
    )


def ranked(queryset: QuerySet, text: str) -> QuerySet:
    """Articles matching ``text`` (web-search syntax) ranked best first: title weighs most (A), then
    the summary (B), then the body (C)."""
    query = search_query(text)
    return (
        queryset.filter(search_vector=query)
        .annotate(search_rank=SearchRank(F("search_vector"), query))
        .order_by("-search_rank", "-id")
    )


def with_snippets(queryset: QuerySet, text: str) -> QuerySet:
    """Adds ``title_headline`` and ``body_headline`` (raw, with control markers; see ``snippet_html``)."""
    query = search_query(text)
    return queryset.annotate(
        title_headline=SearchHeadline(
            "title", query, config=SEARCH_CONFIG, start_sel=_START, stop_sel=_STOP, highlight_all=True
        ),
        body_headline=headline("body", query),
    )


@dataclass
class SearchResult:
    article: Article
    rank: float
    title_html: SafeString
    snippet_html: SafeString


def search(user, text: str, *, limit: int = 20, status: str | None = Status.PUBLISHED) -> list[SearchResult]:
    """The knowledge search page: ranked articles ``user`` may see with highlighted snippets.
    Agents search published articles unless ``status`` is None (every status).

    Two queries: the best ``limit`` ids ranked over the article table alone (no joins, no
    headlines: a common word matches thousands of rows), then those rows with their joins and
    ``ts_headline``."""
    text = (text or "").strip()[:200]
    if not text:
        return []
    candidates = Article.objects.visible_to(user)
    if status:
        candidates = candidates.filter(status=status)
    best = list(ranked(candidates, text).values_list("id", "search_rank")[:limit])
    if not best:
        return []
    page = with_snippets(articles(user).filter(pk__in=[pk for pk, _ in best]), text)
    rows = {article.pk: article for article in page}
    return [
        SearchResult(
            article=rows[pk],
            rank=float(rank),
            title_html=snippet_html(rows[pk].title_headline),
            snippet_html=snippet_html(rows[pk].body_headline),
        )
        for pk, rank in best
        if pk in rows
    ]


# -- suggestions while an incident is logged ------------------------------------------------------

_WORD = re.compile(r"[^\W_]{3,}", re.UNICODE)
SUGGESTION_CANDIDATES = 50
MIN_SCORE = 0.2


@dataclass
class ArticleMatch:
    article: Article
    score: float
    words: list[str] = field(default_factory=list)
    out_of: int = 0
    same_service: bool = False

    @property
    def why(self) -> str:
        parts = [f"{len(self.words)} of {self.out_of} words: {', '.join(self.words)}"]
        if self.same_service:
            parts.append("about the incident's service")
        return "; ".join(parts)


def _words(text: str) -> list[str]:
    words = []
    for word in _WORD.findall((text or "").lower()):
        if word not in STOP_WORDS and word not in words:
            words.append(word)
    return words[:12]


def _stems(words: list[str]) -> dict[str, str]:
    """PostgreSQL's English stem of each word (words that are stop words to PostgreSQL are left out)."""
    if not words:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT w, array_to_string(tsvector_to_array(to_tsvector(%s::regconfig, w)), ' ') "
            "FROM unnest(%s::text[]) AS w",
            [SEARCH_CONFIG, words],
        )
        return {word: stem for word, stem in cursor.fetchall() if stem}


_LEXEME = re.compile(r"'((?:[^']|'')+)':")


def suggest(user, facts: dict, *, limit: int = 5) -> list[ArticleMatch]:
    """Published articles ``user`` may read that match an incident's text, best first, each saying
    why (the words it shares, the service). Three queries: the stems, the candidates, their services."""
    stems = _stems(_words(facts.get("text", "")))
    if not stems:
        return []
    query = SearchQuery(" | ".join(sorted(set(stems.values()))), search_type="raw", config=SEARCH_CONFIG)
    candidates = list(
        Article.objects.visible_to(user)
        .filter(status=Status.PUBLISHED, search_vector=query)
        .annotate(search_rank=SearchRank(F("search_vector"), query))
        .order_by("-search_rank", "-id")
        .only(
            "id",
            "number",
            "title",
            "summary",
            "audience",
            "search_vector",
            "helpful_count",
            "not_helpful_count",
        )[:SUGGESTION_CANDIDATES]
    )
    if not candidates:
        return []
    service_id = facts.get("service_id")
    with_service = set()
    if service_id:
        with_service = set(
            Article.services.through.objects.filter(
                article_id__in=[a.pk for a in candidates], configurationitem_id=service_id
            ).values_list("article_id", flat=True)
        )
    matches = []
    for article in candidates:
        lexemes = {lexeme.replace("''", "'") for lexeme in _LEXEME.findall(str(article.search_vector or ""))}
        shared = [word for word, stem in stems.items() if set(stem.split()) <= lexemes]
        share = len(shared) / len(stems)
        score = 0.7 * share + 0.3 * min(1.0, float(article.search_rank) * 2)
        same = article.pk in with_service
        if same:
            score += 0.15
        if score < MIN_SCORE:
            continue
        matches.append(
            ArticleMatch(
                article=article, score=round(score, 2), words=shared, out_of=len(stems), same_service=same
            )
        )
    matches.sort(key=lambda match: (-match.score, -match.article.pk))
    return matches[:limit]


def match_as_data(match: ArticleMatch) -> dict:
    article = match.article
    return {
        "id": article.pk,
        "number": article.number,
        "title": article.title,
        "summary": article.summary,
        "url": article.get_absolute_url(),
        "score": match.score,
        "why": match.why,
    }


# -- revisions --------------------------------------------------------------------------------------


def revisions(article: Article) -> QuerySet:
    return ArticleRevision.objects.filter(article=article).select_related("author").order_by("-number")


def revision_pair(article, old, new):
    """The two revisions to compare (numbers as typed; 400 naming the parameter, 404 when missing)."""

    def number(value, name):
        if value in (None, ""):
            return None
        try:
            parsed = int(value)
        except (TypeError, ValueError):
            raise ValidationError({name: f"'{value}' is not a revision number."}) from None
        if not 0 < parsed < 2**31:
            raise ValidationError({name: f"'{value}' is not a revision number."})
        return parsed

    new_number = number(new, "new") or article.revision_count
    old_number = number(old, "old") or max(new_number - 1, 1)
    found = {rev.number: rev for rev in revisions(article).filter(number__in=[old_number, new_number])}
    if old_number not in found or new_number not in found:
        raise Http404("No such revision.")
    return found[old_number], found[new_number]


@dataclass
class DiffLine:
    kind: str  # "context", "added", "removed", "hunk"
    text: str


def revision_diff(old: ArticleRevision, new: ArticleRevision) -> list[DiffLine]:
    """Line diff (``difflib.unified_diff``) of two revisions' title, summary and body."""

    def lines(revision: ArticleRevision) -> list[str]:
        return [f"# {revision.title}", "", revision.summary, "", *revision.body.splitlines()]

    result = []
    for line in difflib.unified_diff(
        lines(old), lines(new), f"revision {old.number}", f"revision {new.number}", lineterm="", n=3
    ):
        if line.startswith(("---", "+++")):
            continue
        if line.startswith("@@"):
            result.append(DiffLine("hunk", line))
        elif line.startswith("+"):
            result.append(DiffLine("added", line[1:]))
        elif line.startswith("-"):
            result.append(DiffLine("removed", line[1:]))
        else:
            result.append(DiffLine("context", line[1:]))
    return result


def find_for_link(user, text: str, limit: int = 10) -> list[Article]:
    """Articles matching a number or words, for the "link to" pickers of other records."""
    text = (text or "").strip()
    if not text:
        return []
    rows = Article.objects.visible_to(user).only("id", "number", "title", "status")
    if re.fullmatch(r"(?i)kb\d+", text):
        return list(rows.filter(number__iexact=text)[:limit])
    return list(ranked(rows, text)[:limit])


# -- self-help measurement [INC-8] -----------------------------------------------------------------


def self_help_counts(user, *, since=None) -> list[dict]:
    """Deflected incidents by what helped, most first: ``{"source", "article_id", "known_error_number",
    "count"}`` from the self-help records ``user`` may see (staff: all). For dashboards."""
    from django.db.models import Count

    from knowledge.models import SelfHelpResolution

    rows = SelfHelpResolution.objects.visible_to(user)
    if since is not None:
        rows = rows.filter(created_at__gte=since)
    return list(
        rows.values("source", "article_id", "known_error_number")
        .annotate(count=Count("id"))
        .order_by("-count", "source", "article_id", "known_error_number")
    )
