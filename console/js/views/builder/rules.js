// Automation rules: trigger, condition, a form per action type, and the dry run against the current draft.
import { api } from "../../api.js";
import { t, tn } from "../../i18n.js";
import { eventName, fill, h, labelled, problemBox, uid } from "../../ui.js";
import { fieldControl } from "../case/controls.js";
import {
  RULE_TRIGGERS, addButton, checkbox, choicesOf, durationInput, fieldTypes, itemTools, ptr, selectInput, textInput,
} from "./common.js";
import { conditionBuilder } from "./condition.js";
import { eventData, readEventData } from "./events.js";
import { section } from "./sections.js";

// The action types in words, made when asked (in the language loaded by then).
const actionTypes = () => [
  ["set_fields", t("Set fields")], ["create_task", t("Create a task")], ["assign", t("Assign")],
  ["move_stage", t("Move to a stage")], ["add_participant", t("Add a participant")],
  ["request_document", t("Request a document")], ["send_email", t("Send an e-mail")], ["call_webhook", t("Call a webhook")],
  ["start_timer", t("Start a timer")], ["add_comment", t("Add a comment")],
];

const ACTION_DEFAULTS = {
  set_fields: () => ({ values: {} }),
  create_task: () => ({ title: "", required: false }),
  assign: () => ({ role: null }),
  move_stage: () => ({ to: "" }),
  add_participant: () => ({ role: "" }),
  request_document: () => ({ document_type: "", from_role: "" }),
  send_email: () => ({ to_role: null, subject: "", body: "" }),
  call_webhook: () => ({ url: "https://" }),
  start_timer: () => ({ name: "", after: { amount: 1, unit: "days" } }),
  add_comment: () => ({ body: "", external: false }),
};

function fieldValue(field, text) {
  if (!field) { try { return JSON.parse(text); } catch { return text; } }
  if (field.type === "number") return text.trim() === "" || Number.isNaN(Number(text)) ? text : Number(text);
  if (field.type === "boolean") return text === "true" ? true : text === "false" ? false : text;
  if (["text", "long_text", "date", "datetime", "enum", "email", "phone", "file"].includes(field.type)) return text;
  if (field.type === "multi_enum" && !text.trim().startsWith("[")) return text.split(",").map((item) => item.trim()).filter(Boolean);
  try { return JSON.parse(text); } catch { return text; }
}

function fieldText(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "string") return value;
  if (Array.isArray(value) && value.every((item) => typeof item === "string")) return value.join(", ");
  return JSON.stringify(value);
}

function setFieldsForm(ctx, action, p) {
  action.values = action.values && typeof action.values === "object" ? action.values : {};
  const fields = (ctx.def.fields || []).filter((field) => field.key);
  const rows = h("ol", { class: "value-rows" });
  Object.entries(action.values).forEach(([key, value], index) => {
    const field = fields.find((candidate) => candidate.key === key);
    const keySelect = h("select", { id: uid("sf") }, [["", t("Choose a field")], ...fields.map((candidate) => [candidate.key, candidate.label || candidate.key])]
      .concat(key && !field ? [[key, t("{name} (unknown)", { name: key })]] : [])
      .map(([value2, text]) => h("option", { value: value2, selected: value2 === key }, text)));
    keySelect.dataset.pointer = ptr(...p.steps, "values", key);
    const input = h("input", { type: "text", id: uid("sv"), autocomplete: "off", placeholder: field?.type === "money" ? '{"amount": "100.00", "currency": "EUR"}' : "" });
    input.value = fieldText(value);
    keySelect.addEventListener("change", () => {
      const entries = Object.entries(action.values);
      entries[index] = [keySelect.value, entries[index][1]];
      action.values = Object.fromEntries(entries);
      ctx.touch();
      ctx.render({ focus: `[data-pointer="${ptr(...p.steps, "values", keySelect.value)}"]` });
    });
    input.addEventListener("input", () => {
      action.values[key] = fieldValue(field, input.value);
      ctx.touch();
    });
    rows.append(h("li", { class: "inline issue-host" },
      labelled(t("Field {number}", { number: index + 1 }), keySelect),
      labelled(t("Value {number}", { number: index + 1 }), input, { hint: field
        ? t("A value of type {type}.", { type: fieldTypes().find(([type]) => type === field.type)?.[1] || field.type }) : t("Text, or JSON.") }),
      h("button", { type: "button", class: "danger", "aria-label": t("Remove value {number}", { number: index + 1 }), onclick: () => {
        delete action.values[key];
        ctx.touch();
        ctx.render({ focus: `[data-add="${ptr(...p.steps, "values")}"]` });
      } }, t("Remove"))));
  });
  return h("div", { class: "subpanel" }, h("p", { class: "hint" }, t("Values are checked like any change.")),
    rows,
    h("button", { type: "button", class: "add", "data-add": ptr(...p.steps, "values"), onclick: () => {
      const free = fields.find((field) => !(field.key in action.values));
      const key = free ? free.key : "";
      if (key in action.values) return;
      action.values[key] = "";
      ctx.touch();
      ctx.render({ focus: `[data-pointer="${ptr(...p.steps, "values", key)}"]` });
    } }, t("Add value")));
}

