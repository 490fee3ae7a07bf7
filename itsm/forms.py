"""Form helpers shared by every app's pages."""

from __future__ import annotations

from django import forms
from django.forms.renderers import DjangoTemplates
from django.utils.html import conditional_escape as esc
from django.utils.html import escape
from django.utils.safestring import mark_safe


def style_form(form: forms.BaseForm, *, small: bool = False) -> forms.BaseForm:
    """Give each widget Bootstrap's class (and ``is-invalid`` when it has errors); safe to call twice."""
    size = " form-control-sm" if small else ""
    select_size = " form-select-sm" if small else ""
    for name, field in form.fields.items():
        widget = field.widget
        if isinstance(widget, forms.CheckboxInput):
            css = "form-check-input"
        elif isinstance(widget, forms.CheckboxSelectMultiple | forms.RadioSelect | forms.HiddenInput):
            continue
        elif isinstance(widget, forms.Select | forms.SelectMultiple):
            css = "form-select" + select_size
        else:
            css = "form-control" + size
        if form.is_bound and name in form.errors:
            css += " is-invalid"
        classes = widget.attrs.get("class", "").split()
        widget.attrs["class"] = " ".join(classes + [c for c in css.split() if c not in classes])
    return form


# -- rendering selects --------------------------------------------------------------------------

SELECT_TEMPLATE = "django/forms/widgets/select.html"


def render_select(widget: dict) -> str:
    """The HTML Django's ``select.html`` and ``select_option.html`` produce, built in Python.

    Django renders every ``<option>`` through an included template: ~0.1 ms each, so the queue page's
    few hundred options (agents, services, groups) cost more than all of its SQL. Same markup, same
    escaping, a hundredth of the time."""
    parts = [f'<select name="{esc(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group_name, options, _index in widget["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{esc(group_name)}">')
        for option in options:
            attrs = option["attrs"]
            extra = _SELECTED if attrs == _SELECTED_ATTRS else _attrs(attrs) if attrs else ""
            parts.append(
                f'\n  <option value="{escape(str(option["value"]))}"{extra}>{esc(option["label"])}</option>\n'
            )
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    # Escaped as the templates do: values through stringformat (always), the rest conditionally.
    return mark_safe("".join(parts))  # noqa: S308 - every value above is escaped


_SELECTED_ATTRS, _SELECTED = {"selected": True}, " selected"


def _attrs(attrs: dict) -> str:
    """``django/forms/widgets/attrs.html``: in order; ``True`` as a bare name, ``False`` left out."""
    return "".join(
        f" {esc(name)}" if value is True else f' {esc(name)}="{escape(str(value))}"'
        for name, value in attrs.items()
        if value is not False
    )


# Django's widgets whose template is only ``{% include "django/forms/widgets/input.html" %}``.
INPUT_TEMPLATES = frozenset(
    f"django/forms/widgets/{name}.html"
    for name in (
        "checkbox",
        "color",
        "date",
        "datetime",
        "email",
        "hidden",
        "number",
        "password",
        "search",
        "tel",
        "text",
        "time",
        "url",
    )
)


def render_input(widget: dict) -> str:
    """The HTML of Django's ``input.html`` (text, number, date, checkbox, hidden...), built in Python:
    a queue page has a few dozen inputs, ~0.3 ms each through the template engine."""
    value = widget["value"]
    shown = "" if value is None else f' value="{escape(str(value))}"'
    return mark_safe(  # noqa: S308 - every value is escaped
        f'<input type="{esc(widget["type"])}" name="{esc(widget["name"])}"{shown}{_attrs(widget["attrs"])}>'
    )


class FormRenderer(DjangoTemplates):
    """Django's default form renderer, with selects and inputs rendered in Python by
    ``render_select`` and ``render_input``, markup unchanged (settings: ``FORM_RENDERER``)."""

    def render(self, template_name, context, request=None):
        if template_name == SELECT_TEMPLATE:
            return render_select(context["widget"])
        if template_name in INPUT_TEMPLATES:
            return render_input(context["widget"])
        return super().render(template_name, context, request)
