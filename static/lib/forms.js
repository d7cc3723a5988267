/**
 * Shared behaviour of forms: a visible busy state while a request runs, the server's
 * `detail` in the form's role="alert" element, and each of the problem's `errors`
 * next to its input (an element with data-error-for="<field>").
 */
import { ApiError } from "./api.js";

export function clearErrors(form) {
  for (const slot of form.querySelectorAll("[data-error-for]")) slot.textContent = "";
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  const alert = form.querySelector("[role=alert]");
  if (alert) alert.textContent = "";
}

/** Shows an error thrown by api.js (or anything else) on the form; returns nothing. */
export function showErrors(form, error) {
  clearErrors(form);
  const alert = form.querySelector("[role=alert]");
  let firstInvalid = null;
  if (error instanceof ApiError) {
    for (const { field, message } of error.errors) {
      const slot = form.querySelector(`[data-error-for="${CSS.escape(field)}"]`);
      const input = form.elements.namedItem(field);
      if (slot) slot.textContent = message;
      if (input instanceof HTMLElement) {
        input.setAttribute("aria-invalid", "true");
        firstInvalid ??= input;
      }
    }
    if (alert) alert.textContent = error.detail;
  } else {
    console.error(error);
    if (alert) alert.textContent = "Something went wrong. Please try again.";
  }
  if (firstInvalid) firstInvalid.focus();
}

/** Disables the form's submit button and shows `label` on it until `done()` is called. */
export function busy(form, label) {
  const button = form.querySelector("button[type=submit]");
  const previous = button?.textContent;
  form.setAttribute("aria-busy", "true");
  if (button) {
    button.disabled = true;
    button.textContent = label;
  }
  return function done() {
    form.removeAttribute("aria-busy");
    if (button) {
      button.disabled = false;
      button.textContent = previous;
    }
  };
}

/** The form's named inputs as a plain object of strings. */
export function values(form) {
  return Object.fromEntries(new FormData(form).entries());
}

/** As the person edits an input, its error (and the form's alert) goes away. */
export function clearErrorsOnInput(form, signal) {
  form.addEventListener(
    "input",
    (event) => {
      const input = event.target;
      if (!(input instanceof HTMLElement) || !input.getAttribute("name")) return;
      if (!input.hasAttribute("aria-invalid")) return;
      input.removeAttribute("aria-invalid");
      const slot = form.querySelector(`[data-error-for="${CSS.escape(input.getAttribute("name"))}"]`);
      if (slot) slot.textContent = "";
      const alert = form.querySelector("[role=alert]");
      if (alert) alert.textContent = "";
    },
    { signal },
  );
}
