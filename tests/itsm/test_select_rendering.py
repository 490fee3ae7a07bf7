"""Selects and inputs are rendered in Python (``itsm.forms.FormRenderer``); the markup must be
Django's own."""

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates
from django.utils.safestring import mark_safe

from itsm.forms import FormRenderer


class Sample(forms.Form):
    plain = forms.ChoiceField(
        choices=[("", "---"), ("x", "X <&> 'quoted'"), ("Group", [("g1", "G1"), ("g2", 'G"2')])],
        initial="g2",
    )
    several = forms.MultipleChoiceField(
        choices=[("1", "one"), ("2", "two"), ("3", "three")],
        initial=["1", "3"],
        required=False,
        widget=forms.SelectMultiple(attrs={"data-x": 'a"b', "disabled": True, "hidden": False}),
    )
    maybe = forms.NullBooleanField()
    number = forms.TypedChoiceField(choices=[(1, "One"), (2, "Two")], coerce=int, initial=2)
    safe = forms.ChoiceField(choices=[("a&b", mark_safe("<b>bold</b> &amp; safe")), ("c", "<i>plain</i>")])
    text = forms.CharField(
        initial='Say "hi" & <go>', widget=forms.TextInput(attrs={"placeholder": "a<b", "required": True})
    )
    empty = forms.CharField(required=False, widget=forms.TextInput(attrs={"autofocus": False}))
    count = forms.IntegerField(initial=3, min_value=1)
    day = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), required=False)
    mail = forms.EmailField(required=False)
    secret = forms.CharField(widget=forms.HiddenInput, initial="x&y")
    agree = forms.BooleanField(initial=True, required=False)
    nope = forms.BooleanField(required=False, widget=forms.CheckboxInput(attrs={"class": "form-check-input"}))


@pytest.mark.parametrize(
    "name",
    [
        "plain",
        "several",
        "maybe",
        "number",
        "safe",
        "text",
        "empty",
        "count",
        "day",
        "mail",
        "secret",
        "agree",
        "nope",
    ],
)
def test_same_markup_as_django_templates(name):
    assert str(Sample(renderer=FormRenderer())[name]) == str(Sample(renderer=DjangoTemplates())[name])


def test_bound_values_and_errors_render_alike():
    data = {
        "plain": "x",
        "several": ["2"],
        "maybe": "true",
        "number": "9",
        "safe": "c",
        "text": "<script>",
        "count": "many",
        "day": "2026-02-30",
        "mail": 'a"b',
        "secret": "1",
        "agree": "on",
    }
    fast, slow = Sample(data, renderer=FormRenderer()), Sample(data, renderer=DjangoTemplates())
    assert not fast.is_valid() and not slow.is_valid()
    for name in Sample.base_fields:
        assert str(fast[name]) == str(slow[name])
    assert 'value="x" selected' in str(fast["plain"])


def test_the_project_uses_it(settings):
    assert settings.FORM_RENDERER == "itsm.forms.FormRenderer"


CACHED = [(1, "Ann <Admin>"), (2, "Bob & 'Co'"), (3, 'Cy "the" Third'), (30, "Thirty")]


@pytest.mark.parametrize("value", [None, "", 2, "3", 30, 99])
@pytest.mark.parametrize("empty_label", ["Any", None])
@pytest.mark.parametrize("required", [True, False])
def test_options_select_draws_what_djangos_select_draws(value, empty_label, required):
    from itsm.forms import Options, OptionsSelect

    options = Options.of("test-people", CACHED, empty_label)
    django_select = forms.Select(attrs={"class": "form-select", "data-x": 'a"b'}, choices=list(options))
    django_select.is_required = required
    ours = OptionsSelect.like(django_select, options)
    attrs = {"id": "id_who", "required": required}
    expected = django_select.render("who", value, attrs=attrs, renderer=DjangoTemplates())
    assert ours.render("who", value, attrs=attrs) == expected
    # Drawn again (from the options' own markup cache), the same.
    assert ours.render("who", value, attrs=attrs) == expected


def test_options_are_shared_until_their_cache_refreshes():
    from itsm.forms import Options

    values = list(CACHED)
    first = Options.of("test-shared", values, "Any")
    assert Options.of("test-shared", values, "Any") is first
    assert Options.of("test-shared", values, None) is not first
    refreshed = list(CACHED)
    assert Options.of("test-shared", refreshed, "Any") is not first
    assert list(Options.of("test-shared", refreshed, "Any")) == [("", "Any"), *CACHED]
    # One entry per cache and empty label, however often the cache refreshes.
    assert sum(1 for name, _label in Options._shared if name == "test-shared") == 2
