/**
 * A thread's messages, oldest at the top: a <message-card> per message in an <ol>. An
 * update keeps every card in place (a playing video goes on playing) and only moves,
 * adds or removes what changed, as older pages and live messages arrive. It tells which
 * of the other person's messages are on screen, so the page can mark them seen.
 *
 *   list.empty = "No messages yet.";
 *   list.show(messages, (message) => cardData);   // message-card's data; sorted here
 *   list.addEventListener("messages-visible", (e) => e.detail.ids);
 *   list.visibleIds(); list.scrollToEnd();
 *   list.markNew(id); list.scrollToNew();  // a "New messages" divider above message `id`
 */
import { html, render } from "../../lib/html.js";
import { useStylesheet } from "../../lib/styles.js";

function byTime(a, b) {
  if (a.created_at !== b.created_at) return a.created_at < b.created_at ? -1 : 1;
  return a.id < b.id ? -1 : 1;
}

function classes({ message: m, mine }) {
  return ["thread-message", mine ? "mine" : "theirs", m.removed ? "removed" : "", `kind-${m.kind}`]
    .filter(Boolean)
    .join(" ");
}

class MessageList extends HTMLElement {
  empty = "No messages yet.";
  #observer = null;
  #newFrom = null;

  connectedCallback() {
    useStylesheet("/components/message-list/message-list.css");
    if (!this.#list) render(this, html`<ol class="thread-messages" aria-live="polite"></ol>`);
    this.#observer = new IntersectionObserver((entries) => this.#onVisible(entries), { threshold: 0.5 });
    for (const li of this.querySelectorAll("li[data-observed]")) this.#observer.observe(li);
  }

  disconnectedCallback() {
    this.#observer?.disconnect();
  }

  get #list() {
    return this.querySelector("ol.thread-messages");
  }

  show(messages, view) {
    const list = this.#list;
    if (!messages.length) {
      render(list, html`<li class="muted thread-empty">${this.empty}</li>`);
      return;
    }
    list.querySelector(".thread-empty")?.remove();
    const existing = new Map([...list.querySelectorAll("li[data-message]")].map((li) => [li.dataset.message, li]));
    let previous = null;
    for (const message of [...messages].sort(byTime)) {
      const data = view(message);
      let li = existing.get(message.id);
      existing.delete(message.id);
      if (!li) {
        li = document.createElement("li");
        li.dataset.message = message.id;
        li.append(document.createElement("message-card"));
      }
      li.className = classes(data);
      li.firstElementChild.data = data;
      this.#watch(li, !data.mine && !message.removed);
      if (previous ? previous.nextElementSibling !== li : list.firstElementChild !== li) {
        if (previous) previous.after(li);
        else list.prepend(li);
      }
      previous = li;
    }
    for (const li of existing.values()) {
      this.#watch(li, false);
      li.remove();
    }
    this.#placeDivider();
  }

  /** Put the "New messages" divider above message `id` (null: no divider). */
  markNew(id) {
    this.#newFrom = id;
    this.#placeDivider();
  }

  #placeDivider() {
    const list = this.#list;
    let divider = list?.querySelector(".thread-new");
    const target = this.#newFrom && list?.querySelector(`li[data-message="${CSS.escape(this.#newFrom)}"]`);
    if (!target) {
      divider?.remove();
      return null;
    }
    if (!divider) {
      divider = document.createElement("li");
      divider.className = "thread-new";
      divider.textContent = "New messages";
    }
    if (target.previousElementSibling !== divider) target.before(divider);
    return divider;
  }

  /** Scroll to the divider, or to the end when there is none. */
  scrollToNew() {
    const divider = this.#placeDivider();
    if (divider) divider.scrollIntoView({ block: "start" });
    else this.scrollToEnd();
  }

  /** Watch whether `li` is on screen (the other person's messages, not removed). */
  #watch(li, on) {
    if (on === li.hasAttribute("data-observed")) return;
    li.toggleAttribute("data-observed", on);
    if (on) {
      this.#observer?.observe(li);
    } else {
      this.#observer?.unobserve(li);
      delete li.dataset.visible;
    }
  }

  #onVisible(entries) {
    for (const entry of entries) {
      if (entry.isIntersecting) entry.target.dataset.visible = "yes";
      else delete entry.target.dataset.visible;
    }
    this.dispatchEvent(new CustomEvent("messages-visible", { bubbles: true, detail: { ids: this.visibleIds() } }));
  }

  /** The ids of the other person's messages at least half on screen now. */
  visibleIds() {
    return [...this.querySelectorAll("li[data-message][data-visible]")].map((li) => li.dataset.message);
  }

  scrollToEnd() {
    this.#list?.lastElementChild?.scrollIntoView({ block: "end" });
  }
}

export function registerMessageList() {
  if (!customElements.get("message-list")) customElements.define("message-list", MessageList);
}
