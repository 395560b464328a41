"""Deterministic seeds for the sandbox org: ``acme`` (the demo company), ``large``, ``empty``.

Ids derive from a stable hash of the org name and a natural key, so they are the same on every
run and other code can compute them without starting the sandbox::

    from okta.sandbox.seed import acme_user_id, acme_group_id, demo_people
    acme_user_id("maya.chen@acme.com")  # "00u…"

Timestamps are relative to the moment the seed is built (so "signed in 90 days ago" stays true).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from okta.sandbox.ids import iso, okta_id
from okta.sandbox.store import Obj, Org

ORGS = ("acme", "large", "empty")
ADMIN_LOGINS = {
    "acme": "gatehouse.api@acme.com",
    "large": "gatehouse.api@large.example",
    "empty": "gatehouse.api@empty.example",
}


def user_id(org: str, login: str) -> str:
    return okta_id("00u", f"{org}/user/{login.lower()}")


def group_id(org: str, name: str) -> str:
    return okta_id("00g", f"{org}/group/{name}")


def app_id(org: str, label: str) -> str:
    return okta_id("0oa", f"{org}/app/{label}")


def acme_user_id(login: str) -> str:
    """The Okta id of an acme person, e.g. ``acme_user_id("maya.chen@acme.com")``."""
    return user_id("acme", login)


def acme_group_id(name: str) -> str:
    """The Okta id of an acme group, e.g. ``acme_group_id("Engineering")``."""
    return group_id("acme", name)


def acme_app_id(label: str) -> str:
    """The Okta id of an acme app, e.g. ``acme_app_id("Slack")``."""
    return app_id("acme", label)


# login, first, last, title, department, manager login, groups, admin role
NAMED_PEOPLE: list[tuple[str, str, str, str, str, str | None, list[str], str | None]] = [
    (
        "alex.morgan@acme.com",
        "Alex",
        "Morgan",
        "Chief Executive Officer",
        "Executive",
        None,
        [],
        None,
    ),
    (
        "dana.brooks@acme.com",
        "Dana",
        "Brooks",
        "VP Engineering",
        "Engineering",
        "alex.morgan@acme.com",
        ["Engineering"],
        None,
    ),
    (
        "priya.patel@acme.com",
        "Priya",
        "Patel",
        "Engineering Manager",
        "Engineering",
        "dana.brooks@acme.com",
        ["Engineering", "Engineering - Backend", "Backend Leads"],
        None,
    ),
    (
        "maya.chen@acme.com",
        "Maya",
        "Chen",
        "Software Engineer",
        "Engineering",
        "priya.patel@acme.com",
        ["Engineering", "Engineering - Frontend"],
        None,
    ),
    (
        "omar.haddad@acme.com",
        "Omar",
        "Haddad",
        "Finance Director",
        "Finance",
        "alex.morgan@acme.com",
        ["Finance"],
        None,
    ),
    (
        "john.doe@acme.com",
        "John",
        "Doe",
        "Financial Analyst",
        "Finance",
        "omar.haddad@acme.com",
        ["Finance"],
        None,
    ),
    (
        "sam.rivera@acme.com",
        "Sam",
        "Rivera",
        "IT Admin",
        "IT",
        "alex.morgan@acme.com",
        ["IT", "Gatehouse Admins"],
        "SUPER_ADMIN",
    ),
    (
        "jordan.lee@acme.com",
        "Jordan",
        "Lee",
        "IT Help Desk",
        "IT",
        "sam.rivera@acme.com",
        ["IT", "Gatehouse Helpdesk"],
        "HELP_DESK_ADMIN",
    ),
    (
        "tessa.nguyen@acme.com",
        "Tessa",
        "Nguyen",
        "Security Auditor",
        "Security",
        "alex.morgan@acme.com",
        ["Security", "Gatehouse Auditors"],
        None,
    ),
]

DEMO_LOGINS = [
    "maya.chen@acme.com",
    "priya.patel@acme.com",
    "john.doe@acme.com",
    "omar.haddad@acme.com",
    "jordan.lee@acme.com",
    "sam.rivera@acme.com",
    "tessa.nguyen@acme.com",
]

ROLE_LABELS = {
    "SUPER_ADMIN": "Super Administrator",
    "HELP_DESK_ADMIN": "Help Desk Administrator",
    "READ_ONLY_ADMIN": "Read-only Administrator",
}

DEPARTMENTS: list[tuple[str, int, list[str]]] = [
    (
        "Engineering",
        140,
        ["Software Engineer", "Senior Software Engineer", "Staff Engineer", "SRE"],
    ),
    ("Sales", 80, ["Account Executive", "Sales Development Rep", "Sales Engineer"]),
    ("Customer Support", 50, ["Support Specialist", "Support Engineer"]),
    ("Finance", 36, ["Financial Analyst", "Accountant", "Controller"]),
    ("Marketing", 40, ["Marketing Manager", "Content Strategist", "Growth Analyst"]),
    ("Product", 30, ["Product Manager", "Product Analyst"]),
    ("Design", 20, ["Product Designer", "UX Researcher"]),
    ("People", 18, ["People Partner", "Recruiter"]),
    ("Operations", 24, ["Operations Analyst", "Office Manager"]),
    ("IT", 18, ["IT Support Engineer", "Systems Administrator"]),
    ("Security", 14, ["Security Engineer", "Security Analyst"]),
    ("Legal", 10, ["Counsel", "Paralegal"]),
]
DEPARTMENT_HEADS = {
    "Engineering": "dana.brooks@acme.com",
    "Finance": "omar.haddad@acme.com",
    "IT": "sam.rivera@acme.com",
}

FIRST_NAMES = [
    "Aaliyah",
    "Aarav",
    "Abigail",
    "Adrian",
    "Aisha",
    "Alejandro",
    "Amara",
    "Andre",
    "Anika",
    "Arjun",
    "Ava",
    "Benjamin",
    "Bianca",
    "Caleb",
    "Camila",
    "Carlos",
    "Chloe",
    "Daniel",
    "Deepa",
    "Diego",
    "Elena",
    "Elijah",
    "Emma",
    "Ethan",
    "Fatima",
    "Felix",
    "Gabriel",
    "Grace",
    "Hana",
    "Hassan",
    "Ines",
    "Isaac",
    "Isabella",
    "Jamal",
    "Javier",
    "Jin",
    "Julia",
    "Kai",
    "Kenji",
    "Laila",
    "Leo",
    "Lucas",
    "Luna",
    "Malik",
    "Maria",
    "Mateo",
    "Mei",
    "Mia",
    "Nadia",
    "Naveen",
    "Noah",
    "Nora",
    "Oliver",
    "Olivia",
    "Pablo",
    "Rafael",
    "Rania",
    "Rohan",
    "Rosa",
    "Ryan",
    "Sara",
    "Sofia",
    "Tariq",
    "Theo",
    "Valentina",
    "Victor",
    "Wei",
    "Yara",
    "Yusuf",
    "Zara",
    "Zoe",
]
LAST_NAMES = [
    "Adams",
    "Ahmed",
    "Alvarez",
    "Anderson",
    "Bauer",
    "Bennett",
    "Chen",
    "Cohen",
    "Costa",
    "Das",
    "Diaz",
    "Dubois",
    "Evans",
    "Fischer",
    "Garcia",
    "Gupta",
    "Hall",
    "Hansen",
    "Hernandez",
    "Ibrahim",
    "Ito",
    "Jensen",
    "Johnson",
    "Kahn",
    "Kim",
    "Kowalski",
    "Kumar",
    "Larsen",
    "Lopez",
    "Martin",
    "Meyer",
    "Moreau",
    "Murphy",
    "Nakamura",
    "Novak",
    "Okafor",
    "Olsen",
    "Park",
    "Perez",
    "Petrov",
    "Quinn",
    "Ramos",
    "Reddy",
    "Rossi",
    "Sato",
    "Schmidt",
    "Silva",
    "Singh",
    "Smith",
    "Suzuki",
    "Taylor",
    "Thompson",
    "Tran",
    "Vargas",
    "Walker",
    "Wang",
    "Weber",
    "Williams",
    "Wilson",
    "Yamamoto",
    "Young",
    "Zhang",
]

EXTRA_GROUPS = [
    ("Engineering - Backend", "Backend engineers"),
    ("Engineering - Frontend", "Frontend engineers"),
    ("Backend Leads", "Leads of the backend teams"),
    ("New Hires - April", "People who joined in April"),
    ("Gatehouse Admins", "Administrators of the Gatehouse portal"),
    ("Gatehouse Helpdesk", "Help desk agents in Gatehouse"),
    ("Gatehouse Auditors", "Auditors with read access to the Gatehouse audit trail"),
    ("Contractors", "External contractors"),
    ("All Managers", "Everyone who manages people"),
    ("AWS Production", "Access to the production AWS account"),
    ("VPN Users", "Remote network access"),
    ("Data Warehouse Readers", "Read access to the data warehouse"),
]

# label, name, signOnMode, assigned groups, number of direct users
ACME_APPS: list[tuple[str, str, str, list[str], int]] = [
    ("Slack", "slack", "SAML_2_0", ["Everyone"], 0),
    ("Zoom", "zoomus", "SAML_2_0", ["Everyone"], 0),
    ("Notion", "notion", "OPENID_CONNECT", [], 40),
    ("Figma", "figma", "SAML_2_0", ["Design"], 12),
    ("Salesforce", "salesforce", "SAML_2_0", ["Sales", "Salesforce - Sales Reps"], 5),
    ("GitHub", "github_enterprise", "OPENID_CONNECT", ["Engineering"], 3),
    ("Jira", "jira", "AUTO_LOGIN", ["Engineering", "Product"], 10),
    ("AWS", "amazon_aws", "SAML_2_0", ["AWS Production"], 0),
    ("1Password", "onepassword", "AUTO_LOGIN", ["IT", "Security"], 0),
    ("Workday", "workday", "SAML_2_0", ["People", "Finance"], 2),
]


def demo_people() -> list[dict[str, str]]:
    """The one-click people for the demo's OIDC provider: login, name, sub (Okta id), email."""
    by_login = {p[0]: p for p in NAMED_PEOPLE}
    people = []
    for login in DEMO_LOGINS:
        _, first, last, title, department, _, _, _ = by_login[login]
        people.append(
            {
                "login": login,
                "email": login,
                "name": f"{first} {last}",
                "given_name": first,
                "family_name": last,
                "title": title,
                "department": department,
                "sub": acme_user_id(login),
            }
        )
    return people


