"""Forms of the CMDB pages. They shape input only; ``configuration.services`` validates and writes.

The CI form is built per class: one field per attribute of the class schema (``attributes.<key>``)
and per identifier scheme the class reconciles on (``identifiers.<scheme>``), so a service error
keyed ``attributes.cpu_cores`` lands on the field of that name.
"""

from __future__ import annotations

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q

from configuration import schema as schemas
from configuration.choices import AttributeType, CIStatus, Criticality, Environment
from configuration.filters import CIFilterSet
from configuration.models import CIClass, ConfigurationItem, RelationshipType
from people.models import Location, Organisation, SupportGroup

ATTRIBUTE_PREFIX = "attributes."
IDENTIFIER_PREFIX = "identifiers."
OTHER_IDENTIFIERS = "identifiers"
SCHEME_LABELS = {
    "fqdn": "FQDN",
    "cloud_id": "Cloud resource ID",
    "app_id": "Application ID",
    "db_id": "Database ID",
    "software_id": "Software ID",
    "site_code": "Site code",
    "employee_id": "Employee ID",
}


# ------------------------------------------------------------------------------------- list filters


class AnyOneSelect(forms.SelectMultiple):
    """A one-line select for a multiple-choice filter: "Any" or one value.

    It still reads every value of the parameter, so ``?status=live&status=maintenance`` (as the
    API takes it) keeps working in the page.
    """

    allow_multiple_selected = False
    any_label = "Any"

    def optgroups(self, name, value, attrs=None):
        # The form field sets ``choices`` to its own (no blank): put "Any" first at render time.
        choices = self.choices
        self.choices = [("", self.any_label), *(c for c in choices if c[0] != "")]
        try:
            return super().optgroups(name, value, attrs)
        finally:
            self.choices = choices

    def value_from_datadict(self, data, files, name):
        values = data.getlist(name) if hasattr(data, "getlist") else [data.get(name)]
        return [value for value in values if value]


class CIPageFilterSet(CIFilterSet):
    """The API's CI filters, with widgets that fit a one-line filter bar."""

    status = django_filters.MultipleChoiceFilter(choices=CIStatus.choices, widget=AnyOneSelect)
    attr = django_filters.CharFilter(
        method="filter_attr",
        label="Attributes",
        widget=forms.TextInput(attrs={"placeholder": "version=2.4.1; os=linux"}),
        help_text="key=value; key2=value2",
    )
    identifier = django_filters.CharFilter(
        method="filter_identifier",
        label="Identifier",
        widget=forms.TextInput(attrs={"placeholder": "hostname=web-01"}),
    )

    field_order = [
        "q",
        "ci_class",
        "status",
        "environment",
        "criticality",
        "owner_group",
        "organisation",
        "is_service",
        "source",
        "identifier",
        "attr",
    ]

    @property
    def form(self):
        form = super().form
        if not getattr(form, "_ci_page_labels", False):
            # "Any" instead of "---------" / "Unknown" for a filter that is not set.
            for field in form.fields.values():
                if getattr(field, "empty_label", None) is not None:
                    field.empty_label = "Any"
                    field.widget.choices = field.choices  # the widget's copy still names the old label
            if "is_service" in form.fields:
                form.fields["is_service"].widget.choices = (
                    ("unknown", "Any"),
                    ("true", "Yes"),
                    ("false", "No"),
                )
            if "organisation" in form.fields:
                form.fields["organisation"].label = "Used by"
            form.order_fields(self.field_order)
            form._ci_page_labels = True
        return form


class ServicePageFilterSet(CIPageFilterSet):
    """The service list: the same filters, without "services only" (it always is)."""

    is_service = None


# ----------------------------------------------------------------------------------------- CI form


def parse_pairs(text: str, *, field: str) -> dict[str, str]:
    """``"hostname=web-01; serial=ABC"`` -> ``{"hostname": "web-01", "serial": "ABC"}``."""
    pairs: dict[str, str] = {}
    for part in (piece.strip() for piece in (text or "").replace("\n", ";").split(";")):
        if not part:
            continue
        key, separator, value = part.partition("=")
        if not separator or not key.strip() or not value.strip():
            raise ValidationError(f"'{part}' is not scheme=value (e.g. serial=ABC123).", code=field)
        pairs[key.strip().lower()] = value.strip()
    return pairs


