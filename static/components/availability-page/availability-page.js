/**
 * When a person can be booked: a week grid of half hours in their own zone, date
 * overrides (other hours, or a day off), buffers, notice, horizon, slot step and limits.
 * Saves with PUT /api/me/availability.
 */
import { api } from "../../lib/api.js";
import { busy, clearErrors, showErrors } from "../../lib/forms.js";
import { html, render } from "../../lib/html.js";
import { WEEKDAYS } from "../../lib/mentoring.js";
import { formatMinuteOfDay, parseMinuteOfDay } from "../../lib/time.js";

const STYLESHEET = html`<link rel="stylesheet" href="/components/scheduling.css" />`;
const CELLS = 48;
const STEPS = [5, 10, 15, 20, 30, 45, 60, 90, 120];

/** Weekly windows → seven sets of half-hour cells wholly inside them. */
function toCells(weekly) {
  const days = Array.from({ length: 7 }, () => new Set());
  for (const { weekday, start, end } of weekly) {
    for (let i = 0; i < CELLS; i += 1) {
      if (parseMinuteOfDay(start) <= i * 30 && i * 30 + 30 <= parseMinuteOfDay(end)) days[weekday].add(i);
    }
  }
  return days;
}

/** Seven sets of cells → runs of consecutive cells as weekly windows. */
function toWindows(days) {
  const weekly = [];
  days.forEach((cells, weekday) => {
    let start = null;
    for (let i = 0; i <= CELLS; i += 1) {
      const on = i < CELLS && cells.has(i);
      if (on && start === null) start = i;
      if (!on && start !== null) {
        weekly.push({ weekday, start: formatMinuteOfDay(start * 30), end: formatMinuteOfDay(i * 30) });
        start = null;
      }
    }
  });
  return weekly;
}

/** "09:00-12:00, 14:00-17:30" → windows; throws with a message a person can act on. */
function parseWindows(text) {
  const parts = text.split(",").map((p) => p.trim()).filter(Boolean);
  return parts.map((part) => {
    const found = /^(\d{2}:\d{2})\s*[-–]\s*(\d{2}:\d{2})$/.exec(part);
    if (!found) throw new Error(`"${part}" is not a time range like 09:00-12:00`);
    return { start: found[1], end: found[2] };
  });
}

class AvailabilityPage extends HTMLElement {
  #abort = null;
  #cells = [];
  #painting = null;

  connectedCallback() {
    this.#abort = new AbortController();
    render(
      this,
      html`${STYLESHEET}<section class="page" aria-labelledby="availability-title" aria-busy="true">
        <h1 id="availability-title">Availability</h1>
        <p class="muted loading">Loading your availability…</p>
      </section>`,
    );
    this.#load();
  }

  disconnectedCallback() {
    this.#abort?.abort();
  }