function actionForm(ctx, action, p) {
  const def = ctx.def;
  const roles = choicesOf(def.roles);
  const externalRoles = choicesOf((def.roles || []).filter((role) => role.kind === "external"));
  const fieldsOfType = (types) => choicesOf((def.fields || []).filter((field) => types.includes(field.type)), "label");
  const tasks = (def.stages || []).flatMap((stage) => (stage.tasks || []).filter((task) => task.key).map((task) => [task.key, task.title ? `${task.title} (${task.key})` : task.key]));
  const at = (...steps) => ptr(...p.steps, ...steps);
  switch (action.type) {
    case "set_fields": return setFieldsForm(ctx, action, p);
    case "create_task": return h("div", { class: "subpanel" },
      h("div", { class: "grid two" },
        textInput(ctx, t("Task title"), action, "title", at("title"), { nullable: false }),
        selectInput(ctx, t("Assignee role"), action, "assignee_role", at("assignee_role"), [["", t("Nobody in particular")], ...roles])),
      durationInput(ctx, t("Due in"), action, "due_in", at("due_in")),
      checkbox(ctx, t("Required to leave the stage"), action, "required", at("required")));
    case "assign": return h("div", { class: "subpanel" },
      h("div", { class: "grid three" },
        selectInput(ctx, t("Assign to role"), action, "role", at("role"), [["", t("No role")], ...roles]),
        textInput(ctx, t("Or to a person (user id)"), action, "owner", at("owner")),
        selectInput(ctx, t("Task (instead of the case)"), action, "task_key", at("task_key"), [["", t("The case itself")], ...tasks])));
    case "move_stage": return h("div", { class: "subpanel" },
      selectInput(ctx, t("Move to stage"), action, "to", at("to"), [["", t("Choose a stage")], ...choicesOf(def.stages)], { nullable: false }));
    case "add_participant": return h("div", { class: "subpanel grid three" },
      selectInput(ctx, t("Participant role"), action, "role", at("role"), [["", t("Choose a role")], ...roles], { nullable: false }),
      textInput(ctx, t("User id (internal)"), action, "user_id", at("user_id")),
      selectInput(ctx, t("Party field (external)"), action, "party_field", at("party_field"), [["", t("None")], ...fieldsOfType(["party", "email"])]));
    case "request_document": return h("div", { class: "subpanel" },
      h("div", { class: "grid two" },
        selectInput(ctx, t("Document type"), action, "document_type", at("document_type"), [["", t("Choose a document type")], ...choicesOf(def.document_types)], { nullable: false }),
        selectInput(ctx, t("From role (external)"), action, "from_role", at("from_role"), [["", t("Choose a role")], ...externalRoles], { nullable: false })),
      textInput(ctx, t("Message"), action, "message", at("message"), { multiline: true }));
    case "send_email": return h("div", { class: "subpanel" },
      h("div", { class: "grid two" },
        selectInput(ctx, t("To role"), action, "to_role", at("to_role"), [["", t("No role")], ...roles]),
        selectInput(ctx, t("Or to the address in field"), action, "to_field", at("to_field"), [["", t("No field")], ...fieldsOfType(["email", "party"])])),
      textInput(ctx, t("Subject"), action, "subject", at("subject"), { nullable: false }),
      textInput(ctx, t("Body"), action, "body", at("body"), { nullable: false, multiline: true,
        hint: t("May use {title}, {field} and {event}.",
          { title: "{{ case.title }}", field: "{{ fields.<key> }}", event: "{{ event.type }}" }) }));
    case "call_webhook": return h("div", { class: "subpanel" },
      textInput(ctx, t("Webhook URL"), action, "url", at("url"), { nullable: false, type: "url", hint: t("https:// only; the event is posted to it.") }));
    case "start_timer": return h("div", { class: "subpanel" },
      textInput(ctx, t("Timer name"), action, "name", at("name"), { nullable: false, hint: t("The “Timer fired” event carries this name.") }),
      durationInput(ctx, t("Fires after"), action, "after", at("after")));
    case "add_comment": return h("div", { class: "subpanel" },
      textInput(ctx, t("Comment"), action, "body", at("body"), { nullable: false, multiline: true }),
      checkbox(ctx, t("Shared with external participants"), action, "external", at("external")));
    default: return h("p", { class: "hint" }, t("Unknown action type {type}.", { type: action.type }));
  }
}

