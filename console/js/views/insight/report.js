// One report of insight, in a section of its own: what it counts ("How this is computed"), its chart and its
// table, a CSV download, and its own loading state, empty state or problem, so one slow or refused report
// leaves the others be.
import { api } from "../../api.js";
import { locale, t, tn } from "../../i18n.js";
import { announce, fill, formatDate, formatLocalDay, formatSize, h, loading, problemBox, visuallyHidden } from "../../ui.js";
import { groupingWord } from "./filters.js";
import { hasFigures, reportChart, reportTable } from "./figures.js";

export function duration(seconds) {
  if (seconds < 120) return tn("{count} second", "{count} seconds", seconds);
  return tn("{count} minute", "{count} minutes", Math.round(seconds / 60));
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
  const grouping = groupingWord(by);
  if (!summary.groupings.length) return h("p", { class: "hint" }, t("Not by {grouping}: it is not grouped.", { grouping }));
  const list = new Intl.ListFormat(locale(), { type: "disjunction" }).format(summary.groupings.map(groupingWord));
  return h("p", { class: "hint" }, t("Not by {grouping}: it can be grouped by {groupings}.", { grouping, groupings: list }));
}

function computedNote(table) {
  const values = { when: formatDate(table.computed_at), engine: table.engine, size: formatSize(table.bytes_scanned) };
  let text;
  if (table.bytes_scanned === null) {
    text = table.cached ? t("Computed {when} by {engine} (cached).", values) : t("Computed {when} by {engine}.", values);
  } else {
    text = table.cached ? t("Computed {when} by {engine}, reading {size} (cached).", values)
      : t("Computed {when} by {engine}, reading {size}.", values);
  }
  return h("p", { class: "hint insight-computed" }, text);
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
  const range = t("{from} to {to}", { from: formatLocalDay(filters.from), to: formatLocalDay(filters.to) });
  const headingId = `insight-${summary.name}-heading`;
  const body = h("div", { class: "insight-body" });
  const status = h("div", { class: "form-status" });
  const section = h("section", {
    class: "panel insight-section", "aria-labelledby": headingId, "aria-busy": "true",
    dataset: { insight: summary.name, state: "loading" },
  },
  h("h2", { id: headingId }, summary.title),
  h("details", { class: "insight-about" }, h("summary", {}, t("How this is computed")),
    h("p", {}, summary.description), groupingNote(summary, filters.by)),
  body,
  h("div", { class: "actions" },
    h("button", { type: "button", "data-csv": summary.name, onclick: (event) => download(event.currentTarget) },
      t("Download CSV"), " ", visuallyHidden(t("of {report}", { report: summary.title })))),
  status);

  async function download(button) {
    button.disabled = true;
    fill(status);
    try {
      const fallback = `${summary.name}-${filters.from}-${filters.to}.csv`;
      const { blob, filename } = await api.file(`${path}/csv`, params, "text/csv", fallback);
      save(blob, filename);
      announce(t("Downloaded {file}.", { file: filename }));
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
        t("No data in this range yet: nothing {scope} from {range} has reached insight. A change takes up to {duration} to arrive.",
          { scope: ctx.scope, range, duration: duration(ctx.delivery) })));
      return;
    }
    const chart = reportChart(table, ctx.names);
    const caption = t("{report}, {range}", { report: table.title, range });
    fill(body, chart,
      h("details", { class: "insight-table-view", open: !chart }, h("summary", {}, t("Table")),
        reportTable(table, ctx.names, caption)),
      computedNote(table));
    section.dataset.state = "ready";
  }

  async function load() {
    loading(body, t("Loading {report}…", { report: summary.title }));
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
