// A report's table as people read it: each value formatted by its column's type, the group columns named (a
// template and a stage by their names, a week by its first day), the whole table, and the chart that suits it.
// Everything is drawn from the columns the API lists, so a report the console does not know still shows.
import { barChart, DANGER, formatNumber, lineChart } from "../../charts.js";
import { locale, t } from "../../i18n.js";
import { personName } from "../../people.js";
import { formatLocalDay, h } from "../../ui.js";
import { groupingWord } from "./filters.js";

const MEASURES = new Set(["integer", "number", "rate"]);
const MAX_BARS = 25;

// What each report's chart plots, of the columns it has; any other report charts its first kind of figure.
const chartPlan = (report) => ({
  throughput: { series: ["opened", "closed"], axis: t("Cases") },
  "open-stages": { series: ["open_cases"], axis: t("Open cases") },
  "stage-times": { series: ["p50_hours", "p90_hours"], axis: t("Time in the stage") },
  "time-to-close": { series: ["p50_hours", "p90_hours"], axis: t("Time from opening to closing") },
  sla: { series: ["breach_rate", "warning_rate"], axis: t("Share of stage visits"), colour: DANGER },
  automations: { series: ["runs", "failures"], axis: t("Automation runs") },
  portal: { series: ["links_issued", "links_used", "client_documents", "client_comments"], axis: t("Count") },
})[report];

// A rate and the counts it divides: rows per template and stage then add up to one rate per week. Used only
// where every row's rate is that quotient, so a report that defines its rate otherwise is never re-summed.
const RATE_PARTS = {
  breach_rate: ["breaches", "visits_entered"],
  warning_rate: ["warnings", "visits_entered"],
  reopen_rate: ["reopened", "closed"],
};

// What a group without a value stands for: cases nobody owns, or no team role is expected of.
function noneOf(key) {
  if (key === "owner") return t("No owner");
  return key === "role" ? t("No team role") : t("None");
}

// Figures joined in words: "opened and closed".
function both(words) {
  return new Intl.ListFormat(locale(), { type: "conjunction" }).format(words);
}

// A group column the console knows, named in the person's language; the figures keep the words the API gives.
function columnLabel(column, by) {
  if (column.type === "date") return { week: t("Week"), month: t("Month") }[by] || column.label;
  return { template_key: t("Template"), stage: t("Stage"), owner: t("Owner"), role: t("Team role") }[column.key] || column.label;
}

export function isMeasure(column) {
  return MEASURES.has(column.type);
}

// A share from 0 to 1, shown as a percentage: typed "rate", or named so (`breach_rate`) by a report that types
// it as a plain number. Likewise hours (`p50_hours`), shown in the unit that keeps them readable.
function isRate(column) {
  return column.type === "rate" || (column.type === "number" && column.key.endsWith("_rate"));
}

function kind(column) {
  if (isRate(column)) return "rate";
  return column.type === "number" && column.key.endsWith("_hours") ? "hours" : column.type;
}

// The unit that keeps the longest of some hours readable: seconds, minutes, hours or days.
export function hoursUnit(maxHours) {
  if (maxHours < 2 / 60) return { name: t("seconds"), short: (value) => t("{value} s", { value }), hours: 1 / 3600 };
  if (maxHours < 2) return { name: t("minutes"), short: (value) => t("{value} min", { value }), hours: 1 / 60 };
  if (maxHours < 72) return { name: t("hours"), short: (value) => t("{value} h", { value }), hours: 1 };
  return { name: t("days"), short: (value) => t("{value} d", { value }), hours: 24 };
}

export function formatValue(type, value) {
  if (value === null || value === undefined) return "—";
  if (type === "rate") return `${formatNumber(value * 100)}%`;
  if (type === "hours") {
    const unit = hoursUnit(value);
    return unit.short(formatNumber(value / unit.hours));
  }
  if (type === "integer" || type === "number") return formatNumber(value);
  return String(value);
}

