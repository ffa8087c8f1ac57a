// The case page: header and stage progress, then a section per part of the case, each its own module drawn by
// `xxxSection(page)`: fields, stage moves, tasks, documents, decisions, participants and portal links, comments,
// the timeline (with its hash-chain check and signed export) and automation runs. What a person may change is
// worked out from the template's roles as the API does (./access.js); the API stays the authority, and its
// refusals are shown as it words them.
import { api } from "../../api.js";
import { t } from "../../i18n.js";
import { caseReference, fill, formatDate, forwardStages, h, loading, slaBadge, visuallyHidden } from "../../ui.js";
import { personName } from "../../people.js";
import { caseAccess } from "./access.js";
import { commentsSection } from "./comments.js";
import { section } from "./common.js";
import { decisionsSection } from "./decisions.js";
import { documentsSection, outstandingRequests } from "./documents.js";
import { fieldsSection } from "./fields.js";
import { participantsSection } from "./participants.js";
import { RUNS_SHOWN, runsSection } from "./runs.js";
import { stageSection } from "./stage.js";
import { tasksSection } from "./tasks.js";
import { timelineSection } from "./timeline.js";

const CATCH_UP_DELAYS = [0, 500, 1000, 1500, 2000, 3000, 4000];

// Whether the timeline's newest entries (null when a filter hides some) and the rule runs show all there is: an
// entry at the case's version, and for each entry a rule is waiting for (its trigger, no pattern to weigh), the
// automation.ran of that rule on it, and the run itself.
function caughtUp(template, caseItem, items, runs) {
  if (!items) return true;
  const newest = newestVersion(items);
  if (newest < caseItem.version) return false;
  const ran = items.filter((item) => item.event?.type === "automation.ran");
  if (runs.length < Math.min(ran.length, RUNS_SHOWN)) return false;
  const done = new Set(ran.map((item) => `${item.event.data.rule} ${item.event.data.trigger?.event_id}`));
  const rules = (template.rules || []).filter((rule) => rule.enabled !== false && !rule.trigger.pattern);
  return items.every((item) => !item.event || rules.every((rule) =>
    rule.trigger.event_type !== item.event.type || done.has(`${rule.key} ${item.event.event_id}`)));
}

// The page's sections in the order they stand, for the menu that jumps to them.
// A function, as the words are those of the language chosen at start.
function sectionNames() {
  return {
    fields: t("Fields"), move: t("Stage"), tasks: t("Tasks"), documents: t("Documents"), decisions: t("Decisions"),
    participants: t("Participants"), comments: t("Comments"), automations: t("Automation runs"), timeline: t("Timeline"),
  };
}

// Buttons, not links: a link's "#case-tasks" would be taken for a route.
function sectionMenu() {
  const jump = (key) => {
    const heading = document.getElementById(`case-${key}-title`);
    heading?.scrollIntoView({ block: "start" });
    heading?.focus({ preventScroll: true });
  };
  return h("nav", { class: "case-menu", "aria-label": t("Sections of this case") },
    h("ul", {}, Object.entries(sectionNames()).map(([key, label]) =>
      h("li", {}, h("button", { type: "button", class: "link", dataset: { section: key }, onclick: () => jump(key) }, label)))));
}

// The case version the newest entries reach: each change carries it, and the case opens at version 1.
function newestVersion(items) {
  return Math.max(0, ...items.map((item) => (item.event?.type === "case.opened" ? 1 : item.event?.data?.version ?? 0)));
}

export function register(route) {
  route("/cases/:id", render, { nav: "cases" });
}

export async function render(main, params, _query, user) {
  loading(main, t("Loading the case…"));
  const page = new CasePage(main, params.id, user);
  await page.load();
}

// What the sections share: the case and its template, the caller's access, and drawing the case anew when a
// command answers with it. Each section draws into its slot and keeps what only it needs.
class CasePage {
  constructor(main, id, user) {
    this.main = main;
    this.id = id;
    this.user = user;
    this.catchingUp = false;
    this.catchUpRound = 0;
    this.sections = {
      fields: fieldsSection(this),
      move: stageSection(this),
      tasks: tasksSection(this),
      documents: documentsSection(this),
      decisions: decisionsSection(this),
      participants: participantsSection(this),
      comments: commentsSection(this),
      timeline: timelineSection(this),
      runs: runsSection(this),
    };
  }

