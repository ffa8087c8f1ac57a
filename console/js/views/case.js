// The case page: header and stage progress, fields, moves, tasks, documents, participants and portal links,
// decisions, comments, the timeline (with its hash-chain check and signed export) and automation runs.
// What a person may change is worked out from the template's roles as the API does (caseline_common/access.py);
// the API stays the authority, and its refusals are shown as it words them.
import { ApiProblem, api } from "../api.js";
import { announce, caseReference, clear, dialog, fill, formatDate, h, loading, problemBox, showFieldErrors, slaBadge } from "../ui.js";

export function register(route) {
  route("/cases/:id", render, { nav: "cases" });
}

export async function render(main, params, _query, user) {
  loading(main, "Loading the case…");
  const page = new CasePage(main, params.id, user);
  await page.load();
}

// ---------------------------------------------------------------------------------------------------------
// Access: the caller's template roles on this case, and what they allow.

const P = {
  VIEW: "case.view",
  TRANSITION: "case.transition",
  OVERRIDE: "case.override",
  ASSIGN: "case.assign",
  CLOSE: "case.close",
  REOPEN: "case.reopen",
  TASK_MANAGE: "task.manage",
  TASK_COMPLETE: "task.complete",
  PARTICIPANT_MANAGE: "participant.manage",
  DOCUMENT_UPLOAD: "document.upload",
  DOCUMENT_VIEW: "document.view",
  COMMENT_INTERNAL: "comment.internal",
  COMMENT_EXTERNAL: "comment.external",
};

const VIEWER_ROLE = { key: "viewer", name: "Viewer", permissions: [P.VIEW, P.DOCUMENT_VIEW], fields: { "*": "view" } };

