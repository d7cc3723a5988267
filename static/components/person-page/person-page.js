/** A person's public profile, with their local time and working hours in their zone. */
import { api } from "../../lib/api.js";
import { html, render } from "../../lib/html.js";
import { WEEKDAYS, stylesheet } from "../../lib/mentoring.js";
import { session } from "../../lib/session.js";
import { formatWeekdayTime, now, zoneName } from "../../lib/time.js";

function chips(items) {
  return items.length ? html`<ul class="chips">${items.map((i) => html`<li>${i}</li>`)}</ul>` : html`<span class="muted">—</span>`;
}

class PersonPage extends HTMLElement {
  params = {};

  connectedCallback() {
    render(this, html`${stylesheet()}<section class="page" aria-busy="true"><p class="muted loading">Loading…</p></section>`);
    this.#load();
  }

  async #load() {
    const section = this.querySelector("section");
    let p;
    try {
      [p] = await Promise.all([api.get(`/api/users/${encodeURIComponent(this.params.id)}`), session.load()]);
    } catch (error) {
      if (this.isConnected) render(section, html`<h1>Profile</h1><p class="form-alert" role="alert">${error.detail}</p>`);
      return;
    }
    if (!this.isConnected) return;
    section.removeAttribute("aria-busy");
    const me = session.user;
    const canAsk = p.roles.includes("mentor") && me && me.id !== p.user_id;
    const roles = p.roles.map((r) => (r === "mentor" ? "Mentor" : "Mentee")).join(" and ") || "Member";
    render(
      section,
      html`<h1>${p.name}</h1>
        <p class="lead">${p.headline}</p>
        <div class="card stack">
          <dl class="facts">
            <div><dt>Here as</dt><dd>${roles}</dd></div>
            <div><dt>Time zone</dt><dd>${zoneName(p.timezone)}</dd></div>
            <div><dt>Local time there</dt><dd>${formatWeekdayTime(now(), p.timezone)}</dd></div>
            <div><dt>Languages</dt><dd>${chips(p.languages)}</dd></div>
            <div><dt>Topics</dt><dd>${chips(p.topics)}</dd></div>
            <div><dt>Values</dt><dd>${chips(p.values)}</dd></div>
            <div><dt>Prefers</dt><dd>${p.style} communication, meeting ${p.cadence}</dd></div>
            ${p.roles.includes("mentor") &&
            html`<div><dt>Places</dt><dd>${Math.max(p.capacity - p.active_mentees, 0)} of ${p.capacity} free</dd></div>`}
            <div><dt>Working hours</dt><dd>
              ${p.working_hours.length
                ? html`<ul class="plain-list">${p.working_hours.map(
                    (h) => html`<li>${WEEKDAYS[h.weekday]} ${h.start}–${h.end}</li>`,
                  )}</ul>`
                : html`<span class="muted">Not given</span>`}
            </dd></div>
          </dl>
          ${p.bio && html`<p>${p.bio}</p>`}
        </div>
        ${canAsk && html`<p class="actions"><a class="button primary" href="/mentors/${p.user_id}/request">Ask ${p.name} for mentoring</a></p>`}`,
    );
  }
}

export function registerPersonPage() {
  customElements.define("person-page", PersonPage);
}
