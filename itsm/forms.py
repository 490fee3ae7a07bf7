"""Form helpers shared by every app's pages."""

from __future__ import annotations

from django import forms


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
