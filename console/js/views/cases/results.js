// The case table: the chosen columns, highlighted snippets under each search result, "Load more" by cursor,
// loading, empty and error states. A new query cancels the requests of the one before (AbortController).
import { api } from "../../api.js";
import { formatNumber, t, tn } from "../../i18n.js";
import { announce, caseReference, clear, fill, formatDate, h, problemBox, slaBadge, statusName } from "../../ui.js";
import { personName } from "../../people.js";
import { COLUMNS, facetRequest, pageRequest, SORTS, usesSearch } from "./query.js";

const COLUMN_NAMES = new Map(COLUMNS);

function sortName(sort) {
  return SORTS.find(([key]) => key === sort)?.[1]() ?? sort;
}

export function caseId(item) {
  return item.id ?? item.case_id; // GET /cases answers cases, GET /search results
}

// Each highlight's parts as text nodes, the matched ones in <mark>: never markup from the server.
function highlights(item) {
  if (!item.highlights?.length) return null;
  return h("ul", { class: "case-highlights" }, item.highlights.map((highlight) => h("li", {},
    h("span", { class: "case-highlight-label" }, `${highlight.label}: `),
    highlight.parts.map((part) => (part.match ? h("mark", {}, part.text) : part.text)))));
}

function dueCell(item) {
  if (!item.stage_due_at || item.status !== "open") return h("span", { class: "hint" }, "—");
  const badge = item.stage_entered_at ? slaBadge(item)
    : Date.parse(item.stage_due_at) <= Date.now() ? h("span", { class: "badge sla-breached" }, t("Breached")) : null;
  return [h("time", { datetime: item.stage_due_at, class: "case-due" }, formatDate(item.stage_due_at)), badge];
}

// `selection` (bulk.js), when the person may act on cases: a checkbox cell first in each row.
export function caseResults({ templateNames, definitionOf, onFacets, onError, selection }) {
  const head = h("tr");
  const body = h("tbody");
  const caption = h("caption", { class: "visually-hidden" });
  const table = h("table", { id: "case-table", class: "case-table", hidden: true }, caption, h("thead", {}, head), body);
  const status = h("p", { class: "case-list-status", id: "case-list-status", role: "status" });
  const problems = h("div", { id: "case-problems" });
  const more = h("button", { type: "button", id: "load-more", hidden: true }, t("Load more"));
  let state = null;
  let cursor = null;
  let loaded = 0;
  let controller = null;

  const cells = {
    title: (item, id) => [
      h("a", { href: `#/cases/${encodeURIComponent(id)}` }, item.title),
      h("span", { class: "case-ref" }, t("Ref. {reference}", { reference: caseReference(id) })),
      highlights(item)],
    template: (item) => templateNames.get(item.template_key) || item.template_key,
    stage: (item, _id, definition) => definition?.stages.find((stage) => stage.key === item.stage)?.name || item.stage,
    status: (item) => h("span", { class: `badge status-${item.status}` }, statusName(item.status)),
    owner: (item) => personName(item.owner),
    due: (item) => dueCell(item),
    updated: (item) => h("time", { datetime: item.updated_at }, formatDate(item.updated_at)),
    created: (item) => h("time", { datetime: item.created_at }, formatDate(item.created_at)),
  };

  function row(item, definition) {
    const id = caseId(item);
    return h("tr", { dataset: { caseId: id } }, selection?.cell(item),
      state.columns.map((column) => h("td", { class: `case-col-${column}` }, cells[column](item, id, definition))));
  }

  function describe(count, total) {
    if (!count) {
      return state.q ? t("No case matches “{words}” with these filters.", { words: state.q }) : t("No cases match these filters.");
    }
    const of = typeof total === "number" && total > count;
    if (of && cursor) return t("{count} of {total} cases shown; “Load more” reads on.", { count: formatNumber(count), total: formatNumber(total) });
    if (of) return t("{count} of {total} cases shown.", { count: formatNumber(count), total: formatNumber(total) });
    if (cursor) return tn("{count} case shown; “Load more” reads on.", "{count} cases shown; “Load more” reads on.", count);
    return tn("{count} case shown.", "{count} cases shown.", count);
  }

  async function fetchPage(signal) {
    const request = pageRequest(state, cursor || undefined);
    const facets = usesSearch(state) || cursor ? null
      : api.get(facetRequest(state).path, facetRequest(state).params, { signal }).catch(() => null);
    const page = await api.get(request.path, request.params, { signal });
    return { page, facetPage: page.facets ? page : await facets };
  }

  async function load({ first }) {
    controller?.abort();
    const mine = new AbortController();
    controller = mine;
    more.disabled = true;
    more.textContent = t("Loading…");
    table.setAttribute("aria-busy", "true");
    if (first) status.textContent = state.q ? t("Searching…") : t("Loading cases…");
    let answer;
    try {
      answer = await fetchPage(mine.signal);
    } catch (problem) {
      if (mine.signal.aborted) return; // a newer query took over
      fill(problems, problemBox(onError(problem, first)));
      status.textContent = first ? t("The cases could not be loaded.") : "";
      more.disabled = false;
      more.textContent = t("Load more");
      table.removeAttribute("aria-busy");
      return;
    }
    const { page, facetPage } = answer;
    const keys = [...new Set(page.items.map((item) => item.template_key))];
    const found = new Map(await Promise.all(keys.map(async (key) => [key, await definitionOf(key)])));
    if (mine.signal.aborted) return;
    clear(problems);
    if (first) {
      clear(body);
      loaded = 0;
      selection?.reset();
    }
    const fragment = document.createDocumentFragment();
    for (const item of page.items) fragment.append(row(item, found.get(item.template_key)));
    body.append(fragment);
    selection?.rowsAdded();
    loaded += page.items.length;
    cursor = page.next_cursor || null;
    if (facetPage?.facets) onFacets(facetPage.facets);
    table.hidden = !loaded;
    table.removeAttribute("aria-busy");
    more.hidden = !cursor;
    more.disabled = false;
    more.textContent = t("Load more");
    status.textContent = describe(loaded, page.total);
    if (!first) {
      announce(tn("{count} more case loaded.", "{count} more cases loaded.", page.items.length));
      // Keep keyboard users in place: focus the first new row's link, or the button when nothing came.
      (body.rows[loaded - page.items.length]?.querySelector("a") || more).focus();
    }
  }
  more.addEventListener("click", () => load({ first: false }));

  return {
    elements: [problems, status, h("div", { class: "work-table-scroll" }, table), h("div", { class: "actions" }, more)],
    // Shows the first page of `next` (the list's state), in place of whatever was shown or loading.
    show(next) {
      state = next;
      cursor = null;
      fill(head, selection?.headCell(), state.columns.map((column) => h("th", { scope: "col" }, COLUMN_NAMES.get(column)())));
      caption.textContent = t("Cases, by {sort}", { sort: sortName(state.sort) });
      return load({ first: true });
    },
  };
}
