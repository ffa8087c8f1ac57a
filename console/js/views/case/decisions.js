// The decisions section: a block per decision of the template, its outcomes so far (latest first), and the form
// for the roles that decide it.
import { api } from "../../api.js";
import { t } from "../../i18n.js";
import { announce, clear, formatDate, h, humanize, problemBox, showFieldErrors, visuallyHidden } from "../../ui.js";
import { personName } from "../../people.js";
import { select, toProblem } from "./common.js";

export function decisionsSection(page) {
  function renderDecisions() {
    const slot = clear(page.slots.decisions);
    const definitions = page.template.decisions || [];
    if (!definitions.length) {
      slot.append(h("p", {}, t("This template records no decisions.")));
      return;
    }
    for (const def of definitions) {
      const recorded = (page.case.decisions || []).filter((d) => d.key === def.key).reverse();
      const headingId = `decision-${def.key}-title`;
      const requiredIn = (def.required_in_stages || []).map((key) => page.stageName(key));
      const block = h("div", { class: "decision", role: "group", "aria-labelledby": headingId },
        h("h3", { id: headingId }, def.label),
        h("p", { class: "hint" }, t("Decided by {roles}.", { roles: def.decider_roles.map((key) => page.roleName(key)).join(", ") }),
          requiredIn.length ? [" ", t("Needed to leave: {stages}.", { stages: requiredIn.join(", ") })] : ""));
      if (!recorded.length) block.append(h("p", {}, t("Not decided yet.")));
      else {
        block.append(h("ol", { class: "decisions", reversed: true }, recorded.map((d, index) => h("li", { class: index === 0 ? "latest" : "earlier" },
          h("strong", {}, humanize(d.outcome)), index === 0 ? visuallyHidden([" ", t("(latest)")]) : null,
          " — ", t("{date} by {person}", { date: formatDate(d.decided_at), person: personName(d.decided_by) }),
          d.rationale ? h("p", { class: "rationale" }, d.rationale) : null))));
      }
      if (page.editable && page.access.holdsAny(def.decider_roles)) block.append(decisionForm(def));
      slot.append(block);
    }
  }

  function decisionForm(def) {
    const outcome = select([["", t("— Choose —")], ...def.options.map((o) => [o, humanize(o)])],
      { id: `decision-${def.key}-outcome`, name: "outcome", dataset: { pointer: "/outcome" } }, "");
    const rationale = h("textarea", { id: `decision-${def.key}-rationale`, name: "rationale", rows: 3, dataset: { pointer: "/rationale" } });
    const status = h("div", { class: "form-status" });
    const button = h("button", { type: "submit", class: "primary", id: `decision-${def.key}-submit` }, t("Record decision"), visuallyHidden(` ${def.label}`));
    const form = h("form", { class: "subform", novalidate: true },
      h("div", { class: "field-grid" },
        h("div", { class: "field" }, h("label", { for: outcome.id }, visuallyHidden(`${def.label} `), t("Outcome")), outcome),
        h("div", { class: "field" }, h("label", { for: rationale.id }, visuallyHidden(`${def.label} `), t("Rationale")), rationale,
          def.rationale_required ? h("p", { class: "hint" }, t("Required.")) : null)),
      status, h("div", { class: "actions" }, button));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      showFieldErrors(form, { errors: [] });
      const body = { key: def.key, outcome: outcome.value };
      if (rationale.value.trim()) body.rationale = rationale.value.trim();
      clear(status);
      button.disabled = true;
      try {
        const next = await api.post(page.path("/decisions"), body);
        page.applyCase(next, { focus: `decision-${def.key}-title` });
        announce(t("Recorded {decision}: {outcome}.", { decision: def.label, outcome: humanize(body.outcome) }));
      } catch (error) {
        const problem = toProblem(error);
        const left = showFieldErrors(form, problem);
        status.append(problemBox({ ...problem, errors: left }));
        announce(t("Decision not recorded: {reason}", { reason: problem.detail || problem.title }));
      } finally {
        button.disabled = false;
      }
    });
    return form;
  }

  return { render: renderDecisions };
}
