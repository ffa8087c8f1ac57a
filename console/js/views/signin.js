// Sign-in: locally a user picker for the development issuer; in AWS a button to Cognito's hosted UI.
import { session } from "../auth.js";
import { t } from "../i18n.js";
import { clear, fill, h, problemBox } from "../ui.js";

export async function render(main) {
  const config = session.config();
  clear(main);
  main.append(h("h1", {}, t("Sign in to Caseline")));
  if (config.mode === "cognito") {
    main.append(h("button", { type: "button", class: "primary", onclick: () => session.startHostedSignIn() },
      t("Sign in with your organisation account")));
    return;
  }
  const status = h("div");
  const form = h("form", { class: "signin" },
    h("fieldset", {},
      h("legend", {}, t("Development users (local stack only)")),
      config.users.map((user, index) => h("div", { class: "choice" },
        h("input", { type: "radio", name: "user", id: `user-${user.id}`, value: user.id, checked: index === 0 }),
        h("label", { for: `user-${user.id}` }, user.label)))),
    h("button", { type: "submit", class: "primary" }, t("Sign in")),
    status);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await session.signInAs(new FormData(form).get("user"));
    } catch (error) {
      fill(status, problemBox({ title: t("Sign-in failed"), detail: error.message }));
    }
  });
  main.append(form);
}
