/** Your mentorships, as mentor and as mentee, with their state. */
import { api } from "../../lib/api.js";
import { html, render } from "../../lib/html.js";
import { stateBadge, stylesheet } from "../../lib/mentoring.js";

class MentorshipsPage extends HTMLElement {
  connectedCallback() {
    render(
      this,
      html`${stylesheet()}<section class="page" aria-labelledby="mentorships-title">
        <h1 id="mentorships-title">Your mentorships</h1>
        <div data-list aria-busy="true"><p class="muted loading">Loading…</p></div>
      </section>`,
    );
    this.#load();
  }

  async #load() {
    const list = this.querySelector("[data-list]");
    let body;
    try {
      body = await api.get("/api/mentorships");
    } catch (error) {
      if (this.isConnected) render(list, html`<p class="form-alert" role="alert">${error.detail}</p>`);
      return;
    }
    if (!this.isConnected) return;
    list.removeAttribute("aria-busy");
    if (!body.items.length) {
      render(list, html`<p class="muted">No mentorships yet. <a href="/mentors">Find a mentor</a>.</p>`);
      return;
    }
    render(
      list,
      html`<ul class="plain-list card">
        ${body.items.map((m) => {
          const other = m.my_role === "mentor" ? m.mentee : m.mentor;
          const as = m.my_role === "mentor" ? "You mentor" : "Your mentor is";
          return html`<li class="actions" data-mentorship="${m.id}">
            <a href="/mentorships/${m.id}">${as} ${other.name}</a>
            ${stateBadge(m.state)}
            <span class="muted">${m.goals.map((g) => g.text).join(" · ")}</span>
          </li>`;
        })}
      </ul>`,
    );
  }
}

export function registerMentorshipsPage() {
  customElements.define("mentorships-page", MentorshipsPage);
}
