// Insight: a dashboard per template, computed in the browser from the template's cases as the cases list
// returns them (GET /cases?template_key=…, every page up to MAX_CASES): open cases per stage, how long cases
// stay in each stage, SLA breaches per ISO week, and cases opened and closed per week.
import { api } from "../api.js";
import { barChart, DANGER, formatNumber, lineChart } from "../charts.js";
import { fill, formatDate, formatDay, h, loading } from "../ui.js";

export const MAX_CASES = 2000;
export const WEEKS = 12;
const DAY = 86_400_000;

export function register(route) {
  route("/insight", pickTemplate, { nav: "insight" });
  route("/insight/:key", dashboard, { nav: "insight" });
}

// ---- the numbers (pure functions of the cases, the stage order and the time now) ----

function time(value) {
  return value ? Date.parse(value) : null;
}

// Median, and the 90th percentile by nearest rank (the smallest value at least 90 % of values do not exceed).
export function median(values) {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

export function percentile(values, share) {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(share * sorted.length) - 1)];
}

// Stages in the latest template's order; stages only older versions had come last, named by their key.
export function stageOrder(definition, cases) {
  const stages = (definition?.stages || []).map((stage) => ({ key: stage.key, name: stage.name, sla: stage.sla }));
  const known = new Set(stages.map((stage) => stage.key));
  for (const item of cases) {
    for (const key of [...(item.stage_history || []).map((visit) => visit.stage), item.stage]) {
      if (key && !known.has(key)) {
        known.add(key);
        stages.push({ key, name: `${key} (earlier version)`, sla: null });
      }
    }
  }
  return stages;
}

export function openPerStage(cases, stages) {
  const counts = new Map(stages.map((stage) => [stage.key, 0]));
  for (const item of cases) {
    if (item.status === "open") counts.set(item.stage, (counts.get(item.stage) || 0) + 1);
  }
  return stages.map((stage) => counts.get(stage.key) || 0);
}

// Milliseconds per stage: every visit the case has left (left_at − entered_at); with `current`, also the time so
// far of open cases still in the stage (now − stage_entered_at).
export function stageDurations(cases, stages, now, { current = false } = {}) {
  const durations = new Map(stages.map((stage) => [stage.key, { left: [], current: [] }]));
  for (const item of cases) {
    for (const visit of item.stage_history || []) {
      const spent = time(visit.left_at) - time(visit.entered_at);
      if (Number.isFinite(spent) && spent >= 0) durations.get(visit.stage)?.left.push(spent);
    }
    if (item.status === "open" && item.stage_entered_at) {
      const spent = now - time(item.stage_entered_at);
      if (Number.isFinite(spent) && spent >= 0) durations.get(item.stage)?.current.push(spent);
    }
  }
  return stages.map((stage) => {
    const { left, current: ongoing } = durations.get(stage.key);
    const counted = current ? [...left, ...ongoing] : left;
    return {
      stage, left: left.length, ongoing: ongoing.length, counted: counted.length,
      median: median(counted), p90: percentile(counted, 0.9),
    };
  });
}

// Monday 00:00 (local time) of the ISO week `value` falls in.
export function weekStart(value) {
  const date = new Date(value);
  date.setHours(0, 0, 0, 0);
  date.setDate(date.getDate() - ((date.getDay() + 6) % 7));
  return date;
}

export function isoWeek(value) {
  const date = new Date(value);
  const thursday = new Date(Date.UTC(date.getFullYear(), date.getMonth(), date.getDate()));
  thursday.setUTCDate(thursday.getUTCDate() + 4 - (thursday.getUTCDay() || 7));
  const yearStart = Date.UTC(thursday.getUTCFullYear(), 0, 1);
  return { year: thursday.getUTCFullYear(), week: Math.ceil(((thursday - yearStart) / DAY + 1) / 7) };
}

