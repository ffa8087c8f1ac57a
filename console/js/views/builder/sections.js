// The builder's sections for what a template holds: basics, fields, stages, documents, decisions, roles, portal.
import { h, humanize, labelled, uid } from "../../ui.js";
import {
  CASE_EVENTS, EXTERNAL_PERMISSIONS, FIELD_TYPES, PERMISSIONS, PERMISSION_NAMES, WEEKDAYS, addButton, checkbox, choicesOf,
  durationInput, itemTools, keyChecklist, listInput, numberInput, ptr, selectInput, textInput,
} from "./common.js";
import { conditionBuilder } from "./condition.js";

export function section(id, title, ...children) {
  return h("section", { id: `sec-${id}`, class: "builder-section", "aria-labelledby": `sec-${id}-title` },
    h("h2", { id: `sec-${id}-title`, tabindex: "-1" }, title), ...children);
}

function stageChoices(def) {
  return choicesOf(def.stages);
}

function roleChoices(def, { kind } = {}) {
  return choicesOf((def.roles || []).filter((role) => !kind || (role.kind || "internal") === kind));
}

// When a key changes, what refers to it follows, and the other sections show the new key.
function renamer(ctx, kind, item) {
  let before = item.key;
  return (after) => {
    if (before && after && before !== after) ctx.renameKey(kind, before, after);
    before = after;
    ctx.render({ keepFocus: true });
  };
}

export function basicsSection(ctx) {
  const def = ctx.def;
  def.calendar = def.calendar || {};
  const calendar = def.calendar;
  const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  const zoneList = uid("zones");
  const workdays = Array.isArray(calendar.workdays) ? calendar.workdays : [1, 2, 3, 4, 5];
  const days = h("fieldset", { class: "field checklist" }, h("legend", {}, "Workdays"));
  const dayList = h("div", { class: "checklist-items" });
  WEEKDAYS.forEach((name, index) => {
    const control = h("input", { type: "checkbox", id: uid("day"), value: String(index + 1) });
    control.checked = workdays.includes(index + 1);
    if (index === 0) control.dataset.pointer = "/calendar/workdays";
    control.addEventListener("change", () => {
      const chosen = new Set(Array.isArray(calendar.workdays) ? calendar.workdays : [1, 2, 3, 4, 5]);
      if (control.checked) chosen.add(index + 1); else chosen.delete(index + 1);
      calendar.workdays = [...chosen].sort();
      ctx.touch();
    });
    dayList.append(h("div", { class: "choice" }, control, h("label", { for: control.id }, name)));
  });
  days.append(dayList);
  const key = h("input", { type: "text", value: def.key, readonly: true });
  return section("basics", "Basics",
    h("div", { class: "grid two" },
      labelled("Template key", key, { pointer: "/key", hint: "Set when the template was created; it never changes." }),
      textInput(ctx, "Name", def, "name", "/name", { nullable: false, required: true, onChange: () => ctx.updateTitle() })),
    textInput(ctx, "Description", def, "description", "/description", { multiline: true }),
    selectInput(ctx, "Owner role", def, "owner_role", "/owner_role",
      [["", "The first internal role (default)"], ...roleChoices(def, { kind: "internal" })],
      { hint: "The role of the person who owns a case." }),
    h("fieldset", { class: "subpanel" }, h("legend", {}, "Working calendar"),
      h("p", { class: "hint" }, "Business hours and business days in SLAs and due dates count only this time."),
      h("div", { class: "grid three" },
        textInput(ctx, "Time zone", calendar, "timezone", "/calendar/timezone",
          { nullable: false, list: zoneList, placeholder: "UTC", hint: "An IANA time zone, e.g. Europe/Amsterdam." }),
        textInput(ctx, "Opens", calendar, "opens", "/calendar/opens", { nullable: false, type: "time" }),
        textInput(ctx, "Closes", calendar, "closes", "/calendar/closes", { nullable: false, type: "time" })),
      h("datalist", { id: zoneList }, zones.map((zone) => h("option", { value: zone }))),
      days,
      listInput(ctx, "Holidays", calendar, "holidays", "/calendar/holidays",
        { hint: "Dates without working time, YYYY-MM-DD, separated by commas." })));
}

