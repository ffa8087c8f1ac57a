// The search box, the filters with their counts (the search engine's facets), the sort and the columns.
// Typing searches after a pause; every other control applies at once.
import { t, tn } from "../../i18n.js";
import { personName, subjectOf } from "../../people.js";
import { fill, h, templateNamer } from "../../ui.js";
import { COLUMNS, DEFAULT_COLUMNS, SORTS } from "./query.js";

const TYPING_PAUSE_MS = 250;
const STATUSES = ["open", "closed", "cancelled"];

function statusLabel(status) {
  if (status === "open") return t("Open");
  return status === "closed" ? t("Closed") : t("Cancelled");
}

function control(label, element, hint) {
  const hintElement = hint ? h("p", { class: "hint", id: `${element.id}-hint` }, hint) : null;
  if (hintElement) element.setAttribute("aria-describedby", hintElement.id);
  return h("div", { class: "field" }, h("label", { for: element.id }, label), element, hintElement);
}

function option(value, label, selected) {
  return h("option", { value, selected: value === selected, dataset: { label } }, label);
}

// A select's options labelled with their counts, "Open (12)"; an option the facet does not name keeps its label.
function count(select, values) {
  const counts = new Map((values || []).map((facet) => [facet.value, facet.count]));
  for (const each of select.options) {
    if (!each.value) continue;
    const found = counts.get(each.value);
    each.textContent = found === undefined ? each.dataset.label : `${each.dataset.label} (${found})`;
  }
}

