// The documents section: a block per document type of the template, its versions with their downloads, and
// uploads straight to storage through the presigned form the API hands out, with progress.
import { api } from "../../api.js";
import { formatNumber, t, tn } from "../../i18n.js";
import { announce, clear, fill, formatDate, formatSize, h, labelled, problemBox, visuallyHidden } from "../../ui.js";
import { personName } from "../../people.js";
import { P } from "./access.js";
import { attempt, tableWrap, toProblem } from "./common.js";

// The documents asked of external participants and not yet received, oldest first: what, from whom, since when.
export function outstandingRequests(page) {
  const typeName = (key) => (page.template.document_types || []).find((type) => type.key === key)?.name || key;
  return [...(page.case.requests || [])]
    .sort((a, b) => String(a.requested_at).localeCompare(String(b.requested_at)))
    .map((request) => ({
      ...request,
      what: typeName(request.document_type),
      role: page.roleName(request.from_role),
      holders: (page.case.participants || [])
        .filter((p) => p.kind === "external" && p.role === request.from_role).map((p) => p.name || p.email || p.id),
    }));
}

function requestsBlock(requests) {
  return h("div", { class: "requests", role: "group", "aria-labelledby": "doc-requests-title" },
    h("h3", { id: "doc-requests-title" }, t("Requested, not yet received")),
    h("ul", {}, requests.map((request) => h("li", { class: "request", dataset: { documentType: request.document_type } },
      h("strong", {}, request.what), " ",
      request.holders.length ? t("from {role} ({people}), asked", { role: request.role, people: request.holders.join(", ") })
        : t("from {role} (nobody holds this role on the case yet), asked", { role: request.role }),
      " ", h("time", { datetime: request.requested_at }, formatDate(request.requested_at)),
      ` (${waitedFor(request.requested_at)}).`,
      request.message ? h("p", { class: "hint" }, t("Message: {message}", { message: request.message })) : null))));
}

// How long a request has waited, in the largest whole unit: "3 days", "5 hours", "under a minute".
function waitedFor(since, now = Date.now()) {
  const minutes = Math.floor((now - Date.parse(since)) / 60_000);
  if (!(minutes >= 1)) return t("under a minute");
  if (minutes >= 2880) return tn("{count} day", "{count} days", Math.floor(minutes / 1440));
  if (minutes >= 120) return tn("{count} hour", "{count} hours", Math.floor(minutes / 60));
  return tn("{count} minute", "{count} minutes", minutes);
}

