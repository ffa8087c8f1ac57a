// What the case page's sections share: how a refusal reads, a section's frame, small controls, and running an
// action with its button disabled and its outcome announced.
import { ApiProblem } from "../../api.js";
import { t } from "../../i18n.js";
import { personName } from "../../people.js";
import { announce, clear, h, problemBox, uid } from "../../ui.js";

export function toProblem(error) {
  if (error instanceof ApiProblem) return error;
  if (error && (error.title || error.detail)) return error;
  return { title: t("Something went wrong"), detail: error?.message || String(error) };
}

export function section(key, title, ...content) {
  return h("section", { class: "panel case-section", id: `case-${key}`, "aria-labelledby": `case-${key}-title` },
    h("h2", { id: `case-${key}-title`, tabindex: "-1" }, title), ...content);
}

export function checkbox(label, attributes = {}) {
  const input = h("input", { type: "checkbox", id: uid("cb"), ...attributes });
  return { input, element: h("div", { class: "choice" }, input, h("label", { for: input.id }, label)) };
}

export function select(options, attributes = {}, selected) {
  return h("select", attributes, options.map(([value, label]) =>
    h("option", { value, selected: value === selected }, label)));
}

export function tableWrap(table) {
  return h("div", { class: "table-wrap" }, table);
}

// Runs an action: disables its button, shows a refusal in `status`, announces the outcome.
export async function attempt(status, button, work, success) {
  if (status) clear(status);
  if (button) button.disabled = true;
  try {
    const result = await work();
    if (success) announce(typeof success === "function" ? success(result) : success);
    return { ok: true, result };
  } catch (error) {
    const problem = toProblem(error);
    if (status) status.append(problemBox(problem));
    const title = problem.title || t("Something went wrong");
    announce(problem.detail ? `${title}: ${problem.detail}` : title);
    return { ok: false, problem };
  } finally {
    if (button) button.disabled = false;
  }
}

// Who did something, in words: an event's actor, or what set an automation run off. Staff by name; an external
// participant by name and role where the case page shows them (`page`), else as neutrally as the event has them.
export function actorText(actor, page) {
  if (!actor) return "";
  if (actor.kind === "user") return t("{name} (staff)", { name: personName(actor.id) });
  const external = actor.kind === "external" ? page?.externalName(actor.id) : null;
  if (external) return external;
  const who = actor.display_name || actor.id;
  if (actor.kind === "external") return t("{name} (external participant)", { name: who });
  if (actor.kind === "automation") return t("{name} (automation)", { name: who });
  if (actor.kind === "client") return t("{name} (API client)", { name: who });
  if (actor.kind === "system") return t("{name} (system)", { name: who });
  return `${who} (${actor.kind})`;
}