  path(suffix = "") {
    return `/cases/${encodeURIComponent(this.id)}${suffix}`;
  }

  async load() {
    const caseItem = await api.get(this.path());
    const published = await api.get(
      `/templates/${encodeURIComponent(caseItem.template_key)}/versions/${caseItem.template_version}`);
    this.template = published.definition;
    this.case = caseItem;
    this.access = caseAccess(this.template, caseItem, this.user);
    this.build();
    this.renderAll();
    const { comments, participants, move } = this.sections;
    comments.load();
    this.catchUp();
    participants.loadLinks();
    move.loadCriteria();
  }

  // -- structure ------------------------------------------------------------------------------------------

  build() {
    this.slots = {};
    const slot = (name) => (this.slots[name] = h("div", { class: "slot" }));
    const names = sectionNames();
    const page = h("div", { class: "case-page" },
      h("header", { class: "case-header panel", "aria-labelledby": "case-title" }, slot("header")),
      sectionMenu(),
      h("div", { class: "case-columns" },
        h("div", { class: "case-main" },
          section("fields", names.fields, slot("fields")),
          section("move", names.move, slot("move")),
          section("tasks", names.tasks, slot("tasks")),
          section("documents", names.documents, slot("documents")),
          section("decisions", names.decisions, slot("decisions"))),
        h("div", { class: "case-side" },
          section("participants", names.participants, slot("participants")),
          section("comments", names.comments, slot("comments")),
          section("automations", names.automations, slot("runs")))),
      section("timeline", names.timeline, slot("timeline")));
    fill(this.main, page);
  }

  renderAll() {
    this.renderHeader();
    for (const name of ["fields", "move", "tasks", "documents", "decisions", "participants", "comments", "timeline", "runs"]) {
      this.sections[name].render();
    }
  }

  // A command answered with the case: show it everywhere, keep the focus where it was when possible.
  applyCase(next, { fields = false, focus } = {}) {
    const active = document.activeElement?.id;
    const participantsChanged = JSON.stringify(next.participants) !== JSON.stringify(this.case.participants);
    const before = this.fieldsKey();
    this.case = next;
    this.access = caseAccess(this.template, next, this.user);
    // the form is drawn again only when what it shows changed, so nothing typed elsewhere is lost
    const fieldsChanged = fields || this.fieldsKey() !== before;
    const sections = this.sections;
    this.renderHeader();
    if (fieldsChanged) sections.fields.render();
    sections.move.render();
    sections.tasks.render();
    sections.documents.render();
    sections.decisions.render();
    sections.participants.render();
    sections.move.loadCriteria();
    if (participantsChanged) sections.participants.loadLinks();
    this.catchUp();
    const target = (focus && document.getElementById(focus)) || (active && document.getElementById(active));
    if (target && document.activeElement !== target) target.focus();
  }

  async reload(focus) {
    const fresh = await api.get(this.path());
    this.applyCase(fresh, { fields: true, focus });
  }

  // The timeline and the rule runs learn of a change from the bus a moment after the case has it: look again, less
  // and less often (about 12 s in all), until they show the case's version and a run of each rule it set off. A
  // newer change starts the looking anew. `awaited(items)` says whether an entry that changes no version (a
  // comment) has arrived too.
  async catchUp(awaited = () => true) {
    this.catchUpRound += 1;
    const round = this.catchUpRound;
    this.catchingUp = true;
    const { timeline, runs } = this.sections;
    let verifiedSeq;  // the chain is checked again whenever a new entry shows
    for (const delay of CATCH_UP_DELAYS) {
      if (delay) await new Promise((resolve) => window.setTimeout(resolve, delay));
      if (round !== this.catchUpRound || !this.main.isConnected) return;
      const [entries, ran] = await Promise.all([timeline.load(), runs.load()]);
      if (round !== this.catchUpRound) return;
      if (newestVersion(entries.items || []) > this.case.version) { this.reload(); return; }  // changed elsewhere meanwhile
      const seq = entries.items?.[0]?.seq;
      if (seq !== undefined && seq !== verifiedSeq) { verifiedSeq = seq; timeline.verify(); }
      if (entries.ready && ran && caughtUp(this.template, this.case, entries.items, ran)
        && (!entries.items || awaited(entries.items))) break;
    }
    this.catchingUp = false;
    runs.render();
    if (verifiedSeq === undefined) timeline.verify();
  }

