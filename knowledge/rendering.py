"""Article bodies: Markdown rendered to HTML, then cleaned by an allow-list sanitiser.

The Markdown library passes raw HTML through untouched, so its output is never trusted: ``nh3``
(the Rust ``ammonia`` sanitiser) keeps only the tags and attributes listed here, drops ``<script>``
and ``<style>`` with their content, every ``on*`` event attribute and ``style``, and any link or
image whose scheme is not http, https or mailto (``javascript:``, ``data:``, ``vbscript:`` ...).
Links get ``rel="noopener noreferrer"``.
"""

from __future__ import annotations

import markdown
import nh3
from django.utils.safestring import SafeString, mark_safe

ALLOWED_TAGS = frozenset(
    {
        "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "b", "i", "code", "pre",
        "blockquote", "ul", "ol", "li", "a", "img", "table", "thead", "tbody", "tr", "th", "td", "del",
        "kbd", "dl", "dt", "dd",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "ol": {"start"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
EXTENSIONS = ["fenced_code", "tables", "sane_lists"]


def sanitise_html(html: str) -> str:
    """HTML reduced to the allow-list (no script, no event handlers, only safe link schemes)."""
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


def render_markdown(text: str) -> SafeString:
    """The article body as safe HTML."""
    html = markdown.markdown(text or "", extensions=EXTENSIONS, output_format="html")
    return mark_safe(sanitise_html(html))  # noqa: S308 - cleaned by the allow-list just above
