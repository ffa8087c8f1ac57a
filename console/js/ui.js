// Small DOM helpers shared by every view. Text always goes in as text nodes, never as HTML.
import { formatNumber, locale, t } from "./i18n.js";

export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (name === "dataset") {
      Object.assign(element.dataset, value);
    } else if (value === true) {
      element.setAttribute(name, "");
    } else {
      element.setAttribute(name, String(value));
    }
  }
  return appendChildren(element, children);
}

// Children as `h` takes them: nested arrays flattened, and null, undefined or false (a part left out) skipped.
function appendChildren(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

export function clear(element) {
  while (element.firstChild) element.firstChild.remove();
  return element;
}

// Replaces what an element shows.
export function fill(element, ...children) {
  return appendChildren(clear(element), children);
}

export function announce(text) {
  const region = document.getElementById("announcer");
  region.textContent = "";
  window.setTimeout(() => { region.textContent = text; }, 50);
}

// The short reference people quote, as the API's search understands it: the id's last eight characters.
export function caseReference(caseId) {
  const tail = String(caseId).slice(-8).toUpperCase();
  return `${tail.slice(0, 4)}-${tail.slice(4)}`;
}

// One formatter, and each value formatted once: toLocaleString() builds a formatter per call, which a board of
// 500 cards feels, and many cases share a deadline (the end of a business day).
// Made at first use, after the language is known (i18n.js).
let dateTimeFormat = null;
const formattedDates = new Map();

export function formatDate(value) {
  if (!value) return "";
  const key = value instanceof Date ? value.getTime() : value;
  let text = formattedDates.get(key);
  if (text === undefined) {
    const date = new Date(value);
    dateTimeFormat ??= new Intl.DateTimeFormat(locale(), { dateStyle: "medium", timeStyle: "short" });
    text = Number.isNaN(date.getTime()) ? String(date) : dateTimeFormat.format(date);
    if (formattedDates.size > 5000) formattedDates.clear();
    formattedDates.set(key, text);
  }
  return text;
}

export function formatDay(value) {
  if (!value) return "";
  return new Date(value).toLocaleDateString(locale(), { dateStyle: "medium" });
}

// A calendar day as the API keeps it (YYYY-MM-DD), shown as that day wherever the reader is.
export function formatLocalDay(value) {
  if (!value) return "";
  const [y, m, d] = String(value).split("-").map(Number);
  if (!y || !m || !d) return String(value);
  return new Date(y, m - 1, d).toLocaleDateString(locale(), { dateStyle: "medium" });
}

export function formatSize(bytes) {
  if (bytes == null) return "";
  const units = ["byte", "kilobyte", "megabyte", "gigabyte"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
  return formatNumber(value, { style: "unit", unit: units[unit], unitDisplay: "short", maximumFractionDigits: unit && value < 10 ? 1 : 0 });
}

// A key as words: "business_days" → "Business days", "case.opened" → "Case opened".
export function humanize(value) {
  const text = String(value ?? "").replace(/[_.]/g, " ").trim();
  return text ? text[0].toUpperCase() + text.slice(1) : "";
}

// An event type's name ("case.opened" → "Case opened"); a type this console does not know reads as its key in words.
export function eventName(type) {
  const names = {
    "case.opened": t("Case opened"),
    "case.fields_changed": t("Case fields changed"),
    "case.stage_changed": t("Case stage changed"),
    "case.assigned": t("Case assigned"),
    "case.role_assigned": t("Case role assigned"),
    "case.closed": t("Case closed"),
    "case.cancelled": t("Case cancelled"),
    "case.reopened": t("Case reopened"),
    "case.migrated": t("Case migrated"),
    "task.created": t("Task created"),
    "task.completed": t("Task completed"),
    "task.reopened": t("Task reopened"),
    "task.assigned": t("Task assigned"),
    "participant.added": t("Participant added"),
    "participant.role_changed": t("Participant role changed"),
    "participant.removed": t("Participant removed"),
    "participant.language_changed": t("Participant language changed"),
    "document.added": t("Document added"),
    "document.requested": t("Document requested"),
    "decision.recorded": t("Decision recorded"),
    "comment.added": t("Comment added"),
    "sla.breached": t("SLA breached"),
    "sla.warning": t("SLA warning"),
    "timer.fired": t("Timer fired"),
    "automation.ran": t("Automation ran"),
    "automation.refused": t("Automation refused"),
    "portal.link_issued": t("Portal link issued"),
    "portal.link_revoked": t("Portal link revoked"),
    "template.published": t("Template published"),
    "timeline.exported": t("Timeline exported"),
    "personal_data.erased": t("Personal data erased"),
  };
  return names[type] || humanize(type);
}

// Where a stage may move forward to: its `next`, or the stage after it in the template's list.
// A template's name for pickers; two templates may share a name, and then their keys tell them apart.
export function templateNamer(templates) {
  const shared = new Set(templates.map((each) => each.name).filter((name, i, names) => names.indexOf(name) !== i));
  return (each) => (shared.has(each.name) ? `${each.name} (${each.key})` : each.name);
}

export function forwardStages(definition, stageKey) {
  const index = definition.stages.findIndex((stage) => stage.key === stageKey);
  if (index < 0) return [];
  const stage = definition.stages[index];
  if (Array.isArray(stage.next)) return stage.next;
  return index + 1 < definition.stages.length ? [definition.stages[index + 1].key] : [];
}

// How a case stands against its stage's deadline: on track, at risk (four fifths of the time gone), breached.
export function slaState(caseItem, now = Date.now()) {
  if (caseItem.status !== "open" || !caseItem.stage_due_at) return null;
  const due = Date.parse(caseItem.stage_due_at);
  const entered = Date.parse(caseItem.stage_entered_at);
  if (now >= due) return "breached";
  if (now >= entered + (due - entered) * 0.8) return "at-risk";
  return "on-track";
}

// A case's status ("open", "closed", "cancelled", as the API keeps it) in words.
export function statusName(status) {
  if (status === "open") return t("open");
  if (status === "closed") return t("closed");
  return status === "cancelled" ? t("cancelled") : status;
}

function slaLabel(state) {
  if (state === "breached") return t("Breached");
  return state === "at-risk" ? t("At risk") : t("On track");
}

export function slaBadge(caseItem, now = Date.now()) {
  const state = slaState(caseItem, now);
  if (!state) return null;
  return h("span", { class: `badge sla-${state}`, title: t("Stage due {date}", { date: formatDate(caseItem.stage_due_at) }) },
    slaLabel(state));
}

// A problem+json answer shown to a person: its title and detail, each field error, each unmet criterion.
export function problemBox(problem) {
  const box = h("div", { class: "problem", role: "alert" },
    h("p", { class: "problem-title" }, problem.title || t("Something went wrong")),
    problem.detail ? h("p", {}, problem.detail) : null);
  const unmet = problem.unmet || [];
  if (unmet.length) box.append(h("ul", { class: "unmet" }, unmet.map((item) => h("li", {}, item.description))));
  const errors = problem.errors || [];
  if (errors.length) {
    box.append(h("ul", {}, errors.map((error) => h("li", {}, `${error.pointer || ""} ${error.detail}`.trim()))));
  }
  return box;
}

// Puts each field error next to the input whose data-pointer names it; returns the errors no input took.
export function showFieldErrors(form, problem) {
  for (const old of form.querySelectorAll(".field-error")) old.remove();
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  const left = [];
  for (const error of problem.errors || []) {
    const input = [...form.querySelectorAll("[data-pointer]")].find(
      (candidate) => error.pointer === candidate.dataset.pointer || error.pointer?.startsWith(`${candidate.dataset.pointer}/`));
    if (!input) { left.push(error); continue; }
    const message = h("p", { class: "field-error", id: `${input.id}-error` }, error.detail);
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", message.id);
    input.closest(".field")?.append(message) ?? input.after(message);
  }
  form.querySelector("[aria-invalid]")?.focus();
  return left;
}

// An accessible modal dialog built on <dialog>; resolves with the form's values, or null when cancelled.
export function dialog(title, body, { submitLabel = t("Save"), onSubmit } = {}) {
  return new Promise((resolve) => {
    const form = h("form", { method: "dialog", class: "dialog-form" });
    const status = h("div", { class: "dialog-status" });
    const element = h("dialog", { "aria-labelledby": "dialog-title" },
      h("h2", { id: "dialog-title" }, title), form);
    const submit = h("button", { type: "submit", class: "primary" }, submitLabel);
    form.append(body, status, h("div", { class: "actions" },
      submit,
      h("button", { type: "button", onclick: () => { element.close(); } }, t("Cancel"))));
    // while onSubmit runs the submit button is disabled and a second submit ignored,
    // so a double click cannot send the request twice
    let busy = false;
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (busy) return;
      const values = Object.fromEntries(new FormData(form).entries());
      if (onSubmit) {
        busy = true;
        submit.disabled = true;
        try {
          await onSubmit(values, form);
        } catch (problem) {
          busy = false;
          submit.disabled = false;
          const left = showFieldErrors(form, problem);
          fill(status, problemBox({ ...problem, errors: left }));
          return;
        }
      }
      element.close();
      resolve(values);
    });
    element.addEventListener("close", () => { element.remove(); resolve(null); });
    document.body.append(element);
    element.showModal();
  });
}

