// Small accessible SVG charts, drawn here without any library: bars (horizontal or vertical, one or more
// series side by side) and a line for a time series. Each chart is an <svg role="img"> named by its <title>
// and summed up in words by its <desc>; every value is also written as text next to its bar or point, and the
// same numbers come in a table under "Show data as table", for screen readers and keyboards alike.
// Colours reach at least 4.5:1 against white; a second series is hatched as well, so colour is never the only
// clue, and in forced-colours mode insight.css repaints everything in system colours.
import { formatNumber as formatInLocale, t } from "./i18n.js";
import { h } from "./ui.js";

const SVG_NS = "http://www.w3.org/2000/svg";
const WIDTH = 640;
const FONT = 13;
const SMALL = 11.5;
const CHAR = 0.58; // average glyph width of the system sans-serif, in ems: enough to lay labels out

// Against white: 6.7:1, 5.5:1, 6.6:1, 7.4:1. The second series is hatched too.
export const PALETTE = ["#0b5cad", "#b34700", "#1d6b35", "#6b3fa0"];
export const DANGER = "#a4161a"; // 7.8:1

let sequence = 0;
function nextId(prefix) {
  sequence += 1;
  return `${prefix}-${sequence}`;
}

function s(tag, attributes = {}, ...children) {
  const element = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null && value !== false) element.setAttribute(name, String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

export function formatNumber(value) {
  if (value === null || value === undefined || Number.isNaN(value)) return "—";
  return formatInLocale(value, { maximumFractionDigits: Math.abs(value) < 10 ? 1 : 0 });
}

// Round axis steps (1, 2, 2.5, 5 × 10ⁿ; whole numbers for counts) from 0 to at least `max`.
export function niceScale(max, { integer = false, count = 5 } = {}) {
  if (!(max > 0)) return { top: 1, ticks: [0, 1] };
  const raw = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  let step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((candidate) => candidate >= raw);
  if (integer) step = Math.max(1, Math.ceil(step));
  const top = Math.ceil(max / step - 1e-9) * step;
  const ticks = [];
  for (let value = 0; value <= top + step / 2; value += step) ticks.push(Math.round(value * 1e6) / 1e6);
  return { top, ticks };
}

function textWidth(text, size = FONT) {
  return String(text).length * size * CHAR;
}

function truncate(text, width, size = FONT) {
  const fits = Math.floor(width / (size * CHAR));
  return text.length <= fits ? text : `${text.slice(0, Math.max(1, fits - 1))}…`;
}

function lines(label) {
  return Array.isArray(label) ? label : [label];
}

function plain(label) {
  return lines(label).join(" ");
}

function seriesFill(index, patternIds) {
  return patternIds[index] ? `url(#${patternIds[index]})` : PALETTE[index % PALETTE.length];
}

// Hatching for every second series: its colour with lighter diagonal stripes.
function hatchDefs(series) {
  const ids = [];
  const patterns = series.map((_item, index) => {
    if (index % 2 === 0) return null;
    const id = nextId("chart-hatch");
    ids[index] = id;
    const colour = PALETTE[index % PALETTE.length];
    return s("pattern", { id, patternUnits: "userSpaceOnUse", width: 7, height: 7, patternTransform: "rotate(45)" },
      s("rect", { width: 7, height: 7, fill: colour, class: "chart-fill" }),
      s("rect", { width: 2.5, height: 7, fill: "#ffffff", "fill-opacity": 0.55, class: "chart-hatch" }));
  });
  return { ids, defs: s("defs", {}, patterns) };
}

function describe(categories, series, format) {
  if (!categories.length) return t("No data.");
  const parts = categories.map((category, index) => {
    const values = series.map((item) => `${series.length > 1 ? `${item.name} ` : ""}${format(item.values[index])}`);
    return `${plain(category)}: ${values.join(", ")}`;
  });
  return `${parts.join("; ")}.`;
}

function legend(series, patternIds) {
  if (series.length < 2) return null;
  return h("ul", { class: "chart-legend", "aria-hidden": "true" }, series.map((item, index) =>
    h("li", {},
      h("span", { class: `chart-swatch chart-swatch-${index % PALETTE.length}${patternIds[index] ? " chart-swatch-hatched" : ""}` }),
      item.name)));
}

// The chart's numbers as a table, behind a disclosure that is reachable by keyboard.
export function dataTable({ caption, categoryLabel, categories, series, format, extraColumns = [], open = false }) {
  const table = h("table", { class: "chart-table" },
    h("caption", {}, caption),
    h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, categoryLabel),
      series.map((item) => h("th", { scope: "col" }, item.name)),
      extraColumns.map((column) => h("th", { scope: "col" }, column.name)))),
    h("tbody", {}, categories.map((category, index) => h("tr", {},
      h("th", { scope: "row" }, plain(category)),
      series.map((item) => h("td", { class: "number" }, format(item.values[index]))),
      extraColumns.map((column) => h("td", { class: "number" }, column.format
        ? column.format(column.values[index]) : formatNumber(column.values[index])))))));
  return h("details", { class: "chart-data", open }, h("summary", {}, t("Show data as table")), table);
}

