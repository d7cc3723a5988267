/**
 * Choose a new password through the link from the reset mail. The link's secret is in
 * the fragment (#token=…), which never reaches a server log; the page reads it once and
 * takes it out of the address bar and the history.
 */
import { api } from "../../lib/api.js";
import { busy, clearErrors, clearErrorsOnInput, showErrors, values } from "../../lib/forms.js";
import { html, render } from "../../lib/html.js";
import { navigate } from "../../lib/router.js";
import { session } from "../../lib/session.js";
import { takeLinkToken } from "../../lib/links.js";

class ResetPasswordPage extends HTMLElement {
  #abort = null;
  #token = "";

  connectedCallback() {
    this.#abort = new AbortController();
    this.#token = takeLinkToken();
    if (!this.#token) {
      render(
        this,
        html`<section class="page narrow" aria-labelledby="reset-title">
          <h1 id="reset-title">Choose a new password</h1>
          <p class="form-alert" role="alert">
            This page needs the link from your reset mail. Open the link from the mail, or
            ask for a new one.
          </p>
          <p><a href="/forgot-password">Ask for a reset link</a></p>
        </section>`,
      );
      return;
    }
    render(
      this,
      html`<section class="page narrow" aria-labelledby="reset-title">
        <h1 id="reset-title">Choose a new password</h1>
        <p class="muted">Once it is set, every browser signed in to your account is signed out.</p>
        <form class="card stack" novalidate>
          <div class="field">
            <label for="reset-password">New password</label>
            <input id="reset-password" name="password" type="password" autocomplete="new-password"
              required minlength="10" maxlength="200"
              aria-describedby="reset-password-hint reset-password-error" />
            <p class="hint" id="reset-password-hint">
              At least 10 characters, and hard to guess: a few uncommon words work well.
            </p>
            <password-strength for="reset-password"></password-strength>
            <p class="field-error" id="reset-password-error" data-error-for="password"></p>
          </div>
          <p class="form-alert" role="alert"></p>
          <button type="submit" class="primary">Set the new password</button>
        </form>
        <p class="after-form" data-new-link hidden>
          <a href="/forgot-password">Ask for a new reset link</a>
        </p>
      </section>`,
    );
    this.addEventListener("submit", (event) => this.#submit(event), {
      signal: this.#abort.signal,
    });
    clearErrorsOnInput(this.querySelector("form"), this.#abort.signal);
    this.querySelector("#reset-password").focus();
  }

  disconnectedCallback() {
    this.#abort?.abort();
  }

  async #submit(event) {
    event.preventDefault();
    const form = event.target;
    clearErrors(form);
    const { password } = values(form);
    if (!password) {
      form.querySelector("[role=alert]").textContent = "Enter a new password.";
      form.querySelector("#reset-password").focus();
      return;
    }
    const done = busy(form, "Setting the password…");
    try {
      await api.post("/api/auth/password-reset/confirm", { token: this.#token, password });
      session.set(null);
      navigate("/login?reset=1", { replace: true });
    } catch (error) {
      done();
      showErrors(form, error);
      const deadLink = error.errors?.some(({ field }) => field === "token");
      if (deadLink) this.querySelector("[data-new-link]").hidden = false;
    }
  }
}

export function registerResetPasswordPage() {
  customElements.define("reset-password-page", ResetPasswordPage);
}