def build(org_name: str, base_url: str) -> Org:
    if org_name == "acme":
        return build_acme(base_url)
    if org_name == "large":
        return build_large(base_url)
    if org_name == "empty":
        return build_empty(base_url)
    raise ValueError(f"unknown org {org_name!r}; choose one of {', '.join(ORGS)}")


# --- helpers ---------------------------------------------------------------------------------
def _user(
    org: str,
    login: str,
    first: str,
    last: str,
    *,
    status: str,
    created: datetime,
    last_login: datetime | None,
    extra: dict[str, Any],
) -> Obj:
    uid = user_id(org, login)
    active = status not in ("STAGED", "PROVISIONED")
    changed = created + timedelta(days=1)
    return {
        "id": uid,
        "status": status,
        "created": iso(created),
        "activated": iso(created) if active else None,
        "statusChanged": iso(changed) if status != "STAGED" else None,
        "lastLogin": iso(last_login) if last_login else None,
        "lastUpdated": iso(changed),
        "passwordChanged": iso(created) if active else None,
        "type": {"id": okta_id("oty", f"{org}/default")},
        "profile": {
            "firstName": first,
            "lastName": last,
            "displayName": f"{first} {last}",
            "email": login,
            "login": login,
            **extra,
        },
        "credentials": (
            {"password": {}, "provider": {"type": "OKTA", "name": "OKTA"}}
            if active
            else {"provider": {"type": "OKTA", "name": "OKTA"}}
        ),
    }


