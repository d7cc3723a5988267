/**
 * A 24-hour strip of one day in the viewer's zone: the viewer's working hours, the
 * other person's, and where they overlap, side by side. Set `.data = { strip, theirName }`
 * where `strip` is the `strip` of a GET /api/mentors item.
 */
import { html, render } from "../../lib/html.js";
import { formatDay, formatMinuteOfDay } from "../../lib/time.js";

const CELLS = 96;

function cells(ranges) {
  const on = new Array(CELLS).fill(false);
  for (const [start, end] of ranges) {
    for (let i = 0; i < CELLS; i += 1) {
      const middle = i * 15 + 7.5;
      if (middle >= start && middle < end) on[i] = true;
    }
  }
  return on;
}

export function describe(strip) {
  const when = formatDay(strip.day);
  if (!strip.both.length) return `No shared working hours on ${when} (your time).`;
  const spans = strip.both.map(([s, e]) => `${formatMinuteOfDay(s)}–${formatMinuteOfDay(e)}`).join(", ");
  return `Shared on ${when}: ${spans} (your time).`;
}

class HoursStrip extends HTMLElement {
  #data = null;

  set data(value) {
    this.#data = value;
    if (this.isConnected) this.#render();
  }

  connectedCallback() {
    this.#render();
  }

  #render() {
    if (!this.#data) return;
    const { strip, theirName } = this.#data;
    const rows = [
      ["mine", "You", strip.mine],
      ["theirs", theirName, strip.theirs],
      ["both", "Both", strip.both],
    ];
    render(
      this,
      html`<figure class="strip">
        <figcaption class="hint" data-strip-summary>${describe(strip)}</figcaption>
        <div class="strip-ticks" aria-hidden="true">
          <span></span>${[0, 6, 12, 18].map((h) => html`<span>${formatMinuteOfDay(h * 60)}</span>`)}
        </div>
        ${rows.map(
          ([kind, label, ranges]) =>
            html`<div class="strip-row ${kind}" role="img"
              aria-label="${label}: ${ranges.map(([s, e]) => `${formatMinuteOfDay(s)}–${formatMinuteOfDay(e)}`).join(", ") || "none"}">
              <span class="strip-label">${label}</span>
              ${cells(ranges).map(
                (on, i) => html`<span class="strip-cell${i % 4 === 0 ? " hour" : ""}${on ? " on" : ""}"></span>`,
              )}
            </div>`,
        )}
      </figure>`,
    );
  }
}

export function registerHoursStrip() {
  customElements.define("hours-strip", HoursStrip);
}
