// Templates (admins): the list, a new template from blank or from an example, and the builder.
import { ApiProblem, api } from "../api.js";
import { formatNumber, t, tn } from "../i18n.js";
import { guardLeaving, navigate } from "../router.js";
import { announce, clear, fill, formatDate, h, loading, problemBox, showFieldErrors } from "../ui.js";
import { PERMISSIONS, placeIssues } from "./builder/common.js";
import { rulesSection } from "./builder/rules.js";
import {
  basicsSection, decisionsSection, documentsSection, fieldsSection, portalSection, rolesSection, stagesSection,
} from "./builder/sections.js";
import { versionsSection } from "./builder/versions.js";

const KEY_PATTERN = /^[a-z][a-z0-9-]{1,62}$/;
const DRAFTS_KEY = "caseline.builder.drafts";
// Templates created in this tab that have neither a draft nor a version yet.
const pending = new Map();

export function register(route) {
  route("/templates", listView, { adminOnly: true, nav: "templates" });
  route("/templates/:key", builderView, { adminOnly: true, nav: "templates" });
}

function path(key, suffix = "") {
  return `/templates/${encodeURIComponent(key)}${suffix}`;
}

function rememberedDrafts() {
  try { return JSON.parse(window.localStorage.getItem(DRAFTS_KEY) || "[]"); } catch { return []; }
}

function rememberDraft(key, remember = true) {
  const keys = new Set(rememberedDrafts());
  if (remember) keys.add(key); else keys.delete(key);
  try { window.localStorage.setItem(DRAFTS_KEY, JSON.stringify([...keys])); } catch { /* private mode */ }
}

async function optional(promise) {
  try { return await promise; } catch (problem) {
    if (problem instanceof ApiProblem && problem.status === 404) return null;
    throw problem;
  }
}

function blankDefinition(key, name) {
  return {
    key, name, description: null, fields: [], stages: [], document_types: [], decisions: [],
    roles: [{ key: "team", name: "Team", kind: "internal", permissions: [...PERMISSIONS], fields: { "*": "edit" }, groups: ["caseline-staff"], email: null }],
    owner_role: null, calendar: { timezone: "UTC", workdays: [1, 2, 3, 4, 5], opens: "09:00", closes: "17:00", holidays: [] },
    rules: [], portal: { enabled: true, stages: null, timeline_events: ["case.opened", "case.stage_changed", "document.added", "comment.added"], branding: {} },
  };
}

// ---------------------------------------------------------------- the list

async function listView(main) {
  loading(main, t("Loading templates…"));
  const templates = await api.all("/templates", {}, 500);
  const known = new Set(templates.map((item) => item.key));
  const drafts = rememberedDrafts().filter((key) => !known.has(key));

  const table = templates.length ? h("table", { class: "templates" },
    h("caption", { class: "visually-hidden" }, t("Published templates")),
    h("thead", {}, h("tr", {}, [t("Key"), t("Name"), t("Latest version"), t("Published")].map((title) => h("th", { scope: "col" }, title)))),
    h("tbody", {}, templates.map((item) => h("tr", {},
      h("td", {}, h("a", { href: `#/templates/${encodeURIComponent(item.key)}` }, h("code", {}, item.key))),
      h("td", {}, item.name),
      h("td", {}, formatNumber(item.latest_version)),
      h("td", {}, formatDate(item.published_at))))))
    : h("p", {}, t("No templates yet."));

  const keyInput = h("input", { type: "text", id: "new-template-key", name: "key", required: true, autocomplete: "off",
    spellcheck: "false", pattern: "[a-z][a-z0-9\\-]{1,62}", "data-pointer": "/key", "aria-describedby": "new-template-key-hint" });
  const nameInput = h("input", { type: "text", id: "new-template-name", name: "name", required: true, autocomplete: "off", "data-pointer": "/name" });
  const source = h("select", { id: "new-template-source", name: "source" },
    h("option", { value: "" }, t("A blank template")),
    templates.map((item) => h("option", { value: item.key }, t("A copy of {name} ({key})", { name: item.name, key: item.key }))));
  const status = h("div", {});
  const form = h("form", { class: "panel new-template", novalidate: true, "aria-labelledby": "new-template-title" },
    h("h2", { id: "new-template-title" }, t("New template")),
    h("div", { class: "grid three" },
      h("div", { class: "field" }, h("label", { for: keyInput.id }, t("Template key")), keyInput,
        h("p", { class: "hint", id: "new-template-key-hint" }, t("Lower case letters, digits and -, e.g. expense-claim. It never changes."))),
      h("div", { class: "field" }, h("label", { for: nameInput.id }, t("Template name")), nameInput),
      h("div", { class: "field" }, h("label", { for: source.id }, t("Start from")), source)),
    status,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, t("Create template"))));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clear(status);
    const key = keyInput.value.trim();
    const name = nameInput.value.trim();
    const errors = [];
    if (!KEY_PATTERN.test(key)) errors.push({ pointer: "/key", detail: t("Use 2 to 63 characters: a lower-case letter, then lower-case letters, digits or -.") });
    else if (known.has(key)) errors.push({ pointer: "/key", detail: t("A template {key} exists already; open it from the list.", { key }) });
    if (!name) errors.push({ pointer: "/name", detail: t("Give the template a name.") });
    else if (rememberedDrafts().includes(key)) errors.push({ pointer: "/key", detail: t("A draft of {key} exists already; open it from the list of drafts.", { key }) });
    if (errors.length) { showFieldErrors(form, { errors }); return; }
    let definition = blankDefinition(key, name);
    if (source.value) {
      try {
        const example = await api.get(path(source.value));
        definition = { ...structuredClone(example.definition), key, name };
      } catch (problem) { fill(status, problemBox(problem)); return; }
    }
    pending.set(key, definition);
    announce(t("Template {name} created; build it and save a draft.", { name }));
    navigate(`#/templates/${encodeURIComponent(key)}`);
  });

  fill(main,
    h("h1", {}, t("Templates")),
    h("p", { class: "hint" }, t("A template describes one kind of case: its data, stages, roles and rules. Open one to change it.")),
    table,
    drafts.length ? h("div", {}, h("h2", {}, t("Drafts not yet published")),
      h("ul", {}, drafts.map((key) => h("li", {}, h("a", { href: `#/templates/${encodeURIComponent(key)}` }, key))))) : null,
    form);
}

