"""Reading a page's card facts and choosing a status's link (pure, no network)."""

from __future__ import annotations

import pytest

from wildebeest_trio.link_details import (
    normalize_url,
    read_oembed,
    read_page,
    sanitize_embed,
    status_link,
)

PAGE = "https://news.example/story"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("HTTPS://News.Example:443/a?b=1#top", "https://news.example/a?b=1"),
        ("http://news.example", "http://news.example/"),
        ("http://news.example:8080/x", "http://news.example:8080/x"),
        ("https://bücher.example/", "https://xn--bcher-kva.example/"),
        ("ftp://news.example/", None),
        ("https:///nohost", None),
        ("https://news.example:99999/", None),
        ("javascript:alert(1)", None),
    ],
)
def test_urls_have_one_spelling(given: str, expected: str | None) -> None:
    assert normalize_url(given) == expected


def test_the_first_link_that_is_no_tag_mention_or_own_page() -> None:
    content = (
        '<p><a href="https://here.example/tags/x" class="mention hashtag" rel="tag">#x</a> '
        '<span class="h-card"><a href="https://there.example/@bob" class="u-url mention">'
        "@bob</a></span> "
        '<a href="https://there.example/users/carl">@carl</a> '
        '<a href="https://here.example/@me/1">mine</a> '
        '<a href="mailto:x@example.org">mail</a> '
        '<a href="https://news.example/story">news</a> '
        '<a href="https://other.example/">other</a></p>'
    )
    found = status_link(
        content,
        mention_urls={"https://there.example/users/carl"},
        local_hosts={"here.example"},
    )
    assert found == "https://news.example/story"
    assert status_link("<p>no links</p>", mention_urls=set(), local_hosts=set()) is None
    assert status_link("", mention_urls=set(), local_hosts=set()) is None


def test_json_ld_comes_before_opengraph_and_broken_json_ld_is_skipped() -> None:
    html = b"""<html><head>
    <script type="application/ld+json">{broken</script>
    <script type="application/ld+json">/* <![CDATA[ */
    {"@type": "NewsArticle", "headline": "From JSON-LD", "description": "LD description",
     "inLanguage": "pt-BR", "datePublished": "2026-01-02T03:04:05+01:00",
     "author": [{"name": "Ann Author", "url": "/ann"}], "publisher": {"name": "Daily"},
     "image": {"url": "https://cdn.example/i.jpg"}}
    /* ]]> */</script>
    <meta property="og:title" content="From OpenGraph">
    <link rel="canonical" href="https://elsewhere.example/not-same-host">
    </head></html>"""
    page = read_page(PAGE, html, "utf-8")
    assert page is not None
    facts = page.facts
    assert (facts.title, facts.description, facts.language) == (
        "From JSON-LD",
        "LD description",
        "pt",
    )
    assert (facts.author_name, facts.author_url) == ("Ann Author", "https://news.example/ann")
    assert (facts.provider_name, facts.link_type) == ("Daily", "article")
    assert facts.image_url == "https://cdn.example/i.jpg"
    assert facts.published_at == 1767319445000
    # A canonical URL on another host is not believed.
    assert facts.url == PAGE


def test_charset_and_empty_pages() -> None:
    latin = "<html><head><title>Caf\xe9</title></head></html>".encode("latin-1")
    page = read_page(PAGE, latin, "iso-8859-1")
    assert page is not None and page.facts.title == "Café"
    page = read_page(PAGE, latin, "no-such-charset")
    assert page is not None  # an unknown charset is not fatal
    assert read_page(PAGE, b"", None) is None
    empty = read_page(PAGE, b"<html></html>", None)
    assert empty is not None and not empty.facts.worth_keeping
    creator = read_page(PAGE, b'<meta name="fediverse:creator" content="@Ann@Host.Example">', None)
    assert creator is not None and creator.facts.creator == "Ann@host.example"
    bad = read_page(PAGE, b'<meta name="fediverse:creator" content="not a handle">', None)
    assert bad is not None and bad.facts.creator is None


def test_embeds_keep_only_iframes() -> None:
    assert sanitize_embed("<script>alert(1)</script>") == ""
    assert sanitize_embed('<iframe src="javascript:alert(1)"></iframe>') == ""
    kept = sanitize_embed(
        '<div><iframe src="https://v.example/e" style="x" width="5" allowfullscreen></iframe></div>'
    )
    assert kept.startswith('<iframe src="https://v.example/e" width="5" allowfullscreen')
    assert "style" not in kept and "sandbox=" in kept


def test_oembed_types() -> None:
    page = read_page(PAGE, b"<title>Page</title>", None)
    assert page is not None
    endpoint = "https://news.example/oembed"
    assert read_oembed(page.facts, endpoint, {"type": "link"}) is None  # no version 1.0
    assert read_oembed(page.facts, endpoint, {"version": "1.0", "type": "game"}) is None
    photo = read_oembed(
        page.facts,
        endpoint,
        {"version": "1.0", "type": "photo", "url": "/p.jpg", "width": 300, "height": "200"},
    )
    assert photo is not None
    assert (photo.type, photo.embed_url, photo.image_url) == (
        "photo",
        "https://news.example/p.jpg",
        "https://news.example/p.jpg",
    )
    assert (photo.width, photo.height) == (300, 200)
    assert read_oembed(page.facts, endpoint, {"version": "1.0", "type": "photo"}) is None
    link = read_oembed(
        page.facts, endpoint, {"version": 1.0, "type": "link", "title": "T", "thumbnail_url": "/t"}
    )
    assert link is not None and link.image_url == "https://news.example/t"
