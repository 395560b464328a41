import pytest
from django.test import Client


@pytest.mark.django_db
def test_home_anonymous_redirects_to_login(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.django_db
def test_login_page_offers_sign_in_and_sets_csp(client: Client) -> None:
    response = client.get("/login/")
    assert response.status_code == 200
    assert b"Sign in with your company account" in response.content
    csp = response["Content-Security-Policy"]
    assert "unsafe-inline" not in csp
    assert "script-src 'self'" in csp
