/**
 * The person's sessions, in their own zone with the other person's time beside each:
 * move or cancel one occurrence, this and the following ones, or all upcoming ones.
 */
import { api } from "../../lib/api.js";
import { busy, showErrors } from "../../lib/forms.js";
import { html, render } from "../../lib/html.js";
import { session } from "../../lib/session.js";
import { calendarDate, formatRange, formatTime, formatWallTime, now, wallTime, zoneLabel, zonedToInstant } from "../../lib/time.js";

const STYLESHEET = html`<link rel="stylesheet" href="/components/scheduling.css" />`;

class SessionsPage extends HTMLElement {
  #abort = null;
  #me = null;
  #bookings = [];
  #message = "";

  connectedCallback() {
    this.#abort = new AbortController();
    if (this.query?.get("booked")) this.#message = "Booked. Both of you have been notified.";
    render(
      this,
      html`${STYLESHEET}<section class="page" aria-labelledby="sessions-title" aria-busy="true">
        <h1 id="sessions-title">Sessions</h1>
        <p class="muted loading">Loading your sessions…</p>
      </section>`,
    );
    this.addEventListener("submit", (event) => this.#act(event), { signal: this.#abort.signal });
    this.#load();
  }

  disconnectedCallback() {
    this.#abort?.abort();
  }

  async #load() {
    let mentorships;
    try {
      this.#me = await session.load();
      const [bookings, active] = await Promise.all([
        api.get("/api/bookings"),
        api.get("/api/mentorships?state=active"),
      ]);
      this.#bookings = bookings.items;
      mentorships = active.items;
    } catch (error) {
      if (!this.isConnected) return;
      render(
        this.querySelector("section"),
        html`<h1 id="sessions-title">Sessions</h1>
          <p class="form-alert" role="alert">${error.detail ?? "Your sessions could not be loaded."}</p>`,
      );
      return;
    }
    if (this.isConnected) this.#show(mentorships);
  }

  #show(mentorships) {
    const section = this.querySelector("section");
    section.removeAttribute("aria-busy");
    const at = now().getTime();
    const upcoming = this.#bookings.filter((b) => new Date(b.end).getTime() > at);
    const past = this.#bookings.filter((b) => new Date(b.end).getTime() <= at).reverse();
    render(
      section,
      html`<h1 id="sessions-title">Sessions</h1>
        <p class="lead">Times are in <strong>${this.#me.timezone}</strong>, your zone.</p>
        <p class="notice" role="status" data-status>${this.#message}</p>
        ${mentorships.length
          ? html`<ul class="tiles" data-book-links>
              ${mentorships.map((m) => {
                const other = m.my_role === "mentor" ? m.mentee : m.mentor;
                return html`<li><a class="button" href="/mentorships/${m.id}/book">Book a session with ${other.name}</a></li>`;
              })}
            </ul>`
          : ""}
        <p><a href="/availability">Set when you can be booked</a></p>
        <h2>Upcoming</h2>
        ${upcoming.length
          ? html`<ul class="session-list" data-upcoming>${upcoming.map((b) => this.#item(b, true))}</ul>`
          : html`<p class="muted" data-empty>No sessions booked.</p>`}
        ${past.length
          ? html`<h2>Earlier</h2>
              <ul class="session-list">${past.map((b) => this.#item(b, false))}</ul>`
          : ""}`,
    );
  }

  #item(b, changeable) {
    const mine = b.mentor.id === this.#me.id;
    const other = mine ? b.mentee : b.mentor;
    const zone = this.#me.timezone;
    const series = b.series_id !== null;
    const shift = b.shift && !mine ? b.shift : null;
    return html`<li class="card session" data-booking="${b.id}">
      <span class="when" data-when>${formatRange(b.start, b.end, zone)}</span>
      <span>with ${other.name} · <span data-theirs>${formatTime(b.start, other.timezone)}</span> in ${zoneLabel(other.timezone)}
        ${series ? html` · part of a series` : ""}</span>
      <a class="button" href="/sessions/${b.id}/call" data-join>Open the live session</a>
      ${shift
        ? html`<p class="dst-notice" data-dst-notice>Daylight saving: from this session on it starts at
            ${formatWallTime(shift.local)} instead of ${formatWallTime(shift.previous_local)} your time; ${other.name}'s time stays the same.</p>`
        : ""}
      ${changeable
        ? html`<details>
            <summary>Move or cancel</summary>
            <form class="stack" data-action="reschedule" novalidate>
              <div class="settings-row">
                <div class="field">
                  <label for="move-date-${b.id}">New date</label>
                  <input id="move-date-${b.id}" name="date" type="date" value="${calendarDate(b.start, zone)}" required />
                </div>
                <div class="field">
                  <label for="move-time-${b.id}">New time (your time)</label>
                  <input id="move-time-${b.id}" name="time" type="time" step="300" value="${wallTime(b.start, zone)}" required />
                  <p class="field-error" data-error-for="start"></p>
                </div>
                ${series ? this.#scope(`move-scope-${b.id}`) : ""}
              </div>
              <p class="form-alert" role="alert"></p>
              <div class="actions"><button type="submit">Move</button></div>
            </form>
            <form class="stack" data-action="cancel" novalidate>
              <div class="settings-row">
                <div class="field">
                  <label for="cancel-reason-${b.id}">Reason (optional)</label>
                  <input id="cancel-reason-${b.id}" name="reason" maxlength="1000" />
                </div>
                ${series ? this.#scope(`cancel-scope-${b.id}`) : ""}
              </div>
              <p class="form-alert" role="alert"></p>
              <div class="actions"><button type="submit" class="danger">Cancel session</button></div>
            </form>
          </details>`
        : ""}
    </li>`;
  }

  #scope(id) {
    return html`<div class="field">
      <label for="${id}">Which sessions</label>
      <select id="${id}" name="scope">
        <option value="this">Only this one</option>
        <option value="following">This and the following ones</option>
        <option value="all">All upcoming in the series</option>
      </select>
    </div>`;
  }

  async #act(event) {
    const form = event.target.closest("form[data-action]");
    if (!form) return;
    event.preventDefault();
    const id = form.closest("[data-booking]").dataset.booking;
    const scope = form.elements.namedItem("scope")?.value ?? "this";
    const done = busy(form, form.dataset.action === "cancel" ? "Cancelling…" : "Moving…");
    try {
      if (form.dataset.action === "cancel") {
        const reason = form.elements.namedItem("reason").value;
        const result = await api.post(`/api/bookings/${id}/cancel`, { reason, scope });
        this.#message = `Cancelled ${sessions(result.items.length)}.`;
      } else {
        const date = form.elements.namedItem("date").value;
        const time = form.elements.namedItem("time").value;
        const start = zonedToInstant(date, time, this.#me.timezone).toISOString();
        const result = await api.post(`/api/bookings/${id}/reschedule`, { start, scope });
        this.#message = `Moved ${sessions(result.items.length)}.`;
      }
    } catch (error) {
      done();
      showErrors(form, error);
      return;
    }
    done();
    await this.#load();
  }
}

export function registerSessionsPage() {
  if (!customElements.get("sessions-page")) customElements.define("sessions-page", SessionsPage);
}

/** "1 session", "2 sessions". */
function sessions(count) {
  return `${count} ${count === 1 ? "session" : "sessions"}`;
}
