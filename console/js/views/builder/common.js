// Shared pieces of the template builder: JSON Pointers, inputs bound to the definition, lists, issue placement.
import { locale, t } from "../../i18n.js";
import { h, labelled, uid } from "../../ui.js";

// Field types as the API names them, with the words the builder shows (made when asked, in the language loaded).
export const fieldTypes = () => [["text", t("Text")], ["long_text", t("Long text")], ["number", t("Number")],
  ["money", t("Money")], ["date", t("Date")], ["datetime", t("Date and time")], ["enum", t("Choice")],
  ["multi_enum", t("Multiple choice")], ["boolean", t("Yes or no")], ["email", t("E-mail")], ["phone", t("Phone")],
  ["party", t("Party")], ["file", t("File")]];
const durationUnits = () => [["minutes", t("minutes")], ["hours", t("hours")], ["days", t("days")],
  ["business_hours", t("business hours")], ["business_days", t("business days")]];
export const PERMISSIONS = ["case.view", "case.transition", "case.override", "case.assign", "case.close",
  "case.reopen", "task.manage", "task.complete", "participant.manage", "document.upload", "document.view",
  "comment.internal", "comment.external"];
// What each permission lets a role do, in words.
export const permissionNames = () => ({
  "case.view": t("View the case"), "case.transition": t("Move to the next stage"), "case.override": t("Override the stage rules"),
  "case.assign": t("Assign the case"), "case.close": t("Close the case"), "case.reopen": t("Reopen the case"),
  "task.manage": t("Manage tasks"), "task.complete": t("Complete tasks"), "participant.manage": t("Manage participants"),
  "document.upload": t("Upload documents"), "document.view": t("View documents"), "comment.internal": t("Comment internally"),
  "comment.external": t("Comment to outside parties"),
});
export const EXTERNAL_PERMISSIONS = ["case.view", "task.complete", "document.upload", "document.view", "comment.external"];
// Events about a case (what a portal timeline may show) and those rules may run on: the catalogue's CASE_EVENTS and
// RULE_TRIGGERS (caseline_common/event_types.py; a unit test keeps them equal).
export const RULE_TRIGGERS = ["case.opened", "case.fields_changed", "case.stage_changed", "case.assigned",
  "case.closed", "case.cancelled", "case.reopened", "case.migrated", "task.created", "task.completed",
  "task.reopened", "task.assigned", "participant.added", "participant.role_changed", "participant.removed",
  "document.added", "document.requested", "decision.recorded", "comment.added", "sla.breached", "sla.warning",
  "timer.fired", "case.role_assigned", "automation.ran", "automation.refused"];
export const CASE_EVENTS = [...RULE_TRIGGERS, "portal.link_issued", "portal.link_revoked"];
// Monday to Sunday (ISO days 1 to 7) in the person's language: 1 January 2024 was a Monday.
export function weekdays() {
  const format = new Intl.DateTimeFormat(locale(), { weekday: "long", timeZone: "UTC" });
  return [0, 1, 2, 3, 4, 5, 6].map((offset) => format.format(Date.UTC(2024, 0, 1 + offset)));
}

// RFC 6901: "~" is "~0" and "/" is "~1" inside a step.
export function ptr(...steps) {
  return steps.map((step) => `/${String(step).replaceAll("~", "~0").replaceAll("/", "~1")}`).join("");
}

function setOrDelete(target, key, value, nullable) {
  if (value === undefined) {
    if (nullable) target[key] = null;
    else delete target[key];
  } else {
    target[key] = value;
  }
}

// A text input bound to target[key]. Empty text is null (or absent with nullable: false).
export function textInput(ctx, label, target, key, pointer, options = {}) {
  const { hint, type = "text", nullable = true, multiline = false, onChange, required, placeholder, list,
    autocomplete = "off" } = options;
  const current = target[key];
  const control = multiline
    ? h("textarea", { rows: 3, required, placeholder })
    : h("input", { type, required, placeholder, list, autocomplete, spellcheck: type === "text" ? "false" : undefined });
  control.value = current === null || current === undefined ? "" : String(current);
  control.addEventListener("input", () => {
    const value = control.value === "" ? undefined : control.value;
    setOrDelete(target, key, value, nullable);
    ctx.touch();
  });
  if (onChange) control.addEventListener("change", () => onChange(control.value));
  return labelled(label, control, { hint, pointer });
}

// A number input bound to target[key]; empty is null/absent, otherwise a number.
export function numberInput(ctx, label, target, key, pointer, { hint, nullable = true, min, max, step = "any" } = {}) {
  const control = h("input", { type: "number", min, max, step, inputmode: "decimal" });
  control.value = target[key] === null || target[key] === undefined ? "" : String(target[key]);
  control.addEventListener("input", () => {
    const value = control.value === "" ? undefined : Number(control.value);
    setOrDelete(target, key, Number.isNaN(value) ? control.value : value, nullable);
    ctx.touch();
  });
  return labelled(label, control, { hint, pointer });
}

