// Saved views, kept by the API for the person (GET /views): "My views", which they save, rename, share with
// their groups and delete, and "Team views", which others shared with a group of theirs (read-only). Views an
// older console kept in this browser are offered for import once: kept until the person imports or declines.
import { api } from "../../api.js";
import { t, tn } from "../../i18n.js";
import { announce, clear, dialog, fill, h, labelled, problemBox, showFieldErrors } from "../../ui.js";
import { personName } from "../../people.js";
import { viewBody, viewHref } from "./query.js";

const LEGACY_VIEWS = "caseline.savedViews";
const NOT_SHARED = new Set(["caseline-admins", "caseline-viewers"]); // roles, not teams to share with
const NAME_LENGTH = 80;

function groupLabel(group) {
  return group === "caseline-staff" ? t("All staff") : group;
}

function legacyViews() {
  try {
    const views = JSON.parse(localStorage.getItem(LEGACY_VIEWS) || "[]");
    return Array.isArray(views) ? views.filter((view) => view && typeof view.name === "string" && view.name.trim()) : [];
  } catch {
    return [];
  }
}

function forgetLegacyViews() {
  try { localStorage.removeItem(LEGACY_VIEWS); } catch { /* storage disabled: nothing kept */ }
}

// An older view kept its list URL's query; a saved view keeps its filters and words (not "updated since").
function importedBody(view) {
  const params = new URLSearchParams(view.query || "");
  const query = Object.fromEntries(["q", "template_key", "stage", "status", "owner"]
    .filter((name) => params.get(name)).map((name) => [name, params.get(name)]));
  query.sort = query.q ? "relevance" : "updated";
  return { name: view.name.trim().slice(0, NAME_LENGTH), query };
}

function requestOf(view) {
  return { name: view.name, query: view.query, columns: view.columns, shared_with: view.shared_with };
}

function shareBoxes(groups, chosen) {
  if (!groups.length) return h("p", { class: "hint" }, t("You are in no group to share with."));
  return h("fieldset", { class: "share-groups" }, h("legend", {}, t("Share with (read-only)")),
    groups.map((group) => h("label", { class: "share-group" },
      h("input", { type: "checkbox", name: "shared_with", value: group, checked: chosen.includes(group) }),
      ` ${groupLabel(group)}`)));
}

function checkedGroups(form) {
  return [...form.querySelectorAll("input[name=shared_with]:checked")].map((box) => box.value);
}

