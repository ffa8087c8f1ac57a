// The people directory (GET /people), read once a session and kept for this tab: staff appear by name wherever the
// API gives a subject (owners, assignees, authors, actors, "decided by"), and the pickers offer names.
import { api } from "./api.js";
import { t } from "./i18n.js";
import { h } from "./ui.js";

const CACHE_KEY = "caseline.people";
const MAX_PEOPLE = 2000;
let directory = new Map(); // subject → { subject, name, email, role }
let loadedFor = null;

// Reads the directory for the signed-in person, from this tab's cache when it has it. A caller the directory
// refuses (or an API that fails) leaves it empty: subjects then show in their readable form.
export async function loadPeople(user) {
  if (loadedFor === user.sub) return;
  let people = null;
  try {
    const cached = JSON.parse(sessionStorage.getItem(CACHE_KEY) || "null");
    if (cached?.sub === user.sub) people = cached.people;
  } catch { /* not JSON: read it again */ }
  if (!people) {
    try {
      people = await api.all("/people", {}, MAX_PEOPLE);
      sessionStorage.setItem(CACHE_KEY, JSON.stringify({ sub: user.sub, people }));
    } catch {
      people = [];
    }
  }
  directory = new Map(people.map((person) => [person.subject, person]));
  loadedFor = user.sub;
}

// A subject's name; one the directory does not know (someone removed from the pool, a test's made-up person) reads
// as itself, a Cognito `sub` (a UUID) shortened.
export function personName(subject) {
  if (!subject) return "";
  const person = directory.get(subject);
  if (person) return person.name;
  return /^[0-9a-f]{8}-[0-9a-f]{4}-/i.test(subject) ? t("Unknown person ({id}…)", { id: subject.slice(0, 8) }) : subject;
}

// The people a picker offers, in name order: a <datalist> whose options hold subjects and show names.
export function peopleOptions(id) {
  const people = [...directory.values()].sort((a, b) => a.name.localeCompare(b.name));
  return h("datalist", { id }, people.map((person) =>
    h("option", { value: person.subject, label: person.email ? `${person.name} (${person.email})` : person.name })));
}

// What a picker's text means: a subject as it is, or the one person whose name or e-mail address it is.
export function subjectOf(text) {
  const wanted = text.trim();
  if (!wanted || directory.has(wanted)) return wanted;
  const folded = wanted.toLocaleLowerCase();
  const found = [...directory.values()].filter((person) =>
    person.name.toLocaleLowerCase() === folded || (person.email || "").toLocaleLowerCase() === folded);
  return found.length === 1 ? found[0].subject : wanted;
}
