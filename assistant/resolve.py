"""Names in a sentence resolved against the directory mirror: people by email, login or name;
groups, apps, catalog items and departments by name, forgiving typos.

Every lookup is an indexed query that returns a small candidate set (exact match first, then
names sharing a prefix), and only the candidates are scored with RapidFuzz: the mirror may hold
100,000 people and 10,000 groups, and nothing here reads all of them (docs/ask.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet
from rapidfuzz import fuzz, process

from approvals.models import CatalogItem
from okta.models import SEARCH_SEPARATOR, OktaApp, OktaGroup, OktaUser

# Candidates scored per lookup, and how many choices an ambiguity offers.
CANDIDATES = 200
CHOICES = 8
# A fuzzy match is taken when it scores at least SURE and beats the next one by MARGIN;
# names scoring at least CLOSE are offered as suggestions.
SURE = 80
MARGIN = 6
CLOSE = 60


@dataclass
class Found:
    """What a name resolved to: exactly one thing, several (an ambiguity), or nothing (with
    suggestions). ``read_as`` is set when a typo was forgiven."""

    said: str
    match: Any = None
    several: list[Any] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)
    read_as: str = ""


def _score(a: str, b: str, **_: Any) -> float:
    return max(fuzz.ratio(a, b), fuzz.token_sort_ratio(a, b))


def _pick(said: str, candidates: list[tuple[Any, str]]) -> Found:
    """The one candidate ``said`` names: an exact name, else a clearly best fuzzy one."""
    wanted = said.casefold().strip()
    exact = [obj for obj, name in candidates if name.casefold() == wanted]
    if len(exact) == 1:
        return Found(said, match=exact[0])
    if len(exact) > 1:
        return Found(said, several=exact[:CHOICES])
    names = [name.casefold() for _, name in candidates]
    scored = process.extract(wanted, names, scorer=_score, limit=CHOICES, score_cutoff=CLOSE)
    if not scored:
        return Found(said)
    _best_name, best, index = scored[0]
    runner_up = scored[1][1] if len(scored) > 1 else 0.0
    if best >= SURE and best - runner_up >= MARGIN:
        obj, name = candidates[index]
        return Found(said, match=obj, read_as=name)
    close = [candidates[i] for _, score, i in scored if score >= best - MARGIN]
    if best >= SURE and len(close) > 1:
        return Found(said, several=[obj for obj, _ in close])
    return Found(said, suggestions=[candidates[i][1] for _, _, i in scored[:3]])


def _words(text: str) -> list[str]:
    return [w for w in re.split(r"[\s\-_.,/]+", text.casefold()) if w]


def _candidates(qs: QuerySet[Any], field_name: str, said: str) -> list[Any]:
    """Rows whose ``field_name`` holds a whole word said ("05042" finds "Group 05042" even when
    "grup" is misspelt), else one sharing a word's first three letters: a few hundred at most."""
    words = [w for w in _words(said) if len(w) >= 2]
    found: dict[Any, Any] = {}
    for w in sorted(words, key=len, reverse=True):
        for row in qs.filter(**{f"{field_name}__icontains": w})[:CANDIDATES]:
            found.setdefault(row.pk, row)
    if not found:
        q = Q()
        for w in words:
            q |= Q(**{f"{field_name}__icontains": w[:3]})
        if q:
            for row in qs.filter(q)[:CANDIDATES]:
                found.setdefault(row.pk, row)
    return list(found.values())


# --- people --------------------------------------------------------------------------------------


def person_by_email(address: str) -> OktaUser | None:
    address = address.casefold()
    return (
        OktaUser.objects.filter(login=address).first()
        or OktaUser.objects.filter(Q(login__iexact=address) | Q(email=address)).first()
    )


def _name_query(words: list[str]) -> QuerySet[OktaUser]:
    qs = OktaUser.objects.all()
    for w in words:
        qs = qs.filter(search__contains=f"{SEARCH_SEPARATOR}{w}")
    return qs


def _spellings(word: str) -> set[str]:
    return {word, word.title(), word.capitalize(), word.upper()}


def _prefix_range(field_name: str, word: str, letters: int = 2) -> Q:
    """``field_name`` starting with ``word``'s first ``letters``, as a range on the column (an
    index answers it on every database, unlike a case-blind LIKE)."""
    low = word[:letters].title()
    high = low[:-1] + chr(ord(low[-1]) + 1)
    return Q(**{f"{field_name}__gte": low, f"{field_name}__lt": high})


