/**
 * Every occurrence of a series before it is booked (an answer of POST
 * /api/bookings/preview): the date and both people's times, what stands in the way of
 * an occurrence, the dates the rule skips, and a notice where daylight saving moves
 * the viewer's time while the host's stays put.
 *
 *   preview.data = { preview, zone, other: { name, timezone }, host: { name, timezone } };
 */
import { html, render } from "../../lib/html.js";
import { useStylesheet } from "../../lib/styles.js";
import { formatDate, formatDay, formatMonth, formatTime, formatWallTime, zoneLabel } from "../../lib/time.js";

const PROBLEMS = { busy: "already taken", unavailable: "outside the hours", limit: "limit reached" };
const SKIPPED = { "no-date": "that month has no such day" };

class SeriesPreview extends HTMLElement {
  #data = null;

  set data(value) {
    this.#data = value;
    if (this.isConnected) this.#render();
  }

  connectedCallback() {
    useStylesheet("/components/series-preview/series-preview.css");
    this.#render();
  }

  #render() {
    if (!this.#data) {
      render(this, "");
      return;
    }
    const { preview, zone, other } = this.#data;
    render(
      this,
      html`${preview.shifts.length ? this.#shifts() : ""}
        <h3>${preview.items.length} sessions</h3>
        <ul class="occurrences">
          ${preview.items.map(
            (i) => html`<li data-occurrence="${i.index}">
              ${formatDate(i.start, zone)}, <strong>${formatTime(i.start, zone)}</strong> your time ·
              ${formatTime(i.start, other.timezone)} theirs
              ${i.problem ? html`<span class="problem">— ${PROBLEMS[i.problem] ?? i.problem}</span>` : ""}
            </li>`,
          )}
          ${preview.skipped.map(
            (s) =>
              html`<li class="problem" data-skipped="${s.reason}">
                ${s.reason === "no-date" ? formatMonth(s.date) : formatDay(s.date)}: no session
                (${SKIPPED[s.reason] ?? "that time does not exist that day"})
              </li>`,
          )}
        </ul>`,
    );
  }

  #shifts() {
    const { preview, zone, host } = this.#data;
    const why = (cause) =>
      cause === "guest" ? "(your clocks change)" : cause === "host" ? `(clocks change in ${zoneLabel(host.timezone)})` : "";
    return html`<div class="dst-notice" data-dst-notice role="note">
      <strong>Daylight saving moves your time.</strong>
      ${preview.shifts.map(
        (s) => html`<p>From ${formatDate(s.start, zone)} the session is at
          ${formatWallTime(s.local)} instead of ${formatWallTime(s.previous_local)} your time
          ${why(s.cause)}.
          ${host.name}'s time stays the same.</p>`,
      )}
    </div>`;
  }
}

export function registerSeriesPreview() {
  if (!customElements.get("series-preview")) customElements.define("series-preview", SeriesPreview);
}