export function documentsSection(page) {
  function renderDocuments() {
    const slot = clear(page.slots.documents);
    const types = page.template.document_types || [];
    const requests = outstandingRequests(page);
    if (requests.length) slot.append(requestsBlock(requests));
    if (!types.length) {
      slot.append(h("p", {}, t("This template has no document types.")));
      return;
    }
    const canView = page.access.can(P.DOCUMENT_VIEW);
    for (const type of types) {
      const versions = [...((page.case.documents || []).find((d) => d.type === type.key)?.versions || [])].reverse();
      const headingId = `doc-${type.key}-title`;
      const status = h("div", { class: "form-status", id: `doc-${type.key}-status` });
      const requiredIn = (type.required_in_stages || []).map((key) => page.stageName(key));
      const block = h("div", { class: "doc-type", role: "group", "aria-labelledby": headingId },
        h("h3", { id: headingId }, type.name),
        type.description ? h("p", {}, type.description) : null,
        h("p", { class: "hint" }, t("Accepts {types}; at most {size}.", { types: type.content_types.join(", "), size: formatSize(type.max_size_bytes) }),
          requiredIn.length ? [" ", t("Needed to leave: {stages}.", { stages: requiredIn.join(", ") })] : "",
          type.external ? [" ", t("Shared with external participants.")] : ""),
        requests.filter((request) => request.document_type === type.key).map((request) =>
          h("p", { class: "requested" }, h("span", { class: "badge request-open" }, t("Requested")), " ",
            t("from {role} since {date}.", { role: request.role, date: formatDate(request.requested_at) }))));
      if (!versions.length) block.append(h("p", {}, t("Nothing uploaded yet.")));
      else {
        block.append(tableWrap(h("table", { class: "versions" },
          h("caption", { class: "visually-hidden" }, t("Versions of {type}", { type: type.name })),
          h("thead", {}, h("tr", {}, [t("Version"), t("File"), t("Size"), t("Uploaded"), "SHA-256", canView ? t("Download") : null]
            .filter(Boolean).map((name) => h("th", { scope: "col" }, name)))),
          h("tbody", {}, versions.map((v) => h("tr", {},
            h("td", {}, `v${v.version}`),
            h("td", { class: "filename" }, v.filename),
            h("td", {}, formatSize(v.size)),
            h("td", {}, formatDate(v.uploaded_at), h("p", { class: "hint" }, t("by {person}", { person: page.externalName(v.uploaded_by) || personName(v.uploaded_by) }))),
            h("td", {}, h("code", { title: v.sha256 }, v.sha256.slice(0, 12))),
            canView ? h("td", {}, h("button", { type: "button", id: `doc-${type.key}-v${v.version}-download`,
              onclick: (e) => download(type, v, e.currentTarget, status) }, t("Download"), visuallyHidden([" ", t("{file} (version {version})", { file: v.filename, version: v.version })]))) : null))))));
      }
      block.append(status);
      const mayUpload = page.editable && page.access.can(P.DOCUMENT_UPLOAD)
        && (!(type.uploader_roles || []).length || page.access.holdsAny(type.uploader_roles));
      if (mayUpload) block.append(uploadForm(type));
      slot.append(block);
    }
  }

  async function download(type, version, button, status) {
    const outcome = await attempt(status, button, () =>
      api.get(page.path(`/documents/${encodeURIComponent(type.key)}/versions/${version.version}`)));
    if (!outcome.ok) return;
    // the link answers with Content-Disposition: attachment, so the browser saves it and stays on this page
    const link = h("a", { href: outcome.result.url, download: version.filename, rel: "noopener", class: "visually-hidden" }, t("download"));
    document.body.append(link);
    link.click();
    link.remove();
    announce(t("Downloading {file}.", { file: version.filename }));
  }

  function uploadForm(type) {
    const file = h("input", { type: "file", id: `doc-${type.key}-file`, name: "file", accept: type.content_types.join(","),
      dataset: { pointer: "/filename" } });
    const progress = h("progress", { id: `doc-${type.key}-progress`, max: 100, value: 0, "aria-label": t("Upload progress for {type}", { type: type.name }) });
    const progressText = h("span", { class: "progress-text", "aria-live": "polite" });
    const progressBox = h("div", { class: "upload-progress", hidden: true }, progress, progressText);
    const status = h("div", { class: "form-status" });
    const button = h("button", { type: "submit", id: `doc-${type.key}-upload` }, t("Upload"), visuallyHidden(` ${type.name}`));
    const form = h("form", { class: "upload-form", novalidate: true },
      h("div", { class: "inline" }, labelled(t("File for {type}", { type: type.name }), file), h("div", { class: "actions" }, button)),
      progressBox, status);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clear(status);
      const chosen = file.files[0];
      if (!chosen) {
        status.append(problemBox({ title: t("Choose a file first"), detail: t("Pick the {type} to upload.", { type: type.name }) }));
        announce(t("Choose a file first."));
        file.focus();
        return;
      }
      button.disabled = true;
      file.disabled = true;
      try {
        let target;
        try {
          target = await api.post(page.path("/documents/uploads"), {
            type: type.key, filename: chosen.name, content_type: chosen.type || "application/octet-stream", size: chosen.size,
          });
        } catch (error) {
          const problem = toProblem(error);
          if (problem.status === 422) {
            throw { ...problem, title: t("This file cannot be uploaded"),
              detail: t("{file} ({type}, {size}) was refused.", { file: chosen.name, type: chosen.type || t("unknown type"), size: formatSize(chosen.size) }),
              errors: (problem.errors || []).map((e) => ({ detail: e.detail })) };
          }
          throw problem;
        }
        progressBox.hidden = false;
        progress.value = 0;
        progressText.textContent = t("Starting…");
        await sendForm(target, chosen, (loaded, total) => {
          const percent = total ? Math.round((loaded / total) * 100) : 0;
          progress.value = percent;
          progressText.textContent = t("{percent} ({loaded} of {total})", { percent: formatNumber(percent / 100, { style: "percent" }), loaded: formatSize(loaded), total: formatSize(total) });
        });
        progressText.textContent = t("Uploaded; checking the file…");
        const next = await api.post(page.path(`/documents/uploads/${encodeURIComponent(target.upload_id)}/confirm`));
        const versions = (next.documents || []).find((d) => d.type === type.key)?.versions || [];
        const added = versions[versions.length - 1];
        page.applyCase(next, { focus: `doc-${type.key}-title` });
        const message = t("Uploaded {file} as version {version} of {type}.", { file: chosen.name, version: added?.version ?? "", type: type.name });
        document.getElementById(`doc-${type.key}-status`)?.append(h("p", { class: "note ok" }, message));
        announce(message);
      } catch (error) {
        const problem = toProblem(error);
        const shown = document.getElementById(`doc-${type.key}-status`) || status;
        fill(shown, problemBox(problem));
        progressBox.hidden = true;
        announce(t("Upload failed: {reason}", { reason: problem.detail || problem.title }));
      } finally {
        button.disabled = false;
        file.disabled = false;
      }
    });
    return form;
  }

  return { render: renderDocuments };
}

// The presigned POST: every field of the form, then the file as "file", with upload progress.
function sendForm(target, file, onProgress) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const [name, value] of Object.entries(target.fields || {})) form.append(name, value);
    form.append("file", file);
    const request = new XMLHttpRequest();
    request.open("POST", target.url);
    request.upload.addEventListener("progress", (event) => onProgress(event.loaded, event.lengthComputable ? event.total : file.size));
    request.addEventListener("load", () => {
      if (request.status >= 200 && request.status < 300) { onProgress(file.size, file.size); resolve(); }
      else reject({ title: t("The upload was refused"), detail: t("The storage answered {status}. The file may be too large or of the wrong type.", { status: request.status }) });
    });
    request.addEventListener("error", () => reject({ title: t("The upload failed"), detail: t("The file could not be sent; check your connection and try again.") }));
    request.addEventListener("abort", () => reject({ title: t("The upload was stopped") }));
    request.send(form);
  });
}
