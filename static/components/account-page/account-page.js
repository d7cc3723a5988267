/**
 * The signed-in person's account: name, email (and whether it is confirmed), time zone
 * with the local time there, the password, and the bearer tokens scripts use.
 */
import { api, ApiError } from "../../lib/api.js";
import { busy, clearErrors, clearErrorsOnInput, showErrors, values } from "../../lib/forms.js";
import { html, render } from "../../lib/html.js";
import { session } from "../../lib/session.js";
import { formatDateTime, formatWeekdayTime, now as currentTime, offsetLabel, zoneName } from "../../lib/time.js";
import { loadTimezones, timezoneOptions } from "../../lib/timezones.js";

const STYLESHEET = html`<link rel="stylesheet" href="/components/account-page/account-page.css" />`;

class AccountPage extends HTMLElement {
  #abort = null;
  #timer = null;
  #options = { email_enabled: false, token_ttl_days: 90 };
  #tokens = [];
  #fresh = null; // a token just created: { id, name, token, expires_at }, shown once

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
      let tokens;
      [user, known, this.#options, tokens] = await Promise.all([
        session.load({ force: true }),
        loadTimezones(),
        api.get("/api/auth/options"),
        api.get("/api/me/tokens"),
      ]);
      this.#tokens = tokens.items;
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
      html`${STYLESHEET}<h1 id="account-title">Your account</h1>
        ${this.#verification(user)}
        <div class="card stack">
          <dl class="facts">
            <div>
              <dt>Email</dt>
              <dd><span data-fact="email">${user.email}</span>
                <span class="badge" data-verified="${String(user.email_verified)}"
                  >${user.email_verified ? "confirmed" : "not confirmed yet"}</span></dd>
            </div>
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
        </form>
        <h2 id="password-title">Change your password</h2>
        <form class="card stack" data-form="password" novalidate aria-labelledby="password-title">
          <div class="field">
            <label for="account-current-password">Current password</label>
            <input id="account-current-password" name="current_password" type="password"
              autocomplete="current-password" required maxlength="200"
              aria-describedby="account-current-password-error" />
            <p class="field-error" id="account-current-password-error"
              data-error-for="current_password"></p>
          </div>
          <div class="field">
            <label for="account-new-password">New password</label>
            <input id="account-new-password" name="password" type="password"
              autocomplete="new-password" required minlength="10" maxlength="200"
              aria-describedby="account-new-password-error" />
            <password-strength for="account-new-password"></password-strength>
            <p class="field-error" id="account-new-password-error" data-error-for="password"></p>
          </div>
          <p class="form-alert" role="alert"></p>
          <p class="notice" role="status" data-password-saved></p>
          <div class="actions"><button type="submit">Change password</button></div>
        </form>
        <div data-tokens>${this.#tokenSection()}</div>`,
    );
    this.#tick();
    clearInterval(this.#timer);
    this.#timer = setInterval(() => this.#tick(), 15_000);
    const form = section.querySelector("form:not([data-form])");
    form.addEventListener("submit", (event) => this.#save(event), { signal });
    form.addEventListener("change", () => this.#tick(), { signal });
    form.addEventListener("input", () => {
      form.querySelector("[data-saved]").textContent = "";
    }, { signal });
    const passwordForm = section.querySelector("[data-form=password]");
    passwordForm.addEventListener("submit", (event) => this.#changePassword(event), { signal });
    clearErrorsOnInput(passwordForm, signal);
    section.addEventListener("click", (event) => this.#click(event), { signal });
    section.addEventListener("submit", (event) => {
      if (event.target.dataset.form === "token") this.#createToken(event);
    }, { signal });
  }

  #verification(user) {
    if (user.email_verified) return "";
    if (!this.#options.email_enabled) {
      return html`<p class="notice warning" role="status" data-unverified>
        Your email address is not confirmed. This server has no mail set up, so it cannot
        send the confirmation link yet.
      </p>`;
    }
    return html`<div class="notice warning stack" data-unverified>
      <p>Your email address is not confirmed yet. We sent a link to ${user.email}; open it
        to confirm the address. It works for 48 hours.</p>
      <div class="actions">
        <button type="button" data-action="resend">Send the link again</button>
      </div>
      <p role="status" data-resent></p>
    </div>`;
  }

  #when(instant) {
    const zone = session.user?.timezone ?? "UTC";
    return instant ? formatDateTime(instant, zone) : "never";
  }

  #tokenSection() {
    const fresh = this.#fresh;
    const days = this.#options.token_ttl_days;
    return html`<section class="card stack" aria-labelledby="tokens-title">
      <h2 id="tokens-title">Access tokens for scripts</h2>
      <p class="hint">
        A token lets a script use Meridian as you, with <code>Authorization: Bearer …</code>.
        Each one works for ${days} days. Revoke any you do not recognise.
      </p>
      ${fresh &&
      html`<div class="stack" data-fresh-token>
        <label for="fresh-token">Your new token “${fresh.name}” (shown only now — copy it)</label>
        <div class="token-secret">
          <input id="fresh-token" readonly value="${fresh.token}" />
          <button type="button" data-action="copy">Copy token</button>
        </div>
        <p class="notice" role="status" data-copied></p>
      </div>`}
      ${this.#tokens.length
        ? html`<ul class="token-list" aria-label="Your tokens">
            ${this.#tokens.map(
              (t) => html`<li data-token="${t.id}">
                <div>
                  <strong>${t.name}</strong>
                  <span class="muted">created ${this.#when(t.created_at)}
                    · last used ${this.#when(t.last_used_at)}
                    · ${t.expired ? html`<span class="expired">expired ${this.#when(t.expires_at)}</span>`
                      : html`expires ${this.#when(t.expires_at)}`}</span>
                </div>
                <button type="button" class="danger" data-action="revoke" data-id="${t.id}"
                  aria-label="Revoke ${t.name}">Revoke</button>
              </li>`,
            )}
          </ul>`
        : html`<p class="muted" data-no-tokens>You have no tokens.</p>`}
      <p class="form-alert" role="alert" data-token-alert></p>
      <form class="stack" data-form="token" novalidate>
        <div class="field">
          <label for="token-name">What is the new token for?</label>
          <input id="token-name" name="name" required maxlength="100"
            placeholder="e.g. backup script on my laptop" aria-describedby="token-name-error" />
          <p class="field-error" id="token-name-error" data-error-for="name"></p>
        </div>
        <p class="form-alert" role="alert"></p>
        <div class="actions"><button type="submit">Create token</button></div>
      </form>
    </section>`;
  }

  #renderTokens() {
    const box = this.querySelector("[data-tokens]");
    if (box) render(box, this.#tokenSection());
  }

  async #reloadTokens() {
    this.#tokens = (await api.get("/api/me/tokens")).items;
    if (this.isConnected) this.#renderTokens();
  }

  async #click(event) {
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    const { action, id } = button.dataset;
    if (action === "copy") {
      await this.#copy();
      return;
    }
    button.disabled = true;
    try {
      if (action === "resend") {
        const answer = await api.post("/api/me/email-verification");
        this.querySelector("[data-resent]").textContent = answer.detail;
        button.disabled = false;
      } else if (action === "revoke") {
        await api.del(`/api/me/tokens/${encodeURIComponent(id)}`);
        if (this.#fresh?.id === id) this.#fresh = null;
        await this.#reloadTokens();
        this.querySelector("[data-token-alert]").textContent = "";
        const status = this.querySelector("[data-copied]");
        if (status) status.textContent = "";
      }
    } catch (error) {
      button.disabled = false;
      const slot =
        action === "resend" ? this.querySelector("[data-resent]") : this.querySelector("[data-token-alert]");
      if (slot) slot.textContent = error instanceof ApiError ? error.detail : "That did not work.";
    }
  }

  async #copy() {
    const input = this.querySelector("#fresh-token");
    const note = this.querySelector("[data-copied]");
    try {
      await navigator.clipboard.writeText(input.value);
      note.textContent = "Token copied. Keep it somewhere safe: it will not be shown again.";
    } catch {
      input.select();
      note.textContent = "Select the token and copy it (Ctrl+C or ⌘C).";
    }
  }

  async #createToken(event) {
    event.preventDefault();
    const form = event.target;
    clearErrors(form);
    const { name } = values(form);
    const done = busy(form, "Creating…");
    try {
      this.#fresh = await api.post("/api/auth/tokens", { name });
    } catch (error) {
      done();
      showErrors(form, error);
      return;
    }
    await this.#reloadTokens();
    this.querySelector("#fresh-token")?.focus();
  }

  async #changePassword(event) {
    event.preventDefault();
    const form = event.target;
    clearErrors(form);
    const status = form.querySelector("[data-password-saved]");
    status.textContent = "";
    const { current_password, password } = values(form);
    const done = busy(form, "Changing…");
    try {
      await api.post("/api/me/password", { current_password, password });
      done();
      form.reset();
      status.textContent = "Your password is changed. Other browsers are signed out.";
    } catch (error) {
      done();
      showErrors(form, error);
    }
  }

  /** Refreshes the local time shown for the saved zone and for the one being chosen. */
  #tick() {
    const user = session.user;
    if (!user) return;
    const now = currentTime();
    const local = this.querySelector("[data-fact=local-time]");
    if (local) {
      const text = formatDateTime(now, user.timezone, "full");
      local.textContent = `${text} (${offsetLabel(now, user.timezone)})`;
    }
    const chosen = this.querySelector("#account-timezone")?.value;
    const hint = this.querySelector("#account-timezone-hint");
    if (chosen && hint) {
      const time = formatWeekdayTime(now, chosen, "short");
      hint.textContent = `It is ${time} in ${zoneName(chosen)} now.`;
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
