// The builder's sections for what a template holds: basics, fields, stages, documents, decisions, roles, portal.
import { t } from "../../i18n.js";
import { eventName, h, labelled, uid } from "../../ui.js";
import {
  CASE_EVENTS, EXTERNAL_PERMISSIONS, PERMISSIONS, addButton, checkbox, choicesOf, durationInput, fieldTypes, itemTools,
  keyChecklist, listInput, numberInput, permissionNames, ptr, selectInput, textInput, weekdays,
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
  const days = h("fieldset", { class: "field checklist" }, h("legend", {}, t("Workdays")));
  const dayList = h("div", { class: "checklist-items" });
  weekdays().forEach((name, index) => {
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
  return section("basics", t("Basics"),
    h("div", { class: "grid two" },
      labelled(t("Template key"), key, { pointer: "/key", hint: t("Set when the template was created; it never changes.") }),
      textInput(ctx, t("Name"), def, "name", "/name", { nullable: false, required: true, onChange: () => ctx.updateTitle() })),
    textInput(ctx, t("Description"), def, "description", "/description", { multiline: true }),
    selectInput(ctx, t("Owner role"), def, "owner_role", "/owner_role",
      [["", t("The first internal role (default)")], ...roleChoices(def, { kind: "internal" })],
      { hint: t("The role of the person who owns a case.") }),
    h("fieldset", { class: "subpanel" }, h("legend", {}, t("Working calendar")),
      h("p", { class: "hint" }, t("Business hours and business days in SLAs and due dates count only this time.")),
      h("div", { class: "grid three" },
        textInput(ctx, t("Time zone"), calendar, "timezone", "/calendar/timezone",
          { nullable: false, list: zoneList, placeholder: "UTC", hint: t("An IANA time zone, e.g. Europe/Amsterdam.") }),
        textInput(ctx, t("Opens"), calendar, "opens", "/calendar/opens", { nullable: false, type: "time" }),
        textInput(ctx, t("Closes"), calendar, "closes", "/calendar/closes", { nullable: false, type: "time" })),
      h("datalist", { id: zoneList }, zones.map((zone) => h("option", { value: zone }))),
      days,
      listInput(ctx, t("Holidays"), calendar, "holidays", "/calendar/holidays",
        { hint: t("Dates without working time, YYYY-MM-DD, separated by commas.") })));
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
    const typeSelect = selectInput(ctx, t("Type"), field, "type", p("type"), fieldTypes(),
      { nullable: false, onChange: (value) => {
        for (const [member, types] of Object.entries(TYPE_MEMBERS)) if (!types.includes(value)) delete field[member];
        if (["enum", "multi_enum"].includes(value) && !field.options) field.options = [];
        ctx.render({ focus: `[data-pointer="${p("type")}"]` });
      } });
    const extras = [];
    if (TYPE_MEMBERS.minimum.includes(type)) {
      extras.push(numberInput(ctx, type === "money" ? t("Minimum amount") : t("Minimum"), field, "minimum", p("minimum")),
        numberInput(ctx, type === "money" ? t("Maximum amount") : t("Maximum"), field, "maximum", p("maximum")));
    }
    if (TYPE_MEMBERS.max_length.includes(type)) extras.push(numberInput(ctx, t("Maximum length"), field, "max_length", p("max_length"), { min: 1, step: 1 }));
    if (TYPE_MEMBERS.pattern.includes(type)) extras.push(textInput(ctx, t("Pattern"), field, "pattern", p("pattern"), { hint: t("A regular expression the whole value must match.") }));
    if (TYPE_MEMBERS.currencies.includes(type)) extras.push(listInput(ctx, t("Currencies"), field, "currencies", p("currencies"), { nullable: true, hint: t("ISO 4217 codes, e.g. EUR, USD; any when empty.") }));
    const options = TYPE_MEMBERS.options.includes(type)
      ? listInput(ctx, t("Options"), field, "options", p("options"), { multiline: true, hint: t("The allowed values, one per line.") }) : null;
    list.append(h("li", { class: "card" },
      h("fieldset", {}, h("legend", {}, field.key ? t("Field {number} ({key})", { number: index + 1, key: field.key }) : t("Field {number}", { number: index + 1 })),
        h("div", { class: "grid three" },
          textInput(ctx, t("Key"), field, "key", p("key"), { nullable: false, onChange: renamer(ctx, "field", field), placeholder: "claim_amount" }),
          textInput(ctx, t("Label"), field, "label", p("label"), { nullable: false, onChange: () => ctx.render({ keepFocus: true }) }),
          typeSelect),
        checkbox(ctx, t("Required"), field, "required", p("required"), { hint: t("Needed to open a case; cannot be cleared afterwards.") }),
        textInput(ctx, t("Help text"), field, "description", p("description"), { multiline: true }),
        extras.length ? h("div", { class: "grid three" }, extras) : null,
        options,
        itemTools(ctx, def.fields, index, (number) => t("field {number}", { number }), (i) => ptr("fields", i)))));
  });
  return section("fields", t("Fields"),
    h("p", { class: "hint" }, t("The data a case holds. Keys are how conditions, roles and versions refer to a field.")),
    def.fields.length ? list : h("p", {}, t("No fields yet.")),
    addButton(ctx, t("Add field"), "/fields", () => {
      def.fields.push({ key: "", label: "", type: "text", required: false });
      return `[data-pointer="${ptr("fields", def.fields.length - 1, "key")}"]`;
    }));
}