function patternInput(ctx, rule, p) {
  const area = h("textarea", { rows: 2, spellcheck: "false", class: "code" });
  area.value = rule.trigger.pattern ? JSON.stringify(rule.trigger.pattern) : "";
  const message = h("p", { class: "hint", id: uid("pat") },
    t("Optional, an EventBridge-style pattern, e.g. {example}.", { example: '{"data": {"to": ["payment"]}}' }));
  area.setAttribute("aria-describedby", message.id);
  area.addEventListener("input", () => {
    if (!area.value.trim()) { rule.trigger.pattern = null; ctx.touch(); return; }
    try {
      rule.trigger.pattern = JSON.parse(area.value);
      message.textContent = t("Valid JSON.");
      ctx.touch();
    } catch (error) {
      message.textContent = t("Not valid JSON yet: {error}", { error: error.message });
    }
  });
  area.id = uid("pattern");
  area.dataset.pointer = ptr(...p, "trigger", "pattern");
  return h("div", { class: "field" }, h("label", { for: area.id }, t("Event pattern (JSON)")), area, message);
}

export function rulesSection(ctx) {
  const def = ctx.def;
  def.rules = def.rules || [];
  const rules = def.rules;
  const list = h("ol", { class: "cards" });
  rules.forEach((rule, index) => {
    const steps = ["rules", index];
    const p = (...more) => ptr(...steps, ...more);
    rule.trigger = rule.trigger || { event_type: "case.opened" };
    rule.actions = rule.actions || [];
    const actions = h("ol", { class: "cards compact" });
    rule.actions.forEach((action, actionIndex) => {
      const ap = { steps: [...steps, "actions", actionIndex] };
      const typeSelect = selectInput(ctx, t("Action type"), action, "type", ptr(...ap.steps, "type"),
        actionTypes(), { nullable: false, onChange: (type) => {
          for (const key of Object.keys(action)) if (key !== "type") delete action[key];
          Object.assign(action, ACTION_DEFAULTS[type]());
          ctx.render({ focus: `[data-pointer="${ptr(...ap.steps, "type")}"]` });
        } });
      actions.append(h("li", { class: "card" }, h("fieldset", {}, h("legend", {}, t("Action {number}", { number: actionIndex + 1 })),
        typeSelect, actionForm(ctx, action, ap),
        itemTools(ctx, rule.actions, actionIndex, (number) => t("action {number}", { number }), (i) => ptr(...steps, "actions", i)))));
    });
    list.append(h("li", { class: "card" }, h("fieldset", {}, h("legend", {}, rule.key ? t("Rule {number} ({key})", { number: index + 1, key: rule.key }) : t("Rule {number}", { number: index + 1 })),
      h("div", { class: "grid two" },
        textInput(ctx, t("Key"), rule, "key", p("key"), { nullable: false, onChange: () => ctx.render({ keepFocus: true }) }),
        textInput(ctx, t("Name"), rule, "name", p("name"), { nullable: false })),
      checkbox(ctx, t("Enabled"), rule, "enabled", p("enabled"), { defaultValue: true }),
      selectInput(ctx, t("Trigger event"), rule.trigger, "event_type", p("trigger", "event_type"),
        RULE_TRIGGERS.map((type) => [type, eventName(type)]), { nullable: false, onChange: () => ctx.render({ keepFocus: true }) }),
      patternInput(ctx, rule, steps),
      h("div", { class: "subpanel" }, h("h3", {}, t("Condition (optional)")),
        conditionBuilder(ctx, { get: () => rule.condition ?? null,
          set: (value) => { rule.condition = value; ctx.dryRunPanel?.refresh(); },
          pointer: p("condition"), label: t("Rule {number} condition", { number: index + 1 }), events: true,
          eventType: () => rule.trigger.event_type, optional: true })),
      h("div", { class: "subpanel" }, h("h3", {}, t("Actions")),
        rule.actions.length ? actions : h("p", { class: "hint" }, t("A rule needs 1 to 20 actions.")),
        h("button", { type: "button", class: "add", "data-add": p("actions"), "aria-label": t("Add action to rule {number}", { number: index + 1 }), onclick: () => {
          rule.actions.push({ type: "add_comment", ...ACTION_DEFAULTS.add_comment() });
          ctx.touch();
          ctx.render({ focus: `[data-pointer="${p("actions", rule.actions.length - 1, "type")}"]` });
        } }, t("Add action"))),
      itemTools(ctx, rules, index, (number) => t("rule {number}", { number }), (i) => ptr("rules", i)))));
  });
  return section("rules", t("Automation rules"),
    h("p", { class: "hint" }, t("A rule runs its actions when its trigger event happens on a case and its condition holds.")),
    rules.length ? list : h("p", {}, t("No rules yet.")),
    addButton(ctx, t("Add rule"), "/rules", () => {
      rules.push({ key: "", name: "", enabled: true, trigger: { event_type: "case.opened", pattern: null }, condition: null, actions: [] });
      return `[data-pointer="${ptr("rules", rules.length - 1, "key")}"]`;
    }),
    reusedDryRunPanel(ctx));
}