const TYPE_MEMBERS = {
  minimum: ["number", "money"], maximum: ["number", "money"], max_length: ["text", "long_text"],
  pattern: ["text"], options: ["enum", "multi_enum"], currencies: ["money"],
};

export function fieldsSection(ctx) {
  const def = ctx.def;
  def.fields = def.fields || [];
  const list = h("ol", { class: "cards" });
  def.fields.forEach((field, index) => {
    const p = (...steps) => ptr("fields", index, ...steps);
    const type = field.type || "text";
    const typeSelect = selectInput(ctx, "Type", field, "type", p("type"), FIELD_TYPES,
      { nullable: false, onChange: (value) => {
        for (const [member, types] of Object.entries(TYPE_MEMBERS)) if (!types.includes(value)) delete field[member];
        if (["enum", "multi_enum"].includes(value) && !field.options) field.options = [];
        ctx.render({ focus: `[data-pointer="${p("type")}"]` });
      } });
    const extras = [];
    if (TYPE_MEMBERS.minimum.includes(type)) {
      extras.push(numberInput(ctx, type === "money" ? "Minimum amount" : "Minimum", field, "minimum", p("minimum")),
        numberInput(ctx, type === "money" ? "Maximum amount" : "Maximum", field, "maximum", p("maximum")));
    }
    if (TYPE_MEMBERS.max_length.includes(type)) extras.push(numberInput(ctx, "Maximum length", field, "max_length", p("max_length"), { min: 1, step: 1 }));
    if (TYPE_MEMBERS.pattern.includes(type)) extras.push(textInput(ctx, "Pattern", field, "pattern", p("pattern"), { hint: "A regular expression the whole value must match." }));
    if (TYPE_MEMBERS.currencies.includes(type)) extras.push(listInput(ctx, "Currencies", field, "currencies", p("currencies"), { nullable: true, hint: "ISO 4217 codes, e.g. EUR, USD; any when empty." }));
    const options = TYPE_MEMBERS.options.includes(type)
      ? listInput(ctx, "Options", field, "options", p("options"), { multiline: true, hint: "The allowed values, one per line." }) : null;
    list.append(h("li", { class: "card" },
      h("fieldset", {}, h("legend", {}, `Field ${index + 1}${field.key ? ` (${field.key})` : ""}`),
        h("div", { class: "grid three" },
          textInput(ctx, "Key", field, "key", p("key"), { nullable: false, onChange: renamer(ctx, "field", field), placeholder: "claim_amount" }),
          textInput(ctx, "Label", field, "label", p("label"), { nullable: false, onChange: () => ctx.render({ keepFocus: true }) }),
          typeSelect),
        checkbox(ctx, "Required", field, "required", p("required"), { hint: "Needed to open a case; cannot be cleared afterwards." }),
        textInput(ctx, "Help text", field, "description", p("description"), { multiline: true }),
        extras.length ? h("div", { class: "grid three" }, extras) : null,
        options,
        itemTools(ctx, def.fields, index, "Field", (i) => ptr("fields", i)))));
  });
  return section("fields", "Fields",
    h("p", { class: "hint" }, "The data a case holds. Keys are how conditions, roles and versions refer to a field."),
    def.fields.length ? list : h("p", {}, "No fields yet."),
    addButton(ctx, "Add field", "/fields", () => {
      def.fields.push({ key: "", label: "", type: "text", required: false });
      return `[data-pointer="${ptr("fields", def.fields.length - 1, "key")}"]`;
    }));
}

