/** The signed-in person's account: name, email, and time zone with the local time there. */
import { api } from "../../lib/api.js";
import { busy, clearErrors, showErrors, values } from "../../lib/forms.js";
import { html, render } from "../../lib/html.js";
import { session } from "../../lib/session.js";
import { formatInstant, offsetLabel } from "../../lib/time.js";
import { loadTimezones, timezoneOptions } from "../../lib/timezones.js";

class AccountPage extends HTMLElement {
  #abort = null;
  #timer = null;

  connectedCallback() {
    this.#abort = new AbortController();
    render(
      this,
      html`<section class="page narrow" aria-labelledby="account-title" aria-busy="true">
        <h1 id="account-title">Your account</h1>
        <p class="muted loading">Loading your account…</p>
      </section>`,
    );
    this.#load();
  }

  disconnectedCallback() {
    this.#abort?.abort();
    clearInterval(this.#timer);
  }

  async #load() {
    let user;
    let known;
    try {
      [user, known] = await Promise.all([session.load({ force: true }), loadTimezones()]);
    } catch (error) {
      if (!this.isConnected) return;
      render(
        this.querySelector("section"),
        html`<h1 id="account-title">Your account</h1>
          <p class="form-alert" role="alert">${error.detail ?? "Your account could not be loaded."}</p>`,
      );
      return;
    }
    if (!this.isConnected || !user) return;
    this.#show(user, known);
  }

  #show(user, known) {
    const { signal } = this.#abort;
    const zones = known.includes(user.timezone) ? known : [user.timezone, ...known];
    const section = this.querySelector("section");
    section.removeAttribute("aria-busy");
    render(
      section,
      html`<h1 id="account-title">Your account</h1>
        <div class="card stack">
          <dl class="facts">
            <div><dt>Email</dt><dd data-fact="email">${user.email}</dd></div>
            <div><dt>Time zone</dt><dd data-fact="timezone">${user.timezone}</dd></div>
            <div><dt>Local time there</dt><dd data-fact="local-time"></dd></div>
          </dl>
        </div>
        <h2>Change your details</h2>
        <form class="card stack" novalidate>
          <div class="field">
            <label for="account-name">Name</label>
            <input id="account-name" name="name" autocomplete="name" required maxlength="100"
              value="${user.name}" aria-describedby="account-name-error" />
            <p class="field-error" id="account-name-error" data-error-for="name"></p>
          </div>
          <div class="field">
            <label for="account-timezone">Time zone</label>
            <select id="account-timezone" name="timezone"
              aria-describedby="account-timezone-hint account-timezone-error">
              ${timezoneOptions(zones, user.timezone)}
            </select>
            <p class="hint" id="account-timezone-hint" aria-live="polite"></p>
            <p class="field-error" id="account-timezone-error" data-error-for="timezone"></p>
          </div>
          <p class="form-alert" role="alert"></p>
          <p class="notice" role="status" data-saved></p>
          <div class="actions"><button type="submit" class="primary">Save changes</button></div>
        </form>`,
    );
    this.#tick();
    clearInterval(this.#timer);
    this.#timer = setInterval(() => this.#tick(), 15_000);
    const form = section.querySelector("form");
    form.addEventListener("submit", (event) => this.#save(event), { signal });
    form.addEventListener("change", () => this.#tick(), { signal });
    form.addEventListener("input", () => {
      form.querySelector("[data-saved]").textContent = "";
    }, { signal });
  }

  /** Refreshes the local time shown for the saved zone and for the one being chosen. */
  #tick() {
    const user = session.user;
    if (!user) return;
    const now = new Date();
    const local = this.querySelector("[data-fact=local-time]");
    if (local) {
      const text = formatInstant(now, user.timezone, { dateStyle: "full", timeStyle: "short" });
      local.textContent = `${text} (${offsetLabel(now, user.timezone)})`;
    }
    const chosen = this.querySelector("#account-timezone")?.value;
    const hint = this.querySelector("#account-timezone-hint");
    if (chosen && hint) {
      const time = formatInstant(now, chosen, {
      weekday: "short",
      hour: "numeric",
      minute: "2-digit",
    });
      hint.textContent = `It is ${time} in ${chosen.replaceAll("_", " ")} now.`;
    }
  }

  async #save(event) {
    event.preventDefault();
    const form = event.target;
    clearErrors(form);
    const status = form.querySelector("[data-saved]");
    status.textContent = "";
    const { name, timezone } = values(form);
    const done = busy(form, "Saving…");
    try {
      const body = await api.patch("/api/me", { name, timezone });
      session.set(body.user);
      done();
      this.querySelector("[data-fact=timezone]").textContent = body.user.timezone;
      this.#tick();
      status.textContent = "Your changes are saved.";
    } catch (error) {
      done();
      showErrors(form, error);
    }
  }
}

export function registerAccountPage() {
  customElements.define("account-page", AccountPage);
}
