/**
 * One message of a thread: who wrote it and when, what it answers or is about, its
 * text, video (with its poster) or voice (with a waveform that seeks), "Sent"/"Seen"
 * for its author, and Reply and Delete. It shows; the page acts: the buttons fire
 * `message-reply` and `message-delete` (bubbling, `detail: { id }`).
 *
 *   card.data = { message, author: "Paulo", mine, seen, zone, canReply,
 *                 replyTo: { author, text } | null, about: ["the goal “Ship it”"] };
 *
 * Setting data again with only `seen` changed updates the mark in place, so a video
 * or voice message that is playing keeps playing while receipts arrive.
 */
import { html, render } from "../../lib/html.js";
import { useStylesheet } from "../../lib/styles.js";
import { formatClock, formatDateTime } from "../../lib/time.js";

const SVG = "http://www.w3.org/2000/svg";

/** What changes a message's content; receipts only touch its "Seen" mark. */
function fingerprint(m) {
  return [m.removed, m.media?.id ?? "", m.body].join("|");
}

class MessageCard extends HTMLElement {
  #abort = null;
  #data = null;
  #shown = null;

  set data(value) {
    this.#data = value;
    if (this.isConnected) this.#update();
  }

  connectedCallback() {
    useStylesheet("/components/message-card/message-card.css");
    this.#abort = new AbortController();
    this.addEventListener("click", (event) => this.#onClick(event), { signal: this.#abort.signal });
    this.#update();
  }

  disconnectedCallback() {
    this.#abort?.abort(); // moved within the list it is connected again, content kept
  }

  #onClick(event) {
    const button = event.target.closest("button[data-reply], button[data-delete]");
    if (!button || !this.#data) return;
    const type = button.hasAttribute("data-reply") ? "message-reply" : "message-delete";
    this.dispatchEvent(new CustomEvent(type, { bubbles: true, detail: { id: this.#data.message.id } }));
  }

  #update() {
    if (!this.#data) return;
    const key = fingerprint(this.#data.message);
    if (this.#shown !== key) {
      this.#shown = key;
      render(this, this.#view());
      this.#wireWaveform();
    }
    const mark = this.querySelector(".thread-seen");
    if (mark) {
      mark.dataset.seen = this.#data.seen ? "yes" : "no";
      mark.textContent = this.#data.seen ? "Seen" : "Sent";
    }
  }

  #view() {
    const { message: m, author, mine, zone, canReply, replyTo, about } = this.#data;
    return html`<article class="card" aria-label="${m.kind} message from ${author}">
      <header class="thread-meta">
        <strong>${author}</strong>
        <time datetime="${m.created_at}">${formatDateTime(m.created_at, zone)}</time>
        ${m.media ? html`<span class="hint">${m.kind === "video" ? "Video" : "Voice"} · ${formatClock(m.media.duration_seconds)}</span>` : ""}
      </header>
      ${replyTo ? html`<p class="hint thread-reply">In reply to ${replyTo.author}: ${replyTo.text}</p>` : ""}
      ${(about ?? []).map((a) => html`<p class="hint">About ${a}</p>`)}
      ${m.removed
        ? html`<p class="muted thread-tombstone">${m.tombstone}</p>`
        : html`${m.body ? html`<p class="thread-body">${m.body}</p>` : ""}${this.#media(m)}`}
      <footer class="thread-actions">
        ${mine && !m.removed ? html`<span class="thread-seen" data-seen="no">Sent</span>` : ""}
        ${!m.removed && canReply ? html`<button type="button" class="link-button" data-reply="${m.id}">Reply</button>` : ""}
        ${mine && !m.removed ? html`<button type="button" class="link-button" data-delete="${m.id}">Delete</button>` : ""}
      </footer>
    </article>`;
  }

  #media(m) {
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
  #wireWaveform() {
    const svg = this.querySelector("[data-waveform]");
    const audio = this.querySelector("audio");
    if (!svg || !audio) return;
    const media = this.#data.message.media;
    const peaks = media.waveform.length ? media.waveform : new Array(100).fill(0.05);
    const width = 100 / peaks.length;
    const rect = (attributes) => {
      const el = document.createElementNS(SVG, "rect");
      for (const [name, value] of Object.entries(attributes)) el.setAttribute(name, String(value));
      svg.append(el);
      return el;
    };
    const played = rect({ class: "waveform-played", x: 0, y: 0, height: 40, width: 0 });
    peaks.forEach((peak, i) => {
      const h = Math.max(1, peak * 38);
      rect({ x: i * width + width * 0.15, width: width * 0.7, y: (40 - h) / 2, height: h });
    });
    const total = () => (Number.isFinite(audio.duration) ? audio.duration : media.duration_seconds);
    // These elements are replaced with the card's content, and their listeners with them.
    audio.addEventListener("timeupdate", () => {
      played.setAttribute("width", String((audio.currentTime / total()) * 100));
    });
    svg.addEventListener("click", (event) => {
      const box = svg.getBoundingClientRect();
      audio.currentTime = ((event.clientX - box.left) / box.width) * total();
    });
  }
}

export function registerMessageCard() {
  if (!customElements.get("message-card")) customElements.define("message-card", MessageCard);
}