function criteriaList(ctx, stage, member, stageIndex, title) {
  stage[member] = stage[member] || [];
  const criteria = stage[member];
  const list = h("ol", { class: "criteria" });
  const noun = member === "entry_criteria" ? "Entry criterion" : "Exit criterion";
  criteria.forEach((criterion, index) => {
    const p = (...steps) => ptr("stages", stageIndex, member, index, ...steps);
    const name = `Stage ${stageIndex + 1} ${noun.toLowerCase()} ${index + 1}`;
    list.append(h("li", { class: "criterion" },
      h("fieldset", {}, h("legend", {}, `${noun} ${index + 1}`),
        textInput(ctx, "Description", criterion, "description", p("description"),
          { nullable: false, hint: "What must hold, in words people understand; shown when a move is refused." }),
        conditionBuilder(ctx, { get: () => criterion.condition ?? null, set: (value) => { criterion.condition = value; },
          pointer: p("condition"), label: `${name} condition` }),
        h("button", { type: "button", class: "danger", "aria-label": `Remove ${noun.toLowerCase()} ${index + 1} of stage ${stageIndex + 1}`, onclick: () => {
          criteria.splice(index, 1);
          ctx.touch();
          ctx.render({ focus: `[data-add="${ptr("stages", stageIndex, member)}"]` });
        } }, `Remove ${noun.toLowerCase()}`))));
  });
  return h("div", { class: "subpanel" }, h("h4", {}, title),
    criteria.length ? list : h("p", { class: "hint" }, "None."),
    h("button", { type: "button", class: "add", "data-add": ptr("stages", stageIndex, member),
      "aria-label": `Add ${noun.toLowerCase()} to stage ${stageIndex + 1}`, onclick: () => {
        criteria.push({ description: "", condition: null });
        ctx.touch();
        ctx.render({ focus: `[data-pointer="${ptr("stages", stageIndex, member, criteria.length - 1, "description")}"]` });
      } }, `Add ${noun.toLowerCase()}`));
}

function tasksList(ctx, stage, stageIndex) {
  stage.tasks = stage.tasks || [];
  const tasks = stage.tasks;
  const list = h("ol", { class: "cards compact" });
  tasks.forEach((task, index) => {
    const p = (...steps) => ptr("stages", stageIndex, "tasks", index, ...steps);
    list.append(h("li", { class: "card" }, h("fieldset", {}, h("legend", {}, `Task ${index + 1}`),
      h("div", { class: "grid three" },
        textInput(ctx, "Task key", task, "key", p("key"), { nullable: false }),
        textInput(ctx, "Title", task, "title", p("title"), { nullable: false }),
        selectInput(ctx, "Assignee role", task, "assignee_role", p("assignee_role"), [["", "Nobody in particular"], ...roleChoices(ctx.def)])),
      durationInput(ctx, "Due in", task, "due_in", p("due_in"), { hint: "Leave the amount empty for no due date." }),
      checkbox(ctx, "Required to leave the stage", task, "required", p("required"), { defaultValue: true }),
      itemTools(ctx, tasks, index, "Task", (i) => ptr("stages", stageIndex, "tasks", i)))));
  });
  return h("div", { class: "subpanel" }, h("h4", {}, "Tasks created on entry"),
    tasks.length ? list : h("p", { class: "hint" }, "None."),
    h("button", { type: "button", class: "add", "data-add": ptr("stages", stageIndex, "tasks"),
      "aria-label": `Add task to stage ${stageIndex + 1}`, onclick: () => {
        tasks.push({ key: "", title: "", required: true });
        ctx.touch();
        ctx.render({ focus: `[data-pointer="${ptr("stages", stageIndex, "tasks", tasks.length - 1, "key")}"]` });
      } }, "Add task"));
}