function figure({ kind, title, description, width, height, defs, body, series, patternIds, table }) {
  const titleId = nextId("chart-title");
  const descId = nextId("chart-desc");
  const chart = s("svg", {
    class: "chart-svg", role: "img", "aria-labelledby": `${titleId} ${descId}`,
    viewBox: `0 0 ${width} ${height}`, width, height, focusable: "false",
  }, s("title", { id: titleId }, title), s("desc", { id: descId }, description), defs, body);
  return h("figure", { class: "chart", dataset: { chart: kind } }, legend(series, patternIds), chart, table);
}

function options(config) {
  const format = config.format || formatNumber;
  return {
    ...config,
    format,
    tickFormat: config.tickFormat || formatNumber,
    tableFormat: config.tableFormat || format,
    categoryLabel: config.categoryLabel || t("Category"),
    valueLabel: config.valueLabel || t("Value"),
  };
}

function tableOf(config) {
  if (config.table === false) return null; // the caller shows the numbers in a table of its own
  return dataTable({
    caption: config.title,
    categoryLabel: config.categoryLabel,
    categories: config.tableCategories || config.categories,
    series: config.series,
    format: config.tableFormat,
    extraColumns: config.extraColumns,
  });
}

function maxOf(series) {
  return Math.max(0, ...series.flatMap((item) => item.values.filter((value) => typeof value === "number")));
}

/**
 * Bars, one group per category and one bar per series.
 * config: { title, description?, categories: [label | [line, line]], series: [{ name, values: [number|null] }],
 *   orientation: "horizontal" (labels on the left; for long names) | "vertical" (for weeks),
 *   categoryLabel, valueLabel, format(value) for values on bars and in the table, tickFormat(value),
 *   integer (whole-number axis), tableCategories (fuller labels for the table), extraColumns: [{ name, values }],
 *   emptyText (for null values: "no data"), table: false (no "Show data as table": the caller shows one) }
 */
export function barChart(config) {
  const c = options(config);
  return c.orientation === "vertical" ? verticalBars(c) : horizontalBars(c);
}

