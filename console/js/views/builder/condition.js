// The visual condition builder: rows of (field or fact, operator, value) in all/any groups, written as JSONLogic.
// What it cannot show as rows (other operators, literals, deeper nesting) it leaves to the JSON textarea.
import { t } from "../../i18n.js";
import { clear, eventName, h, humanize, uid } from "../../ui.js";
import { RULE_TRIGGERS, ptr } from "./common.js";
import { eventData } from "./events.js";

// The operators in words, made when asked (in the language loaded by then).
const operators = () => [
  ["==", t("equals")], ["!=", t("does not equal")], [">", t("is greater than")], [">=", t("is at least")],
  ["<", t("is less than")], ["<=", t("is at most")], ["in", t("is one of")], ["contains", t("contains (a list holds the value)")],
  ["!!", t("has a value")], ["!", t("is empty")],
];
const BINARY = new Set(["==", "!=", ">", ">=", "<", "<=", "in"]);
const UNARY = new Set(["!!", "!"]);
const MAX_DEPTH = 3;

function isVar(node) {
  if (!node || typeof node !== "object" || Array.isArray(node)) return false;
  const keys = Object.keys(node);
  if (keys.length !== 1 || keys[0] !== "var") return false;
  const name = Array.isArray(node.var) ? node.var[0] : node.var;
  return typeof name === "string";
}

function varName(node) {
  return Array.isArray(node.var) ? node.var[0] : node.var;
}

function isLiteral(value) {
  return value === null || ["string", "number", "boolean"].includes(typeof value);
}

// JSONLogic → {kind: "group", op, items} tree, or null when it does not fit the rows.
export function parseCondition(condition) {
  if (condition === null || condition === undefined) return { kind: "group", op: "and", items: [] };
  const node = parseNode(condition, 0);
  if (!node) return null;
  return node.kind === "group" ? node : { kind: "group", op: "and", items: [node] };
}

function parseNode(node, depth) {
  if (!node || typeof node !== "object" || Array.isArray(node)) return null;
  const keys = Object.keys(node);
  if (keys.length !== 1) return null;
  const [op] = keys;
  let args = node[op];
  if ((op === "and" || op === "or") && Array.isArray(args)) {
    if (depth >= MAX_DEPTH) return null;
    const items = args.map((arg) => parseNode(arg, depth + 1));
    if (items.some((item) => !item)) return null;
    return { kind: "group", op, items };
  }
  if (UNARY.has(op)) {
    if (Array.isArray(args)) { if (args.length !== 1) return null; [args] = args; }
    if (!isVar(args)) return null;
    return { kind: "row", fact: varName(args), op, value: null };
  }
  if (op === "in" && Array.isArray(args) && args.length === 2 && isLiteral(args[0]) && isVar(args[1])) {
    return { kind: "row", fact: varName(args[1]), op: "contains", value: args[0] };
  }
  if (BINARY.has(op) && Array.isArray(args) && args.length === 2 && isVar(args[0])) {
    const value = args[1];
    if (op === "in") {
      if (!Array.isArray(value) || !value.every(isLiteral)) return null;
    } else if (!isLiteral(value)) {
      return null;
    }
    return { kind: "row", fact: varName(args[0]), op, value };
  }
  return null;
}