function nextStages(ctx, stage, stageIndex) {
  const def = ctx.def;
  const mode = stage.next === null || stage.next === undefined ? "following" : stage.next.length ? "chosen" : "final";
  const select = h("select", { id: uid("next") },
    [["following", "The following stage in the list (default)"], ["chosen", "The stages chosen below"], ["final", "Nowhere: this is a final stage"]]
      .map(([value, text]) => h("option", { value, selected: value === mode }, text)));
  select.dataset.pointer = ptr("stages", stageIndex, "next");
  select.addEventListener("change", () => {
    if (select.value === "following") stage.next = null;
    else if (select.value === "final") stage.next = [];
    else {
      const following = def.stages[stageIndex + 1]?.key;
      stage.next = following ? [following] : [];
    }
    ctx.touch();
    ctx.render({ focus: `[data-pointer="${ptr("stages", stageIndex, "next")}"]` });
  });
  const parts = [labelled("After this stage a case may move to", select, { className: "next-mode" })];
  if (mode === "chosen") {
    parts.push(keyChecklist(ctx, "Next stages", stage, "next", ptr("stages", stageIndex, "next"),
      stageChoices(def).filter(([key]) => key !== stage.key)));
  }
  return h("div", { class: "subpanel" }, ...parts);
}

function moveStage(ctx, from, to) {
  const stages = ctx.def.stages;
  if (to < 0 || to >= stages.length || from === to) return;
  const [stage] = stages.splice(from, 1);
  stages.splice(to, 0, stage);
  ctx.touch();
  ctx.render({ focus: `[data-stage-handle="${to}"]` });
  ctx.say(`Stage ${stage.name || stage.key || ""} moved to position ${to + 1} of ${stages.length}.`);
}

export function stagesSection(ctx) {
  const def = ctx.def;
  def.stages = def.stages || [];
  const list = h("ol", { class: "cards stages" });
  let dragging = null;
  def.stages.forEach((stage, index) => {
    const p = (...steps) => ptr("stages", index, ...steps);
    const item = h("li", { class: "card stage", "data-stage-index": index });
    const handle = h("span", { class: "drag-handle", draggable: "true", title: "Drag to reorder", "aria-hidden": "true" }, "⠿ drag");
    handle.addEventListener("dragstart", (event) => {
      dragging = index;
      item.classList.add("dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", String(index));
    });
    handle.addEventListener("dragend", () => { item.classList.remove("dragging"); dragging = null; });
    item.addEventListener("dragover", (event) => {
      if (dragging === null) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "move";
      item.classList.add("drop-target");
    });
    item.addEventListener("dragleave", (event) => { if (!item.contains(event.relatedTarget)) item.classList.remove("drop-target"); });
    item.addEventListener("drop", (event) => {
      event.preventDefault();
      item.classList.remove("drop-target");
      const from = dragging ?? Number(event.dataTransfer.getData("text/plain"));
      dragging = null;
      if (!Number.isNaN(from)) moveStage(ctx, from, index);
    });
    const tools = h("div", { class: "item-tools" },
      handle,
      h("button", { type: "button", disabled: index === 0, "data-stage-handle": index, "aria-label": `Move up stage ${index + 1}`,
        onclick: () => moveStage(ctx, index, index - 1) }, "Move up"),
      h("button", { type: "button", disabled: index === def.stages.length - 1, "data-stage-down": index,
        "aria-label": `Move down stage ${index + 1}`, onclick: () => moveStage(ctx, index, index + 1) }, "Move down"),
      h("button", { type: "button", class: "danger", "aria-label": `Remove stage ${index + 1}`, onclick: () => {
        def.stages.splice(index, 1);
        ctx.touch();
        ctx.render({ focus: '[data-add="/stages"]' });
        ctx.say(`Stage ${index + 1} removed.`);
      } }, "Remove"));
    item.append(h("fieldset", {}, h("legend", {}, `Stage ${index + 1}${stage.key ? ` (${stage.key})` : ""}`),
      tools,
      h("div", { class: "grid two" },
        textInput(ctx, "Key", stage, "key", p("key"), { nullable: false, onChange: renamer(ctx, "stage", stage), placeholder: "review" }),
        textInput(ctx, "Name", stage, "name", p("name"), { nullable: false, onChange: () => ctx.render({ keepFocus: true }) })),
      textInput(ctx, "Description", stage, "description", p("description"), { multiline: true }),
      keyChecklist(ctx, "Required fields to leave", stage, "required_fields", p("required_fields"), choicesOf(def.fields, "label")),
      durationInput(ctx, "SLA", stage, "sla", p("sla"), { hint: "How long a case may stay here; leave the amount empty for none." }),
      nextStages(ctx, stage, index),
      tasksList(ctx, stage, index),
      criteriaList(ctx, stage, "entry_criteria", index, "Entry criteria (must hold to enter)"),
      criteriaList(ctx, stage, "exit_criteria", index, "Exit criteria (must hold to leave)")));
    list.append(item);
  });
  return section("stages", "Stages",
    h("p", { class: "hint" }, "A case opens in the first stage. Reorder by dragging a stage by its handle, or with Move up and Move down."),
    def.stages.length ? list : h("p", {}, "No stages yet: a template needs at least one."),
    addButton(ctx, "Add stage", "/stages", () => {
      def.stages.push({ key: "", name: "", required_fields: [], tasks: [], entry_criteria: [], exit_criteria: [], next: null, sla: null });
      return `[data-pointer="${ptr("stages", def.stages.length - 1, "key")}"]`;
    }));
}