function horizontalBars(c) {
  const { categories, series, format } = c;
  const { ids: patternIds, defs } = hatchDefs(series);
  const longest = Math.max(...categories.map((category) => textWidth(plain(category))), 40);
  const labelWidth = Math.min(200, longest);
  const margin = { top: 8, right: 78, bottom: 46, left: labelWidth + 14 };
  const barHeight = series.length > 1 ? 17 : 22;
  const gap = 12;
  const band = series.length * barHeight + gap;
  const plotWidth = WIDTH - margin.left - margin.right;
  const plotHeight = categories.length * band;
  const height = margin.top + plotHeight + margin.bottom;
  const { top, ticks } = niceScale(maxOf(series), { integer: c.integer });
  const x = (value) => margin.left + (value / top) * plotWidth;
  const body = [];
  for (const tick of ticks) {
    body.push(s("line", { class: "chart-grid", x1: x(tick), x2: x(tick), y1: margin.top, y2: margin.top + plotHeight,
      stroke: "#c9d1dc" }));
    body.push(s("text", { class: "chart-tick", x: x(tick), y: margin.top + plotHeight + 16, "text-anchor": "middle",
      "font-size": SMALL, fill: "#4a5566" }, c.tickFormat(tick)));
  }
  body.push(s("text", { class: "chart-axis-label", x: margin.left + plotWidth / 2, y: height - 6,
    "text-anchor": "middle", "font-size": FONT, fill: "#1b2330" }, c.valueLabel));
  categories.forEach((category, index) => {
    const bandTop = margin.top + index * band + gap / 2;
    body.push(s("text", { class: "chart-category", x: margin.left - 8, y: bandTop + (series.length * barHeight) / 2,
      dy: "0.35em", "text-anchor": "end", "font-size": FONT, fill: "#1b2330" }, truncate(plain(category), labelWidth)));
    series.forEach((item, seriesIndex) => {
      const value = item.values[index];
      const y = bandTop + seriesIndex * barHeight;
      const known = typeof value === "number";
      const width = known ? Math.max(value > 0 ? 1.5 : 0, x(value) - margin.left) : 0;
      if (known) {
        body.push(s("rect", { class: "chart-bar", x: margin.left, y: y + 1, width, height: barHeight - 2,
          fill: seriesFill(seriesIndex, patternIds), stroke: PALETTE[seriesIndex % PALETTE.length],
          "data-series": item.name, "data-category": plain(category), "data-value": value }));
      }
      body.push(s("text", { class: "chart-value", x: margin.left + width + 5, y: y + barHeight / 2, dy: "0.35em",
        "font-size": SMALL, fill: known ? "#1b2330" : "#4a5566" }, known ? format(value) : (c.emptyText || t("no data"))));
    });
  });
  body.push(s("line", { class: "chart-axis", x1: margin.left, x2: margin.left, y1: margin.top,
    y2: margin.top + plotHeight, stroke: "#1b2330" }));
  return figure({
    kind: "bar", title: c.title, description: c.description || describe(categories, series, format),
    width: WIDTH, height, defs, body, series, patternIds, table: tableOf(c),
  });
}

// The frame shared by vertical bars and lines: value axis on the left, categories (e.g. weeks) along the bottom.
function verticalFrame(c, body) {
  const labelLines = Math.max(1, ...c.categories.map((category) => lines(category).length));
  const margin = { top: 22, right: 12, bottom: 26 + labelLines * 14, left: 62 };
  const height = 300;
  const plotWidth = WIDTH - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const { top, ticks } = niceScale(maxOf(c.series), { integer: c.integer });
  const y = (value) => margin.top + plotHeight - (value / top) * plotHeight;
  const band = plotWidth / Math.max(1, c.categories.length);
  for (const tick of ticks) {
    body.push(s("line", { class: "chart-grid", x1: margin.left, x2: margin.left + plotWidth, y1: y(tick), y2: y(tick),
      stroke: "#c9d1dc" }));
    body.push(s("text", { class: "chart-tick", x: margin.left - 6, y: y(tick), dy: "0.35em", "text-anchor": "end",
      "font-size": SMALL, fill: "#4a5566" }, c.tickFormat(tick)));
  }
  const axisX = 14;
  const axisY = margin.top + plotHeight / 2;
  body.push(s("text", { class: "chart-axis-label", x: axisX, y: axisY, "text-anchor": "middle",
    transform: `rotate(-90 ${axisX} ${axisY})`, "font-size": FONT, fill: "#1b2330" }, c.valueLabel));
  c.categories.forEach((category, index) => {
    const centre = margin.left + band * index + band / 2;
    const fits = band - 2;
    body.push(s("text", { class: "chart-category", x: centre, y: margin.top + plotHeight + 16, "text-anchor": "middle",
      "font-size": SMALL, fill: "#1b2330" }, lines(category).map((line, lineIndex) =>
      s("tspan", { x: centre, dy: lineIndex ? 14 : 0 }, truncate(String(line), fits, SMALL)))));
  });
  body.push(s("text", { class: "chart-axis-label", x: margin.left + plotWidth / 2, y: height - 6,
    "text-anchor": "middle", "font-size": FONT, fill: "#1b2330" }, c.categoryLabel));
  const axis = s("line", { class: "chart-axis", x1: margin.left, x2: margin.left + plotWidth, y1: y(0), y2: y(0),
    stroke: "#1b2330" });
  return { margin, height, plotWidth, plotHeight, y, band, axis };
}

