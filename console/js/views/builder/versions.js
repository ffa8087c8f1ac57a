// Published versions: the list, the diff between two of them, and migrating open cases to a newer one.
import { api } from "../../api.js";
import { clear, fill, formatDate, h, labelled, problemBox, uid } from "../../ui.js";

function brief(value) {
  if (value === undefined) return "";
  const text = JSON.stringify(value, null, 1);
  return text.length > 400 ? `${text.slice(0, 400)}…` : text;
}

const CHANGE_LABELS = { added: "Added", removed: "Removed", changed: "Changed", reordered: "Reordered" };

export function diffTable(diff) {
  if (!diff.changes.length) return h("p", {}, `Versions ${diff.from_version} and ${diff.to_version} are the same.`);
  return h("div", { class: "table-scroll", role: "region", "aria-label": "Changes", tabindex: "0" },
    h("table", { class: "diff" },
      h("caption", {}, `What changed from version ${diff.from_version} to version ${diff.to_version}`),
      h("thead", {}, h("tr", {}, ["Path", "Change", "Before", "After"].map((title) => h("th", { scope: "col" }, title)))),
      h("tbody", {}, diff.changes.map((change) => h("tr", { class: `change-${change.change}` },
        h("td", {}, h("code", {}, change.path)),
        h("td", {}, h("span", { class: `badge change-badge change-${change.change}` }, CHANGE_LABELS[change.change] || change.change)),
        h("td", {}, change.before === undefined || change.before === null && change.change === "added" ? "" : h("pre", {}, brief(change.before))),
        h("td", {}, change.after === undefined || change.after === null && change.change === "removed" ? "" : h("pre", {}, brief(change.after))))))));
}

export function versionsSection(ctx) {
  const box = h("section", { id: "sec-versions", class: "builder-section", "aria-labelledby": "sec-versions-title" },
    h("h2", { id: "sec-versions-title", tabindex: "-1" }, "Versions, diff and migration"));
  const body = h("div", {});
  box.append(body);
  const load = async () => {
    clear(body);
    if (!ctx.latestVersion) {
      body.append(h("p", {}, "Not published yet. Publish to create version 1."));
      return;
    }
    body.append(h("p", { class: "loading", role: "status" }, "Loading versions…"));
    let versions;
    try {
      versions = await api.all(`/templates/${encodeURIComponent(ctx.key)}/versions`, {}, 500);
    } catch (problem) {
      fill(body, problemBox(problem));
      return;
    }
    clear(body);
    body.append(h("table", { class: "versions" },
      h("caption", {}, "Published versions"),
      h("thead", {}, h("tr", {}, ["Version", "Name", "Published", "By"].map((title) => h("th", { scope: "col" }, title)))),
      h("tbody", {}, versions.map((version) => h("tr", {},
        h("td", {}, String(version.version)), h("td", {}, version.definition.name),
        h("td", {}, formatDate(version.published_at)), h("td", {}, version.published_by || ""))))));
    const numbers = versions.map((version) => version.version);
    if (numbers.length > 1) body.append(diffPanel(ctx, numbers));
    if (numbers.length > 1) body.append(migrationPanel(ctx, numbers));
    else body.append(h("p", { class: "hint" }, "Diffs and migration need a second version."));
  };
  ctx.reloadVersions = load;
  load();
  return box;
}

function versionSelect(numbers, selected) {
  return h("select", { id: uid("ver") }, numbers.map((number) => h("option", { value: number, selected: number === selected }, `Version ${number}`)));
}

function diffPanel(ctx, numbers) {
  const from = versionSelect(numbers, numbers[numbers.length - 2]);
  const to = versionSelect(numbers, numbers[numbers.length - 1]);
  const out = h("div", { "aria-live": "polite" });
  const show = async () => {
    fill(out, h("p", { class: "loading", role: "status" }, "Comparing…"));
    try {
      const diff = await api.get(`/templates/${encodeURIComponent(ctx.key)}/diff`, { from: from.value, to: to.value });
      fill(out, diffTable(diff));
    } catch (problem) {
      fill(out, problemBox(problem));
    }
  };
  return h("div", { class: "panel", role: "region", "aria-labelledby": "diff-title" },
    h("h3", { id: "diff-title" }, "Compare versions"),
    h("div", { class: "toolbar" }, labelled("From", from), labelled("To", to),
      h("button", { type: "button", onclick: show }, "Show diff")),
    out);
}

