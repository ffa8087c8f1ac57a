// The fields section: each field the caller may see, as a value or (where they may edit it) a control; saving
// sends only what changed, conditional on the version read, and a case changed meanwhile asks for a reload.
import { api } from "../../api.js";
import { t, tn } from "../../i18n.js";
import { announce, clear, fill, h, problemBox, showFieldErrors } from "../../ui.js";
import { toProblem } from "./common.js";
import { displayValue, fieldControl } from "./controls.js";

export function fieldsSection(page) {
  const fieldsStatus = h("div", { class: "form-status" });

  function renderFields() {
    const slot = clear(page.slots.fields);
    const visible = page.template.fields.map((def) => ({ def, access: page.access.field(def.key) }))
      .filter((entry) => entry.access);
    if (!visible.length) {
      slot.append(h("p", {}, t("Your role on this case shows none of its fields.")));
      return;
    }
    const canEdit = page.editable;
    const editable = canEdit ? visible.filter((entry) => entry.access === "edit") : [];
    const readable = visible.filter((entry) => !editable.includes(entry));
    if (readable.length) {
      slot.append(h("dl", { class: "field-values" }, readable.map(({ def }) =>
        h("div", {}, h("dt", {}, def.label), h("dd", { id: `value-${def.key}` }, displayValue(def, page.case.fields[def.key]))))));
    }
    if (!editable.length) return;
    const controls = editable.map(({ def }) => ({ def, control: fieldControl(def, page.case.fields[def.key]) }));
    const initial = new Map(controls.map(({ def, control }) => [def.key, control.state()]));
    const status = fieldsStatus;
    clear(status);
    const save = h("button", { type: "submit", class: "primary", id: "case-fields-save" }, t("Save changes"));
    const form = h("form", { class: "case-fields", novalidate: true, "aria-labelledby": "case-fields-title" },
      readable.length ? h("h3", {}, t("What you may change")) : null,
      h("div", { class: "field-grid" }, controls.map(({ control }) => control.element)),
      status,
      h("div", { class: "actions" }, save,
        h("button", { type: "button", id: "case-fields-reset", onclick: () => { renderFields(); announce(t("Changes undone.")); } },
          t("Undo changes"))));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      showFieldErrors(form, { errors: [] });
      const changed = {};
      for (const { def, control } of controls) {
        if (control.state() !== initial.get(def.key)) changed[def.key] = control.read();
      }
      const count = Object.keys(changed).length;
      clear(status);
      if (!count) {
        status.append(h("p", { class: "note" }, t("Nothing has changed.")));
        announce(t("Nothing has changed."));
        return;
      }
      save.disabled = true;
      try {
        const next = await api.patch(page.path(), { fields: changed }, { ifMatch: page.case.version });
        page.applyCase(next, { fields: true, focus: "case-fields-save" });
        const saved = tn("Saved {count} field.", "Saved {count} fields.", count);
        fill(fieldsStatus, h("p", { class: "note ok" }, saved));
        announce(saved);
      } catch (error) {
        const problem = toProblem(error);
        if (problem.status === 412 || problem.status === 409) {
          status.append(staleBox(problem));
        } else if (problem.status === 422) {
          const left = showFieldErrors(form, problem);
          status.append(problemBox({ ...problem, errors: left }));
        } else {
          status.append(problemBox(problem));
        }
        announce(t("Not saved: {reason}", { reason: problem.detail || problem.title }));
      } finally {
        save.disabled = false;
      }
    });
    slot.append(form);
  }

  function staleBox(problem) {
    const box = problemBox({ title: t("This case has changed"), detail:
      t("Someone changed this case after you opened it, so your changes were not saved. Reload it to see the latest, then make your changes again.") });
    if (problem.detail) box.append(h("p", { class: "hint" }, problem.detail));
    box.append(h("div", { class: "actions" }, h("button", { type: "button", id: "case-reload", onclick: async () => {
      try {
        await page.reload("case-fields-title");
        announce(t("Reloaded the latest version of the case."));
      } catch (error) {
        box.append(problemBox(toProblem(error)));
      }
    } }, t("Reload the case"))));
    return box;
  }

  return { render: renderFields };
}
