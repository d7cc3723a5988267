/**
 * Free times to choose from: each slot in the viewer's own time with the other person's
 * time beside it, shaded with a word when it falls outside someone's working hours,
 * the chosen one pressed. It only shows and reports; the page decides what a choice
 * means (book it, move a session to it), so booking and rescheduling share it.
 *
 *   picker.data = { slots, zone, other: { name, timezone }, hostComfort: true,
 *                   byDay: true, empty: "No free times this week." };
 *   picker.selected = "2026-11-30T14:00:00Z";
 *   picker.addEventListener("slot-chosen", (e) => e.detail.slot);
 *
 * `slots` are items of GET /api/mentors/{id}/slots (start, comfort.viewer, comfort.host);
 * `hostComfort` also marks times outside the host's hours (the mentee sees the
 * mentor's); `byDay` groups them under a heading per day of the viewer's calendar.
 */
import { html, render } from "../../lib/html.js";
import { useStylesheet } from "../../lib/styles.js";
import { calendarDate, formatDay, formatTime, zoneLabel } from "../../lib/time.js";

class SlotPicker extends HTMLElement {
  #abort = null;
  #data = null;
  #selected = null;

  set data(value) {
    this.#data = value;
    if (this.isConnected) this.#render();
  }

  get selected() {
    return this.#selected;
  }

  set selected(start) {
    this.#selected = start ?? null;
    for (const button of this.querySelectorAll("[data-start]")) {
      button.setAttribute("aria-pressed", String(button.dataset.start === this.#selected));
    }
  }

  connectedCallback() {
    useStylesheet("/components/slot-picker/slot-picker.css");
    this.#abort = new AbortController();
    this.addEventListener("click", (event) => this.#onClick(event), { signal: this.#abort.signal });
    this.#render();
  }

  disconnectedCallback() {
    this.#abort?.abort();
  }

  #onClick(event) {
    const button = event.target.closest("[data-start]");
    if (!button || !this.#data) return;
    const slot = this.#data.slots.find((s) => s.start === button.dataset.start);
    if (!slot) return;
    this.selected = slot.start;
    this.dispatchEvent(new CustomEvent("slot-chosen", { bubbles: true, detail: { slot } }));
  }

  #render() {
    const data = this.#data;
    if (!data) return;
    if (!data.slots.length) {
      render(this, data.empty ? html`<p class="muted">${data.empty}</p>` : "");
      return;
    }
    if (!data.byDay) {
      render(this, this.#list(data.slots));
      return;
    }
    const days = new Map();
    for (const slot of data.slots) {
      const day = calendarDate(slot.start, data.zone);
      if (!days.has(day)) days.set(day, []);
      days.get(day).push(slot);
    }
    render(
      this,
      html`<div class="slot-days">
        ${[...days].map(
          ([day, slots]) => html`<section class="slot-day" aria-label="${formatDay(day)}">
            <h3>${formatDay(day)}</h3>
            ${this.#list(slots)}
          </section>`,
        )}
      </div>`,
    );
  }

  #list(slots) {
    return html`<ul class="slot-list">${slots.map((s) => html`<li>${this.#button(s)}</li>`)}</ul>`;
  }

  #button(slot) {
    const { zone, other, hostComfort } = this.#data;
    const { viewer, host } = slot.comfort;
    const marks = [];
    if (viewer !== "inside") marks.push(`${viewer} for you`);
    if (hostComfort && host !== "inside") marks.push(`${host} for ${other.name}`);
    const outside = viewer !== "inside" || host !== "inside";
    const pressed = this.#selected === slot.start;
    return html`<button type="button" class="slot ${outside ? "outside" : ""}"
        data-start="${slot.start}" aria-pressed="${pressed ? "true" : "false"}">
      <span class="mine">${formatTime(slot.start, zone)}</span>
      <span class="theirs">${formatTime(slot.start, other.timezone)} in ${zoneLabel(other.timezone)}</span>
      ${marks.length ? html`<span class="mark">${marks.join(", ")}</span>` : ""}
    </button>`;
  }
}

export function registerSlotPicker() {
  if (!customElements.get("slot-picker")) customElements.define("slot-picker", SlotPicker);
}
