/**
 * Book a session with a mentor: a week of free slots in the viewer's own zone with the
 * mentor's local time beside each (<slot-picker>), the agreement's cadence proposed as
 * a series, a preview of every occurrence with a notice where daylight saving moves the
 * viewer's time (<series-preview>), then POST /api/bookings. A slot taken meanwhile
 * offers the nearest free ones. `?from=YYYY-MM-DD` opens the week starting that day.
 */
import { api, ApiError } from "../../lib/api.js";
import { html, render } from "../../lib/html.js";
import { navigate } from "../../lib/router.js";
import { session } from "../../lib/session.js";
import { addDays, formatDate, formatDay, formatDuration, formatTime, todayIn, zoneLabel, zonedToInstant } from "../../lib/time.js";

const STYLESHEET = html`<link rel="stylesheet" href="/components/scheduling.css" />`;
const CADENCES = {
  weekly: { frequency: "weekly", interval: 1, words: "every week" },
  biweekly: { frequency: "weekly", interval: 2, words: "every other week" },
  monthly: { frequency: "monthly", interval: 1, words: "every month" },
};

class BookingPage extends HTMLElement {
  #abort = null;
  #me = null;
  #mentorship = null;
  #mentor = null;
  #hours = null;
  #zone = "UTC";
  #firstDay = null;
  #selected = null;
  #previewTimer = null;
  #previewRun = 0;

  connectedCallback() {
    this.#abort = new AbortController();
    render(
      this,
      html`${STYLESHEET}<section class="page" aria-labelledby="booking-title" aria-busy="true">
        <h1 id="booking-title">Book a session</h1>
        <p class="muted loading">Loading free times…</p>
      </section>`,
    );
    this.#load();
  }

  disconnectedCallback() {
    this.#abort?.abort();
    clearTimeout(this.#previewTimer);
  }

  async #load() {
    const id = this.params?.id;
    try {
      this.#me = await session.load();
      this.#mentorship = await api.get(`/api/mentorships/${encodeURIComponent(id)}`);
      this.#mentor = this.#mentorship.mentor;
      this.#hours = await api.get(`/api/mentors/${encodeURIComponent(this.#mentor.id)}/availability`);
    } catch (error) {
      if (!this.isConnected) return;
      render(
        this.querySelector("section"),
        html`<h1 id="booking-title">Book a session</h1>
          <p class="form-alert" role="alert">${error.detail ?? "This page could not be loaded."}</p>
          <p><a href="/sessions">Back to your sessions</a></p>`,
      );
      return;
    }
    if (!this.isConnected) return;
    this.#zone = this.#me.timezone;
    const from = this.query?.get("from");
    this.#firstDay = from && /^\d{4}-\d{2}-\d{2}$/.test(from) ? from : todayIn(this.#zone);
    this.#show();
    await this.#loadSlots();
  }