def _group(org: str, name: str, description: str, kind: str, moment: datetime) -> Obj:
    group: Obj = {
        "id": group_id(org, name),
        "created": iso(moment),
        "lastUpdated": iso(moment),
        "lastMembershipUpdated": iso(moment),
        "objectClass": ["okta:user_group"],
        "type": kind,
        "profile": {"name": name, "description": description},
    }
    if kind == "APP_GROUP":
        group["objectClass"] = ["okta:windows_security_principal"]
        group["profile"].update(
            {
                "samAccountName": name.replace(" ", ""),
                "dn": f"CN={name},OU=Groups,DC=acme,DC=com",
                "windowsDomainQualifiedName": f"ACME\\{name.replace(' ', '')}",
                "externalId": okta_id("ext", f"{org}/{name}"),
            }
        )
    return group


def _app(org: Org, org_name: str, label: str, name: str, mode: str, moment: datetime) -> Obj:
    aid = app_id(org_name, label)
    app: Obj = {
        "id": aid,
        "name": name,
        "label": label,
        "status": "ACTIVE",
        "created": iso(moment),
        "lastUpdated": iso(moment),
        "signOnMode": mode,
        "features": [],
        "accessibility": {"selfService": False},
        "visibility": {
            "autoLaunch": False,
            "autoSubmitToolbar": False,
            "hide": {"iOS": False, "web": False},
            "appLinks": {f"{name}_link": True},
        },
        "_links": {
            "appLinks": [
                {
                    "name": f"{name}_link",
                    "href": org.href(f"/home/{name}/{aid}/1"),
                    "type": "text/html",
                }
            ],
            "users": {"href": org.href(f"/api/v1/apps/{aid}/users")},
            "groups": {"href": org.href(f"/api/v1/apps/{aid}/groups")},
            "self": {"href": org.href(f"/api/v1/apps/{aid}")},
        },
    }
    if mode == "SAML_2_0":
        app["credentials"] = {
            "userNameTemplate": {"template": "${source.login}", "type": "BUILT_IN"},
            "signing": {"kid": okta_id("kid", aid)},
        }
        app["settings"] = {
            "app": {},
            "notifications": {"vpn": {"network": {"connection": "DISABLED"}}},
            "signOn": {
                "defaultRelayState": "",
                "ssoAcsUrl": f"https://{name}.example.com/sso/saml",
                "idpIssuer": "http://www.okta.com/${org.externalKey}",
                "audience": f"https://{name}.example.com",
                "recipient": f"https://{name}.example.com/sso/saml",
                "destination": f"https://{name}.example.com/sso/saml",
                "subjectNameIdTemplate": "${user.userName}",
                "subjectNameIdFormat": "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
                "responseSigned": True,
                "assertionSigned": True,
                "signatureAlgorithm": "RSA_SHA256",
                "digestAlgorithm": "SHA256",
                "honorForceAuthn": True,
                "authnContextClassRef": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
                "attributeStatements": [],
            },
        }
    elif mode == "OPENID_CONNECT":
        app["credentials"] = {
            "userNameTemplate": {"template": "${source.login}", "type": "BUILT_IN"},
            "oauthClient": {
                "autoKeyRotation": True,
                "client_id": aid,
                "token_endpoint_auth_method": "client_secret_basic",
            },
        }
        app["settings"] = {
            "app": {},
            "notifications": {"vpn": {"network": {"connection": "DISABLED"}}},
            "oauthClient": {
                "client_uri": f"https://{name}.example.com",
                "redirect_uris": [f"https://{name}.example.com/oauth/callback"],
                "response_types": ["code"],
                "grant_types": ["authorization_code"],
                "application_type": "web",
                "consent_method": "REQUIRED",
                "issuer_mode": "ORG_URL",
            },
        }
    else:
        app["credentials"] = {
            "scheme": "EDIT_USERNAME_AND_PASSWORD",
            "userNameTemplate": {"template": "${source.login}", "type": "BUILT_IN"},
            "revealPassword": False,
            "signing": {},
        }
        app["settings"] = {
            "app": {},
            "notifications": {"vpn": {"network": {"connection": "DISABLED"}}},
            "signOn": {
                "loginUrl": f"https://{name}.example.com/login",
                "redirectUrl": f"https://{name}.example.com/",
            },
        }
    return app


