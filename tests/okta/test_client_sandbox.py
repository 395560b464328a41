"""The client against the Okta sandbox over real HTTP: pages, auth, errors, faults, limits."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.cache.backends.locmem import LocMemCache

from okta.client import OktaClient, OktaError
from okta.governor import CacheGovernor
from okta.sandbox.seed import acme_group_id, acme_user_id


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def okta(okta_sandbox: Any, sleeps: Sleeps) -> Iterator[OktaClient]:
    client = OktaClient(okta_sandbox.url, token=okta_sandbox.token, sleep=sleeps)
    yield client
    client.close()


def test_sandbox_pagination_small_pages_match_one_big_walk(okta: OktaClient) -> None:
    pages = list(okta.iter_pages("/api/v1/users", {"limit": 7}))
    small = [u["id"] for p in pages for u in p.items]
    assert len(pages) > 3
    assert all(p.after for p in pages[:-1]) and pages[-1].next_url is None
    big = [u.id for u in okta.iter_users()]
    assert small == big and len(set(big)) == len(big)


def test_sandbox_group_members_and_user_groups_agree(okta: OktaClient) -> None:
    engineering = acme_group_id("Engineering")
    members = {u.id for u in okta.iter_group_members(engineering)}
    maya = acme_user_id("maya.chen@acme.com")
    assert maya in members
    assert "Engineering" in {g.name for g in okta.list_user_groups(maya)}


def test_sandbox_me_and_admin_roles(okta: OktaClient) -> None:
    me = okta.get_user("me")
    assert me.login
    holders = set(okta.iter_role_assignees())
    sam = acme_user_id("sam.rivera@acme.com")
    assert sam in holders
    assert "SUPER_ADMIN" in {r.type for r in okta.list_user_roles(sam)}


def test_sandbox_not_found_error_carries_okta_fields(okta: OktaClient) -> None:
    with pytest.raises(OktaError) as caught:
        okta.get_user("00uNobodyHere000001")
    err = caught.value
    assert (err.status, err.error_code) == (404, "E0000007")
    assert err.request_id and not err.retryable


def test_sandbox_wrong_token_is_a_clear_error(okta_sandbox: Any) -> None:
    with (
        OktaClient(okta_sandbox.url, token="wrong-token") as client,
        pytest.raises(OktaError) as caught,
    ):
        client.get_user("me")
    assert (caught.value.status, caught.value.error_code) == (401, "E0000011")


def test_sandbox_unreachable_org_is_retryable_error(sleeps: Sleeps) -> None:
    with OktaClient("http://127.0.0.1:9", token="t", sleep=sleeps, max_retries=1) as client:
        with pytest.raises(OktaError) as caught:
            client.get_user("me")
    assert caught.value.retryable and caught.value.status is None
    assert len(sleeps) == 1


def test_sandbox_faults_are_retried_and_walk_completes(
    okta: OktaClient, okta_sandbox: Any, sleeps: Sleeps
) -> None:
    expected = [u.id for u in okta.iter_users()]
    okta_sandbox.set_faults(
        [
            {"error_rate": 0.3, "error_status": 503, "seed": 7, "path_prefix": "/api/v1/users"},
            {"drop_rate": 0.2, "seed": 11, "path_prefix": "/api/v1/users"},
        ]
    )
    got = [u["id"] for p in okta.iter_pages("/api/v1/users", {"limit": 10}) for u in p.items]
    assert got == expected
    counters = okta_sandbox.counters()
    assert counters["server_errors"] + counters["dropped"] > 0
    assert sleeps  # it backed off between tries


def test_sandbox_429_reports_wait_until_the_window_resets(
    okta_sandbox: Any, sleeps: Sleeps
) -> None:
    okta_sandbox.set_rate_limits({"/api/v1/groups/{id}": 3})
    gov = CacheGovernor(cache=LocMemCache("sandbox-429", {}))
    engineering = acme_group_id("Engineering")
    with OktaClient(
        okta_sandbox.url, token=okta_sandbox.token, governor=gov, sleep=sleeps, max_retries=1
    ) as client:
        for _ in range(3):
            client.get_group(engineering)
        with pytest.raises(OktaError) as caught:
            client.get_group(engineering)
    err = caught.value
    assert (err.status, err.error_code) == (429, "E0000047") and err.retryable
    # The sandbox's window opened with the first call and lasts a minute; the headers have
    # one-second resolution, for which the client adds a second.
    assert err.retry_after is not None
    assert 58 <= err.retry_after <= 62.5
    assert sleeps and abs(sleeps[-1] - err.retry_after) < 1.5  # waited for the reset once
    assert gov.state("/api/v1/groups/{id}").blocked_until > time.time() + 55  # Okta's bucket


def test_sandbox_oauth_private_key_jwt(okta_sandbox: Any) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    okta_sandbox.register_oauth_client("0oaGatehouse", public_pem, ["okta.groups.read"])
    with OktaClient(
        okta_sandbox.url,
        client_id="0oaGatehouse",
        private_key=private_pem,
        scopes=("okta.groups.read",),
    ) as client:
        assert "Engineering" in {g.name for g in client.iter_groups(q="Eng")}
        with pytest.raises(OktaError) as caught:
            client.get_user(acme_user_id("maya.chen@acme.com"))  # no okta.users.read scope
        assert caught.value.status in (401, 403)

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    wrong_pem = other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    with (
        OktaClient(
            okta_sandbox.url,
            client_id="0oaGatehouse",
            private_key=wrong_pem,
            scopes=("okta.groups.read",),
        ) as client,
        pytest.raises(OktaError) as refused,
    ):
        list(client.iter_groups())
    assert refused.value.status in (400, 401)
    assert jwt  # the library that signed the assertions


def test_sandbox_system_log_resumes_from_cursor(okta: OktaClient) -> None:
    cursor = None
    for page in okta.log_pages(since="2000-01-01T00:00:00Z"):
        cursor = page.after
    assert cursor
    maya, finance = acme_user_id("maya.chen@acme.com"), acme_group_id("Finance")
    okta.add_group_member(finance, maya)
    new = [e for e in okta.iter_logs(after=cursor)]
    assert [e.event_type for e in new] == ["group.user_membership.add"]
    assert {t["id"] for t in new[0].targets} == {maya, finance}


def test_sandbox_event_hook_lifecycle(okta: OktaClient) -> None:
    hook = okta.create_event_hook(
        name="Gatehouse",
        url="https://gatehouse.example/hooks/okta",
        events=["group.user_membership.add", "group.user_membership.remove"],
        auth_value="hook-secret",
    )
    assert hook.status == "ACTIVE" and hook.url == "https://gatehouse.example/hooks/okta"
    assert "hook-secret" not in json.dumps(hook.events)
    assert okta.deactivate_event_hook(hook.id).status == "INACTIVE"
    assert okta.activate_event_hook(hook.id).status == "ACTIVE"
    assert hook.id in {h.id for h in okta.list_event_hooks()}
    okta.deactivate_event_hook(hook.id)
    okta.delete_event_hook(hook.id)
    with pytest.raises(OktaError) as caught:
        okta.get_event_hook(hook.id)
    assert caught.value.is_not_found
