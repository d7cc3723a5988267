/** Sign in with email and password; on success go where the person was heading. */
import { api } from "../../lib/api.js";
import { busy, clearErrors, showErrors, values } from "../../lib/forms.js";
import { html, render } from "../../lib/html.js";
import { navigate, nextPath } from "../../lib/router.js";
import { session } from "../../lib/session.js";

class LoginPage extends HTMLElement {
  #abort = null;

  connectedCallback() {
    this.#abort = new AbortController();
    const query = this.query ?? new URLSearchParams(location.search);
    const next = query.get("next");
    const signupHref = next ? `/signup?next=${encodeURIComponent(next)}` : "/signup";
    render(
      this,
      html`<section class="page narrow" aria-labelledby="login-title">
        <h1 id="login-title">Sign in</h1>
        ${query.has("signed-out") && html`<p class="notice" role="status">You are signed out.</p>`}
        ${query.has("reset") &&
        html`<p class="notice" role="status">
          Your password is changed and every browser is signed out. Sign in with the new one.
        </p>`}
        ${next && html`<p class="muted">Sign in to continue to that page.</p>`}
        <form class="card stack" novalidate>
          <div class="field">
            <label for="login-email">Email</label>
            <input id="login-email" name="email" type="email" autocomplete="email" required
              aria-describedby="login-email-error" />
            <p class="field-error" id="login-email-error" data-error-for="email"></p>
          </div>
          <div class="field">
            <label for="login-password">Password</label>
            <input id="login-password" name="password" type="password" autocomplete="current-password"
              required aria-describedby="login-password-error" />
            <p class="field-error" id="login-password-error" data-error-for="password"></p>
          </div>
          <p class="form-alert" role="alert"></p>
          <button type="submit" class="primary">Sign in</button>
          <p class="form-aside"><a href="/forgot-password">Forgot your password?</a></p>
        </form>
        <p class="after-form">New to Meridian? <a href="${signupHref}">Create an account</a></p>
      </section>`,
    );
    this.addEventListener("submit", (event) => this.#submit(event), { signal: this.#abort.signal });
    this.querySelector("#login-email").focus();
  }

  disconnectedCallback() {
    this.#abort?.abort();
  }

  async #submit(event) {
    event.preventDefault();
    const form = event.target;
    clearErrors(form);
    const { email, password } = values(form);
    if (!email.trim() || !password) {
      form.querySelector("[role=alert]").textContent = "Enter your email and password.";
      form.querySelector(email.trim() ? "#login-password" : "#login-email").focus();
      return;
    }
    const done = busy(form, "Signing in…");
    try {
      const body = await api.post("/api/auth/login", { email, password });
      session.set(body.user);
      navigate(nextPath("/account"), { replace: true });
    } catch (error) {
      done();
      showErrors(form, error);
      if (!error.errors?.length) form.querySelector("#login-password").select();
    }
  }
}

export function registerLoginPage() {
  customElements.define("login-page", LoginPage);
}
