// The console's languages. English is the source: a message is the English text inside t("…") or tn("…", "…", n).
// Every other language is a catalog, console/locale/<language>.po, served compiled as locale/<language>.json
// (caseline/console_assets.py) and kept up to date by tools/console_catalogs.py; adding a language is adding one.
// Placeholders are {name}; the code passes their values, the translator moves them.
import { LANGUAGES } from "./languages.js";

const SOURCE = "en";
const STORAGE_KEY = "caseline.language";
// CLDR's order of plural categories: a compiled catalog lists a plural message's forms in this order, those of its
// language only (tools/console_catalogs.py checks the count).
const PLURAL_ORDER = ["zero", "one", "two", "few", "many", "other"];

let current = SOURCE;
let formatLocale = SOURCE;
let messages = {};
let pluralCategories = ["one", "other"];
let pluralRules = new Intl.PluralRules(SOURCE);
const numberFormats = new Map();

function primary(tag) {
  return String(tag || "").toLowerCase().split("-")[0];
}

// The person's own choice on this browser when it is a language we have, else the browser's first one we have.
export function chooseLanguage(stored, browserLanguages) {
  if (stored && stored in LANGUAGES) return stored;
  for (const tag of browserLanguages || []) if (primary(tag) in LANGUAGES) return primary(tag);
  return SOURCE;
}

// The browser's own tag when it is of the chosen language ("de-AT" keeps Austrian dates), else the language.
function localeFor(chosen, browserLanguages) {
  return (browserLanguages || []).find((tag) => primary(tag) === chosen) || chosen;
}

function storedLanguage() {
  try { return window.localStorage.getItem(STORAGE_KEY); } catch { return null; }
}

// Before the first render: the language, its catalog, and how it writes numbers and plurals.
export async function loadLanguage() {
  const browserLanguages = navigator.languages?.length ? navigator.languages : [navigator.language];
  current = chooseLanguage(storedLanguage(), browserLanguages);
  if (current !== SOURCE) {
    try {
      const answer = await fetch(new URL(`../locale/${current}.json`, import.meta.url));
      if (!answer.ok) throw new Error(`catalog ${current}: ${answer.status}`);
      messages = await answer.json();
    } catch {
      // A catalog that cannot be read leaves the console usable in English.
      current = SOURCE;
      messages = {};
    }
  }
  formatLocale = localeFor(current, browserLanguages);
  pluralRules = new Intl.PluralRules(formatLocale);
  numberFormats.clear();
  const categories = new Set(pluralRules.resolvedOptions().pluralCategories);
  pluralCategories = PLURAL_ORDER.filter((category) => categories.has(category));
  document.documentElement.lang = current;
}

export function language() {
  return current;
}

// The locale numbers and dates are written in.
export function locale() {
  return formatLocale;
}

export function languages() {
  return Object.entries(LANGUAGES).map(([code, name]) => ({ code, name }));
}

// A choice is kept on this browser; the console reads everything again in it.
export function switchLanguage(code) {
  try { window.localStorage.setItem(STORAGE_KEY, code); } catch { /* private mode: this load only */ }
  window.location.reload();
}

function interpolate(text, values) {
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
}

export function t(message, values = {}) {
  const translated = messages[message];
  return interpolate(typeof translated === "string" ? translated : message, values);
}

// The messages of index.html, marked there (tools/console_catalogs.py extracts them by the same marks).
export function translateMarked(root) {
  for (const element of root.querySelectorAll("[data-i18n]")) element.textContent = t(element.textContent.trim());
  for (const element of root.querySelectorAll("[data-i18n-label]")) {
    element.setAttribute("aria-label", t(element.getAttribute("aria-label")));
  }
}

// A message that depends on a count: {count} is the count as the language writes it.
export function tn(singular, plural, count, values = {}) {
  const forms = messages[singular];
  let text;
  if (Array.isArray(forms)) text = forms[pluralCategories.indexOf(pluralRules.select(count))] ?? forms.at(-1);
  else text = pluralRules.select(count) === "one" ? singular : plural;
  return interpolate(text, { count: formatNumber(count), ...values });
}

export function formatNumber(value, options = {}) {
  const key = JSON.stringify(options);
  let format = numberFormats.get(key);
  if (!format) {
    format = new Intl.NumberFormat(formatLocale, options);
    numberFormats.set(key, format);
  }
  return format.format(value);
}
