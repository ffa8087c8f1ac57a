// What a rule trigger's event carries in `data` that a condition may read, in terms of the draft (its stages,
// tasks, roles, …): the condition builder offers these as facts and the dry run builds its event from them.
// The full payloads are the catalogue's (caseline_common/events.py); what is not listed here stays JSON.
import { t } from "../../i18n.js";

const keyed = (list) => (list || []).filter((item) => item.key);
const stageChoices = (def) => keyed(def.stages).map((stage) => [stage.key, stage.name || stage.key]);
const roleChoices = (def) => keyed(def.roles).map((role) => [role.key, role.name || role.key]);
const taskChoices = (def) => keyed((def.stages || []).flatMap((stage) => stage.tasks || []))
  .map((task) => [task.key, task.title || task.key]);
const documentChoices = (def) => keyed(def.document_types).map((type) => [type.key, type.name || type.key]);
const decisionChoices = (def) => keyed(def.decisions).map((decision) => [decision.key, decision.label || decision.key]);
const outcomeChoices = (def) => [...new Set((def.decisions || []).flatMap((decision) => decision.options || []))]
  .map((option) => [option, option]);
const timerChoices = (def) => [...new Set((def.rules || []).flatMap((rule) => rule.actions || [])
  .filter((action) => action.type === "start_timer" && action.name).map((action) => action.name))].map((name) => [name, name]);
const ruleChoices = (def) => keyed(def.rules).map((rule) => [rule.key, rule.name || rule.key]);

// One datum: `key` its path below `data` (dots for nesting), `kind` text, number or boolean, `choices` [value, words].
const datum = (key, label, kind = "text", choices = null) => ({ key, label, kind, choices });

function statusChange() {
  return [datum("reason", t("Reason"))];
}

// Each trigger's data, or [] when nothing of it is worth a form of its own.
export function eventData(def, type) {
  switch (type) {
    case "case.opened": return [datum("stage", t("Stage"), "text", stageChoices(def)), datum("title", t("Title"))];
    case "case.stage_changed": return [
      datum("from", t("From stage"), "text", stageChoices(def)), datum("to", t("To stage"), "text", stageChoices(def)),
      datum("direction", t("Direction"), "text", [["forward", t("Forward")], ["back", t("Back")], ["skip", t("Skipping stages")]]),
      datum("reason", t("Reason"))];
    case "case.closed": case "case.cancelled": case "case.reopened": return statusChange();
    case "case.assigned": return [datum("before", t("Previous owner (user id)")), datum("after", t("New owner (user id)"))];
    case "case.role_assigned": return [datum("before", t("Previous role"), "text", roleChoices(def)),
      datum("after", t("New role"), "text", roleChoices(def))];
    case "task.created": return [datum("key", t("Task"), "text", taskChoices(def)), datum("title", t("Task title")),
      datum("required", t("Required"), "boolean"), datum("assignee_role", t("Assignee role"), "text", roleChoices(def))];
    case "task.completed": return [datum("key", t("Task"), "text", taskChoices(def)), datum("title", t("Task title"))];
    case "task.reopened": return [datum("title", t("Task title")), datum("reason", t("Reason"))];
    case "task.assigned": return [datum("title", t("Task title")),
      datum("after.assignee_role", t("New assignee role"), "text", roleChoices(def))];
    case "participant.added": case "participant.removed": return [datum("role", t("Role"), "text", roleChoices(def)),
      datum("kind", t("Kind"), "text", [["internal", t("Internal")], ["external", t("External")]])];
    case "participant.role_changed": return [datum("before", t("Previous role"), "text", roleChoices(def)),
      datum("after", t("New role"), "text", roleChoices(def))];
    case "document.added": return [datum("document_type", t("Document type"), "text", documentChoices(def)),
      datum("document_version", t("Version of the document"), "number"), datum("size", t("Size in bytes"), "number")];
    case "document.requested": return [datum("document_type", t("Document type"), "text", documentChoices(def)),
      datum("from_role", t("From role"), "text", roleChoices(def)), datum("message", t("Message"))];
    case "decision.recorded": return [datum("key", t("Decision"), "text", decisionChoices(def)),
      datum("after", t("Outcome"), "text", outcomeChoices(def)), datum("before", t("Previous outcome"), "text", outcomeChoices(def))];
    case "comment.added": return [datum("external", t("Shared with external participants"), "boolean"), datum("body", t("Comment"))];
    case "sla.breached": case "sla.warning": return [
      datum("scope", t("Deadline of"), "text", [["stage", t("The stage")], ["task", t("A task")]]),
      datum("stage", t("Stage"), "text", stageChoices(def)), datum("title", t("Task title"))];
    case "timer.fired": return [datum("name", t("Timer name"), "text", timerChoices(def))];
    case "automation.ran": return [datum("rule", t("Rule"), "text", ruleChoices(def)),
      datum("verdict", t("Verdict"), "text", [["fired", t("Fired")], ["skipped", t("Skipped")], ["stopped", t("Stopped")], ["failed", t("Failed")]])];
    default: return [];
  }
}

// The variables a piece of JSONLogic reads.
export function variablesOf(logic, found = new Set()) {
  if (Array.isArray(logic)) {
    for (const item of logic) variablesOf(item, found);
  } else if (logic && typeof logic === "object") {
    for (const [op, args] of Object.entries(logic)) {
      if (op === "var") {
        const name = Array.isArray(args) ? args[0] : args;
        if (typeof name === "string") found.add(name);
      } else {
        variablesOf(args, found);
      }
    }
  }
  return found;
}

// The event data paths the draft's rules on `type` read, beyond what eventData(def, type) names.
export function readEventData(def, type) {
  const known = new Set(eventData(def, type).map((item) => item.key));
  const paths = new Set();
  for (const rule of def.rules || []) {
    if (rule.trigger?.event_type !== type) continue;
    for (const name of variablesOf(rule.condition)) {
      if (name.startsWith("event.data.") && name.length > "event.data.".length) paths.add(name.slice("event.data.".length));
    }
  }
  return [...paths].filter((path) => !known.has(path)).sort();
}
