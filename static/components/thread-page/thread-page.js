/**
 * The thread of one mentorship (/mentorships/:id/thread): text, voice and video
 * messages (<message-list> of <message-card>s), oldest at the top and the newest at the
 * bottom, with older pages on demand, and <message-composer> to write, speak or film.
 *
 * A message the reader has on screen is marked seen; the author sees "Seen". New
 * messages, receipts and deletions arrive live over the thread's WebSocket, which
 * reconnects after a drop and fetches whatever it missed.
 */
import { api } from "../../lib/api.js";
import { html, render } from "../../lib/html.js";
import { LiveSocket } from "../../lib/live.js";
import { session } from "../../lib/session.js";

const WRITABLE = new Set(["active", "paused"]);

class ThreadPage extends HTMLElement {
  params = {};
  #abort = null;
  #mentorship = null;
  #messages = new Map(); // id → message, in any order
  #before = null;
  #links = { goals: [], items: [] };
  #live = null;
  #seenSent = new Set();

  connectedCallback() {
    this.#abort = new AbortController();
    render(this, html`<section class="page thread" aria-busy="true"><p class="muted loading">Loading…</p></section>`);
    const { signal } = this.#abort;
    this.addEventListener("click", (event) => this.#onClick(event), { signal });
    this.addEventListener("message-reply", (event) => this.#startReply(event.detail.id), { signal });
    this.addEventListener("message-delete", (event) => this.#delete(event.detail.id), { signal });
    this.addEventListener("messages-visible", () => this.#markVisible(), { signal });
    document.addEventListener("visibilitychange", () => this.#markVisible(), { signal });
    this.#load();
  }

  disconnectedCallback() {
    this.#abort?.abort();
    this.#live?.close();
  }

  get #base() {
    return `/api/mentorships/${encodeURIComponent(this.params.id)}`;
  }

  async #load() {
    const section = this.querySelector("section");
    try {
      const [mentorship, page, items] = await Promise.all([
        api.get(this.#base),
        api.get(`${this.#base}/messages?limit=30`),
        api.get(`${this.#base}/action-items`).catch(() => ({ items: [] })),
        session.load(),
      ]);
      this.#mentorship = mentorship;
      this.#links = { goals: mentorship.goals ?? [], items: items.items ?? [] };
      page.items.forEach((m) => this.#messages.set(m.id, m));
      this.#before = page.next_before;
    } catch (error) {
      if (this.isConnected) render(section, html`<h1>Messages</h1><p class="form-alert" role="alert">${error.detail}</p>`);
      return;
    }
    if (!this.isConnected) return;
    this.#renderPage();
    this.#connect();
  }

  #other() {
    const m = this.#mentorship;
    return m.my_role === "mentor" ? m.mentee : m.mentor;
  }

  #name(id) {
    if (id === session.user?.id) return "You";
    const m = this.#mentorship;
    return id === m.mentor.id ? m.mentor.name : m.mentee.name;
  }

  #renderPage() {
    const m = this.#mentorship;
    const other = this.#other();
    const writable = WRITABLE.has(m.state);
    const section = this.querySelector("section");
    section.removeAttribute("aria-busy");
    render(
      section,
      html`<h1>Messages with ${other.name}</h1>
        <p class="hint"><a href="/mentorships/${m.id}">Back to the mentorship</a> ·
          <span data-connection>Connecting…</span></p>
        <p class="form-alert" role="alert" data-alert></p>
        <div class="thread-older">${this.#before ? html`<button type="button" class="link-button" data-older>Show older messages</button>` : ""}</div>
        <message-list data-messages></message-list>
        ${writable
          ? html`<message-composer></message-composer>`
          : html`<p class="notice">This mentorship is ${m.state}: its thread can be read but not written.</p>`}`,
    );
    const composer = this.querySelector("message-composer");
    if (composer) {
      composer.data = { to: other.name, ...this.#links };
      composer.send = (fields) => this.#post(fields);
    }
    this.#renderMessages();
    // Open where the reader left off: at the first message from the other person she has
    // not seen, below a "New messages" divider; at the end when she has seen everything.
    const me = session.user?.id;
    const firstUnread = [...this.#messages.values()]
      .filter((m) => m.author_id !== me && !m.removed && !m.seen_by.some((s) => s.user_id === me))
      .sort((a, b) => (a.created_at !== b.created_at ? (a.created_at < b.created_at ? -1 : 1) : a.id < b.id ? -1 : 1))[0];
    const list = this.querySelector("[data-messages]");
    list.markNew(firstUnread?.id ?? null);
    list.scrollToNew();
  }

  /** Keep the freshest view of a message: answers and live events can cross on the wire. */
  #upsert(message) {
    const known = this.#messages.get(message.id);
    if (known) {
      const seen = new Map([...known.seen_by, ...message.seen_by].map((s) => [s.user_id, s]));
      message = known.removed && !message.removed ? known : { ...message, seen_by: [...seen.values()] };
    }
    this.#messages.set(message.id, message);
  }

  #renderMessages() {
    const list = this.querySelector("[data-messages]");
    if (!list) return;
    list.empty = "No messages yet. Say hello, or record a short video.";
    list.show([...this.#messages.values()], (m) => this.#card(m));
  }

  /** What a <message-card> shows of `m`, with names and links resolved. */
  #card(m) {
    const other = this.#other();
    const mine = m.author_id === session.user?.id;
    const replied = m.reply_to ? this.#messages.get(m.reply_to) : null;
    const goal = m.goal_id ? this.#links.goals.find((g) => g.id === m.goal_id) : null;
    const item = m.action_item_id ? this.#links.items.find((i) => i.id === m.action_item_id) : null;
    return {
      message: m,
      author: this.#name(m.author_id),
      mine,
      seen: mine && m.seen_by.some((s) => s.user_id === other.id),
      zone: session.user?.timezone ?? "UTC",
      canReply: WRITABLE.has(this.#mentorship.state),
      replyTo: replied && {
        author: this.#name(replied.author_id),
        text: replied.removed ? "a removed message" : replied.body || `a ${replied.kind} message`,
      },
      about: [goal && `the goal “${goal.text}”`, item && `the action item “${item.title}”`].filter(Boolean),
    };
  }

  #scrollToEnd() {
    this.querySelector("[data-messages]")?.scrollToEnd();
  }

  // --- seen receipts -------------------------------------------------------------------

  #markVisible() {
    const list = this.querySelector("[data-messages]");
    if (document.visibilityState !== "visible" || !list) return;
    const me = session.user?.id;
    for (const id of list.visibleIds()) {
      const m = this.#messages.get(id);
      if (!m || m.removed || m.author_id === me || this.#seenSent.has(m.id)) continue;
      if (m.seen_by.some((s) => s.user_id === me)) continue;
      this.#seenSent.add(m.id);
      api.post(`/api/messages/${encodeURIComponent(m.id)}/seen`).catch(() => this.#seenSent.delete(m.id));
    }
  }

  // --- live ------------------------------------------------------------------------------

  #connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    this.#live = new LiveSocket({
      url: () => `${scheme}://${location.host}${this.#base}/thread/ws`,
      onMessage: (event) => this.#onEvent(event),
      onDrop: () => this.#status("Reconnecting…"),
    });
    this.#live.start();
  }

  #status(text) {
    const el = this.querySelector("[data-connection]");
    if (el) el.textContent = text;
  }

