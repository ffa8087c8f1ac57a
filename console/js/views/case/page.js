// The case page: header and stage progress, then a section per part of the case, each its own module drawn by
// `xxxSection(page)`: fields, stage moves, tasks, documents, decisions, participants and portal links, comments,
// the timeline (with its hash-chain check and signed export) and automation runs. What a person may change is
// worked out from the template's roles as the API does (./access.js); the API stays the authority, and its
// refusals are shown as it words them.
import { api } from "../../api.js";
import { caseReference, fill, formatDate, forwardStages, h, loading, slaBadge, visuallyHidden } from "../../ui.js";
import { personName } from "../../people.js";
import { caseAccess } from "./access.js";
import { commentsSection } from "./comments.js";
import { section } from "./common.js";
import { decisionsSection } from "./decisions.js";
import { documentsSection } from "./documents.js";
import { fieldsSection } from "./fields.js";
import { participantsSection } from "./participants.js";
import { runsSection } from "./runs.js";
import { stageSection } from "./stage.js";
import { tasksSection } from "./tasks.js";
import { timelineSection } from "./timeline.js";

export function register(route) {
  route("/cases/:id", render, { nav: "cases" });
}

export async function render(main, params, _query, user) {
  loading(main, "Loading the case…");
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
    this.timelineTimers = [];
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
    const { comments, timeline, runs, participants, move } = this.sections;
    comments.load();
    timeline.load();
    timeline.verify();
    runs.load();
    participants.loadLinks();
    move.loadCriteria();
  }

  // -- structure ------------------------------------------------------------------------------------------

  build() {
    this.slots = {};
    const slot = (name) => (this.slots[name] = h("div", { class: "slot" }));
    const page = h("div", { class: "case-page" },
      h("header", { class: "case-header panel", "aria-labelledby": "case-title" }, slot("header")),
      h("div", { class: "case-columns" },
        h("div", { class: "case-main" },
          section("fields", "Fields", slot("fields")),
          section("move", "Stage", slot("move")),
          section("tasks", "Tasks", slot("tasks")),
          section("documents", "Documents", slot("documents")),
          section("decisions", "Decisions", slot("decisions"))),
        h("div", { class: "case-side" },
          section("participants", "Participants", slot("participants")),
          section("comments", "Comments", slot("comments")),
          section("automations", "Automation runs", slot("runs")))),
      section("timeline", "Timeline", slot("timeline")));
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
    this.refreshLater();
    const target = (focus && document.getElementById(focus)) || (active && document.getElementById(active));
    if (target && document.activeElement !== target) target.focus();
  }

  async reload(focus) {
    const fresh = await api.get(this.path());
    this.applyCase(fresh, { fields: true, focus });
  }

  // The timeline and the rule runs fill in as events arrive; look again shortly after a change.
  refreshLater() {
    for (const timer of this.timelineTimers) window.clearTimeout(timer);
    this.timelineTimers = [400, 1600].map((delay) => window.setTimeout(() => {
      this.sections.timeline.load();
      this.sections.timeline.verify();
      this.sections.runs.load();
    }, delay));
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

  roleOptions(kind, empty = "— None —") {
    const roles = this.template.roles.filter((role) => !kind || (role.kind || "internal") === kind);
    return [["", empty], ...roles.map((role) => [role.key, role.name])];
  }

  // -- header ---------------------------------------------------------------------------------------------

  renderHeader() {
    const c = this.case;
    const visited = new Set((c.stage_history || []).map((visit) => visit.stage));
    const statusText = { open: "Open", closed: "Closed", cancelled: "Cancelled" }[c.status] || c.status;
    const progress = h("ol", { class: "stage-progress", "aria-label": "Stage progress" },
      this.template.stages.map((stage) => {
        const current = stage.key === c.stage;
        const done = !current && visited.has(stage.key);
        const state = current ? "current" : done ? "done" : "upcoming";
        return h("li", { class: `stage stage-${state}`, "aria-current": current ? "step" : undefined },
          h("span", { class: "stage-mark", "aria-hidden": "true" }, current ? "●" : done ? "✓" : "○"),
          h("span", { class: "stage-name" }, stage.name),
          visuallyHidden(current ? " (current stage)" : done ? " (done)" : " (not reached)"));
      }));
    const meta = h("dl", { class: "case-meta" },
      h("div", {}, h("dt", {}, "Reference"), h("dd", { class: "reference" }, caseReference(c.id))),
      h("div", {}, h("dt", {}, "Status"), h("dd", {}, h("span", { class: `badge status-${c.status}` }, statusText),
        c.status_reason ? ` — ${c.status_reason}` : "")),
      h("div", {}, h("dt", {}, "Stage"), h("dd", {}, this.stageName(c.stage), " ", slaBadge(c))),
      h("div", {}, h("dt", {}, "Owner"), h("dd", {}, personName(c.owner))),
      h("div", {}, h("dt", {}, "Assigned role"), h("dd", {}, this.roleName(c.assigned_role) || "—")),
      h("div", {}, h("dt", {}, "In stage since"), h("dd", {}, formatDate(c.stage_entered_at))),
      c.stage_due_at ? h("div", {}, h("dt", {}, "Stage due"), h("dd", {}, formatDate(c.stage_due_at))) : null,
      h("div", {}, h("dt", {}, "Template"), h("dd", {}, `${this.template.name} (version ${c.template_version})`)),
      h("div", {}, h("dt", {}, "Your access"), h("dd", {}, this.accessSummary())));
    fill(this.slots.header,
      h("p", { class: "crumbs" }, h("a", { href: "#/cases" }, "Cases"), " / ", caseReference(c.id)),
      h("h1", { id: "case-title" }, c.title),
      meta,
      progress);
  }

  accessSummary() {
    if (this.access.admin) return "Administrator: every right";
    if (this.access.readOnly) return "Viewer: read only";
    const names = this.access.roles.map((role) => role.name);
    return names.length ? names.join(", ") : "No role on this case";
  }
}
