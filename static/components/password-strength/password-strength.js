/**
 * A live strength meter for a password input: <password-strength for="signup-password"
 * email-from="signup-email" name-from="signup-name">. It asks the server
 * (POST /api/auth/password-strength), which judges with the same zxcvbn check that
 * sign-up, change and reset apply, so the meter never promises what the server refuses.
 * The email and name inputs, when named, count as words an attacker would try first.
 */
import { api } from "../../lib/api.js";
import { html, render } from "../../lib/html.js";

const DEBOUNCE_MS = 250;

class PasswordStrength extends HTMLElement {
  #abort = null;
  #timer = null;
  #asked = 0;

  connectedCallback() {
    this.#abort = new AbortController();
    const input = this.#input();
    const id = `${input?.id ?? "password"}-strength`;
    render(
      this,
      html`<div class="strength" data-score="">
        <meter min="0" max="4" low="2.5" high="3.5" optimum="4" value="0"
          aria-label="How hard to guess"></meter>
        <p class="strength-text hint" id="${id}" aria-live="polite"></p>
      </div>`,
    );
    if (!input) return;
    input.setAttribute(
      "aria-describedby",
      [input.getAttribute("aria-describedby"), id].filter(Boolean).join(" "),
    );
    const { signal } = this.#abort;
    input.addEventListener("input", () => this.#schedule(), { signal });
    input.form?.addEventListener("reset", () => {
      this.#asked += 1;
      this.#show(null);
    }, { signal });
  }

  disconnectedCallback() {
    this.#abort?.abort();
    clearTimeout(this.#timer);
  }

  #input() {
    return document.getElementById(this.getAttribute("for"));
  }

  #valueOf(attribute) {
    const id = this.getAttribute(attribute);
    return (id && document.getElementById(id)?.value) || "";
  }

  #schedule() {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#check(), DEBOUNCE_MS);
  }

  async #check() {
    const password = this.#input()?.value ?? "";
    const asked = ++this.#asked;
    if (!password) {
      this.#show(null);
      return;
    }
    let verdict;
    try {
      verdict = await api.post("/api/auth/password-strength", {
        password,
        email: this.#valueOf("email-from"),
        name: this.#valueOf("name-from"),
      });
    } catch {
      verdict = null; // the server judges again on submit; the meter just stays quiet
    }
    if (asked === this.#asked && this.isConnected) this.#show(verdict);
  }

  /** The last verdict: { acceptable, score, label, message } or null. */
  get verdict() {
    return this.#verdict;
  }

  #verdict = null;

  #show(verdict) {
    this.#verdict = verdict;
    const box = this.querySelector(".strength");
    const meter = this.querySelector("meter");
    const text = this.querySelector(".strength-text");
    if (!box || !meter || !text) return;
    box.dataset.score = verdict ? String(verdict.score) : "";
    box.dataset.acceptable = verdict ? String(verdict.acceptable) : "";
    meter.value = verdict ? verdict.score : 0;
    meter.setAttribute("aria-valuetext", verdict ? verdict.label : "not entered");
    text.textContent = verdict ? verdict.message : "";
  }
}

export function registerPasswordStrength() {
  customElements.define("password-strength", PasswordStrength);
}