function periodText(value, by, short) {
  const [year, month, day] = String(value).split("-").map(Number);
  const date = new Date(year, month - 1, day);
  if (Number.isNaN(date.getTime())) return String(value);
  if (by === "month") return date.toLocaleDateString(locale(), { month: short ? "short" : "long", year: "numeric" });
  if (short) return date.toLocaleDateString(locale(), { day: "numeric", month: "short" });
  return by === "week" ? t("Week of {day}", { day: formatLocalDay(value) }) : formatLocalDay(value);
}

// The words for a group column's value; `names` knows templates' and stages' names.
export function groupText(column, row, names, by, { short = false } = {}) {
  const value = row[column.key];
  if (value === null || value === undefined || value === "") return noneOf(column.key);
  if (column.type === "date") return periodText(value, by, short);
  if (column.key === "template_key") return names.template(value);
  if (column.key === "stage") return names.stage(row.template_key, value);
  if (column.key === "owner") return personName(value);
  return String(value);
}

function cell(column, row, names, by) {
  return isMeasure(column) ? formatValue(kind(column), row[column.key]) : groupText(column, row, names, by);
}

// Every row and column, as the CSV has them; the first group column heads each row.
export function reportTable(table, names, caption) {
  const rowHeader = table.columns.findIndex((column) => !isMeasure(column));
  return h("div", { class: "table-scroll", role: "region", "aria-label": caption, tabindex: "0" },
    h("table", { class: "chart-table insight-table" },
      h("caption", {}, caption),
      h("thead", {}, h("tr", {}, table.columns.map((column) =>
        h("th", { scope: "col", class: isMeasure(column) ? "number" : null }, columnLabel(column, table.by))))),
      h("tbody", {}, table.rows.map((row) => h("tr", {}, table.columns.map((column, index) => (index === rowHeader
        ? h("th", { scope: "row" }, cell(column, row, names, table.by))
        : h("td", { class: isMeasure(column) ? "number" : null }, cell(column, row, names, table.by)))))))));
}

// Whether the rows hold any figure at all: a range with no events may still answer a row of zeros per week.
export function hasFigures(table) {
  const measures = table.columns.filter(isMeasure);
  return table.rows.some((row) => measures.some((column) => row[column.key]));
}

function chartSeries(table) {
  const measures = table.columns.filter(isMeasure);
  const plan = chartPlan(table.report);
  let series = plan ? plan.series.map((key) => measures.find((column) => column.key === key)).filter(Boolean) : [];
  if (!series.length) series = measures.slice(0, 1);
  // One kind of figure per chart: counts, hours and rates do not share an axis.
  return series.filter((column) => kind(column) === kind(series[0])).slice(0, 4);
}

function rateIsQuotient(rows, key, [numerator, denominator]) {
  return rows.every((row) => row[key] === null || row[key] === undefined || !row[denominator]
    || Math.abs(row[key] - row[numerator] / row[denominator]) < 1e-3);
}

// One row per period from rows per period and template, stage…: counts add up, a rate is re-divided from its
// counts, and figures that do not add up (percentiles) are left to the table.
function perPeriod(table, period, series) {
  const keys = new Set(table.columns.map((column) => column.key));
  const periods = [...new Set(table.rows.map((row) => row[period.key]))].sort();
  const sum = (rows, key) => rows.reduce((total, row) => total + (row[key] || 0), 0);
  const kept = series.filter((column) => column.type === "integer" || (isRate(column)
    && RATE_PARTS[column.key]?.every((part) => keys.has(part))
    && rateIsQuotient(table.rows, column.key, RATE_PARTS[column.key])));
  const rows = periods.map((value) => {
    const inPeriod = table.rows.filter((row) => row[period.key] === value);
    const row = { [period.key]: value };
    for (const column of kept) {
      if (column.type === "integer") row[column.key] = sum(inPeriod, column.key);
      else {
        const [numerator, denominator] = RATE_PARTS[column.key];
        const total = sum(inPeriod, denominator);
        row[column.key] = total ? sum(inPeriod, numerator) / total : null;
      }
    }
    return row;
  });
  return { rows, series: kept };
}