// The dry run keeps what was typed and found across re-renders of the builder.
function reusedDryRunPanel(ctx) {
  if (!ctx.dryRunPanel) ctx.dryRunPanel = dryRunPanel(ctx);
  ctx.dryRunPanel.refresh();
  return ctx.dryRunPanel;
}

// A case as the rules would see it, for trying rules without a real case.
function blankSnapshot(ctx, fields, stage) {
  const now = new Date().toISOString();
  return {
    id: "dry-run", tenant_id: "dry-run", template_key: ctx.key, template_version: ctx.latestVersion || 1,
    title: t("Dry run"), owner: ctx.user?.id || "dry-run", stage: stage || ctx.def.stages?.[0]?.key || "",
    stage_entered_at: now, status: "open", fields, created_at: now, created_by: ctx.user?.id || "dry-run",
    updated_at: now, version: 1,
  };
}

// The snapshot's field values: one input per field of the draft, drawn as the case page draws them. Values typed
// survive a change of the draft's fields (a field renamed or retyped starts empty).
function snapshotFields(ctx) {
  const element = h("div", { class: "dr-fields" });
  let controls = [];
  let shape = null;
  const read = () => {
    const values = {};
    for (const { key, control } of controls) {
      const value = control.read();
      if (value !== null && value !== undefined) values[key] = value;
    }
    return values;
  };
  const refresh = () => {
    const fields = (ctx.def.fields || []).filter((field) => field.key && field.type);
    const next = JSON.stringify(fields);
    if (next === shape) return;
    shape = next;
    const kept = read();
    const typeOf = Object.fromEntries(controls.map(({ key, type }) => [key, type]));
    controls = fields.map((field) => ({ key: field.key, type: field.type,
      control: fieldControl(field, typeOf[field.key] === field.type ? kept[field.key] : undefined) }));
    // These inputs are the snapshot's, not the draft's: the draft's mistakes are not theirs to show.
    const drawn = controls.map(({ control }) => control.element);
    for (const input of drawn.flatMap((part) => [...part.querySelectorAll("[data-pointer]")])) delete input.dataset.pointer;
    fill(element, drawn.length ? drawn : h("p", { class: "hint" }, t("The draft has no fields yet.")));
  };
  return { element, read, refresh };
}

