// Insight: the reports of the event lake (GET /insight/{report}) over every case, of one template
// (#/insight/:key) or of every template the reader may read (#/insight): throughput, open cases per stage,
// stage times, time to close, SLA warnings and breaches, automations and portal activity, over a range of days
// and grouped by week, month, owner or team role; each a chart, a table and a CSV download.
import { api, latestDefinition } from "../api.js";
import { t, tn } from "../i18n.js";
import { navigate } from "../router.js";
import { fill, h, loading, problemBox, templateNamer } from "../ui.js";
import { filterForm, filterQuery, readFilters } from "./insight/filters.js";
import { duration, reportSection } from "./insight/report.js";

export function register(route) {
  route("/insight", (main, _params, query) => dashboard(main, null, query), { nav: "insight" });
  route("/insight/:key", (main, params, query) => dashboard(main, params.key, query), { nav: "insight" });
}

function link(key, filters) {
  return `#/insight${key ? `/${encodeURIComponent(key)}` : ""}?${filterQuery(filters)}`;
}

// Templates' and stages' names for the keys the lake holds; a stage's name from its template's newest version.
function namer(templates, current) {
  const named = templateNamer(templates);
  const byKey = new Map(templates.map((template) => [template.key, template]));
  const definitions = new Map();
  return {
    template: (key) => (byKey.has(key) ? named(byKey.get(key)) : key),
    definition: (templateKey) => definitions.get(templateKey),
    stage: (templateKey, stageKey) => definitions.get(templateKey || current)?.stages
      ?.find((stage) => stage.key === stageKey)?.name || stageKey,
    async load(keys) {
      const wanted = [...new Set([...keys, current].filter((key) => key && !definitions.has(key)))];
      await Promise.all(wanted.map(async (key) => definitions.set(key, await latestDefinition(key))));
    },
  };
}

// The staff roles of the template's newest version, [key, name], for the team role filter; none if it cannot be read
// (the reports still load, and say why if they cannot either).
async function teamRoles(names, key) {
  try {
    await names.load([]);
  } catch {
    return [];
  }
  return (names.definition(key)?.roles || [])
    .filter((role) => role.kind !== "external")
    .map((role) => [role.key, role.name || role.key]);
}

// The templates the reader may read, as GET /insight lists them (null: every template), with their names.
function readable(catalog, templates) {
  if (catalog.templates === null) return templates;
  const byKey = new Map(templates.map((template) => [template.key, template]));
  return catalog.templates.map((key) => byKey.get(key) || { key, name: key });
}

function scopeText(catalog, key, templates) {
  if (key) return t("of this template");
  if (catalog.templates === null) return t("of any template");
  return tn("of the {count} template you hold a role on", "of the {count} templates you hold a role on", templates.length);
}

async function dashboard(main, key, query) {
  loading(main, t("Loading insight…"));
  let catalog;
  let templates;
  try {
    [catalog, templates] = await Promise.all([api.get("/insight"), api.all("/templates", {}, 1000)]);
  } catch (problem) {
    fill(main, h("h1", {}, t("Insight")), problemBox(problem));
    return;
  }
  const choices = readable(catalog, templates);
  const chosen = choices.find((template) => template.key === key);
  if (!choices.length || (key && !chosen)) {
    fill(main, h("h1", {}, t("Insight")), h("p", { "data-insight": "empty" }, key
      ? t("There is no published template “{key}” whose figures you may read.", { key })
      : t("You hold no role on any template, so there are no figures for you to read.")),
    key ? h("a", { href: "#/insight" }, t("All templates")) : null);
    return;
  }
  const names = namer(choices, key);
  const roles = key ? await teamRoles(names, key) : [];
  const labelled = choices.map((template) => ({ key: template.key, label: names.template(template.key) }));
  const reports = h("div", { class: "insight", id: "insight-reports" });
  let filters = readFilters(query);
  let drawing = 0;
  const draw = () => {
    drawing += 1;
    const mine = drawing;
    const ctx = { filters, template: key, names, scope: scopeText(catalog, key, choices), delivery: catalog.delivery_seconds };
    const sections = catalog.reports.map((summary) => reportSection(ctx, summary));
    delete reports.dataset.insightReady;
    fill(reports, sections.map((section) => section.element));
    Promise.allSettled(sections.map((section) => section.done)).then(() => {
      if (mine === drawing) reports.dataset.insightReady = "true";
    });
  };
  const back = h("a", { href: link(null, filters) }, t("All templates"));
  fill(main,
    key ? h("p", { class: "insight-back" }, back) : null,
    h("h1", {}, key ? t("Insight: {template}", { template: names.template(key) }) : t("Insight: all templates")),
    h("p", { class: "hint", "data-insight": "summary" },
      t("Every case {scope}, from the event lake, with no cap on the number of cases. A change shows here within {duration}.",
        { scope: scopeText(catalog, key, choices), duration: duration(catalog.delivery_seconds) })),
    filterForm({
      filters, templates: labelled, template: key, roles,
      onApply: (changed) => {
        filters = changed;
        window.history.replaceState(window.history.state, "", link(key, filters));
        back.href = link(null, filters);
        draw();
      },
      onTemplate: (picked, current) => navigate(link(picked, current)),
    }),
    reports);
  draw();
}