  async #load() {
    let data;
    try {
      data = await api.get("/api/me/availability");
    } catch (error) {
      if (!this.isConnected) return;
      render(
        this.querySelector("section"),
        html`<h1 id="availability-title">Availability</h1>
          <p class="form-alert" role="alert">${error.detail}</p>`,
      );
      return;
    }
    if (this.isConnected) this.#show(data);
  }

  #show(data) {
    const { signal } = this.#abort;
    this.#cells = toCells(data.weekly);
    const section = this.querySelector("section");
    section.removeAttribute("aria-busy");
    const source = {
      saved: "",
      profile: "These are your profile's working hours; save to make them your availability.",
      default: "Nothing set yet: Monday to Friday, 09:00–17:00 is assumed until you save.",
    }[data.source];
    const limit = (v) => (v === null || v === undefined ? "" : String(v));
    render(
      section,
      html`<h1 id="availability-title">Availability</h1>
        <p class="lead">When mentees may book you. Every time here is in
          <strong data-zone>${data.timezone}</strong>, your account's zone; mentees see
          it in theirs.</p>
        ${source ? html`<p class="notice" data-source>${source}</p>` : ""}
        <form class="stack" novalidate>
          <div class="card stack">
            <h2>Weekly hours</h2>
            <p class="hint">Click or drag across half hours to switch them on or off.</p>
            <div class="grid-scroll">
              <table class="week-grid" aria-label="Weekly hours in ${data.timezone}">
                <thead><tr><th scope="col"><span class="visually-hidden">Time</span></th>
                  ${WEEKDAYS.map((d) => html`<th scope="col">${d.slice(0, 3)}</th>`)}</tr></thead>
                <tbody>
                  ${Array.from({ length: CELLS }, (_, i) => html`<tr>
                    <th scope="row">${i % 2 === 0 ? formatMinuteOfDay(i * 30) : html`<span class="visually-hidden">${formatMinuteOfDay(i * 30)}</span>`}</th>
                    ${WEEKDAYS.map(
                      (day, d) => html`<td><button type="button" class="cell"
                        data-day="${d}" data-cell="${i}"
                        aria-pressed="${this.#cells[d].has(i) ? "true" : "false"}"
                        aria-label="${day} ${formatMinuteOfDay(i * 30)}–${formatMinuteOfDay(i * 30 + 30)}"></button></td>`,
                    )}
                  </tr>`)}
                </tbody>
              </table>
            </div>
            <p class="hint" data-summary aria-live="polite"></p>
            <p class="field-error" data-error-for="weekly"></p>
          </div>

          <div class="card stack">
            <h2>Dates that differ</h2>
            <p class="hint">Give other hours for a date (like 10:00-12:00, 14:00-16:00) or
              leave the hours empty for a day off.</p>
            <div class="stack" data-overrides>
              ${data.overrides.map((o) => this.#overrideRow(o))}
            </div>
            <div class="actions"><button type="button" data-add-override>Add a date</button></div>
            <p class="field-error" data-error-for="overrides"></p>
          </div>

          <div class="card stack">
            <h2>Booking rules</h2>
            <div class="settings-row">
              ${this.#number("buffer_before_minutes", "Buffer before (minutes)", data.buffer_before_minutes, 0, 240)}
              ${this.#number("buffer_after_minutes", "Buffer after (minutes)", data.buffer_after_minutes, 0, 240)}
              ${this.#number("notice_minutes", "Minimum notice (minutes)", data.notice_minutes, 0, 43200)}
            </div>
            <div class="settings-row">
              ${this.#number("horizon_days", "Bookable up to (days ahead)", data.horizon_days, 1, 365)}
              <div class="field">
                <label for="availability-step">Slots start every</label>
                <select id="availability-step" name="slot_step_minutes">
                  ${STEPS.map(
                    (s) => html`<option value="${s}" ${s === data.slot_step_minutes ? html`selected` : ""}>
                      ${s} minutes</option>`,
                  )}
                </select>
                <p class="field-error" data-error-for="slot_step_minutes"></p>
              </div>
            </div>
            <div class="settings-row">
              ${this.#number("max_per_day", "At most sessions a day (empty: no limit)", limit(data.max_per_day), 1, 24)}
              ${this.#number("max_per_week", "At most sessions a week (empty: no limit)", limit(data.max_per_week), 1, 100)}
            </div>
          </div>
          <p class="form-alert" role="alert"></p>
          <p class="notice" role="status" data-saved></p>
          <div class="actions"><button type="submit" class="primary">Save availability</button></div>
        </form>`,
    );
    this.#summarize();
    const form = section.querySelector("form");
    const grid = section.querySelector(".week-grid");
    grid.addEventListener("pointerdown", (event) => this.#startPaint(event), { signal });
    grid.addEventListener("pointerover", (event) => this.#paint(event), { signal });
    grid.addEventListener("click", (event) => this.#clickCell(event), { signal });
    document.addEventListener("pointerup", () => {
      this.#painting = null;
    }, { signal });
    section.querySelector("[data-add-override]").addEventListener(
      "click",
      () => {
        const holder = section.querySelector("[data-overrides]");
        holder.insertAdjacentHTML("beforeend", String(this.#overrideRow({ date: "", windows: [] })));
        holder.lastElementChild.querySelector("input")?.focus();
      },
      { signal },
    );
    section.querySelector("[data-overrides]").addEventListener(
      "click",
      (event) => {
        const remove = event.target.closest("[data-remove-override]");
        if (remove) remove.closest(".override-row").remove();
      },
      { signal },
    );
    form.addEventListener("submit", (event) => this.#save(event), { signal });
  }

  #number(name, label, value, min, max) {
    const id = `availability-${name.replaceAll("_", "-")}`;
    return html`<div class="field">
      <label for="${id}">${label}</label>
      <input id="${id}" name="${name}" type="number" inputmode="numeric" min="${min}" max="${max}"
        value="${value}" />
      <p class="field-error" data-error-for="${name}"></p>
    </div>`;
  }

  #overrideRow(override) {
    const text = override.windows.map((w) => `${w.start}-${w.end}`).join(", ");
    const key = Math.random().toString(36).slice(2, 8);
    return html`<div class="override-row">
      <div class="field">
        <label for="override-date-${key}">Date</label>
        <input id="override-date-${key}" type="date" data-override-date value="${override.date}" />
      </div>
      <div class="field">
        <label for="override-hours-${key}">Hours that day (empty: day off)</label>
        <input id="override-hours-${key}" data-override-hours value="${text}"
          placeholder="10:00-12:00, 14:00-16:00" />
      </div>
      <button type="button" data-remove-override>Remove</button>
    </div>`;
  }

  #cellOf(event) {
    const cell = event.target.closest?.(".cell");
    if (!cell) return null;
    return { cell, day: Number(cell.dataset.day), index: Number(cell.dataset.cell) };
  }

  #set(cell, day, index, on) {
    if (on) this.#cells[day].add(index);
    else this.#cells[day].delete(index);
    cell.setAttribute("aria-pressed", on ? "true" : "false");
  }

  #startPaint(event) {
    const found = this.#cellOf(event);
    if (!found || event.pointerType === "") return;
    this.#painting = !this.#cells[found.day].has(found.index);
    this.#set(found.cell, found.day, found.index, this.#painting);
    found.cell.dataset.painted = "1";
    this.#summarize();
  }

  #paint(event) {
    if (this.#painting === null) return;
    const found = this.#cellOf(event);
    if (!found) return;
    this.#set(found.cell, found.day, found.index, this.#painting);
    this.#summarize();
  }

  #clickCell(event) {
    const found = this.#cellOf(event);
    if (!found) return;
    if (found.cell.dataset.painted) {
      delete found.cell.dataset.painted; // already toggled by the pointer
      return;
    }
    this.#set(found.cell, found.day, found.index, !this.#cells[found.day].has(found.index));
    this.#summarize();
  }

  #summarize() {
    const weekly = toWindows(this.#cells);
    const hours = weekly.reduce((sum, w) => sum + parseMinuteOfDay(w.end) - parseMinuteOfDay(w.start), 0) / 60;
    const text = weekly.length
      ? WEEKDAYS.map((day, d) => {
          const spans = weekly.filter((w) => w.weekday === d).map((w) => `${w.start}–${w.end}`);
          return spans.length ? `${day.slice(0, 3)} ${spans.join(", ")}` : null;
        })
          .filter(Boolean)
          .join(" · ")
      : "No weekly hours: nobody can book you except on dates you add below.";
    const summary = this.querySelector("[data-summary]");
    if (summary) summary.textContent = `${hours} hours a week. ${text}`;
  }

  async #save(event) {
    event.preventDefault();
    const form = event.target;
    clearErrors(form);
    form.querySelector("[data-saved]").textContent = "";
    const overrides = [];
    try {
      for (const row of form.querySelectorAll(".override-row")) {
        const date = row.querySelector("[data-override-date]").value;
        if (!date) continue;
        overrides.push({ date, windows: parseWindows(row.querySelector("[data-override-hours]").value) });
      }
    } catch (error) {
      form.querySelector("[data-error-for=overrides]").textContent = error.message;
      return;
    }
    const number = (name) => {
      const raw = form.elements.namedItem(name).value.trim();
      return raw === "" ? null : Number(raw);
    };
    const body = {
      weekly: toWindows(this.#cells),
      overrides,
      buffer_before_minutes: number("buffer_before_minutes") ?? 0,
      buffer_after_minutes: number("buffer_after_minutes") ?? 0,
      notice_minutes: number("notice_minutes") ?? 0,
      horizon_days: number("horizon_days") ?? 60,
      slot_step_minutes: Number(form.elements.namedItem("slot_step_minutes").value),
      max_per_day: number("max_per_day"),
      max_per_week: number("max_per_week"),
    };
    const done = busy(form, "Saving…");
    try {
      await api.put("/api/me/availability", body);
      form.querySelector("[data-saved]").textContent = "Saved. Mentees now see these hours.";
      this.querySelector("[data-source]")?.remove();
    } catch (error) {
      showErrors(form, error);
    } finally {
      done();
    }
  }
}

export function registerAvailabilityPage() {
  if (!customElements.get("availability-page")) {
    customElements.define("availability-page", AvailabilityPage);
  }
}