export function checkbox(ctx, label, target, key, pointer, { defaultValue = false, onChange, hint } = {}) {
  const control = h("input", { type: "checkbox", id: uid("cb") });
  control.checked = target[key] === undefined || target[key] === null ? defaultValue : Boolean(target[key]);
  if (pointer !== undefined) control.dataset.pointer = pointer;
  control.addEventListener("change", () => {
    target[key] = control.checked;
    ctx.touch();
    if (onChange) onChange(control.checked);
  });
  const hintId = hint ? `${control.id}-hint` : null;
  if (hintId) control.setAttribute("aria-describedby", hintId);
  return h("div", { class: "field choice-field" },
    h("div", { class: "choice" }, control, h("label", { for: control.id }, label)),
    hint ? h("p", { class: "hint", id: hintId }, hint) : null);
}

// A select of [value, text] pairs bound to target[key]; "" means null/absent.
export function selectInput(ctx, label, target, key, pointer, choices, { hint, nullable = true, onChange } = {}) {
  const control = h("select", {});
  const current = target[key] === null || target[key] === undefined ? "" : String(target[key]);
  const values = choices.map(([value]) => String(value));
  if (current && !values.includes(current)) choices = [...choices, [current, t("{name} (unknown)", { name: current })]];
  for (const [value, text] of choices) {
    control.append(h("option", { value, selected: String(value) === current }, text));
  }
  control.addEventListener("change", () => {
    setOrDelete(target, key, control.value === "" ? undefined : control.value, nullable);
    ctx.touch();
    if (onChange) onChange(control.value);
  });
  return labelled(label, control, { hint, pointer });
}

// A list of strings edited as text: one per line (multiline) or separated by commas.
export function listInput(ctx, label, target, key, pointer, { hint, multiline = false, nullable = false, parse } = {}) {
  const current = Array.isArray(target[key]) ? target[key] : [];
  const control = multiline ? h("textarea", { rows: Math.max(3, current.length + 1) }) : h("input", { type: "text", autocomplete: "off" });
  control.value = current.join(multiline ? "\n" : ", ");
  control.addEventListener("input", () => {
    const items = control.value.split(multiline ? /\n/ : /,/).map((item) => item.trim()).filter(Boolean)
      .map((item) => (parse ? parse(item) : item));
    if (!items.length && nullable) target[key] = null;
    else target[key] = items;
    ctx.touch();
  });
  return labelled(label, control, { hint: hint || (multiline ? t("One per line.") : t("Separate with commas.")), pointer });
}

// Checkboxes choosing members of a list of keys (stages, roles, fields); unknown members stay listed.
export function keyChecklist(ctx, legend, target, key, pointer, choices, { nullable = false, onChange, hint } = {}) {
  const chosen = () => (Array.isArray(target[key]) ? target[key] : []);
  const all = [...choices];
  for (const value of chosen()) {
    if (!all.some(([choice]) => choice === value)) all.push([value, t("{name} (unknown)", { name: value })]);
  }
  const box = h("fieldset", { class: "field checklist" }, h("legend", {}, legend));
  if (hint) box.append(h("p", { class: "hint" }, hint));
  if (!all.length) box.append(h("p", { class: "hint" }, t("Nothing to choose from yet.")));
  const list = h("div", { class: "checklist-items" });
  for (const [value, text] of all) {
    const control = h("input", { type: "checkbox", id: uid("ck"), value });
    control.checked = chosen().includes(value);
    const index = chosen().indexOf(value);
    if (index >= 0) control.dataset.pointer = `${pointer}/${index}`;
    control.addEventListener("change", () => {
      const next = chosen().filter((item) => item !== value);
      if (control.checked) {
        // Keep the order of the choices, so the JSON follows the order people see.
        const order = all.map(([choice]) => choice);
        next.push(value);
        next.sort((a, b) => order.indexOf(a) - order.indexOf(b));
      }
      target[key] = !next.length && nullable ? null : next;
      ctx.touch();
      if (onChange) onChange();
    });
    list.append(h("div", { class: "choice" }, control, h("label", { for: control.id }, text)));
  }
  box.append(list);
  // The list itself, for mistakes about the whole list.
  const anchor = list.querySelector("input") || h("span", { tabindex: "-1", class: "visually-hidden" }, legend);
  if (!anchor.dataset.pointer) anchor.dataset.pointer = pointer;
  else box.dataset.listPointer = pointer;
  if (!list.querySelector("input")) box.append(anchor);
  return box;
}