// The words of the entry or exit criteria of a stage: the language decides how each is put together.
function criterionWords(member) {
  if (member === "entry_criteria") {
    return {
      legend: (number) => t("Entry criterion {number}", { number }),
      condition: (stage, number) => t("Stage {stage} entry criterion {number} condition", { stage, number }),
      removeOf: (stage, number) => t("Remove entry criterion {number} of stage {stage}", { stage, number }),
      remove: t("Remove entry criterion"),
      addTo: (stage) => t("Add entry criterion to stage {stage}", { stage }),
      add: t("Add entry criterion"),
    };
  }
  return {
    legend: (number) => t("Exit criterion {number}", { number }),
    condition: (stage, number) => t("Stage {stage} exit criterion {number} condition", { stage, number }),
    removeOf: (stage, number) => t("Remove exit criterion {number} of stage {stage}", { stage, number }),
    remove: t("Remove exit criterion"),
    addTo: (stage) => t("Add exit criterion to stage {stage}", { stage }),
    add: t("Add exit criterion"),
  };
}

function criteriaList(ctx, stage, member, stageIndex, title) {
  stage[member] = stage[member] || [];
  const criteria = stage[member];
  const list = h("ol", { class: "criteria" });
  const words = criterionWords(member);
  criteria.forEach((criterion, index) => {
    const p = (...steps) => ptr("stages", stageIndex, member, index, ...steps);
    list.append(h("li", { class: "criterion" },
      h("fieldset", {}, h("legend", {}, words.legend(index + 1)),
        textInput(ctx, t("Description"), criterion, "description", p("description"),
          { nullable: false, hint: t("What must hold, in words people understand; shown when a move is refused.") }),
        conditionBuilder(ctx, { get: () => criterion.condition ?? null, set: (value) => { criterion.condition = value; },
          pointer: p("condition"), label: words.condition(stageIndex + 1, index + 1) }),
        h("button", { type: "button", class: "danger", "aria-label": words.removeOf(stageIndex + 1, index + 1), onclick: () => {
          criteria.splice(index, 1);
          ctx.touch();
          ctx.render({ focus: `[data-add="${ptr("stages", stageIndex, member)}"]` });
        } }, words.remove))));
  });
  return h("div", { class: "subpanel" }, h("h3", {}, title),
    criteria.length ? list : h("p", { class: "hint" }, t("None.")),
    h("button", { type: "button", class: "add", "data-add": ptr("stages", stageIndex, member),
      "aria-label": words.addTo(stageIndex + 1), onclick: () => {
        criteria.push({ description: "", condition: null });
        ctx.touch();
        ctx.render({ focus: `[data-pointer="${ptr("stages", stageIndex, member, criteria.length - 1, "description")}"]` });
      } }, words.add));
}

