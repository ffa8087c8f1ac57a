// ESLint for the staff console: plain ES modules run by the browser, no build step. `make lint` runs it from the
// repository's root with --config, so the patterns below are paths from there.
import js from "@eslint/js";
import globals from "globals";

export default [
  {
    files: ["console/js/**/*.js"],
    ...js.configs.recommended,
    languageOptions: {
      ecmaVersion: "latest",
      sourceType: "module",
      globals: globals.browser,
    },
  },
];