export function caseFilters({ state, templates, definitionOf, onChange }) {
  let stageKeys = [];
  const search = h("input", { id: "case-search", name: "q", type: "search", value: state.q, autocomplete: "off",
    maxlength: 200, dataset: { pointer: "/q" } });
  const templateName = templateNamer(templates);
  const template = h("select", { id: "filter-template", name: "template_key", dataset: { pointer: "/template_key" } },
    h("option", { value: "" }, t("Any template")),
    templates.map((each) => option(each.key, templateName(each), state.template_key)));
  const stage = h("select", { id: "filter-stage", name: "stage", dataset: { pointer: "/stage" } });
  const status = h("select", { id: "filter-status", name: "status", dataset: { pointer: "/status" } },
    h("option", { value: "" }, t("Any status")), STATUSES.map((value) => option(value, statusLabel(value), state.status)));
  const owners = h("datalist", { id: "filter-owner-options" });
  // The field shows a person's name, the filter keeps their subject: each name offered (with the subject when two
  // people share it) → the subject it stands for.
  let ownerChoices = new Map(state.owner ? [[personName(state.owner), state.owner]] : []);
  const owner = h("input", { id: "filter-owner", name: "owner", type: "text", value: personName(state.owner), autocomplete: "off",
    spellcheck: "false", list: owners.id, dataset: { pointer: "/owner" } });
  const sort = h("select", { id: "case-sort", name: "sort", dataset: { pointer: "/sort" } });
  const columns = COLUMNS.map(([key, label]) => h("label", { class: "case-column-choice" },
    h("input", { type: "checkbox", name: "columns", value: key, checked: state.columns.includes(key),
      disabled: key === "title" }), ` ${label()}`, h("span", { class: "visually-hidden" }, " ", t("column"))));

  function ownerSubject() {
    const text = owner.value.trim();
    return ownerChoices.get(text) ?? subjectOf(text);
  }

  // The owner chosen, by the name it is offered under (a subject typed in becomes the name too).
  function ownerChosen() {
    const subject = ownerSubject();
    const shown = [...ownerChoices].find(([, each]) => each === subject)?.[0] ?? personName(subject);
    ownerChoices.set(shown, subject);
    owner.value = shown;
    return subject;
  }

  function fillSort() {
    fill(sort, SORTS.filter(([key]) => key !== "relevance" || search.value.trim())
      .map(([key, label]) => option(key, label(), state.sort)));
  }

  async function fillStages() {
    const definition = template.value ? await definitionOf(template.value) : null;
    const chosen = definition ? definition.stages.map((each) => [each.key, each.name])
      : stageKeys.map((key) => [key, key]);
    if (state.stage && !chosen.some(([key]) => key === state.stage)) chosen.push([state.stage, state.stage]);
    fill(stage, h("option", { value: "" }, t("Any stage")), chosen.map(([key, label]) => option(key, label, state.stage)));
  }

  function changed(changes) {
    Object.assign(state, changes);
    onChange();
  }

  let typing = null;
  search.addEventListener("input", () => {
    window.clearTimeout(typing);
    typing = window.setTimeout(() => {
      const q = search.value.trim();
      if (q === state.q) return;
      // Words sort by relevance unless another order was chosen; without words relevance means nothing.
      const sortBy = q && !state.q && state.sort === "updated" ? "relevance" : !q && state.sort === "relevance"
        ? "updated" : state.sort;
      state.sort = sortBy;
      fillSort();
      changed({ q });
    }, TYPING_PAUSE_MS);
  });
  template.addEventListener("change", async () => {
    state.stage = "";
    await fillStages();
    changed({ template_key: template.value });
  });
  stage.addEventListener("change", () => changed({ stage: stage.value }));
  status.addEventListener("change", () => changed({ status: status.value }));
  owner.addEventListener("change", () => changed({ owner: ownerChosen() }));
  sort.addEventListener("change", () => changed({ sort: sort.value }));
  for (const box of columns.map((label) => label.querySelector("input"))) {
    box.addEventListener("change", () => {
      const chosen = COLUMNS.map(([key]) => key).filter((key) =>
        columns.some((label) => label.querySelector("input").value === key && label.querySelector("input").checked));
      changed({ columns: chosen.length ? chosen : [...DEFAULT_COLUMNS] });
    });
  }

  const form = h("form", { class: "case-filters", role: "search", "aria-label": t("Search and filter cases") },
    h("div", { class: "toolbar" },
      h("div", { class: "field case-search-field" }, h("label", { for: search.id }, t("Search")), search,
        h("p", { class: "hint", id: "case-search-hint" },
          t("Titles, references, field values, people, comments, file names and decisions; results appear as you type."))),
      control(t("Template"), template),
      control(t("Stage"), stage),
      control(t("Status"), status),
      h("div", { class: "field" }, h("label", { for: owner.id }, t("Owner")), owner, owners,
        h("p", { class: "hint", id: "filter-owner-hint" }, t("The owner's name, e-mail address or user id."))),
      control(t("Sort by"), sort),
      h("div", { class: "actions case-filter-actions" },
        h("button", { type: "submit", class: "primary" }, t("Search")),
        h("a", { href: "#/cases", class: "button" }, t("Clear filters")))),
    h("details", { class: "case-columns-picker" }, h("summary", {}, t("Columns")),
      h("fieldset", {}, h("legend", { class: "visually-hidden" }, t("Columns shown")), columns)));
  search.setAttribute("aria-describedby", "case-search-hint");
  owner.setAttribute("aria-describedby", "filter-owner-hint");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    window.clearTimeout(typing);
    const q = search.value.trim();
    if (q && !state.q && state.sort === "updated") state.sort = "relevance";
    fillSort();
    changed({ q, owner: ownerChosen() });
  });
  fillSort();
  const ready = fillStages();

  return {
    form,
    ready,
    // The counts of the cases the query finds, by value, beside each filter's options.
    async showFacets(facets) {
      count(template, facets.template_key);
      count(status, facets.status);
      if (!template.value) {
        stageKeys = (facets.stage || []).map((facet) => facet.value);
        await fillStages();
      }
      count(stage, facets.stage);
      const named = (facets.owner || []).map((facet) => ({ ...facet, name: personName(facet.value) }));
      const shared = new Set(named.map((each) => each.name).filter((name, i, names) => names.indexOf(name) !== i));
      const offered = named.map((each) => ({ ...each, text: shared.has(each.name) ? `${each.name} (${each.value})` : each.name }));
      ownerChoices = new Map([...ownerChoices, ...offered.map((each) => [each.text, each.value])]);
      fill(owners, offered.map((each) =>
        h("option", { value: each.text, label: tn("{count} case", "{count} cases", each.count) })));
    },
  };
}