def _one_or_several(said: str, people: list[OktaUser]) -> Found:
    if len(people) == 1:
        return Found(said, match=people[0])
    full = [p for p in people if p.full_name.casefold() == said.casefold().strip()]
    if len(full) == 1:
        return Found(said, match=full[0])
    return Found(said, several=people[:CHOICES])


def person_by_name(said: str) -> Found:
    """People named ``said``: first and last name exactly (the name index); failing that, a
    typo scored among people whose last name begins with the same two letters (a range on the
    same index); failing that, anyone with a name or login starting with each word (the search
    column, which PostgreSQL answers from its trigram index)."""
    words = _words(said)
    if not words:
        return Found(said)
    by_name = OktaUser.objects.order_by("last_name", "first_name", "id")
    if len(words) >= 2:
        first, last = words[0], " ".join(words[1:])
        exact = list(
            by_name.filter(first_name__in=_spellings(first), last_name__in=_spellings(last))[
                : CHOICES + 1
            ]
        )
        if exact:
            return _one_or_several(said, exact)
        # The surname's first letter and the first name's first two: a slip after the first
        # letter of the surname ("Myeer" for "Meyer") is still among them.
        candidates = by_name.filter(_prefix_range("last_name", words[-1], 1)).filter(
            _prefix_range("first_name", first)
        )
        found = _pick(said, [(p, p.full_name) for p in candidates[:CANDIDATES]])
        if found.match is not None or found.several:
            return found
    else:
        exact = list(by_name.filter(last_name__in=_spellings(words[0]))[: CHOICES + 1])
        if exact:
            return _one_or_several(said, exact)
    people = list(_name_query(words).order_by("last_name", "first_name", "id")[: CHOICES + 1])
    if people:
        return _one_or_several(said, people)
    candidates = by_name.filter(_prefix_range("last_name", words[-1]))
    return _pick(said, [(p, p.full_name) for p in candidates[:CANDIDATES]])


# --- groups, apps, catalog items, departments ----------------------------------------------------


def group_by_name(said: str) -> Found:
    said = said.strip()
    exact = list(OktaGroup.objects.filter(name__iexact=said)[:CHOICES])
    if len(exact) == 1:
        return Found(said, match=exact[0])
    if exact:
        return Found(said, several=exact)
    groups = _candidates(OktaGroup.objects.order_by("name", "id"), "name", said)
    return _pick(said, [(g, g.name) for g in groups])


def app_by_name(said: str) -> Found:
    said = said.strip()
    exact = list(OktaApp.objects.filter(Q(label__iexact=said) | Q(name__iexact=said))[:CHOICES])
    if len(exact) == 1:
        return Found(said, match=exact[0])
    apps = _candidates(OktaApp.objects.order_by("label", "id"), "label", said)
    return _pick(said, [(a, a.label) for a in apps])


def catalog_item_by_name(said: str) -> Found:
    """A published catalog item named ``said`` (its name, or its group's or app's)."""
    said = said.strip()
    published = CatalogItem.objects.published().select_related("group", "app", "policy")
    exact = list(
        published.filter(
            Q(name__iexact=said) | Q(group__name__iexact=said) | Q(app__label__iexact=said)
        )[:CHOICES]
    )
    if len(exact) == 1:
        return Found(said, match=exact[0])
    items = _candidates(published.order_by("name", "id"), "name", said)
    return _pick(said, [(i, i.name) for i in items])


def department_by_name(said: str) -> Found:
    """A department people are in: an exact (case-blind) name, else a close one among the
    departments whose names share a prefix with a word said."""
    said = said.strip()
    # The spellings a department is usually stored in first (an index answers them).
    spellings = {said, said.title(), said.upper(), said.casefold()}
    exact = OktaUser.objects.filter(department__in=spellings).values_list("department", flat=True)[
        :1
    ]
    for name in exact:
        return Found(said, match=name)
    q = Q()
    for w in _words(said):
        if len(w) >= 2:
            q |= Q(department__istartswith=w[:2])
    if not q:
        return Found(said)
    names = (
        OktaUser.objects.filter(q)
        .exclude(department="")
        .order_by("department")
        .values_list("department", flat=True)
        .distinct()[:CANDIDATES]
    )
    return _pick(said, [(n, n) for n in names])