// The variables a condition can read, for the fact picker and for typing values; `group` is where the picker
// lists them: the template's fields, facts of the case, or the data of the rule's trigger event.
export function factsOf(definition, { events = false, eventType = null } = {}) {
  const facts = [];
  const field = (fact) => facts.push({ group: "fields", ...fact });
  const caseFact = (fact) => facts.push({ group: "case", ...fact });
  for (const item of definition.fields || []) {
    if (!item.key) continue;
    const label = `${item.label || item.key} (${item.key})`;
    if (item.type === "money") {
      field({ name: `fields.${item.key}.amount`, label: t("{field}: amount", { field: label }), kind: "number" });
      field({ name: `fields.${item.key}.currency`, label: t("{field}: currency", { field: label }), kind: "text", options: item.currencies });
    } else if (item.type === "party") {
      field({ name: `fields.${item.key}`, label, kind: "text" });
      field({ name: `fields.${item.key}.name`, label: t("{field}: name", { field: label }), kind: "text" });
    } else {
      field({ name: `fields.${item.key}`, label, kind: item.type === "number" ? "number" : item.type === "boolean" ? "boolean" : "text",
        options: item.options || undefined });
    }
  }
  const stages = (definition.stages || []).filter((stage) => stage.key);
  caseFact({ name: "case.stage", label: t("Case stage"), kind: "text", options: stages.map((stage) => stage.key),
    labels: Object.fromEntries(stages.map((stage) => [stage.key, stage.name || stage.key])) });
  caseFact({ name: "case.status", label: t("Case status"), kind: "text", options: ["open", "closed", "cancelled"] });
  caseFact({ name: "case.owner", label: t("Case owner"), kind: "text" });
  caseFact({ name: "case.title", label: t("Case title"), kind: "text" });
  for (const type of definition.document_types || []) {
    if (type.key) caseFact({ name: `documents.${type.key}`, label: t("{document}: documents uploaded", { document: type.name || type.key }), kind: "count" });
  }
  for (const decision of definition.decisions || []) {
    if (decision.key) caseFact({ name: `decisions.${decision.key}`, label: t("Decision: {decision}", { decision: decision.label || decision.key }), kind: "text", options: decision.options });
  }
  caseFact({ name: "tasks.open_required", label: t("Open required tasks"), kind: "number" });
  caseFact({ name: "tasks.open", label: t("Open tasks"), kind: "number" });
  if (events) {
    facts.push({ group: "event", name: "event.type", label: t("Event type"), kind: "text", options: RULE_TRIGGERS,
      labels: Object.fromEntries(RULE_TRIGGERS.map((type) => [type, eventName(type)])) });
    for (const item of eventType ? eventData(definition, eventType) : []) {
      const choices = item.choices || [];
      facts.push({ group: "event", name: `event.data.${item.key}`, label: item.label, kind: item.kind,
        options: choices.length ? choices.map(([value]) => value) : undefined, labels: Object.fromEntries(choices) });
    }
  }
  return facts;
}

function typed(fact, text) {
  const trimmed = text.trim();
  if (fact && (fact.kind === "number" || fact.kind === "count") && trimmed !== "" && !Number.isNaN(Number(trimmed))) return Number(trimmed);
  if (fact && fact.kind === "boolean" && (trimmed === "true" || trimmed === "false")) return trimmed === "true";
  if (!fact && trimmed !== "" && !Number.isNaN(Number(trimmed))) return Number(trimmed);
  if (!fact && (trimmed === "true" || trimmed === "false")) return trimmed === "true";
  return trimmed;
}

function shown(value) {
  if (Array.isArray(value)) return value.map((item) => (item === null ? "" : String(item))).join(", ");
  return value === null || value === undefined ? "" : String(value);
}

function rowJson(row, facts) {
  const fact = facts.find((candidate) => candidate.name === row.fact);
  const variable = fact?.kind === "count" ? { var: [row.fact, 0] } : { var: row.fact };
  if (UNARY.has(row.op)) return { [row.op]: [variable] };
  if (row.op === "contains") return { in: [row.value ?? "", variable] };
  return { [row.op]: [variable, row.value ?? (row.op === "in" ? [] : "")] };
}

function nodeJson(node, facts) {
  if (node.kind === "row") return rowJson(node, facts);
  return { [node.op]: node.items.map((item) => nodeJson(item, facts)) };
}

// The root group as JSONLogic: a single row stands alone; an empty group is null.
export function writeCondition(tree, facts) {
  if (!tree.items.length) return null;
  if (tree.items.length === 1 && tree.items[0].kind === "row") return rowJson(tree.items[0], facts);
  return nodeJson(tree, facts);
}

// Where each node of the tree ends up in the written JSON, as a JSON Pointer below `base`.
function pointerOf(tree, path, base) {
  if (tree.items.length === 1 && tree.items[0].kind === "row" && path.length === 1) return base;
  let pointer = base;
  let node = tree;
  for (const index of path) {
    pointer += ptr(node.op, index);
    node = node.items[index];
  }
  return pointer;
}

// The facts a row may compare, grouped; a variable of a loaded condition that the draft does not know stays
// chosen, marked as such, so nothing is lost by opening it.
function factPicker(facts, chosen, eventType) {
  const option = (fact) => h("option", { value: fact.name, selected: fact.name === chosen }, fact.label);
  const groups = [["fields", t("Fields of the template")], ["case", t("Facts of the case")],
    ["event", eventType ? t("Event data of {event}", { event: eventName(eventType) }) : t("Event data")]];
  const picker = h("select", { id: uid("fact") },
    h("option", { value: "", selected: !chosen }, t("Choose a field or fact")),
    groups.map(([group, words]) => {
      const members = facts.filter((fact) => fact.group === group);
      return members.length ? h("optgroup", { label: words }, members.map(option)) : null;
    }));
  if (chosen && !facts.some((fact) => fact.name === chosen)) {
    picker.append(h("optgroup", { label: t("Not in this draft") },
      h("option", { value: chosen, selected: true }, t("{name} (unknown)", { name: chosen }))));
  }
  return picker;
}