function tasksList(ctx, stage, stageIndex) {
  stage.tasks = stage.tasks || [];
  const tasks = stage.tasks;
  const list = h("ol", { class: "cards compact" });
  tasks.forEach((task, index) => {
    const p = (...steps) => ptr("stages", stageIndex, "tasks", index, ...steps);
    list.append(h("li", { class: "card" }, h("fieldset", {}, h("legend", {}, t("Task {number}", { number: index + 1 })),
      h("div", { class: "grid three" },
        textInput(ctx, t("Task key"), task, "key", p("key"), { nullable: false }),
        textInput(ctx, t("Title"), task, "title", p("title"), { nullable: false }),
        selectInput(ctx, t("Assignee role"), task, "assignee_role", p("assignee_role"), [["", t("Nobody in particular")], ...roleChoices(ctx.def)])),
      durationInput(ctx, t("Due in"), task, "due_in", p("due_in"), { hint: t("Leave the amount empty for no due date.") }),
      checkbox(ctx, t("Required to leave the stage"), task, "required", p("required"), { defaultValue: true }),
      itemTools(ctx, tasks, index, (number) => t("task {number}", { number }), (i) => ptr("stages", stageIndex, "tasks", i)))));
  });
  return h("div", { class: "subpanel" }, h("h3", {}, t("Tasks created on entry")),
    tasks.length ? list : h("p", { class: "hint" }, t("None.")),
    h("button", { type: "button", class: "add", "data-add": ptr("stages", stageIndex, "tasks"),
      "aria-label": t("Add task to stage {stage}", { stage: stageIndex + 1 }), onclick: () => {
        tasks.push({ key: "", title: "", required: true });
        ctx.touch();
        ctx.render({ focus: `[data-pointer="${ptr("stages", stageIndex, "tasks", tasks.length - 1, "key")}"]` });
      } }, t("Add task")));
}

