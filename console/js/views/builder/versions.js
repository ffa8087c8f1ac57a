// Published versions: the list, the diff between two of them, and migrating open cases to a newer one.
import { api } from "../../api.js";
import { formatNumber, t, tn } from "../../i18n.js";
import { clear, fill, formatDate, h, labelled, problemBox, uid } from "../../ui.js";

function brief(value) {
  if (value === undefined) return "";
  const text = JSON.stringify(value, null, 1);
  return text.length > 400 ? `${text.slice(0, 400)}…` : text;
}

const changeWords = () => ({ added: t("Added"), removed: t("Removed"), changed: t("Changed"), reordered: t("Reordered") });

function diffTable(diff) {
  const versions = { from: diff.from_version, to: diff.to_version };
  if (!diff.changes.length) return h("p", {}, t("Versions {from} and {to} are the same.", versions));
  const words = changeWords();
  return h("div", { class: "table-scroll", role: "region", "aria-label": t("Changes"), tabindex: "0" },
    h("table", { class: "diff" },
      h("caption", {}, t("What changed from version {from} to version {to}", versions)),
      h("thead", {}, h("tr", {}, [t("Path"), t("Change"), t("Before"), t("After")].map((title) => h("th", { scope: "col" }, title)))),
      h("tbody", {}, diff.changes.map((change) => h("tr", { class: `change-${change.change}` },
        h("td", {}, h("code", {}, change.path)),
        h("td", {}, h("span", { class: `badge change-badge change-${change.change}` }, words[change.change] || change.change)),
        h("td", {}, change.before === undefined || change.before === null && change.change === "added" ? "" : h("pre", {}, brief(change.before))),
        h("td", {}, change.after === undefined || change.after === null && change.change === "removed" ? "" : h("pre", {}, brief(change.after))))))));
}

export function versionsSection(ctx) {
  const box = h("section", { id: "sec-versions", class: "builder-section", "aria-labelledby": "sec-versions-title" },
    h("h2", { id: "sec-versions-title", tabindex: "-1" }, t("Versions, diff and migration")));
  const body = h("div", {});
  box.append(body);
  const load = async () => {
    clear(body);
    if (!ctx.latestVersion) {
      body.append(h("p", {}, t("Not published yet. Publish to create version 1.")));
      return;
    }
    body.append(h("p", { class: "loading", role: "status" }, t("Loading versions…")));
    let versions;
    try {
      versions = await api.all(`/templates/${encodeURIComponent(ctx.key)}/versions`, {}, 500);
    } catch (problem) {
      fill(body, problemBox(problem));
      return;
    }
    clear(body);
    body.append(h("table", { class: "versions" },
      h("caption", {}, t("Published versions")),
      h("thead", {}, h("tr", {}, [t("Version"), t("Name"), t("Published"), t("By")].map((title) => h("th", { scope: "col" }, title)))),
      h("tbody", {}, versions.map((version) => h("tr", {},
        h("td", {}, formatNumber(version.version)), h("td", {}, version.definition.name),
        h("td", {}, formatDate(version.published_at)), h("td", {}, version.published_by || ""))))));
    const numbers = versions.map((version) => version.version);
    if (numbers.length > 1) body.append(diffPanel(ctx, numbers));
    if (numbers.length > 1) body.append(migrationPanel(ctx, numbers));
    else body.append(h("p", { class: "hint" }, t("Diffs and migration need a second version.")));
  };
  ctx.reloadVersions = load;
  load();
  return box;
}

function versionSelect(numbers, selected) {
  return h("select", { id: uid("ver") }, numbers.map((number) => h("option", { value: number, selected: number === selected }, t("Version {version}", { version: number }))));
}

function diffPanel(ctx, numbers) {
  const from = versionSelect(numbers, numbers[numbers.length - 2]);
  const to = versionSelect(numbers, numbers[numbers.length - 1]);
  const out = h("div", { "aria-live": "polite" });
  const show = async () => {
    fill(out, h("p", { class: "loading", role: "status" }, t("Comparing…")));
    try {
      const diff = await api.get(`/templates/${encodeURIComponent(ctx.key)}/diff`, { from: from.value, to: to.value });
      fill(out, diffTable(diff));
    } catch (problem) {
      fill(out, problemBox(problem));
    }
  };
  return h("div", { class: "panel", role: "region", "aria-labelledby": "diff-title" },
    h("h3", { id: "diff-title" }, t("Compare versions")),
    h("div", { class: "toolbar" }, labelled(t("From"), from), labelled(t("To"), to),
      h("button", { type: "button", onclick: show }, t("Show diff"))),
    out);
}