export function documentsSection(ctx) {
  const def = ctx.def;
  def.document_types = def.document_types || [];
  const list = h("ol", { class: "cards" });
  def.document_types.forEach((type, index) => {
    const p = (...steps) => ptr("document_types", index, ...steps);
    list.append(h("li", { class: "card" }, h("fieldset", {}, h("legend", {}, `Document type ${index + 1}${type.key ? ` (${type.key})` : ""}`),
      h("div", { class: "grid two" },
        textInput(ctx, "Key", type, "key", p("key"), { nullable: false, onChange: renamer(ctx, "document", type) }),
        textInput(ctx, "Name", type, "name", p("name"), { nullable: false })),
      textInput(ctx, "Description", type, "description", p("description"), { multiline: true }),
      h("div", { class: "grid two" },
        listInput(ctx, "Content types", type, "content_types", p("content_types"), { hint: "Media types, e.g. application/pdf, image/jpeg." }),
        numberInput(ctx, "Maximum size (bytes)", type, "max_size_bytes", p("max_size_bytes"), { nullable: false, min: 1, step: 1, hint: "10485760 is 10 MiB." })),
      checkbox(ctx, "External: visible in the portal", type, "external", p("external")),
      keyChecklist(ctx, "Required in stages", type, "required_in_stages", p("required_in_stages"), stageChoices(def)),
      keyChecklist(ctx, "Uploader roles", type, "uploader_roles", p("uploader_roles"), roleChoices(def),
        { hint: "Any role with document.upload when none is chosen." }),
      itemTools(ctx, def.document_types, index, "Document type", (i) => ptr("document_types", i)))));
  });
  return section("documents", "Document types",
    def.document_types.length ? list : h("p", {}, "No document types yet."),
    addButton(ctx, "Add document type", "/document_types", () => {
      def.document_types.push({ key: "", name: "", content_types: ["application/pdf"], max_size_bytes: 10485760,
        required_in_stages: [], external: false, uploader_roles: [] });
      return `[data-pointer="${ptr("document_types", def.document_types.length - 1, "key")}"]`;
    }));
}

