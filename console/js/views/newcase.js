// Opening a case: a template, a title and the template's fields, checked by the API like any change.
import { api } from "../api.js";
import { t } from "../i18n.js";
import { navigate } from "../router.js";
import { announce, field, fill, h, problemBox, showFieldErrors, templateNamer } from "../ui.js";
import { fieldControl } from "./case/controls.js";

export function register(route) {
  route("/cases/new", render, { nav: "cases" });
}

async function render(main, _params, query, user) {
  fill(main, h("h1", {}, t("Open a case")));
  if (user.role === "viewer") {
    main.append(h("p", {}, t("Viewers read cases; opening one is for case workers and administrators.")));
    return;
  }
  const templates = await api.all("/templates");
  if (!templates.length) {
    main.append(h("p", {}, t("There is no published template yet. An administrator publishes one in Templates.")));
    return;
  }
  const chosen = query.get("template") || templates[0].key;
  const nameOf = templateNamer(templates);
  const picker = h("select", { id: "new-case-template", name: "template" },
    templates.map((template) => h("option", { value: template.key, selected: template.key === chosen }, nameOf(template))));
  picker.addEventListener("change", () => navigate(`#/cases/new?template=${encodeURIComponent(picker.value)}`));
  main.append(field(t("Template"), picker));

  const { definition } = await api.get(`/templates/${encodeURIComponent(chosen)}`);
  const title = h("input", { id: "new-case-title", name: "title", type: "text", required: true, maxlength: 200,
    dataset: { pointer: "/title" }, autocomplete: "off" });
  const controls = definition.fields.map((def) => ({ def, control: fieldControl(def, undefined) }));
  const status = h("div", { id: "new-case-status" });
  const submit = h("button", { type: "submit", class: "primary" }, t("Open case"));
  const form = h("form", { class: "panel", novalidate: true },
    field(t("Title"), title, t("What the case is about, in a few words.")),
    controls.length ? h("h2", {}, t("Fields")) : null,
    controls.map(({ control }) => control.element),
    h("div", { class: "actions" }, submit),
    status);
  // One key for this form: a second click, or a retry after a lost answer, is answered with the case the first
  // opened instead of opening another. A refusal changed nothing, so the next attempt gets a key of its own.
  let idempotencyKey = crypto.randomUUID();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (submit.disabled) return;
    submit.disabled = true;
    const fields = {};
    for (const { def, control } of controls) {
      const value = control.read();
      if (value !== null && value !== undefined) fields[def.key] = value;
    }
    try {
      const opened = await api.post("/cases", { template_key: chosen, title: title.value, fields },
        { headers: { "Idempotency-Key": idempotencyKey } });
      announce(t("Opened “{title}”.", { title: opened.title }));
      navigate(`#/cases/${opened.id}`);
    } catch (problem) {
      if (problem?.status >= 400 && problem.status < 500) idempotencyKey = crypto.randomUUID();
      submit.disabled = false;
      const left = showFieldErrors(form, problem);
      fill(status, problemBox({ ...problem, errors: left }));
    }
  });
  main.append(form);
}
