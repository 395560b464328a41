"""Search-as-you-type choice of a group or an app from the mirror, instead of a ``<select>``
listing all of them (10,000 groups made the bulk page 1.4 MB).

A picker is a search box and, under it, radio buttons (one choice) or checkboxes (several) for
what is chosen plus at most ``LIMIT`` names matching the search. The form posts the checked
Okta ids as the field's value, so it works with the keyboard and without JavaScript (submit
the search and pick among the matches the page shows); with htmx the matches follow the typing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.db.models import Case, IntegerField, Model, QuerySet, Value, When
from django.db.models.functions import Lower
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from okta.models import GroupType, OktaApp, OktaGroup

LIMIT = 20
_ID = re.compile(r"^[A-Za-z0-9]{1,32}$")
# Field names a picker endpoint may be asked to render (they become input names and ids).
FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


@dataclass(frozen=True)
class Kind:
    """What one kind of picker chooses among: the rows, the searched column, and the words."""

    model: type[Model]
    column: str
    noun: str
    okta_groups_only: bool = False

    def rows(self) -> QuerySet[Any]:
        qs: QuerySet[Any] = self.model.objects.all()  # type: ignore[attr-defined]
        if self.okta_groups_only:
            qs = qs.filter(type=GroupType.OKTA_GROUP)
        return qs


KINDS: dict[str, Kind] = {
    "group": Kind(OktaGroup, "name", "group"),
    "okta_group": Kind(OktaGroup, "name", "group", okta_groups_only=True),
    "app": Kind(OktaApp, "label", "app"),
}


def search(kind: Kind, query: str, *, exclude: Iterable[str] = ()) -> list[Any]:
    """At most LIMIT + 1 rows whose name contains the query (names starting with it first).
    One query. One or two letters match name starts only (the name index, in order); longer
    text may be answered by the trigram index on the lower-cased name (okta 0008) on
    PostgreSQL, which prefers reading a table of 10,000 groups (a few ms)."""
    text = query.strip().lower()[:100]
    if not text:
        return []
    column = kind.column
    fields = ["id", column, "type"] if kind.model is OktaGroup else ["id", column]
    qs = kind.rows().only(*fields).annotate(lowered=Lower(column))
    if len(text) < 3:
        qs = qs.filter(lowered__startswith=text)
    else:
        qs = qs.filter(lowered__contains=text).annotate(
            rank=Case(
                When(lowered__startswith=text, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
    ordering = ["rank", column, "id"] if len(text) >= 3 else [column, "id"]
    return list(qs.exclude(pk__in=list(exclude)).order_by(*ordering)[: LIMIT + 1])


def _matches(name: str, query: str) -> bool:
    """Whether ``search`` would find ``name`` for ``query``."""
    text, lowered = query.strip().lower()[:100], name.lower()
    if not text:
        return False
    return lowered.startswith(text) if len(text) < 3 else text in lowered


def chosen(kind: Kind, ids: Iterable[str], *, known: dict[str, Any] | None = None) -> list[Any]:
    """The rows already chosen, in name order; ids not in the directory are left out. ``known``
    holds rows the form already read while validating (then no query)."""
    wanted = [i for i in ids if i and _ID.match(i)]
    if not wanted:
        return []
    if known is not None and all(i in known for i in wanted):
        rows = {known[i].pk: known[i] for i in wanted}.values()
        return sorted(rows, key=lambda row: (getattr(row, kind.column), row.pk))
    return list(kind.model.objects.filter(pk__in=wanted).order_by(kind.column, "id"))  # type: ignore[attr-defined]


def context(
    *,
    kind_name: str,
    name: str,
    html_id: str,
    label: str,
    multiple: bool,
    required: bool,
    query: str,
    chosen_ids: list[str],
    known: dict[str, Any] | None = None,
) -> dict[str, Any]:
    kind = KINDS[kind_name]
    picked = chosen(kind, chosen_ids, known=known)
    found = search(kind, query, exclude=[row.pk for row in picked])
    # A chosen row is listed once, as chosen, and still counts as a match for the search
    # that found it (re-shown after a preview, the search box still holds its name).
    matched = bool(found) or any(_matches(getattr(row, kind.column), query) for row in picked)
    # Groups that exist but that Okta lets no one here change: say so rather than "no match".
    unchangeable = (
        search(KINDS["group"], query)[:3]
        if query.strip() and not matched and kind.okta_groups_only
        else []
    )
    rows = [(row, True) for row in picked] + [(row, False) for row in found[:LIMIT]]
    return {
        "kind": kind_name,
        "noun": kind.noun,
        "name": name,
        "id": html_id,
        "label": label,
        "multiple": multiple,
        "none_choice": not multiple and not required,
        "query": query,
        "rows": [
            {
                "id": row.pk,
                "name": getattr(row, kind.column),
                # The group type, where groups of any type may be chosen.
                "note": row.type if kind.model is OktaGroup and not kind.okta_groups_only else "",
                "chosen": is_chosen,
            }
            for row, is_chosen in rows
        ],
        "searched": bool(query.strip()),
        "matched": matched,
        "unchangeable": [{"name": row.name, "type": row.type} for row in unchangeable],
        "more": len(found) > LIMIT,
        "limit": LIMIT,
    }


class Picker(forms.Widget):
    """The picker as a form widget; ``query`` (the search box's text) is set by ``PickerForm``
    from the posted data, so a form re-shown with an error lists the matches to choose from."""

    query = ""

    def __init__(self, kind: str, *, multiple: bool = False, label: str = "") -> None:
        super().__init__()
        self.kind = kind
        self.multiple = multiple
        self.label = label
        # Rows the field read while validating, by id: re-showing the form asks nothing more.
        self.known: dict[str, Any] = {}

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        if self.multiple:
            return data.getlist(name) if hasattr(data, "getlist") else data.get(name) or []
        return data.get(name)

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return name not in data and f"{name}_q" not in data

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        if value is None or value == "":
            ids: list[str] = []
        elif isinstance(value, (list, tuple)):
            ids = [str(v) for v in value]
        else:
            ids = [str(value)]
        html_id = (attrs or {}).get("id") or f"id_{name}"
        return SafeString(
            render_to_string(
                "identity/_picker.html",
                context(
                    kind_name=self.kind,
                    name=name,
                    html_id=html_id,
                    label=self.label,
                    multiple=self.multiple,
                    required=self.is_required,
                    query=self.query,
                    chosen_ids=ids,
                    known=self.known,
                ),
            )
        )


class PickerField(forms.Field):
    """One Okta id (or several) chosen with a picker, checked against the mirror in one query:
    an unknown id or a group of the wrong type is an error, and so is a search with nothing
    chosen (without JavaScript that is how people see the matches)."""

    def __init__(self, kind: str, *, multiple: bool = False, **kwargs: Any) -> None:
        self.kind = kind
        self.multiple = multiple
        kwargs.setdefault("widget", Picker(kind, multiple=multiple, label=kwargs.get("label", "")))
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> Any:
        if self.multiple:
            return [str(v) for v in (value or []) if v]
        return str(value) if value else ""

    def validate(self, value: Any) -> None:
        super().validate(value)
        ids = value if self.multiple else [value] if value else []
        noun = KINDS[self.kind].noun
        query = getattr(self.widget, "query", "").strip()
        if not ids:
            if query:
                raise forms.ValidationError(
                    f"Choose one of the {noun}s matching “{query[:100]}” below."
                )
            return
        if any(not _ID.match(i) for i in ids) or len(ids) > 200:
            article = "an" if noun[:1] in "aeiou" else "a"
            raise forms.ValidationError(f"That is not {article} {noun} from the directory.")
        kind = KINDS[self.kind]
        found = {row.pk: row for row in kind.model.objects.filter(pk__in=ids)}  # type: ignore[attr-defined]
        if isinstance(self.widget, Picker):
            self.widget.known = found
        if len(found) != len(set(ids)):
            raise forms.ValidationError(f"A chosen {noun} is not in the directory.")
        if kind.okta_groups_only:
            for row in found.values():
                if row.type != GroupType.OKTA_GROUP:
                    raise forms.ValidationError(
                        f"“{row.name}” is an {row.type} group: Okta lets only OKTA_GROUP "
                        "groups be changed."
                    )


class PickerForm(forms.Form):
    """Hands each picker the search text posted with the form (``<field>_q``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        source = self.data if self.is_bound else self.initial
        for name, field in self.fields.items():
            if isinstance(field.widget, Picker):
                field.widget.query = str(source.get(f"{self.add_prefix(name)}_q") or "")[:100]
