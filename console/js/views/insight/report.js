// One report of insight, in a section of its own: what it counts ("How this is computed"), its chart and its
// table, a CSV download, and its own loading state, empty state or problem, so one slow or refused report
// leaves the others be.
import { api } from "../../api.js";
import { announce, fill, formatDate, formatLocalDay, formatSize, h, loading, problemBox, visuallyHidden } from "../../ui.js";
import { groupingLabel } from "./filters.js";
import { hasFigures, reportChart, reportTable } from "./figures.js";

export function duration(seconds) {
  if (seconds < 120) return `${seconds} seconds`;
  return `${Math.round(seconds / 60)} minutes`;
}

function save(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = h("a", { href: url, download: filename, class: "visually-hidden" }, filename);
  document.body.append(link);
  link.click();
  link.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function groupingNote(summary, by) {
  if (summary.groupings.includes(by)) return null;
  const takes = summary.groupings.length
    ? `it can be grouped by ${summary.groupings.map((value) => groupingLabel(value).toLowerCase()).join(", ")}`
    : "it is not grouped";
  return h("p", { class: "hint" }, `Not by ${groupingLabel(by).toLowerCase()}: ${takes}.`);
}

function computedNote(table) {
  const scanned = table.bytes_scanned === null ? "" : `, reading ${formatSize(table.bytes_scanned)}`;
  return h("p", { class: "hint insight-computed" },
    `Computed ${formatDate(table.computed_at)} by ${table.engine}${scanned}${table.cached ? " (cached)" : ""}.`);
}

// The section of `summary` (an entry of GET /insight) for ctx = { filters, template, scope, names, delivery }.
export function reportSection(ctx, summary) {
  const { filters } = ctx;
  const params = {
    from: filters.from, to: filters.to, template: ctx.template || undefined,
    by: summary.groupings.includes(filters.by) ? filters.by : undefined,
    owner: filters.owner || undefined, role: filters.role || undefined,
  };
  const path = `/insight/${encodeURIComponent(summary.name)}`;
  const range = `${formatLocalDay(filters.from)} to ${formatLocalDay(filters.to)}`;
  const headingId = `insight-${summary.name}-heading`;
  const body = h("div", { class: "insight-body" });
  const status = h("div", { class: "form-status" });
  const section = h("section", {
    class: "panel insight-section", "aria-labelledby": headingId, "aria-busy": "true",
    dataset: { insight: summary.name, state: "loading" },
  },
  h("h2", { id: headingId }, summary.title),
  h("details", { class: "insight-about" }, h("summary", {}, "How this is computed"),
    h("p", {}, summary.description), groupingNote(summary, filters.by)),
  body,
  h("div", { class: "actions" },
    h("button", { type: "button", "data-csv": summary.name, onclick: (event) => download(event.currentTarget) },
      "Download CSV", visuallyHidden(` of ${summary.title}`))),
  status);

  async function download(button) {
    button.disabled = true;
    fill(status);
    try {
      const fallback = `${summary.name}-${filters.from}-${filters.to}.csv`;
      const { blob, filename } = await api.file(`${path}/csv`, params, "text/csv", fallback);
      save(blob, filename);
      announce(`Downloaded ${filename}.`);
    } catch (problem) {
      fill(status, problemBox(problem));
    } finally {
      button.disabled = false;
    }
  }

  function show(table) {
    if (!hasFigures(table)) {
      section.dataset.state = "empty";
      fill(body, h("p", { class: "insight-empty" },
        `No data in this range yet: nothing ${ctx.scope} from ${range} has reached insight. `
        + `A change takes up to ${duration(ctx.delivery)} to arrive.`));
      return;
    }
    const chart = reportChart(table, ctx.names);
    const caption = `${table.title}, ${range}`;
    fill(body, chart,
      h("details", { class: "insight-table-view", open: !chart }, h("summary", {}, "Table"),
        reportTable(table, ctx.names, caption)),
      computedNote(table));
    section.dataset.state = "ready";
  }

  async function load() {
    loading(body, `Loading ${summary.title.toLowerCase()}…`);
    try {
      const table = await api.get(path, params);
      if (table.columns.some((column) => column.key === "stage")) {
        await ctx.names.load(table.rows.map((row) => row.template_key));
      }
      show(table);
    } catch (problem) {
      section.dataset.state = "error";
      fill(body, problemBox(problem));
    } finally {
      section.removeAttribute("aria-busy");
    }
  }

  return { element: section, done: load() };
}
