// Field controls: one per field type; `read()` gives the value to send, `state()` what to compare. The case page
// and the new-case form draw fields with them; `displayValue` shows a value to someone who may not change it.
import { t } from "../../i18n.js";
import { formatDate, formatLocalDay, h, humanize, labelled, visuallyHidden } from "../../ui.js";
import { select } from "./common.js";

// datetime-local inputs show local time; the API takes and gives RFC 3339 with an offset.
const pad = (n) => String(n).padStart(2, "0");

function toLocalInput(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

function fromLocalInput(value) {
  const date = new Date(value);
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  const abs = Math.abs(offset);
  const seconds = value.length === 16 ? `${value}:00` : value;
  return `${seconds}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

function localOffsetLabel() {
  const offset = -new Date().getTimezoneOffset();
  const abs = Math.abs(offset);
  return `UTC${offset >= 0 ? "+" : "-"}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

export function fieldControl(def, value) {
  const key = def.key;
  const pointer = `/fields/${key}`;
  const id = `field-${key}`;
  const hint = def.description || undefined;
  const required = !!def.required;
  const simple = (control, read, extraHint) => {
    const element = labelled(def.label, control, { hint: [hint, extraHint].filter(Boolean).join(" ") || undefined, required });
    return { element, read, state: () => JSON.stringify(read()) };
  };
  const textValue = (input) => () => (input.value.trim() === "" ? null : input.value);

  switch (def.type) {
    case "long_text": {
      const input = h("textarea", { id, name: key, dataset: { pointer }, maxlength: def.max_length || undefined, rows: 4 });
      input.value = value ?? "";
      return simple(input, textValue(input));
    }
    case "number": {
      const input = h("input", { id, name: key, type: "number", step: "any", dataset: { pointer },
        min: def.minimum ?? undefined, max: def.maximum ?? undefined, value: value ?? "" });
      return simple(input, () => (input.value === "" ? null : Number(input.value)));
    }
    case "date": {
      const input = h("input", { id, name: key, type: "date", dataset: { pointer }, value: value ?? "" });
      return simple(input, () => input.value || null);
    }
    case "datetime": {
      const input = h("input", { id, name: key, type: "datetime-local", dataset: { pointer }, value: toLocalInput(value) });
      const initial = input.value;
      const control = simple(input, () => (input.value ? (input.value === initial ? value : fromLocalInput(input.value)) : null),
        t("Your local time ({offset}).", { offset: localOffsetLabel() }));
      control.state = () => input.value;
      return control;
    }
    case "enum": {
      const options = [["", t("— Not set —")], ...(def.options || []).map((o) => [o, humanize(o)])];
      const input = select(options, { id, name: key, dataset: { pointer } }, value ?? "");
      return simple(input, () => input.value || null);
    }
    case "boolean": {
      const current = value === true ? "true" : value === false ? "false" : "";
      const input = select([["", t("— Not set —")], ["true", t("Yes")], ["false", t("No")]], { id, name: key, dataset: { pointer } }, current);
      return simple(input, () => (input.value === "" ? null : input.value === "true"));
    }
    case "email":
    case "phone":
    case "file":
    case "text":
    default: {
      const type = def.type === "email" ? "email" : def.type === "phone" ? "tel" : "text";
      const extra = def.type === "phone" ? t("International format, e.g. +31612345678.") :
        def.type === "file" ? t("The id of an uploaded file.") : undefined;
      const input = h("input", { id, name: key, type, dataset: { pointer }, value: value ?? "",
        maxlength: def.max_length || undefined, autocomplete: "off" });
      return simple(input, textValue(input), extra);
    }
    case "multi_enum": {
      const chosen = new Set(Array.isArray(value) ? value : []);
      const boxes = (def.options || []).map((option, index) => {
        const box = h("input", { type: "checkbox", id: `${id}-${index}`, name: key, value: option, checked: chosen.has(option),
          dataset: index === 0 ? { pointer } : undefined });
        return { box, element: h("div", { class: "choice" }, box, h("label", { for: box.id }, humanize(option))) };
      });
      const legend = h("legend", {}, def.label);
      const element = h("fieldset", { class: "field group", id: `${id}-group` }, legend,
        hint || required ? h("p", { class: "hint" }, [hint, required ? t("Required.") : null].filter(Boolean).join(" ")) : null,
        h("div", { class: "choices" }, boxes.map((b) => b.element)));
      const read = () => {
        const list = boxes.filter((b) => b.box.checked).map((b) => b.box.value);
        return list.length ? list : null;
      };
      return { element, read, state: () => JSON.stringify(read()) };
    }
    case "money": {
      const amount = h("input", { id, name: `${key}.amount`, type: "text", inputmode: "decimal", dataset: { pointer },
        value: value?.amount ?? "", autocomplete: "off" });
      const currencies = def.currencies || [];
      const currency = currencies.length
        ? select([["", "—"], ...currencies.map((c) => [c, c])], { id: `${id}-currency`, name: `${key}.currency` },
          value?.currency ?? (currencies.length === 1 ? currencies[0] : ""))
        : h("input", { id: `${id}-currency`, name: `${key}.currency`, type: "text", maxlength: 3, size: 4,
          value: value?.currency ?? "", autocomplete: "off" });
      const limits = def.minimum != null && def.maximum != null
        ? t("Amount at least {minimum}, at most {maximum}.", { minimum: def.minimum, maximum: def.maximum })
        : def.minimum != null ? t("Amount at least {minimum}.", { minimum: def.minimum })
          : def.maximum != null ? t("Amount at most {maximum}.", { maximum: def.maximum }) : null;
      const hintText = [hint, limits, required ? t("Required.") : null].filter(Boolean).join(" ");
      const element = h("fieldset", { class: "field group" }, h("legend", {}, def.label),
        hintText ? h("p", { class: "hint" }, hintText) : null,
        h("div", { class: "inline" },
          h("div", { class: "field" }, h("label", { for: amount.id }, visuallyHidden(`${def.label} `), t("Amount")), amount),
          h("div", { class: "field" }, h("label", { for: currency.id }, visuallyHidden(`${def.label} `), t("Currency")), currency)));
      const read = () => {
        const a = amount.value.trim();
        const c = currency.value.trim().toUpperCase();
        if (!a && (!c || !value)) return null;
        return { amount: a, currency: c };
      };
      return { element, read, state: () => JSON.stringify([amount.value.trim(), currency.value.trim().toUpperCase()]) };
    }
    case "party": {
      const kind = select([["person", t("Person")], ["organisation", t("Organisation")]], { id: `${id}-kind`, name: `${key}.kind` },
        value?.kind ?? "person");
      const name = h("input", { id, name: `${key}.name`, type: "text", dataset: { pointer }, value: value?.name ?? "", autocomplete: "off" });
      const email = h("input", { id: `${id}-email`, name: `${key}.email`, type: "email", value: value?.email ?? "", autocomplete: "off" });
      const element = h("fieldset", { class: "field group" }, h("legend", {}, def.label),
        hint || required ? h("p", { class: "hint" }, [hint, required ? t("Required.") : null].filter(Boolean).join(" ")) : null,
        h("div", { class: "inline" },
          h("div", { class: "field" }, h("label", { for: name.id }, visuallyHidden(`${def.label} `), t("Name")), name),
          h("div", { class: "field" }, h("label", { for: kind.id }, visuallyHidden(`${def.label} `), t("Kind")), kind),
          h("div", { class: "field" }, h("label", { for: email.id }, visuallyHidden(`${def.label} `), t("E-mail")), email)));
      const read = () => {
        if (!name.value.trim() && !email.value.trim()) return null;
        const party = { kind: kind.value, name: name.value.trim() };
        if (email.value.trim()) party.email = email.value.trim();
        return party;
      };
      return { element, read, state: () => JSON.stringify([kind.value, name.value.trim(), email.value.trim()]) };
    }
  }
}

export function displayValue(def, value) {
  if (value === undefined || value === null || value === "" || (Array.isArray(value) && !value.length)) return "—";
  switch (def?.type) {
    case "money": return `${value.amount} ${value.currency || ""}`.trim();
    case "party": return [value.name, value.kind === "organisation" ? t("(organisation)") : null, value.email ? `· ${value.email}` : null]
      .filter(Boolean).join(" ");
    case "boolean": return value ? t("Yes") : t("No");
    case "date": return formatLocalDay(value);
    case "datetime": return formatDate(value);
    case "enum": return humanize(value);
    case "multi_enum": return value.map(humanize).join(", ");
    default: return typeof value === "object" ? JSON.stringify(value) : String(value);
  }
}