  async #onEvent(event) {
    if (event.type === "ready") {
      this.#status("Live");
      if (this.#live.attempts > 0) await this.#catchUp();
      this.#live.settled();
      this.dataset.live = "yes";
    } else if (event.type === "message" || event.type === "removed") {
      if (event.type === "removed") this.#messages.set(event.message.id, event.message);
      else this.#upsert(event.message);
      const atEnd = event.type === "message";
      this.#renderMessages();
      if (atEnd) this.#scrollToEnd();
    } else if (event.type === "seen") {
      const m = this.#messages.get(event.message_id);
      if (m && !m.seen_by.some((s) => s.user_id === event.user_id)) {
        m.seen_by = [...m.seen_by, { user_id: event.user_id, seen_at: event.seen_at }];
        this.#renderMessages();
      }
    }
  }

  async #catchUp() {
    try {
      const page = await api.get(`${this.#base}/messages?limit=50`);
      page.items.forEach((m) => this.#upsert(m));
      this.#renderMessages();
    } catch {
      // the next reconnect tries again
    }
  }

  // --- actions ---------------------------------------------------------------------------

  #alert(text) {
    const alert = this.querySelector("[data-alert]");
    if (alert) alert.textContent = text;
  }

  async #onClick(event) {
    const button = event.target.closest("button");
    if (button?.hasAttribute("data-older")) await this.#older(button);
  }

  async #delete(id) {
    if (!window.confirm("Delete this message? Its recording is removed for both of you.")) return;
    try {
      const gone = await api.del(`/api/messages/${encodeURIComponent(id)}`);
      this.#messages.set(gone.id, gone);
      this.#renderMessages();
    } catch (error) {
      this.#alert(error.detail);
    }
  }

  #startReply(id) {
    const m = this.#messages.get(id);
    if (m) this.querySelector("message-composer")?.replyTo({ id, author: this.#name(m.author_id) });
  }

  async #older(button) {
    button.disabled = true;
    try {
      const page = await api.get(`${this.#base}/messages?limit=30&before=${encodeURIComponent(this.#before)}`);
      page.items.forEach((m) => this.#messages.set(m.id, m));
      this.#before = page.next_before;
      this.#renderMessages();
      if (!this.#before) button.remove();
    } catch (error) {
      this.#alert(error.detail);
    } finally {
      button.disabled = false;
    }
  }

  /** Post what the composer wrote or recorded; a failure is shown and keeps the draft. */
  async #post(fields) {
    try {
      this.#upsert(await api.post(`${this.#base}/messages`, fields));
    } catch (error) {
      this.#alert(error.detail);
      throw error;
    }
    this.#renderMessages();
    this.#scrollToEnd();
    this.#alert("");
  }
}

export function registerThreadPage() {
  customElements.define("thread-page", ThreadPage);
}