function migrationPanel(ctx, numbers) {
  const target = versionSelect(numbers.slice(1), numbers[numbers.length - 1]);
  const out = h("div", { "aria-live": "polite" });
  const preview = async () => {
    fill(out, h("p", { class: "loading", role: "status" }, t("Previewing…")));
    let items;
    try {
      items = await api.all(`/templates/${encodeURIComponent(ctx.key)}/migrations`, { to_version: target.value }, 500);
    } catch (problem) {
      fill(out, problemBox(problem));
      return;
    }
    clear(out);
    if (!items.length) { out.append(h("p", {}, t("No open case is on another version than {version}.", { version: target.value }))); return; }
    // A case's stage by its name in the template (a stage the draft dropped keeps its key).
    const stageNames = new Map((ctx.def.stages || []).map((stage) => [stage.key, stage.name || stage.key]));
    const boxes = [];
    const rows = items.map((item) => {
      const box = h("input", { type: "checkbox", value: item.case_id, disabled: !item.can_migrate, checked: item.can_migrate,
        "aria-label": t("Migrate {title}", { title: item.title }) });
      boxes.push(box);
      return h("tr", {},
        h("td", {}, box),
        h("td", {}, h("a", { href: `#/cases/${encodeURIComponent(item.case_id)}` }, item.title)),
        h("td", {}, stageNames.get(item.stage) || item.stage), h("td", {}, `${item.from_version} → ${item.to_version}`),
        h("td", {}, item.can_migrate ? t("Yes") : h("span", {}, t("No"), item.problems.length ? h("ul", {}, item.problems.map((problem) => h("li", {}, problem))) : null)),
        h("td", {}, item.dropped_fields.length ? item.dropped_fields.join(", ") : t("None")),
        h("td", {}, item.unmet_criteria.length ? h("ul", {}, item.unmet_criteria.map((text) => h("li", {}, text))) : t("None")));
    });
    const results = h("div", { "aria-live": "polite" });
    const apply = async () => {
      const chosen = boxes.filter((box) => box.checked).map((box) => box.value);
      if (!chosen.length) { fill(results, problemBox({ title: t("No case selected"), detail: t("Select the cases to migrate.") })); return; }
      const done = [];
      try {
        for (let start = 0; start < chosen.length; start += 25) {
          const answer = await api.post(`/templates/${encodeURIComponent(ctx.key)}/migrations`,
            { to_version: Number(target.value), case_ids: chosen.slice(start, start + 25) });
          done.push(...answer.results);
        }
      } catch (problem) {
        fill(results, problemBox(problem));
        return;
      }
      const titles = Object.fromEntries(items.map((item) => [item.case_id, item.title]));
      fill(results, h("table", {},
        h("caption", {}, t("Migration results")),
        h("thead", {}, h("tr", {}, [t("Case"), t("Result")].map((title) => h("th", { scope: "col" }, title)))),
        h("tbody", {}, done.map((result) => h("tr", {},
          h("td", {}, titles[result.case_id] || result.case_id),
          h("td", {}, result.migrated ? t("Migrated to version {version}", { version: result.version })
            : h("span", { class: "dr-error" }, t("Not migrated: {problem}", { problem: result.problem }))))))));
      ctx.say(tn("{migrated} of {count} case migrated.", "{migrated} of {count} cases migrated.", done.length,
        { migrated: formatNumber(done.filter((result) => result.migrated).length) }));
    };
    out.append(h("div", { class: "table-scroll", role: "region", "aria-label": t("Migration preview"), tabindex: "0" },
      h("table", { class: "migration" },
        h("caption", {}, t("Open cases and version {version}", { version: target.value })),
        h("thead", {}, h("tr", {}, [t("Migrate"), t("Case"), t("Stage"), t("Versions"), t("Can move"), t("Dropped fields"),
          t("Still unmet there")].map((title) => h("th", { scope: "col" }, title)))),
        h("tbody", {}, rows))),
    h("div", { class: "actions" }, h("button", { type: "button", class: "primary", onclick: apply }, t("Migrate selected cases"))),
    results);
  };
  return h("div", { class: "panel", role: "region", "aria-labelledby": "migrate-title" },
    h("h3", { id: "migrate-title" }, t("Migrate open cases")),
    h("div", { class: "toolbar" }, labelled(t("To version"), target),
      h("button", { type: "button", onclick: preview }, t("Preview migration"))),
    out);
}
