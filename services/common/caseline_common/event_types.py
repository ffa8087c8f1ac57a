"""The names of the events the services emit, and the families they fall in: the one place that names an event
type. A leaf module (it imports nothing of Caseline's), so the template format can name events and the catalogue
of their data (`events.py`) can use the template format."""

from enum import StrEnum


class EventType(StrEnum):
    CASE_OPENED = "case.opened"
    CASE_FIELDS_CHANGED = "case.fields_changed"
    CASE_STAGE_CHANGED = "case.stage_changed"
    CASE_ASSIGNED = "case.assigned"
    CASE_ROLE_ASSIGNED = "case.role_assigned"
    CASE_CLOSED = "case.closed"
    CASE_CANCELLED = "case.cancelled"
    CASE_REOPENED = "case.reopened"
    CASE_MIGRATED = "case.migrated"
    TASK_CREATED = "task.created"
    TASK_COMPLETED = "task.completed"
    TASK_REOPENED = "task.reopened"
    TASK_ASSIGNED = "task.assigned"
    PARTICIPANT_ADDED = "participant.added"
    PARTICIPANT_ROLE_CHANGED = "participant.role_changed"
    PARTICIPANT_REMOVED = "participant.removed"
    PARTICIPANT_LANGUAGE_CHANGED = "participant.language_changed"
    DOCUMENT_ADDED = "document.added"
    DOCUMENT_REQUESTED = "document.requested"
    DECISION_RECORDED = "decision.recorded"
    COMMENT_ADDED = "comment.added"
    SLA_BREACHED = "sla.breached"
    SLA_WARNING = "sla.warning"
    TIMER_FIRED = "timer.fired"
    AUTOMATION_RAN = "automation.ran"
    AUTOMATION_REFUSED = "automation.refused"
    PORTAL_LINK_ISSUED = "portal.link_issued"
    PORTAL_LINK_REVOKED = "portal.link_revoked"
    TEMPLATE_PUBLISHED = "template.published"
    TIMELINE_EXPORTED = "timeline.exported"
    PERSONAL_DATA_ERASED = "personal_data.erased"


# Tenant-level: about no case (the timeline, automations and portal keep the template it carries).
TENANT_EVENTS = frozenset({EventType.TEMPLATE_PUBLISHED})
# Recorded by the timeline on a case's chain itself. `personal_data.erased` is also announced on the bus, for the
# read models that hold the person's data (the search index); webhooks, portal timelines and rules name neither.
TIMELINE_EVENTS = frozenset({EventType.TIMELINE_EXPORTED, EventType.PERSONAL_DATA_ERASED})
# About how Caseline speaks to a person on a case (a participant's language), not about the case's work: the feed
# and webhooks carry them, but no rule or portal timeline has a use for them, so a template cannot name them.
PREFERENCE_EVENTS = frozenset({EventType.PARTICIPANT_LANGUAGE_CHANGED})
# Events about a case's work that travel on the bus: what a webhook, a portal timeline or a template can name.
CASE_EVENTS = frozenset(EventType) - TENANT_EVENTS - TIMELINE_EVENTS - PREFERENCE_EVENTS
# The portal's own events do not carry the case they leave behind, so no rule condition could read it.
PORTAL_EVENTS = frozenset({EventType.PORTAL_LINK_ISSUED, EventType.PORTAL_LINK_REVOKED})
RULE_TRIGGERS = CASE_EVENTS - PORTAL_EVENTS
# What a webhook subscription receives: every event about a case.
WEBHOOK_EVENTS = CASE_EVENTS | PREFERENCE_EVENTS
# Events after which a case's chain is anchored.
CLOSING_EVENTS = frozenset({EventType.CASE_CLOSED, EventType.CASE_CANCELLED})
