// Written by tools/console_catalogs.py from the catalogs in console/locale: each language by its own name.
export const LANGUAGES = { en: "English", de: "Deutsch" };