// ---------------------------------------------------------------- the builder

const sectionLinks = () => [["basics", t("Basics")], ["fields", t("Fields")], ["stages", t("Stages")],
  ["documents", t("Document types")], ["decisions", t("Decisions")], ["roles", t("Roles")], ["rules", t("Rules")],
  ["portal", t("Portal")], ["versions", t("Versions")]];
const SECTION_OF = { key: "basics", name: "basics", description: "basics", owner_role: "basics", calendar: "basics",
  fields: "fields", stages: "stages", document_types: "documents", decisions: "decisions", roles: "roles", rules: "rules", portal: "portal" };

function goTo(section) {
  const heading = document.getElementById(`sec-${section}-title`);
  heading?.scrollIntoView({ block: "start" });
  heading?.focus({ preventScroll: true });
}

const FOCUSABLE = "input, select, textarea, button, [tabindex]";

function focusKeyOf(form, element) {
  if (!element || !form.contains(element)) return null;
  for (const attribute of ["data-pointer", "data-tool", "data-add", "data-cb-row", "data-stage-handle"]) {
    const value = element.getAttribute(attribute);
    if (value !== null) {
      const selector = `[${attribute}="${CSS.escape(value)}"]`;
      return { selector, nth: [...form.querySelectorAll(selector)].indexOf(element) };
    }
  }
  return { index: [...form.querySelectorAll(FOCUSABLE)].indexOf(element) };
}

function restoreFocus(form, key) {
  if (!key) return;
  const target = key.selector ? form.querySelectorAll(key.selector)[Math.max(key.nth, 0)] : form.querySelectorAll(FOCUSABLE)[key.index];
  target?.focus({ preventScroll: true });
}

