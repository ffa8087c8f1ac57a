// Small DOM helpers shared by every view. Text always goes in as text nodes, never as HTML.

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

export function formatDate(value) {
  if (!value) return "";
  const date = new Date(value);
  return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export function formatDay(value) {
  if (!value) return "";
  return new Date(value).toLocaleDateString(undefined, { dateStyle: "medium" });
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

const SLA_LABELS = { "on-track": "On track", "at-risk": "At risk", breached: "Breached" };

export function slaBadge(caseItem, now = Date.now()) {
  const state = slaState(caseItem, now);
  if (!state) return null;
  return h("span", { class: `badge sla-${state}`, title: `Stage due ${formatDate(caseItem.stage_due_at)}` },
    SLA_LABELS[state]);
}

// A problem+json answer shown to a person: its title and detail, each field error, each unmet criterion.
export function problemBox(problem) {
  const box = h("div", { class: "problem", role: "alert" },
    h("p", { class: "problem-title" }, problem.title || "Something went wrong"),
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
export function dialog(title, body, { submitLabel = "Save", onSubmit } = {}) {
  return new Promise((resolve) => {
    const form = h("form", { method: "dialog", class: "dialog-form" });
    const status = h("div", { class: "dialog-status" });
    const element = h("dialog", { "aria-labelledby": "dialog-title" },
      h("h2", { id: "dialog-title" }, title), form);
    form.append(body, status, h("div", { class: "actions" },
      h("button", { type: "submit", class: "primary" }, submitLabel),
      h("button", { type: "button", onclick: () => { element.close(); } }, "Cancel")));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const values = Object.fromEntries(new FormData(form).entries());
      if (onSubmit) {
        try {
          await onSubmit(values, form);
        } catch (problem) {
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

export function field(label, control, hint) {
  const id = control.id || `f-${Math.random().toString(36).slice(2)}`;
  control.id = id;
  return h("div", { class: "field" }, h("label", { for: id }, label), control,
    hint ? h("p", { class: "hint" }, hint) : null);
}

export function loading(main, text = "Loading…") {
  fill(main, h("p", { class: "loading", role: "status" }, text));
}
