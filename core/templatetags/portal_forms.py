"""Render a form field the Bootstrap way, with its help text and errors wired for screen readers."""

from __future__ import annotations

from django import forms, template
from django.utils.safestring import SafeString

register = template.Library()


def _css_class(field: forms.BoundField) -> str:
    widget = field.field.widget
    if isinstance(widget, forms.CheckboxInput | forms.CheckboxSelectMultiple | forms.RadioSelect):
        base = "form-check-input"
    elif isinstance(widget, forms.Select):
        base = "form-select"
    else:
        base = "form-control"
    existing = widget.attrs.get("class", "")
    if base in existing.split():
        base = ""
    return " ".join(c for c in (existing, base, "is-invalid" if field.errors else "") if c)


@register.filter
def bs_field(field: forms.BoundField) -> SafeString:
    """The widget with Bootstrap's class, ``aria-describedby`` pointing at the help text and
    errors rendered by approvals/_form_fields.html, and ``aria-invalid`` when it has errors."""
    attrs: dict[str, str | bool] = {"class": _css_class(field)}
    described = []
    if field.help_text:
        described.append(f"{field.auto_id}_help")
    if field.errors:
        described.append(f"{field.auto_id}_errors")
        attrs["aria-invalid"] = "true"
    if described:
        attrs["aria-describedby"] = " ".join(described)
    return field.as_widget(attrs=attrs)
