// Acting on several cases of the list at once: a checkbox per row (and one for every row shown), then one action
// for all of them (a new owner, a stage, closing or cancelling with one reason). Each case is asked for by its own
// request, the one the case page sends, so the API checks each as it would there; the outcome of each is listed.
// Each is conditional on the version the list showed (If-Match): a case changed since is refused, not overwritten.
import { api, ApiProblem } from "../../api.js";
import { formatNumber, t, tn } from "../../i18n.js";
import { peopleOptions, personName, subjectOf } from "../../people.js";
import { announce, caseReference, clear, fill, h, labelled, problemBox, visuallyHidden } from "../../ui.js";
import { toProblem } from "../case/common.js";

const CONCURRENCY = 3; // a few requests at a time: quicker than one by one, gentle on the API's rate limit

// Functions, as the words are those of the language chosen at start.
const ACTIONS = [
  ["assign", () => t("Give them an owner")],
  ["move", () => t("Move them to a stage")],
  ["close", () => t("Close them")],
  ["cancel", () => t("Cancel them")],
];

const DONE = {
  assign: (next) => t("Now owned by {person}.", { person: personName(next.owner) }),
  move: (next, stageName) => t("Moved to {stage}.", { stage: stageName(next.stage) }),
  close: () => t("Closed."),
  cancel: () => t("Cancelled."),
};

// "already the owner" → "Already the owner.": the parts of a refusal read as sentences.
function sentence(text) {
  const trimmed = String(text).trim();
  return `${trimmed[0].toUpperCase()}${trimmed.slice(1)}${/[.!?]$/.test(trimmed) ? "" : "."}`;
}