function nextStages(ctx, stage, stageIndex) {
  const def = ctx.def;
  const mode = stage.next === null || stage.next === undefined ? "following" : stage.next.length ? "chosen" : "final";
  const select = h("select", { id: uid("next") },
    [["following", t("The following stage in the list (default)")], ["chosen", t("The stages chosen below")],
      ["final", t("Nowhere: this is a final stage")]]
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
  const parts = [labelled(t("After this stage a case may move to"), select, { className: "next-mode" })];
  if (mode === "chosen") {
    parts.push(keyChecklist(ctx, t("Next stages"), stage, "next", ptr("stages", stageIndex, "next"),
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
  ctx.say(t("Moved stage {stage} to position {position} of {count}.", { stage: stage.name || stage.key || "", position: to + 1, count: stages.length }));
}

export function stagesSection(ctx) {
  const def = ctx.def;
  def.stages = def.stages || [];
  const list = h("ol", { class: "cards stages" });
  let dragging = null;
  def.stages.forEach((stage, index) => {
    const p = (...steps) => ptr("stages", index, ...steps);
    const item = h("li", { class: "card stage", "data-stage-index": index });
    const handle = h("span", { class: "drag-handle", draggable: "true", title: t("Drag to reorder"), "aria-hidden": "true" }, t("⠿ drag"));
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
      h("button", { type: "button", disabled: index === 0, "data-stage-handle": index, "aria-label": t("Move up stage {number}", { number: index + 1 }),
        onclick: () => moveStage(ctx, index, index - 1) }, t("Move up")),
      h("button", { type: "button", disabled: index === def.stages.length - 1, "data-stage-down": index,
        "aria-label": t("Move down stage {number}", { number: index + 1 }), onclick: () => moveStage(ctx, index, index + 1) }, t("Move down")),
      h("button", { type: "button", class: "danger", "aria-label": t("Remove stage {number}", { number: index + 1 }), onclick: () => {
        def.stages.splice(index, 1);
        ctx.touch();
        ctx.render({ focus: '[data-add="/stages"]' });
        ctx.say(t("Removed stage {number}.", { number: index + 1 }));
      } }, t("Remove")));
    item.append(h("fieldset", {}, h("legend", {}, stage.key ? t("Stage {number} ({key})", { number: index + 1, key: stage.key }) : t("Stage {number}", { number: index + 1 })),
      tools,
      h("div", { class: "grid two" },
        textInput(ctx, t("Key"), stage, "key", p("key"), { nullable: false, onChange: renamer(ctx, "stage", stage), placeholder: "review" }),
        textInput(ctx, t("Name"), stage, "name", p("name"), { nullable: false, onChange: () => ctx.render({ keepFocus: true }) })),
      textInput(ctx, t("Description"), stage, "description", p("description"), { multiline: true }),
      keyChecklist(ctx, t("Required fields to leave"), stage, "required_fields", p("required_fields"), choicesOf(def.fields, "label")),
      durationInput(ctx, t("SLA"), stage, "sla", p("sla"), { hint: t("How long a case may stay here; leave the amount empty for none.") }),
      nextStages(ctx, stage, index),
      tasksList(ctx, stage, index),
      criteriaList(ctx, stage, "entry_criteria", index, t("Entry criteria (must hold to enter)")),
      criteriaList(ctx, stage, "exit_criteria", index, t("Exit criteria (must hold to leave)"))));
    list.append(item);
  });
  return section("stages", t("Stages"),
    h("p", { class: "hint" }, t("A case opens in the first stage. Reorder by dragging a stage by its handle, or with Move up and Move down.")),
    def.stages.length ? list : h("p", {}, t("No stages yet: a template needs at least one.")),
    addButton(ctx, t("Add stage"), "/stages", () => {
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
    list.append(h("li", { class: "card" }, h("fieldset", {}, h("legend", {}, type.key ? t("Document type {number} ({key})", { number: index + 1, key: type.key })
      : t("Document type {number}", { number: index + 1 })),
      h("div", { class: "grid two" },
        textInput(ctx, t("Key"), type, "key", p("key"), { nullable: false, onChange: renamer(ctx, "document", type) }),
        textInput(ctx, t("Name"), type, "name", p("name"), { nullable: false })),
      textInput(ctx, t("Description"), type, "description", p("description"), { multiline: true }),
      h("div", { class: "grid two" },
        listInput(ctx, t("Content types"), type, "content_types", p("content_types"), { hint: t("Media types, e.g. application/pdf, image/jpeg.") }),
        numberInput(ctx, t("Maximum size (bytes)"), type, "max_size_bytes", p("max_size_bytes"), { nullable: false, min: 1, step: 1, hint: t("10485760 is 10 MiB.") })),
      checkbox(ctx, t("External: visible in the portal"), type, "external", p("external")),
      keyChecklist(ctx, t("Required in stages"), type, "required_in_stages", p("required_in_stages"), stageChoices(def)),
      keyChecklist(ctx, t("Uploader roles"), type, "uploader_roles", p("uploader_roles"), roleChoices(def),
        { hint: t("Any role with the permission to upload documents when none is chosen.") }),
      itemTools(ctx, def.document_types, index, (number) => t("document type {number}", { number }), (i) => ptr("document_types", i)))));
  });
  return section("documents", t("Document types"),
    def.document_types.length ? list : h("p", {}, t("No document types yet.")),
    addButton(ctx, t("Add document type"), "/document_types", () => {
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
    list.append(h("li", { class: "card" }, h("fieldset", {}, h("legend", {}, decision.key ? t("Decision {number} ({key})", { number: index + 1, key: decision.key })
      : t("Decision {number}", { number: index + 1 })),
      h("div", { class: "grid two" },
        textInput(ctx, t("Key"), decision, "key", p("key"), { nullable: false, onChange: renamer(ctx, "decision", decision) }),
        textInput(ctx, t("Label"), decision, "label", p("label"), { nullable: false })),
      listInput(ctx, t("Options"), decision, "options", p("options"), { multiline: true, hint: t("The outcomes, one per line.") }),
      keyChecklist(ctx, t("Decider roles"), decision, "decider_roles", p("decider_roles"), roleChoices(def, { kind: "internal" })),
      checkbox(ctx, t("Rationale required"), decision, "rationale_required", p("rationale_required"), { defaultValue: true }),
      keyChecklist(ctx, t("Required in stages"), decision, "required_in_stages", p("required_in_stages"), stageChoices(def)),
      itemTools(ctx, def.decisions, index, (number) => t("decision {number}", { number }), (i) => ptr("decisions", i)))));
  });
  return section("decisions", t("Decisions"),
    def.decisions.length ? list : h("p", {}, t("No decisions yet.")),
    addButton(ctx, t("Add decision"), "/decisions", () => {
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
    list.append(h("li", { class: "card" }, h("fieldset", {}, h("legend", {}, role.key ? t("Role {number} ({key})", { number: index + 1, key: role.key }) : t("Role {number}", { number: index + 1 })),
      h("div", { class: "grid three" },
        textInput(ctx, t("Key"), role, "key", p("key"), { nullable: false, onChange: renamer(ctx, "role", role) }),
        textInput(ctx, t("Name"), role, "name", p("name"), { nullable: false, onChange: () => ctx.render({ keepFocus: true }) }),
        selectInput(ctx, t("Kind"), role, "kind", p("kind"), [["internal", t("Internal (staff)")], ["external", t("External (portal)")]],
          { nullable: false, onChange: () => ctx.render({ focus: `[data-pointer="${p("kind")}"]` }) })),
      (role.kind || "internal") === "internal" ? h("div", { class: "grid two" },
        listInput(ctx, t("Groups"), role, "groups", p("groups"), { hint: t("Token groups whose members hold this role on every case, e.g. caseline-staff.") }),
        textInput(ctx, t("Team e-mail"), role, "email", p("email"), { type: "email", hint: t("Where e-mail to this role goes.") })) : null,
      itemTools(ctx, roles, index, (number) => t("role {number}", { number }), (i) => ptr("roles", i)))));
  });

  // Permissions: roles as rows, permissions as columns.
  const permissionWords = permissionNames();
  const permissionTable = h("table", { class: "matrix" },
    h("caption", {}, t("Permissions per role")),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("Role")),
      PERMISSIONS.map((permission) => h("th", { scope: "col" }, h("span", { class: "col-head" }, permissionWords[permission]))))),
    h("tbody", {}, roles.map((role, index) => {
      role.permissions = role.permissions || [];
      const name = role.name || role.key || t("Role {number}", { number: index + 1 });
      return h("tr", {}, h("th", { scope: "row" }, name), PERMISSIONS.map((permission) => {
        const control = h("input", { type: "checkbox", "aria-label": `${name}: ${permissionWords[permission]}` });
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
    h("caption", {}, t("Field access per role (fields not listed are hidden)")),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("Role")),
      fieldKeys.map((key) => h("th", { scope: "col" }, key === "*" ? t("Every other field (*)") : key)))),
    h("tbody", {}, roles.map((role, index) => {
      role.fields = role.fields || {};
      const name = role.name || role.key || t("Role {number}", { number: index + 1 });
      return h("tr", {}, h("th", { scope: "row" }, name), fieldKeys.map((key) => {
        const control = h("select", { "aria-label": key === "*" ? t("{role}: access to every other field", { role: name })
          : t("{role}: access to {field}", { role: name, field: key }) },
          [["", key === "*" ? t("hidden") : t("default")], ["view", t("view")], ["edit", t("edit")], ...(key === "*" ? [] : [["hidden", t("hidden")]])]
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

  return section("roles", t("Roles and permissions"),
    h("p", { class: "hint" }, t("At least one role must be internal. External roles reach their cases through the portal.")),
    roles.length ? list : h("p", {}, t("No roles: the template gets one “team” role with every permission.")),
    addButton(ctx, t("Add role"), "/roles", () => {
      roles.push({ key: "", name: "", kind: "internal", permissions: ["case.view"], fields: { "*": "view" }, groups: [] });
      return `[data-pointer="${ptr("roles", roles.length - 1, "key")}"]`;
    }),
    roles.length ? h("h3", {}, t("Permissions matrix")) : null,
    roles.length ? scroller(t("Permissions per role"), permissionTable) : null,
    roles.length ? h("h3", {}, t("Field access")) : null,
    roles.length ? scroller(t("Field access per role"), accessTable) : null);
}

export function portalSection(ctx) {
  const def = ctx.def;
  def.portal = def.portal || {};
  const portal = def.portal;
  portal.branding = portal.branding || {};
  if (!Array.isArray(portal.timeline_events)) portal.timeline_events = ["case.opened", "case.stage_changed", "document.added", "comment.added"];
  const allStages = portal.stages === null || portal.stages === undefined;
  return section("portal", t("Portal settings"),
    checkbox(ctx, t("Portal enabled for external participants"), portal, "enabled", "/portal/enabled", { defaultValue: true }),
    checkbox(ctx, t("Show every stage on the portal's progress line"), { all: allStages }, "all", "/portal/stages", {
      defaultValue: true, onChange: (checked) => {
        portal.stages = checked ? null : (def.stages || []).map((stage) => stage.key).filter(Boolean);
        ctx.render({ focus: '[data-pointer="/portal/stages"]' });
      } }),
    allStages ? null : keyChecklist(ctx, t("Stages shown"), portal, "stages", "/portal/stages", stageChoices(def)),
    keyChecklist(ctx, t("Timeline events externals see"), portal, "timeline_events", "/portal/timeline_events",
      CASE_EVENTS.map((type) => [type, eventName(type)])),
    h("fieldset", { class: "subpanel" }, h("legend", {}, t("Branding")),
      h("div", { class: "grid three" },
        textInput(ctx, t("Portal name"), portal.branding, "name", "/portal/branding/name"),
        textInput(ctx, t("Accent colour"), portal.branding, "colour", "/portal/branding/colour", { placeholder: "#0B5CAD", hint: "#RRGGBB" }),
        textInput(ctx, t("Logo URL"), portal.branding, "logo_url", "/portal/branding/logo_url", { type: "url", placeholder: "https://", hint: t("https:// only.") }))));
}
