/**
 * Text chat: the messages so far and a line to write the next. It shows and asks; the
 * page carries the words (over the call's socket, say), so the panel can sit beside a
 * call, in a side panel, or under anything else live.
 *
 *   panel.addEventListener("chat-send", (e) => e.detail.text);  // then panel.append(...)
 *   panel.append({ who: "You", text, mine: true });
 */
import { html, render } from "../../lib/html.js";
import { useStylesheet } from "../../lib/styles.js";

let panels = 0;

class ChatPanel extends HTMLElement {
  #abort = null;
  #id = `chat-${++panels}`;

  connectedCallback() {
    useStylesheet("/components/chat-panel/chat-panel.css");
    this.#abort = new AbortController();
    if (!this.querySelector(".chat-log")) this.#render();
    this.querySelector("form").addEventListener("submit", (event) => this.#submit(event), {
      signal: this.#abort.signal,
    });
  }

  disconnectedCallback() {
    this.#abort?.abort();
  }

  #render() {
    const id = this.#id;
    render(
      this,
      html`<section class="call-chat card" aria-labelledby="${id}-title">
        <h2 id="${id}-title">Chat</h2>
        <ol class="chat-log" data-role="chat-log" aria-live="polite"></ol>
        <form class="chat-form" data-role="chat-form">
          <label class="visually-hidden" for="${id}-text">Message</label>
          <input id="${id}-text" name="text" autocomplete="off" maxlength="4000" placeholder="Write a message" />
          <button class="button" type="submit">Send</button>
        </form>
      </section>`,
    );
  }

  #submit(event) {
    event.preventDefault();
    const input = event.target.elements.text;
    const text = input.value.trim();
    if (!text) return;
    this.dispatchEvent(new CustomEvent("chat-send", { bubbles: true, detail: { text } }));
    input.value = "";
  }

  append({ who, text, mine }) {
    const log = this.querySelector(".chat-log");
    if (!log) return;
    const item = document.createElement("li");
    item.className = mine ? "chat-mine" : "chat-theirs";
    render(item, html`<strong>${who}</strong> <span class="chat-text">${text}</span>`);
    log.append(item);
    log.scrollTop = log.scrollHeight;
  }
}

export function registerChatPanel() {
  if (!customElements.get("chat-panel")) customElements.define("chat-panel", ChatPanel);
}