// A duration {amount, unit} or null, as an amount and a unit side by side.
export function durationInput(ctx, label, target, key, pointer, { hint } = {}) {
  const current = target[key] || null;
  const amount = h("input", { type: "number", min: 1, max: 100000, step: 1, id: uid("dur"), inputmode: "numeric" });
  amount.dataset.pointer = `${pointer}/amount`;
  amount.value = current ? String(current.amount ?? "") : "";
  const unit = h("select", { id: uid("unit") }, durationUnits().map(([value, words]) =>
    h("option", { value, selected: (current?.unit || "business_days") === value }, words)));
  unit.dataset.pointer = `${pointer}/unit`;
  const write = () => {
    if (amount.value === "") target[key] = null;
    else target[key] = { amount: Number(amount.value), unit: unit.value };
    ctx.touch();
  };
  amount.addEventListener("input", write);
  unit.addEventListener("change", write);
  const legendId = uid("lg");
  return h("fieldset", { class: "field duration", "aria-describedby": hint ? `${legendId}-hint` : undefined },
    h("legend", { id: legendId }, label),
    h("div", { class: "inline" },
      h("div", { class: "field" }, h("label", { for: amount.id }, t("Amount")), amount),
      h("div", { class: "field" }, h("label", { for: unit.id }, t("Unit")), unit)),
    hint ? h("p", { class: "hint", id: `${legendId}-hint` }, hint) : null);
}

// Buttons that move or remove item `index` of `list`; `pointerOf(index)` names what to focus afterwards and
// `itemName(number)` the item in words ("field 2").
export function itemTools(ctx, list, index, itemName, pointerOf) {
  const item = itemName(index + 1);
  const move = (delta) => {
    const to = index + delta;
    if (to < 0 || to >= list.length) return;
    const [moved] = list.splice(index, 1);
    list.splice(to, 0, moved);
    ctx.touch();
    ctx.render({ focus: `[data-tool="${pointerOf(to)}:${delta < 0 ? "up" : "down"}"]`,
      fallback: `[data-tool="${pointerOf(to)}:${delta < 0 ? "down" : "up"}"]` });
    ctx.say(t("Moved {item} to position {position} of {count}.", { item, position: to + 1, count: list.length }));
  };
  return h("div", { class: "item-tools" },
    h("button", { type: "button", disabled: index === 0, "data-tool": `${pointerOf(index)}:up`,
      "aria-label": t("Move up {item}", { item }), onclick: () => move(-1) }, t("Move up")),
    h("button", { type: "button", disabled: index === list.length - 1, "data-tool": `${pointerOf(index)}:down`,
      "aria-label": t("Move down {item}", { item }), onclick: () => move(1) }, t("Move down")),
    h("button", { type: "button", class: "danger", "data-tool": `${pointerOf(index)}:remove`,
      "aria-label": t("Remove {item}", { item }),
      onclick: () => {
        list.splice(index, 1);
        ctx.touch();
        ctx.render({ focus: `[data-add="${pointerOf(index).replace(/\/\d+$/, "")}"]` });
        ctx.say(t("Removed {item}.", { item }));
      } }, t("Remove")));
}

export function addButton(ctx, text, pointer, onAdd) {
  return h("button", { type: "button", class: "add", "data-add": pointer, onclick: () => {
    const focus = onAdd();
    ctx.touch();
    ctx.render({ focus });
  } }, text);
}

// Puts each issue next to the control whose data-pointer names it most precisely; answers what no control took.
export function placeIssues(root, issues, { focus = false } = {}) {
  for (const old of root.querySelectorAll(".field-error")) old.remove();
  for (const input of root.querySelectorAll("[aria-invalid]")) {
    input.removeAttribute("aria-invalid");
    const described = (input.getAttribute("aria-describedby") || "").split(" ").filter((id) => !id.endsWith("-error"));
    if (described.length) input.setAttribute("aria-describedby", described.join(" "));
    else input.removeAttribute("aria-describedby");
  }
  const candidates = [...root.querySelectorAll("[data-pointer]")];
  const left = [];
  let first = null;
  for (const issue of issues || []) {
    const pointer = issue.pointer || "";
    let best = null;
    for (const candidate of candidates) {
      const own = candidate.dataset.pointer;
      if ((pointer === own || pointer.startsWith(`${own}/`)) && (!best || own.length > best.dataset.pointer.length)) {
        best = candidate;
      }
    }
    if (!best) { left.push(issue); continue; }
    if (!best.id) best.id = uid("in");
    const detail = pointer === best.dataset.pointer ? issue.detail
      : t("{detail} (at {path})", { detail: issue.detail, path: pointer.slice(best.dataset.pointer.length + 1) });
    const message = h("p", { class: "field-error", id: `${best.id}-error${uid("")}` }, detail);
    best.setAttribute("aria-invalid", "true");
    const described = (best.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    best.setAttribute("aria-describedby", [...described, message.id].join(" "));
    const host = best.closest(".field, .cb-row, .issue-host");
    if (host) host.append(message);
    else best.after(message);
    first = first || best;
  }
  if (focus && first) first.focus();
  return left;
}

export function keysOf(list) {
  return (list || []).map((item) => item.key).filter(Boolean);
}

export function choicesOf(list, labelKey = "name") {
  return (list || []).filter((item) => item.key).map((item) => [item.key, item[labelKey] ? `${item[labelKey]} (${item.key})` : item.key]);
}