export function caseAccess(template, caseItem, user) {
  const admin = user.role === "admin";
  let roles;
  if (admin) roles = template.roles;
  else if (user.role === "viewer") roles = [VIEWER_ROLE];
  else {
    const held = new Set((caseItem.participants || [])
      .filter((p) => p.kind === "internal" && p.user_id === user.sub).map((p) => p.role));
    const groups = new Set(user.groups || []);
    roles = template.roles.filter((role) => held.has(role.key) || (role.groups || []).some((g) => groups.has(g)));
  }
  const roleKeys = new Set(roles.map((role) => role.key));
  return {
    admin,
    readOnly: user.role === "viewer",
    roles,
    roleKeys,
    can: (permission) => admin || roles.some((role) => (role.permissions || []).includes(permission)),
    field(key) {
      if (admin) return "edit";
      const granted = new Set(roles.map((role) => role.fields?.[key] ?? role.fields?.["*"]));
      if (granted.has("edit")) return "edit";
      return granted.has("view") ? "view" : null;
    },
    holdsAny: (keys) => admin || (keys || []).some((key) => roleKeys.has(key)),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Small helpers.

let idCounter = 0;
const uid = (prefix) => `${prefix}-${++idCounter}`;

function humanize(value) {
  const text = String(value ?? "").replace(/[_.]/g, " ").trim();
  return text ? text[0].toUpperCase() + text.slice(1) : "";
}

function formatLocalDay(value) {
  if (!value) return "";
  const [y, m, d] = String(value).split("-").map(Number);
  if (!y || !m || !d) return String(value);
  return new Date(y, m - 1, d).toLocaleDateString(undefined, { dateStyle: "medium" });
}

function formatSize(bytes) {
  if (bytes == null) return "";
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KB", "MB", "GB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

const pad = (n) => String(n).padStart(2, "0");

function toLocalInput(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

function fromLocalInput(value) {
  const date = new Date(value);
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  const abs = Math.abs(offset);
  const seconds = value.length === 16 ? `${value}:00` : value;
  return `${seconds}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

function localOffsetLabel() {
  const offset = -new Date().getTimezoneOffset();
  const abs = Math.abs(offset);
  return `UTC${offset >= 0 ? "+" : "-"}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

function toProblem(error) {
  if (error instanceof ApiProblem) return error;
  if (error && (error.title || error.detail)) return error;
  return { title: "Something went wrong", detail: error?.message || String(error) };
}

const hidden = (text) => h("span", { class: "visually-hidden" }, text);

function section(key, title, ...content) {
  return h("section", { class: "panel case-section", id: `case-${key}`, "aria-labelledby": `case-${key}-title` },
    h("h2", { id: `case-${key}-title`, tabindex: "-1" }, title), ...content);
}

function labelled(label, control, { hint, required } = {}) {
  control.id ||= uid("c");
  const hintText = [hint, required ? "Required." : null].filter(Boolean).join(" ");
  const hintEl = hintText ? h("p", { class: "hint", id: `${control.id}-hint` }, hintText) : null;
  if (hintEl) control.setAttribute("aria-describedby", hintEl.id);
  if (required) control.setAttribute("aria-required", "true");
  return h("div", { class: "field" }, h("label", { for: control.id }, label), control, hintEl);
}

function checkbox(label, attributes = {}) {
  const input = h("input", { type: "checkbox", id: uid("cb"), ...attributes });
  return { input, element: h("div", { class: "choice" }, input, h("label", { for: input.id }, label)) };
}

function select(options, attributes = {}, selected) {
  return h("select", attributes, options.map(([value, label]) =>
    h("option", { value, selected: value === selected }, label)));
}

function tableWrap(table) {
  return h("div", { class: "table-wrap" }, table);
}

// Runs an action: disables its button, shows a refusal in `status`, announces the outcome.
async function attempt(status, button, work, success) {
  if (status) clear(status);
  if (button) button.disabled = true;
  try {
    const result = await work();
    if (success) announce(typeof success === "function" ? success(result) : success);
    return { ok: true, result };
  } catch (error) {
    const problem = toProblem(error);
    if (status) status.append(problemBox(problem));
    announce(`${problem.title || "Something went wrong"}${problem.detail ? `: ${problem.detail}` : ""}`);
    return { ok: false, problem };
  } finally {
    if (button) button.disabled = false;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Field controls: one per field type; `read()` gives the value to send, `state()` what to compare.

export function fieldControl(def, value) {
  const key = def.key;
  const pointer = `/fields/${key}`;
  const id = `field-${key}`;
  const hint = def.description || undefined;
  const required = !!def.required;
  const simple = (control, read, extraHint) => {
    const element = labelled(def.label, control, { hint: [hint, extraHint].filter(Boolean).join(" ") || undefined, required });
    return { element, read, state: () => JSON.stringify(read()) };
  };
  const textValue = (input) => () => (input.value.trim() === "" ? null : input.value);

  switch (def.type) {
    case "long_text": {
      const input = h("textarea", { id, name: key, dataset: { pointer }, maxlength: def.max_length || undefined, rows: 4 });
      input.value = value ?? "";
      return simple(input, textValue(input));
    }
    case "number": {
      const input = h("input", { id, name: key, type: "number", step: "any", dataset: { pointer },
        min: def.minimum ?? undefined, max: def.maximum ?? undefined, value: value ?? "" });
      return simple(input, () => (input.value === "" ? null : Number(input.value)));
    }
    case "date": {
      const input = h("input", { id, name: key, type: "date", dataset: { pointer }, value: value ?? "" });
      return simple(input, () => input.value || null);
    }
    case "datetime": {
      const input = h("input", { id, name: key, type: "datetime-local", dataset: { pointer }, value: toLocalInput(value) });
      const initial = input.value;
      const control = simple(input, () => (input.value ? (input.value === initial ? value : fromLocalInput(input.value)) : null),
        `Your local time (${localOffsetLabel()}).`);
      control.state = () => input.value;
      return control;
    }
    case "enum": {
      const options = [["", "— Not set —"], ...(def.options || []).map((o) => [o, humanize(o)])];
      const input = select(options, { id, name: key, dataset: { pointer } }, value ?? "");
      return simple(input, () => input.value || null);
    }
    case "boolean": {
      const current = value === true ? "true" : value === false ? "false" : "";
      const input = select([["", "— Not set —"], ["true", "Yes"], ["false", "No"]], { id, name: key, dataset: { pointer } }, current);
      return simple(input, () => (input.value === "" ? null : input.value === "true"));
    }
    case "email":
    case "phone":
    case "file":
    case "text":
    default: {
      const type = def.type === "email" ? "email" : def.type === "phone" ? "tel" : "text";
      const extra = def.type === "phone" ? "International format, e.g. +31612345678." :
        def.type === "file" ? "The id of an uploaded file." : undefined;
      const input = h("input", { id, name: key, type, dataset: { pointer }, value: value ?? "",
        maxlength: def.max_length || undefined, autocomplete: "off" });
      return simple(input, textValue(input), extra);
    }
    case "multi_enum": {
      const chosen = new Set(Array.isArray(value) ? value : []);
      const boxes = (def.options || []).map((option, index) => {
        const box = h("input", { type: "checkbox", id: `${id}-${index}`, name: key, value: option, checked: chosen.has(option),
          dataset: index === 0 ? { pointer } : undefined });
        return { box, element: h("div", { class: "choice" }, box, h("label", { for: box.id }, humanize(option))) };
      });
      const legend = h("legend", {}, def.label);
      const element = h("fieldset", { class: "field group", id: `${id}-group` }, legend,
        hint || required ? h("p", { class: "hint" }, [hint, required ? "Required." : null].filter(Boolean).join(" ")) : null,
        h("div", { class: "choices" }, boxes.map((b) => b.element)));
      const read = () => {
        const list = boxes.filter((b) => b.box.checked).map((b) => b.box.value);
        return list.length ? list : null;
      };
      return { element, read, state: () => JSON.stringify(read()) };
    }
    case "money": {
      const amount = h("input", { id, name: `${key}.amount`, type: "text", inputmode: "decimal", dataset: { pointer },
        value: value?.amount ?? "", autocomplete: "off" });
      const currencies = def.currencies || [];
      const currency = currencies.length
        ? select([["", "—"], ...currencies.map((c) => [c, c])], { id: `${id}-currency`, name: `${key}.currency` },
          value?.currency ?? (currencies.length === 1 ? currencies[0] : ""))
        : h("input", { id: `${id}-currency`, name: `${key}.currency`, type: "text", maxlength: 3, size: 4,
          value: value?.currency ?? "", autocomplete: "off" });
      const limits = [def.minimum != null ? `at least ${def.minimum}` : null, def.maximum != null ? `at most ${def.maximum}` : null]
        .filter(Boolean).join(", ");
      const hintText = [hint, limits ? `Amount ${limits}.` : null, required ? "Required." : null].filter(Boolean).join(" ");
      const element = h("fieldset", { class: "field group" }, h("legend", {}, def.label),
        hintText ? h("p", { class: "hint" }, hintText) : null,
        h("div", { class: "inline" },
          h("div", { class: "field" }, h("label", { for: amount.id }, hidden(`${def.label} `), "Amount"), amount),
          h("div", { class: "field" }, h("label", { for: currency.id }, hidden(`${def.label} `), "Currency"), currency)));
      const read = () => {
        const a = amount.value.trim();
        const c = currency.value.trim().toUpperCase();
        if (!a && (!c || !value)) return null;
        return { amount: a, currency: c };
      };
      return { element, read, state: () => JSON.stringify([amount.value.trim(), currency.value.trim().toUpperCase()]) };
    }
    case "party": {
      const kind = select([["person", "Person"], ["organisation", "Organisation"]], { id: `${id}-kind`, name: `${key}.kind` },
        value?.kind ?? "person");
      const name = h("input", { id, name: `${key}.name`, type: "text", dataset: { pointer }, value: value?.name ?? "", autocomplete: "off" });
      const email = h("input", { id: `${id}-email`, name: `${key}.email`, type: "email", value: value?.email ?? "", autocomplete: "off" });
      const element = h("fieldset", { class: "field group" }, h("legend", {}, def.label),
        hint || required ? h("p", { class: "hint" }, [hint, required ? "Required." : null].filter(Boolean).join(" ")) : null,
        h("div", { class: "inline" },
          h("div", { class: "field" }, h("label", { for: name.id }, hidden(`${def.label} `), "Name"), name),
          h("div", { class: "field" }, h("label", { for: kind.id }, hidden(`${def.label} `), "Kind"), kind),
          h("div", { class: "field" }, h("label", { for: email.id }, hidden(`${def.label} `), "E-mail"), email)));
      const read = () => {
        if (!name.value.trim() && !email.value.trim()) return null;
        const party = { kind: kind.value, name: name.value.trim() };
        if (email.value.trim()) party.email = email.value.trim();
        return party;
      };
      return { element, read, state: () => JSON.stringify([kind.value, name.value.trim(), email.value.trim()]) };
    }
  }
}

export function displayValue(def, value) {
  if (value === undefined || value === null || value === "" || (Array.isArray(value) && !value.length)) return "—";
  switch (def?.type) {
    case "money": return `${value.amount} ${value.currency || ""}`.trim();
    case "party": return [value.name, value.kind === "organisation" ? "(organisation)" : null, value.email ? `· ${value.email}` : null]
      .filter(Boolean).join(" ");
    case "boolean": return value ? "Yes" : "No";
    case "date": return formatLocalDay(value);
    case "datetime": return formatDate(value);
    case "enum": return humanize(value);
    case "multi_enum": return value.map(humanize).join(", ");
    default: return typeof value === "object" ? JSON.stringify(value) : String(value);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Timeline wording.

const ACTOR_KINDS = [["", "Anyone"], ["user", "Staff"], ["external", "External participants"], ["automation", "Automations"], ["system", "System"]];

function actorText(actor) {
  if (!actor) return "";
  const who = actor.display_name || actor.id;
  const kind = { user: "staff", external: "external participant", automation: "automation", system: "system" }[actor.kind] || actor.kind;
  return `${who} (${kind})`;
}

// ---------------------------------------------------------------------------------------------------------

class CasePage {
  constructor(main, id, user) {
    this.main = main;
    this.id = id;
    this.user = user;
    this.comments = [];
    this.links = [];
    this.issued = null;
    this.timelineFilter = { type: "", actor_kind: "" };
    this.eventTypes = new Set();
    this.timelineTimers = [];
  }

  path(suffix = "") {
    return `/cases/${encodeURIComponent(this.id)}${suffix}`;
  }

  async load() {
    const caseItem = await api.get(this.path());
    const published = await api.get(
      `/templates/${encodeURIComponent(caseItem.template_key)}/versions/${caseItem.template_version}`);
    this.template = published.definition;
    this.case = caseItem;
    this.access = caseAccess(this.template, caseItem, this.user);
    this.build();
    this.renderAll();
    this.loadComments();
    this.loadTimeline();
    this.loadVerification();
    this.loadRuns();
    this.loadLinks();
    this.loadCriteria();
  }

  // -- structure ------------------------------------------------------------------------------------------

  build() {
    this.slots = {};
    const slot = (name) => (this.slots[name] = h("div", { class: "slot" }));
    this.fieldsStatus = h("div", { class: "form-status" });
    const page = h("div", { class: "case-page" },
      h("header", { class: "case-header panel", "aria-labelledby": "case-title" }, slot("header")),
      h("div", { class: "case-columns" },
        h("div", { class: "case-main" },
          section("fields", "Fields", slot("fields")),
          section("move", "Stage", slot("move")),
          section("tasks", "Tasks", slot("tasks")),
          section("documents", "Documents", slot("documents")),
          section("decisions", "Decisions", slot("decisions"))),
        h("div", { class: "case-side" },
          section("participants", "Participants", slot("participants")),
          section("comments", "Comments", slot("comments")),
          section("automations", "Automation runs", slot("runs")))),
      section("timeline", "Timeline", slot("timeline")));
    fill(this.main, page);
  }

  renderAll() {
    this.renderHeader();
    this.renderFields();
    this.renderMove();
    this.renderTasks();
    this.renderDocuments();
    this.renderDecisions();
    this.renderParticipants();
    this.renderComments();
    this.renderTimelineShell();
    this.renderRuns();
  }

  // A command answered with the case: show it everywhere, keep the focus where it was when possible.
  applyCase(next, { fields = false, focus } = {}) {
    const active = document.activeElement?.id;
    const participantsChanged = JSON.stringify(next.participants) !== JSON.stringify(this.case.participants);
    const before = this.fieldsKey();
    this.case = next;
    this.access = caseAccess(this.template, next, this.user);
    // the form is drawn again only when what it shows changed, so nothing typed elsewhere is lost
    const fieldsChanged = fields || this.fieldsKey() !== before;
    this.renderHeader();
    if (fieldsChanged) this.renderFields();
    this.renderMove();
    this.renderTasks();
    this.renderDocuments();
    this.renderDecisions();
    this.renderParticipants();
    this.loadCriteria();
    if (participantsChanged) this.loadLinks();
    this.refreshLater();
    const target = (focus && document.getElementById(focus)) || (active && document.getElementById(active));
    if (target && document.activeElement !== target) target.focus();
  }

  async reload(focus) {
    const fresh = await api.get(this.path());
    this.applyCase(fresh, { fields: true, focus });
  }

  // The timeline and the rule runs fill in as events arrive; look again shortly after a change.
  refreshLater() {
    for (const timer of this.timelineTimers) window.clearTimeout(timer);
    this.timelineTimers = [400, 1600].map((delay) => window.setTimeout(() => {
      this.loadTimeline();
      this.loadVerification();
      this.loadRuns();
    }, delay));
  }

  stage(key) {
    return this.template.stages.find((stage) => stage.key === key);
  }

  stageName(key) {
    return this.stage(key)?.name || key;
  }

  roleName(key) {
    if (!key) return "";
    return this.template.roles.find((role) => role.key === key)?.name || key;
  }

  forwardStages(key = this.case.stage) {
    const stages = this.template.stages;
    const index = stages.findIndex((stage) => stage.key === key);
    if (index < 0) return [];
    const current = stages[index];
    if (Array.isArray(current.next)) return current.next;
    return stages[index + 1] ? [stages[index + 1].key] : [];
  }

  fieldsKey() {
    return JSON.stringify([this.case.fields, this.editable, this.template.fields.map((def) => this.access.field(def.key))]);
  }

  get editable() {
    return !this.access.readOnly && this.case.status === "open";
  }

  // -- header ---------------------------------------------------------------------------------------------

  renderHeader() {
    const c = this.case;
    const visited = new Set((c.stage_history || []).map((visit) => visit.stage));
    const statusText = { open: "Open", closed: "Closed", cancelled: "Cancelled" }[c.status] || c.status;
    const progress = h("ol", { class: "stage-progress", "aria-label": "Stage progress" },
      this.template.stages.map((stage) => {
        const current = stage.key === c.stage;
        const done = !current && visited.has(stage.key);
        const state = current ? "current" : done ? "done" : "upcoming";
        return h("li", { class: `stage stage-${state}`, "aria-current": current ? "step" : undefined },
          h("span", { class: "stage-mark", "aria-hidden": "true" }, current ? "●" : done ? "✓" : "○"),
          h("span", { class: "stage-name" }, stage.name),
          hidden(current ? " (current stage)" : done ? " (done)" : " (not reached)"));
      }));
    const meta = h("dl", { class: "case-meta" },
      h("div", {}, h("dt", {}, "Reference"), h("dd", { class: "reference" }, caseReference(c.id))),
      h("div", {}, h("dt", {}, "Status"), h("dd", {}, h("span", { class: `badge status-${c.status}` }, statusText),
        c.status_reason ? ` — ${c.status_reason}` : "")),
      h("div", {}, h("dt", {}, "Stage"), h("dd", {}, this.stageName(c.stage), " ", slaBadge(c))),
      h("div", {}, h("dt", {}, "Owner"), h("dd", {}, c.owner)),
      h("div", {}, h("dt", {}, "Assigned role"), h("dd", {}, this.roleName(c.assigned_role) || "—")),
      h("div", {}, h("dt", {}, "In stage since"), h("dd", {}, formatDate(c.stage_entered_at))),
      c.stage_due_at ? h("div", {}, h("dt", {}, "Stage due"), h("dd", {}, formatDate(c.stage_due_at))) : null,
      h("div", {}, h("dt", {}, "Template"), h("dd", {}, `${this.template.name} (version ${c.template_version})`)),
      h("div", {}, h("dt", {}, "Your access"), h("dd", {}, this.accessSummary())));
    fill(this.slots.header,
      h("p", { class: "crumbs" }, h("a", { href: "#/cases" }, "Cases"), " / ", caseReference(c.id)),
      h("h1", { id: "case-title" }, c.title),
      meta,
      progress);
  }

  accessSummary() {
    if (this.access.admin) return "Administrator: every right";
    if (this.access.readOnly) return "Viewer: read only";
    const names = this.access.roles.map((role) => role.name);
    return names.length ? names.join(", ") : "No role on this case";
  }

  // -- fields ---------------------------------------------------------------------------------------------

  renderFields() {
    const slot = clear(this.slots.fields);
    const visible = this.template.fields.map((def) => ({ def, access: this.access.field(def.key) }))
      .filter((entry) => entry.access);
    if (!visible.length) {
      slot.append(h("p", {}, "Your role on this case shows none of its fields."));
      return;
    }
    const canEdit = this.editable;
    const editable = canEdit ? visible.filter((entry) => entry.access === "edit") : [];
    const readable = visible.filter((entry) => !editable.includes(entry));
    if (readable.length) {
      slot.append(h("dl", { class: "field-values" }, readable.map(({ def }) =>
        h("div", {}, h("dt", {}, def.label), h("dd", { id: `value-${def.key}` }, displayValue(def, this.case.fields[def.key]))))));
    }
    if (!editable.length) return;
    const controls = editable.map(({ def }) => ({ def, control: fieldControl(def, this.case.fields[def.key]) }));
    const initial = new Map(controls.map(({ def, control }) => [def.key, control.state()]));
    const status = this.fieldsStatus;
    clear(status);
    const save = h("button", { type: "submit", class: "primary", id: "case-fields-save" }, "Save changes");
    const form = h("form", { class: "case-fields", novalidate: true, "aria-labelledby": "case-fields-title" },
      readable.length ? h("h3", {}, "What you may change") : null,
      h("div", { class: "field-grid" }, controls.map(({ control }) => control.element)),
      status,
      h("div", { class: "actions" }, save,
        h("button", { type: "button", id: "case-fields-reset", onclick: () => { this.renderFields(); announce("Changes undone."); } },
          "Undo changes")));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      showFieldErrors(form, { errors: [] });
      const changed = {};
      for (const { def, control } of controls) {
        if (control.state() !== initial.get(def.key)) changed[def.key] = control.read();
      }
      const count = Object.keys(changed).length;
      clear(status);
      if (!count) {
        status.append(h("p", { class: "note" }, "Nothing has changed."));
        announce("Nothing has changed.");
        return;
      }
      save.disabled = true;
      try {
        const next = await api.patch(this.path(), { fields: changed }, { ifMatch: this.case.version });
        this.applyCase(next, { fields: true, focus: "case-fields-save" });
        fill(this.fieldsStatus, h("p", { class: "note ok" }, `Saved ${count} ${count === 1 ? "field" : "fields"}.`));
        announce(`Saved ${count} ${count === 1 ? "field" : "fields"}.`);
      } catch (error) {
        const problem = toProblem(error);
        if (problem.status === 412 || problem.status === 409) {
          status.append(this.staleBox(problem));
        } else if (problem.status === 422) {
          const left = showFieldErrors(form, problem);
          status.append(problemBox({ ...problem, errors: left }));
        } else {
          status.append(problemBox(problem));
        }
        announce(`Not saved: ${problem.detail || problem.title}`);
      } finally {
        save.disabled = false;
      }
    });
    slot.append(form);
  }

  staleBox(problem) {
    const box = problemBox({ title: "This case has changed", detail:
      "Someone changed this case after you opened it, so your changes were not saved. Reload it to see the latest, then make your changes again." });
    if (problem.detail) box.append(h("p", { class: "hint" }, problem.detail));
    box.append(h("div", { class: "actions" }, h("button", { type: "button", id: "case-reload", onclick: async () => {
      try {
        await this.reload("case-fields-title");
        announce("Reloaded the latest version of the case.");
      } catch (error) {
        box.append(problemBox(toProblem(error)));
      }
    } }, "Reload the case")));
    return box;
  }

  // -- stage moves ----------------------------------------------------------------------------------------

  async loadCriteria() {
    if (this.case.status !== "open") { this.criteria = null; this.renderCriteria(); return; }
    try {
      this.criteria = await api.get(this.path("/criteria"));
    } catch {
      this.criteria = null;
    }
    this.renderCriteria();
  }

  renderCriteria() {
    const slot = document.getElementById("case-criteria");
    if (!slot) return;
    clear(slot);
    const report = this.criteria;
    if (!report || report.stage !== this.case.stage) return;
    const entries = Object.entries(report.next_stages || {});
    if (!entries.length) return;
    slot.append(h("h3", {}, "What the next move needs"), h("ul", { class: "criteria" }, entries.map(([key, unmet]) =>
      h("li", {}, h("strong", {}, this.stageName(key)), ": ",
        unmet.length ? h("ul", {}, unmet.map((item) => h("li", {}, item.description))) : "nothing is missing."))));
  }

  renderMove() {
    const slot = clear(this.slots.move);
    const c = this.case;
    const forward = this.forwardStages();
    const final = forward.length === 0;
    slot.append(h("p", {}, "The case is in ", h("strong", {}, this.stageName(c.stage)),
      final ? " — a final stage." : ".", c.status !== "open" ? ` It is ${c.status}.` : ""));
    slot.append(h("div", { id: "case-criteria", class: "criteria-slot" }));
    this.renderCriteria();
    if (this.access.readOnly) return;
    const status = h("div", { class: "form-status", id: "case-move-status" });
    const override = this.access.can(P.OVERRIDE);
    if (c.status === "open" && this.access.can(P.TRANSITION) && (forward.length || override)) {
      const others = this.template.stages.map((s) => s.key).filter((key) => key !== c.stage && !forward.includes(key));
      const to = h("select", { id: "case-move-to", name: "to" },
        forward.length ? h("optgroup", { label: "Next stages" }, forward.map((key) => h("option", { value: key }, this.stageName(key)))) : null,
        override && others.length ? h("optgroup", { label: "Back or skip (needs a reason)" },
          others.map((key) => h("option", { value: key }, this.stageName(key)))) : null);
      const reason = override ? h("textarea", { id: "case-move-reason", name: "reason", rows: 2, dataset: { pointer: "/reason" } }) : null;
      const force = override ? checkbox("Move even if criteria are unmet (force)", { id: "case-move-force", name: "force" }) : null;
      const button = h("button", { type: "submit", class: "primary", id: "case-move-submit" }, "Move case");
      const form = h("form", { class: "move-form", novalidate: true },
        h("div", { class: "inline" }, labelled("Move to", to),
          reason ? labelled("Reason", reason, { hint: "Needed to go back, skip a stage or force a move." }) : null),
        force?.element, status, h("div", { class: "actions" }, button));
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        const target = to.value;
        const body = { to: target };
        if (reason?.value.trim()) body.reason = reason.value.trim();
        if (force?.input.checked) body.force = true;
        clear(status);
        showFieldErrors(form, { errors: [] });
        button.disabled = true;
        try {
          const next = await api.post(this.path("/transitions"), body);
          this.applyCase(next, { focus: "case-move-title" });
          announce(`Moved the case to ${this.stageName(next.stage)}.`);
        } catch (error) {
          const problem = toProblem(error);
          const left = showFieldErrors(form, problem);
          const box = problem.unmet?.length
            ? problemBox({ title: `The case cannot move to "${this.stageName(target)}" yet`,
              detail: "What is still needed:", unmet: problem.unmet })
            : problemBox({ ...problem, errors: left });
          status.append(box);
          const words = problem.unmet?.length ? problem.unmet.map((u) => u.description).join("; ") : (problem.detail || problem.title);
          announce(`Not moved. ${words}`);
        } finally {
          button.disabled = false;
        }
      });
      slot.append(form);
    } else if (c.status === "open" && !final && !this.access.can(P.TRANSITION)) {
      slot.append(h("p", { class: "hint" }, "Your role on this case does not move it between stages."));
    }
    const buttons = [];
    if (c.status === "open" && final && this.access.can(P.CLOSE)) {
      buttons.push(h("button", { type: "button", id: "case-close", onclick: () => this.statusChange("close") }, "Close case"));
    }
    if (c.status === "open" && this.access.can(P.CLOSE)) {
      buttons.push(h("button", { type: "button", class: "danger", id: "case-cancel", onclick: () => this.statusChange("cancel") }, "Cancel case"));
    }
    if (c.status !== "open" && this.access.can(P.REOPEN)) {
      buttons.push(h("button", { type: "button", id: "case-reopen", onclick: () => this.statusChange("reopen") }, "Reopen case"));
    }
    if (buttons.length) slot.append(h("div", { class: "actions status-actions" }, buttons));
  }

  async statusChange(kind) {
    const titles = { close: "Close the case", cancel: "Cancel the case", reopen: "Reopen the case" };
    const reason = h("textarea", { id: uid("reason"), name: "reason", rows: 3, dataset: { pointer: "/reason" } });
    const override = kind === "close" && this.access.can(P.OVERRIDE);
    const force = override ? checkbox("Close even if criteria are unmet (force)", { name: "force" }) : null;
    const body = h("div", {}, labelled("Reason", reason, { required: kind !== "close", hint: kind === "close" ? "Optional unless forcing." : undefined }),
      force?.element);
    let next = null;
    const done = await dialog(titles[kind], body, {
      submitLabel: { close: "Close case", cancel: "Cancel case", reopen: "Reopen case" }[kind],
      onSubmit: async (values) => {
        const request = {};
        if (values.reason?.trim()) request.reason = values.reason.trim();
        if (force?.input.checked) request.force = true;
        try {
          next = await api.post(this.path(`/${kind}`), request);
        } catch (error) {
          const problem = toProblem(error);
          if (problem.unmet?.length) throw { ...problem, title: "The case cannot be closed yet", detail: "What is still needed:" };
          throw problem;
        }
      },
    });
    if (done && next) {
      this.applyCase(next, { focus: "case-move-title" });
      announce({ close: "Closed the case.", cancel: "Cancelled the case.", reopen: "Reopened the case." }[kind]);
    }
  }

  // -- tasks ----------------------------------------------------------------------------------------------

  renderTasks() {
    const slot = clear(this.slots.tasks);
    const c = this.case;
    const tasks = [...(c.tasks || [])].sort((a, b) =>
      (a.stage === c.stage ? 0 : 1) - (b.stage === c.stage ? 0 : 1) || String(a.created_at).localeCompare(String(b.created_at)));
    const status = h("div", { class: "form-status", id: "case-tasks-status" });
    const canComplete = this.editable && this.access.can(P.TASK_COMPLETE);
    const canManage = this.editable && this.access.can(P.TASK_MANAGE);
    if (!tasks.length) slot.append(h("p", {}, "No tasks yet."));
    else {
      const now = Date.now();
      slot.append(tableWrap(h("table", { class: "tasks" },
        h("caption", { class: "visually-hidden" }, "Tasks of this case"),
        h("thead", {}, h("tr", {}, ["Task", "Stage", "Required", "Status", "Assigned to", "Due", canComplete || canManage ? "Actions" : null]
          .filter(Boolean).map((title) => h("th", { scope: "col" }, title)))),
        h("tbody", {}, tasks.map((task) => {
          const overdue = task.status === "open" && task.due_at && Date.parse(task.due_at) < now;
          const actions = [];
          if (canComplete && task.status === "open") {
            actions.push(h("button", { type: "button", id: `task-${task.id}-complete`, onclick: (e) => this.completeTask(task, e.currentTarget, status) },
              "Complete", hidden(` “${task.title}”`)));
          }
          if (canManage && task.status === "done") {
            actions.push(h("button", { type: "button", id: `task-${task.id}-reopen`, onclick: () => this.reopenTask(task) }, "Reopen", hidden(` “${task.title}”`)));
          }
          if (canManage && task.status === "open") {
            actions.push(h("button", { type: "button", id: `task-${task.id}-assign`, onclick: () => this.assignTask(task) }, "Assign", hidden(` “${task.title}”`)));
          }
          return h("tr", { class: task.status === "done" ? "done" : undefined },
            h("td", {}, h("span", { class: "task-title" }, task.title),
              task.reason ? h("p", { class: "hint" }, `Ad hoc: ${task.reason}`) : null),
            h("td", {}, this.stageName(task.stage), task.stage === c.stage ? hidden(" (current)") : null),
            h("td", {}, task.required ? "Required" : "Optional"),
            h("td", {}, task.status === "done"
              ? [h("span", { class: "badge task-done" }, "Done"), h("p", { class: "hint" }, `${formatDate(task.completed_at)} by ${task.completed_by || "—"}`)]
              : h("span", { class: "badge task-open" }, "Open")),
            h("td", {}, [task.assignee, task.assignee_role ? `role: ${this.roleName(task.assignee_role)}` : null].filter(Boolean).join(" · ") || "—"),
            h("td", {}, task.due_at ? formatDate(task.due_at) : "—", overdue ? h("span", { class: "badge overdue" }, "Overdue") : null),
            canComplete || canManage ? h("td", { class: "row-actions" }, actions) : null);
        })))));
    }
    slot.append(status);
    if (canManage) slot.append(this.addTaskForm());
  }

  async completeTask(task, button, status) {
    const outcome = await attempt(status, button, () => api.post(this.path(`/tasks/${encodeURIComponent(task.id)}/complete`)),
      `Task “${task.title}” is done.`);
    if (outcome.ok) this.applyCase(outcome.result, { focus: "case-tasks-title" });
  }

  async reopenTask(task) {
    const reason = h("textarea", { id: uid("reason"), name: "reason", rows: 3, dataset: { pointer: "/reason" } });
    let next = null;
    const done = await dialog(`Reopen “${task.title}”`, labelled("Reason", reason, { required: true }), {
      submitLabel: "Reopen task",
      onSubmit: async (values) => {
        next = await api.post(this.path(`/tasks/${encodeURIComponent(task.id)}/reopen`), { reason: values.reason.trim() || null });
      },
    });
    if (done && next) {
      this.applyCase(next, { focus: "case-tasks-title" });
      announce(`Task “${task.title}” is open again.`);
    }
  }

  roleOptions(kind, empty = "— None —") {
    const roles = this.template.roles.filter((role) => !kind || (role.kind || "internal") === kind);
    return [["", empty], ...roles.map((role) => [role.key, role.name])];
  }

  async assignTask(task) {
    const assignee = h("input", { type: "text", id: uid("assignee"), name: "assignee", value: task.assignee || "", dataset: { pointer: "/assignee" }, autocomplete: "off" });
    const role = select(this.roleOptions(null), { id: uid("role"), name: "assignee_role", dataset: { pointer: "/assignee_role" } }, task.assignee_role || "");
    let next = null;
    const done = await dialog(`Assign “${task.title}”`, h("div", {},
      labelled("Assignee (user id)", assignee, { hint: "A person's user id; leave empty to assign a role only." }),
      labelled("Role", role)), {
      submitLabel: "Assign task",
      onSubmit: async (values) => {
        const body = {};
        if (values.assignee.trim()) body.assignee = values.assignee.trim();
        if (values.assignee_role) body.assignee_role = values.assignee_role;
        next = await api.post(this.path(`/tasks/${encodeURIComponent(task.id)}/assignment`), body);
      },
    });
    if (done && next) {
      this.applyCase(next, { focus: "case-tasks-title" });
      announce(`Assigned “${task.title}”.`);
    }
  }

  addTaskForm() {
    const title = h("input", { type: "text", id: "task-new-title", name: "title", dataset: { pointer: "/title" }, autocomplete: "off" });
    const reason = h("textarea", { id: "task-new-reason", name: "reason", rows: 2, dataset: { pointer: "/reason" } });
    const due = h("input", { type: "date", id: "task-new-due", name: "due", dataset: { pointer: "/due_at" } });
    const role = select(this.roleOptions(null), { id: "task-new-role", name: "assignee_role", dataset: { pointer: "/assignee_role" } }, "");
    const required = checkbox("Required to leave the stage", { id: "task-new-required", name: "required" });
    const status = h("div", { class: "form-status" });
    const button = h("button", { type: "submit", class: "primary", id: "task-new-submit" }, "Add task");
    const form = h("form", { class: "subform", novalidate: true, "aria-labelledby": "task-new-heading" },
      h("h3", { id: "task-new-heading" }, "Add an ad hoc task"),
      h("div", { class: "field-grid" },
        labelled("Task title", title, { required: true }),
        labelled("Why it is needed", reason, { required: true }),
        labelled("Due date", due, { hint: "Due by the end of that day." }),
        labelled("Assignee role", role)),
      required.element, status, h("div", { class: "actions" }, button));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      showFieldErrors(form, { errors: [] });
      const body = { title: title.value.trim(), reason: reason.value.trim(), required: required.input.checked };
      if (due.value) {
        const [y, m, d] = due.value.split("-").map(Number);
        body.due_at = new Date(y, m - 1, d, 23, 59, 0).toISOString();
      }
      if (role.value) body.assignee_role = role.value;
      clear(status);
      button.disabled = true;
      try {
        const next = await api.post(this.path("/tasks"), body);
        this.applyCase(next, { focus: "task-new-title" });
        announce(`Added the task “${body.title}”.`);
      } catch (error) {
        const problem = toProblem(error);
        const left = showFieldErrors(form, problem);
        status.append(problemBox({ ...problem, errors: left }));
        announce(`Task not added: ${problem.detail || problem.title}`);
      } finally {
        button.disabled = false;
      }
    });
    return form;
  }

  // -- documents ------------------------------------------------------------------------------------------

  renderDocuments() {
    const slot = clear(this.slots.documents);
    const types = this.template.document_types || [];
    if (!types.length) {
      slot.append(h("p", {}, "This template has no document types."));
      return;
    }
    const canView = this.access.can(P.DOCUMENT_VIEW);
    for (const type of types) {
      const versions = [...((this.case.documents || []).find((d) => d.type === type.key)?.versions || [])].reverse();
      const headingId = `doc-${type.key}-title`;
      const status = h("div", { class: "form-status", id: `doc-${type.key}-status` });
      const requiredIn = (type.required_in_stages || []).map((key) => this.stageName(key));
      const block = h("div", { class: "doc-type", role: "group", "aria-labelledby": headingId },
        h("h3", { id: headingId }, type.name),
        type.description ? h("p", {}, type.description) : null,
        h("p", { class: "hint" }, `Accepts ${type.content_types.join(", ")}; at most ${formatSize(type.max_size_bytes)}.`,
          requiredIn.length ? ` Needed to leave: ${requiredIn.join(", ")}.` : "",
          type.external ? " Shared with external participants." : ""));
      if (!versions.length) block.append(h("p", {}, "Nothing uploaded yet."));
      else {
        block.append(tableWrap(h("table", { class: "versions" },
          h("caption", { class: "visually-hidden" }, `Versions of ${type.name}`),
          h("thead", {}, h("tr", {}, ["Version", "File", "Size", "Uploaded", "SHA-256", canView ? "Download" : null]
            .filter(Boolean).map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, versions.map((v) => h("tr", {},
            h("td", {}, `v${v.version}`),
            h("td", { class: "filename" }, v.filename),
            h("td", {}, formatSize(v.size)),
            h("td", {}, formatDate(v.uploaded_at), h("p", { class: "hint" }, `by ${v.uploaded_by}`)),
            h("td", {}, h("code", { title: v.sha256 }, v.sha256.slice(0, 12))),
            canView ? h("td", {}, h("button", { type: "button", id: `doc-${type.key}-v${v.version}-download`,
              onclick: (e) => this.download(type, v, e.currentTarget, status) }, "Download", hidden(` ${v.filename} (version ${v.version})`))) : null))))));
      }
      block.append(status);
      const mayUpload = this.editable && this.access.can(P.DOCUMENT_UPLOAD)
        && (!(type.uploader_roles || []).length || this.access.holdsAny(type.uploader_roles));
      if (mayUpload) block.append(this.uploadForm(type));
      slot.append(block);
    }
  }

  async download(type, version, button, status) {
    const outcome = await attempt(status, button, () =>
      api.get(this.path(`/documents/${encodeURIComponent(type.key)}/versions/${version.version}`)));
    if (!outcome.ok) return;
    // the link answers with Content-Disposition: attachment, so the browser saves it and stays on this page
    const link = h("a", { href: outcome.result.url, download: version.filename, rel: "noopener", class: "visually-hidden" }, "download");
    document.body.append(link);
    link.click();
    link.remove();
    announce(`Downloading ${version.filename}.`);
  }

  uploadForm(type) {
    const file = h("input", { type: "file", id: `doc-${type.key}-file`, name: "file", accept: type.content_types.join(","),
      dataset: { pointer: "/filename" } });
    const progress = h("progress", { id: `doc-${type.key}-progress`, max: 100, value: 0, "aria-label": `Upload progress for ${type.name}` });
    const progressText = h("span", { class: "progress-text", "aria-live": "polite" });
    const progressBox = h("div", { class: "upload-progress", hidden: true }, progress, progressText);
    const status = h("div", { class: "form-status" });
    const button = h("button", { type: "submit", id: `doc-${type.key}-upload` }, "Upload", hidden(` ${type.name}`));
    const form = h("form", { class: "upload-form", novalidate: true },
      h("div", { class: "inline" }, labelled(`File for ${type.name}`, file), h("div", { class: "actions" }, button)),
      progressBox, status);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clear(status);
      const chosen = file.files[0];
      if (!chosen) {
        status.append(problemBox({ title: "Choose a file first", detail: `Pick the ${type.name} to upload.` }));
        announce("Choose a file first.");
        file.focus();
        return;
      }
      button.disabled = true;
      file.disabled = true;
      try {
        let target;
        try {
          target = await api.post(this.path("/documents/uploads"), {
            type: type.key, filename: chosen.name, content_type: chosen.type || "application/octet-stream", size: chosen.size,
          });
        } catch (error) {
          const problem = toProblem(error);
          if (problem.status === 422) {
            throw { ...problem, title: "This file cannot be uploaded", detail: `${chosen.name} (${chosen.type || "unknown type"}, ${formatSize(chosen.size)}) was refused.`,
              errors: (problem.errors || []).map((e) => ({ detail: e.detail })) };
          }
          throw problem;
        }
        progressBox.hidden = false;
        progress.value = 0;
        progressText.textContent = "Starting…";
        await sendForm(target, chosen, (loaded, total) => {
          const percent = total ? Math.round((loaded / total) * 100) : 0;
          progress.value = percent;
          progressText.textContent = `${percent}% (${formatSize(loaded)} of ${formatSize(total)})`;
        });
        progressText.textContent = "Uploaded; checking the file…";
        const next = await api.post(this.path(`/documents/uploads/${encodeURIComponent(target.upload_id)}/confirm`));
        const versions = (next.documents || []).find((d) => d.type === type.key)?.versions || [];
        const added = versions[versions.length - 1];
        this.applyCase(next, { focus: `doc-${type.key}-title` });
        const message = `Uploaded ${chosen.name} as version ${added?.version ?? ""} of ${type.name}.`;
        document.getElementById(`doc-${type.key}-status`)?.append(h("p", { class: "note ok" }, message));
        announce(message);
      } catch (error) {
        const problem = toProblem(error);
        const shown = document.getElementById(`doc-${type.key}-status`) || status;
        fill(shown, problemBox(problem));
        progressBox.hidden = true;
        announce(`Upload failed: ${problem.detail || problem.title}`);
      } finally {
        button.disabled = false;
        file.disabled = false;
      }
    });
    return form;
  }

  // -- participants and portal links -----------------------------------------------------------------------

  async loadLinks() {
    const externals = (this.case.participants || []).some((p) => p.kind === "external");
    if (!externals || this.access.readOnly || !this.access.can(P.PARTICIPANT_MANAGE)) {
      this.links = [];
      this.linksProblem = null;
      return;
    }
    try {
      this.links = (await api.get(this.path("/portal-links"))).items || [];
      this.linksProblem = null;
    } catch (error) {
      this.links = [];
      this.linksProblem = toProblem(error);
    }
    this.renderLinks();
  }

  // Only the portal-link boxes: the rest of the section (and what someone is typing in it) stays as it is.
  renderLinks() {
    const status = document.getElementById("participants-status");
    for (const participant of (this.case.participants || []).filter((p) => p.kind === "external")) {
      const slot = document.getElementById(`links-${participant.id}`);
      if (slot) fill(slot, this.linksFor(participant, status));
    }
    const problemSlot = document.getElementById("links-problem");
    if (problemSlot) {
      clear(problemSlot);
      if (this.linksProblem) problemSlot.append(problemBox(this.linksProblem));
    }
  }

  renderParticipants() {
    const slot = clear(this.slots.participants);
    const c = this.case;
    const manage = this.editable && this.access.can(P.PARTICIPANT_MANAGE);
    const status = h("div", { class: "form-status", id: "participants-status" });
    slot.append(h("div", { id: "issued-link-slot" }, this.issued ? this.issuedBox() : null));
    const list = h("ul", { class: "participants" }, (c.participants || []).map((p) => {
      const who = p.kind === "internal"
        ? [h("span", { class: "who" }, p.user_id), p.user_id === c.owner ? h("span", { class: "badge" }, "Owner") : null,
          p.user_id === this.user.sub ? h("span", { class: "badge" }, "You") : null]
        : [h("span", { class: "who" }, p.name || "External participant"), p.email ? h("span", { class: "hint" }, ` ${p.email}`) : null];
      const item = h("li", { class: `participant participant-${p.kind}` },
        h("div", { class: "participant-head" }, who),
        h("p", { class: "hint" }, `${p.kind === "internal" ? "Internal" : "External"} · ${this.roleName(p.role)}`));
      if (manage) {
        const roleSelect = select(this.roleOptions(p.kind, "—").slice(1), { id: `participant-${p.id}-role`, "aria-label": `Role of ${p.user_id || p.name}` }, p.role);
        const change = h("button", { type: "button", id: `participant-${p.id}-change`, onclick: async (e) => {
          if (roleSelect.value === p.role) { announce("The role is unchanged."); return; }
          const outcome = await attempt(status, e.currentTarget, () => api.post(this.path(`/participants/${encodeURIComponent(p.id)}/role`),
            { role: roleSelect.value }), `${p.user_id || p.name} is now ${this.roleName(roleSelect.value)}.`);
          if (outcome.ok) this.applyCase(outcome.result, { focus: `participant-${p.id}-role` });
        } }, "Change role", hidden(` of ${p.user_id || p.name}`));
        const remove = h("button", { type: "button", class: "danger", id: `participant-${p.id}-remove`, onclick: () => this.removeParticipant(p) },
          "Remove", hidden(` ${p.user_id || p.name}`));
        item.append(h("div", { class: "inline actions" }, roleSelect, change, remove));
      }
      if (p.kind === "external" && manage) item.append(h("div", { id: `links-${p.id}` }, this.linksFor(p, status)));
      return item;
    }));
    slot.append(list, status);
    if (manage) slot.append(h("div", { id: "links-problem" }, this.linksProblem ? problemBox(this.linksProblem) : null));
    if (manage) slot.append(this.addParticipantForm());
    if (this.editable && this.access.can(P.ASSIGN)) slot.append(this.ownerForm());
  }

  linksFor(participant, status) {
    const links = this.links.filter((link) => link.participant_id === participant.id);
    const now = Date.now();
    const box = h("div", { class: "portal-links" }, h("h3", {}, "Portal links", hidden(` for ${participant.name}`)));
    if (!links.length) box.append(h("p", { class: "hint" }, "No portal link issued yet."));
    else {
      box.append(h("ul", {}, links.map((link) => {
        const expired = Date.parse(link.expires_at) <= now;
        const state = link.revoked_at ? `Revoked ${formatDate(link.revoked_at)}` : expired ? "Expired" : "Active";
        return h("li", { class: "portal-link" },
          h("span", { class: `badge link-${link.revoked_at ? "revoked" : expired ? "expired" : "active"}` }, state), " ",
          `Issued ${formatDate(link.created_at)} · expires ${formatDate(link.expires_at)} · `,
          link.last_used_at ? `last used ${formatDate(link.last_used_at)}` : "never used",
          !link.revoked_at && !expired ? h("button", { type: "button", class: "link-button", id: `link-${link.id}-revoke`, onclick: async (e) => {
            const outcome = await attempt(status, e.currentTarget, () => api.post(this.path(`/portal-links/${encodeURIComponent(link.id)}/revoke`)),
              `Revoked the portal link for ${participant.name}.`);
            if (!outcome.ok) return;
            // a revoked link is no longer one to copy and send
            if (this.issued?.link.id === link.id) { this.issued = null; this.showIssued(); }
            await this.loadLinks();
            document.getElementById(`participant-${participant.id}-issue`)?.focus();
          } }, "Revoke", hidden(` link issued ${formatDate(link.created_at)}`)) : null);
      })));
    }
    box.append(h("button", { type: "button", id: `participant-${participant.id}-issue`, onclick: async (e) => {
      // the portal learns of participants from events: one added a moment ago may not have reached it yet
      const issue = async () => {
        for (let round = 0; ; round += 1) {
          try {
            return await api.post(this.path("/portal-links"), { participant_id: participant.id });
          } catch (error) {
            const notYet = error.status === 422 && (error.errors || []).some((x) => x.pointer === "/participant_id");
            if (!notYet || round >= 4) throw error;
            await new Promise((resolve) => window.setTimeout(resolve, 700));
          }
        }
      };
      const outcome = await attempt(status, e.currentTarget, issue,
        `Issued a portal link for ${participant.name}. Copy it now; it is shown only once.`);
      if (outcome.ok) {
        this.issued = { participant, link: outcome.result };
        this.showIssued();
        document.getElementById("issued-link-url")?.focus();
        await this.loadLinks();
      }
    } }, "Issue link", hidden(` for ${participant.name}`)));
    return box;
  }

  showIssued() {
    const slot = document.getElementById("issued-link-slot");
    if (slot) fill(slot, this.issued ? this.issuedBox() : "");
  }

  issuedBox() {
    const { participant, link } = this.issued;
    const url = h("input", { type: "text", id: "issued-link-url", readonly: true, value: link.url });
    const copied = h("span", { class: "hint", "aria-live": "polite" });
    return h("div", { class: "issued-link" },
      h("p", {}, h("strong", {}, `New portal link for ${participant.name}`), ` — expires ${formatDate(link.expires_at)}. Copy it now: it is shown only once.`),
      labelled("Portal link", url),
      h("div", { class: "actions" },
        h("button", { type: "button", class: "primary", id: "issued-link-copy", onclick: async () => {
          try {
            await navigator.clipboard.writeText(link.url);
            copied.textContent = "Copied.";
          } catch {
            url.select();
            copied.textContent = "Select the link and copy it (Ctrl+C).";
          }
          announce(copied.textContent);
        } }, "Copy link"),
        h("button", { type: "button", id: "issued-link-done", onclick: () => {
          this.issued = null;
          this.showIssued();
          document.getElementById(`participant-${participant.id}-issue`)?.focus();
        } }, "Done"),
        copied));
  }

  async removeParticipant(p) {
    let next = null;
    const done = await dialog(`Remove ${p.user_id || p.name}?`, h("p", {},
      `${p.user_id || p.name} (${this.roleName(p.role)}) will no longer take part in this case.`), {
      submitLabel: "Remove participant",
      onSubmit: async () => {
        next = await api.delete(this.path(`/participants/${encodeURIComponent(p.id)}`));
      },
    });
    if (done && next) {
      this.applyCase(next, { focus: "case-participants-title" });
      announce(`Removed ${p.user_id || p.name}.`);
    }
  }

  addParticipantForm() {
    const internalRadio = h("input", { type: "radio", name: "kind", id: "participant-new-internal", value: "internal", checked: true });
    const externalRadio = h("input", { type: "radio", name: "kind", id: "participant-new-external", value: "external" });
    const userId = h("input", { type: "text", id: "participant-new-user", name: "user_id", dataset: { pointer: "/user_id" }, autocomplete: "off" });
    const name = h("input", { type: "text", id: "participant-new-name", name: "name", dataset: { pointer: "/name" }, autocomplete: "off" });
    const email = h("input", { type: "email", id: "participant-new-email", name: "email", dataset: { pointer: "/email" }, autocomplete: "off" });
    const role = h("select", { id: "participant-new-role", name: "role", dataset: { pointer: "/role" } });
    const internalFields = h("div", {}, labelled("User id", userId, { required: true }));
    const externalFields = h("div", { hidden: true }, labelled("Name", name, { required: true }), labelled("E-mail", email, { required: true }));
    const setKind = () => {
      const kind = externalRadio.checked ? "external" : "internal";
      internalFields.hidden = kind !== "internal";
      externalFields.hidden = kind !== "external";
      const options = this.roleOptions(kind).slice(1);
      fill(role, ...options.map(([value, label]) => h("option", { value }, label)));
      if (!options.length) role.append(h("option", { value: "" }, `No ${kind} roles in this template`));
    };
    internalRadio.addEventListener("change", setKind);
    externalRadio.addEventListener("change", setKind);
    const status = h("div", { class: "form-status" });
    const button = h("button", { type: "submit", class: "primary", id: "participant-new-submit" }, "Add participant");
    const form = h("form", { class: "subform", novalidate: true, "aria-labelledby": "participant-new-heading" },
      h("h3", { id: "participant-new-heading" }, "Add a participant"),
      h("fieldset", { class: "plain" }, h("legend", {}, "Kind"),
        h("div", { class: "choice" }, internalRadio, h("label", { for: internalRadio.id }, "Internal (a staff member)")),
        h("div", { class: "choice" }, externalRadio, h("label", { for: externalRadio.id }, "External (client, applicant, …)"))),
      internalFields, externalFields, labelled("Role", role), status, h("div", { class: "actions" }, button));
    setKind();
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      showFieldErrors(form, { errors: [] });
      const kind = externalRadio.checked ? "external" : "internal";
      const body = { kind, role: role.value };
      if (kind === "internal") body.user_id = userId.value.trim();
      else { body.name = name.value.trim(); body.email = email.value.trim(); }
      clear(status);
      button.disabled = true;
      try {
        const next = await api.post(this.path("/participants"), body);
        this.applyCase(next, { focus: "participant-new-submit" });
        announce(`Added ${body.user_id || body.name} as ${this.roleName(body.role)}.`);
      } catch (error) {
        const problem = toProblem(error);
        const left = showFieldErrors(form, problem);
        status.append(problemBox({ ...problem, errors: left }));
        announce(`Participant not added: ${problem.detail || problem.title}`);
      } finally {
        button.disabled = false;
      }
    });
    return form;
  }

  ownerForm() {
    const owner = h("input", { type: "text", id: "case-owner-new", name: "owner", dataset: { pointer: "/owner" }, autocomplete: "off" });
    const status = h("div", { class: "form-status" });
    const button = h("button", { type: "submit", id: "case-owner-submit" }, "Change owner");
    const form = h("form", { class: "subform", novalidate: true, "aria-labelledby": "case-owner-heading" },
      h("h3", { id: "case-owner-heading" }, "Owner"),
      h("p", {}, `Owned by ${this.case.owner}.`),
      h("div", { class: "inline" }, labelled("New owner (user id)", owner), h("div", { class: "actions" }, button)), status);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      showFieldErrors(form, { errors: [] });
      clear(status);
      button.disabled = true;
      try {
        const next = await api.post(this.path("/assignment"), { owner: owner.value.trim() });
        this.applyCase(next, { focus: "case-owner-new" });
        announce(`The case now belongs to ${next.owner}.`);
      } catch (error) {
        const problem = toProblem(error);
        const left = showFieldErrors(form, problem);
        status.append(problemBox({ ...problem, errors: left }));
        announce(`Owner not changed: ${problem.detail || problem.title}`);
      } finally {
        button.disabled = false;
      }
    });
    return form;
  }

  // -- decisions ------------------------------------------------------------------------------------------

  renderDecisions() {
    const slot = clear(this.slots.decisions);
    const definitions = this.template.decisions || [];
    if (!definitions.length) {
      slot.append(h("p", {}, "This template records no decisions."));
      return;
    }
    for (const def of definitions) {
      const recorded = (this.case.decisions || []).filter((d) => d.key === def.key).reverse();
      const headingId = `decision-${def.key}-title`;
      const requiredIn = (def.required_in_stages || []).map((key) => this.stageName(key));
      const block = h("div", { class: "decision", role: "group", "aria-labelledby": headingId },
        h("h3", { id: headingId }, def.label),
        h("p", { class: "hint" }, `Decided by ${def.decider_roles.map((key) => this.roleName(key)).join(", ")}.`,
          requiredIn.length ? ` Needed to leave: ${requiredIn.join(", ")}.` : ""));
      if (!recorded.length) block.append(h("p", {}, "Not decided yet."));
      else {
        block.append(h("ol", { class: "decisions", reversed: true }, recorded.map((d, index) => h("li", { class: index === 0 ? "latest" : "earlier" },
          h("strong", {}, humanize(d.outcome)), index === 0 ? hidden(" (latest)") : null,
          ` — ${formatDate(d.decided_at)} by ${d.decided_by}`,
          d.rationale ? h("p", { class: "rationale" }, d.rationale) : null))));
      }
      if (this.editable && this.access.holdsAny(def.decider_roles)) block.append(this.decisionForm(def));
      slot.append(block);
    }
  }

  decisionForm(def) {
    const outcome = select([["", "— Choose —"], ...def.options.map((o) => [o, humanize(o)])],
      { id: `decision-${def.key}-outcome`, name: "outcome", dataset: { pointer: "/outcome" } }, "");
    const rationale = h("textarea", { id: `decision-${def.key}-rationale`, name: "rationale", rows: 3, dataset: { pointer: "/rationale" } });
    const status = h("div", { class: "form-status" });
    const button = h("button", { type: "submit", class: "primary", id: `decision-${def.key}-submit` }, "Record decision", hidden(` ${def.label}`));
    const form = h("form", { class: "subform", novalidate: true },
      h("div", { class: "field-grid" },
        h("div", { class: "field" }, h("label", { for: outcome.id }, hidden(`${def.label} `), "Outcome"), outcome),
        h("div", { class: "field" }, h("label", { for: rationale.id }, hidden(`${def.label} `), "Rationale"), rationale,
          def.rationale_required ? h("p", { class: "hint" }, "Required.") : null)),
      status, h("div", { class: "actions" }, button));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      showFieldErrors(form, { errors: [] });
      const body = { key: def.key, outcome: outcome.value };
      if (rationale.value.trim()) body.rationale = rationale.value.trim();
      clear(status);
      button.disabled = true;
      try {
        const next = await api.post(this.path("/decisions"), body);
        this.applyCase(next, { focus: `decision-${def.key}-title` });
        announce(`Recorded ${def.label}: ${humanize(body.outcome)}.`);
      } catch (error) {
        const problem = toProblem(error);
        const left = showFieldErrors(form, problem);
        status.append(problemBox({ ...problem, errors: left }));
        announce(`Decision not recorded: ${problem.detail || problem.title}`);
      } finally {
        button.disabled = false;
      }
    });
    return form;
  }

  // -- comments -------------------------------------------------------------------------------------------

  async loadComments() {
    try {
      this.comments = await api.all(this.path("/comments"));
      this.commentsProblem = null;
    } catch (error) {
      this.commentsProblem = toProblem(error);
    }
    this.renderCommentList();
  }

  renderCommentList() {
    const slot = this.commentList && clear(this.commentList);
    if (!slot) return;
    if (this.commentsProblem) slot.append(problemBox(this.commentsProblem));
    if (!this.comments.length) slot.append(h("p", { id: "comments-empty" }, "No comments yet."));
    else {
      slot.append(h("ol", { class: "comments" }, this.comments.map((comment) => h("li", { class: "comment" },
        h("p", { class: "comment-meta" }, h("strong", {}, comment.author), " · ", formatDate(comment.created_at), " ",
          h("span", { class: `badge ${comment.external ? "shared" : "internal"}` }, comment.external ? "Shared with externals" : "Internal")),
        h("p", { class: "comment-body" }, comment.body)))));
    }
  }

  renderComments() {
    const slot = clear(this.slots.comments);
    this.commentList = h("div", { class: "comment-list" });
    slot.append(this.commentList);
    this.renderCommentList();
    const internal = this.access.can(P.COMMENT_INTERNAL);
    const external = this.access.can(P.COMMENT_EXTERNAL);
    if (this.access.readOnly || !(internal || external)) return;
    const body = h("textarea", { id: "comment-new-body", name: "body", rows: 3, dataset: { pointer: "/body" } });
    const share = external ? checkbox("Share with external participants", { id: "comment-new-external", name: "external", checked: !internal, disabled: !internal }) : null;
    const status = h("div", { class: "form-status" });
    const button = h("button", { type: "submit", class: "primary", id: "comment-new-submit" }, "Add comment");
    const form = h("form", { class: "subform", novalidate: true },
      labelled("Comment", body), share?.element, status, h("div", { class: "actions" }, button));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      showFieldErrors(form, { errors: [] });
      clear(status);
      if (!body.value.trim()) {
        status.append(problemBox({ title: "Write a comment first" }));
        announce("Write a comment first.");
        body.focus();
        return;
      }
      const request = { body: body.value.trim(), external: share ? share.input.checked : false };
      button.disabled = true;
      try {
        const created = await api.post(this.path("/comments"), request);
        this.comments.push(created);
        this.renderCommentList();
        body.value = "";
        if (share && internal) share.input.checked = false;
        body.focus();
        announce(request.external ? "Comment added and shared with external participants." : "Internal comment added.");
        this.refreshLater();
      } catch (error) {
        const problem = toProblem(error);
        const left = showFieldErrors(form, problem);
        status.append(problemBox({ ...problem, errors: left }));
        announce(`Comment not added: ${problem.detail || problem.title}`);
      } finally {
        button.disabled = false;
      }
    });
    slot.append(form);
  }

  // -- timeline -------------------------------------------------------------------------------------------

  renderTimelineShell() {
    const slot = clear(this.slots.timeline);
    this.verifyBadge = h("p", { class: "chain", id: "timeline-chain", role: "status" }, h("span", { class: "badge chain-pending" }, "Checking the chain…"));
    const exportStatus = h("div", { class: "form-status" });
    const exportButton = h("button", { type: "button", id: "timeline-export", onclick: async (e) => {
      const outcome = await attempt(exportStatus, e.currentTarget, () => api.download(this.path("/timeline/export"), "application/zip"));
      if (!outcome.ok) return;
      const url = URL.createObjectURL(outcome.result);
      const link = h("a", { href: url, download: `case-${this.id}.zip`, class: "visually-hidden" }, "export");
      document.body.append(link);
      link.click();
      link.remove();
      window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
      announce(`Downloaded the signed export case-${this.id}.zip.`);
    } }, "Download signed export");
    const type = h("select", { id: "timeline-type", name: "type" });
    const actor = select(ACTOR_KINDS, { id: "timeline-actor", name: "actor_kind" }, this.timelineFilter.actor_kind);
    const apply = () => {
      this.timelineFilter = { type: type.value, actor_kind: actor.value };
      this.loadTimeline(true);
    };
    type.addEventListener("change", apply);
    actor.addEventListener("change", apply);
    this.typeSelect = type;
    this.fillTypes();
    this.timelineList = h("div", { class: "timeline-list", id: "timeline-entries" });
    slot.append(
      h("div", { class: "timeline-bar" }, this.verifyBadge,
        h("div", { class: "actions" }, exportButton,
          h("button", { type: "button", id: "timeline-refresh", onclick: () => { this.loadTimeline(true); this.loadVerification(); this.loadRuns(); } }, "Refresh"))),
      exportStatus,
      h("form", { class: "toolbar timeline-filter", role: "search", "aria-label": "Filter the timeline", onsubmit: (e) => e.preventDefault() },
        labelled("Event type", type), labelled("Done by", actor)),
      this.timelineList);
  }

  fillTypes() {
    if (!this.typeSelect) return;
    const chosen = this.timelineFilter.type;
    const types = [...this.eventTypes].sort();
    if (chosen && !types.includes(chosen)) types.push(chosen);
    fill(this.typeSelect, h("option", { value: "" }, "All events"),
      ...types.map((t) => h("option", { value: t, selected: t === chosen }, `${humanize(t)} (${t})`)));
  }

  async loadTimeline(announceCount = false) {
    if (!this.timelineList) return;
    const params = { limit: 200, order: "newest" };
    if (this.timelineFilter.type) params.type = this.timelineFilter.type;
    if (this.timelineFilter.actor_kind) params.actor_kind = this.timelineFilter.actor_kind;
    let page;
    try {
      page = await api.get(this.path("/timeline"), params);
    } catch (error) {
      // A case only just opened: the timeline service records its first event a moment later (503 while it waits).
      const waiting = error.status === 404 || error.status === 503 ? h("p", { class: "hint" }, "The timeline is catching up with this case…") : null;
      fill(this.timelineList, waiting || problemBox(toProblem(error)));
      if (waiting) window.setTimeout(() => this.loadTimeline(), 1000);
      return;
    }
    const items = page.items || [];
    const before = this.eventTypes.size;
    for (const item of items) if (item.event) this.eventTypes.add(item.event.type);
    if (this.eventTypes.size !== before) this.fillTypes();
    const filtered = this.timelineFilter.type || this.timelineFilter.actor_kind;
    fill(this.timelineList,
      h("p", { class: "hint", id: "timeline-count" }, `${items.length} ${items.length === 1 ? "entry" : "entries"}${filtered ? " match the filter" : ""}, newest first.`),
      items.length ? h("ol", { class: "timeline", "aria-label": "Timeline entries" }, items.map((item) => this.timelineEntry(item))) : null);
    if (announceCount) announce(`${items.length} timeline ${items.length === 1 ? "entry" : "entries"}.`);
  }

  timelineEntry(item) {
    const event = item.event;
    if (!event) {
      return h("li", { class: "entry damaged", dataset: { seq: String(item.seq) } },
        h("div", { class: "entry-head" }, h("span", { class: "entry-seq" }, `#${item.seq}`), h("strong", { class: "entry-type" }, "Damaged entry")),
        h("p", { class: "entry-summary" }, `${item.damaged}. The chain check below says where it breaks.`));
    }
    const summary = this.describe(event);
    return h("li", { class: `entry actor-${event.actor?.kind}`, dataset: { type: event.type, seq: String(item.seq) } },
      h("div", { class: "entry-head" },
        h("span", { class: "entry-seq" }, `#${item.seq}`),
        h("strong", { class: "entry-type" }, humanize(event.type)),
        h("time", { datetime: event.occurred_at }, formatDate(event.occurred_at)),
        event.visibility === "external" ? h("span", { class: "badge shared" }, "Visible to externals") : null),
      h("p", { class: "entry-actor" }, actorText(event.actor)),
      summary ? h("p", { class: "entry-summary" }, summary) : null,
      h("details", {}, h("summary", {}, "Details", hidden(` of entry ${item.seq}`)),
        h("pre", {}, JSON.stringify({ type: event.type, data: event.data, hash: item.hash }, null, 2))));
  }

  describe(event) {
    const d = event.data || {};
    const fieldLabel = (key) => this.template.fields.find((f) => f.key === key)?.label || key;
    const docName = (key) => (this.template.document_types || []).find((x) => x.key === key)?.name || key;
    switch (event.type) {
      case "case.opened": return `Opened in ${this.stageName(d.stage)}.`;
      case "case.stage_changed": {
        const from = d.from ?? d.before;
        const to = d.to ?? d.after;
        return `${from ? `${this.stageName(from)} → ` : ""}${this.stageName(to)}${d.reason ? ` — ${d.reason}` : ""}${d.forced || d.overridden?.length ? " (override)" : ""}`;
      }
      case "case.fields_changed": {
        const changed = [...new Set([...Object.keys(d.changes || {}), ...Object.keys(event.personal?.changes || {})])];
        const parts = [];
        if (changed.length) parts.push(`Changed ${changed.map(fieldLabel).join(", ")}.`);
        if (d.title) parts.push(`Title changed to “${d.title.after}”.`);
        return parts.join(" ");
      }
      case "task.completed": case "task.reopened": case "task.created": case "task.assigned":
        return d.title ? `“${d.title}”${d.reason ? ` — ${d.reason}` : ""}` : "";
      case "document.added":
        return `${docName(d.document_type)}, version ${d.document_version}${d.size != null ? ` (${formatSize(d.size)})` : ""}.`;
      case "document.requested": return `${docName(d.document_type)} requested${d.from_role ? ` from ${this.roleName(d.from_role)}` : ""}.`;
      case "decision.recorded": {
        const label = (this.template.decisions || []).find((x) => x.key === d.key)?.label || d.key;
        return `${label}: ${humanize(d.after ?? d.outcome)}${d.rationale ? ` — ${d.rationale}` : ""}`;
      }
      case "participant.added": case "participant.removed": case "participant.role_changed":
        return d.role || d.after ? `Role ${this.roleName(d.after || d.role)}.` : "";
      case "case.role_assigned": return `Assigned to ${this.roleName(d.after)}.`;
      case "case.closed": case "case.cancelled": case "case.reopened": return d.reason || "";
      case "case.assigned": return d.after ? `Owner ${d.before || "—"} → ${d.after}` : "";
      default: return d.reason || "";
    }
  }

  async loadVerification() {
    if (!this.verifyBadge) return;
    try {
      const result = await api.get(this.path("/timeline/verify"));
      const badge = result.valid
        ? h("span", { class: "badge chain-ok" }, "✓ Chain verified")
        : h("span", { class: "badge chain-broken" }, "✗ Chain broken");
      const detail = result.valid
        ? ` ${result.length} ${result.length === 1 ? "entry" : "entries"} hash-chained${result.anchor ? " and anchored" : ""}.`
        : ` At entry #${result.first_bad_seq ?? "?"}: ${result.reason || "the hashes do not match"}.`;
      fill(this.verifyBadge, badge, h("span", { class: "hint" }, detail));
    } catch (error) {
      const problem = toProblem(error);
      const why = error.status === 404 ? "No entries yet." : problem.detail || problem.title;
      fill(this.verifyBadge, h("span", { class: "badge chain-unknown" }, "Chain not checked"),
        h("span", { class: "hint" }, ` ${why}`));
      if (error.status === 404) window.setTimeout(() => this.loadVerification(), 1000);
    }
  }

  // -- automation runs ------------------------------------------------------------------------------------

  async loadRuns() {
    try {
      const page = await api.get("/automations/runs", { case_id: this.id, limit: 25 });
      this.runs = page.items || [];
      this.runsProblem = null;
    } catch (error) {
      // 404 or 503: the automations service has not seen the case yet, so no rule has run on it.
      this.runs = [];
      this.runsProblem = error.status === 404 || error.status === 503 ? null : toProblem(error);
    }
    this.renderRuns();
  }

  renderRuns() {
    const slot = clear(this.slots.runs);
    if (this.runsProblem) { slot.append(problemBox(this.runsProblem)); return; }
    if (this.runs === undefined) { slot.append(h("p", { class: "loading" }, "Loading…")); return; }
    if (!this.runs.length) { slot.append(h("p", {}, "No automation rule has run on this case.")); return; }
    const fired = this.runs.filter((run) => run.verdict === "fired").length;
    const failed = this.runs.filter((run) => run.error || (run.outcomes || []).some((o) => o.status === "failed")).length;
    slot.append(h("p", { id: "runs-summary" }, `${this.runs.length} ${this.runs.length === 1 ? "run" : "runs"}: ${fired} fired`,
      failed ? `, ${failed} with failures` : "", "."));
    slot.append(h("ul", { class: "runs" }, this.runs.map((run) => {
      const failedRun = run.error || (run.outcomes || []).some((o) => o.status === "failed");
      return h("li", { class: `run${failedRun ? " failed" : ""}` },
        h("p", {}, h("strong", {}, run.rule_name), " ", h("span", { class: `badge verdict-${run.verdict}` }, humanize(run.verdict)),
          failedRun ? h("span", { class: "badge overdue" }, "Failed") : null),
        h("p", { class: "hint" }, `On ${run.event_type} · ${formatDate(run.finished_at || run.started_at)}`,
          run.condition === true ? " · condition met" : run.condition === false ? " · condition not met" : ""),
        (run.outcomes || []).length ? h("ul", { class: "outcomes" }, run.outcomes.map((o) =>
          h("li", {}, `${humanize(o.type)}: ${o.status}${o.error ? ` — ${o.error}` : ""}`))) : null,
        run.error ? h("p", { class: "field-error" }, run.error) : null);
    })));
  }
}

// The presigned POST: every field of the form, then the file as "file", with upload progress.
function sendForm(target, file, onProgress) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const [name, value] of Object.entries(target.fields || {})) form.append(name, value);
    form.append("file", file);
    const request = new XMLHttpRequest();
    request.open("POST", target.url);
    request.upload.addEventListener("progress", (event) => onProgress(event.loaded, event.lengthComputable ? event.total : file.size));
    request.addEventListener("load", () => {
      if (request.status >= 200 && request.status < 300) { onProgress(file.size, file.size); resolve(); }
      else reject({ title: "The upload was refused", detail: `The storage answered ${request.status}. The file may be too large or of the wrong type.` });
    });
    request.addEventListener("error", () => reject({ title: "The upload failed", detail: "The file could not be sent; check your connection and try again." }));
    request.addEventListener("abort", () => reject({ title: "The upload was stopped" }));
    request.send(form);
  });
}