export function decisionsSection(ctx) {
  const def = ctx.def;
  def.decisions = def.decisions || [];
  const list = h("ol", { class: "cards" });
  def.decisions.forEach((decision, index) => {
    const p = (...steps) => ptr("decisions", index, ...steps);
    list.append(h("li", { class: "card" }, h("fieldset", {}, h("legend", {}, `Decision ${index + 1}${decision.key ? ` (${decision.key})` : ""}`),
      h("div", { class: "grid two" },
        textInput(ctx, "Key", decision, "key", p("key"), { nullable: false, onChange: renamer(ctx, "decision", decision) }),
        textInput(ctx, "Label", decision, "label", p("label"), { nullable: false })),
      listInput(ctx, "Options", decision, "options", p("options"), { multiline: true, hint: "The outcomes, one per line." }),
      keyChecklist(ctx, "Decider roles", decision, "decider_roles", p("decider_roles"), roleChoices(def, { kind: "internal" })),
      checkbox(ctx, "Rationale required", decision, "rationale_required", p("rationale_required"), { defaultValue: true }),
      keyChecklist(ctx, "Required in stages", decision, "required_in_stages", p("required_in_stages"), stageChoices(def)),
      itemTools(ctx, def.decisions, index, "Decision", (i) => ptr("decisions", i)))));
  });
  return section("decisions", "Decisions",
    def.decisions.length ? list : h("p", {}, "No decisions yet."),
    addButton(ctx, "Add decision", "/decisions", () => {
      def.decisions.push({ key: "", label: "", options: [], decider_roles: [], rationale_required: true, required_in_stages: [] });
      return `[data-pointer="${ptr("decisions", def.decisions.length - 1, "key")}"]`;
    }));
}

function scroller(label, table) {
  return h("div", { class: "table-scroll", role: "region", "aria-label": label, tabindex: "0" }, table);
}

export function rolesSection(ctx) {
  const def = ctx.def;
  def.roles = def.roles || [];
  const roles = def.roles;
  const list = h("ol", { class: "cards" });
  roles.forEach((role, index) => {
    const p = (...steps) => ptr("roles", index, ...steps);
    list.append(h("li", { class: "card" }, h("fieldset", {}, h("legend", {}, `Role ${index + 1}${role.key ? ` (${role.key})` : ""}`),
      h("div", { class: "grid three" },
        textInput(ctx, "Key", role, "key", p("key"), { nullable: false, onChange: renamer(ctx, "role", role) }),
        textInput(ctx, "Name", role, "name", p("name"), { nullable: false, onChange: () => ctx.render({ keepFocus: true }) }),
        selectInput(ctx, "Kind", role, "kind", p("kind"), [["internal", "Internal (staff)"], ["external", "External (portal)"]],
          { nullable: false, onChange: () => ctx.render({ focus: `[data-pointer="${p("kind")}"]` }) })),
      (role.kind || "internal") === "internal" ? h("div", { class: "grid two" },
        listInput(ctx, "Groups", role, "groups", p("groups"), { hint: "Token groups whose members hold this role on every case, e.g. caseline-staff." }),
        textInput(ctx, "Team e-mail", role, "email", p("email"), { type: "email", hint: "Where e-mail to this role goes." })) : null,
      itemTools(ctx, roles, index, "Role", (i) => ptr("roles", i)))));
  });

  // Permissions: roles as rows, permissions as columns.
  const permissionTable = h("table", { class: "matrix" },
    h("caption", {}, "Permissions per role"),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Role"),
      PERMISSIONS.map((permission) => h("th", { scope: "col" }, h("span", { class: "col-head" }, PERMISSION_NAMES[permission]))))),
    h("tbody", {}, roles.map((role, index) => {
      role.permissions = role.permissions || [];
      const name = role.name || role.key || `Role ${index + 1}`;
      return h("tr", {}, h("th", { scope: "row" }, name), PERMISSIONS.map((permission) => {
        const control = h("input", { type: "checkbox", "aria-label": `${name}: ${PERMISSION_NAMES[permission]}` });
        control.checked = role.permissions.includes(permission);
        const at = role.permissions.indexOf(permission);
        if (at >= 0) control.dataset.pointer = ptr("roles", index, "permissions", at);
        if ((role.kind || "internal") === "external" && !EXTERNAL_PERMISSIONS.includes(permission) && !control.checked) control.disabled = true;
        control.addEventListener("change", () => {
          const chosen = role.permissions.filter((item) => item !== permission);
          if (control.checked) chosen.push(permission);
          role.permissions = PERMISSIONS.filter((item) => chosen.includes(item));
          ctx.touch();
        });
        return h("td", { class: "issue-host" }, control);
      }));
    })));

  // Field access: roles as rows, "*" and each field as columns.
  const fieldKeys = ["*", ...(def.fields || []).map((field) => field.key).filter(Boolean)];
  const accessTable = h("table", { class: "matrix" },
    h("caption", {}, "Field access per role (fields not listed are hidden)"),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Role"),
      fieldKeys.map((key) => h("th", { scope: "col" }, key === "*" ? "Every other field (*)" : key)))),
    h("tbody", {}, roles.map((role, index) => {
      role.fields = role.fields || {};
      const name = role.name || role.key || `Role ${index + 1}`;
      return h("tr", {}, h("th", { scope: "row" }, name), fieldKeys.map((key) => {
        const control = h("select", { "aria-label": `${name}: access to ${key === "*" ? "every other field" : key}` },
          [["", key === "*" ? "hidden" : "default"], ["view", "view"], ["edit", "edit"], ...(key === "*" ? [] : [["hidden", "hidden"]])]
            .map(([value, text]) => h("option", { value, selected: (role.fields[key] || "") === value }, text)));
        control.dataset.pointer = ptr("roles", index, "fields", key);
        control.addEventListener("change", () => {
          if (control.value === "") delete role.fields[key];
          else role.fields[key] = control.value;
          ctx.touch();
        });
        return h("td", { class: "issue-host" }, control);
      }));
    })));

  return section("roles", "Roles and permissions",
    h("p", { class: "hint" }, "At least one role must be internal. External roles reach their cases through the portal."),
    roles.length ? list : h("p", {}, "No roles: the template gets one “team” role with every permission."),
    addButton(ctx, "Add role", "/roles", () => {
      roles.push({ key: "", name: "", kind: "internal", permissions: ["case.view"], fields: { "*": "view" }, groups: [] });
      return `[data-pointer="${ptr("roles", roles.length - 1, "key")}"]`;
    }),
    roles.length ? h("h3", {}, "Permissions matrix") : null,
    roles.length ? scroller("Permissions per role", permissionTable) : null,
    roles.length ? h("h3", {}, "Field access") : null,
    roles.length ? scroller("Field access per role", accessTable) : null);
}

