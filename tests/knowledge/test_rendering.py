"""The article body is Markdown rendered through an allow-list sanitiser: nothing the author writes
can run script in a reader's browser."""

import pytest

from knowledge.rendering import render_markdown

pytestmark = pytest.mark.django_db(False)


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        "Hello <SCRIPT src=https://evil.example/x.js></SCRIPT>",
        "<svg><script>alert(1)</script></svg>",
        "<style>body{display:none}</style>",
    ],
)
def test_script_and_style_are_removed_with_their_content(source):
    html = str(render_markdown(source)).lower()
    assert "<script" not in html and "alert(1)" not in html and "<style" not in html and "<svg" not in html


@pytest.mark.parametrize(
    "source",
    [
        "[click](javascript:alert(1))",
        "[click](JaVaScRiPt:alert(1))",
        '<a href="javascript:alert(1)">click</a>',
        '<a href="java&#x09;script:alert(1)">click</a>',
        "[click](vbscript:msgbox(1))",
        "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "![x](data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=)",
        '<img src="data:image/png;base64,AAAA">',
    ],
)
def test_unsafe_link_schemes_lose_their_url(source):
    html = str(render_markdown(source)).lower()
    assert "javascript" not in html and "vbscript" not in html and "data:" not in html
    assert "href=" not in html or 'href="http' in html


@pytest.mark.parametrize(
    "source",
    [
        '<img src="https://example.com/a.png" onerror="alert(1)">',
        '<p onclick="alert(1)">x</p>',
        '<a href="https://example.com" onmouseover="alert(1)">x</a>',
        '<div style="background:url(javascript:alert(1))">x</div>',
        "<iframe src=https://example.com></iframe>",
        '<form action="https://evil.example"><input name=q></form>',
    ],
)
def test_event_handlers_styles_and_active_elements_are_dropped(source):
    html = str(render_markdown(source)).lower()
    for bad in ("onerror", "onclick", "onmouseover", "style=", "<iframe", "<form", "<input", "alert"):
        assert bad not in html


def test_safe_markdown_survives_and_links_get_rel():
    html = str(
        render_markdown(
            "# Title\n\n**bold** _it_ `code`\n\n- one\n- two\n\n"
            "[site](https://example.com) [mail](mailto:desk@example.com) [page](/knowledge/)\n\n"
            "| a | b |\n|---|---|\n| 1 | 2 |\n"
        )
    )
    assert "<h1>Title</h1>" in html and "<strong>bold</strong>" in html and "<code>code</code>" in html
    assert '<a href="https://example.com" rel="noopener noreferrer">site</a>' in html
    assert 'href="mailto:desk@example.com"' in html and 'href="/knowledge/"' in html
    assert "<table>" in html and "<td>1</td>" in html


def test_text_that_looks_like_template_syntax_is_only_text():
    html = str(render_markdown("{{ request.user.password }} {% debug %}"))
    assert "{{ request.user.password }}" in html
