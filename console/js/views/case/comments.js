// The comments section: the case's comments, oldest first, and the form to add one, internal or shared with
// external participants as the caller's roles allow.
import { api } from "../../api.js";
import { t } from "../../i18n.js";
import { announce, clear, formatDate, h, labelled, problemBox, showFieldErrors } from "../../ui.js";
import { personName } from "../../people.js";
import { P } from "./access.js";
import { checkbox, toProblem } from "./common.js";

export function commentsSection(page) {
  let comments = [];
  let commentsProblem;
  let commentList;

  async function loadComments() {
    try {
      comments = await api.all(page.path("/comments"));
      commentsProblem = null;
    } catch (error) {
      commentsProblem = toProblem(error);
    }
    renderCommentList();
  }

  function renderCommentList() {
    const slot = commentList && clear(commentList);
    if (!slot) return;
    if (commentsProblem) slot.append(problemBox(commentsProblem));
    if (!comments.length) slot.append(h("p", { id: "comments-empty" }, t("No comments yet.")));
    else {
      slot.append(h("ol", { class: "comments" }, comments.map((comment) => h("li", { class: "comment" },
        h("p", { class: "comment-meta" }, h("strong", {}, (comment.external && page.externalName(comment.author)) || personName(comment.author)), " · ", formatDate(comment.created_at), " ",
          h("span", { class: `badge ${comment.external ? "shared" : "internal"}` }, comment.external ? t("Shared with externals") : t("Internal"))),
        h("p", { class: "comment-body" }, comment.body)))));
    }
  }

  function renderComments() {
    const slot = clear(page.slots.comments);
    commentList = h("div", { class: "comment-list" });
    slot.append(commentList);
    renderCommentList();
    const internal = page.access.can(P.COMMENT_INTERNAL);
    const external = page.access.can(P.COMMENT_EXTERNAL);
    if (page.access.readOnly || !(internal || external)) return;
    const body = h("textarea", { id: "comment-new-body", name: "body", rows: 3, dataset: { pointer: "/body" } });
    const share = external ? checkbox(t("Share with external participants"), { id: "comment-new-external", name: "external", checked: !internal, disabled: !internal }) : null;
    const status = h("div", { class: "form-status" });
    const button = h("button", { type: "submit", class: "primary", id: "comment-new-submit" }, t("Add comment"));
    const form = h("form", { class: "subform", novalidate: true },
      labelled(t("Comment"), body), share?.element, status, h("div", { class: "actions" }, button));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      showFieldErrors(form, { errors: [] });
      clear(status);
      if (!body.value.trim()) {
        status.append(problemBox({ title: t("Write a comment first") }));
        announce(t("Write a comment first."));
        body.focus();
        return;
      }
      const request = { body: body.value.trim(), external: share ? share.input.checked : false };
      button.disabled = true;
      try {
        const created = await api.post(page.path("/comments"), request);
        comments.push(created);
        renderCommentList();
        body.value = "";
        if (share && internal) share.input.checked = false;
        body.focus();
        announce(request.external ? t("Comment added and shared with external participants.") : t("Internal comment added."));
        page.catchUp((items) => items.some((item) => item.event?.data?.comment_id === created.id));
      } catch (error) {
        const problem = toProblem(error);
        const left = showFieldErrors(form, problem);
        status.append(problemBox({ ...problem, errors: left }));
        announce(t("Comment not added: {reason}", { reason: problem.detail || problem.title }));
      } finally {
        button.disabled = false;
      }
    });
    slot.append(form);
  }

  return { render: renderComments, load: loadComments };
}
