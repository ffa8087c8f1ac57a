// The automation runs section: the rules that ran on the case, their verdicts and what each action did.
import { api } from "../../api.js";
import { formatNumber, t, tn } from "../../i18n.js";
import { clear, formatDate, h, humanize, problemBox } from "../../ui.js";
import { actorText, toProblem } from "./common.js";

// The newest runs shown; more are on the timeline, as automation.ran entries.
export const RUNS_SHOWN = 25;

export function runsSection(page) {
  let runs;
  let runsProblem;

  async function loadRuns() {
    try {
      const listing = await api.get("/automations/runs", { case_id: page.id, limit: RUNS_SHOWN });
      runs = listing.items || [];
      runsProblem = null;
    } catch (error) {
      // 404 or 503: the automations service has not seen the case yet, so no rule has run on it.
      runs = [];
      runsProblem = error.status === 404 || error.status === 503 ? null : toProblem(error);
    }
    renderRuns();
    return runsProblem ? null : runs;
  }

  function renderRuns() {
    const slot = clear(page.slots.runs);
    if (runsProblem) { slot.append(problemBox(runsProblem)); return; }
    if (runs === undefined) { slot.append(h("p", { class: "loading" }, t("Loading…"))); return; }
    if (!runs.length) {
      // Rules run a moment after the change that set them off: "none" is said only once the page stopped looking.
      slot.append(page.catchingUp ? h("p", { class: "loading", role: "status" }, t("Looking for rule runs…"))
        : h("p", {}, t("No automation rule has run on this case.")));
      return;
    }
    const fired = runs.filter((run) => run.verdict === "fired").length;
    const failed = runs.filter((run) => run.error || (run.outcomes || []).some((o) => o.status === "failed")).length;
    slot.append(h("p", { id: "runs-summary" }, failed
      ? tn("{count} run: {fired} fired, {failed} with failures.", "{count} runs: {fired} fired, {failed} with failures.", runs.length,
        { fired: formatNumber(fired), failed: formatNumber(failed) })
      : tn("{count} run: {fired} fired.", "{count} runs: {fired} fired.", runs.length, { fired: formatNumber(fired) })));
    slot.append(h("ul", { class: "runs" }, runs.map((run) => {
      const failedRun = run.error || (run.outcomes || []).some((o) => o.status === "failed");
      return h("li", { class: `run${failedRun ? " failed" : ""}` },
        h("p", {}, h("strong", {}, run.rule_name), " ", h("span", { class: `badge verdict-${run.verdict}` }, humanize(run.verdict)),
          failedRun ? h("span", { class: "badge overdue" }, t("Failed")) : null),
        h("p", { class: "hint" }, run.triggered_by
          ? t("On {event} by {actor}", { event: humanize(run.event_type).toLowerCase(), actor: actorText(run.triggered_by, page) })
          : t("On {event}", { event: humanize(run.event_type).toLowerCase() }),
          ` · ${formatDate(run.finished_at || run.started_at)}`,
          run.condition === true ? [" · ", t("condition met")] : run.condition === false ? [" · ", t("condition not met")] : ""),
        (run.outcomes || []).length ? h("ul", { class: "outcomes" }, run.outcomes.map((o) =>
          h("li", {}, `${humanize(o.type)}: ${o.status}${o.error ? ` — ${o.error}` : ""}`))) : null,
        run.error ? h("p", { class: "field-error" }, run.error) : null);
    })));
  }

  return { render: renderRuns, load: loadRuns };
}
