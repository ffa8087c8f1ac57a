// Insight's filters: a range of days (or a preset: the last 30, 90 or 365), a grouping, a template, an owner ("me")
// and a team role. They live in the page's address (#/insight/claims?from=…&to=…&by=week&owner=me), so a view can
// be bookmarked and shared.
// Days are UTC days, as the API counts them.
import { t } from "../../i18n.js";
import { fill, h, labelled, problemBox } from "../../ui.js";

export const PRESETS = [30, 90, 365];
const DEFAULT_DAYS = 90;
const DAY = 86_400_000;
const GROUPINGS = ["week", "month", "owner", "role"];
// Made when asked, in the language loaded by then.
const groupings = () => [["week", t("Week")], ["month", t("Month")], ["owner", t("Owner")], ["role", t("Team role")]];
const owners = () => [["", t("Anyone")], ["me", t("Me")]];
const ROLE_KEY = /^[a-z][a-z0-9_]{0,62}$/;

export function today() {
  return new Date().toISOString().slice(0, 10);
}

function daysBefore(day, count) {
  return new Date(Date.parse(`${day}T00:00:00Z`) - count * DAY).toISOString().slice(0, 10);
}

function isDay(value) {
  return /^\d{4}-\d{2}-\d{2}$/.test(value || "") && !Number.isNaN(Date.parse(`${value}T00:00:00Z`));
}

// The last `days` days up to and including today.
export function lastDays(days) {
  const to = today();
  return { from: daysBefore(to, days - 1), to };
}

export function readFilters(query) {
  const to = isDay(query.get("to")) ? query.get("to") : today();
  const from = isDay(query.get("from")) ? query.get("from") : daysBefore(to, DEFAULT_DAYS - 1);
  const by = GROUPINGS.includes(query.get("by")) ? query.get("by") : "week";
  const owner = query.get("owner") === "me" ? "me" : "";
  const role = ROLE_KEY.test(query.get("role") || "") ? query.get("role") : "";
  return { from, to, by, owner, role };
}

export function filterQuery(filters) {
  const { from, to, by, owner, role } = filters;
  return new URLSearchParams({ from, to, by, ...(owner ? { owner } : {}), ...(role ? { role } : {}) }).toString();
}

// A grouping inside a sentence ("Not by owner: …").
export function groupingWord(by) {
  const words = { week: t("week"), month: t("month"), owner: t("owner"), role: t("team role") };
  return words[by] || by;
}

function select(name, options, chosen) {
  return h("select", { name }, options.map(([value, label]) => h("option", { value, selected: value === chosen }, label)));
}

// The filter bar. `onApply(filters)` redraws the reports; `onTemplate(key)` opens another template's insight.
// `roles` ([key, name] of the template's roles, when one is chosen) fill the team role's choices.
export function filterForm({ filters, templates, template, roles = [], onApply, onTemplate }) {
  const picker = select("template", [["", t("All templates")], ...templates.map((item) => [item.key, item.label])], template || "");
  const from = h("input", { type: "date", name: "from", value: filters.from, required: true });
  const to = h("input", { type: "date", name: "to", value: filters.to, required: true });
  const by = select("by", groupings(), filters.by);
  const owner = select("owner", owners(), filters.owner);
  const roleChoices = roles.some(([key]) => key === filters.role) || !filters.role ? roles : [...roles, [filters.role, filters.role]];
  const role = select("role", [["", t("Any team")], ...roleChoices], filters.role);
  const status = h("div", { class: "form-status" });
  const apply = (chosen) => {
    if (chosen.from > chosen.to) {
      fill(status, problemBox({ title: t("The range ends before it starts"), detail: t("Choose a “From” day no later than the “To” day.") }));
      from.focus();
      return;
    }
    fill(status);
    onApply(chosen);
  };
  const current = () => ({ from: from.value, to: to.value, by: by.value, owner: owner.value, role: role.value });
  picker.addEventListener("change", () => onTemplate(picker.value, { ...current(), role: "" }));
  for (const control of [by, owner, role]) control.addEventListener("change", () => apply(current()));
  const presets = PRESETS.map((days) => h("button", { type: "button", "data-preset": days, onclick: () => {
    const range = lastDays(days);
    from.value = range.from;
    to.value = range.to;
    apply(current());
  } }, t("Last {count} days", { count: days })));
  const form = h("form", { class: "toolbar insight-filters", "aria-label": t("Insight filters"), onsubmit: (event) => {
    event.preventDefault();
    if (form.reportValidity()) apply(current());
  } },
  labelled(t("Template"), picker),
  labelled(t("From (UTC day)"), from),
  labelled(t("To (UTC day)"), to),
  labelled(t("Group by"), by),
  labelled(t("Owner"), owner),
  template ? labelled(t("Team role"), role) : null,
  h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, t("Show")), presets));
  return [form, status];
}
