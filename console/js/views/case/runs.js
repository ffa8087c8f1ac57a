// The automation runs section: the rules that ran on the case, their verdicts and what each action did.
import { api } from "../../api.js";
import { formatNumber, language, t, tn } from "../../i18n.js";
import { clear, eventName, formatDate, h, humanize, problemBox } from "../../ui.js";
import { actorText, toProblem } from "./common.js";

// The newest runs shown; more are on the timeline, as automation.ran entries.
export const RUNS_SHOWN = 25;

// A run's verdict, an action's type and its outcome, in words; one this console does not know reads as its key.
function verdictName(verdict) {
  return { fired: t("Fired"), skipped: t("Skipped"), stopped: t("Stopped"), failed: t("Failed") }[verdict] || humanize(verdict);
}

function actionName(type) {
  return {
    set_fields: t("Set fields"), create_task: t("Create task"), assign: t("Assign"), move_stage: t("Move stage"),
    add_participant: t("Add participant"), request_document: t("Request document"), send_email: t("Send email"),
    start_timer: t("Start timer"), add_comment: t("Add comment"),
  }[type] || humanize(type);
}

function outcomeStatus(status) {
  return { sent: t("sent"), done: t("done"), skipped: t("skipped"), failed: t("failed") }[status] || status;
}

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
      // English writes an event's name lower-case inside a sentence; German keeps its nouns capitalised.
      const event = language() === "en" ? eventName(run.event_type).toLowerCase() : eventName(run.event_type);
      return h("li", { class: `run${failedRun ? " failed" : ""}` },
        h("p", {}, h("strong", {}, run.rule_name), " ", h("span", { class: `badge verdict-${run.verdict}` }, verdictName(run.verdict)),
          failedRun ? h("span", { class: "badge overdue" }, t("Failed")) : null),
        h("p", { class: "hint" }, run.triggered_by
          ? t("On {event} by {actor}", { event, actor: actorText(run.triggered_by, page) })
          : t("On {event}", { event }),
          ` · ${formatDate(run.finished_at || run.started_at)}`,
          run.condition === true ? [" · ", t("condition met")] : run.condition === false ? [" · ", t("condition not met")] : ""),
        (run.outcomes || []).length ? h("ul", { class: "outcomes" }, run.outcomes.map((o) =>
          h("li", {}, `${actionName(o.type)}: ${outcomeStatus(o.status)}${o.error ? ` — ${o.error}` : ""}`))) : null,
        run.error ? h("p", { class: "field-error" }, run.error) : null);
    })));
  }

  return { render: renderRuns, load: loadRuns };
}