  stage(key) {
    return this.template.stages.find((stage) => stage.key === key);
  }

  stageName(key) {
    return this.stage(key)?.name || key;
  }

  roleName(key) {
    if (!key) return "";
    return this.template.roles.find((role) => role.key === key)?.name || key;
  }

  // An external participant by name and role ("Lukas Becker (Client)"), when the case shows the caller their
  // personal data; else null.
  externalName(participantId) {
    const participant = (this.case.participants || []).find((p) => p.id === participantId && p.kind === "external");
    return participant?.name ? `${participant.name} (${this.roleName(participant.role)})` : null;
  }

  forwardStages(key = this.case.stage) {
    return forwardStages(this.template, key);
  }

  fieldsKey() {
    return JSON.stringify([this.case.fields, this.editable, this.template.fields.map((def) => this.access.field(def.key))]);
  }

  get editable() {
    return !this.access.readOnly && this.case.status === "open";
  }

  roleOptions(kind, empty = t("— None —")) {
    const roles = this.template.roles.filter((role) => !kind || (role.kind || "internal") === kind);
    return [["", empty], ...roles.map((role) => [role.key, role.name])];
  }

  // -- header ---------------------------------------------------------------------------------------------

  renderHeader() {
    const c = this.case;
    const visited = new Set((c.stage_history || []).map((visit) => visit.stage));
    const statusText = { open: t("Open"), closed: t("Closed"), cancelled: t("Cancelled") }[c.status] || c.status;
    const requests = outstandingRequests(this);
    const progress = h("ol", { class: "stage-progress", "aria-label": t("Stage progress") },
      this.template.stages.map((stage) => {
        const current = stage.key === c.stage;
        const done = !current && visited.has(stage.key);
        const state = current ? "current" : done ? "done" : "upcoming";
        return h("li", { class: `stage stage-${state}`, "aria-current": current ? "step" : undefined },
          h("span", { class: "stage-mark", "aria-hidden": "true" }, current ? "●" : done ? "✓" : "○"),
          h("span", { class: "stage-name" }, stage.name),
          visuallyHidden([" ", current ? t("(current stage)") : done ? t("(done)") : t("(not reached)")]));
      }));
    const meta = h("dl", { class: "case-meta" },
      h("div", {}, h("dt", {}, t("Reference")), h("dd", { class: "reference" }, caseReference(c.id))),
      h("div", {}, h("dt", {}, t("Status")), h("dd", {}, h("span", { class: `badge status-${c.status}` }, statusText),
        c.status_reason ? ` — ${c.status_reason}` : "")),
      h("div", {}, h("dt", {}, t("Stage")), h("dd", {}, this.stageName(c.stage), " ", slaBadge(c))),
      h("div", {}, h("dt", {}, t("Owner")), h("dd", {}, personName(c.owner))),
      h("div", {}, h("dt", {}, t("Assigned role")), h("dd", {}, this.roleName(c.assigned_role) || "—")),
      h("div", {}, h("dt", {}, t("In stage since")), h("dd", {}, formatDate(c.stage_entered_at))),
      c.stage_due_at ? h("div", {}, h("dt", {}, t("Stage due")), h("dd", {}, formatDate(c.stage_due_at))) : null,
      h("div", {}, h("dt", {}, t("Template")), h("dd", {}, t("{template} (version {version})", { template: this.template.name, version: c.template_version }))),
      requests.length ? h("div", { class: "waiting" }, h("dt", {}, t("Waiting for")),
        h("dd", { id: "case-waiting" }, requests.map((r) => t("{what} from {role}", { what: r.what, role: r.role })).join("; "))) : null,
      h("div", {}, h("dt", {}, t("Your access")), h("dd", {}, this.accessSummary())));
    fill(this.slots.header,
      h("p", { class: "crumbs" }, h("a", { href: "#/cases" }, t("Cases")), " / ", caseReference(c.id)),
      h("h1", { id: "case-title" }, c.title),
      meta,
      progress);
  }

  accessSummary() {
    if (this.access.admin) return t("Administrator: every right");
    if (this.access.readOnly) return t("Viewer: read only");
    const names = this.access.roles.map((role) => role.name);
    return names.length ? names.join(", ") : t("No role on this case");
  }
}
