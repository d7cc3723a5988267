/**
 * Writing to a thread: a text box, what the message is about (a goal or an action item),
 * the message it replies to, and <message-recorder> for voice and video. The page says
 * how a message is sent, so the same box can sit under a thread or beside a call:
 *
 *   composer.data = { to: "Paulo", goals, items };
 *   composer.send = async (fields) => …;   // { kind, body | upload_id, reply_to?, goal_id?, action_item_id? }
 *   composer.replyTo({ id, author: "Paulo" });
 *
 * A draft is cleared only when `send` resolves; when it throws the text stays for
 * another try (the page shows why).
 */
import { html, render } from "../../lib/html.js";
import { useStylesheet } from "../../lib/styles.js";

class MessageComposer extends HTMLElement {
  send = async () => {};
  #abort = null;
  #data = { to: "", goals: [], items: [] };
  #replying = null;

  set data(value) {
    this.#data = value;
    if (this.isConnected) this.#render();
  }

  connectedCallback() {
    useStylesheet("/components/message-composer/message-composer.css");
    this.#abort = new AbortController();
    const { signal } = this.#abort;
    this.addEventListener("submit", (event) => this.#submit(event), { signal });
    this.addEventListener("recorded", (event) => this.#sendRecording(event.detail), { signal });
    this.addEventListener("click", (event) => {
      if (event.target.closest("[data-unreply]")) this.#clearReply();
    }, { signal });
    this.#render();
  }

  disconnectedCallback() {
    this.#abort?.abort();
  }

  /** Answer the message `id` by `author`; the next message sent is its reply. */
  replyTo({ id, author }) {
    this.#replying = id;
    const note = this.querySelector("[data-replying]");
    render(note, html`Replying to ${author} <button type="button" class="link-button" data-unreply>cancel</button>`);
    note.hidden = false;
    this.querySelector("textarea[name=body]").focus();
  }

  #render() {
    render(
      this,
      html`<div class="thread-compose card stack">
        <p class="hint" data-replying hidden></p>
        <form data-compose class="stack">
          <label class="field">Message
            <textarea name="body" rows="3" maxlength="5000" placeholder="Write to ${this.#data.to}…"></textarea></label>
          ${this.#linkSelect()}
          <div class="actions"><button type="submit">Send</button></div>
        </form>
        <message-recorder></message-recorder>
      </div>`,
    );
  }

  #linkSelect() {
    const { goals, items } = this.#data;
    if (!goals.length && !items.length) return "";
    return html`<label class="field">About
      <select name="link">
        <option value="">Nothing in particular</option>
        ${goals.length ? html`<optgroup label="Goals">${goals.map((g) => html`<option value="goal:${g.id}">${g.text}</option>`)}</optgroup>` : ""}
        ${items.length ? html`<optgroup label="Action items">${items.map((i) => html`<option value="item:${i.id}">${i.title}</option>`)}</optgroup>` : ""}
      </select></label>`;
  }

  #clearReply() {
    this.#replying = null;
    const note = this.querySelector("[data-replying]");
    if (note) note.hidden = true;
  }

  /** The reply and the goal or action item, as the API names them. */
  #extras() {
    const extra = {};
    if (this.#replying) extra.reply_to = this.#replying;
    const link = this.querySelector("select[name=link]")?.value ?? "";
    if (link.startsWith("goal:")) extra.goal_id = link.slice(5);
    if (link.startsWith("item:")) extra.action_item_id = link.slice(5);
    return extra;
  }

  async #submit(event) {
    const form = event.target.closest("form[data-compose]");
    if (!form) return;
    event.preventDefault();
    const body = form.elements.body.value.trim();
    if (!body) return;
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      await this.send({ kind: "text", body, ...this.#extras() });
      form.reset();
      this.#clearReply();
    } catch {
      // the draft stays; the page has said what went wrong
    } finally {
      button.disabled = false;
    }
  }

  async #sendRecording({ uploadId, kind }) {
    try {
      await this.send({ kind, upload_id: uploadId, ...this.#extras() });
      this.#clearReply();
    } catch {
      // the recording is uploaded; the page has said why the message was not posted
    }
  }
}

export function registerMessageComposer() {
  if (!customElements.get("message-composer")) customElements.define("message-composer", MessageComposer);
}
