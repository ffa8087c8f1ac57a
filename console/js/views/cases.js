// The list of cases: filters and search kept in the URL (so a view can be shared) and answered by the API,
// "Load more" by cursor, and saved views kept in this browser.
import { api } from "../api.js";
import { navigate } from "../router.js";
import { announce, caseReference, clear, field, fill, formatDate, h, loading, problemBox, showFieldErrors, slaBadge } from "../ui.js";

const SAVED_VIEWS = "caseline.savedViews";
const FILTERS = ["q", "template_key", "stage", "status", "owner", "updated_since"];
const PAGE_TARGET = 25; // fetch pages until this many cases arrived (searched pages may come back short)
const MAX_REQUESTS_PER_LOAD = 10;

const definitions = new Map(); // template key → latest definition, for stage names

export function register(route) {
  route("/cases", listCases, { nav: "cases" });
}

function readSaved() {
  try {
    const views = JSON.parse(localStorage.getItem(SAVED_VIEWS) || "[]");
    return Array.isArray(views) ? views.filter((view) => view && typeof view.name === "string") : [];
  } catch {
    return [];
  }
}

function writeSaved(views) {
  localStorage.setItem(SAVED_VIEWS, JSON.stringify(views));
}

// The URL keeps the day a person picked; the API wants an RFC 3339 instant: that day's local midnight.
function sinceParam(day) {
  if (!day) return undefined;
  if (!/^\d{4}-\d\d-\d\d$/.test(day)) return day;
  const midnight = new Date(`${day}T00:00:00`);
  return Number.isNaN(midnight.getTime()) ? day : midnight.toISOString();
}

function filtersFrom(query) {
  const filters = {};
  for (const name of FILTERS) {
    const value = (query.get(name) || "").trim();
    if (value) filters[name] = value;
  }
  return filters;
}

function queryString(filters) {
  const params = new URLSearchParams();
  for (const name of FILTERS) if (filters[name]) params.set(name, filters[name]);
  return params.toString();
}

async function definitionOf(key) {
  if (!definitions.has(key)) {
    definitions.set(key, api.get(`/templates/${encodeURIComponent(key)}`)
      .then((published) => published.definition)
      .catch(() => null));
  }
  return definitions.get(key);
}

