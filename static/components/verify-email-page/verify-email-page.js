/** Confirm an email address with the link from the confirmation mail (#token=…). */
import { api } from "../../lib/api.js";
import { html, render } from "../../lib/html.js";
import { takeLinkToken } from "../../lib/links.js";
import { session } from "../../lib/session.js";

class VerifyEmailPage extends HTMLElement {
  connectedCallback() {
    render(
      this,
      html`<section class="page narrow" aria-labelledby="verify-title" aria-busy="true">
        <h1 id="verify-title">Confirm your email address</h1>
        <p class="muted loading">Confirming…</p>
      </section>`,
    );
    this.#confirm(takeLinkToken());
  }

  async #confirm(token) {
    const section = this.querySelector("section");
    const heading = html`<h1 id="verify-title">Confirm your email address</h1>`;
    if (!token) {
      section.removeAttribute("aria-busy");
      render(
        section,
        html`${heading}
          <p class="form-alert" role="alert">
            This page needs the link from your confirmation mail. Open the link from the
            mail, or send a new one from your Account page.
          </p>
          <p><a href="/account">Go to your account</a></p>`,
      );
      return;
    }
    let body;
    try {
      body = await api.post("/api/auth/verify-email", { token });
    } catch (error) {
      if (!this.isConnected) return;
      section.removeAttribute("aria-busy");
      render(
        section,
        html`${heading}
          <p class="form-alert" role="alert">${error.detail}</p>
          <p><a href="/account">Go to your account</a></p>`,
      );
      return;
    }
    if (!this.isConnected) return;
    if (session.user?.id === body.user.id) session.set(body.user);
    section.removeAttribute("aria-busy");
    render(
      section,
      html`${heading}
        <p class="notice" role="status">
          Thank you: ${body.user.email} is confirmed as your address.
        </p>
        <p><a href="/account">Go to your account</a></p>`,
    );
  }
}

export function registerVerifyEmailPage() {
  customElements.define("verify-email-page", VerifyEmailPage);
}