def _attribute_field(attribute: schemas.Attribute) -> forms.Field:
    """A text-valued form field with the input type of the attribute; the schema checks the value."""
    kind = attribute.type
    options = {"label": attribute.label, "required": attribute.required}
    if kind == AttributeType.CHOICE:
        return forms.ChoiceField(choices=[("", "—"), *((c, c) for c in attribute.choices)], **options)
    if kind == AttributeType.BOOLEAN:
        return forms.ChoiceField(choices=[("", "—"), ("true", "Yes"), ("false", "No")], **options)
    widgets = {
        AttributeType.INTEGER: forms.NumberInput(attrs={"step": "1"}),
        AttributeType.DECIMAL: forms.NumberInput(attrs={"step": "any"}),
        AttributeType.DATE: forms.DateInput(attrs={"type": "date"}),
        AttributeType.URL: forms.URLInput(attrs={"placeholder": "https://"}),
        AttributeType.IP_ADDRESS: forms.TextInput(
            attrs={"placeholder": "192.0.2.10", "inputmode": "decimal"}
        ),
    }
    return forms.CharField(widget=widgets.get(kind, forms.TextInput()), strip=True, **options)


def _initial_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


class CIForm(forms.Form):
    """Create or edit a CI of one class. Sensitive attributes appear only for users who may see them."""

    ci_class = forms.ModelChoiceField(
        queryset=CIClass.objects.filter(is_active=True), label="Class", empty_label="Choose a class…"
    )
    name = forms.CharField(max_length=200)
    status = forms.ChoiceField(choices=CIStatus.choices, initial=CIStatus.LIVE)
    environment = forms.ChoiceField(choices=Environment.choices, initial=Environment.PRODUCTION)
    criticality = forms.TypedChoiceField(choices=Criticality.choices, coerce=int, initial=Criticality.MEDIUM)
    owner_group = forms.ModelChoiceField(
        queryset=SupportGroup.objects.filter(is_active=True), required=False, label="Owner group"
    )
    location = forms.ModelChoiceField(queryset=Location.objects.all(), required=False)
    organisations = forms.ModelMultipleChoiceField(
        queryset=Organisation.objects.all(),
        required=False,
        label="Used by",
        help_text="Organisations that use this CI (for a service: its consumers).",
        widget=forms.SelectMultiple(attrs={"size": 4}),
    )
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    identifiers = forms.CharField(
        required=False,
        label="Other identifiers",
        help_text="scheme=value pairs separated by ';', e.g. serial=ABC123; asset_tag=42",
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(
        self,
        data=None,
        *,
        user,
        ci_class: CIClass | None,
        schema: dict | None,
        instance=None,
        initial=None,
        refresh_url: str = "",
    ):
        super().__init__(data=data, initial=initial)
        self.user = user
        self.schema_class = ci_class  # the class whose fields are shown
        self.instance = instance
        self.schema = schema or {}
        self.may_see_sensitive = schemas.can_see_sensitive(user)
        if instance is not None:
            # A CI keeps its class and owner group even after they were deactivated.
            self.fields["ci_class"].queryset = CIClass.objects.filter(
                Q(is_active=True) | Q(pk=instance.ci_class_id)
            )
            self.fields["owner_group"].queryset = SupportGroup.objects.filter(
                Q(is_active=True) | Q(pk=instance.owner_group_id)
            )
        self.fields["ci_class"].widget.attrs.update(
            {
                "hx-get": refresh_url,
                "hx-trigger": "change",
                "hx-target": "#ci-class-fields",
                "hx-swap": "outerHTML",
                "hx-include": "#ci-class-fields",
            }
        )
        self.identifier_schemes = list(ci_class.identifier_keys or []) if ci_class else []
        for scheme in self.identifier_schemes:
            self.fields[IDENTIFIER_PREFIX + scheme] = forms.CharField(
                required=False,
                max_length=255,
                label=SCHEME_LABELS.get(scheme, scheme.replace("_", " ").capitalize()),
            )
        self.attribute_keys = []
        for key, attribute in self.schema.items():
            if attribute.sensitive and not self.may_see_sensitive:
                continue
            field = _attribute_field(attribute)
            field.sensitive = attribute.sensitive
            self.fields[ATTRIBUTE_PREFIX + key] = field
            self.attribute_keys.append(key)

    @classmethod
    def initial_for(cls, ci: ConfigurationItem) -> dict:
        """The form's starting values for an existing CI (its identifiers must be prefetched)."""
        ids = {i.scheme: i.value for i in ci.identifiers.all()}
        dedicated = set(ci.ci_class.identifier_keys or [])
        initial = {
            "ci_class": ci.ci_class_id,
            "name": ci.name,
            "status": ci.status,
            "environment": ci.environment,
            "criticality": ci.criticality,
            "owner_group": ci.owner_group_id,
            "location": ci.location_id,
            "organisations": [o.pk for o in ci.organisations.all()],
            "description": ci.description,
            "version": ci.version,
            "identifiers": "; ".join(f"{s}={v}" for s, v in ids.items() if s not in dedicated),
        }
        initial.update({IDENTIFIER_PREFIX + s: v for s, v in ids.items() if s in dedicated})
        initial.update({ATTRIBUTE_PREFIX + k: _initial_text(v) for k, v in (ci.attributes or {}).items()})
        return initial

    # Field groups for the template.
    def identifier_fields(self):
        return [self[IDENTIFIER_PREFIX + scheme] for scheme in self.identifier_schemes]

    def attribute_fields(self):
        return [self[ATTRIBUTE_PREFIX + key] for key in self.attribute_keys]

    def clean_identifiers(self):
        return parse_pairs(self.cleaned_data.get("identifiers", ""), field="identifiers")

    def clean(self):
        cleaned = super().clean()
        chosen = cleaned.get("ci_class")
        shown = str(self.data.get("fields_for", "")) if self.data else ""
        if chosen is not None and shown and shown != str(chosen.pk):
            # The page showed another class's attributes (no JavaScript refreshed them): show the
            # right ones and ask again rather than save attributes typed for another class.
            raise ValidationError("The class changed: check the attributes of the new class and save again.")
        return cleaned

    def attribute_values(self) -> dict:
        """Attributes to store: what the form shows, plus sensitive values the user cannot see."""
        values = {key: self.cleaned_data.get(ATTRIBUTE_PREFIX + key) for key in self.attribute_keys}
        values = {key: value for key, value in values.items() if value not in (None, "")}
        if self.instance is not None and not self.may_see_sensitive:
            for key, attribute in self.schema.items():
                if attribute.sensitive and key in (self.instance.attributes or {}):
                    values[key] = self.instance.attributes[key]
        return values

    def identifier_values(self) -> dict:
        values = dict(self.cleaned_data.get("identifiers") or {})
        for scheme in self.identifier_schemes:
            value = (self.cleaned_data.get(IDENTIFIER_PREFIX + scheme) or "").strip()
            if value:
                values[scheme] = value
            else:
                values.pop(scheme, None)
        return values

    def field_values(self) -> dict:
        """The plain fields, as ``ci_create``/``ci_update`` take them."""
        names = ["name", "status", "environment", "criticality", "owner_group", "location", "description"]
        return {name: self.cleaned_data[name] for name in names}

    def error_field(self, key: str) -> str | None:
        """The form field a service error key belongs on (``None``: the form as a whole)."""
        if key in self.fields and key != "version":
            return key
        if key.startswith(IDENTIFIER_PREFIX) or key == "identifiers":
            return OTHER_IDENTIFIERS
        if key == "ci_class":
            return "ci_class"
        return None


# -------------------------------------------------------------------------------- relationships


class TypeChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.forward_label


class RelationshipForm(forms.Form):
    """Relate this CI to another, either way round: "this CI <type> target" or "target <type> this CI"."""

    OUTGOING = "outgoing"
    INCOMING = "incoming"

    type = TypeChoiceField(queryset=RelationshipType.objects.all(), label="Relationship", empty_label=None)
    direction = forms.ChoiceField(
        choices=[(OUTGOING, "This CI → other CI"), (INCOMING, "Other CI → this CI")],
        initial=OUTGOING,
        label="Direction",
    )
    target = forms.CharField(
        label="Other CI",
        max_length=200,
        help_text="Its number (e.g. CI0001234) or exact name; type to search.",
    )
    description = forms.CharField(required=False, max_length=200, label="Note")

    def __init__(self, *args, ci: ConfigurationItem, **kwargs):
        super().__init__(*args, **kwargs)
        self.ci = ci

    def clean_target(self):
        text = self.cleaned_data["target"].strip()
        # "CI-000123 Name" as the picker's label shows it: the number is the first word.
        first = text.split()[0] if text else ""
        found = list(ConfigurationItem.objects.filter(number__iexact=first).only("pk", "name", "number")[:1])
        if not found:
            found = list(ConfigurationItem.objects.filter(name__iexact=text).only("pk", "name", "number")[:6])
        if not found:
            raise ValidationError(f"No CI has the number or name '{text}'.")
        if len(found) > 1:
            numbers = ", ".join(ci.number for ci in found[:5])
            raise ValidationError(f"Several CIs are called '{text}' ({numbers}); give the number.")
        if found[0].pk == self.ci.pk:
            raise ValidationError("A CI cannot be related to itself.")
        return found[0]


def picker_matches(text: str, *, exclude_pk: int | None = None, limit: int = 15):
    """CIs whose number starts with, or name contains, ``text`` (for the relationship picker)."""
    text = text.strip()
    if not text:
        return ConfigurationItem.objects.none()
    queryset = (
        ConfigurationItem.objects.filter(Q(number__istartswith=text) | Q(name__icontains=text))
        .select_related("ci_class")
        .only("pk", "number", "name", "ci_class__name")
        .order_by("name", "pk")
    )
    if exclude_pk:
        queryset = queryset.exclude(pk=exclude_pk)
    return queryset[:limit]


# ---------------------------------------------------------------------------------------- import


class ImportForm(forms.Form):
    """An import feed: a CSV or JSON file, or JSON (or CSV) pasted into the box."""

    MODES = [
        ("upsert", "Upsert: create new CIs, update the ones found"),
        ("audit", "Audit: compare only, change nothing; record unknown items as undocumented"),
    ]

    source = forms.CharField(
        max_length=100,
        label="Feed / source name",
        help_text="Recorded as each CI's source, e.g. vmware-discovery or terraform-prod.",
    )
    mode = forms.ChoiceField(
        choices=MODES, initial="upsert", widget=forms.RadioSelect(attrs={"class": "form-check-input"})
    )
    file = forms.FileField(
        required=False,
        label="CSV or JSON file",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.json,text/csv,application/json"}),
    )
    text = forms.CharField(
        required=False,
        label="Or paste JSON (or CSV)",
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false", "class": "font-monospace"}),
    )

    MAX_BYTES = 20 * 1024 * 1024

    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get("file")
        text = (cleaned.get("text") or "").strip()
        if upload is None and not text:
            raise ValidationError("Choose a file or paste the items.")
        if upload is not None and text:
            raise ValidationError("Give either a file or pasted items, not both.")
        if upload is not None:
            if upload.size > self.MAX_BYTES:
                self.add_error("file", f"The file is larger than {self.MAX_BYTES // (1024 * 1024)} MB.")
                return cleaned
            try:
                text = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                self.add_error("file", "The file is not UTF-8 text.")
                return cleaned
            name = upload.name.lower()
            kind = "json" if name.endswith(".json") else "csv" if name.endswith(".csv") else _sniff(text)
        else:
            kind = _sniff(text)
        cleaned["payload"] = text
        cleaned["format"] = kind
        return cleaned


def _sniff(text: str) -> str:
    return "json" if text.lstrip().startswith(("[", "{")) else "csv"


class AuditForm(forms.Form):
    not_seen_days = forms.IntegerField(
        min_value=1, max_value=3650, initial=7, label="Not seen by its feed for (days)"
    )
    verify_days = forms.IntegerField(
        min_value=1, max_value=3650, initial=90, label="Verification older than (days)"
    )
