/**
 * Calendars: subscribe to your sessions from any calendar app (a secret feed link,
 * shown once, with copy, subscribe, rotate and revoke), and import busy time from other
 * calendars (by address or file) so nobody books you when you are elsewhere.
 */
import { api, ApiError } from "../../lib/api.js";
import { busy, clearErrors, showErrors, values } from "../../lib/forms.js";
import { html, render } from "../../lib/html.js";
import { session } from "../../lib/session.js";
import { formatDateTime } from "../../lib/time.js";

const STYLESHEET = html`<link rel="stylesheet" href="/components/calendars-page/calendars-page.css" />`;
const STATUS_TEXT = { ok: "Synced", error: "Sync failed", pending: "Waiting for the first sync" };

class CalendarsPage extends HTMLElement {
  #abort = null;
  #zone = "UTC";
  #feeds = [];
  #busy = [];
  #fresh = null; // { id, url, webcal_url } of a link just created or rotated

  connectedCallback() {
    this.#abort = new AbortController();
    const { signal } = this.#abort;
    this.addEventListener("click", (event) => this.#click(event), { signal });
    this.addEventListener("submit", (event) => {
      const which = event.target.dataset.form;
      if (which === "url") this.#addUrl(event);
      else if (which === "file") this.#upload(event);
    }, { signal });
    render(
      this,
      html`${STYLESHEET}
        <section class="page narrow stack" aria-labelledby="calendars-title" aria-busy="true">
          <h1 id="calendars-title">Calendars</h1>
          <p class="muted loading">Loading your calendars…</p>
        </section>`,
    );
    this.#load();
  }

  disconnectedCallback() {
    this.#abort?.abort();
  }

  async #load() {
    try {
      const [user, feeds, calendars] = await Promise.all([
        session.load(),
        api.get("/api/me/calendar-feeds"),
        api.get("/api/me/busy-calendars"),
      ]);
      this.#zone = user?.timezone ?? "UTC";
      this.#feeds = feeds.items;
      this.#busy = calendars.items;
    } catch (error) {
      if (!this.isConnected) return;
      const section = this.querySelector("section");
      section.removeAttribute("aria-busy");
      render(
        section,
        html`<h1 id="calendars-title">Calendars</h1>
          <p class="form-alert" role="alert">${error.detail ?? "Your calendars could not be loaded."}</p>`,
      );
      return;
    }
    if (this.isConnected) this.#show();
  }

  #when(instant) {
    return instant ? formatDateTime(instant, this.#zone) : "never";
  }