let idCounter = 0;
// An id for an element that needs one (a label's `for`, a hint's `aria-describedby`).
export function uid(prefix = "b") {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

// Text only screen readers read, e.g. which row a button acts on.
export function visuallyHidden(text) {
  return h("span", { class: "visually-hidden" }, text);
}

// A labelled control in a .field wrapper; the hint (and "Required.") is tied to it by aria-describedby, and
// `pointer` is the JSON Pointer of the value it edits, where showFieldErrors puts that value's errors.
export function labelled(label, control, { hint, required, pointer, className } = {}) {
  control.id ||= uid("in");
  if (pointer !== undefined) control.dataset.pointer = pointer;
  const hintText = [hint, required ? t("Required.") : null].filter(Boolean).join(" ");
  const hintElement = hintText ? h("p", { class: "hint", id: `${control.id}-hint` }, hintText) : null;
  if (hintElement) control.setAttribute("aria-describedby", hintElement.id);
  if (required) control.setAttribute("aria-required", "true");
  return h("div", { class: `field${className ? ` ${className}` : ""}` },
    h("label", { for: control.id }, label), control, hintElement);
}

export function field(label, control, hint) {
  const id = control.id || `f-${Math.random().toString(36).slice(2)}`;
  control.id = id;
  return h("div", { class: "field" }, h("label", { for: id }, label), control,
    hint ? h("p", { class: "hint" }, hint) : null);
}

export function loading(main, text = t("Loading…")) {
  fill(main, h("p", { class: "loading", role: "status" }, text));
}