function verticalBars(c) {
  const { categories, series, format } = c;
  const { ids: patternIds, defs } = hatchDefs(series);
  const body = [];
  const { margin, height, y, band, axis } = verticalFrame(c, body);
  const groupWidth = band * 0.78;
  const barWidth = groupWidth / series.length;
  const valueSize = barWidth < 16 ? 10 : SMALL;
  categories.forEach((category, index) => {
    const groupLeft = margin.left + band * index + (band - groupWidth) / 2;
    series.forEach((item, seriesIndex) => {
      const value = item.values[index];
      const known = typeof value === "number";
      const left = groupLeft + seriesIndex * barWidth;
      const barTop = known ? Math.min(y(value), y(0) - (value > 0 ? 1.5 : 0)) : y(0);
      if (known) {
        body.push(s("rect", { class: "chart-bar", x: left + 1, y: barTop, width: Math.max(1, barWidth - 2),
          height: y(0) - barTop, fill: seriesFill(seriesIndex, patternIds), stroke: PALETTE[seriesIndex % PALETTE.length],
          "data-series": item.name, "data-category": plain(category), "data-value": value }));
      }
      body.push(s("text", { class: "chart-value", x: left + barWidth / 2, y: barTop - 5, "text-anchor": "middle",
        "font-size": valueSize, fill: known ? "#1b2330" : "#4a5566" }, known ? format(value) : "–"));
    });
  });
  body.push(axis);
  return figure({
    kind: "bar", title: c.title, description: c.description || describe(categories, series, format),
    width: WIDTH, height, defs, body, series, patternIds, table: tableOf(c),
  });
}

/**
 * A line per series over categories in order (e.g. ISO weeks), each point marked and labelled with its value.
 * config: as barChart, plus colour (defaults to the palette; DANGER suits breaches).
 */
export function lineChart(config) {
  const c = options(config);
  const { categories, series, format } = c;
  const body = [];
  const { margin, height, y, band, axis } = verticalFrame(c, body);
  body.push(axis);
  series.forEach((item, seriesIndex) => {
    const colour = series.length === 1 && c.colour ? c.colour : PALETTE[seriesIndex % PALETTE.length];
    const points = item.values.map((value, index) => (typeof value === "number"
      ? { x: margin.left + band * index + band / 2, y: y(value), value, category: categories[index] } : null));
    const path = points.filter(Boolean).map((point, index) => `${index ? "L" : "M"}${point.x.toFixed(1)},${point.y.toFixed(1)}`);
    if (path.length > 1) {
      body.push(s("path", { class: "chart-line", d: path.join(" "), fill: "none", stroke: colour, "stroke-width": 2.5,
        "stroke-dasharray": seriesIndex % 2 ? "6 4" : null, "stroke-linejoin": "round" }));
    }
    for (const point of points.filter(Boolean)) {
      body.push(s("circle", { class: "chart-point", cx: point.x, cy: point.y, r: 4.5, fill: colour, stroke: "#ffffff",
        "stroke-width": 1.5, "data-series": item.name, "data-category": plain(point.category), "data-value": point.value }));
      body.push(s("text", { class: "chart-value", x: point.x, y: point.y - 10, "text-anchor": "middle",
        "font-size": SMALL, fill: "#1b2330" }, format(point.value)));
    }
  });
  return figure({
    kind: "line", title: c.title, description: c.description || describe(categories, series, format),
    width: WIDTH, height, defs: null, body, series, patternIds: [], table: tableOf(c),
  });
}
