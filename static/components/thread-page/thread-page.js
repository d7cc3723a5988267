/**
 * The thread of one mentorship (/mentorships/:id/thread): text, voice and video
 * messages, oldest at the top and the newest at the bottom, with older pages on demand.
 *
 * Videos play with their poster, voice messages show their waveform (click it to seek).
 * A message the reader has on screen is marked seen; the author sees "Seen". New
 * messages, receipts and deletions arrive live over the thread's WebSocket, which
 * reconnects after a drop and fetches whatever it missed.
 */
import { api } from "../../lib/api.js";
import { html, render } from "../../lib/html.js";
import { session } from "../../lib/session.js";
import { formatInstant } from "../../lib/time.js";

const STYLESHEET = html`<link rel="stylesheet" href="/components/thread-page/thread-page.css" />`;
const WRITABLE = new Set(["active", "paused"]);
const SVG = "http://www.w3.org/2000/svg";

function duration(seconds) {
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

class ThreadPage extends HTMLElement {
  params = {};
  #abort = null;
  #mentorship = null;
  #messages = new Map(); // id → message, in any order
  #before = null;
  #links = { goals: [], items: [] };
  #replyTo = null;
  #ws = null;
  #retries = 0;
  #reconnect = null;
  #observer = null;
  #seenSent = new Set();

  connectedCallback() {
    this.#abort = new AbortController();
    render(this, html`${STYLESHEET}<section class="page thread" aria-busy="true"><p class="muted loading">Loading…</p></section>`);
    const { signal } = this.#abort;
    this.addEventListener("click", (event) => this.#onClick(event), { signal });
    this.addEventListener("submit", (event) => this.#onSubmit(event), { signal });
    this.addEventListener("recorded", (event) => this.#sendRecording(event.detail), { signal });
    document.addEventListener("visibilitychange", () => this.#markVisible(), { signal });
    this.#observer = new IntersectionObserver((entries) => this.#onVisible(entries), { threshold: 0.5 });
    this.#load();
  }

  disconnectedCallback() {
    this.#abort?.abort();
    this.#observer?.disconnect();
    clearTimeout(this.#reconnect);
    const ws = this.#ws;
    this.#ws = null;
    ws?.close(1000);
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
        <ol class="thread-messages" data-messages aria-live="polite"></ol>
        ${writable
          ? html`<div class="thread-compose card stack">
              <p class="hint" data-replying hidden></p>
              <form data-compose class="stack">
                <label class="field">Message
                  <textarea name="body" rows="3" maxlength="5000" placeholder="Write to ${other.name}…"></textarea></label>
                ${this.#linkSelect()}
                <div class="actions"><button type="submit">Send</button></div>
              </form>
              <message-recorder></message-recorder>
            </div>`
          : html`<p class="notice">This mentorship is ${m.state}: its thread can be read but not written.</p>`}`,
    );
    this.#renderMessages();
    this.#scrollToEnd();
  }

  #linkSelect() {
    const { goals, items } = this.#links;
    if (!goals.length && !items.length) return "";
    return html`<label class="field">About
      <select name="link">
        <option value="">Nothing in particular</option>
        ${goals.length ? html`<optgroup label="Goals">${goals.map((g) => html`<option value="goal:${g.id}">${g.text}</option>`)}</optgroup>` : ""}
        ${items.length ? html`<optgroup label="Action items">${items.map((i) => html`<option value="item:${i.id}">${i.title}</option>`)}</optgroup>` : ""}
      </select></label>`;
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

  #sorted() {
    return [...this.#messages.values()].sort((a, b) =>
      a.created_at === b.created_at ? (a.id < b.id ? -1 : 1) : a.created_at < b.created_at ? -1 : 1,
    );
  }

  #renderMessages() {
    const list = this.querySelector("[data-messages]");
    if (!list) return;
    const messages = this.#sorted();
    if (!messages.length) {
      render(list, html`<li class="muted thread-empty">No messages yet. Say hello, or record a short video.</li>`);
      return;
    }
    // Keep playing media elements: only (re)render messages whose content changed.
    const existing = new Map([...list.querySelectorAll("li[data-message]")].map((li) => [li.dataset.message, li]));
    list.querySelector(".thread-empty")?.remove();
    let previous = null;
    for (const message of messages) {
      const key = this.#fingerprint(message);
      let li = existing.get(message.id);
      if (!li || li.dataset.fingerprint !== key) {
        const fresh = document.createElement("li");
        render(fresh, this.#messageView(message));
        fresh.dataset.message = message.id;
        fresh.dataset.fingerprint = key;
        fresh.className = this.#classes(message);
        if (li) li.replaceWith(fresh);
        li = fresh;
        this.#wireMedia(li, message);
        if (message.author_id !== session.user?.id && !message.removed) this.#observer.observe(li);
      }
      this.#updateSeen(li, message);
      existing.delete(message.id);
      if (previous ? previous.nextElementSibling !== li : list.firstElementChild !== li) {
        if (previous) previous.after(li);
        else list.prepend(li);
      }
      previous = li;
    }
    existing.forEach((li) => li.remove());
  }

  /** What changes a message's content; receipts only touch its "Seen" mark in place. */
  #fingerprint(m) {
    return [m.removed, m.media?.id ?? "", m.body].join("|");
  }

  #isSeen(m) {
    const other = this.#other();
    return m.author_id === session.user?.id && m.seen_by.some((s) => s.user_id === other.id);
  }

  #updateSeen(li, m) {
    const mark = li.querySelector(".thread-seen");
    if (!mark) return;
    const seen = this.#isSeen(m);
    mark.dataset.seen = seen ? "yes" : "no";
    mark.textContent = seen ? "Seen" : "Sent";
  }

  #classes(m) {
    const mine = m.author_id === session.user?.id;
    return ["thread-message", mine ? "mine" : "theirs", m.removed ? "removed" : "", `kind-${m.kind}`].join(" ").trim();
  }

  #messageView(m) {
    const zone = session.user?.timezone ?? "UTC";
    const mine = m.author_id === session.user?.id;
    const seen = this.#isSeen(m);
    const replied = m.reply_to ? this.#messages.get(m.reply_to) : null;
    const goal = m.goal_id ? this.#links.goals.find((g) => g.id === m.goal_id) : null;
    const item = m.action_item_id ? this.#links.items.find((i) => i.id === m.action_item_id) : null;
    return html`<article class="card" aria-label="${m.kind} message from ${this.#name(m.author_id)}">
      <header class="thread-meta">
        <strong>${this.#name(m.author_id)}</strong>
        <time datetime="${m.created_at}">${formatInstant(m.created_at, zone)}</time>
        ${m.media ? html`<span class="hint">${m.kind === "video" ? "Video" : "Voice"} · ${duration(m.media.duration_seconds)}</span>` : ""}
      </header>
      ${replied ? html`<p class="hint thread-reply">In reply to ${this.#name(replied.author_id)}: ${replied.removed ? "a removed message" : replied.body || `a ${replied.kind} message`}</p>` : ""}
      ${goal ? html`<p class="hint">About the goal “${goal.text}”</p>` : ""}
      ${item ? html`<p class="hint">About the action item “${item.title}”</p>` : ""}
      ${m.removed
        ? html`<p class="muted thread-tombstone">${m.tombstone}</p>`
        : html`${m.body ? html`<p class="thread-body">${m.body}</p>` : ""}${this.#mediaView(m)}`}
      <footer class="thread-actions">
        ${mine && !m.removed ? html`<span class="thread-seen" data-seen="${seen ? "yes" : "no"}">${seen ? "Seen" : "Sent"}</span>` : ""}
        ${!m.removed && WRITABLE.has(this.#mentorship.state) ? html`<button type="button" class="link-button" data-reply="${m.id}">Reply</button>` : ""}
        ${mine && !m.removed ? html`<button type="button" class="link-button" data-delete="${m.id}">Delete</button>` : ""}
      </footer>
    </article>`;
  }

  #mediaView(m) {
    const media = m.media;
    if (!media) return "";
    if (media.kind === "video") {
      return html`<video class="thread-video" controls preload="metadata" playsinline
        src="${media.url}" ${media.poster_url ? html`poster="${media.poster_url}"` : ""}
        width="${media.width ?? 320}" height="${media.height ?? 240}"></video>`;
    }
    return html`<div class="thread-audio">
      <audio controls preload="metadata" src="${media.url}"></audio>
      <svg class="waveform" data-waveform viewBox="0 0 100 40" preserveAspectRatio="none" role="img"
        aria-label="Waveform of the voice message; click to jump"></svg>
    </div>`;
  }

  /** Draw the waveform (SVG attributes, no inline styles) and make it seek the audio. */
  #wireMedia(li, m) {
    const svg = li.querySelector("[data-waveform]");
    const audio = li.querySelector("audio");
    if (!svg || !audio) return;
    const peaks = m.media.waveform.length ? m.media.waveform : new Array(100).fill(0.05);
    const width = 100 / peaks.length;
    const played = document.createElementNS(SVG, "rect");
    played.setAttribute("class", "waveform-played");
    played.setAttribute("x", "0");
    played.setAttribute("y", "0");
    played.setAttribute("height", "40");
    played.setAttribute("width", "0");
    svg.append(played);
    peaks.forEach((peak, i) => {
      const bar = document.createElementNS(SVG, "rect");
      const h = Math.max(1, peak * 38);
      bar.setAttribute("x", String(i * width + width * 0.15));
      bar.setAttribute("width", String(width * 0.7));
      bar.setAttribute("y", String((40 - h) / 2));
      bar.setAttribute("height", String(h));
      svg.append(bar);
    });
    const total = () => (Number.isFinite(audio.duration) ? audio.duration : m.media.duration_seconds);
    audio.addEventListener("timeupdate", () => {
      played.setAttribute("width", String((audio.currentTime / total()) * 100));
    });
    svg.addEventListener("click", (event) => {
      const box = svg.getBoundingClientRect();
      audio.currentTime = ((event.clientX - box.left) / box.width) * total();
    });
  }

  #scrollToEnd() {
    const list = this.querySelector("[data-messages]");
    list?.lastElementChild?.scrollIntoView({ block: "end" });
  }

  // --- seen receipts -------------------------------------------------------------------

  #onVisible(entries) {
    for (const entry of entries) {
      if (entry.isIntersecting) entry.target.dataset.visible = "yes";
      else delete entry.target.dataset.visible;
    }
    this.#markVisible();
  }

  #markVisible() {
    if (document.visibilityState !== "visible") return;
    const me = session.user?.id;
    for (const li of this.querySelectorAll("li[data-message][data-visible]")) {
      const m = this.#messages.get(li.dataset.message);
      if (!m || m.removed || m.author_id === me || this.#seenSent.has(m.id)) continue;
      if (m.seen_by.some((s) => s.user_id === me)) continue;
      this.#seenSent.add(m.id);
      api.post(`/api/messages/${encodeURIComponent(m.id)}/seen`).catch(() => this.#seenSent.delete(m.id));
    }
  }

  // --- live ------------------------------------------------------------------------------

  #connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}${this.#base}/thread/ws`);
    this.#ws = ws;
    ws.addEventListener("message", (event) => this.#onEvent(JSON.parse(event.data)));
    ws.addEventListener("close", () => {
      if (this.#ws !== ws) return;
      this.#status("Reconnecting…");
      const delay = Math.min(10_000, 500 * 2 ** this.#retries);
      this.#retries += 1;
      this.#reconnect = setTimeout(() => this.#connect(), delay);
    });
  }

  #status(text) {
    const el = this.querySelector("[data-connection]");
    if (el) el.textContent = text;
  }

  async #onEvent(event) {
    if (event.type === "ready") {
      this.#status("Live");
      if (this.#retries > 0) await this.#catchUp();
      this.#retries = 0;
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
    if (!button) return;
    if (button.hasAttribute("data-older")) {
      await this.#older(button);
    } else if (button.dataset.delete) {
      if (!window.confirm("Delete this message? Its recording is removed for both of you.")) return;
      try {
        const gone = await api.del(`/api/messages/${encodeURIComponent(button.dataset.delete)}`);
        this.#messages.set(gone.id, gone);
        this.#renderMessages();
      } catch (error) {
        this.#alert(error.detail);
      }
    } else if (button.dataset.reply) {
      const m = this.#messages.get(button.dataset.reply);
      this.#replyTo = m?.id ?? null;
      const note = this.querySelector("[data-replying]");
      if (note && m) {
        render(note, html`Replying to ${this.#name(m.author_id)} <button type="button" class="link-button" data-unreply>cancel</button>`);
        note.hidden = false;
        this.querySelector("textarea[name=body]")?.focus();
      }
    } else if (button.hasAttribute("data-unreply")) {
      this.#clearReply();
    }
  }

  #clearReply() {
    this.#replyTo = null;
    const note = this.querySelector("[data-replying]");
    if (note) note.hidden = true;
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

  #extras() {
    const extra = {};
    if (this.#replyTo) extra.reply_to = this.#replyTo;
    const link = this.querySelector("select[name=link]")?.value ?? "";
    if (link.startsWith("goal:")) extra.goal_id = link.slice(5);
    if (link.startsWith("item:")) extra.action_item_id = link.slice(5);
    return extra;
  }

  async #onSubmit(event) {
    const form = event.target.closest("form[data-compose]");
    if (!form) return;
    event.preventDefault();
    const body = form.elements.body.value.trim();
    if (!body) return;
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const message = await api.post(`${this.#base}/messages`, { kind: "text", body, ...this.#extras() });
      this.#upsert(message);
      form.reset();
      this.#clearReply();
      this.#renderMessages();
      this.#scrollToEnd();
      this.#alert("");
    } catch (error) {
      this.#alert(error.detail);
    } finally {
      button.disabled = false;
    }
  }

  async #sendRecording({ uploadId, kind }) {
    try {
      const message = await api.post(`${this.#base}/messages`, { kind, upload_id: uploadId, ...this.#extras() });
      this.#upsert(message);
      this.#clearReply();
      this.#renderMessages();
      this.#scrollToEnd();
      this.#alert("");
    } catch (error) {
      this.#alert(error.detail);
    }
  }
}

export function registerThreadPage() {
  customElements.define("thread-page", ThreadPage);
}
