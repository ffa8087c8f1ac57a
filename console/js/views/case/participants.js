// The participants section: who takes part and in which role, portal links for external participants (issued,
// shown once to copy, revoked), adding and removing participants, and the case's owner.
import { api } from "../../api.js";
import { languages, locale, t } from "../../i18n.js";
import { announce, clear, dialog, fill, formatDate, h, labelled, problemBox, showFieldErrors, visuallyHidden } from "../../ui.js";
import { peopleOptions, personName, subjectOf } from "../../people.js";
import { P } from "./access.js";
import { attempt, select, toProblem } from "./common.js";

// A participant as the section names them: staff by their directory name, externals by the name they were given.
function participantName(p) {
  return p.user_id ? personName(p.user_id) : p.name;
}

// The languages an external participant may be spoken to in (the portal's pages and e-mails), named in the
// reader's language; none means their browser's. Made once: the reader's language is fixed for the page's life.
let choices = null;
function languageChoices() {
  if (!choices) {
    const names = new Intl.DisplayNames([locale()], { type: "language" });
    choices = [["", t("Their browser's")], ...languages().map(({ code }) => [code, names.of(code) || code])];
  }
  return choices;
}

function languageName(code) {
  return languageChoices().find(([value]) => value === (code || ""))?.[1] || code;
}

