"""The demo's sign-in provider (gatehouse/signin_provider), as the demo and the browser tests run
it: its pages load nothing from outside this machine, and it still signs people in."""

from __future__ import annotations

import http.client
import re
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

from gatehouse import signin_provider
from gatehouse.management.commands.demo import OIDC_PORT, Command
from tests.browser.plugin import OidcProvider

AUTHORIZE_QUERY = urlencode(
    {
        "client_id": "gatehouse",
        "redirect_uri": "http://127.0.0.1:8000/oidc/callback/",
        "response_type": "code",
        "scope": "openid email profile",
        "state": "s1",
    }
)


def get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # loopback only
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read().decode()


def resource_urls(html: str) -> list[str]:
    """Everything the page makes a browser fetch: stylesheets, scripts, icons, images."""
    tags = re.findall(r"<(?:link|script|img|style|iframe|source)\b[^>]*>", html, re.IGNORECASE)
    urls = [m for tag in tags for m in re.findall(r'(?:href|src)="([^"]*)"', tag)]
    urls += re.findall(r"@import\s+(?:url\()?[\"']?([^\"')\s]+)", html)
    return urls


def test_the_demo_runs_this_provider(tmp_path: Path) -> None:
    claims = tmp_path / "demo" / "oidc-people.json"
    assert Command().commands(tmp_path)["oidc"] == signin_provider.command(
        host="127.0.0.1", port=OIDC_PORT, claims_file=claims
    )


def test_the_sign_in_page_loads_only_from_the_provider(oidc_provider: OidcProvider) -> None:
    status, _, html = get(f"{oidc_provider.url}/oauth2/authorize?{AUTHORIZE_QUERY}")
    assert status == 200
    urls = resource_urls(html)
    assert urls, "the page links its stylesheet"
    assert all(url.startswith("/") and not url.startswith("//") for url in urls), urls
    assert "cdn" not in html.lower() and "https://" not in html
    stylesheets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)
    assert len(stylesheets) == 2  # Bootstrap and Gatehouse's own, as installed
    for href in stylesheets:
        status, content_type, css = get(oidc_provider.url + href)
        assert status == 200 and content_type.startswith("text/css") and len(css) > 500
    # Each demo person by name, with the Okta id that is their sub.
    maya = next(c for c in oidc_provider.claims if c["email"] == "maya.chen@acme.com")
    assert f'aria-label="Authorize as {maya["sub"]}"' in html and "Maya Chen" in html


def test_an_error_page_loads_only_from_the_provider(oidc_provider: OidcProvider) -> None:
    status, _, html = get(f"{oidc_provider.url}/oauth2/authorize?client_id=gatehouse")
    assert status == 400
    assert all(url.startswith("/") for url in resource_urls(html)) and "https://" not in html
    assert "The sign-in request was refused" in html


def test_only_the_named_assets_are_served(oidc_provider: OidcProvider) -> None:
    for name in ("..%2Fsettings.py", "bootstrap.css", "gatehouse.js"):
        assert get(f"{oidc_provider.url}/assets/{name}")[0] == 404


def test_picking_a_person_still_issues_a_code(oidc_provider: OidcProvider) -> None:
    sub = oidc_provider.claims[0]["sub"]
    parts = urlsplit(oidc_provider.url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    try:
        connection.request(
            "POST",
            f"/oauth2/authorize?{AUTHORIZE_QUERY}",
            body=urlencode({"sub": sub}),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        response = connection.getresponse()
        response.read()
    finally:
        connection.close()
    assert response.status in (302, 303)
    location = urlsplit(response.getheader("Location") or "")
    assert location.path == "/oidc/callback/"
    query = parse_qs(location.query)
    assert query["state"] == ["s1"] and query["code"]