def _add_admin(org: Org, org_name: str, now: datetime) -> str:
    login = ADMIN_LOGINS[org_name]
    created = now - timedelta(days=800)
    admin = _user(
        org_name,
        login,
        "Gatehouse",
        "API",
        status="ACTIVE",
        created=created,
        last_login=now - timedelta(hours=1),
        extra={"title": "Service account", "department": "IT", "userType": "service"},
    )
    org.add_user(admin)
    org.admin_id = admin["id"]
    org.role_grant(admin["id"], "SUPER_ADMIN", ROLE_LABELS["SUPER_ADMIN"], iso(created))
    return admin["id"]


def _add_everyone(org: Org, org_name: str, moment: datetime) -> str:
    everyone = _group(org_name, "Everyone", "All users in your organization", "BUILT_IN", moment)
    org.add_group(everyone)
    return everyone["id"]


def _member(org: Org, gid: str, uid: str) -> None:
    org.members[gid].append(uid)
    org.user_groups.setdefault(uid, set()).add(gid)


# --- the orgs --------------------------------------------------------------------------------
def build_empty(base_url: str) -> Org:
    now = datetime.now(UTC).replace(microsecond=0)
    org = Org("empty", base_url)
    everyone = _add_everyone(org, "empty", now - timedelta(days=900))
    admin = _add_admin(org, "empty", now)
    _member(org, everyone, admin)
    org.finish_build()
    return org


