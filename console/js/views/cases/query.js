// The case list's query as the URL and a saved view keep it, and which API answers it: GET /cases when its own
// order is the one asked for (one index Query a page: every case by last change, or a filtered list newest
// first), GET /search otherwise (words, due date, title, relevance).
import { t } from "../../i18n.js";

export const FILTERS = ["template_key", "stage", "status", "owner"];
// Each key with its name, a function: the words are those of the language chosen at start.
export const SORTS = [
  ["relevance", () => t("Relevance")],
  ["updated", () => t("Last updated")],
  ["created", () => t("Newest")],
  ["due", () => t("Due date (next SLA)")],
  ["title", () => t("Title (A–Z)")],
];
export const COLUMNS = [
  ["title", () => t("Title")],
  ["template", () => t("Template")],
  ["stage", () => t("Stage")],
  ["status", () => t("Status")],
  ["owner", () => t("Owner")],
  ["due", () => t("Due")],
  ["updated", () => t("Updated")],
  ["created", () => t("Created")],
];
export const DEFAULT_COLUMNS = ["title", "template", "stage", "status", "owner", "due", "updated"];
export const PAGE_SIZE = 25;

const SORT_KEYS = new Set(SORTS.map(([key]) => key));
const COLUMN_KEYS = new Set(COLUMNS.map(([key]) => key));

// Without an explicit sort: relevance while searching, else the last change first.
export function defaultSort(state) {
  return state.q ? "relevance" : "updated";
}

export function stateFrom(query) {
  const state = { q: (query.get("q") || "").trim() };
  for (const name of FILTERS) state[name] = (query.get(name) || "").trim();
  const sort = query.get("sort");
  state.sort = SORT_KEYS.has(sort) && (sort !== "relevance" || state.q) ? sort : defaultSort(state);
  const columns = (query.get("columns") || "").split(",").filter((column) => COLUMN_KEYS.has(column));
  state.columns = columns.length ? [...new Set(columns)] : [...DEFAULT_COLUMNS];
  return state;
}

export function queryString(state) {
  const params = new URLSearchParams();
  if (state.q) params.set("q", state.q);
  for (const name of FILTERS) if (state[name]) params.set(name, state[name]);
  if (state.sort !== defaultSort(state)) params.set("sort", state.sort);
  if (state.columns.join(",") !== DEFAULT_COLUMNS.join(",")) params.set("columns", state.columns.join(","));
  return params.toString();
}

export function usesSearch(state) {
  if (state.q) return true;
  const filtered = FILTERS.some((name) => state[name]);
  if (state.sort === "updated") return filtered;
  if (state.sort === "created") return !filtered;
  return true;
}

function filtersOf(state) {
  return Object.fromEntries(FILTERS.filter((name) => state[name]).map((name) => [name, state[name]]));
}

// The request for one page of the list.
export function pageRequest(state, cursor) {
  if (usesSearch(state)) {
    return { path: "/search", params: { ...filtersOf(state), q: state.q, sort: state.sort, limit: PAGE_SIZE, cursor } };
  }
  return { path: "/cases", params: { ...filtersOf(state), limit: PAGE_SIZE, cursor } };
}

// The counts beside the filters when the list itself comes from GET /cases: one search of one case.
export function facetRequest(state) {
  return { path: "/search", params: { ...filtersOf(state), limit: 1 } };
}

// A saved view's `query` and `columns`, from the list's state, and back.
export function viewBody(state) {
  const query = { ...filtersOf(state), sort: state.sort };
  if (state.q) query.q = state.q;
  return { query, columns: state.columns };
}

export function stateOfView(view) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(view.query || {})) if (value) params.set(name, value);
  params.set("columns", (view.columns || DEFAULT_COLUMNS).join(","));
  return stateFrom(params);
}

export function viewHref(view) {
  const target = queryString(stateOfView(view));
  return target ? `#/cases?${target}` : "#/cases";
}
