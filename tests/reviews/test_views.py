"""Review pages on the small mirror of tests/reviews/conftest.py."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from typing import Any

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.chain import chain_verify
from audit.models import AuditEvent
from okta.models import Operation
from reviews import services
from reviews.models import Campaign, CampaignStatus, Decision, ReviewItem
from tests.approvals.conftest import HTMX, join, person_make
from tests.reviews.conftest import World
from tests.world import ClientFor

# --- the reviewer's page -----------------------------------------------------------------------


def test_mine_shows_the_reviewers_items_risky_first_with_their_context(
    world: World, client_for: ClientFor
) -> None:
    page = client_for("priya").get(reverse("reviews:mine")).content.decode()
    ivy, maya = page.index("Ivy Stone"), page.index("Maya Chen")
    assert ivy < maya, "the suspended person's access comes first"
    assert "Cannot sign in: SUSPENDED" in page
    assert "on-call for the payments service" in page  # the grant's request reason
    assert f"#{world.grant.request_id}" in page and "ends " in page
    assert "Obtained outside Gatehouse" in page  # ivy's membership
    assert "manager Priya Patel" in page
    assert "last signed in 2026-11-02 08:30" in page and "never signed in" in page
    assert "Omar" not in page and "Sam Rivera" not in page  # the admins' items


def test_mine_stranger_sees_none_of_it(world: World, client_for: ClientFor) -> None:
    page = client_for("stan").get(reverse("reviews:mine")).content.decode()
    assert "Nothing to review." in page and "Maya Chen" not in page


def test_mine_htmx_is_the_list_fragment(world: World, client_for: ClientFor) -> None:
    response = client_for("priya").get(reverse("reviews:mine"), headers=HTMX)
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="review-list">') and "<html" not in body
    assert body.count('data-testid="review-item"') == 2


def test_mine_queries_do_not_grow_with_items(
    world: World, django_assert_max_num_queries: Any, client_for: ClientFor
) -> None:
    client = client_for("priya")
    client.get(reverse("reviews:mine"))
    with django_assert_max_num_queries(9) as few:
        client.get(reverse("reviews:mine"))
    for n in range(30):
        join(person_make(f"rep{n}.x@acme.com", manager=world.p.priya), world.item.group)  # type: ignore[arg-type]
    services.campaign_create(
        actor=world.p.u["sam"],
        name="Again",
        catalog_item_ids=[world.item.pk],
        reviewer_rule="manager",
        due_at=timezone.now() + timedelta(days=3),
    )
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("reviews:mine"))
    assert response.content.decode().count('data-testid="review-item"') == 34


def test_admin_sees_the_fallen_items_and_cannot_review_their_own(
    world: World, client_for: ClientFor
) -> None:
    client = client_for("sam")
    page = client.get(reverse("reviews:mine")).content.decode()
    assert "Omar Haddad" in page and "you cannot review it" in page
    own = world.item_of(world.p.sam)
    response = client.post(
        reverse("reviews:item_decide", args=[own.pk]), {"decision": "keep"}, headers=HTMX
    )
    assert "You cannot review your own access" in response.content.decode()
    own.refresh_from_db()
    assert own.decision == Decision.UNDECIDED


# --- deciding ----------------------------------------------------------------------------------


def test_item_decide_keeps_and_says_so(world: World, client_for: ClientFor) -> None:
    item = world.item_of(world.p.maya)
    client = client_for("priya")
    response = client.post(
        reverse("reviews:item_decide", args=[item.pk]), {"decision": "keep", "note": "on-call"}
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert (item.decision, item.decided_by, item.note) == (
        "keep",
        "priya.patel@acme.com",
        "on-call",
    )
    assert "decision recorded" in client.get(response["Location"]).content.decode()
    assert AuditEvent.objects.filter(action="review_item.decided", target_id=str(item.pk))


def test_item_decide_htmx_returns_the_row(
    world: World, queued: list[int], django_capture_on_commit_callbacks: Any, client_for: ClientFor
) -> None:
    item = world.item_of(world.ivy)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for("priya").post(
            reverse("reviews:item_decide", args=[item.pk]), {"decision": "revoke"}, headers=HTMX
        )
    body = response.content.decode()
    assert body.lstrip().startswith(f'<li class="card mb-3" id="review-item-{item.pk}"')
    assert "Revoke</strong> by priya.patel@acme.com" in body and "Being removed in Okta" in body
    item.refresh_from_db()
    assert queued == [item.operation_id]
    op = Operation.objects.get(pk=queued[0])
    assert op.kind == "group.member.remove" and op.params["user_id"] == world.ivy.id


def test_item_decide_stranger_gets_404_and_nothing_changes(
    world: World, client_for: ClientFor
) -> None:
    item = world.item_of(world.p.maya)
    response = client_for("stan").post(
        reverse("reviews:item_decide", args=[item.pk]), {"decision": "revoke"}
    )
    assert response.status_code == 404
    item.refresh_from_db()
    assert item.decision == Decision.UNDECIDED and not Operation.objects.exists()


def test_bulk_keeps_the_selected_and_refuses_others_items(
    world: World, client_for: ClientFor
) -> None:
    mine = [world.item_of(world.p.maya).pk, world.item_of(world.ivy).pk]
    omar = world.item_of(world.p.omar)  # the admins'
    client = client_for("priya")
    response = client.post(
        reverse("reviews:bulk"), {"ids": [*mine, omar.pk], "decision": "keep"}, follow=True
    )
    page = response.content.decode()
    assert "Kept 2 item(s)." in page and f"Item #{omar.pk}: No such item to review." in page
    assert set(ReviewItem.objects.filter(pk__in=mine).values_list("decision", flat=True)) == {
        "keep"
    }
    omar.refresh_from_db()
    assert omar.decision == Decision.UNDECIDED


def test_bulk_stranger_decides_nothing(world: World, client_for: ClientFor) -> None:
    ids = list(ReviewItem.objects.values_list("pk", flat=True))
    client_for("stan").post(reverse("reviews:bulk"), {"ids": ids, "decision": "revoke"})
    assert not ReviewItem.objects.exclude(decision="").exists()


def test_bulk_htmx_post_redirects_back_to_the_page(world: World, client_for: ClientFor) -> None:
    item = world.item_of(world.p.maya)
    response = client_for("priya").post(
        reverse("reviews:bulk"), {"ids": [item.pk], "decision": "keep"}, headers=HTMX
    )
    assert response.status_code == 302 and response["Location"] == reverse("reviews:mine")


# --- campaigns, report, export -----------------------------------------------------------------


def test_campaigns_lists_for_admins_and_auditors_only(world: World, client_for: ClientFor) -> None:
    page = client_for("sam").get(reverse("reviews:campaigns")).content.decode()
    assert "Backend review" in page and "New campaign" in page
    assert client_for("stan").get(reverse("reviews:campaigns")).status_code == 404
    assert client_for("priya").get(reverse("reviews:campaigns")).status_code == 404


def test_campaigns_htmx_is_the_table(world: World, client_for: ClientFor) -> None:
    body = client_for("sam").get(reverse("reviews:campaigns"), headers=HTMX)
    assert body.content.decode().startswith('<div id="campaign-table">')


def test_campaign_new_starts_a_campaign_over_groups_by_name(
    world: World, client_for: ClientFor
) -> None:
    due = (timezone.now() + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M")
    response = client_for("sam").post(
        reverse("reviews:campaign_new"),
        {
            "name": "Named",
            "groups": "Engineering - Backend\n",
            "reviewer_rule": "person",
            "reviewer": "john.doe@acme.com",
            "end_rule": "revoke",
            "due_at": due,
        },
    )
    campaign = Campaign.objects.get(name="Named")
    assert response.status_code == 302 and response["Location"] == campaign.get_absolute_url()
    assert campaign.status == CampaignStatus.ACTIVE and campaign.item_count == 4
    assert set(campaign.items.values_list("reviewer_okta_id", flat=True)) == {world.p.john.id}
    assert AuditEvent.objects.filter(action="review_campaign.created", target_id=str(campaign.pk))


def test_campaign_new_htmx_shows_errors_in_the_form(world: World, client_for: ClientFor) -> None:
    response = client_for("sam").post(
        reverse("reviews:campaign_new"),
        {
            "name": "x",
            "groups": "No Such Group",
            "reviewer_rule": "manager",
            "end_rule": "keep",
            "due_at": "2099-01-01T00:00",
        },
        headers=HTMX,
    )
    body = response.content.decode()
    assert body.startswith('<form method="post"') and "Not in the directory: No Such Group" in body
    assert not Campaign.objects.filter(name="x").exists()


def test_campaign_new_stranger_gets_404(world: World, client_for: ClientFor) -> None:
    assert client_for("stan").get(reverse("reviews:campaign_new")).status_code == 404
    response = client_for("stan").post(reverse("reviews:campaign_new"), {"name": "x"})
    assert response.status_code == 404


def test_campaign_detail_reports_progress_per_reviewer(
    world: World, queued: list[int], client_for: ClientFor
) -> None:
    services.review_item_decide(
        actor=world.p.u["priya"], item_id=world.item_of(world.ivy).pk, decision="revoke"
    )
    for who in ("sam", "tessa"):
        page = client_for(who).get(world.campaign.get_absolute_url()).content.decode()
        assert "1 of 4 decided: 0 kept, 1 revoked, 3 undecided" in page
        assert "Priya Patel</td><td>1 of 2" in page and "Admins</td><td>0 of 2" in page
        assert "Ivy Stone · Engineering - Backend" in page


def test_campaign_detail_stranger_gets_404(world: World, client_for: ClientFor) -> None:
    assert client_for("stan").get(world.campaign.get_absolute_url()).status_code == 404


def test_campaign_detail_htmx_is_the_report(world: World, client_for: ClientFor) -> None:
    body = client_for("sam").get(world.campaign.get_absolute_url(), headers=HTMX)
    assert body.content.decode().lstrip().startswith('<div id="campaign-report"')


def test_campaign_export_carries_the_chain_head_that_verifies(
    world: World, client_for: ClientFor
) -> None:
    services.review_item_decide(
        actor=world.p.u["priya"], item_id=world.item_of(world.p.maya).pk, decision="keep"
    )
    response = client_for("sam").get(
        reverse("reviews:campaign_export", args=[world.campaign.pk, "csv"])
    )
    text = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    rows = list(csv.reader(io.StringIO(text)))
    head_id, head_hash = int(rows[1][1]), rows[2][1]
    event = AuditEvent.objects.get(pk=head_id)
    assert event.action == "review_campaign.exported" and event.hash == head_hash
    assert response["X-Audit-Chain-Head"] == f"{head_id}:{head_hash}"
    report = chain_verify()
    assert report.ok and report.head_id == head_id and report.head_hash == head_hash
    header = rows[4]
    items = [dict(zip(header, row, strict=True)) for row in rows[5:]]
    assert len(items) == 4
    maya = next(i for i in items if i["subject_login"] == "maya.chen@acme.com")
    assert maya["decision"] == "keep" and maya["grant_id"] == str(world.grant.pk)


def test_campaign_export_stranger_gets_404(world: World, client_for: ClientFor) -> None:
    url = reverse("reviews:campaign_export", args=[world.campaign.pk, "csv"])
    assert client_for("stan").get(url).status_code == 404
    assert not AuditEvent.objects.filter(action="review_campaign.exported").exists()


def test_campaign_end_applies_the_keep_rule(world: World, client_for: ClientFor) -> None:
    response = client_for("sam").post(
        reverse("reviews:campaign_end", args=[world.campaign.pk]), follow=True
    )
    assert "4 kept and 0 revoked by its end rule" in response.content.decode()
    world.campaign.refresh_from_db()
    assert world.campaign.status == CampaignStatus.ENDED
    assert set(world.campaign.items.values_list("decided_by", flat=True)) == {"end rule"}


def test_campaign_end_stranger_gets_404(world: World, client_for: ClientFor) -> None:
    url = reverse("reviews:campaign_end", args=[world.campaign.pk])
    assert client_for("stan").post(url).status_code == 404
    assert client_for("priya").post(url, headers=HTMX).status_code == 404
    world.campaign.refresh_from_db()
    assert world.campaign.status == CampaignStatus.ACTIVE


def test_campaign_export_jsonl_carries_the_chain_head(world: World, client_for: ClientFor) -> None:
    response = client_for("sam").get(
        reverse("reviews:campaign_export", args=[world.campaign.pk, "jsonl"])
    )
    lines = b"".join(response.streaming_content).decode().splitlines()  # type: ignore[attr-defined]
    head = json.loads(lines[0])
    event = AuditEvent.objects.get(pk=head["audit_chain_head_event_id"])
    assert event.hash == head["audit_chain_head_hash"] == chain_verify().head_hash
    items = [json.loads(line) for line in lines[1:]]
    assert {i["subject_login"] for i in items} >= {"maya.chen@acme.com", "ivy.stone@acme.com"}


def test_campaign_export_of_an_unknown_format_is_refused_unrecorded(
    world: World, client_for: ClientFor
) -> None:
    url = reverse("reviews:campaign_export", args=[world.campaign.pk, "xml"])
    assert client_for("sam").get(url).status_code == 400
    assert not AuditEvent.objects.filter(action="review_campaign.exported").exists()


# --- delegation --------------------------------------------------------------------------------


def test_item_delegate_hands_the_item_over_and_records_it(
    world: World, client_for: ClientFor
) -> None:
    item = world.item_of(world.p.maya)
    response = client_for("priya").post(
        reverse("reviews:item_delegate", args=[item.pk]),
        {"login": "john.doe@acme.com", "note": "owns the service"},
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.reviewer_okta_id == world.p.john.id
    assert item.delegated_by == "priya.patel@acme.com" and item.delegated_at
    event = AuditEvent.objects.get(action="review_item.delegated", target_id=str(item.pk))
    assert event.detail["from_reviewer"] == world.p.priya.id
    assert event.detail["to_reviewer"] == world.p.john.id
    page = client_for("john").get(reverse("reviews:mine")).content.decode()
    assert "Handed to you by priya.patel@acme.com" in page
    assert "Maya Chen" not in client_for("priya").get(reverse("reviews:mine")).content.decode()


def test_item_delegate_to_the_person_themself_is_refused(
    world: World, client_for: ClientFor
) -> None:
    item = world.item_of(world.p.maya)
    response = client_for("priya").post(
        reverse("reviews:item_delegate", args=[item.pk]),
        {"login": "maya.chen@acme.com"},
        headers=HTMX,
    )
    assert "Nobody reviews their own access" in response.content.decode()
    item.refresh_from_db()
    assert item.reviewer_okta_id == world.p.priya.id


def test_item_delegate_htmx_replaces_the_row(world: World, client_for: ClientFor) -> None:
    item = world.item_of(world.ivy)
    response = client_for("priya").post(
        reverse("reviews:item_delegate", args=[item.pk]),
        {"login": "john.doe@acme.com"},
        headers=HTMX,
    )
    body = response.content.decode()
    assert body.startswith(f'<li class="card mb-3" id="review-item-{item.pk}">')
    assert "Handed over to John Doe." in body


def test_item_delegate_stranger_gets_404(world: World, client_for: ClientFor) -> None:
    item = world.item_of(world.p.maya)
    url = reverse("reviews:item_delegate", args=[item.pk])
    assert client_for("stan").post(url, {"login": "stan.gers@acme.com"}).status_code == 404
    item.refresh_from_db()
    assert item.reviewer_okta_id == world.p.priya.id and not item.delegated_by


def test_superuser_manages_and_reads_campaigns_like_an_admin(world: World) -> None:
    """A superuser (no Okta role) may do what an admin may: start and end campaigns, review
    what falls to the admins, and read the reports they lead to."""
    from accounts.models import User

    root = User.objects.create_superuser("root", "root@example.com", "x")
    client = Client()
    client.force_login(root)
    page = client.get(reverse("reviews:campaigns")).content.decode()
    assert "Backend review" in page and "New campaign" in page
    assert client.get(reverse("reviews:campaign_new")).status_code == 200
    assert client.get(world.campaign.get_absolute_url()).status_code == 200
    fallen = set(services.items_for_reviewer(root).values_list("pk", flat=True))
    assert fallen == set(
        world.campaign.items.filter(reviewer_okta_id="").values_list("pk", flat=True)
    )
    response = client.post(reverse("reviews:campaign_end", args=[world.campaign.pk]))
    assert response.status_code == 302
    world.campaign.refresh_from_db()
    assert world.campaign.status == CampaignStatus.ENDED