// The last `count` ISO weeks up to and including the one `now` is in, oldest first.
export function recentWeeks(now, count = WEEKS) {
  const current = weekStart(now);
  return Array.from({ length: count }, (_item, index) => {
    const start = new Date(current);
    start.setDate(start.getDate() - 7 * (count - 1 - index));
    return { start, ...isoWeek(start) };
  });
}

function weekIndex(weeks) {
  const index = new Map(weeks.map((week, position) => [week.start.getTime(), position]));
  return (value) => (value === null || Number.isNaN(value) ? undefined : index.get(weekStart(value).getTime()));
}

// Stage visits that overran their due_at: left after it, or still in the stage with it past. Each counts in the
// week of its due_at, the moment it breached.
export function breachesPerWeek(cases, weeks, now) {
  const at = weekIndex(weeks);
  const left = weeks.map(() => 0);
  const ongoing = weeks.map(() => 0);
  let earlier = 0;
  let withSla = 0;
  const count = (due, series) => {
    const position = at(due);
    if (position === undefined) earlier += due < weeks[0].start.getTime() ? 1 : 0;
    else series[position] += 1;
  };
  for (const item of cases) {
    for (const visit of item.stage_history || []) {
      const due = time(visit.due_at);
      if (due === null) continue;
      withSla += 1;
      if (time(visit.left_at) > due) count(due, left);
    }
    const due = time(item.stage_due_at);
    if (item.status === "open" && due !== null) {
      withSla += 1;
      if (now > due) count(due, ongoing);
    }
  }
  return { left, ongoing, total: left.map((value, index) => value + ongoing[index]), earlier, withSla };
}

export function openedClosedPerWeek(cases, weeks) {
  const at = weekIndex(weeks);
  const opened = weeks.map(() => 0);
  const closed = weeks.map(() => 0);
  for (const item of cases) {
    const openedAt = at(time(item.created_at));
    if (openedAt !== undefined) opened[openedAt] += 1;
    const closedAt = at(time(item.closed_at));
    if (item.status !== "open" && closedAt !== undefined) closed[closedAt] += 1;
  }
  return { opened, closed };
}

// The unit that keeps the longest duration readable: seconds, minutes, hours or days.
export function durationUnit(maxMs) {
  if (maxMs < 2 * 60_000) return { name: "seconds", short: "s", ms: 1000 };
  if (maxMs < 2 * 3_600_000) return { name: "minutes", short: "min", ms: 60_000 };
  if (maxMs < 3 * DAY) return { name: "hours", short: "h", ms: 3_600_000 };
  return { name: "days", short: "d", ms: DAY };
}

// ---- the views ----

async function pickTemplate(main) {
  loading(main, "Loading templates…");
  const templates = await api.all("/templates", {}, 1000);
  fill(main, h("h1", {}, "Insight"));
  if (!templates.length) {
    main.append(h("p", { "data-insight": "empty" }, "No template has been published yet, so there is nothing to analyse."));
    return;
  }
  main.append(
    h("p", {}, "Choose a template to see its cases per stage, how long cases stay in each stage, "
      + "SLA breaches and the cases opened and closed each week."),
    h("ul", { class: "insight-templates" }, templates.map((template) => h("li", {},
      h("a", { href: `#/insight/${encodeURIComponent(template.key)}`, "data-insight-template": template.key },
        template.name),
      h("span", { class: "hint" }, ` ${template.key}, version ${template.latest_version}`)))));
}

function section(name, title, ...content) {
  const headingId = `insight-${name}-heading`;
  return h("section", { class: "panel insight-section", "data-insight": name, "aria-labelledby": headingId },
    h("h2", { id: headingId }, title), content);
}

function empty(text) {
  return h("p", { class: "insight-empty" }, text);
}

function weekLabels(weeks) {
  const short = (date) => date.toLocaleDateString(undefined, { day: "numeric", month: "short" });
  return {
    axis: weeks.map((week) => [`W${String(week.week).padStart(2, "0")}`, short(week.start)]),
    table: weeks.map((week) => `${week.year}-W${String(week.week).padStart(2, "0")} (from ${formatDay(week.start)})`),
  };
}

