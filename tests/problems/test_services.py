"""Problem management services: lifecycle, risk, incident links, resolving a problem, known errors,
workaround use and effectiveness, fixes, re-assessment, improvements."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from incidents import services as incident_services
from incidents.choices import Status as IncidentStatus
from itsm import queries as kernel_queries
from itsm import roles
from itsm.exceptions import ConflictError, StaleVersion, TransitionNotAllowed
from itsm.models import ChangeRecord, Notification, RecordLink, TimelineEntry
from problems import queries, services
from problems.choices import TRANSITIONS, KnownErrorStatus, Outcome, RiskScale, Status
from problems.models import FixProposal, KnownError, Problem, ProblemIncident, RiskLevel, WorkaroundUse
from tests.factories import UserFactory
from tests.incidents.factories import make_incident
from tests.problems.factories import investigated, level, make_known_error, make_problem

pytestmark = pytest.mark.django_db


def resolve_incident(incident, actor, code="known_error"):
    return incident_services.incident_resolve(
        incident=incident, actor=actor, resolution_code=code, resolution_notes="Done"
    )


# -- lifecycle ----------------------------------------------------------------------------------


def test_create_records_history_timeline_and_number(agent):
    problem = make_problem(agent, impact=4, probability=3, source="supplier")
    assert problem.number.startswith("PRB") and problem.status == Status.NEW
    assert problem.risk == 12
    assert ChangeRecord.objects.filter(object_id=problem.pk, action="create").exists()
    assert kernel_queries.timeline_for(problem, agent).filter(body__startswith="Logged by").exists()


@pytest.mark.parametrize("start", list(Status.values))
def test_every_transition_outside_the_table_is_refused_with_the_allowed_ones(agent, start):
    problem = make_problem(agent)
    Problem.objects.filter(pk=problem.pk).update(status=start, root_cause="Known")
    problem.refresh_from_db()
    for target in Status.values:
        if target in TRANSITIONS[start]:
            continue
        with pytest.raises(TransitionNotAllowed) as refused:
            services.problem_transition(problem=problem, actor=agent, to=target, notes="x", reason="x")
        assert refused.value.extra["allowed"] == sorted(TRANSITIONS[start])


def test_allowed_path_through_the_lifecycle_with_its_rules(agent):
    problem = make_problem(agent)
    problem = services.problem_transition(problem=problem, actor=agent, to=Status.UNDER_INVESTIGATION)
    with pytest.raises(ValidationError) as missing:
        services.problem_transition(problem=problem, actor=agent, to=Status.KNOWN_ERROR)
    assert "root_cause" in missing.value.message_dict
    problem = services.problem_update(problem=problem, actor=agent, changes={"root_cause": "Pool too small"})
    problem = services.problem_transition(problem=problem, actor=agent, to=Status.KNOWN_ERROR)
    with pytest.raises(ValidationError) as notes:
        services.problem_transition(problem=problem, actor=agent, to=Status.RESOLVED)
    assert "notes" in notes.value.message_dict
    problem = services.problem_transition(
        problem=problem, actor=agent, to=Status.RESOLVED, notes="Pool raised"
    )
    assert problem.resolved_at is not None and problem.resolved_by == agent
    with pytest.raises(ValidationError) as why:
        services.problem_transition(problem=problem, actor=agent, to=Status.UNDER_INVESTIGATION)
    assert "reason" in why.value.message_dict
    problem = services.problem_transition(
        problem=problem, actor=agent, to=Status.UNDER_INVESTIGATION, reason="Came back"
    )
    assert problem.resolved_at is None
    problem = services.problem_transition(problem=problem, actor=agent, to=Status.CLOSED, notes="Superseded")
    assert problem.closed_at is not None
    with pytest.raises(ConflictError):
        services.problem_update(problem=problem, actor=agent, changes={"title": "x"})
    kinds = list(
        TimelineEntry.objects.filter(object_id=problem.pk, kind="status_change").values_list(
            "body", flat=True
        )
    )
    assert len(kinds) == 5


def test_stale_version_is_refused(agent):
    problem = make_problem(agent)
    services.problem_update(problem=problem, actor=agent, changes={"title": "New title"})
    with pytest.raises(StaleVersion):
        services.problem_update(problem=problem, actor=agent, changes={"title": "Other"}, expected_version=1)


def test_unchanged_values_are_a_no_op(agent):
    problem = make_problem(agent)
    same = services.problem_update(problem=problem, actor=agent, changes={"title": problem.title})
    assert same.version == problem.version


def test_editing_fields_set_by_actions_is_refused(agent):
    problem = make_problem(agent)
    with pytest.raises(ValidationError) as refused:
        services.problem_update(problem=problem, actor=agent, changes={"status": "closed"})
    assert "status" in refused.value.message_dict


# -- risk ---------------------------------------------------------------------------------------


def test_risk_is_impact_times_probability_and_the_list_sorts_by_it(agent):
    low = make_problem(agent, title="Low", impact=1, probability=2)
    high = make_problem(agent, title="High", impact=5, probability=4)
    middle = make_problem(agent, title="Middle", impact=3, probability=3)
    unknown = make_problem(agent, title="Unknown")
    assert [p.pk for p in queries.problems(agent)] == [high.pk, middle.pk, low.pk, unknown.pk]
    assert (high.risk, middle.risk, low.risk, unknown.risk) == (20, 9, 2, 0)
    updated = services.problem_update(
        problem=low, actor=agent, changes={"probability": level(RiskScale.PROBABILITY, 5)}
    )
    assert updated.risk == 5


def test_impact_from_the_wrong_scale_is_refused(agent):
    with pytest.raises(ValidationError) as wrong:
        services.problem_create(actor=agent, fields={"title": "X", "impact": level(RiskScale.PROBABILITY, 3)})
    assert "impact" in wrong.value.message_dict


def test_changing_a_scale_step_recomputes_risks(agent):
    problem = make_problem(agent, impact=2, probability=2)
    step = RiskLevel.objects.get(scale=RiskScale.IMPACT, value=2)
    step.value = 7
    step.save()
    services.recompute_risks(step)
    problem.refresh_from_db()
    assert problem.risk == 14


# -- incidents ----------------------------------------------------------------------------------


def test_linking_incidents_records_who_and_when_once(agent):
    one, two = make_incident(agent), make_incident(agent)
    problem = make_problem(agent, incidents=[one])
    rows = services.problem_link_incidents(problem=problem, actor=agent, incidents=[one, two])
    assert [row.incident_id for row in rows] == [two.pk]
    link = ProblemIncident.objects.get(problem=problem, incident=two)
    assert link.linked_by == agent and link.linked_at is not None
    assert kernel_queries.timeline_for(two, agent).filter(body__contains=problem.number).exists()
    services.problem_unlink_incident(problem=problem, actor=agent, incident=two)
    with pytest.raises(ConflictError):
        services.problem_unlink_incident(problem=problem, actor=agent, incident=two)


def test_resolving_a_problem_informs_its_open_incidents_and_resolves_those_it_caused(agent):
    caused, related, done = make_incident(agent), make_incident(agent), make_incident(agent)
    resolve_incident(done, agent)
    problem = make_problem(agent, incidents=[caused, done])
    services.problem_link_incidents(problem=problem, actor=agent, incidents=[related], is_cause=False)
    problem = investigated(problem, agent)
    services.problem_transition(
        problem=problem, actor=agent, to=Status.RESOLVED, notes="Patched the driver", resolve_incidents=True
    )
    caused.refresh_from_db()
    related.refresh_from_db()
    assert caused.status == IncidentStatus.RESOLVED and problem.number in caused.resolution_notes
    assert related.status == IncidentStatus.IN_PROGRESS or related.status == IncidentStatus.NEW
    public = TimelineEntry.objects.filter(object_id=related.pk, visibility="public", body__contains="Patched")
    assert public.exists()
    assert TimelineEntry.objects.filter(
        object_id=caused.pk, kind="status_change", body__contains="Patched"
    ).exists()


def test_resolving_without_resolving_incidents_then_in_one_action(agent):
    caused = make_incident(agent)
    problem = investigated(make_problem(agent, incidents=[caused]), agent)
    problem = services.problem_transition(problem=problem, actor=agent, to=Status.RESOLVED, notes="Fixed")
    caused.refresh_from_db()
    assert caused.status == IncidentStatus.NEW
    assert services.problem_resolve_incidents(problem=problem, actor=agent) == [caused.number]
    caused.refresh_from_db()
    assert caused.status == IncidentStatus.RESOLVED


def test_resolve_incidents_before_the_problem_is_resolved_is_a_conflict(agent):
    problem = make_problem(agent)
    with pytest.raises(ConflictError):
        services.problem_resolve_incidents(problem=problem, actor=agent)


# -- known errors and workarounds -----------------------------------------------------------------


def test_known_error_from_an_analysed_problem_takes_its_fields_and_moves_it(agent):
    problem = make_problem(agent)
    services.workaround_create(
        actor=agent, problem=problem, fields={"title": "Restart", "symptoms": "Hangs", "steps": "Restart it"}
    )
    with pytest.raises(ConflictError):  # still new: not analysed
        services.known_error_create(actor=agent, fields={"symptoms": "Hangs"}, problem=problem)
    problem = investigated(problem, agent)
    known_error = services.known_error_create(actor=agent, fields={"symptoms": "Hangs"}, problem=problem)
    assert known_error.number.startswith("KE") and known_error.root_cause == "Connection pool too small"
    assert known_error.title == problem.title
    assert known_error.workarounds.count() == 1
    assert known_error.next_reassessment_on == timezone.localdate() + datetime.timedelta(days=90)
    problem.refresh_from_db()
    assert problem.status == Status.KNOWN_ERROR


def test_known_error_needs_symptoms_and_publishing_needs_text_and_a_manager(agent, manager):
    with pytest.raises(ValidationError) as symptoms:
        services.known_error_create(actor=agent, fields={"title": "X"})
    assert "symptoms" in symptoms.value.message_dict
    known_error = make_known_error(agent)
    with pytest.raises(ValidationError) as who:
        services.known_error_update(
            known_error=known_error, actor=agent, changes={"publish_to_portal": True, "public_text": "Hi"}
        )
    assert "publish_to_portal" in who.value.message_dict
    with pytest.raises(ValidationError) as text:
        services.known_error_update(
            known_error=known_error, actor=manager, changes={"publish_to_portal": True}
        )
    assert "public_text" in text.value.message_dict
    published = services.known_error_update(
        known_error=known_error,
        actor=manager,
        changes={"publish_to_portal": True, "public_text": "Restart the VPN."},
    )
    assert published.publish_to_portal


def test_workaround_review_waits_for_the_analysis(agent):
    problem = make_problem(agent)
    workaround = services.workaround_create(
        actor=agent, problem=problem, fields={"title": "Restart", "symptoms": "Hangs", "steps": "Restart"}
    )
    with pytest.raises(ConflictError):
        services.workaround_review(workaround=workaround, actor=agent, notes="Fine")
    investigated(problem, agent)
    reviewed = services.workaround_review(workaround=workaround, actor=agent, notes="Still the best")
    assert reviewed.reviewed_by == agent and reviewed.reviewed_at is not None


def test_applying_a_workaround_links_records_and_refuses_twice(agent):
    known_error = make_known_error(agent)
    incident = make_incident(agent)
    use = services.workaround_apply(known_error=known_error, incident=incident, actor=agent)
    assert use.applied_by == agent and use.outcome == Outcome.PENDING and use.workaround is not None
    assert RecordLink.objects.filter(
        kind="workaround", source_id=incident.pk, target_id=known_error.pk
    ).exists()
    assert TimelineEntry.objects.filter(
        object_id=incident.pk, kind="work_note", body__contains=known_error.number
    )
    with pytest.raises(ConflictError):
        services.workaround_apply(known_error=known_error, incident=incident, actor=agent)
    resolve_incident(incident, agent)
    with pytest.raises(ConflictError):
        services.workaround_apply(
            known_error=known_error, incident=make_incident_resolved(agent), actor=agent
        )


def make_incident_resolved(agent):
    incident = make_incident(agent)
    return resolve_incident(incident, agent)


def test_outcomes_follow_the_incidents_and_give_the_effectiveness_rate(agent):
    known_error = make_known_error(agent)
    worked, failed, partly, pending = (make_incident(agent) for _ in range(4))
    for incident in (worked, failed, partly, pending):
        services.workaround_apply(known_error=known_error, incident=incident, actor=agent)
    resolve_incident(worked, agent, code="known_error")
    resolve_incident(failed, agent, code="solved_permanently")
    partly = resolve_incident(partly, agent, code="solved_workaround")
    incident_services.incident_reopen(incident=partly, actor=agent, reason="Back again")
    outcomes = dict(WorkaroundUse.objects.values_list("incident_id", "outcome"))
    assert outcomes == {worked.pk: "worked", failed.pk: "failed", partly.pk: "partly", pending.pk: "pending"}
    rate = queries.effectiveness_of(known_error)
    assert (rate.uses, rate.rated, rate.percent) == (4, 3, 50)
    listed = queries.known_errors(agent).get(pk=known_error.pk)
    assert listed.use_count == 4 and listed.worked_count == 1


def test_a_persons_rating_overrides_and_is_kept(agent):
    known_error = make_known_error(agent)
    incident = make_incident(agent)
    use = services.workaround_apply(known_error=known_error, incident=incident, actor=agent)
    services.workaround_use_rate(use=use, actor=agent, outcome=Outcome.PARTLY)
    resolve_incident(incident, agent, code="known_error")
    use.refresh_from_db()
    assert use.outcome == Outcome.PARTLY
    with pytest.raises(ValidationError):
        services.workaround_use_rate(use=use, actor=agent, outcome="pending")


# -- error control --------------------------------------------------------------------------------


def test_fix_proposal_is_structured_and_moves_the_known_error(agent):
    known_error = make_known_error(agent)
    option = services.fix_option_add(
        known_error=known_error,
        actor=agent,
        fields={"title": "Upgrade the client", "cost": "1200.00", "risk": "low", "benefit": "No more drops"},
    )
    with pytest.raises(ValidationError):
        services.fix_propose(fix_option=option, actor=agent, justification=" ")
    proposal = services.fix_propose(fix_option=option, actor=agent, justification="Cheap, low risk")
    assert proposal.number.startswith("FXP") and proposal.status == "proposed"
    known_error.refresh_from_db()
    option.refresh_from_db()
    assert known_error.status == KnownErrorStatus.FIX_PLANNED and option.status == "chosen"
    with pytest.raises(ConflictError):
        services.fix_propose(fix_option=option, actor=agent, justification="Again")
    assert FixProposal.objects.count() == 1


def test_reassessment_schedule_tells_owners_once_however_often_it_runs(agent):
    owner = UserFactory(roles=[roles.AGENT])
    due = make_known_error(
        agent, owner=owner, next_reassessment_on=timezone.localdate() - datetime.timedelta(days=1)
    )
    make_known_error(
        agent,
        owner=owner,
        title="Later",
        next_reassessment_on=timezone.localdate() + datetime.timedelta(days=5),
    )
    retired = make_known_error(agent, owner=owner, title="Old", next_reassessment_on=timezone.localdate())
    services.known_error_transition(known_error=retired, actor=agent, to="retired", reason="Gone")
    assert services.reassessments_due() == 1
    assert services.reassessments_due() == 1
    told = Notification.objects.filter(recipient=owner, kind="problems.reassessment_due")
    assert told.count() == 1 and due.number in told.get().subject
    assert TimelineEntry.objects.filter(object_id=due.pk, body__startswith="Re-assessment due").count() == 1


def test_reassessment_record_snapshots_effectiveness_and_schedules_the_next(agent):
    known_error = make_known_error(agent, next_reassessment_on=timezone.localdate())
    incident = make_incident(agent)
    services.workaround_apply(known_error=known_error, incident=incident, actor=agent)
    resolve_incident(incident, agent)
    with pytest.raises(ValidationError) as bad:
        services.reassessment_record(known_error=known_error, actor=agent, impact="", decision="maybe")
    assert {"impact", "decision"} <= set(bad.value.message_dict)
    record = services.reassessment_record(
        known_error=known_error, actor=agent, impact="Two incidents a week", decision="keep_workaround"
    )
    assert record.workaround_effectiveness == 1 and record.uses_counted == 1
    known_error.refresh_from_db()
    assert known_error.next_reassessment_on == timezone.localdate() + datetime.timedelta(days=90)
    services.reassessment_record(
        known_error=known_error, actor=agent, impact="None any more", decision="retire"
    )
    known_error.refresh_from_db()
    assert known_error.status == KnownErrorStatus.RETIRED and known_error.next_reassessment_on is None


def test_resolving_a_problem_resolves_its_known_errors(agent):
    problem = investigated(make_problem(agent), agent)
    known_error = services.known_error_create(actor=agent, fields={"symptoms": "Hangs"}, problem=problem)
    problem.refresh_from_db()
    services.problem_transition(problem=problem, actor=agent, to=Status.RESOLVED, notes="Fixed")
    known_error.refresh_from_db()
    assert known_error.status == KnownErrorStatus.RESOLVED


def test_improvement_register_entry_from_a_problem(agent):
    problem = make_problem(agent)
    entry = services.improvement_create(
        actor=agent, fields={"title": "Train the desk", "benefit": "Faster triage", "problem": problem}
    )
    assert entry.number.startswith("CIR")
    assert TimelineEntry.objects.filter(object_id=problem.pk, body__contains=entry.number).exists()
    with pytest.raises(ValidationError):
        services.improvement_update(improvement=entry, actor=agent, changes={"status": "maybe"})


def test_known_error_visibility(agent, end_user):
    hidden = make_known_error(agent)
    shown = make_known_error(agent, title="Printer jams", publish_to_portal=False)
    KnownError.objects.filter(pk=shown.pk).update(
        publish_to_portal=True, public_text="Open tray 2 and remove paper."
    )
    # Nothing of the record itself (files, timeline, search hits): only the published text.
    assert not KnownError.objects.visible_to(end_user).exists()
    assert list(KnownError.objects.published_for(end_user)) == [KnownError.objects.get(pk=shown.pk)]
    assert Problem.objects.visible_to(end_user).count() == 0
    published = queries.published_known_errors(end_user, "printer")
    assert [row["number"] for row in published] == [shown.number]
    assert set(published[0]) == {"id", "number", "title", "public_text", "updated_at"}
    assert hidden.number not in str(queries.published_known_errors(end_user, ""))


def test_candidate_decisions_need_a_manager(agent):
    from problems import detection
    from problems.models import ProblemCandidate

    candidate = ProblemCandidate.objects.create(key="k", rule="ci_text", title="T", explanation="E")
    with pytest.raises(PermissionDenied):
        detection.candidate_accept(candidate=candidate, actor=agent)


def test_resolving_leaves_incidents_the_actor_may_not_see(agent):
    security = UserFactory(roles=[roles.AGENT, roles.SECURITY])
    secret = make_incident(security, short_description="Phishing", is_security=True)
    problem = investigated(make_problem(security, incidents=[secret]), security)
    services.problem_transition(
        problem=problem, actor=agent, to=Status.RESOLVED, notes="x", resolve_incidents=True
    )
    secret.refresh_from_db()
    assert secret.status == IncidentStatus.NEW
    assert services.problem_resolve_incidents(problem=problem, actor=security) == [secret.number]


def test_the_problem_manager_is_told(agent, manager):
    problem = make_problem(agent, problem_manager=manager)
    told = Notification.objects.filter(recipient=manager, kind="problems.assigned")
    assert told.count() == 1 and problem.number in told.get().subject
    services.problem_update(problem=problem, actor=agent, changes={"title": "Renamed"})
    assert told.count() == 1
    other = UserFactory(roles=[roles.MANAGER])
    services.problem_update(problem=problem, actor=agent, changes={"problem_manager": other})
    assert Notification.objects.filter(recipient=other, kind="problems.assigned").count() == 1
    mine = make_problem(manager, problem_manager=manager)
    assert not Notification.objects.filter(object_id=mine.pk, kind="problems.assigned").exists()