// Sets `value` at a dotted path below `target`.
function setPath(target, path, value) {
  const steps = path.split(".");
  let node = target;
  for (const step of steps.slice(0, -1)) {
    if (!node[step] || typeof node[step] !== "object") node[step] = {};
    node = node[step];
  }
  node[steps.at(-1)] = value;
}

function datumControl(item, kept) {
  const notSet = h("option", { value: "" }, t("— Not set —"));
  if (item.kind === "boolean") {
    return h("select", {}, notSet, h("option", { value: "true", selected: kept === "true" }, t("Yes")),
      h("option", { value: "false", selected: kept === "false" }, t("No")));
  }
  if (item.choices?.length) {
    const choices = item.choices.some(([value]) => value === kept) || !kept ? item.choices : [...item.choices, [kept, kept]];
    return h("select", {}, notSet, choices.map(([value, words]) =>
      h("option", { value, selected: value === kept }, words === value ? value : `${words} (${value})`)));
  }
  const input = h("input", { type: item.kind === "number" ? "number" : "text", step: item.kind === "number" ? "any" : undefined,
    autocomplete: "off" });
  input.value = kept ?? "";
  return input;
}

function datumValue(item, text) {
  if (item.kind === "boolean") return text === "true";
  if (item.kind === "number") return Number(text);
  return text;
}

// The event's data: an input per datum the trigger carries and per path the draft's rules read, and JSON for
// anything else, labelled as the advanced way.
function eventDataForm(ctx, eventSelect) {
  const element = h("fieldset", { class: "subpanel dr-event-data" }, h("legend", {}, t("Event data")));
  const inputs = h("div", { class: "grid two" });
  const more = h("textarea", { id: uid("dr-data"), rows: 2, spellcheck: "false", class: "code" }, "{}");
  const advanced = h("details", { class: "dr-advanced" },
    h("summary", {}, t("Advanced: more event data as JSON")),
    labelled(t("Other event data (JSON)"), more, { hint: t("Only for what the inputs above do not cover; an input above wins over the same key here.") }));
  element.append(inputs, advanced);
  let items = [];
  let shape = null;
  const values = new Map();
  const refresh = () => {
    const type = eventSelect.value;
    const next = [...eventData(ctx.def, type),
      ...readEventData(ctx.def, type).map((path) => ({ key: path, label: t("{path} (read by a rule)", { path }), kind: "text" }))];
    const nextShape = JSON.stringify([type, next]);
    if (nextShape === shape) return;
    shape = nextShape;
    for (const { item, control } of items) values.set(item.key, control.value);
    items = next.map((item) => ({ item, control: datumControl(item, values.get(item.key)) }));
    fill(inputs, items.map(({ item, control }) => labelled(item.label, control)));
    inputs.hidden = !items.length;
    advanced.open = !items.length || (more.value.trim() !== "" && more.value.trim() !== "{}");
  };
  // Throws SyntaxError when the advanced JSON is not JSON.
  const read = () => {
    const data = more.value.trim() ? JSON.parse(more.value) : {};
    for (const { item, control } of items) if (control.value !== "") setPath(data, item.key, datumValue(item, control.value));
    return data;
  };
  return { element, read, refresh };
}

