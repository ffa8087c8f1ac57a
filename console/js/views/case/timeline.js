// The timeline section: the case's entries newest first, filtered by event type and actor, each described in
// words; the hash chain's check, and the signed export.
import { api } from "../../api.js";
import { t, tn } from "../../i18n.js";
import { announce, clear, eventName, fill, formatDate, formatSize, h, humanize, labelled, problemBox, visuallyHidden } from "../../ui.js";
import { actorText, attempt, select, toProblem } from "./common.js";

// A function, as the words are those of the language chosen at start.
function actorKinds() {
  return [["", t("Anyone")], ["user", t("Staff")], ["external", t("External participants")], ["automation", t("Automations")],
    ["client", t("API clients")], ["system", t("System")]];
}

export function timelineSection(page) {
  let timelineFilter = { type: "", actor_kind: "" };
  const eventTypes = new Set();
  let typeSelect;
  let timelineList;
  let verifyBadge;

  function renderTimelineShell() {
    const slot = clear(page.slots.timeline);
    verifyBadge = h("p", { class: "chain", id: "timeline-chain", role: "status" }, h("span", { class: "badge chain-pending" }, t("Checking the chain…")));
    const exportStatus = h("div", { class: "form-status" });
    const exportButton = h("button", { type: "button", id: "timeline-export", onclick: async (e) => {
      const outcome = await attempt(exportStatus, e.currentTarget, () => api.download(page.path("/timeline/export"), "application/zip"));
      if (!outcome.ok) return;
      const url = URL.createObjectURL(outcome.result);
      const link = h("a", { href: url, download: `case-${page.id}.zip`, class: "visually-hidden" }, t("export"));
      document.body.append(link);
      link.click();
      link.remove();
      window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
      announce(t("Downloaded the signed export {file}.", { file: `case-${page.id}.zip` }));
    } }, t("Download signed export"));
    const type = h("select", { id: "timeline-type", name: "type" });
    const actor = select(actorKinds(), { id: "timeline-actor", name: "actor_kind" }, timelineFilter.actor_kind);
    const apply = () => {
      timelineFilter = { type: type.value, actor_kind: actor.value };
      loadTimeline(true);
    };
    type.addEventListener("change", apply);
    actor.addEventListener("change", apply);
    typeSelect = type;
    fillTypes();
    timelineList = h("div", { class: "timeline-list", id: "timeline-entries" });
    slot.append(
      h("div", { class: "timeline-bar" }, verifyBadge,
        h("div", { class: "actions" }, exportButton,
          h("button", { type: "button", id: "timeline-refresh", onclick: () => { loadTimeline(true); loadVerification(); page.sections.runs.load(); } }, t("Refresh")))),
      exportStatus,
      h("form", { class: "toolbar timeline-filter", role: "search", "aria-label": t("Filter the timeline"), onsubmit: (e) => e.preventDefault() },
        labelled(t("Event type"), type), labelled(t("Done by"), actor)),
      timelineList);
  }

  function fillTypes() {
    if (!typeSelect) return;
    const chosen = timelineFilter.type;
    const types = [...eventTypes].sort();
    if (chosen && !types.includes(chosen)) types.push(chosen);
    fill(typeSelect, h("option", { value: "" }, t("All events")),
      ...types.map((each) => h("option", { value: each, selected: each === chosen }, `${eventName(each)} (${each})`)));
  }

  // Answers whether the timeline could be read, and its newest entries when no filter hides any (what the page
  // compares with the case to know whether the timeline has caught up).
  async function loadTimeline(announceCount = false) {
    if (!timelineList) return { ready: false, items: null };
    const params = { limit: 200, order: "newest" };
    if (timelineFilter.type) params.type = timelineFilter.type;
    if (timelineFilter.actor_kind) params.actor_kind = timelineFilter.actor_kind;
    let listing;
    try {
      listing = await api.get(page.path("/timeline"), params);
    } catch (error) {
      // A case only just opened: the timeline service records its first event a moment later (503 while it
      // waits); the page looks again (page.js, catchUp).
      const waiting = error.status === 404 || error.status === 503 ? h("p", { class: "hint" }, t("The timeline is catching up with this case…")) : null;
      fill(timelineList, waiting || problemBox(toProblem(error)));
      return { ready: false, items: null };
    }
    const items = listing.items || [];
    const before = eventTypes.size;
    for (const item of items) if (item.event) eventTypes.add(item.event.type);
    if (eventTypes.size !== before) fillTypes();
    const filtered = timelineFilter.type || timelineFilter.actor_kind;
    fill(timelineList,
      h("p", { class: "hint", id: "timeline-count" }, filtered
        ? tn("{count} entry matches the filter, newest first.", "{count} entries match the filter, newest first.", items.length)
        : tn("{count} entry, newest first.", "{count} entries, newest first.", items.length)),
      items.length ? h("ol", { class: "timeline", "aria-label": t("Timeline entries") }, items.map((item) => timelineEntry(item))) : null);
    if (announceCount) announce(tn("{count} timeline entry.", "{count} timeline entries.", items.length));
    return { ready: true, items: filtered ? null : items };
  }

  function timelineEntry(item) {
    const event = item.event;
    if (!event) {
      return h("li", { class: "entry damaged", dataset: { seq: String(item.seq) } },
        h("div", { class: "entry-head" }, h("span", { class: "entry-seq" }, `#${item.seq}`), h("strong", { class: "entry-type" }, t("Damaged entry"))),
        h("p", { class: "entry-summary" }, t("{damage}. The chain check below says where it breaks.", { damage: item.damaged })));
    }
    const summary = describe(event);
    return h("li", { class: `entry actor-${event.actor?.kind}`, dataset: { type: event.type, seq: String(item.seq) } },
      h("div", { class: "entry-head" },
        h("span", { class: "entry-seq" }, `#${item.seq}`),
        h("strong", { class: "entry-type" }, eventName(event.type)),
        h("time", { datetime: event.occurred_at }, formatDate(event.occurred_at)),
        event.visibility === "external" ? h("span", { class: "badge shared" }, t("Visible to externals")) : null),
      h("p", { class: "entry-actor" }, actorText(event.actor, page)),
      summary ? h("p", { class: "entry-summary" }, summary) : null,
      h("details", {}, h("summary", {}, t("Details"), visuallyHidden([" ", t("of entry {number}", { number: item.seq })])),
        h("pre", {}, JSON.stringify({ type: event.type, data: event.data, hash: item.hash }, null, 2))));
  }

  function describe(event) {
    const d = event.data || {};
    const fieldLabel = (key) => page.template.fields.find((f) => f.key === key)?.label || key;
    const docName = (key) => (page.template.document_types || []).find((x) => x.key === key)?.name || key;
    switch (event.type) {
      case "case.opened": return t("Opened in {stage}.", { stage: page.stageName(d.stage) });
      case "case.stage_changed":
        return `${page.stageName(d.from)} → ${page.stageName(d.to)}${d.reason ? ` — ${d.reason}` : ""}${d.overridden?.length ? " " : ""}${d.overridden?.length ? t("(override)") : ""}`;
      case "case.fields_changed": {
        const changed = [...new Set([...Object.keys(d.changes || {}), ...Object.keys(event.personal?.changes || {})])];
        const parts = [];
        if (changed.length) parts.push(t("Changed {fields}.", { fields: changed.map(fieldLabel).join(", ") }));
        if (d.title) parts.push(t("Title changed to “{title}”.", { title: d.title.after }));
        return parts.join(" ");
      }
      case "task.completed": case "task.reopened": case "task.created": case "task.assigned":
        return d.title ? `“${d.title}”${d.reason ? ` — ${d.reason}` : ""}` : "";
      case "document.added":
        return d.size != null
          ? t("{document}, version {version} ({size}).", { document: docName(d.document_type), version: d.document_version, size: formatSize(d.size) })
          : t("{document}, version {version}.", { document: docName(d.document_type), version: d.document_version });
      case "document.requested":
        return d.from_role ? t("{document} requested from {role}.", { document: docName(d.document_type), role: page.roleName(d.from_role) })
          : t("{document} requested.", { document: docName(d.document_type) });
      case "decision.recorded": {
        const label = (page.template.decisions || []).find((x) => x.key === d.key)?.label || d.key;
        return `${label}: ${humanize(d.after)}${d.rationale ? ` — ${d.rationale}` : ""}`;
      }
      case "participant.added": case "participant.removed": case "participant.role_changed":
        return d.role || d.after ? t("Role {role}.", { role: page.roleName(d.after || d.role) }) : "";
      case "case.role_assigned": return t("Assigned to {role}.", { role: page.roleName(d.after) });
      case "case.closed": case "case.cancelled": case "case.reopened": return d.reason || "";
      case "case.assigned": return d.after ? t("Owner {before} → {after}", { before: d.before || "—", after: d.after }) : "";
      default: return d.reason || "";
    }
  }

  async function loadVerification() {
    if (!verifyBadge) return;
    try {
      const result = await api.get(page.path("/timeline/verify"));
      const badge = result.valid
        ? h("span", { class: "badge chain-ok" }, t("✓ Chain verified"))
        : h("span", { class: "badge chain-broken" }, t("✗ Chain broken"));
      const detail = result.valid
        ? [" ", result.anchor ? tn("{count} entry hash-chained and anchored.", "{count} entries hash-chained and anchored.", result.length)
          : tn("{count} entry hash-chained.", "{count} entries hash-chained.", result.length)]
        : [" ", t("At entry #{number}: {reason}.", { number: result.first_bad_seq ?? "?", reason: result.reason || t("the hashes do not match") })];
      fill(verifyBadge, badge, h("span", { class: "hint" }, detail));
    } catch (error) {
      const problem = toProblem(error);
      const why = error.status === 404 || error.status === 503 ? t("No entries yet.") : problem.detail || problem.title;
      fill(verifyBadge, h("span", { class: "badge chain-unknown" }, t("Chain not checked")),
        h("span", { class: "hint" }, ` ${why}`));
    }
  }

  return { render: renderTimelineShell, load: loadTimeline, verify: loadVerification };
}