function migrationPanel(ctx, numbers) {
  const target = versionSelect(numbers.slice(1), numbers[numbers.length - 1]);
  const out = h("div", { "aria-live": "polite" });
  const preview = async () => {
    fill(out, h("p", { class: "loading", role: "status" }, "Previewing…"));
    let items;
    try {
      items = await api.all(`/templates/${encodeURIComponent(ctx.key)}/migrations`, { to_version: target.value }, 500);
    } catch (problem) {
      fill(out, problemBox(problem));
      return;
    }
    clear(out);
    if (!items.length) { out.append(h("p", {}, `No open case is on another version than ${target.value}.`)); return; }
    // A case's stage by its name in the template (a stage the draft dropped keeps its key).
    const stageNames = new Map((ctx.def.stages || []).map((stage) => [stage.key, stage.name || stage.key]));
    const boxes = [];
    const rows = items.map((item) => {
      const box = h("input", { type: "checkbox", value: item.case_id, disabled: !item.can_migrate, checked: item.can_migrate,
        "aria-label": `Migrate ${item.title}` });
      boxes.push(box);
      return h("tr", {},
        h("td", {}, box),
        h("td", {}, h("a", { href: `#/cases/${encodeURIComponent(item.case_id)}` }, item.title)),
        h("td", {}, stageNames.get(item.stage) || item.stage), h("td", {}, `${item.from_version} → ${item.to_version}`),
        h("td", {}, item.can_migrate ? "Yes" : h("span", {}, "No", item.problems.length ? h("ul", {}, item.problems.map((problem) => h("li", {}, problem))) : null)),
        h("td", {}, item.dropped_fields.length ? item.dropped_fields.join(", ") : "None"),
        h("td", {}, item.unmet_criteria.length ? h("ul", {}, item.unmet_criteria.map((text) => h("li", {}, text))) : "None"));
    });
    const results = h("div", { "aria-live": "polite" });
    const apply = async () => {
      const chosen = boxes.filter((box) => box.checked).map((box) => box.value);
      if (!chosen.length) { fill(results, problemBox({ title: "No case selected", detail: "Select the cases to migrate." })); return; }
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
        h("caption", {}, "Migration results"),
        h("thead", {}, h("tr", {}, ["Case", "Result"].map((title) => h("th", { scope: "col" }, title)))),
        h("tbody", {}, done.map((result) => h("tr", {},
          h("td", {}, titles[result.case_id] || result.case_id),
          h("td", {}, result.migrated ? `Migrated to version ${result.version}` : h("span", { class: "dr-error" }, `Not migrated: ${result.problem}`)))))));
      ctx.say(`${done.filter((result) => result.migrated).length} of ${done.length} cases migrated.`);
    };
    out.append(h("div", { class: "table-scroll", role: "region", "aria-label": "Migration preview", tabindex: "0" },
      h("table", { class: "migration" },
        h("caption", {}, `Open cases and version ${target.value}`),
        h("thead", {}, h("tr", {}, ["Migrate", "Case", "Stage", "Versions", "Can move", "Dropped fields", "Still unmet there"].map((title) => h("th", { scope: "col" }, title)))),
        h("tbody", {}, rows))),
    h("div", { class: "actions" }, h("button", { type: "button", class: "primary", onclick: apply }, "Migrate selected cases")),
    results);
  };
  return h("div", { class: "panel", role: "region", "aria-labelledby": "migrate-title" },
    h("h3", { id: "migrate-title" }, "Migrate open cases"),
    h("div", { class: "toolbar" }, labelled("To version", target),
      h("button", { type: "button", onclick: preview }, "Preview migration")),
    out);
}