def build_acme(base_url: str) -> Org:
    rng = random.Random(20260401)
    now = datetime.now(UTC).replace(microsecond=0)
    founded = now - timedelta(days=900)
    org = Org("acme", base_url)
    everyone = _add_everyone(org, "acme", founded)
    admin = _add_admin(org, "acme", now)
    department_names = [d[0] for d in DEPARTMENTS]
    for name in [*department_names, "Executive"]:
        org.add_group(_group("acme", name, f"Everyone in {name}", "OKTA_GROUP", founded))
    for name, description in EXTRA_GROUPS:
        org.add_group(_group("acme", name, description, "OKTA_GROUP", founded))
    org.add_group(
        _group(
            "acme",
            "Salesforce - Sales Reps",
            "Imported from Active Directory",
            "APP_GROUP",
            founded,
        )
    )
    gid = {g["profile"]["name"]: g["id"] for g in org.groups.values()}

    people: list[Obj] = []  # (user, department, manager login) in creation order
    managers: dict[str, str] = {}
    history: list[tuple[datetime, str, list[tuple[str, str]]]] = []
    employee_number = 1000

    def add_person(
        login: str,
        first: str,
        last: str,
        title: str,
        department: str,
        manager: str | None,
        status: str,
        created: datetime,
        last_login: datetime | None,
    ) -> Obj:
        nonlocal employee_number
        employee_number += 1
        extra: dict[str, Any] = {
            "title": title,
            "department": department,
            "employeeNumber": str(employee_number),
            "organization": "Acme",
            "userType": "Employee",
        }
        if manager:
            extra["managerId"] = user_id("acme", manager)
            extra["manager"] = manager
        user = _user(
            "acme",
            login,
            first,
            last,
            status=status,
            created=created,
            last_login=last_login,
            extra=extra,
        )
        org.add_user(user)
        people.append(user)
        history.append((created, "user.lifecycle.create", [("User", user["id"])]))
        if status not in ("STAGED", "PROVISIONED"):
            history.append(
                (created + timedelta(minutes=5), "user.lifecycle.activate", [("User", user["id"])])
            )
        if last_login:
            history.append((last_login, "user.session.start", [("User", user["id"])]))
        _member(org, everyone, user["id"])
        if department in gid:
            _member(org, gid[department], user["id"])
        return user

    for login, first, last, title, department, manager, groups, role in NAMED_PEOPLE:
        created = founded + timedelta(days=rng.randint(0, 400))
        user = add_person(
            login,
            first,
            last,
            title,
            department,
            manager,
            "ACTIVE",
            created,
            now - timedelta(hours=rng.randint(2, 72)),
        )
        for name in groups:
            if name != department:
                _member(org, gid[name], user["id"])
        if role:
            org.role_grant(user["id"], role, ROLE_LABELS[role], iso(created + timedelta(days=2)))
            history.append(
                (
                    created + timedelta(days=2),
                    "user.account.privilege.grant",
                    [("User", user["id"])],
                )
            )
    for department, login in DEPARTMENT_HEADS.items():
        managers[department] = login

    used = set(org.logins)
    special_statuses = (
        ["SUSPENDED"] * 8
        + ["LOCKED_OUT"] * 6
        + ["STAGED"] * 6
        + ["DEPROVISIONED"] * 8
        + ["PASSWORD_EXPIRED"] * 3
        + ["PROVISIONED"] * 3
        + ["RECOVERY"] * 2
    )
    generated: list[tuple[str, str, str, str, str]] = []
    for department, count, titles in DEPARTMENTS:
        for _ in range(count):
            while True:
                first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
                login = f"{first.lower()}.{last.lower()}@acme.com"
                if login not in used:
                    break
                login = f"{first.lower()}.{last.lower()}{rng.randint(2, 99)}@acme.com"
                if login not in used:
                    break
            used.add(login)
            generated.append((login, first, last, department, rng.choice(titles)))
    statuses = ["ACTIVE"] * (len(generated) - len(special_statuses)) + special_statuses
    rng.shuffle(statuses)
    team_leads: dict[str, list[str]] = {}
    lead_count = {name: max(1, count // 12) for name, count, _ in DEPARTMENTS}
    finance_stale = 0
    for index, (login, first, last, department, title) in enumerate(generated):
        status = statuses[index]
        head = managers.get(department)
        leads = team_leads.setdefault(department, [])
        if head is None:
            title = f"Head of {department}"
            manager = "alex.morgan@acme.com"
            managers[department] = login
            status = "ACTIVE"
        elif len(leads) < lead_count[department] and status == "ACTIVE":
            title = f"{title} Lead" if "Lead" not in title else title
            manager = head
            leads.append(login)
        else:
            manager = rng.choice(leads) if leads else head
        created = founded + timedelta(days=rng.randint(30, 860), minutes=rng.randint(0, 1440))
        if status in ("STAGED", "PROVISIONED"):
            last_login = None
        elif department == "Finance" and status == "ACTIVE" and finance_stale < 8:
            finance_stale += 1
            last_login = now - timedelta(days=rng.randint(61, 200))
        else:
            last_login = now - timedelta(days=rng.randint(0, 20), minutes=rng.randint(0, 1440))
            if created > last_login:
                created = last_login - timedelta(days=3)
        user = add_person(
            login, first, last, title, department, manager, status, created, last_login
        )
        if status in ("SUSPENDED", "DEPROVISIONED", "LOCKED_OUT"):
            kind = {
                "SUSPENDED": "user.lifecycle.suspend",
                "DEPROVISIONED": "user.lifecycle.deactivate",
                "LOCKED_OUT": "user.account.lock",
            }[status]
            history.append((created + timedelta(days=1), kind, [("User", user["id"])]))

    by_department: dict[str, list[Obj]] = {}
    for user in people:
        by_department.setdefault(user["profile"]["department"], []).append(user)

    def add_to(name: str, users: list[Obj]) -> None:
        for user in users:
            if gid[name] not in org.user_groups.get(user["id"], set()):
                _member(org, gid[name], user["id"])
                moment = datetime.fromisoformat(user["created"]) + timedelta(hours=2)
                history.append(
                    (
                        moment,
                        "group.user_membership.add",
                        [("User", user["id"]), ("UserGroup", gid[name])],
                    )
                )

    named = {p[0] for p in NAMED_PEOPLE}
    # The named people keep exactly the groups listed for them; the rest are drawn at random.
    unnamed = [u for u in people if u["profile"]["login"] not in named]
    engineers = [
        u for u in by_department["Engineering"] if u["status"] == "ACTIVE" and u in unnamed
    ]
    add_to("Engineering - Backend", engineers[5:60])
    add_to("Engineering - Frontend", engineers[60:105])
    add_to("Backend Leads", [u for u in engineers[5:60] if "Lead" in u["profile"]["title"]])
    newest = sorted(
        (u for u in people if u["status"] == "ACTIVE" and u["profile"]["login"] not in DEMO_LOGINS),
        key=lambda u: u["created"],
    )[-10:]
    add_to("New Hires - April", newest)
    add_to("All Managers", [u for u in unnamed if org_has_reports(people, u)])
    add_to("Contractors", rng.sample(unnamed, 12))
    add_to("AWS Production", engineers[:25])
    add_to("VPN Users", rng.sample(unnamed, 60))
    add_to(
        "Data Warehouse Readers",
        rng.sample([u for u in unnamed if u["profile"]["department"] == "Finance"], 10),
    )
    sales = [u for u in by_department["Sales"] if u["status"] == "ACTIVE"]
    for user in sales[:30]:
        _member(org, gid["Salesforce - Sales Reps"], user["id"])

    active_people = [u for u in unnamed if u["status"] == "ACTIVE"]
    for label, name, mode, groups, direct in ACME_APPS:
        moment = founded + timedelta(days=rng.randint(0, 60))
        app = org.add_app(_app(org, "acme", label, name, mode, moment))
        for priority, group_name in enumerate(groups):
            org.app_groups[app["id"]][gid[group_name]] = {
                "priority": priority,
                "lastUpdated": iso(moment),
            }
            org.group_apps.setdefault(gid[group_name], set()).add(app["id"])
        chosen = rng.sample(active_people, direct)
        if label == "Notion":
            chosen.append(org.users[user_id("acme", "maya.chen@acme.com")])
        for user in chosen:
            if user["id"] in org.app_users[app["id"]]:
                continue
            assigned = max(datetime.fromisoformat(user["created"]), moment) + timedelta(days=1)
            org.app_users[app["id"]][user["id"]] = {
                "created": iso(assigned),
                "lastUpdated": iso(assigned),
                "profile": {},
            }
            org.user_apps.setdefault(user["id"], set()).add(app["id"])
            history.append(
                (
                    assigned,
                    "application.user_membership.add",
                    [("AppInstance", app["id"]), ("User", user["id"])],
                )
            )

    _member(org, everyone, admin)
    org.finish_build()
    actor = org.actor_for_user(admin)
    history.sort(key=lambda item: item[0])
    for moment, event_type, targets in history:
        if moment > now:
            moment = now
        org.log(
            event_type,
            org.actor_for_user(targets[0][1]) if event_type == "user.session.start" else actor,
            [org.target(kind, obj_id) for kind, obj_id in targets],
            published=iso(moment),
            notify=False,
        )
    return org


def org_has_reports(people: list[Obj], manager: Obj) -> bool:
    login = manager["profile"]["login"]
    return any(p["profile"].get("manager") == login for p in people)


def build_large(base_url: str) -> Org:
    """100,000 users, 10,000 groups, 2,000 apps, 1,000,000 group memberships."""
    rng = random.Random(100_000)
    now = datetime.now(UTC).replace(microsecond=0)
    founded = now - timedelta(days=1500)
    org = Org("large", base_url)
    everyone = _add_everyone(org, "large", founded)
    admin = _add_admin(org, "large", now)
    n_users, n_groups, n_apps = 100_000, 10_000, 2_000
    departments = [d[0] for d in DEPARTMENTS]
    day_stamps = [iso(founded + timedelta(days=d)) for d in range(1501)]
    statuses = ["ACTIVE"] * 95 + [
        "SUSPENDED",
        "LOCKED_OUT",
        "STAGED",
        "DEPROVISIONED",
        "PROVISIONED",
    ]
    type_id = {"id": okta_id("oty", "large/default")}
    password_credentials = {"password": {}, "provider": {"type": "OKTA", "name": "OKTA"}}
    no_password = {"provider": {"type": "OKTA", "name": "OKTA"}}
    uids = [user_id("large", f"user{i:06d}@large.example") for i in range(n_users)]
    for i, uid in enumerate(uids):
        first = FIRST_NAMES[i % len(FIRST_NAMES)]
        last = LAST_NAMES[(i // len(FIRST_NAMES)) % len(LAST_NAMES)]
        login = f"user{i:06d}@large.example"
        status = statuses[rng.randrange(100)]
        day = rng.randrange(1400)
        active = status not in ("STAGED", "PROVISIONED")
        manager = uids[(i // 50) * 50] if i % 50 else uids[0]
        profile = {
            "firstName": first,
            "lastName": last,
            "displayName": f"{first} {last}",
            "email": login,
            "login": login,
            "title": "Employee",
            "department": departments[i % len(departments)],
            "employeeNumber": str(100000 + i),
            "managerId": manager,
        }
        user = {
            "id": uid,
            "status": status,
            "created": day_stamps[day],
            "activated": day_stamps[day] if active else None,
            "statusChanged": day_stamps[day + 1],
            "lastLogin": day_stamps[min(1500, day + rng.randrange(100))] if active else None,
            "lastUpdated": day_stamps[day + 1],
            "passwordChanged": day_stamps[day] if active else None,
            "type": type_id,
            "profile": profile,
            "credentials": password_credentials if active else no_password,
            "_links": {"self": {"href": f"{org.base_url}/api/v1/users/{uid}"}},
        }
        org.users[uid] = user
        org.logins[login] = uid
        if active:
            org.passwords.add(uid)
    org.members[everyone] = [*uids, admin]
    for uid in uids:
        org.user_groups[uid] = {everyone}
    org.user_groups[admin].add(everyone)

    # Group sizes: a long tail with a few big groups; 900,000 memberships besides Everyone.
    remaining = 1_000_000 - n_users
    weights = [1.0 / (1 + (g % 500)) ** 0.5 for g in range(n_groups - 1)]
    scale = remaining / sum(weights)
    sizes = [max(1, int(w * scale)) for w in weights]
    sizes[0] += remaining - sum(sizes)
    gids = []
    for g in range(n_groups - 1):
        name = f"Group {g:05d}"
        group = _group("large", name, f"Generated group {g}", "OKTA_GROUP", founded)
        stamp = day_stamps[rng.randrange(1500)]
        group["lastUpdated"] = group["lastMembershipUpdated"] = stamp
        org.add_group(group)
        members = rng.sample(uids, min(sizes[g], n_users))
        org.members[group["id"]] = members
        gids.append(group["id"])
        for uid in members:
            org.user_groups[uid].add(group["id"])
    apps_labels = ["SAML_2_0", "OPENID_CONNECT", "AUTO_LOGIN"]
    small_groups = [gids[g] for g in range(n_groups - 1) if sizes[g] <= 60]
    for a in range(n_apps):
        label = f"App {a:04d}"
        app = org.add_app(_app(org, "large", label, f"app{a:04d}", apps_labels[a % 3], founded))
        for uid in rng.sample(uids, 20):
            org.app_users[app["id"]][uid] = {
                "created": day_stamps[1400],
                "lastUpdated": day_stamps[1400],
                "profile": {},
            }
            org.user_apps.setdefault(uid, set()).add(app["id"])
        group = small_groups[a % len(small_groups)]
        org.app_groups[app["id"]][group] = {"priority": 0, "lastUpdated": day_stamps[1400]}
        org.group_apps.setdefault(group, set()).add(app["id"])
    org.finish_build()
    return org
