/**
 * Discovery: mentors ranked for you, each with the reasons behind the score and a
 * 24-hour strip of both people's working hours in your local time.
 */
import { api } from "../../lib/api.js";
import { html, render } from "../../lib/html.js";
import { stylesheet } from "../../lib/mentoring.js";

class MentorsPage extends HTMLElement {
  #abort = null;
  query = new URLSearchParams();

  connectedCallback() {
    this.#abort = new AbortController();
    const q = this.query ?? new URLSearchParams();
    render(
      this,
      html`${stylesheet()}<section class="page" aria-labelledby="mentors-title">
        <h1 id="mentors-title">Find a mentor</h1>
        <form class="card grid-2" data-filters>
          <div class="field">
            <label for="mentors-topic">Topic</label>
            <input id="mentors-topic" name="topic" value="${q.get("topic") ?? ""}" placeholder="python" />
          </div>
          <div class="field">
            <label for="mentors-language">Language</label>
            <input id="mentors-language" name="language" value="${q.get("language") ?? ""}" placeholder="en" />
          </div>
          <label class="check"><input type="checkbox" name="include_unavailable" />
            Also show mentors who are full or share no language with me</label>
          <div class="actions"><button type="submit">Search</button></div>
        </form>
        <p class="form-alert" role="alert"></p>
        <div data-results aria-live="polite"><p class="muted loading">Finding mentors…</p></div>
      </section>`,
    );
    this.querySelector("[data-filters]").addEventListener(
      "submit",
      (event) => {
        event.preventDefault();
        this.#search();
      },
      { signal: this.#abort.signal },
    );
    this.#search();
  }

  disconnectedCallback() {
    this.#abort?.abort();
  }

  async #search() {
    const form = this.querySelector("[data-filters]");
    const params = new URLSearchParams();
    for (const name of ["topic", "language"]) {
      const value = form.elements.namedItem(name).value.trim();
      if (value) params.set(name, value);
    }
    if (form.elements.namedItem("include_unavailable").checked) params.set("include_unavailable", "true");
    const results = this.querySelector("[data-results]");
    const alert = this.querySelector("[role=alert]");
    alert.textContent = "";
    let found;
    let me;
    try {
      [found, me] = await Promise.all([api.get(`/api/mentors?${params}`), api.get("/api/me/profile")]);
    } catch (error) {
      if (this.isConnected) alert.textContent = error.detail;
      return;
    }
    if (!this.isConnected) return;
    const hints = [];
    if (!me.languages.length) hints.push("Add the languages you speak to your profile: mentors are matched on a common language.");
    if (!me.working_hours.length) hints.push("Add your working hours to your profile to see where they overlap.");
    render(
      results,
      html`${hints.map((h) => html`<p class="hint">${h} <a href="/profile">Edit your profile</a></p>`)}
        ${found.items.length === 0
          ? html`<p class="muted" data-empty>No mentors match yet. Try fewer filters, or show everyone.</p>`
          : html`<ol class="plain-list" data-mentors>
              ${found.items.map((item) => this.#card(item))}
            </ol>`}`,
    );
    found.items.forEach((item, i) => {
      const strip = results.querySelectorAll("hours-strip")[i];
      strip.data = { strip: item.strip, theirName: item.mentor.name };
    });
  }

  #card(item) {
    const m = item.mentor;
    const overlap = item.overlap_hours_per_week;
    return html`<li class="card stack" data-mentor="${m.user_id}">
      <div class="actions">
        <h2><a href="/people/${m.user_id}">${m.name}</a></h2>
        <span class="score" title="Match score">${Math.round(item.score * 100)}%</span>
        ${!item.available && html`<span class="badge">Not available</span>`}
      </div>
      ${m.headline && html`<p class="muted">${m.headline}</p>`}
      <p data-overlap><strong>${overlap}</strong> hours a week where your working hours overlap.</p>
      <ul class="reasons" aria-label="Why this match">
        ${item.reasons.map(
          (r) => html`<li class="${r.score > 0 ? "" : "weak"}" data-reason="${r.component}">${r.text}</li>`,
        )}
      </ul>
      <hours-strip></hours-strip>
      ${item.available && html`<p class="actions"><a class="button primary" href="/mentors/${m.user_id}/request">Ask ${m.name} for mentoring</a></p>`}
    </li>`;
  }
}

export function registerMentorsPage() {
  customElements.define("mentors-page", MentorsPage);
}