function dryRunPanel(ctx) {
  const caseSelect = h("select", { id: uid("dr-case") }, h("option", { value: "" }, t("A blank snapshot")));
  const stageSelect = h("select", { id: uid("dr-stage") });
  const refreshStages = () => {
    const chosen = stageSelect.value;
    fill(stageSelect, ...(ctx.def.stages || []).filter((stage) => stage.key)
      .map((stage) => h("option", { value: stage.key, selected: stage.key === chosen }, stage.name || stage.key)));
  };
  const eventSelect = h("select", { id: uid("dr-event") }, RULE_TRIGGERS.map((type) => h("option", { value: type }, eventName(type))));
  const firstTrigger = ctx.def.rules?.[0]?.trigger?.event_type;
  if (firstTrigger) eventSelect.value = firstTrigger;
  const fields = snapshotFields(ctx);
  const eventForm = eventDataForm(ctx, eventSelect);
  eventSelect.addEventListener("change", eventForm.refresh);
  const results = h("div", { class: "dry-run-results", "aria-live": "polite" });
  const blankOnly = h("fieldset", { class: "subpanel dr-snapshot" }, h("legend", {}, t("The blank snapshot")),
    labelled(t("Stage of the snapshot"), stageSelect),
    h("p", { class: "hint" }, t("Its field values; empty ones are left out.")),
    fields.element);
  let cases = [];
  caseSelect.addEventListener("change", () => { blankOnly.hidden = caseSelect.value !== ""; });
  const loadCases = async () => {
    try {
      cases = await api.all("/cases", { template_key: ctx.key }, 100);
      for (const item of cases) caseSelect.append(h("option", { value: item.id }, `${item.title} (${item.stage}, ${item.id})`));
    } catch { /* a template not yet published has no cases */ }
  };
  if (ctx.latestVersion) loadCases();

  const run = async () => {
    fill(results, h("p", { class: "loading", role: "status" }, t("Running…")));
    let data;
    try {
      data = eventForm.read();
    } catch (error) {
      fill(results, problemBox({ title: t("The other event data is not valid JSON"), detail: error.message }));
      return;
    }
    const snapshot = caseSelect.value ? cases.find((item) => item.id === caseSelect.value)
      : blankSnapshot(ctx, fields.read(), stageSelect.value);
    try {
      const answer = await api.post(`/templates/${encodeURIComponent(ctx.key)}/rules/test`,
        { case: snapshot, event: { type: eventSelect.value, data }, definition: ctx.def });
      fill(results, decisionsView(answer));
      ctx.say(tn("Dry run: {count} rule triggered.", "Dry run: {count} rules triggered.", answer.decisions.length));
    } catch (problem) {
      // Mistakes in the draft come back under /definition: show them on their inputs too.
      const errors = problem.errors || [];
      const inDefinition = errors.filter((error) => error.pointer?.startsWith("/definition/"))
        .map((error) => ({ ...error, pointer: error.pointer.slice("/definition".length) }));
      if (inDefinition.length) ctx.showIssues(inDefinition);
      fill(results, problemBox(problem));
    }
  };
  const panel = h("div", { class: "panel dry-run", role: "region", "aria-labelledby": "dry-run-title" },
    h("h3", { id: "dry-run-title" }, t("Dry run")),
    h("p", { class: "hint" }, t("What the rules of this draft would do for an event on a case. Nothing is changed.")),
    h("div", { class: "grid two" },
      labelled(t("Case"), caseSelect, { hint: ctx.latestVersion ? t("Cases of this template, or a blank snapshot.") : t("Publish to try real cases; until then, a blank snapshot.") }),
      labelled(t("Event type"), eventSelect)),
    blankOnly,
    eventForm.element,
    h("div", { class: "actions" }, h("button", { type: "button", class: "primary", onclick: run }, t("Run dry run"))),
    results);
  // Called at each render of the builder and when a rule's condition changes: the draft's stages, fields and
  // the event data its rules read may have changed.
  panel.refresh = () => {
    refreshStages();
    fields.refresh();
    eventForm.refresh();
  };
  ctx.reloadDryRunCases = () => {
    while (caseSelect.options.length > 1) caseSelect.remove(1);
    loadCases();
  };
  return panel;
}

function decisionsView(answer) {
  if (!answer.decisions.length) return h("p", {}, t("No rule is triggered by this event."));
  const verdicts = { fired: t("Fired"), skipped: t("Skipped"), stopped: t("Stopped"), failed: t("Failed") };
  const actionNames = Object.fromEntries(actionTypes());
  const condition = (value) => {
    if (value === null) return t("Condition: not evaluated");
    return value ? t("Condition: holds") : t("Condition: does not hold");
  };
  return h("ul", { class: "decisions" }, answer.decisions.map((decision) =>
    h("li", { class: "decision" },
      h("p", {}, h("strong", {}, decision.name), ` (${decision.rule}) `,
        h("span", { class: `badge verdict-${decision.verdict}` }, verdicts[decision.verdict] || decision.verdict),
        ` · ${condition(decision.condition)}`),
      decision.error ? h("p", { class: "dr-error" }, decision.error) : null,
      decision.actions.length ? h("ol", { class: "planned" }, decision.actions.map((action) =>
        h("li", {}, `${actionNames[action.type] || action.type}: ${action.summary}`,
          action.error ? h("span", { class: "dr-error" }, " — ", t("cannot run: {error}", { error: action.error })) : null))) : null)));
}