// Hours are charted in one unit for the whole chart (the one that suits the longest), scaled before drawing.
function chartConfig(series, plan, rows) {
  const type = kind(series[0]);
  const axis = plan?.axis || series[0].label;
  if (type === "hours") {
    const longest = Math.max(0, ...rows.flatMap((row) => series.map((column) => row[column.key] || 0)));
    const unit = hoursUnit(longest);
    const format = (value) => unit.short(formatNumber(value));
    // Ticks of a chart of seconds may be fractions: 0.025 s must not read as 0.
    const tickFormat = (value) => value.toLocaleString(locale(), { maximumFractionDigits: value < 1 ? 3 : 1 });
    return { format, tickFormat, table: false, valueLabel: t("{axis} ({unit})", { axis, unit: unit.name }), scale: unit.hours };
  }
  const format = (value) => formatValue(type, value);
  return { format, tickFormat: format, integer: type === "integer", table: false, valueLabel: axis, colour: plan?.colour };
}

function values(rows, column, scale = 1) {
  return rows.map((row) => (typeof row[column.key] === "number" ? row[column.key] / scale : row[column.key]));
}

// The chart that suits the table: a line over the periods for a report per week or month (bars for a single
// period), bars per row otherwise.
export function reportChart(table, names) {
  const series = chartSeries(table);
  if (!series.length || !table.rows.length) return null;
  const plan = chartPlan(table.report);
  const groups = table.columns.filter((column) => !isMeasure(column));
  const period = groups.find((column) => column.type === "date");
  if (period) {
    const collapsed = groups.length > 1 ? perPeriod(table, period, series) : { rows: table.rows, series };
    if (collapsed.series.length) {
      const rows = [...collapsed.rows].sort((a, b) => String(a[period.key]).localeCompare(String(b[period.key])));
      const { scale, ...config } = chartConfig(collapsed.series, plan, rows);
      // One period has no line to draw: it gets a bar per figure.
      const draw = rows.length > 1 ? lineChart : (options) => barChart({ ...options, orientation: "vertical" });
      return draw({
        ...config,
        title: t("{report}: {figures} per {groups}", { report: table.title,
          figures: both(collapsed.series.map((column) => column.label)), groups: table.by ? groupingWord(table.by) : t("period") }),
        categories: rows.map((row) => groupText(period, row, names, table.by, { short: true })),
        series: collapsed.series.map((column) => ({ name: column.label, values: values(rows, column, scale) })),
        categoryLabel: columnLabel(period, table.by),
      });
    }
  }
  const rows = table.rows.slice(0, MAX_BARS);
  // The template asked for says nothing on a bar, nor does a column with one value in every row, unless no
  // column varies (a single row): then all of them name it.
  const candidates = groups.filter((column) => !(table.template && column.key === "template_key"));
  const varying = candidates.filter((column) => new Set(table.rows.map((row) => row[column.key])).size > 1);
  const telling = varying.length ? varying : candidates;
  const label = (row) => telling.map((column) => groupText(column, row, names, table.by)).join(" · ") || table.title;
  const figures = both(series.map((column) => column.label));
  const { scale, ...config } = chartConfig(series, plan, rows);
  const bars = barChart({
    ...config,
    title: telling.length
      ? t("{report}: {figures} per {groups}", { report: table.title, figures, groups: both(telling.map((column) => columnLabel(column, table.by))) })
      : t("{report}: {figures}", { report: table.title, figures }),
    categories: rows.map(label),
    series: series.map((column) => ({ name: column.label, values: values(rows, column, scale) })),
    categoryLabel: telling.map((column) => columnLabel(column, table.by)).join(" · ") || t("Report"),
  });
  if (table.rows.length <= MAX_BARS) return bars;
  return [bars, h("p", { class: "hint" }, t("The chart shows the first {shown} of {count} rows; the table has them all.",
    { shown: formatNumber(MAX_BARS), count: formatNumber(table.rows.length) }))];
}
