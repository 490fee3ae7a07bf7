"""Event rules: ordered, every set condition must hold, first matching rule wins per action."""

from __future__ import annotations

from configuration.queries import class_and_descendants
from events.choices import DEFAULT_CLASSIFICATION
from events.models import Rule
from events.normalise import MAX_TEXT
from events.pipeline import Item


class RuleSet:
    """Active rules in order, with each CI-class condition expanded to the class and its subclasses."""

    def __init__(self, rules: list[Rule] | None = None):
        if rules is None:
            rules = list(Rule.objects.filter(is_active=True).order_by("order", "id"))
        self.rules = rules
        self.classes = {
            rule.pk: set(class_and_descendants(rule.match_ci_class))
            for rule in self.rules
            if rule.match_ci_class_id
        }

    def matches(self, rule: Rule, item: Item) -> bool:
        event = item.event
        if rule.match_source_id and rule.match_source_id != item.source.pk:
            return False
        if rule.match_check and rule.match_check != event.check_name:
            return False
        if rule.match_ci_class_id and (item.ci is None or item.ci.ci_class_id not in self.classes[rule.pk]):
            return False
        for name, wanted in (rule.match_labels or {}).items():
            have = event.labels.get(name)
            if have is None or (wanted != "*" and str(wanted) != have):
                return False
        if rule.value_above is not None and (event.value is None or not event.value > rule.value_above):
            return False
        return not (
            rule.value_below is not None and (event.value is None or not event.value < rule.value_below)
        )

    def apply(self, item: Item) -> None:
        """For each action the first matching rule that sets it wins; a matching drop rule drops."""
        event = item.event
        classification = severity = dedup = None
        for rule in self.rules:
            if not self.matches(rule, item):
                continue
            if item.rule_id is None:
                item.rule_id = rule.pk
            if rule.drop:
                item.dropped = True
                item.rule_id = rule.pk
                return
            if rule.open_incident_on_warning:
                item.warning_incident = True
            if classification is None and rule.set_classification:
                classification = rule.set_classification
            if severity is None and rule.set_severity:
                severity = rule.set_severity
            if dedup is None and rule.set_dedup_key:
                dedup = _render_key(rule.set_dedup_key, item)
        if severity:
            event.severity = severity
        if dedup:
            event.dedup_key = dedup
        item.classification = classification or DEFAULT_CLASSIFICATION[event.severity]


class _KeyFields(dict):
    def __missing__(self, key: str) -> str:
        return ""


def _render_key(template: str, item: Item) -> str:
    event = item.event
    values = _KeyFields(
        source=item.source.name,
        resource=event.resource,
        check=event.check_name,
        ci=item.ci.number if item.ci else event.ci_ref,
    )
    for name, value in event.labels.items():
        values[f"label.{name}"] = value
    try:
        return template.format_map(values)[:MAX_TEXT] or event.dedup_key
    except (ValueError, IndexError, AttributeError, KeyError):
        return event.dedup_key