  get #agreement() {
    return this.#mentorship.agreement_in_force ?? null;
  }

  get #asMentor() {
    return this.#mentorship.my_role === "mentor";
  }

  /** The other person of the mentorship: the mentee for a mentor, else the mentor. */
  get #other() {
    return this.#asMentor ? this.#mentorship.mentee : this.#mentor;
  }

  #show() {
    const { signal } = this.#abort;
    const section = this.querySelector("section");
    section.removeAttribute("aria-busy");
    const agreement = this.#agreement;
    const cadence = agreement ? CADENCES[agreement.cadence] : null;
    const minutes = agreement?.session_minutes ?? 60;
    const lengths = [...new Set([30, 45, 60, 90, minutes])].sort((a, b) => a - b);
    const other = this.#other;
    render(
      section,
      html`<h1 id="booking-title">Book a session with ${other.name}</h1>
        <p class="lead">Times are shown in <strong data-viewer-zone>${this.#zone}</strong>
          (your zone) with ${other.name}'s time in ${other.timezone} beside them.
          Shaded times fall outside someone's working hours.</p>
        <div class="card stack">
          <div class="settings-row">
            <div class="field">
              <label for="booking-length">Session length</label>
              <select id="booking-length" name="duration">
                ${lengths.map(
                  (m) => html`<option value="${m}" ${m === minutes ? html`selected` : ""}>${formatDuration(m)}</option>`,
                )}
              </select>
            </div>
          </div>
          <h2 class="visually-hidden">Free times</h2>
          <div class="week-nav">
            <button type="button" data-week="-1">Earlier</button>
            <strong data-range aria-live="polite"></strong>
            <button type="button" data-week="1">Later</button>
          </div>
          <div data-slots aria-live="polite"></div>
        </div>
        <form class="card stack" data-book hidden novalidate>
          <h2>Your booking</h2>
          <p data-chosen></p>
          <div class="field">
            <label><input type="checkbox" name="repeat" ${cadence ? html`checked` : ""} />
              Repeat ${cadence ? html`as agreed (${cadence.words})` : "as a series"}</label>
          </div>
          <div class="settings-row" data-series>
            <div class="field">
              <label for="booking-frequency">Repeat</label>
              <select id="booking-frequency" name="frequency">
                <option value="weekly" ${cadence?.frequency !== "monthly" ? html`selected` : ""}>Weekly</option>
                <option value="monthly" ${cadence?.frequency === "monthly" ? html`selected` : ""}>Monthly</option>
              </select>
            </div>
            <div class="field">
              <label for="booking-interval">Every (weeks or months)</label>
              <input id="booking-interval" name="interval" type="number" min="1" max="12"
                value="${cadence?.interval ?? 1}" />
              <p class="field-error" data-error-for="recurrence.interval"></p>
            </div>
            <div class="field">
              <label for="booking-count">Number of sessions</label>
              <input id="booking-count" name="count" type="number" min="1" max="200" value="6" />
              <p class="field-error" data-error-for="recurrence.count"></p>
            </div>
          </div>
          <series-preview data-preview aria-live="polite"></series-preview>
          <div class="field" data-skip hidden>
            <label><input type="checkbox" name="skip_conflicts" /> Book the free ones and
              skip the occurrences that cannot be booked</label>
          </div>
          <p class="form-alert" role="alert"></p>
          <div data-nearest></div>
          <div class="actions"><button type="submit" class="primary">Book</button></div>
        </form>`,
    );
    section.querySelector("#booking-length").addEventListener(
      "change",
      () => {
        this.#selected = null;
        this.querySelector("[data-book]").hidden = true;
        this.#loadSlots();
      },
      { signal },
    );
    for (const button of section.querySelectorAll("[data-week]")) {
      button.addEventListener(
        "click",
        () => {
          this.#firstDay = addDays(this.#firstDay, 7 * Number(button.dataset.week));
          this.#loadSlots();
        },
        { signal },
      );
    }
    section.querySelector("[data-slots]").addEventListener("slot-chosen", (e) => this.#choose(e.detail.slot), { signal });
    const form = section.querySelector("[data-book]");
    form.addEventListener("input", () => this.#schedulePreview(), { signal });
    form.addEventListener("change", () => this.#schedulePreview(), { signal });
    form.addEventListener("submit", (event) => this.#book(event), { signal });
    form.querySelector("[data-nearest]").addEventListener(
      "slot-chosen",
      (event) => this.#choose(event.detail.slot, true),
      { signal },
    );
  }

  /** The picker's settings for `slots`: the viewer's zone, the other person beside it. */
  #pickerData(slots, more = {}) {
    return { slots, zone: this.#zone, other: this.#other, hostComfort: !this.#asMentor, ...more };
  }

  get #duration() {
    return Number(this.querySelector("#booking-length").value);
  }

  async #loadSlots() {
    const holder = this.querySelector("[data-slots]");
    const today = todayIn(this.#zone);
    if (this.#firstDay < today) this.#firstDay = today;
    const start = zonedToInstant(this.#firstDay, "00:00", this.#zone);
    const horizon = new Date(this.#hours.horizon_end);
    let end = zonedToInstant(addDays(this.#firstDay, 7), "00:00", this.#zone);
    if (end > horizon) end = horizon;
    const last = addDays(this.#firstDay, 6);
    this.querySelector("[data-range]").textContent = `${formatDay(this.#firstDay)} – ${formatDay(last)}`;
    this.querySelector("[data-week='-1']").disabled = this.#firstDay <= today;
    this.querySelector("[data-week='1']").disabled = end >= horizon;
    if (start >= horizon) {
      render(holder, html`<p class="muted">${this.#mentor.name} cannot be booked this far ahead.</p>`);
      return;
    }
    holder.setAttribute("aria-busy", "true");
    const params = new URLSearchParams({
      start: start.toISOString(),
      end: end.toISOString(),
      duration: String(this.#duration),
      tz: this.#zone,
    });
    let slots;
    try {
      slots = (await api.get(`/api/mentors/${encodeURIComponent(this.#mentor.id)}/slots?${params}`)).items;
    } catch (error) {
      render(holder, html`<p class="form-alert" role="alert">${error.detail}</p>`);
      return;
    } finally {
      holder.removeAttribute("aria-busy");
    }
    render(holder, html`<slot-picker></slot-picker>`);
    const picker = holder.querySelector("slot-picker");
    picker.data = this.#pickerData(slots, { byDay: true, empty: "No free times this week. Try later weeks." });
    picker.selected = this.#selected?.start;
  }

  #choose(slot, fromNearest = false) {
    const { start } = slot;
    this.#selected = slot;
    const picker = this.querySelector("[data-slots] slot-picker");
    if (picker) picker.selected = start;
    const form = this.querySelector("[data-book]");
    form.hidden = false;
    form.querySelector("[role=alert]").textContent = "";
    if (fromNearest) render(form.querySelector("[data-nearest]"), "");
    const other = this.#other;
    render(
      form.querySelector("[data-chosen]"),
      html`<strong>${formatDate(start, this.#zone)}, ${formatTime(start, this.#zone)}</strong> your time ·
        ${formatTime(start, other.timezone)} for ${other.name} in ${zoneLabel(other.timezone)}`,
    );
    this.#schedulePreview(0);
  }

  #body() {
    const form = this.querySelector("[data-book]");
    const body = {
      mentorship_id: this.#mentorship.id,
      start: this.#selected.start,
      duration_minutes: this.#duration,
    };
    const repeat = form.elements.namedItem("repeat").checked;
    this.querySelector("[data-series]").hidden = !repeat;
    if (repeat) {
      body.recurrence = {
        frequency: form.elements.namedItem("frequency").value,
        interval: Number(form.elements.namedItem("interval").value || 1),
        count: Number(form.elements.namedItem("count").value || 1),
      };
    }
    if (form.elements.namedItem("skip_conflicts").checked) body.skip_conflicts = true;
    return body;
  }

  #schedulePreview(delay = 250) {
    if (!this.#selected) return;
    clearTimeout(this.#previewTimer);
    this.#previewTimer = setTimeout(() => this.#preview(), delay);
  }

  async #preview() {
    const run = ++this.#previewRun;
    const holder = this.querySelector("[data-preview]");
    const body = this.#body();
    if (!body.recurrence) {
      holder.data = null;
      this.querySelector("[data-skip]").hidden = true;
      return;
    }
    let preview;
    try {
      preview = await api.post("/api/bookings/preview", { ...body, skip_conflicts: false });
    } catch (error) {
      if (run === this.#previewRun) render(holder, html`<p class="field-error">${error.detail}</p>`);
      return;
    }
    if (run !== this.#previewRun || !this.isConnected) return;
    this.querySelector("[data-skip]").hidden = !preview.items.some((i) => i.problem);
    holder.data = { preview, zone: this.#zone, other: this.#other, host: this.#mentor };
  }

  async #book(event) {
    event.preventDefault();
    const form = event.target;
    if (!this.#selected) return;
    const alert = form.querySelector("[role=alert]");
    alert.textContent = "";
    for (const slot of form.querySelectorAll("[data-error-for]")) slot.textContent = "";
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    button.textContent = "Booking…";
    try {
      await api.post("/api/bookings", this.#body());
      navigate("/sessions?booked=1");
      return;
    } catch (error) {
      alert.textContent = error.detail ?? "The booking failed.";
      if (error instanceof ApiError) {
        for (const { field, message } of error.errors) {
          const slot = form.querySelector(`[data-error-for="${CSS.escape(field)}"]`);
          if (slot) slot.textContent = message;
        }
        const nearest = error.problem?.nearest ?? [];
        if (nearest.length) {
          const holder = form.querySelector("[data-nearest]");
          render(holder, html`<p>Nearest free times:</p><slot-picker></slot-picker>`);
          holder.querySelector("slot-picker").data = this.#pickerData(nearest);
        }
        if (error.status === 409) this.#loadSlots();
      }
    } finally {
      button.disabled = false;
      button.textContent = "Book";
    }
  }
}

export function registerBookingPage() {
  if (!customElements.get("booking-page")) customElements.define("booking-page", BookingPage);
}