function openSection(cases, stages) {
  const counts = openPerStage(cases, stages);
  const total = counts.reduce((sum, value) => sum + value, 0);
  if (!total) return section("open-per-stage", "Open cases per stage", empty("No case of this template is open."));
  return section("open-per-stage", "Open cases per stage",
    h("p", { class: "hint" }, `${total} open ${total === 1 ? "case" : "cases"}, in the template's stage order.`),
    barChart({
      title: "Open cases per stage",
      categories: stages.map((stage) => stage.name),
      series: [{ name: "Open cases", values: counts }],
      categoryLabel: "Stage", valueLabel: "Open cases", integer: true,
    }));
}

function timeChart(cases, stages, now, current) {
  const rows = stageDurations(cases, stages, now, { current });
  const counted = rows.reduce((sum, row) => sum + row.counted, 0);
  if (!counted) {
    return empty(current
      ? "No case has entered a stage yet, so there is no time to show."
      : "No case has left a stage yet, so there are no completed stage times. "
        + "Tick the box above to count the time so far of cases still in a stage.");
  }
  const unit = durationUnit(Math.max(...rows.map((row) => row.p90 || 0)));
  const inUnit = (ms) => (ms === null ? null : ms / unit.ms);
  const format = (value) => (value === null ? "no visits" : `${formatNumber(value)} ${unit.short}`);
  return barChart({
    title: `Median and 90th percentile time in each stage, in ${unit.name}`,
    categories: stages.map((stage) => stage.name),
    series: [
      { name: "Median", values: rows.map((row) => inUnit(row.median)) },
      { name: "90th percentile", values: rows.map((row) => inUnit(row.p90)) },
    ],
    categoryLabel: "Stage", valueLabel: `Time in stage (${unit.name})`,
    format, tableFormat: (value) => (value === null ? "—" : `${formatNumber(value)} ${unit.name}`),
    emptyText: "no visits",
    extraColumns: [
      { name: "Visits that left the stage", values: rows.map((row) => row.left) },
      { name: current ? "Cases still in it (time so far, counted)" : "Cases still in it (not counted)",
        values: rows.map((row) => row.ongoing) },
    ],
  });
}

function timeSection(cases, stages, now) {
  const holder = h("div", { class: "insight-chart-holder" });
  const note = h("p", { class: "hint", id: "insight-time-note" });
  const toggle = h("input", { type: "checkbox", id: "insight-time-current", "aria-describedby": note.id });
  const show = () => {
    note.textContent = toggle.checked
      ? "Counting every stage visit a case has left (from entering to leaving) and, for open cases, the time so far "
        + "in the stage they are in now, which is less than they will finally spend there."
      : "Counting only stage visits that have ended: the time from entering the stage to leaving it. "
        + "Cases still in a stage are left out until they move on.";
    fill(holder, timeChart(cases, stages, now, toggle.checked));
  };
  toggle.addEventListener("change", show);
  show();
  return section("time-in-stage", "Time in each stage",
    h("p", { class: "hint" }, "Median: half of the visits were shorter. 90th percentile: nine in ten were no longer."),
    h("div", { class: "choice" }, toggle,
      h("label", { for: toggle.id }, "Count the time so far of cases still in a stage")),
    note, holder);
}