export function participantsSection(page) {
  let portalLinks = [];
  let linksProblem;
  let issued = null;

  async function loadLinks() {
    const externals = (page.case.participants || []).some((p) => p.kind === "external");
    if (!externals || page.access.readOnly || !page.access.can(P.PARTICIPANT_MANAGE)) {
      portalLinks = [];
      linksProblem = null;
      return;
    }
    try {
      portalLinks = (await api.get(page.path("/portal-links"))).items || [];
      linksProblem = null;
    } catch (error) {
      portalLinks = [];
      linksProblem = toProblem(error);
    }
    renderLinks();
  }

  // Only the portal-link boxes: the rest of the section (and what someone is typing in it) stays as it is.

  function renderLinks() {
    const status = document.getElementById("participants-status");
    for (const participant of (page.case.participants || []).filter((p) => p.kind === "external")) {
      const slot = document.getElementById(`links-${participant.id}`);
      if (slot) fill(slot, linksFor(participant, status));
    }
    const problemSlot = document.getElementById("links-problem");
    if (problemSlot) {
      clear(problemSlot);
      if (linksProblem) problemSlot.append(problemBox(linksProblem));
    }
  }

  function renderParticipants() {
    const slot = clear(page.slots.participants);
    const c = page.case;
    const manage = page.editable && page.access.can(P.PARTICIPANT_MANAGE);
    const status = h("div", { class: "form-status", id: "participants-status" });
    slot.append(h("div", { id: "issued-link-slot" }, issued ? issuedBox() : null));
    const list = h("ul", { class: "participants" }, (c.participants || []).map((p) => {
      const who = p.kind === "internal"
        ? [h("span", { class: "who" }, personName(p.user_id)), p.user_id === c.owner ? h("span", { class: "badge" }, t("Owner")) : null,
          p.user_id === page.user.sub ? h("span", { class: "badge" }, t("You")) : null]
        : [h("span", { class: "who" }, p.name || t("External participant")), p.email ? h("span", { class: "hint" }, ` ${p.email}`) : null];
      const item = h("li", { class: `participant participant-${p.kind}` },
        h("div", { class: "participant-head" }, who),
        h("p", { class: "hint" }, `${p.kind === "internal" ? t("Internal") : t("External")} · ${page.roleName(p.role)}`,
          p.kind === "external" ? ` · ${t("Language: {language}", { language: languageName(p.language) })}` : ""));
      if (manage) {
        const roleSelect = select(page.roleOptions(p.kind, "—").slice(1), { id: `participant-${p.id}-role`, "aria-label": t("Role of {name}", { name: participantName(p) }) }, p.role);
        const change = h("button", { type: "button", id: `participant-${p.id}-change`, onclick: async (e) => {
          if (roleSelect.value === p.role) { announce(t("The role is unchanged.")); return; }
          const outcome = await attempt(status, e.currentTarget, () => api.post(page.path(`/participants/${encodeURIComponent(p.id)}/role`),
            { role: roleSelect.value }), t("{name} is now {role}.", { name: participantName(p), role: page.roleName(roleSelect.value) }));
          if (outcome.ok) page.applyCase(outcome.result, { focus: `participant-${p.id}-role` });
        } }, t("Change role"), visuallyHidden([" ", t("of {name}", { name: participantName(p) })]));
        const remove = h("button", { type: "button", class: "danger", id: `participant-${p.id}-remove`, onclick: () => removeParticipant(p) },
          t("Remove"), visuallyHidden(` ${participantName(p)}`));
        item.append(h("div", { class: "inline actions" }, roleSelect, change, remove));
        if (p.kind === "external") item.append(languageForm(p, status));
      }
      if (p.kind === "external" && manage) item.append(h("div", { id: `links-${p.id}` }, linksFor(p, status)));
      return item;
    }));
    slot.append(list, status);
    if (manage) slot.append(h("div", { id: "links-problem" }, linksProblem ? problemBox(linksProblem) : null));
    if (manage) slot.append(addParticipantForm());
    if (page.editable && page.access.can(P.ASSIGN)) slot.append(ownerForm());
  }

  // The language the portal's pages and e-mails speak to an external participant.
  function languageForm(p, status) {
    const chosen = select(languageChoices(), { id: `participant-${p.id}-language`, "aria-label": t("Language of {name}", { name: p.name }) },
      p.language || "");
    const change = h("button", { type: "button", id: `participant-${p.id}-language-change`, onclick: async (e) => {
      const language = chosen.value || null;
      if (language === (p.language || null)) { announce(t("The language is unchanged.")); return; }
      const outcome = await attempt(status, e.currentTarget, () => api.post(page.path(`/participants/${encodeURIComponent(p.id)}/language`),
        { language }), t("{name} is now spoken to in: {language}", { name: p.name, language: languageName(language) }));
      if (outcome.ok) page.applyCase(outcome.result, { focus: `participant-${p.id}-language` });
    } }, t("Change language"), visuallyHidden([" ", t("of {name}", { name: p.name })]));
    return h("div", { class: "inline actions" }, chosen, change);
  }

  function linksFor(participant, status) {
    const links = portalLinks.filter((link) => link.participant_id === participant.id);
    const now = Date.now();
    const box = h("div", { class: "portal-links" }, h("h3", {}, t("Portal links"), visuallyHidden([" ", t("for {name}", { name: participant.name })])));
    if (!links.length) box.append(h("p", { class: "hint" }, t("No portal link issued yet.")));
    else {
      box.append(h("ul", {}, links.map((link) => {
        const expired = Date.parse(link.expires_at) <= now;
        const state = link.revoked_at ? t("Revoked {date}", { date: formatDate(link.revoked_at) }) : expired ? t("Expired") : t("Active");
        return h("li", { class: "portal-link" },
          h("span", { class: `badge link-${link.revoked_at ? "revoked" : expired ? "expired" : "active"}` }, state), " ",
          t("Issued {date}", { date: formatDate(link.created_at) }), " · ", t("expires {date}", { date: formatDate(link.expires_at) }), " · ",
          link.last_used_at ? t("last used {date}", { date: formatDate(link.last_used_at) }) : t("never used"),
          !link.revoked_at && !expired ? h("button", { type: "button", class: "link-button", id: `link-${link.id}-revoke`, onclick: async (e) => {
            const outcome = await attempt(status, e.currentTarget, () => api.post(page.path(`/portal-links/${encodeURIComponent(link.id)}/revoke`)),
              t("Revoked the portal link for {name}.", { name: participant.name }));
            if (!outcome.ok) return;
            // a revoked link is no longer one to copy and send
            if (issued?.link.id === link.id) { issued = null; showIssued(); }
            await loadLinks();
            document.getElementById(`participant-${participant.id}-issue`)?.focus();
          } }, t("Revoke"), visuallyHidden([" ", t("link issued {date}", { date: formatDate(link.created_at) })])) : null);
      })));
    }
    box.append(h("button", { type: "button", id: `participant-${participant.id}-issue`, onclick: async (e) => {
      // the portal learns of participants from events: it waits a moment for one added a moment ago and answers
      // 503 (Retry-After: 1) if it has still not arrived; a 422 means a participant it does not know, not worth a retry
      const issue = async () => {
        for (let round = 0; ; round += 1) {
          try {
            return await api.post(page.path("/portal-links"), { participant_id: participant.id });
          } catch (error) {
            if (error.status !== 503 || round >= 2) throw error;
            await new Promise((resolve) => window.setTimeout(resolve, 1000));
          }
        }
      };
      const outcome = await attempt(status, e.currentTarget, issue,
        t("Issued a portal link for {name}. Copy it now; it is shown only once.", { name: participant.name }));
      if (outcome.ok) {
        issued = { participant, link: outcome.result };
        showIssued();
        document.getElementById("issued-link-url")?.focus();
        await loadLinks();
      }
    } }, t("Issue link"), visuallyHidden([" ", t("for {name}", { name: participant.name })])));
    return box;
  }

  function showIssued() {
    const slot = document.getElementById("issued-link-slot");
    if (slot) fill(slot, issued ? issuedBox() : "");
  }

  function issuedBox() {
    const { participant, link } = issued;
    const url = h("input", { type: "text", id: "issued-link-url", readonly: true, value: link.url });
    const copied = h("span", { class: "hint", "aria-live": "polite" });
    return h("div", { class: "issued-link" },
      h("p", {}, h("strong", {}, t("New portal link for {name}", { name: participant.name })), " — ",
        t("expires {date}. Copy it now: it is shown only once.", { date: formatDate(link.expires_at) })),
      labelled(t("Portal link"), url),
      h("div", { class: "actions" },
        h("button", { type: "button", class: "primary", id: "issued-link-copy", onclick: async () => {
          try {
            await navigator.clipboard.writeText(link.url);
            copied.textContent = t("Copied.");
          } catch {
            url.select();
            copied.textContent = t("Select the link and copy it (Ctrl+C).");
          }
          announce(copied.textContent);
        } }, t("Copy link")),
        h("button", { type: "button", id: "issued-link-done", onclick: () => {
          issued = null;
          showIssued();
          document.getElementById(`participant-${participant.id}-issue`)?.focus();
        } }, t("Done")),
        copied));
  }

  async function removeParticipant(p) {
    let next = null;
    const done = await dialog(t("Remove {name}?", { name: participantName(p) }), h("p", {},
      t("{name} ({role}) will no longer take part in this case.", { name: participantName(p), role: page.roleName(p.role) })), {
      submitLabel: t("Remove participant"),
      onSubmit: async () => {
        next = await api.delete(page.path(`/participants/${encodeURIComponent(p.id)}`));
      },
    });
    if (done && next) {
      page.applyCase(next, { focus: "case-participants-title" });
      announce(t("Removed {name}.", { name: participantName(p) }));
    }
  }

  function addParticipantForm() {
    const internalRadio = h("input", { type: "radio", name: "kind", id: "participant-new-internal", value: "internal", checked: true });
    const externalRadio = h("input", { type: "radio", name: "kind", id: "participant-new-external", value: "external" });
    const people = peopleOptions("participant-new-people");
    const userId = h("input", { type: "text", id: "participant-new-user", name: "user_id", list: people.id, dataset: { pointer: "/user_id" }, autocomplete: "off" });
    const name = h("input", { type: "text", id: "participant-new-name", name: "name", dataset: { pointer: "/name" }, autocomplete: "off" });
    const email = h("input", { type: "email", id: "participant-new-email", name: "email", dataset: { pointer: "/email" }, autocomplete: "off" });
    const role = h("select", { id: "participant-new-role", name: "role", dataset: { pointer: "/role" } });
    const internalFields = h("div", {}, labelled(t("Person"), userId, { required: true, hint: t("A name, e-mail address or user id.") }), people);
    const language = select(languageChoices(), { id: "participant-new-language", name: "language", dataset: { pointer: "/language" } }, "");
    const externalFields = h("div", { hidden: true }, labelled(t("Name"), name, { required: true }), labelled(t("E-mail"), email, { required: true }),
      labelled(t("Portal language"), language, { hint: t("Of the portal's pages and e-mails; their browser's unless chosen.") }));
    const setKind = () => {
      const kind = externalRadio.checked ? "external" : "internal";
      internalFields.hidden = kind !== "internal";
      externalFields.hidden = kind !== "external";
      const options = page.roleOptions(kind).slice(1);
      fill(role, ...options.map(([value, label]) => h("option", { value }, label)));
      if (!options.length) role.append(h("option", { value: "" }, kind === "external" ? t("No external roles in this template") : t("No internal roles in this template")));
    };
    internalRadio.addEventListener("change", setKind);
    externalRadio.addEventListener("change", setKind);
    const status = h("div", { class: "form-status" });
    const button = h("button", { type: "submit", class: "primary", id: "participant-new-submit" }, t("Add participant"));
    const form = h("form", { class: "subform", novalidate: true, "aria-labelledby": "participant-new-heading" },
      h("h3", { id: "participant-new-heading" }, t("Add a participant")),
      h("fieldset", { class: "plain" }, h("legend", {}, t("Kind")),
        h("div", { class: "choice" }, internalRadio, h("label", { for: internalRadio.id }, t("Internal (a staff member)"))),
        h("div", { class: "choice" }, externalRadio, h("label", { for: externalRadio.id }, t("External (client, applicant, …)")))),
      internalFields, externalFields, labelled(t("Role"), role), status, h("div", { class: "actions" }, button));
    setKind();
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      showFieldErrors(form, { errors: [] });
      const kind = externalRadio.checked ? "external" : "internal";
      const body = { kind, role: role.value };
      if (kind === "internal") body.user_id = subjectOf(userId.value);
      else { body.name = name.value.trim(); body.email = email.value.trim(); body.language = language.value || null; }
      clear(status);
      button.disabled = true;
      try {
        const next = await api.post(page.path("/participants"), body);
        page.applyCase(next, { focus: "participant-new-submit" });
        announce(t("Added {name} as {role}.", { name: body.user_id ? personName(body.user_id) : body.name, role: page.roleName(body.role) }));
      } catch (error) {
        const problem = toProblem(error);
        const left = showFieldErrors(form, problem);
        status.append(problemBox({ ...problem, errors: left }));
        announce(t("Participant not added: {reason}", { reason: problem.detail || problem.title }));
      } finally {
        button.disabled = false;
      }
    });
    return form;
  }

  function ownerForm() {
    const people = peopleOptions("case-owner-people");
    const owner = h("input", { type: "text", id: "case-owner-new", name: "owner", list: people.id, dataset: { pointer: "/owner" }, autocomplete: "off" });
    const status = h("div", { class: "form-status" });
    const button = h("button", { type: "submit", id: "case-owner-submit" }, t("Change owner"));
    const form = h("form", { class: "subform", novalidate: true, "aria-labelledby": "case-owner-heading" },
      h("h3", { id: "case-owner-heading" }, t("Owner")),
      h("p", {}, t("Owned by {name}.", { name: personName(page.case.owner) })),
      h("div", { class: "inline" }, labelled(t("New owner"), owner, { hint: t("A name, e-mail address or user id.") }), people, h("div", { class: "actions" }, button)), status);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      showFieldErrors(form, { errors: [] });
      clear(status);
      button.disabled = true;
      try {
        const next = await api.post(page.path("/assignment"), { owner: subjectOf(owner.value) });
        page.applyCase(next, { focus: "case-owner-new" });
        announce(t("The case now belongs to {name}.", { name: personName(next.owner) }));
      } catch (error) {
        const problem = toProblem(error);
        const left = showFieldErrors(form, problem);
        status.append(problemBox({ ...problem, errors: left }));
        announce(t("Owner not changed: {reason}", { reason: problem.detail || problem.title }));
      } finally {
        button.disabled = false;
      }
    });
    return form;
  }

  return { render: renderParticipants, loadLinks };
}
