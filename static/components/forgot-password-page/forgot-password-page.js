/** Ask for a password reset link by mail; the answer is the same for every address. */
import { api } from "../../lib/api.js";
import { busy, clearErrors, showErrors, values } from "../../lib/forms.js";
import { html, render } from "../../lib/html.js";

class ForgotPasswordPage extends HTMLElement {
  #abort = null;

  connectedCallback() {
    this.#abort = new AbortController();
    render(
      this,
      html`<section class="page narrow" aria-labelledby="forgot-title">
        <h1 id="forgot-title">Forgot your password?</h1>
        <p class="muted">
          Enter the email address of your account. We mail you a link to choose a new
          password; it works once, for an hour.
        </p>
        <p class="form-alert" role="alert" data-no-mail hidden></p>
        <form class="card stack" novalidate>
          <div class="field">
            <label for="forgot-email">Email</label>
            <input id="forgot-email" name="email" type="email" autocomplete="email" required
              maxlength="254" aria-describedby="forgot-email-error" />
            <p class="field-error" id="forgot-email-error" data-error-for="email"></p>
          </div>
          <p class="form-alert" role="alert"></p>
          <p class="notice" role="status" data-sent></p>
          <button type="submit" class="primary">Send the link</button>
        </form>
        <p class="after-form">Remembered it? <a href="/login">Sign in</a></p>
      </section>`,
    );
    this.addEventListener("submit", (event) => this.#submit(event), {
      signal: this.#abort.signal,
    });
    this.querySelector("#forgot-email").focus();
    this.#checkMail();
  }

  disconnectedCallback() {
    this.#abort?.abort();
  }

  async #checkMail() {
    try {
      const options = await api.get("/api/auth/options");
      if (!this.isConnected || options.email_enabled) return;
      const note = this.querySelector("[data-no-mail]");
      note.textContent =
        "This server has no mail set up, so it cannot send reset links. " +
        "Ask the person who runs Meridian to reset your password.";
      note.hidden = false;
      this.querySelector("form").hidden = true;
    } catch {
      // The form still works; the server answers with the same explanation.
    }
  }

  async #submit(event) {
    event.preventDefault();
    const form = event.target;
    clearErrors(form);
    const sent = form.querySelector("[data-sent]");
    sent.textContent = "";
    const { email } = values(form);
    if (!email.trim()) {
      form.querySelector("[role=alert]").textContent = "Enter your email address.";
      form.querySelector("#forgot-email").focus();
      return;
    }
    const done = busy(form, "Sending…");
    try {
      const answer = await api.post("/api/auth/password-reset", { email });
      done();
      sent.textContent = `${answer.detail} Check your inbox (and the spam folder).`;
    } catch (error) {
      done();
      showErrors(form, error);
    }
  }
}

export function registerForgotPasswordPage() {
  customElements.define("forgot-password-page", ForgotPasswordPage);
}
