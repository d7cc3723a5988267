/** Your notifications, newest first; opening one marks it read. */
import { api } from "../../lib/api.js";
import { html, render } from "../../lib/html.js";
import { stylesheet } from "../../lib/mentoring.js";
import { onNotice } from "../../lib/notices.js";
import { session } from "../../lib/session.js";
import { formatDateTime } from "../../lib/time.js";

class NotificationsPage extends HTMLElement {
  #abort = null;
  #stopNotices = null;

  connectedCallback() {
    this.#abort = new AbortController();
    render(
      this,
      html`${stylesheet()}<section class="page" aria-labelledby="notifications-title">
        <div class="actions">
          <h1 id="notifications-title">Notifications</h1>
          <button type="button" data-read-all>Mark all read</button>
        </div>
        <p class="form-alert" role="alert"></p>
        <div data-list aria-live="polite"><p class="muted loading">Loading…</p></div>
      </section>`,
    );
    const { signal } = this.#abort;
    this.querySelector("[data-read-all]").addEventListener("click", () => this.#markRead(null), { signal });
    this.querySelector("[data-list]").addEventListener(
      "click",
      (event) => {
        const link = event.target.closest("a[data-notification]");
        if (link) this.#markRead([link.dataset.notification], false);
      },
      { signal },
    );
    this.#stopNotices = onNotice(() => this.#load());
    this.#load();
  }

  disconnectedCallback() {
    this.#abort?.abort();
    this.#stopNotices?.();
  }

  async #load() {
    const list = this.querySelector("[data-list]");
    let body;
    try {
      [body] = await Promise.all([api.get("/api/notifications"), session.load()]);
    } catch (error) {
      if (this.isConnected) this.querySelector("[role=alert]").textContent = error.detail;
      return;
    }
    if (!this.isConnected) return;
    const zone = session.user?.timezone ?? "UTC";
    if (!body.items.length) {
      render(list, html`<p class="muted">Nothing yet.</p>`);
      return;
    }
    render(
      list,
      html`<p class="hint" data-unread-count>${body.unread_count} unread</p>
        <ul class="plain-list card">
          ${body.items.map(
            (n) => html`<li class="${n.read_at ? "" : "unread"}" data-kind="${n.kind}">
              <a href="${n.link || "/notifications"}" data-notification="${n.id}">${n.title}</a>
              ${n.body && html`<p class="muted">${n.body}</p>`}
              <p class="hint">${formatDateTime(n.created_at, zone)}</p>
            </li>`,
          )}
        </ul>`,
    );
  }

  async #markRead(ids, reload = true) {
    try {
      await api.post("/api/notifications/read", ids ? { ids } : {});
      if (reload && this.isConnected) await this.#load();
    } catch (error) {
      if (this.isConnected) this.querySelector("[role=alert]").textContent = error.detail;
    }
  }
}

export function registerNotificationsPage() {
  customElements.define("notifications-page", NotificationsPage);
}
