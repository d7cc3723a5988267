/**
 * A tagged template that escapes every interpolation unless it is itself a template
 * (or marked with raw()), so text from the API can never become markup.
 *
 *   render(this, html`<p>Hello ${user.name}</p><ul>${items.map((i) => html`<li>${i}</li>`)}</ul>`);
 *
 * null, undefined and false render as nothing, so `${cond && html`...`}` works.
 */

export class Html {
  #markup;

  constructor(markup) {
    this.#markup = markup;
  }

  toString() {
    return this.#markup;
  }
}

const ENTITIES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;", "`": "&#96;" };

export function escape(value) {
  return String(value).replace(/[&<>"'`]/g, (c) => ENTITIES[c]);
}

/** Trusted markup, inserted as is. Only for strings the app itself wrote. */
export function raw(markup) {
  return new Html(String(markup));
}

function piece(value) {
  if (value === null || value === undefined || value === false) return "";
  if (value instanceof Html) return value.toString();
  if (Array.isArray(value)) return value.map(piece).join("");
  return escape(value);
}

export function html(strings, ...values) {
  let out = strings[0];
  for (let i = 0; i < values.length; i += 1) {
    out += piece(values[i]) + strings[i + 1];
  }
  return new Html(out);
}

/** Replaces the children of `target` with `template` (an html`` result or plain text). */
export function render(target, template) {
  target.innerHTML = piece(template);
}
