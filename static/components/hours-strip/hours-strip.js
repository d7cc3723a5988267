/**
 * A 24-hour strip of one day in the viewer's zone: the viewer's working hours, the
 * other person's, and where they overlap, side by side. Set `.data = { strip, theirName }`
 * where `strip` is the `strip` of a GET /api/mentors item.
 */
import { html, render } from "../../lib/html.js";

const CELLS = 96;
const pad = (n) => String(n).padStart(2, "0");
const clock = (minutes) => `${pad(Math.floor(minutes / 60))}:${pad(minutes % 60)}`;

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

function dayName(day) {
  return new Intl.DateTimeFormat(undefined, {
    weekday: "long",
    day: "numeric",
    month: "long",
    timeZone: "UTC",
  }).format(new Date(`${day}T12:00:00Z`));
}

export function describe(strip) {
  const when = dayName(strip.day);
  if (!strip.both.length) return `No shared working hours on ${when} (your time).`;
  const spans = strip.both.map(([s, e]) => `${clock(s)}–${clock(e)}`).join(", ");
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
          <span></span><span>00:00</span><span>06:00</span><span>12:00</span><span>18:00</span>
        </div>
        ${rows.map(
          ([kind, label, ranges]) =>
            html`<div class="strip-row ${kind}" role="img"
              aria-label="${label}: ${ranges.map(([s, e]) => `${clock(s)}–${clock(e)}`).join(", ") || "none"}">
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
