// ESLint for the staff console: plain ES modules run by the browser, no build step. `make lint` runs it from the
// repository's root with --config, so the patterns below are paths from there.
import js from "@eslint/js";
import globals from "globals";

const files = ["console/js/**/*.js"];

export default [
  { ...js.configs.recommended, files },
  {
    files,
    languageOptions: {
      ecmaVersion: "latest",
      sourceType: "module",
      globals: globals.browser,
    },
    rules: {
      // views are closures over a page or a builder context: a local of the same name hides it, even in its own
      // initializer (`const page = await api.get(page.path())` throws)
      "no-shadow": "error",
    },
  },
];