async function listCases(main, _params, query, user) {
  loading(main, "Loading cases…");
  const filters = filtersFrom(query);
  const templates = await api.all("/templates");
  const templateNames = new Map(templates.map((template) => [template.key, template.name]));
  const chosen = filters.template_key ? await definitionOf(filters.template_key) : null;

  // --- Filters -------------------------------------------------------------------------------------
  const templateSelect = h("select", { id: "filter-template", name: "template_key", dataset: { pointer: "/template_key" } },
    h("option", { value: "" }, "Any template"),
    templates.map((template) => h("option", { value: template.key, selected: template.key === filters.template_key },
      template.name)));
  const stageSelect = h("select", { id: "filter-stage", name: "stage", "aria-describedby": "filter-stage-hint",
    dataset: { pointer: "/stage" } });
  const stageHint = h("p", { class: "hint", id: "filter-stage-hint" });
  function fillStages(definition) {
    fill(stageSelect, h("option", { value: "" }, "Any stage"));
    if (definition) {
      stageSelect.append(...definition.stages.map((stage) =>
        h("option", { value: stage.key, selected: stage.key === filters.stage }, stage.name)));
      stageHint.textContent = "Stages of the chosen template.";
    } else if (filters.stage && !templateSelect.value) {
      stageSelect.append(h("option", { value: filters.stage, selected: true }, filters.stage));
      stageHint.textContent = "Choose a template to pick among its stages.";
    } else {
      stageHint.textContent = "Choose a template to pick among its stages.";
    }
  }
  fillStages(chosen);
  templateSelect.addEventListener("change", async () => {
    filters.stage = undefined;
    fillStages(templateSelect.value ? await definitionOf(templateSelect.value) : null);
  });
  const statusSelect = h("select", { id: "filter-status", name: "status", dataset: { pointer: "/status" } },
    [["", "Any status"], ["open", "Open"], ["closed", "Closed"], ["cancelled", "Cancelled"]].map(([value, label]) =>
      h("option", { value, selected: value === (filters.status || "") }, label)));
  const ownerInput = h("input", { id: "filter-owner", name: "owner", type: "text", value: filters.owner || "",
    autocomplete: "off", spellcheck: "false", "aria-describedby": "filter-owner-hint", dataset: { pointer: "/owner" } });
  const sinceInput = h("input", { id: "filter-updated-since", name: "updated_since", type: "date",
    dataset: { pointer: "/updated_since" },
    value: /^\d{4}-\d\d-\d\d$/.test(filters.updated_since || "") ? filters.updated_since : "" });

  const searchInput = h("input", { id: "case-search", name: "q", type: "search", value: filters.q || "",
    autocomplete: "off", maxlength: 200, "aria-describedby": "case-search-hint", dataset: { pointer: "/q" } });

  const filterForm = h("form", { class: "case-filters", role: "search", "aria-label": "Search and filter cases" },
    h("div", { class: "toolbar" },
      h("div", { class: "field case-search-field" }, h("label", { for: searchInput.id }, "Search"), searchInput,
        h("p", { class: "hint", id: "case-search-hint" },
          "Words in the title, or the reference (such as 9TBW-6RAH); every word must match.")),
      field("Template", templateSelect),
      h("div", { class: "field" }, h("label", { for: stageSelect.id }, "Stage"), stageSelect, stageHint),
      field("Status", statusSelect),
      h("div", { class: "field" }, h("label", { for: ownerInput.id }, "Owner"), ownerInput,
        h("p", { class: "hint", id: "filter-owner-hint" }, "The owner's user id, e.g. dev-agent.")),
      field("Updated since", sinceInput),
      h("div", { class: "actions case-filter-actions" },
        h("button", { type: "submit", class: "primary" }, "Search"),
        h("a", { href: "#/cases", class: "button" }, "Clear filters"))));
  filterForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const chosenFilters = {
      q: searchInput.value.trim(), template_key: templateSelect.value, stage: stageSelect.value, status: statusSelect.value,
      owner: ownerInput.value.trim(), updated_since: sinceInput.value,
    };
    const target = queryString(chosenFilters);
    navigate(target ? `#/cases?${target}` : "#/cases");
  });

  // --- Saved views --------------------------------------------------------------------------------
  const savedList = h("ul", { class: "saved-views", id: "saved-views" });
  const savedName = h("input", { id: "saved-view-name", type: "text", name: "name", maxlength: 100, required: true,
    autocomplete: "off" });
  const savedStatus = h("div");
  function renderSaved() {
    const views = readSaved();
    clear(savedList);
    if (!views.length) {
      savedList.append(h("li", { class: "hint" }, "No saved views yet."));
      return;
    }
    for (const view of views) {
      const href = view.query ? `#/cases?${view.query}` : "#/cases";
      savedList.append(h("li", {},
        h("a", { href }, view.name),
        h("button", { type: "button", class: "link case-delete-view", "aria-label": `Delete saved view ${view.name}`,
          onclick: () => {
            writeSaved(readSaved().filter((other) => other.name !== view.name));
            renderSaved();
            announce(`Deleted the saved view “${view.name}”.`);
            savedName.focus();
          } }, "Delete")));
    }
  }
  renderSaved();
  const saveForm = h("form", { class: "save-view" },
    h("div", { class: "toolbar" },
      field("Name of this view", savedName),
      h("button", { type: "submit" }, "Save view")),
    savedStatus);
  saveForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const name = savedName.value.trim();
    if (!name) { savedName.focus(); return; }
    const views = readSaved().filter((view) => view.name !== name);
    views.push({ name, query: queryString(filters) });
    views.sort((a, b) => a.name.localeCompare(b.name));
    try {
      writeSaved(views);
    } catch (error) {
      fill(savedStatus, problemBox({ title: "The view could not be saved", detail: error.message }));
      return;
    }
    clear(savedStatus);
    savedName.value = "";
    renderSaved();
    announce(`Saved the view “${name}”.`);
  });

  // --- The table ----------------------------------------------------------------------------------
  const body = h("tbody");
  const table = h("table", { id: "case-table", class: "case-table" },
    h("caption", { class: "visually-hidden" }, "Cases, most recently updated first"),
    h("thead", {}, h("tr", {},
      ["Title", "Template", "Stage", "Status", "Owner", "SLA", "Updated"].map((name) => h("th", { scope: "col" }, name)))),
    body);
  const listStatus = h("p", { class: "case-list-status", id: "case-list-status" });
  const problems = h("div", { id: "case-problems" });
  const moreButton = h("button", { type: "button", id: "load-more", hidden: true }, "Load more");
  const loaded = [];
  let cursor;

  function row(item, definition) {
    const stage = definition?.stages.find((candidate) => candidate.key === item.stage);
    const element = h("tr", { dataset: { caseId: item.id } },
      h("td", {},
        h("a", { href: `#/cases/${encodeURIComponent(item.id)}` }, item.title),
        h("span", { class: "case-ref" }, `Ref. ${caseReference(item.id)}`)),
      h("td", {}, templateNames.get(item.template_key) || item.template_key),
      h("td", {}, stage ? stage.name : item.stage),
      h("td", {}, h("span", { class: `badge status-${item.status}` }, item.status)),
      h("td", {}, item.owner),
      h("td", {}, slaBadge(item) || h("span", { class: "hint" }, "—")),
      h("td", {}, h("time", { datetime: item.updated_at }, formatDate(item.updated_at))));
    return element;
  }

  async function loadMore({ first = false } = {}) {
    moreButton.disabled = true;
    moreButton.textContent = "Loading…";
    const arrived = [];
    try {
      let requests = 0;
      do {
        const page = await api.get("/cases", {
          ...filters, updated_since: sinceParam(filters.updated_since), limit: 100, cursor,
        });
        arrived.push(...page.items);
        cursor = page.next_cursor;
        requests += 1;
      } while (cursor && arrived.length < PAGE_TARGET && requests < MAX_REQUESTS_PER_LOAD);
    } catch (problem) {
      // A filter the API refused (422) is shown on its control; anything else above the table.
      const left = first ? showFieldErrors(filterForm, problem) : problem.errors || [];
      fill(problems, problemBox({ ...problem, errors: left }));
      moreButton.disabled = false;
      moreButton.textContent = "Load more";
      if (first) listStatus.textContent = "The cases could not be loaded.";
      return;
    }
    clear(problems);
    const keys = [...new Set(arrived.map((item) => item.template_key))];
    const found = new Map(await Promise.all(keys.map(async (key) => [key, await definitionOf(key)])));
    const fragment = document.createDocumentFragment();
    for (const item of arrived) fragment.append(row(item, found.get(item.template_key)));
    body.append(fragment);
    loaded.push(...arrived);
    moreButton.hidden = !cursor;
    moreButton.disabled = false;
    moreButton.textContent = "Load more";
    listStatus.textContent = loaded.length
      ? `${loaded.length} ${loaded.length === 1 ? "case" : "cases"} loaded${cursor ? "; “Load more” reads on" : ""}.`
      : cursor ? "None found yet; “Load more” reads on through older cases." : "No cases match these filters.";
    table.hidden = !loaded.length;
    if (!first) {
      announce(`${arrived.length} more ${arrived.length === 1 ? "case" : "cases"} loaded.`);
      // Keep keyboard users in place: focus the first new row's link, or the button when nothing came.
      const firstNew = body.rows[loaded.length - arrived.length];
      (firstNew?.querySelector("a") || moreButton).focus();
    }
  }
  moreButton.addEventListener("click", () => loadMore());

  const FILTER_NAMES = { q: `“${filters.q}”`, template_key: "template", stage: "stage", status: "status", owner: "owner",
    updated_since: "updated since" };
  const active = FILTERS.filter((name) => filters[name]);
  fill(main,
    h("h1", {}, "Cases"),
    user.role === "viewer" ? null : h("p", {}, h("a", { class: "button primary", href: "#/cases/new" }, "Open a case")),
    filterForm,
    h("p", { class: "case-active-filters" }, active.length
      ? `Filtered by ${active.map((name) => FILTER_NAMES[name]).join(", ")}.`
      : "Showing every case you may see."),
    problems,
    listStatus,
    h("div", { class: "work-table-scroll" }, table),
    h("div", { class: "actions" }, moreButton),
    h("section", { class: "panel case-saved-panel", "aria-labelledby": "saved-views-heading" },
      h("h2", { id: "saved-views-heading" }, "Saved views"),
      h("p", { class: "hint" }, "Saved in this browser. Each keeps the filters and search shown above."),
      savedList,
      saveForm));
  await loadMore({ first: true });
}
