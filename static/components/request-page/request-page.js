/** Asking a mentor: your goals, a message, and optionally how you would like to work. */
import { api } from "../../lib/api.js";
import { busy, clearErrors, showErrors } from "../../lib/forms.js";
import { html, render } from "../../lib/html.js";
import { agreementFields, readAgreement, splitList, stylesheet } from "../../lib/mentoring.js";
import { navigate } from "../../lib/router.js";

class RequestPage extends HTMLElement {
  params = {};
  #abort = null;

  connectedCallback() {
    this.#abort = new AbortController();
    render(this, html`${stylesheet()}<section class="page narrow" aria-busy="true"><p class="muted loading">Loading…</p></section>`);
    this.#load();
  }

  disconnectedCallback() {
    this.#abort?.abort();
  }

  async #load() {
    const section = this.querySelector("section");
    let mentor;
    let me;
    try {
      [mentor, me] = await Promise.all([
        api.get(`/api/users/${encodeURIComponent(this.params.id)}`),
        api.get("/api/me/profile"),
      ]);
    } catch (error) {
      if (this.isConnected) render(section, html`<h1>Ask for mentoring</h1><p class="form-alert" role="alert">${error.detail}</p>`);
      return;
    }
    if (!this.isConnected) return;
    section.removeAttribute("aria-busy");
    render(
      section,
      html`<h1>Ask ${mentor.name} for mentoring</h1>
        <p class="muted">${mentor.headline}</p>
        <form class="card stack" novalidate>
          <div class="field">
            <label for="request-goals">Your goals (one per line)</label>
            <textarea id="request-goals" name="goals" required>${me.goals.join("\n")}</textarea>
            <p class="hint">Your request cannot be edited once sent; goals can be refined together later.</p>
            <p class="field-error" data-error-for="goals"></p>
          </div>
          <div class="field">
            <label for="request-message">Message</label>
            <textarea id="request-message" name="message" maxlength="2000"
              placeholder="Why you would like to work with ${mentor.name}"></textarea>
            <p class="field-error" data-error-for="message"></p>
          </div>
          <details>
            <summary>Propose how you would like to work (optional)</summary>
            <label class="check"><input type="checkbox" name="with_proposal" /> Include this proposal</label>
            ${agreementFields("request")}
          </details>
          <p class="form-alert" role="alert"></p>
          <div class="actions"><button type="submit" class="primary">Send request</button></div>
        </form>`,
    );
    section.querySelector("form").addEventListener("submit", (event) => this.#send(event, mentor), {
      signal: this.#abort.signal,
    });
  }

  async #send(event, mentor) {
    event.preventDefault();
    const form = event.target;
    clearErrors(form);
    const body = {
      mentor_id: mentor.user_id,
      goals: splitList(form.elements.namedItem("goals").value, "\n"),
      message: form.elements.namedItem("message").value,
    };
    if (form.elements.namedItem("with_proposal").checked) body.proposal = readAgreement(form);
    const done = busy(form, "Sending…");
    try {
      const created = await api.post("/api/mentorships", body);
      done();
      navigate(`/mentorships/${created.id}`);
    } catch (error) {
      done();
      showErrors(form, error);
    }
  }
}

export function registerRequestPage() {
  customElements.define("request-page", RequestPage);
}