  #feedSection() {
    const fresh = this.#fresh;
    return html`<section class="card stack" aria-labelledby="feeds-title">
      <h2 id="feeds-title">Your sessions in your calendar app</h2>
      <p class="hint">
        A private link that Google Calendar, Outlook, Apple Calendar or Thunderbird checks
        every hour. Anyone with the link sees your sessions, so keep it to yourself.
      </p>
      ${fresh &&
      html`<div class="stack" data-fresh-feed>
        <label for="feed-url">Your feed link (shown only now — copy it)</label>
        <div class="feed-link">
          <input id="feed-url" readonly value="${fresh.url}" />
          <button type="button" data-action="copy">Copy link</button>
          <a class="button primary" href="${fresh.webcal_url}">Subscribe in your calendar app</a>
        </div>
        <p class="notice" role="status" data-copied></p>
      </div>`}
      ${this.#feeds.length
        ? html`<ul class="calendar-list" aria-label="Feed links">
            ${this.#feeds.map(
              (f) => html`<li data-feed="${f.id}">
                <span>Link created ${this.#when(f.rotated_at ?? f.created_at)}</span>
                <span class="actions">
                  <button type="button" data-action="rotate" data-id="${f.id}">New link</button>
                  <button type="button" data-action="revoke" data-id="${f.id}">Revoke</button>
                </span>
              </li>`,
            )}
          </ul>`
        : html`<p class="muted" data-no-feeds>You have no feed link.</p>`}
      <p class="form-alert" role="alert" data-feed-alert></p>
      <div class="actions">
        <button type="button" class="primary" data-action="create">Create a feed link</button>
      </div>
    </section>`;
  }

  #busySection() {
    return html`<section class="card stack" aria-labelledby="busy-title">
      <h2 id="busy-title">Busy time from other calendars</h2>
      <p class="hint">
        Meridian reads when you are busy elsewhere and offers no slots then. Events marked
        free are ignored; all-day events block the whole day.
      </p>
      ${this.#busy.length
        ? html`<ul class="calendar-list" aria-label="Imported calendars">
            ${this.#busy.map(
              (c) => html`<li data-calendar="${c.id}">
                <span><strong>${c.name}</strong>
                  <span class="muted">(${c.source === "url" ? "by address" : "uploaded file"})</span></span>
                <span class="sync-status" data-status="${c.status}">${STATUS_TEXT[c.status] ?? c.status}</span>
                <span class="muted">Last synced: ${this.#when(c.last_success_at)}
                  · ${c.event_count} busy ${c.event_count === 1 ? "period" : "periods"}</span>
                <span class="actions">
                  ${c.source === "url" &&
                  html`<button type="button" data-action="refresh" data-id="${c.id}">Sync now</button>`}
                  <button type="button" data-action="remove" data-id="${c.id}">Remove</button>
                </span>
                ${c.error &&
                html`<p class="sync-error" role="status">${c.error} The last good copy
                  (${this.#when(c.last_success_at)}) still counts.</p>`}
              </li>`,
            )}
          </ul>`
        : html`<p class="muted">No calendars imported yet.</p>`}
      <form class="stack" data-form="url" novalidate>
        <div class="field">
          <label for="busy-url">Calendar address (https:// or webcal://)</label>
          <input id="busy-url" name="url" type="url" required maxlength="2000"
            placeholder="https://calendar.example.org/private/basic.ics"
            aria-describedby="busy-url-error" />
          <p class="field-error" id="busy-url-error" data-error-for="url"></p>
        </div>
        <div class="field">
          <label for="busy-name">Name (optional)</label>
          <input id="busy-name" name="name" maxlength="100" aria-describedby="busy-name-error" />
          <p class="field-error" id="busy-name-error" data-error-for="name"></p>
        </div>
        <p class="form-alert" role="alert"></p>
        <div class="actions"><button type="submit" class="primary">Add calendar</button></div>
      </form>
      <form class="stack" data-form="file" novalidate>
        <div class="field">
          <label for="busy-file">Or upload an .ics file</label>
          <input id="busy-file" name="file" type="file" accept=".ics,text/calendar"
            aria-describedby="busy-file-error" />
          <p class="field-error" id="busy-file-error" data-error-for="file"></p>
        </div>
        <p class="form-alert" role="alert"></p>
        <div class="actions"><button type="submit">Upload calendar</button></div>
      </form>
    </section>`;
  }

  #show() {
    const section = this.querySelector("section");
    section.removeAttribute("aria-busy");
    render(
      section,
      html`<h1 id="calendars-title">Calendars</h1>
        ${this.#feedSection()} ${this.#busySection()}`,
    );
  }

  async #click(event) {
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    const { action, id } = button.dataset;
    try {
      if (action === "copy") await this.#copy();
      else {
        button.disabled = true;
        await this.#act(action, id);
      }
    } catch (error) {
      const alert = this.querySelector("[data-feed-alert]");
      if (alert) alert.textContent = error instanceof ApiError ? error.detail : "That did not work.";
      button.disabled = false;
    }
  }

  async #act(action, id) {
    if (action === "create") {
      this.#fresh = await api.post("/api/me/calendar-feeds");
    } else if (action === "rotate") {
      this.#fresh = await api.post(`/api/me/calendar-feeds/${encodeURIComponent(id)}/rotate`);
    } else if (action === "revoke") {
      await api.del(`/api/me/calendar-feeds/${encodeURIComponent(id)}`);
      if (this.#fresh?.id === id) this.#fresh = null;
    } else if (action === "refresh") {
      await api.post(`/api/me/busy-calendars/${encodeURIComponent(id)}/refresh`);
    } else if (action === "remove") {
      await api.del(`/api/me/busy-calendars/${encodeURIComponent(id)}`);
    }
    await this.#reload();
  }

  async #copy() {
    const input = this.querySelector("#feed-url");
    const note = this.querySelector("[data-copied]");
    try {
      await navigator.clipboard.writeText(input.value);
      note.textContent = "Link copied. Paste it into your calendar app's “add by URL”.";
    } catch {
      input.select();
      note.textContent = "Select the link and copy it (Ctrl+C or ⌘C).";
    }
  }

  async #reload() {
    const [feeds, calendars] = await Promise.all([
      api.get("/api/me/calendar-feeds"),
      api.get("/api/me/busy-calendars"),
    ]);
    this.#feeds = feeds.items;
    this.#busy = calendars.items;
    if (this.isConnected) this.#show();
  }

  async #addUrl(event) {
    event.preventDefault();
    const form = event.target;
    clearErrors(form);
    const { url, name } = values(form);
    const done = busy(form, "Checking the calendar…");
    try {
      await api.post("/api/me/busy-calendars", name.trim() ? { url, name } : { url });
    } catch (error) {
      done();
      showErrors(form, error);
      return;
    }
    done();
    await this.#reload();
  }

  async #upload(event) {
    event.preventDefault();
    const form = event.target;
    clearErrors(form);
    const file = form.elements.namedItem("file").files[0];
    if (!file) {
      showErrors(form, new ApiError(422, {
        detail: "Choose an .ics file first.",
        errors: [{ field: "file", message: "Choose an .ics file first." }],
      }));
      return;
    }
    const done = busy(form, "Reading the calendar…");
    try {
      const name = encodeURIComponent(file.name.replace(/\.ics$/i, ""));
      await api.upload(`/api/me/busy-calendars?name=${name}`, file, "text/calendar");
    } catch (error) {
      done();
      showErrors(form, error);
      return;
    }
    done();
    await this.#reload();
  }
}

export function registerCalendarsPage() {
  customElements.define("calendars-page", CalendarsPage);
}
