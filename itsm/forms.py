"""Form helpers shared by every app's pages."""

from __future__ import annotations

from django import forms
from django.forms.renderers import DjangoTemplates
from django.utils.choices import BaseChoiceIterator
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


class Options(BaseChoiceIterator):
    """Flat ``(value, label)`` choices read from a cache, shared by every form that offers them
    (``Options.of``): Django would normalise a plain list again each time it is set or a form is
    built (every pair checked, some 800 calls a queue page for its 200 agents); an iterator is
    passed through as it is. Their ``<option>`` markup is kept per selected value."""

    _shared: dict = {}

    def __init__(self, choices: tuple):
        self.choices = choices
        self._html: dict[tuple, str] = {}

    @classmethod
    def of(cls, name: str, values: list, empty_label: str | None) -> Options:
        """The options of ``values``, the list cached under ``name`` (the same object until its
        cache refreshes, then replaced here), after an empty one when ``empty_label`` is given."""
        key = (name, empty_label)
        shared = cls._shared.get(key)
        if shared is None or shared[0] is not values:
            empty = (("", empty_label),) if empty_label is not None else ()
            shared = cls._shared[key] = (values, cls((*empty, *values)))
        return shared[1]

    def __iter__(self):
        return iter(self.choices)

    def __len__(self) -> int:
        return len(self.choices)

    def html(self, values: list[str]) -> str:
        """What ``render_select`` draws for these options with ``values`` selected (the first
        matching one, as Django's single select does)."""
        key = tuple(values)
        text = self._html.get(key)
        if text is None:
            parts, chosen = [], False
            for value, label in self.choices:
                shown = "" if value is None else str(value)
                selected = not chosen and shown in values
                chosen = chosen or selected
                parts.append(
                    f'\n  <option value="{escape(shown)}"{_SELECTED if selected else ""}>{esc(label)}</option>\n'
                )
            if len(self._html) > 256:
                self._html.clear()
            text = self._html[key] = "".join(parts)
        return text


class OptionsSelect(forms.Select):
    """A single select over ``Options``: the markup of Django's ``select.html`` without building an
    option dict per choice on every page (``ChoiceWidget.optgroups``)."""

    @classmethod
    def like(cls, widget: forms.Select, options: Options) -> OptionsSelect:
        select = cls(attrs=widget.attrs.copy(), choices=options)
        select.is_required, select.is_localized = widget.is_required, widget.is_localized
        return select

    def render(self, name, value, attrs=None, renderer=None):
        final = self.build_attrs(self.attrs, attrs)
        return mark_safe(  # noqa: S308 - names, attributes and options are escaped
            f'<select name="{esc(name)}"{_attrs(final)}>{self.choices.html(self.format_value(value))}\n</select>'
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
