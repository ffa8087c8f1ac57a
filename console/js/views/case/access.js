// The access mirror: the caller's template roles on a case and what they allow, worked out as the API does
// (caseline_common/access.py). The console only hides what a role may not do; the API refuses it anyway.

export const P = {
  VIEW: "case.view",
  TRANSITION: "case.transition",
  OVERRIDE: "case.override",
  ASSIGN: "case.assign",
  CLOSE: "case.close",
  REOPEN: "case.reopen",
  TASK_MANAGE: "task.manage",
  TASK_COMPLETE: "task.complete",
  PARTICIPANT_MANAGE: "participant.manage",
  DOCUMENT_UPLOAD: "document.upload",
  DOCUMENT_VIEW: "document.view",
  COMMENT_INTERNAL: "comment.internal",
  COMMENT_EXTERNAL: "comment.external",
};

const VIEWER_ROLE = { key: "viewer", name: "Viewer", permissions: [P.VIEW, P.DOCUMENT_VIEW], fields: { "*": "view" } };

export function caseAccess(template, caseItem, user) {
  const admin = user.role === "admin";
  let roles;
  if (admin) roles = template.roles;
  else if (user.role === "viewer") roles = [VIEWER_ROLE];
  else {
    const held = new Set((caseItem.participants || [])
      .filter((p) => p.kind === "internal" && p.user_id === user.sub).map((p) => p.role));
    const groups = new Set(user.groups || []);
    roles = template.roles.filter((role) => held.has(role.key) || (role.groups || []).some((g) => groups.has(g)));
  }
  const roleKeys = new Set(roles.map((role) => role.key));
  return {
    admin,
    readOnly: user.role === "viewer",
    roles,
    roleKeys,
    can: (permission) => admin || roles.some((role) => (role.permissions || []).includes(permission)),
    field(key) {
      if (admin) return "edit";
      const granted = new Set(roles.map((role) => role.fields?.[key] ?? role.fields?.["*"]));
      if (granted.has("edit")) return "edit";
      return granted.has("view") ? "view" : null;
    },
    holdsAny: (keys) => admin || (keys || []).some((key) => roleKeys.has(key)),
  };
}