// Runs `work` on each item, at most `limit` at once; answers their outcomes in the items' order.
async function eachLimited(items, limit, work) {
  const outcomes = new Array(items.length);
  let next = 0;
  async function worker() {
    while (next < items.length) {
      const index = next;
      next += 1;
      outcomes[index] = await work(items[index]);
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return outcomes;
}

export function bulkActions({ caseIdOf, definitionOf, onDone }) {
  const selected = new Map(); // case id → the list's item
  const shown = new Map(); // case id → { box: its row's checkbox, item }
  let definition = null; // the template of the selected cases, when they share one

  const all = h("input", { type: "checkbox", id: "bulk-all" });
  const count = h("p", { id: "bulk-count", class: "bulk-count", "aria-live": "polite" });
  const action = h("select", { id: "bulk-action", name: "action" },
    ACTIONS.map(([value, label]) => h("option", { value }, label())));
  const people = peopleOptions("bulk-owner-people");
  const owner = h("input", { type: "text", id: "bulk-owner", name: "owner", list: people.id, autocomplete: "off" });
  const stage = h("select", { id: "bulk-stage", name: "stage" });
  const stageNote = h("p", { id: "bulk-stage-note", class: "hint" });
  const reason = h("textarea", { id: "bulk-reason", name: "reason", rows: 2, maxlength: 2000 });
  const ownerField = labelled(t("New owner"), owner, { hint: t("A name, e-mail address or user id.") });
  const stageField = labelled(t("Move to stage"), stage, { hint: t("Moving back or skipping a stage needs a reason.") });
  const reasonField = labelled(t("Reason"), reason,
    { hint: t("One reason, recorded on each case: needed to cancel, optional to close or move.") });
  const apply = h("button", { type: "submit", class: "primary", id: "bulk-apply" }, t("Apply"));
  const problems = h("div", { id: "bulk-problems" });
  const results = h("div", { id: "bulk-results" });
  const form = h("form", { class: "bulk-actions", novalidate: true, "aria-labelledby": "bulk-title" },
    h("h2", { id: "bulk-title" }, t("Selected cases")), count,
    h("div", { class: "inline" }, labelled(t("Action"), action), ownerField, people, stageField, stageNote, reasonField,
      h("div", { class: "actions" }, apply)),
    problems, results);

  // Stage names of the template acted on, kept for the outcomes: the list drawn again afterwards clears `definition`.
  const stageNamer = (template) => (key) => template?.stages.find((each) => each.key === key)?.name || key;

  async function showFields() {
    const kind = action.value;
    ownerField.hidden = kind !== "assign";
    stageField.hidden = kind !== "move";
    reasonField.hidden = kind === "assign";
    reason.setAttribute("aria-required", String(kind === "cancel"));
    stageNote.textContent = "";
    const templates = new Set([...selected.values()].map((item) => item.template_key));
    definition = templates.size === 1 ? await definitionOf([...templates][0]) : null;
    if (kind === "move" && templates.size > 1) {
      stageNote.textContent = t("The selected cases follow different templates: select cases of one template to move them.");
    }
    fill(stage, (definition?.stages || []).map((each) => h("option", { value: each.key }, each.name)));
    stageField.hidden ||= !definition;
    apply.disabled = !selected.size || (kind === "move" && !definition);
  }

  function selectionChanged() {
    const ticked = [...shown.values()].filter((row) => row.box.checked).length;
    all.checked = shown.size > 0 && ticked === shown.size;
    all.indeterminate = ticked > 0 && ticked < shown.size;
    count.textContent = selected.size
      ? tn("{count} case selected.", "{count} cases selected.", selected.size)
      : t("Select cases in the list to act on them together.");
    return showFields();
  }

  function toggle(id, item, on) {
    if (on) selected.set(id, item);
    else selected.delete(id);
  }

  all.addEventListener("change", () => {
    for (const [id, row] of shown) {
      row.box.checked = all.checked;
      toggle(id, row.item, all.checked);
    }
    selectionChanged();
  });
  action.addEventListener("change", () => showFields());

  function request() {
    const text = reason.value.trim();
    switch (action.value) {
      case "assign": return { path: "/assignment", body: { owner: subjectOf(owner.value) } };
      case "move": return { path: "/transitions", body: text ? { to: stage.value, reason: text } : { to: stage.value } };
      default: return { path: `/${action.value}`, body: text ? { reason: text } : {} };
    }
  }

  // What the form lacks before any case is asked: an owner, or a cancel's reason.
  function missing() {
    if (action.value === "assign" && !owner.value.trim()) return { field: owner, detail: t("Name the new owner.") };
    if (action.value === "cancel" && !reason.value.trim()) return { field: reason, detail: t("Cancelling needs a reason.") };
    return null;
  }

  // The version the list showed the case at. GET /cases gives it; a search result does not, so the case is read
  // and taken at its version only if its last change is still the one the list showed.
  async function listedVersion(item) {
    if (Number.isInteger(item.version)) return item.version;
    const current = await api.get(`/cases/${encodeURIComponent(caseIdOf(item))}`);
    if (Date.parse(current.updated_at) !== Date.parse(item.updated_at)) {
      throw new ApiProblem(412, { title: t("The case changed since the list was loaded") });
    }
    return current.version;
  }

  function refusal(problem) {
    // 412: the API's words name versions; the person needs to know what to do.
    if (problem.status === 412) return t("The case changed since the list was loaded; reload the list to see it as it is now.");
    const unmet = (problem.unmet || []).map((each) => each.description);
    const errors = (problem.errors || []).map((each) => each.detail);
    return [problem.title, problem.detail, ...unmet, ...errors].filter(Boolean).map(sentence).join(" ");
  }

  function outcomeItem(item, outcome, kind, stageName) {
    const id = caseIdOf(item);
    const name = [h("a", { href: `#/cases/${encodeURIComponent(id)}` }, item.title), " ", t("(Ref. {reference}):", { reference: caseReference(id) }), " "];
    if (outcome.ok) return h("li", { class: "bulk-done" }, name, h("strong", {}, t("Done.")), " ", DONE[kind](outcome.next, stageName));
    return h("li", { class: "bulk-refused" }, name, h("strong", {}, t("Refused:")), " ", refusal(outcome.problem));
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clear(problems);
    const lack = missing();
    if (lack) {
      problems.append(problemBox({ title: t("Not sent"), detail: lack.detail }));
      lack.field.focus();
      return;
    }
    const kind = action.value;
    const { path, body } = request();
    const items = [...selected.values()];
    const stageName = stageNamer(definition);
    apply.disabled = true;
    fill(results, h("p", { role: "status" }, tn("Working on {count} case…", "Working on {count} cases…", items.length)));
    const outcomes = await eachLimited(items, CONCURRENCY, async (item) => {
      try {
        const next = await api.post(`/cases/${encodeURIComponent(caseIdOf(item))}${path}`, body,
          { ifMatch: await listedVersion(item), headers: { "Idempotency-Key": crypto.randomUUID() } });
        return { ok: true, next };
      } catch (error) {
        return { ok: false, problem: toProblem(error) };
      }
    });
    await onDone(); // the list as the actions left it, before the outcomes show (its new rows unselected)
    const done = outcomes.filter((outcome) => outcome.ok).length;
    const counts = { done: formatNumber(done), total: formatNumber(items.length), refused: formatNumber(items.length - done) };
    const summary = done < items.length ? t("Results: {done} of {total} done, {refused} refused.", counts)
      : t("Results: {done} of {total} done.", counts);
    const heading = h("h3", { id: "bulk-results-title", tabindex: "-1" }, summary);
    fill(results, heading, h("ul", { class: "bulk-outcomes", "aria-labelledby": heading.id },
      items.map((item, index) => outcomeItem(item, outcomes[index], kind, stageName))));
    announce(summary);
    heading.focus();
  });

  return {
    form,
    // The header cell that selects every row shown.
    headCell: () => h("th", { scope: "col", class: "case-col-select" },
      h("label", { for: all.id }, visuallyHidden(t("Select every case shown"))), all),
    // A row's cell: its checkbox, named by the case's title.
    cell(item) {
      const id = caseIdOf(item);
      const box = h("input", { type: "checkbox", id: `bulk-${id}`, checked: selected.has(id) });
      shown.set(id, { box, item });
      box.addEventListener("change", () => { toggle(id, item, box.checked); selectionChanged(); });
      return h("td", { class: "case-col-select" }, h("label", { for: box.id }, visuallyHidden(t("Select {title}", { title: item.title }))), box);
    },
    // A new first page: the rows and their selection start afresh.
    reset() {
      shown.clear();
      selected.clear();
      return selectionChanged();
    },
    rowsAdded: () => selectionChanged(),
  };
}