export function portalSection(ctx) {
  const def = ctx.def;
  def.portal = def.portal || {};
  const portal = def.portal;
  portal.branding = portal.branding || {};
  if (!Array.isArray(portal.timeline_events)) portal.timeline_events = ["case.opened", "case.stage_changed", "document.added", "comment.added"];
  const allStages = portal.stages === null || portal.stages === undefined;
  return section("portal", "Portal settings",
    checkbox(ctx, "Portal enabled for external participants", portal, "enabled", "/portal/enabled", { defaultValue: true }),
    checkbox(ctx, "Show every stage on the portal's progress line", { all: allStages }, "all", "/portal/stages", {
      defaultValue: true, onChange: (checked) => {
        portal.stages = checked ? null : (def.stages || []).map((stage) => stage.key).filter(Boolean);
        ctx.render({ focus: '[data-pointer="/portal/stages"]' });
      } }),
    allStages ? null : keyChecklist(ctx, "Stages shown", portal, "stages", "/portal/stages", stageChoices(def)),
    keyChecklist(ctx, "Timeline events externals see", portal, "timeline_events", "/portal/timeline_events",
      CASE_EVENTS.map((type) => [type, humanize(type)])),
    h("fieldset", { class: "subpanel" }, h("legend", {}, "Branding"),
      h("div", { class: "grid three" },
        textInput(ctx, "Portal name", portal.branding, "name", "/portal/branding/name"),
        textInput(ctx, "Accent colour", portal.branding, "colour", "/portal/branding/colour", { placeholder: "#0B5CAD", hint: "#RRGGBB" }),
        textInput(ctx, "Logo URL", portal.branding, "logo_url", "/portal/branding/logo_url", { type: "url", placeholder: "https://", hint: "https:// only." }))));
}
