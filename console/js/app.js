// The console's shell: configuration, sign-in, navigation, and the view for the current route.
import { configureApi } from "./api.js";
import { session } from "./auth.js";
import { language, languages, loadLanguage, switchLanguage, t, translateMarked } from "./i18n.js";
import { landingHash, rememberWorkView, trackWorkViews } from "./landing.js";
import { loadPeople } from "./people.js";
import { currentRoute, guardLeaving, leavingQuestion, mayLeave, numberEntry, route } from "./router.js";
import { enableShortcuts, viewShown } from "./shortcuts.js";
import { fill, h, problemBox } from "./ui.js";
import * as board from "./views/board.js";
import * as caseView from "./views/case/page.js";
import * as cases from "./views/cases.js";
import * as insight from "./views/insight.js";
import * as newCase from "./views/newcase.js";
import * as notifications from "./views/notifications.js";
import { refreshBell } from "./views/notifications.js";
import * as queue from "./views/queue.js";
import * as signin from "./views/signin.js";
import * as tasks from "./views/tasks.js";
import { refreshTaskBadges } from "./views/tasks.js";
import * as templates from "./views/templates.js";

const main = document.getElementById("view");

// "/cases/new" before "/cases/:id", which would take it otherwise.
for (const module of [board, cases, tasks, queue, newCase, caseView, templates, insight, notifications]) module.register(route);
route("/", async (_main, _params, _query, user) => window.location.replace(landingHash(user)));

function roleName(role) {
  if (role === "admin") return t("administrator");
  return role === "agent" ? t("case worker") : t("viewer");
}

function renderChrome(user) {
  document.getElementById("nav").hidden = !user;
  document.getElementById("user").hidden = !user;
  document.getElementById("user-name").textContent = user ? `${user.email} · ${roleName(user.role)}` : "";
  for (const item of document.querySelectorAll("[data-admin-only]")) item.hidden = user?.role !== "admin";
}

// Each render draws into a container of its own: a view still loading when the person has moved on
// (a slow board, then a quick click on Templates) finishes in a container no longer on the page.
function freshContainer() {
  const container = h("div", { class: "view-container" });
  fill(main, container);
  return container;
}

async function render() {
  guardLeaving(null);
  numberEntry();
  const user = session.user();
  renderChrome(user);
  const container = freshContainer();
  if (!user) {
    await signin.render(container);
    return;
  }
  refreshTaskBadges();
  refreshBell();
  await loadPeople(user);
  const found = currentRoute();
  for (const link of document.querySelectorAll("[data-nav]")) {
    if (found?.nav === link.dataset.nav) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (!found) {
    fill(container, h("h1", {}, t("Not found")), h("p", {}, t("There is no such page.")), h("a", { href: "#/board" }, t("Go to the board")));
    return;
  }
  if (found.adminOnly && user.role !== "admin") {
    fill(container, h("h1", {}, t("Not for your role")),
      h("p", {}, t("Only administrators may build templates. Ask one of them to change a template for you.")));
    return;
  }
  try {
    await found.view(container, found.params, found.query, user);
  } catch (problem) {
    fill(container, h("h1", {}, t("This page could not be shown")), problemBox(problem));
  }
  if (!container.isConnected) return;
  main.focus({ preventScroll: true });
  viewShown();
}

// index.html's own words, and the switch between the console's languages.
function translateChrome() {
  translateMarked(document);
  const switcher = document.getElementById("language");
  fill(switcher, ...languages().map(({ code, name }) =>
    h("option", { value: code, lang: code, selected: code === language() }, name)));
  switcher.addEventListener("change", () => {
    const question = leavingQuestion();
    if (question && !window.confirm(question)) {
      switcher.value = language();
      return;
    }
    guardLeaving(null); // asked already: the reload must not ask again
    switchLanguage(switcher.value);
  });
}

async function start() {
  await loadLanguage();
  translateChrome();
  const config = await (await fetch("config.json", { cache: "no-store" })).json();
  configureApi(config.api);
  session.configure(config.auth);
  try {
    await session.finishHostedSignIn();
  } catch (error) {
    fill(main, problemBox({ title: t("Sign-in failed"), detail: error.message }));
  }
  session.onChange(render);
  document.getElementById("sign-out").addEventListener("click", () => {
    const question = leavingQuestion();
    if (question && !window.confirm(question)) return;
    // the next person to sign in on this tab lands on their own work, not on this person's page
    rememberWorkView();
    window.history.replaceState(null, "", window.location.pathname);
    session.signOut();
  });
  window.addEventListener("hashchange", () => { if (mayLeave()) render(); });
  // Closing the tab or reloading it: the browser asks in its own words.
  window.addEventListener("beforeunload", (event) => { if (leavingQuestion()) event.preventDefault(); });
  trackWorkViews();
  enableShortcuts();
  await render();
}

start();
