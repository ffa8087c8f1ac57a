// The list of cases: search, filters, sort and columns kept in the URL (so a list can be shared), answered by
// GET /cases or GET /search (cases/query.js says which), and saved views kept by the API.
import { api, latestDefinition as definitionOf } from "../api.js";
import { t } from "../i18n.js";
import { h, loading, fill, showFieldErrors } from "../ui.js";
import { bulkActions } from "./cases/bulk.js";
import { caseFilters } from "./cases/filters.js";
import { FILTERS, queryString, stateFrom } from "./cases/query.js";
import { caseId, caseResults } from "./cases/results.js";
import { savedViews } from "./cases/saved.js";

export function register(route) {
  route("/cases", listCases, { nav: "cases" });
}

function filterName(name) {
  if (name === "template_key") return t("template");
  if (name === "stage") return t("stage");
  return name === "status" ? t("status") : t("owner");
}

function activeFilters(state) {
  const named = [state.q ? `“${state.q}”` : null, ...FILTERS.filter((name) => state[name]).map(filterName)]
    .filter(Boolean);
  return named.length ? t("Filtered by {filters}.", { filters: named.join(", ") }) : t("Showing every case you may see.");
}

async function listCases(main, _params, query, user) {
  loading(main, t("Loading cases…"));
  const state = stateFrom(query);
  const templates = await api.all("/templates");
  const templateNames = new Map(templates.map((template) => [template.key, template.name]));
  const active = h("p", { class: "case-active-filters" }, activeFilters(state));

  const filters = caseFilters({ state, templates, definitionOf, onChange: () => show() });
  const bulk = user.role === "viewer" ? null : bulkActions({ caseIdOf: caseId, definitionOf, onDone: () => show() });
  const results = caseResults({
    templateNames,
    definitionOf,
    onFacets: (facets) => filters.showFacets(facets),
    // A filter the API refused (422) is shown on its control; anything else above the table.
    onError: (problem, first) => ({ ...problem, errors: first ? showFieldErrors(filters.form, problem) : problem.errors }),
    selection: bulk,
  });
  const saved = savedViews({ user, currentState: () => state });

  function show() {
    // A list left while it loaded (a quick click elsewhere) must not put its address over the page shown now.
    if (!main.isConnected) return undefined;
    const target = queryString(state);
    // The URL follows the list without a navigation, which would draw the page again and lose the caret.
    window.history.replaceState(window.history.state, "", target ? `#/cases?${target}` : "#/cases");
    fill(active, activeFilters(state));
    return results.show(state);
  }

  fill(main,
    h("h1", {}, t("Cases")),
    user.role === "viewer" ? null : h("p", {}, h("a", { class: "button primary", href: "#/cases/new" }, t("Open a case"))),
    filters.form,
    active,
    bulk?.form,
    ...results.elements,
    saved.element);
  await filters.ready;
  await Promise.all([show(), saved.refresh()]);
}