function breachSection(cases, stages, weeks, now) {
  const breaches = breachesPerWeek(cases, weeks, now);
  const title = `SLA breaches per week, last ${WEEKS} weeks`;
  const explain = h("p", { class: "hint" },
    "A breach is a stage visit that ran past its SLA deadline: the case left the stage after it was due, or is "
    + "still in the stage and the deadline has passed. Each counts in the ISO week it fell due.");
  if (!breaches.withSla && !stages.some((stage) => stage.sla)) {
    return section("sla-breaches", "SLA breaches over time",
      empty("No stage of this template has an SLA, so no stage visit can breach one."));
  }
  const total = breaches.total.reduce((sum, value) => sum + value, 0);
  const earlier = breaches.earlier
    ? ` ${breaches.earlier} earlier ${breaches.earlier === 1 ? "breach falls" : "breaches fall"} before these weeks.` : "";
  if (!total) {
    return section("sla-breaches", "SLA breaches over time", explain,
      empty(`No stage visit overran its SLA in the last ${WEEKS} weeks.${earlier}`));
  }
  const labels = weekLabels(weeks);
  return section("sla-breaches", "SLA breaches over time", explain,
    h("p", { class: "hint" }, `${total} ${total === 1 ? "breach" : "breaches"} in the last ${WEEKS} weeks.${earlier}`),
    lineChart({
      title,
      categories: labels.axis, tableCategories: labels.table,
      series: [{ name: "Breaches", values: breaches.total }],
      colour: DANGER, categoryLabel: "ISO week (starting)", valueLabel: "Breaches", integer: true,
      extraColumns: [
        { name: "Of which the case left the stage late", values: breaches.left },
        { name: "Of which the case is still in the stage", values: breaches.ongoing },
      ],
    }));
}

function throughputSection(cases, weeks) {
  const { opened, closed } = openedClosedPerWeek(cases, weeks);
  const name = "Cases opened and closed per week";
  if (![...opened, ...closed].some(Boolean)) {
    return section("opened-closed", name, empty(`No case was opened or closed in the last ${WEEKS} weeks.`));
  }
  const labels = weekLabels(weeks);
  const sum = (values) => values.reduce((total, value) => total + value, 0);
  return section("opened-closed", name,
    h("p", { class: "hint" }, `By the week a case was opened (created) and the week it was closed or cancelled: `
      + `${sum(opened)} opened and ${sum(closed)} closed or cancelled in the last ${WEEKS} weeks.`),
    barChart({
      title: `${name}, last ${WEEKS} weeks`, orientation: "vertical",
      categories: labels.axis, tableCategories: labels.table,
      series: [{ name: "Opened", values: opened }, { name: "Closed or cancelled", values: closed }],
      categoryLabel: "ISO week (starting)", valueLabel: "Cases", integer: true,
    }));
}

async function dashboard(main, params) {
  const key = params.key;
  loading(main, "Loading the template and its cases…");
  let template;
  let cases;
  try {
    [template, cases] = await Promise.all([
      api.get(`/templates/${encodeURIComponent(key)}`),
      api.all("/cases", { template_key: key }, MAX_CASES),
    ]);
  } catch (problem) {
    if (problem.status !== 404) throw problem;
    fill(main, h("h1", {}, "Insight"),
      h("p", { "data-insight": "empty" }, `There is no published template “${key}”.`),
      h("a", { href: "#/insight" }, "Choose a template"));
    return;
  }
  const now = Date.now();
  const definition = template.definition;
  const stages = stageOrder(definition, cases);
  const weeks = recentWeeks(now);
  const open = cases.filter((item) => item.status === "open").length;
  const capped = cases.length >= MAX_CASES;
  const container = h("div", { class: "insight" });
  fill(main,
    h("p", { class: "insight-back" }, h("a", { href: "#/insight" }, "All templates")),
    h("h1", {}, `Insight: ${definition.name}`),
    h("p", { class: "hint", "data-insight": "summary" },
      `Computed in your browser from ${cases.length} ${cases.length === 1 ? "case" : "cases"} of this template `
      + `(${open} open, ${cases.length - open} closed or cancelled), as the cases list returned them`
      + (capped ? `: only the ${MAX_CASES} most recently changed were analysed, older ones are left out` : "")
      + `. Stages in the order of version ${template.version}. As of ${formatDate(now)}.`),
    container);
  if (!cases.length) {
    container.append(empty("No case has been opened from this template yet, so there is nothing to chart."));
  } else {
    container.append(
      openSection(cases, stages),
      timeSection(cases, stages, now),
      breachSection(cases, stages, weeks, now),
      throughputSection(cases, weeks));
  }
  container.dataset.insightReady = "true";
}
