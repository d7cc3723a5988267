/** Create an account; the time zone starts as the browser's own and can be changed. */
import { api } from "../../lib/api.js";
import { busy, clearErrors, clearErrorsOnInput, showErrors, values } from "../../lib/forms.js";
import { html, render } from "../../lib/html.js";
import { navigate, nextPath } from "../../lib/router.js";
import { session } from "../../lib/session.js";
import { formatWeekdayTime, now as currentTime } from "../../lib/time.js";
import { detectedTimeZone, loadTimezones, timezoneOptions } from "../../lib/timezones.js";

class SignupPage extends HTMLElement {
  #abort = null;
  #detected = null;

  connectedCallback() {
    this.#abort = new AbortController();
    const { signal } = this.#abort;
    const next = (this.query ?? new URLSearchParams(location.search)).get("next");
    const loginHref = next ? `/login?next=${encodeURIComponent(next)}` : "/login";
    render(
      this,
      html`<section class="page narrow" aria-labelledby="signup-title">
        <h1 id="signup-title">Create your account</h1>
        <p class="muted">Meridian shows every meeting in your own time zone.</p>
        <form class="card stack" novalidate>
          <div class="field">
            <label for="signup-name">Name</label>
            <input id="signup-name" name="name" autocomplete="name" required maxlength="100"
              aria-describedby="signup-name-error" />
            <p class="field-error" id="signup-name-error" data-error-for="name"></p>
          </div>
          <div class="field">
            <label for="signup-email">Email</label>
            <input id="signup-email" name="email" type="email" autocomplete="email" required
              maxlength="254" aria-describedby="signup-email-error" />
            <p class="field-error" id="signup-email-error" data-error-for="email"></p>
          </div>
          <div class="field">
            <label for="signup-password">Password</label>
            <input id="signup-password" name="password" type="password" autocomplete="new-password"
              required minlength="10" maxlength="200"
              aria-describedby="signup-password-hint signup-password-error" />
            <p class="hint" id="signup-password-hint">
              At least 10 characters, and hard to guess: a few uncommon words work well.
            </p>
            <password-strength for="signup-password" email-from="signup-email"
              name-from="signup-name"></password-strength>
            <p class="field-error" id="signup-password-error" data-error-for="password"></p>
          </div>
          <div class="field">
            <label for="signup-timezone">Time zone</label>
            <select id="signup-timezone" name="timezone" required
              aria-describedby="signup-timezone-hint signup-timezone-error">
              <option value="" disabled selected>Loading time zones…</option>
            </select>
            <p class="hint" id="signup-timezone-hint" aria-live="polite"></p>
            <p class="field-error" id="signup-timezone-error" data-error-for="timezone"></p>
          </div>
          <p class="form-alert" role="alert"></p>
          <button type="submit" class="primary">Create account</button>
        </form>
        <p class="after-form">Already have an account? <a href="${loginHref}">Sign in</a></p>
      </section>`,
    );
    this.addEventListener("submit", (event) => this.#submit(event), { signal });
    this.addEventListener("change", () => this.#describeZone(), { signal });
    clearErrorsOnInput(this.querySelector("form"), signal);
    this.#fillZones();
  }

  disconnectedCallback() {
    this.#abort?.abort();
  }

  async #fillZones() {
    const select = this.querySelector("#signup-timezone");
    try {
      const known = await loadTimezones();
      if (!this.isConnected) return;
      this.#detected = detectedTimeZone(known);
      render(select, timezoneOptions(known, this.#detected));
      this.#describeZone();
    } catch (error) {
      showErrors(this.querySelector("form"), error);
    }
  }

  #describeZone() {
    const zone = this.querySelector("#signup-timezone")?.value;
    const hint = this.querySelector("#signup-timezone-hint");
    if (!zone || !hint) return;
    const now = formatWeekdayTime(currentTime(), zone, "short");
    const origin = zone === this.#detected ? "Detected from your browser. " : "";
    hint.textContent = `${origin}It is ${now} there now.`;
  }

  async #submit(event) {
    event.preventDefault();
    const form = event.target;
    clearErrors(form);
    if (!form.checkValidity()) {
      this.#showInvalid(form);
      return;
    }
    const { name, email, password, timezone } = values(form);
    const done = busy(form, "Creating account…");
    try {
      const body = await api.post("/api/auth/signup", { name, email, password, timezone });
      session.set(body.user);
      navigate(nextPath("/account"), { replace: true });
    } catch (error) {
      done();
      showErrors(form, error);
    }
  }

  /** The browser's own checks, shown the same way as the server's. */
  #showInvalid(form) {
    let first = null;
    for (const input of form.querySelectorAll("input, select")) {
      if (input.validity.valid) continue;
      input.setAttribute("aria-invalid", "true");
      const slot = form.querySelector(`[data-error-for="${input.name}"]`);
      if (slot) slot.textContent = input.validationMessage;
      first ??= input;
    }
    form.querySelector("[role=alert]").textContent = "Please correct the marked fields.";
    first?.focus();
  }
}

export function registerSignupPage() {
  customElements.define("signup-page", SignupPage);
}