async function builderView(main, params, _query, user) {
  const key = params.key;
  loading(main, t("Loading the template…"));
  // A template just created in this tab exists nowhere yet: nothing to ask the API (and no 404s in the console).
  const fresh = pending.has(key);
  const [draft, latest] = fresh ? [null, null]
    : await Promise.all([optional(api.get(path(key, "/draft"))), optional(api.get(path(key)))]);
  let definition = draft?.definition || latest?.definition || pending.get(key);
  if (!definition) {
    fill(main, h("h1", {}, t("No such template")), h("p", {}, t("There is no template {key}, published or drafted.", { key })),
      h("a", { href: "#/templates" }, t("Back to the templates")));
    return;
  }
  definition = structuredClone(definition);

  const form = h("form", { class: "builder", novalidate: true, "aria-label": t("Template definition") });
  form.addEventListener("submit", (event) => event.preventDefault());
  const heading = h("h1", {});
  const stateLine = h("p", { class: "builder-state", role: "status" });
  const summary = h("div", { class: "builder-summary", tabindex: "-1" });
  const saveButton = h("button", { type: "button", class: "primary", id: "save-draft" }, t("Save draft"));
  const publishButton = h("button", { type: "button", id: "publish" }, t("Publish"));

  const ctx = {
    key, def: definition, user, latestVersion: latest?.version || null, issues: draft?.issues || [],
    dirty: false, savedAt: draft?.saved_at || null,
    touch() {
      if (!ctx.dirty) { ctx.dirty = true; describeState(); }
    },
    say: announce,
    render,
    reapply() { placeIssues(form, ctx.issues); },
    showIssues(issues, { focus = true, title } = {}) {
      ctx.issues = issues;
      const left = placeIssues(form, issues, { focus });
      showSummary(issues, left, title);
    },
    renameKey,
    updateTitle,
  };

  function updateTitle() {
    heading.textContent = t("Template builder: {name}", { name: ctx.def.name || key });
  }

  function describeState() {
    const parts = [];
    parts.push(ctx.latestVersion ? t("Published version {version}.", { version: ctx.latestVersion }) : t("Not published yet."));
    if (ctx.savedAt) parts.push(t("Draft saved {when}.", { when: formatDate(ctx.savedAt) }));
    if (ctx.dirty) parts.push(t("Unsaved changes."));
    stateLine.textContent = parts.join(" ");
  }

  function showSummary(issues, left, title) {
    clear(summary);
    if (!issues.length) return;
    const placed = issues.length - left.length;
    const box = h("div", { class: "problem", role: "alert" },
      h("p", { class: "problem-title" }, title || tn("{count} mistake to fix before publishing", "{count} mistakes to fix before publishing", issues.length)),
      placed ? h("p", {}, tn("{count} is shown next to the input concerned.", "{count} are shown next to the input concerned.", placed)) : null);
    if (left.length) {
      box.append(h("ul", { class: "unplaced" }, left.map((issue) => {
        const section = SECTION_OF[(issue.pointer || "").split("/")[1]] || "basics";
        const label = sectionLinks().find(([id]) => id === section)[1];
        const where = issue.pointer || t("(template)");
        return h("li", {}, `${where}: ${issue.detail} `,
          h("button", { type: "button", class: "link", onclick: () => goTo(section) }, t("Go to {section}", { section: label })));
      })));
    }
    summary.append(box);
  }

  // Re-renders every section; text typed stays in the definition, focus returns where it was (or to `focus`).
  let pendingRender = null;
  function render({ focus, fallback, keepFocus } = {}) {
    if (keepFocus && pointerDown) { pendingRender = { keepFocus: true }; return; }
    if (keepFocus) {
      // After a change event, let focus move on first.
      window.setTimeout(() => {
        if (pointerDown) { pendingRender = { keepFocus: true }; return; }
        draw({});
      }, 0);
      return;
    }
    draw({ focus, fallback });
  }
  function draw({ focus, fallback }) {
    pendingRender = null;
    const remembered = focusKeyOf(form, document.activeElement);
    const scroll = window.scrollY;
    fill(form,
      basicsSection(ctx), fieldsSection(ctx), stagesSection(ctx), documentsSection(ctx), decisionsSection(ctx),
      rolesSection(ctx), rulesSection(ctx), portalSection(ctx));
    placeIssues(form, ctx.issues);
    const target = focus ? (form.querySelector(focus) && !form.querySelector(focus).disabled ? form.querySelector(focus)
      : fallback ? form.querySelector(fallback) : null) : null;
    if (target) target.focus();
    else {
      window.scrollTo(0, scroll);
      restoreFocus(form, remembered);
    }
  }
  // A render asked for while a button is pressed waits for the click, so the click lands on the button.
  let pointerDown = false;
  const down = () => { pointerDown = true; };
  const up = () => window.setTimeout(() => {
    pointerDown = false;
    if (pendingRender && form.isConnected) draw({});
  }, 0);
  document.addEventListener("pointerdown", down, true);
  document.addEventListener("pointerup", up, true);
  // Unhooked once the builder is gone; a person who chose to stay keeps it (router.js, mayLeave).
  const unhook = () => window.setTimeout(() => {
    if (form.isConnected) return;
    document.removeEventListener("pointerdown", down, true);
    document.removeEventListener("pointerup", up, true);
    window.removeEventListener("hashchange", unhook);
  }, 0);
  window.addEventListener("hashchange", unhook);

  function renameKey(kind, before, after) {
    const def = ctx.def;
    const swap = (list) => (Array.isArray(list) ? list.map((item) => (item === before ? after : item)) : list);
    if (kind === "stage") {
      for (const stage of def.stages || []) stage.next = swap(stage.next);
      for (const type of def.document_types || []) type.required_in_stages = swap(type.required_in_stages);
      for (const decision of def.decisions || []) decision.required_in_stages = swap(decision.required_in_stages);
      if (def.portal) def.portal.stages = swap(def.portal.stages);
      for (const rule of def.rules || []) for (const action of rule.actions || []) if (action.type === "move_stage" && action.to === before) action.to = after;
    } else if (kind === "field") {
      for (const stage of def.stages || []) stage.required_fields = swap(stage.required_fields);
      for (const role of def.roles || []) {
        if (role.fields && before in role.fields) { role.fields[after] = role.fields[before]; delete role.fields[before]; }
      }
    } else if (kind === "role") {
      if (def.owner_role === before) def.owner_role = after;
      for (const stage of def.stages || []) for (const task of stage.tasks || []) if (task.assignee_role === before) task.assignee_role = after;
      for (const type of def.document_types || []) type.uploader_roles = swap(type.uploader_roles);
      for (const decision of def.decisions || []) decision.decider_roles = swap(decision.decider_roles);
    } else if (kind === "document") {
      for (const rule of def.rules || []) for (const action of rule.actions || []) if (action.document_type === before) action.document_type = after;
    }
  }

  async function busy(button, text, work) {
    const label = button.textContent;
    button.disabled = true;
    button.textContent = text;
    try { await work(); } finally { button.disabled = false; button.textContent = label; }
  }

  saveButton.addEventListener("click", () => busy(saveButton, t("Saving…"), async () => {
    try {
      const saved = await api.put(path(key, "/draft"), ctx.def);
      ctx.dirty = false;
      ctx.savedAt = saved.saved_at;
      pending.delete(key);
      rememberDraft(key);
      describeState();
      ctx.showIssues(saved.issues || [], { title: saved.issues?.length ? tn("Draft saved with {count} mistake to fix before publishing",
        "Draft saved with {count} mistakes to fix before publishing", saved.issues.length) : undefined });
      if (!saved.issues?.length) {
        fill(summary, h("p", { class: "ok-note", role: "status" }, t("Draft saved. No mistakes found: it can be published.")));
      }
      announce(saved.issues?.length ? tn("Draft saved with {count} mistake.", "Draft saved with {count} mistakes.", saved.issues.length)
        : t("Draft saved; no mistakes found."));
    } catch (problem) {
      if (problem.status === 422) ctx.showIssues(problem.errors || [], { title: t("The draft was not saved: fix these first") });
      else fill(summary, problemBox(problem));
    }
  }));

  publishButton.addEventListener("click", () => busy(publishButton, t("Publishing…"), async () => {
    try {
      const published = ctx.latestVersion
        ? await api.post(path(key, "/versions"), { definition: ctx.def })
        : await api.post("/templates", ctx.def);
      ctx.latestVersion = published.version;
      ctx.dirty = false;
      ctx.savedAt = null;
      pending.delete(key);
      rememberDraft(key, false);
      ctx.showIssues([], { focus: false });
      describeState();
      fill(summary, h("p", { class: "ok-note", role: "status" }, t("Published version {version}.", { version: published.version })));
      announce(t("Published version {version}.", { version: published.version }));
      ctx.reloadVersions?.();
      if (published.version === 1) ctx.reloadDryRunCases?.();
    } catch (problem) {
      if (problem.status === 422) ctx.showIssues(problem.errors || [], { title: problem.detail || t("The template has mistakes") });
      else fill(summary, problemBox(problem));
    }
  }));

  updateTitle();
  describeState();
  guardLeaving(() => (ctx.dirty && form.isConnected
    ? t("Leave the template builder? The changes since the draft was last saved will be lost.") : null));
  fill(main,
    h("p", {}, h("a", { href: "#/templates" }, t("← All templates"))),
    heading, stateLine,
    h("div", { class: "toolbar builder-toolbar" }, saveButton, publishButton),
    summary,
    h("nav", { class: "builder-nav", "aria-label": t("Builder sections") },
      h("ul", {}, sectionLinks().map(([id, label]) => h("li", {}, h("button", { type: "button", class: "link", onclick: () => goTo(id) }, label))))),
    form,
    versionsSection(ctx));
  draw({});
  if (ctx.issues.length) ctx.showIssues(ctx.issues, { focus: false, title: tn("The saved draft has {count} mistake to fix before publishing",
    "The saved draft has {count} mistakes to fix before publishing", ctx.issues.length) });
  if (pending.has(key) && !draft) { ctx.dirty = true; describeState(); }
}