export function savedViews({ user, currentState }) {
  const groups = (user.groups || []).filter((group) => !NOT_SHARED.has(group)).sort();
  const mine = h("ul", { class: "saved-views", id: "my-views", "aria-labelledby": "my-views-heading" });
  const team = h("ul", { class: "saved-views", id: "team-views", "aria-labelledby": "team-views-heading" });
  const status = h("div", { id: "saved-views-status" });
  const offer = h("div", { id: "import-views" });

  async function refresh() {
    let lists;
    try {
      lists = await api.get("/views");
    } catch (problem) {
      fill(status, problemBox(problem));
      return;
    }
    clear(status);
    fill(mine, lists.mine.length ? lists.mine.map(myView) : h("li", { class: "hint" }, t("No saved views yet.")));
    fill(team, lists.team.length ? lists.team.map(teamView)
      : h("li", { class: "hint" }, t("No views shared with your groups.")));
  }

  function sharedNote(view) {
    return view.shared_with.length
      ? h("span", { class: "hint" }, t("Shared with {groups}", { groups: view.shared_with.map(groupLabel).join(", ") })) : null;
  }

  function myView(view) {
    return h("li", { dataset: { viewId: view.id } },
      h("a", { href: viewHref(view) }, view.name), sharedNote(view),
      h("button", { type: "button", class: "link", "aria-label": t("Rename {name}", { name: view.name }), onclick: () => rename(view) },
        t("Rename")),
      h("button", { type: "button", class: "link", "aria-label": t("Share {name}", { name: view.name }), onclick: () => share(view) },
        t("Share")),
      h("button", { type: "button", class: "link case-delete-view", "aria-label": t("Delete saved view {name}", { name: view.name }),
        onclick: () => remove(view) }, t("Delete")));
  }

  function teamView(view) {
    return h("li", { dataset: { viewId: view.id } },
      h("a", { href: viewHref(view) }, view.name), h("span", { class: "hint" }, t("by {person}", { person: personName(view.owner) })), sharedNote(view));
  }

  async function change(view, changes, done) {
    await api.put(`/views/${encodeURIComponent(view.id)}`, { ...requestOf(view), ...changes }, { ifMatch: view.version });
    await refresh();
    announce(done);
  }

  function rename(view) {
    const name = h("input", { type: "text", name: "name", value: view.name, maxlength: NAME_LENGTH, required: true });
    return dialog(t("Rename “{name}”", { name: view.name }), labelled(t("Name"), name, { pointer: "/name" }), {
      submitLabel: t("Rename"),
      onSubmit: (values) => change(view, { name: values.name.trim() }, t("Renamed the view to “{name}”.", { name: values.name.trim() })),
    });
  }

  function share(view) {
    return dialog(t("Share “{name}”", { name: view.name }), h("div", { dataset: { pointer: "/shared_with" } }, shareBoxes(groups, view.shared_with)), {
      submitLabel: t("Save sharing"),
      onSubmit: (_values, form) => change(view, { shared_with: checkedGroups(form) }, t("Updated who sees “{name}”.", { name: view.name })),
    });
  }

  function remove(view) {
    return dialog(t("Delete “{name}”?", { name: view.name }), h("p", {}, view.shared_with.length
      ? t("The people you shared it with will no longer see it.") : t("Only you see this view.")), {
      submitLabel: t("Delete"),
      onSubmit: async () => {
        await api.delete(`/views/${encodeURIComponent(view.id)}`, { ifMatch: view.version });
        await refresh();
        announce(t("Deleted the saved view “{name}”.", { name: view.name }));
      },
    });
  }

  const name = h("input", { id: "saved-view-name", type: "text", name: "name", maxlength: NAME_LENGTH, required: true,
    autocomplete: "off", dataset: { pointer: "/name" } });
  const saveButton = h("button", { type: "submit" }, t("Save view"));
  const saveForm = h("form", { class: "save-view" },
    h("div", { class: "toolbar" }, labelled(t("Name of this view"), name), shareBoxes(groups, []),
      saveButton));
  // One key per view being saved: a double click, or a retry after a lost answer, saves it once. A refusal or a
  // saved view starts a new one.
  let idempotencyKey = crypto.randomUUID();
  saveForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (saveButton.disabled) return;
    const chosen = name.value.trim();
    if (!chosen) { name.focus(); return; }
    const body = { name: chosen, ...viewBody(currentState()), shared_with: checkedGroups(saveForm) };
    saveButton.disabled = true;
    try {
      await api.post("/views", body, { headers: { "Idempotency-Key": idempotencyKey } });
    } catch (problem) {
      if (problem?.status >= 400 && problem.status < 500) idempotencyKey = crypto.randomUUID();
      fill(status, problemBox({ ...problem, errors: showFieldErrors(saveForm, problem) }));
      return;
    } finally {
      saveButton.disabled = false;
    }
    idempotencyKey = crypto.randomUUID();
    name.value = "";
    for (const box of saveForm.querySelectorAll("input[name=shared_with]")) box.checked = false;
    await refresh();
    announce(t("Saved the view “{name}”.", { name: chosen }));
  });

  async function importLegacy(views) {
    for (const [index, view] of views.entries()) {
      try {
        // The same key for the same view: importing again after a failure saves none twice.
        const key = `import-${index}-${encodeURIComponent(view.name)}`.slice(0, 255);
        await api.post("/views", importedBody(view), { headers: { "Idempotency-Key": key } });
      } catch (problem) {
        fill(offer, problemBox({ ...problem, title: t("“{name}” could not be imported", { name: view.name }) }));
        return;
      }
    }
    forgetLegacyViews();
    clear(offer);
    await refresh();
    announce(tn("Imported {count} view.", "Imported {count} views.", views.length));
  }

  const legacy = legacyViews();
  if (legacy.length) {
    fill(offer, h("div", { class: "panel import-views", role: "region", "aria-label": t("Views saved in this browser") },
      h("p", {}, tn("{count} view is saved only in this browser. Import it to your account to use it anywhere and share it.",
        "{count} views are saved only in this browser. Import them to your account to use them anywhere and share them.",
        legacy.length)),
      h("div", { class: "actions" },
        h("button", { type: "button", class: "primary", onclick: () => importLegacy(legacy) }, t("Import")),
        h("button", { type: "button", onclick: () => { forgetLegacyViews(); clear(offer); } }, t("Discard them")))));
  }

  return {
    element: h("section", { class: "panel case-saved-panel", "aria-labelledby": "saved-views-heading" },
      h("h2", { id: "saved-views-heading" }, t("Saved views")),
      offer,
      status,
      h("h3", { id: "my-views-heading" }, t("My views")), mine,
      h("h3", { id: "team-views-heading" }, t("Team views")), team,
      saveForm),
    refresh,
  };
}