/**
 * A condition editor. `get()` reads the current JSONLogic, `set(json)` writes it; `pointer` is where it lives.
 * `label` names it for assistive technology ("Exit criterion 1 condition").
 */
export function conditionBuilder(ctx, { get, set, pointer, label, events = false, eventType = null, optional = false }) {
  const root = h("div", { class: "cb", role: "group", "aria-label": label });
  let tree = parseCondition(get());
  let advanced = tree === null;
  const currentFacts = () => factsOf(ctx.def, { events, eventType: eventType?.() });

  const write = () => {
    set(writeCondition(tree, currentFacts()));
    ctx.touch();
  };

  function draw(focusSelector, initial = false) {
    clear(root);
    const facts = currentFacts();
    if (advanced) drawAdvanced(); else drawVisual(facts);
    const toggle = h("button", { type: "button", class: "link cb-toggle", "aria-pressed": advanced ? "true" : "false",
      onclick: () => {
        if (advanced) {
          const parsed = parseCondition(get());
          if (!parsed) {
            ctx.say(t("This condition uses JSONLogic the visual builder cannot show; keep editing it as JSON."));
            status.textContent = t("The visual builder cannot show this condition; edit it as JSON.");
            return;
          }
          tree = parsed;
          advanced = false;
        } else {
          advanced = true;
        }
        draw(advanced ? "textarea" : ".cb-toggle");
      } }, t("Advanced: edit JSONLogic"));
    const status = h("p", { class: "hint cb-status", role: "status" });
    root.append(h("div", { class: "cb-footer" }, toggle, status));
    if (focusSelector) root.querySelector(focusSelector)?.focus();
    if (!initial) ctx.reapply?.();
  }

  function drawAdvanced() {
    const area = h("textarea", { id: uid("json"), rows: 6, spellcheck: "false", class: "code" });
    area.dataset.pointer = pointer;
    const current = get();
    area.value = current === null || current === undefined ? "" : JSON.stringify(current, null, 2);
    const message = h("p", { class: "hint", id: `${area.id}-hint` },
      optional ? t("JSONLogic; leave empty for no condition.")
        : t("JSONLogic, e.g. {example}.", { example: '{">": [{"var": "fields.amount"}, 10000]}' }));
    area.setAttribute("aria-describedby", message.id);
    area.addEventListener("input", () => {
      if (area.value.trim() === "") { set(null); ctx.touch(); message.textContent = t("No condition."); return; }
      try {
        set(JSON.parse(area.value));
        ctx.touch();
        message.textContent = t("Valid JSON.");
        area.classList.remove("json-bad");
      } catch (error) {
        message.textContent = t("Not valid JSON yet: {error}", { error: error.message });
        area.classList.add("json-bad");
      }
    });
    root.append(h("div", { class: "field" }, h("label", { for: area.id }, t("{condition} (JSONLogic)", { condition: label })), area, message));
  }

  function drawVisual(facts) {
    root.append(drawGroup(tree, [], 0, facts));
  }

  function drawGroup(group, path, depth, facts) {
    const isRoot = path.length === 0;
    const groupPointer = isRoot ? pointer : pointerOf(tree, path, pointer);
    const match = h("select", { id: uid("match") }, [["and", t("all of these hold")], ["or", t("any of these holds")]].map(([value, text]) =>
      h("option", { value, selected: group.op === value }, text)));
    if (!(isRoot && group.items.length === 1 && group.items[0].kind === "row")) match.dataset.pointer = groupPointer;
    match.addEventListener("change", () => { group.op = match.value; write(); draw(); });
    const box = h("div", { class: `cb-group depth-${depth}`, role: "group",
      "aria-label": isRoot ? t("{condition}: conditions", { condition: label }) : t("Group {number}", { number: path[path.length - 1] + 1 }) });
    box.append(h("div", { class: "field cb-match" }, h("label", { for: match.id }, isRoot ? t("Match when") : t("Group matches when")), match));
    const list = h("ol", { class: "cb-items" });
    group.items.forEach((item, index) => {
      const itemPath = [...path, index];
      if (item.kind === "group") {
        list.append(h("li", {}, drawGroup(item, itemPath, depth + 1, facts)));
      } else {
        list.append(h("li", {}, drawRow(group, item, itemPath, facts)));
      }
    });
    if (!group.items.length) list.append(h("li", { class: "hint" }, optional && isRoot ? t("No condition: always applies.") : t("No conditions yet.")));
    box.append(list);
    const pathKey = path.join(".");
    const tools = h("div", { class: "actions cb-tools" },
      h("button", { type: "button", "data-cb-add": pathKey, onclick: () => {
        group.items.push({ kind: "row", fact: "", op: "==", value: "" });
        write();
        draw(`[data-cb-row="${[...path, group.items.length - 1].join(".")}"]`);
      } }, t("Add condition")));
    if (depth < 1) {
      tools.append(h("button", { type: "button", onclick: () => {
        group.items.push({ kind: "group", op: group.op === "and" ? "or" : "and", items: [{ kind: "row", fact: "", op: "==", value: "" }] });
        write();
        draw(`[data-cb-row="${[...path, group.items.length - 1, 0].join(".")}"]`);
      } }, t("Add group")));
    }
    if (!isRoot) {
      tools.append(h("button", { type: "button", class: "danger", onclick: () => {
        const parent = path.slice(0, -1).reduce((node, index) => node.items[index], tree);
        parent.items.splice(path[path.length - 1], 1);
        write();
        draw(`[data-cb-add="${path.slice(0, -1).join(".")}"]`);
      } }, t("Remove group")));
    }
    box.append(tools);
    return box;
  }

  function drawRow(group, row, path, facts) {
    const number = path.map((index) => index + 1).join(".");
    const rowPointer = pointerOf(tree, path, pointer);
    const fact = factPicker(facts, row.fact, eventType?.());
    fact.dataset.cbRow = path.join(".");
    fact.dataset.pointer = rowPointer;
    const operator = h("select", { id: uid("op") }, operators().map(([value, text]) =>
      h("option", { value, selected: row.op === value }, `${value === "!!" || value === "!" ? "" : `${value} `}${text}`.trim())));
    const value = h("input", { type: "text", id: uid("val"), autocomplete: "off" });
    value.value = shown(row.value);
    const valueField = h("div", { class: "field cb-value" }, h("label", { for: value.id }, t("Value")), value);
    const syncValue = () => {
      const unary = UNARY.has(row.op);
      valueField.hidden = unary;
      value.disabled = unary;
      const known = facts.find((candidate) => candidate.name === row.fact);
      value.placeholder = row.op === "in" ? "a, b, c" : known?.kind === "number" || known?.kind === "count" ? "10000" : "";
      const options = known?.options || (known?.kind === "boolean" ? ["true", "false"] : null);
      if (options?.length) {
        const listIdValue = `${value.id}-list`;
        valueField.querySelector("datalist")?.remove();
        // The key is what the condition compares; the suggestion shows it in words (a stage's name).
        valueField.append(h("datalist", { id: listIdValue }, options.map((option) =>
          h("option", { value: option }, known?.labels?.[option] || humanize(option)))));
        value.setAttribute("list", listIdValue);
      } else {
        value.removeAttribute("list");
      }
    };
    const readValue = () => {
      const known = facts.find((candidate) => candidate.name === row.fact);
      if (UNARY.has(row.op)) row.value = null;
      else if (row.op === "in") row.value = value.value.split(",").map((item) => item.trim()).filter(Boolean).map((item) => typed(known, item));
      else row.value = typed(known, value.value);
    };
    fact.addEventListener("change", () => { row.fact = fact.value; readValue(); syncValue(); write(); });
    operator.addEventListener("change", () => { row.op = operator.value; readValue(); syncValue(); write(); });
    value.addEventListener("input", () => { readValue(); write(); });
    syncValue();
    return h("div", { class: "cb-row issue-host", role: "group", "aria-label": t("Condition {number}", { number }) },
      h("div", { class: "field" }, h("label", { for: fact.id }, t("Field or fact")), fact),
      h("div", { class: "field" }, h("label", { for: operator.id }, t("Operator")), operator),
      valueField,
      h("button", { type: "button", class: "danger cb-remove", "aria-label": t("Remove condition {number}", { number }), onclick: () => {
        group.items.splice(path[path.length - 1], 1);
        write();
        draw(`[data-cb-add="${path.slice(0, -1).join(".")}"]`);
      } }, t("Remove")));
  }

  draw(null, true);
  return root;
}
