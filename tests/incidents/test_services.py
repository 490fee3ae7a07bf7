"""Incident services: lifecycle, priority matrix, routing, intake scripts, escalation, merge,
parent/child, major incidents, security visibility, auto-close and optimistic locking."""

import datetime
import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone

from configuration import services as cmdb
from configuration.models import CIClass
from incidents import queries, services
from incidents.choices import TRANSITIONS, ConfirmationState, HopKind, QuestionKind, Status
from incidents.models import Incident, PriorityMatrixEntry, StatusPeriod
from itsm import queries as kernel_queries
from itsm import roles
from itsm import services as kernel
from itsm.exceptions import ConflictError, StaleVersion, TransitionNotAllowed
from itsm.models import ChangeRecord, Notification, TimelineEntry
from itsm.search import global_search
from tests.factories import SupplierFactory, SupportGroupFactory, UserFactory
from tests.incidents.factories import (
    CategoryFactory,
    IntakeQuestionFactory,
    RoutingRuleFactory,
    group_with,
    make_incident,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(agent):
    return group_with(agent, name="Service desk")


def move_to(incident, status, actor):
    """Drive an incident to ``status`` along the lifecycle."""
    steps = {
        Status.NEW: [],
        Status.IN_PROGRESS: [{"to": Status.IN_PROGRESS}],
        Status.ON_HOLD: [{"to": Status.ON_HOLD, "hold_reason": "awaiting_user"}],
        Status.RESOLVED: [
            {"to": Status.RESOLVED, "resolution_code": "solved_workaround", "resolution_notes": "Restarted"}
        ],
        Status.CLOSED: [
            {"to": Status.RESOLVED, "resolution_code": "solved_workaround", "resolution_notes": "Restarted"},
            {"to": Status.CLOSED},
        ],
        Status.CANCELLED: [{"to": Status.CANCELLED, "reason": "Logged twice by mistake"}],
    }
    for step in steps[status]:
        incident = services.transition(incident=incident, actor=actor, **step)
    return incident


REQUIREMENTS = {
    Status.IN_PROGRESS: {},
    Status.ON_HOLD: {"hold_reason": "awaiting_supplier"},
    Status.RESOLVED: {"resolution_code": "solved_permanently", "resolution_notes": "Replaced the toner"},
    Status.CLOSED: {},
    Status.CANCELLED: {"reason": "Not an incident"},
    Status.NEW: {},
}


@pytest.mark.parametrize("start", list(Status))
@pytest.mark.parametrize("target", list(Status))
def test_every_transition_is_allowed_or_refused_with_the_allowed_ones(agent, start, target):
    incident = move_to(make_incident(agent), start, agent)
    params = dict(REQUIREMENTS[target])
    if start == Status.RESOLVED and target == Status.IN_PROGRESS:
        params["reason"] = "Still broken"
    allowed = target in TRANSITIONS[start] or (start == target == Status.ON_HOLD)
    if start == target == Status.ON_HOLD:
        params["hold_reason"] = "awaiting_change"  # a new reason: allowed
    if allowed:
        done = services.transition(incident=incident, actor=agent, to=target, **params)
        assert done.status == target
        assert StatusPeriod.objects.filter(incident=done, ended_at__isnull=True).get().status == target
    else:
        with pytest.raises(TransitionNotAllowed) as refused:
            services.transition(incident=incident, actor=agent, to=target, **params)
        assert refused.value.extra["allowed"] == sorted(TRANSITIONS[start])
        assert Incident.objects.get(pk=incident.pk).status == start


def test_transitions_need_their_reasons(agent):
    incident = make_incident(agent)
    with pytest.raises(ValidationError) as error:
        services.transition(incident=incident, actor=agent, to=Status.ON_HOLD)
    assert "hold_reason" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        services.transition(incident=incident, actor=agent, to=Status.RESOLVED, resolution_code="nope")
    assert {"resolution_code", "resolution_notes"} <= set(error.value.message_dict)
    with pytest.raises(ValidationError) as error:
        services.transition(incident=incident, actor=agent, to=Status.CANCELLED)
    assert "reason" in error.value.message_dict
    resolved = move_to(incident, Status.RESOLVED, agent)
    with pytest.raises(ValidationError) as error:
        services.incident_reopen(incident=resolved, actor=agent, reason=" ")
    assert "reason" in error.value.message_dict


def test_milestones_and_counters(agent, desk, end_user):
    incident = make_incident(agent, caller=end_user, assignment_group=desk)
    assert incident.responded_at is None and incident.status_changed_at is not None
    incident = services.incident_start(incident=incident, actor=agent)
    assert incident.responded_at is not None
    incident = move_to(incident, Status.RESOLVED, agent)
    assert incident.resolved_at and incident.resolved_by == agent
    assert incident.confirmation == ConfirmationState.PENDING
    assert incident.first_contact_resolution  # logged and resolved by the same agent, no hop
    incident = services.incident_reopen(incident=incident, actor=agent, reason="Came back")
    assert (
        incident.reopen_count == 1 and incident.resolved_at is None and not incident.first_contact_resolution
    )
    periods = list(StatusPeriod.objects.filter(incident=incident).values_list("status", flat=True))
    assert periods == ["new", "in_progress", "resolved", "in_progress"]


def test_resolution_asks_the_caller_once(agent, end_user):
    incident = make_incident(agent, caller=end_user)
    move_to(incident, Status.RESOLVED, agent)
    told = Notification.objects.filter(recipient=end_user)
    assert told.count() == 1 and "please confirm" in told.get().subject


def test_caller_confirms_or_reopens_by_replying(agent, end_user, other_end_user):
    incident = move_to(make_incident(agent, caller=end_user), Status.RESOLVED, agent)
    with pytest.raises(PermissionDenied):
        services.incident_confirm(incident=incident, actor=other_end_user)
    closed = services.incident_confirm(incident=incident, actor=end_user)
    assert closed.status == Status.CLOSED and closed.confirmation == ConfirmationState.CONFIRMED

    second = move_to(make_incident(agent, caller=end_user), Status.RESOLVED, agent)
    services.incident_comment(incident=second, actor=end_user, body="It is still broken", public=False)
    second.refresh_from_db()
    assert second.status == Status.IN_PROGRESS and second.reopen_count == 1
    assert second.confirmation == ConfirmationState.REJECTED
    # The caller's comment is public whatever was asked.
    assert TimelineEntry.objects.filter(body="It is still broken", visibility="public").exists()


def test_auto_close_is_idempotent(agent, settings):
    settings.INCIDENT_AUTO_CLOSE_DAYS = 3
    old = move_to(make_incident(agent), Status.RESOLVED, agent)
    recent = move_to(make_incident(agent), Status.RESOLVED, agent)
    Incident.objects.filter(pk=old.pk).update(resolved_at=timezone.now() - datetime.timedelta(days=4))
    assert services.auto_close_resolved() == 1
    assert services.auto_close_resolved() == 0  # run twice: nothing more
    old.refresh_from_db()
    recent.refresh_from_db()
    assert old.status == Status.CLOSED and old.confirmation == ConfirmationState.AUTO_CLOSED
    assert recent.status == Status.RESOLVED
    closing = TimelineEntry.objects.filter(
        object_id=old.pk, kind="status_change", body__contains="automatically"
    )
    assert closing.count() == 1


# -- priority ------------------------------------------------------------------------------------


def test_priority_comes_from_the_matrix_and_changes_need_a_reason(agent):
    incident = make_incident(agent, impact=1, urgency=1)
    assert incident.priority == 1
    assert make_incident(agent, impact=4, urgency=4).priority == 5
    with pytest.raises(ValidationError) as error:
        services.incident_update(incident=incident, actor=agent, changes={"impact": 4})
    assert "P1 to P3" in error.value.message_dict["reason"][0]
    updated = services.incident_update(
        incident=incident, actor=agent, changes={"impact": 4}, reason="Only one user affected"
    )
    assert updated.priority == 3
    change = ChangeRecord.objects.filter(object_id=incident.pk, action="update").latest("at")
    assert change.changes["priority"] == {"old": 1, "new": 3}
    assert change.reason == "Only one user affected" and change.actor == agent


def test_matrix_edits_apply_to_new_incidents(agent):
    PriorityMatrixEntry.objects.filter(impact=4, urgency=4).update(priority=4)
    assert make_incident(agent, impact=4, urgency=4).priority == 4


def test_update_without_priority_change_needs_no_reason(agent):
    incident = make_incident(agent)
    updated = services.incident_update(incident=incident, actor=agent, changes={"description": "More detail"})
    assert updated.version == 2


# -- classification, routing, intake -------------------------------------------------------------


def test_subcategory_must_belong_to_the_category(agent):
    hardware, software = CategoryFactory(name="Hardware"), CategoryFactory(name="Software")
    laptop = CategoryFactory(name="Laptop", parent=hardware)
    with pytest.raises(ValidationError) as error:
        make_incident(agent, category=software, subcategory=laptop)
    assert "not a subcategory of 'Software'" in error.value.message_dict["subcategory"][0]
    with pytest.raises(ValidationError) as error:
        make_incident(agent, category=laptop)
    assert "is a subcategory" in error.value.message_dict["category"][0]
    incident = make_incident(agent, category=hardware, subcategory=laptop)
    # Changing the category drops a subcategory of the old one.
    changed = services.incident_update(incident=incident, actor=agent, changes={"category": software})
    assert changed.subcategory is None


def test_routing_rules_first_match_by_order(agent):
    network = CategoryFactory(name="Network")
    vpn = CategoryFactory(name="VPN", parent=network)
    net_team, vpn_team, mail_team = (SupportGroupFactory(name=n) for n in ("Network", "VPN", "Mail"))
    RoutingRuleFactory(order=20, category=network, assignment_group=net_team)
    RoutingRuleFactory(order=10, category=vpn, assignment_group=vpn_team)
    RoutingRuleFactory(order=30, keywords="outlook, mailbox", assignment_group=mail_team)
    assert make_incident(agent, category=network, subcategory=vpn).assignment_group == vpn_team
    assert make_incident(agent, category=network).assignment_group == net_team
    routed = make_incident(agent, short_description="Mailbox full")
    assert routed.assignment_group == mail_team
    assert routed.hops.get().kind == HopKind.ROUTED
    assert "Routed to Mail" in TimelineEntry.objects.filter(object_id=routed.pk).first().body
    chosen = SupportGroupFactory()
    assert make_incident(agent, category=network, assignment_group=chosen).assignment_group == chosen
    assert make_incident(agent, short_description="Something else").assignment_group is None


def test_routing_by_service_and_ci_class(agent):
    service_class = CIClass.objects.get(slug="business-service")
    server_class = CIClass.objects.get(slug="server")
    payroll = cmdb.ci_create(actor=None, ci_class=service_class, name="Payroll")
    server = cmdb.ci_create(actor=None, ci_class=server_class, name="srv-1")
    payroll_team, infra = SupportGroupFactory(), SupportGroupFactory()
    RoutingRuleFactory(order=1, service=payroll, assignment_group=payroll_team)
    RoutingRuleFactory(order=2, ci_class=CIClass.objects.get(slug="server"), assignment_group=infra)
    assert make_incident(agent, service=payroll).assignment_group == payroll_team
    assert make_incident(agent, cis=[server]).assignment_group == infra
    with pytest.raises(ValidationError) as error:
        make_incident(agent, service=server)
    assert "is not a service" in error.value.message_dict["service"][0]


def test_intake_script_answers_are_checked_and_stored(agent):
    vpn = CategoryFactory(name="VPN")
    client = IntakeQuestionFactory(
        category=vpn,
        order=1,
        text="Is your VPN client up to date?",
        kind=QuestionKind.YES_NO,
        required=True,
        fix_on_answer="no",
        fix_text="Update the VPN client from the software centre.",
    )
    where = IntakeQuestionFactory(
        category=vpn, order=2, text="Where are you?", kind=QuestionKind.CHOICE, choices=["Home", "Office"]
    )
    with pytest.raises(ValidationError) as error:
        make_incident(agent, category=vpn, answers={where.pk: "Moon"})
    errors = error.value.message_dict
    assert "needs an answer" in errors[f"answer_{client.pk}"][0]
    assert "not one of Home, Office" in errors[f"answer_{where.pk}"][0]
    incident = make_incident(agent, category=vpn, answers={str(client.pk): "No", where.pk: "Home"})
    assert [a["answer"] for a in incident.intake_answers] == ["No", "Home"]
    questions = services.intake_questions(vpn)
    fixes = services.suggested_fixes(questions, incident.intake_answers)
    assert fixes == [{"question": client.text, "answer": "no", "fix": client.fix_text}]


# -- assignment and escalation -------------------------------------------------------------------


def test_assignment_counts_hops_and_checks_membership(agent, desk):
    other = UserFactory(roles=[roles.AGENT])
    second_line = group_with(other, name="2nd line")
    incident = make_incident(agent, assignment_group=desk)
    with pytest.raises(ValidationError) as error:
        services.incident_assign(incident=incident, actor=agent, group=desk, assignee=other)
    assert "not a member of Service desk" in error.value.message_dict["assignee"][0]
    incident = services.incident_assign(incident=incident, actor=agent, group=desk, assignee=agent)
    assert incident.reassignment_count == 0 and incident.responded_at is not None
    incident = services.incident_assign(
        incident=incident, actor=agent, group=second_line, assignee=other, reason="DB issue"
    )
    assert incident.reassignment_count == 1
    assert Notification.objects.filter(recipient=other, subject__startswith="Assigned to you").count() == 1
    with pytest.raises(ConflictError):
        services.incident_assign(incident=incident, actor=agent, group=second_line, assignee=other)


def test_functional_hierarchical_and_supplier_escalation(agent, manager):
    second_line = SupportGroupFactory(name="2nd line")
    desk = group_with(agent, name="Desk", escalation_group=second_line, manager=manager)
    incident = make_incident(agent, assignment_group=desk, assignee=agent)
    with pytest.raises(ValidationError) as error:
        services.incident_escalate(incident=incident, actor=agent, kind="functional", reason="")
    assert "reason" in error.value.message_dict
    incident = services.incident_escalate(
        incident=incident, actor=agent, kind="functional", reason="Needs DBA"
    )
    assert (
        incident.assignment_group == second_line
        and incident.assignee is None
        and incident.reassignment_count == 1
    )
    assert incident.hops.last().kind == HopKind.FUNCTIONAL

    incident = services.incident_assign(incident=incident, actor=agent, group=desk, reason="Back to desk")
    services.incident_escalate(
        incident=incident, actor=agent, kind="hierarchical", reason="Customer is a VIP"
    )
    assert Notification.objects.filter(recipient=manager, subject__startswith="Escalation").count() == 1
    supplier = SupplierFactory()
    incident = services.incident_escalate(
        incident=incident,
        actor=agent,
        kind="supplier",
        supplier=supplier,
        supplier_reference="CASE-991",
        reason="Hardware fault",
    )
    assert incident.supplier == supplier and incident.supplier_reference == "CASE-991"
    assert list(incident.hops.values_list("kind", flat=True)) == [
        "assigned",
        "functional",
        "assigned",
        "hierarchical",
        "supplier",
    ]


def test_hierarchical_escalation_without_a_manager_is_refused(agent, desk):
    incident = make_incident(agent, assignment_group=desk)
    with pytest.raises(ValidationError) as error:
        services.incident_escalate(incident=incident, actor=agent, kind="hierarchical", reason="Slow")
    assert "no manager" in error.value.message_dict["kind"][0]


# -- updates -------------------------------------------------------------------------------------


def test_structured_update_and_work_notes(agent, end_user):
    incident = make_incident(agent, caller=end_user)
    note = services.incident_comment(
        incident=incident,
        actor=agent,
        body="Checked the logs",
        public=False,
        fields={"actions_completed": "Restarted the spooler", "actions_planned": "Replace the fuser"},
        involved=[agent],
    )
    assert note.kind == "work_note" and note.visibility == "internal"
    assert note.fields["actions_planned"] == "Replace the fuser"
    assert not Notification.objects.filter(recipient=end_user).exists()
    services.incident_comment(incident=incident, actor=agent, body="We are on it")
    incident.refresh_from_db()
    assert incident.responded_at is not None and incident.last_public_update_at is not None
    assert Notification.objects.filter(recipient=end_user, subject__startswith="Update on").count() == 1
    caller_view = list(kernel_queries.timeline_for(incident, end_user))
    assert [entry.body for entry in caller_view if entry.kind != "system"] == ["We are on it"]
    with pytest.raises(ValidationError):
        services.incident_comment(incident=incident, actor=agent, body="x", fields={"mood": "sad"})


# -- links between incidents ---------------------------------------------------------------------


def test_resolving_a_parent_resolves_its_open_children_with_a_note(agent):
    parent, child, done_child = (make_incident(agent) for _ in range(3))
    services.incident_set_parent(incident=child, actor=agent, parent=parent)
    services.incident_set_parent(incident=done_child, actor=agent, parent=parent)
    move_to(Incident.objects.get(pk=done_child.pk), Status.CANCELLED, agent)
    with pytest.raises(ValidationError):
        services.incident_set_parent(incident=parent, actor=agent, parent=child)  # a cycle
    move_to(Incident.objects.get(pk=parent.pk), Status.RESOLVED, agent)
    child.refresh_from_db()
    done_child.refresh_from_db()
    assert child.status == Status.RESOLVED and child.resolution_code == "parent_resolved"
    assert parent.number in child.resolution_notes
    assert done_child.status == Status.CANCELLED


def test_merge_moves_entries_files_and_watchers_and_tells_the_caller_once(agent, end_user, other_end_user):
    from django.core.files.uploadedfile import SimpleUploadedFile

    survivor = make_incident(agent, caller=other_end_user)
    duplicate = make_incident(agent, caller=end_user)
    for n in range(3):
        services.incident_comment(incident=duplicate, actor=agent, body=f"Comment {n}")
    kernel.attachment_add(record=duplicate, upload=SimpleUploadedFile("log.txt", b"trace"), actor=agent)
    before = Notification.objects.filter(recipient=end_user).count()
    services.incident_merge(duplicate=duplicate, survivor=survivor, actor=agent, reason="Same printer")
    duplicate.refresh_from_db()
    assert duplicate.status == Status.CLOSED and duplicate.duplicate_of == survivor
    assert duplicate.resolution_code == "duplicate"
    moved = TimelineEntry.objects.filter(object_id=survivor.pk, body__startswith="Comment")
    assert moved.count() == 3
    assert kernel_queries.attachments_for(survivor, agent).count() == 1
    assert end_user in survivor.watchers.all()
    assert Notification.objects.filter(recipient=end_user).count() == before + 1
    with pytest.raises(ConflictError):
        services.incident_merge(duplicate=duplicate, survivor=survivor, actor=agent)
    with pytest.raises(ValidationError):
        services.incident_merge(duplicate=survivor, survivor=survivor, actor=agent)


# -- major incidents -----------------------------------------------------------------------------


def test_major_incident_flow(agent, manager, settings):
    incident_manager = UserFactory(roles=[roles.AGENT, roles.INCIDENT_MANAGER])
    network = group_with(agent, name="Network", manager=manager)
    incident = make_incident(agent, assignment_group=network, impact=3, urgency=3)
    with pytest.raises(PermissionDenied):
        services.incident_declare_major(incident=incident, actor=agent, reason="Everything is down")
    with pytest.raises(ValidationError):
        services.incident_declare_major(incident=incident, actor=incident_manager, reason="")
    major = services.incident_declare_major(
        incident=incident, actor=incident_manager, reason="Core switch failure", update_cadence_minutes=15
    )
    assert major.is_major and major.priority == 1 and major.incident_manager == incident_manager
    assert Notification.objects.filter(recipient=manager, subject__startswith="MAJOR INCIDENT").count() == 1
    with pytest.raises(ConflictError):
        services.incident_declare_major(incident=major, actor=incident_manager, reason="again")

    member = services.swarm_add(
        incident=major, actor=incident_manager, user=agent, group=network, role="network lead"
    )
    with pytest.raises(ConflictError):
        services.swarm_add(incident=major, actor=incident_manager, user=agent, role="again")
    assert queries.incident_detail(incident_manager).get(pk=major.pk).swarm.all()[0] == member
    services.swarm_remove(incident=major, actor=incident_manager, user=agent)
    assert not queries.incident_detail(incident_manager).get(pk=major.pk).swarm.all()

    # Stakeholder update cadence: one reminder per overdue slot, however often the sweep runs.
    later = timezone.now() + datetime.timedelta(minutes=16)
    assert services.overdue_stakeholder_updates(now=later) == 1
    assert services.overdue_stakeholder_updates(now=later) == 0
    services.incident_comment(incident=major, actor=incident_manager, body="Engineers on site")
    soon = timezone.now() + datetime.timedelta(minutes=10)
    assert services.overdue_stakeholder_updates(now=soon) == 0  # the update is fresh
    assert services.overdue_stakeholder_updates(now=soon + datetime.timedelta(minutes=6)) == 1

    with pytest.raises(ConflictError):
        services.review_save(incident=major, actor=incident_manager, data={"what_happened": "x"})
    resolved = move_to(Incident.objects.get(pk=major.pk), Status.RESOLVED, incident_manager)
    review = services.review_save(
        incident=resolved,
        actor=incident_manager,
        data={"what_happened": "Switch firmware bug", "causes": "Firmware", "problem_requested": True},
    )
    assert review.problem_requested and review.incident == resolved
    review = services.review_save(
        incident=resolved, actor=incident_manager, data={"actions": "Upgrade", "complete": True}
    )
    assert review.completed_at is not None and review.version == 2


# -- security incidents --------------------------------------------------------------------------


def test_security_incident_is_visible_to_the_security_team_and_the_caller_only(agent, end_user):
    from django.core.files.uploadedfile import SimpleUploadedFile

    security = UserFactory(roles=[roles.AGENT, roles.SECURITY])
    incident = make_incident(agent, caller=end_user, short_description="Phishing mail with credential form")
    services.incident_comment(incident=incident, actor=agent, body="Forensics started", public=False)
    services.incident_comment(incident=incident, actor=agent, body="We are looking into it")
    internal = kernel.attachment_add(
        record=incident, upload=SimpleUploadedFile("headers.txt", b"x"), actor=agent, visibility="internal"
    )
    public = kernel.attachment_add(record=incident, upload=SimpleUploadedFile("note.txt", b"y"), actor=agent)
    services.incident_flag_security(incident=incident, actor=agent, reason="Credential phishing")
    with pytest.raises(PermissionDenied):
        services.incident_flag_security(incident=incident, actor=agent, reason="oops", flagged=False)

    other_agent = UserFactory(roles=[roles.AGENT])
    for user, sees in ((security, True), (other_agent, False), (agent, False), (end_user, True)):
        assert Incident.objects.visible_to(user).filter(pk=incident.pk).exists() is sees, user
        hits = [hit for group in global_search(user, "phishing") for hit in group.hits]
        assert bool(hits) is sees, user
    # The caller sees only the public parts.
    assert not incident.internal_visible_to(end_user)
    bodies = {entry.body for entry in kernel_queries.timeline_for(incident, end_user)}
    assert "We are looking into it" in bodies and "Forensics started" not in bodies
    assert kernel_queries.attachment_visible_to(public.pk, end_user) == public
    from django.http import Http404

    with pytest.raises(Http404):
        kernel_queries.attachment_visible_to(internal.pk, end_user)
    with pytest.raises(Http404):
        kernel_queries.attachment_visible_to(public.pk, other_agent)
    assert kernel_queries.attachment_visible_to(internal.pk, security) == internal
    # A staff member who raised a security incident sees it, but not its internal history.
    staff_caller_incident = make_incident(agent, caller=other_agent, is_security=True)
    assert Incident.objects.visible_to(other_agent).filter(pk=staff_caller_incident.pk).exists()
    history = kernel_queries.history_for(staff_caller_incident)
    assert kernel_queries.readable_history(staff_caller_incident, history, other_agent) == []
    assert kernel_queries.readable_history(staff_caller_incident, history, security)


# -- concurrency ---------------------------------------------------------------------------------


def test_stale_version_is_refused(agent):
    incident = make_incident(agent)
    services.incident_update(
        incident=incident, actor=agent, changes={"description": "first"}, expected_version=1
    )
    with pytest.raises(StaleVersion) as stale:
        services.incident_update(
            incident=incident, actor=agent, changes={"description": "second"}, expected_version=1
        )
    assert stale.value.extra["current_version"] == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_edits_of_one_version_let_exactly_one_win():
    agent = UserFactory(roles=[roles.AGENT])
    incident = make_incident(agent)
    outcomes = []
    barrier = threading.Barrier(4)

    def edit(n):
        try:
            barrier.wait()
            services.incident_update(
                incident=incident, actor=agent, changes={"description": f"edit {n}"}, expected_version=1
            )
            outcomes.append("saved")
        except StaleVersion:
            outcomes.append("stale")
        finally:
            connection.close()

    threads = [threading.Thread(target=edit, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["saved", "stale", "stale", "stale"]
    assert Incident.objects.get(pk=incident.pk).version == 2


# -- suggestions ---------------------------------------------------------------------------------


def test_suggestions_rank_similar_open_incidents_major_first_and_recommend_from_history(agent, manager):
    network = CategoryFactory(name="Network")
    net_team = SupportGroupFactory(name="Network team")
    for n in range(3):
        done = make_incident(
            agent,
            short_description=f"VPN connection drops every few minutes ({n})",
            category=network,
            assignment_group=net_team,
        )
        move_to(done, Status.RESOLVED, agent)
    make_incident(agent, short_description="Printer jams")
    similar = make_incident(agent, short_description="VPN drops when on hotel wifi")
    major = make_incident(agent, short_description="VPN gateway down for everyone")
    incident_manager = UserFactory(roles=[roles.AGENT, roles.INCIDENT_MANAGER])
    services.incident_declare_major(incident=major, actor=incident_manager, reason="All remote users")
    found = queries.suggest(agent, "My VPN connection keeps dropping")
    assert [i.pk for i in found.similar_open] == [major.pk, similar.pk]
    assert found.category.value == network.pk and found.category.share == 3
    assert found.group.label == "Network team"
    assert found.group.why == "3 of the 3 most similar resolved incidents"
    assert queries.suggest(agent, "the and for").similar_open == []
