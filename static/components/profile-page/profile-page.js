/**
 * The profile editor: roles, what you offer or look for, how you like to work, your
 * weekly working hours in your own time zone, and how many mentees you can take.
 */
import { api } from "../../lib/api.js";
import { findableBanner } from "../../lib/findable.js";
import { busy, clearErrors, showErrors } from "../../lib/forms.js";
import { html, render } from "../../lib/html.js";
import { WEEKDAYS, splitList, stylesheet } from "../../lib/mentoring.js";
import { session } from "../../lib/session.js";
import { loadTimezones, timezoneOptions } from "../../lib/timezones.js";

function hoursRow(h = { weekday: 0, start: "09:00", end: "17:00" }) {
  const end = h.end === "24:00" ? "00:00" : h.end;
  return html`<div class="hours-row" data-hours-row>
    <select name="hours-weekday" aria-label="Day">
      ${WEEKDAYS.map(
        (day, i) => html`<option value="${i}" ${i === Number(h.weekday) && html`selected`}>${day}</option>`,
      )}
    </select>
    <input type="time" name="hours-start" aria-label="From" value="${h.start}" required />
    <input type="time" name="hours-end" aria-label="Until" value="${end}" required />
    <button type="button" data-remove-hours>Remove</button>
  </div>`;
}

class ProfilePage extends HTMLElement {
  #abort = null;

  connectedCallback() {
    this.#abort = new AbortController();
    render(
      this,
      html`${stylesheet()}<section class="page" aria-labelledby="profile-title" aria-busy="true">
        <h1 id="profile-title">Your profile</h1>
        <p class="muted loading">Loading your profile…</p>
      </section>`,
    );
    this.#load();
  }

  disconnectedCallback() {
    this.#abort?.abort();
  }

  async #load() {
    let profile;
    let zones;
    try {
      [profile, zones] = await Promise.all([api.get("/api/me/profile"), loadTimezones()]);
    } catch (error) {
      if (this.isConnected) {
        render(
          this.querySelector("section"),
          html`<h1 id="profile-title">Your profile</h1>
            <p class="form-alert" role="alert">${error.detail ?? "Your profile could not be loaded."}</p>`,
        );
      }
      return;
    }
    if (this.isConnected) this.#show(profile, zones);
  }

  #show(p, zones) {
    const { signal } = this.#abort;
    const section = this.querySelector("section");
    section.removeAttribute("aria-busy");
    const has = (role) => p.roles.includes(role);
    render(
      section,
      html`<h1 id="profile-title">Your profile</h1>
        <p><a href="/people/${p.user_id}">See your public profile</a></p>
        <div data-findable>${findableBanner(p)}</div>
        <form class="card stack" novalidate>
          <fieldset>
            <legend>I am here as</legend>
            <label class="check"><input type="checkbox" name="role-mentee" ${has("mentee") && html`checked`} /> a mentee, looking for a mentor</label>
            <label class="check"><input type="checkbox" name="role-mentor" ${has("mentor") && html`checked`} /> a mentor</label>
          </fieldset>
          <div class="field">
            <label for="profile-headline">Headline</label>
            <input id="profile-headline" name="headline" maxlength="200" value="${p.headline}"
              placeholder="Backend engineer learning to lead a team" />
            <p class="field-error" data-error-for="headline"></p>
          </div>
          <div class="field">
            <label for="profile-bio">About you</label>
            <textarea id="profile-bio" name="bio" maxlength="4000">${p.bio}</textarea>
          </div>
          <div class="grid-2">
            <div class="field">
              <label for="profile-timezone">Time zone</label>
              <select id="profile-timezone" name="timezone">${timezoneOptions(zones.includes(p.timezone) ? zones : [p.timezone, ...zones], p.timezone)}</select>
              <p class="field-error" data-error-for="timezone"></p>
            </div>
            <div class="field">
              <label for="profile-languages">Languages (e.g. en, pt-BR)</label>
              <input id="profile-languages" name="languages" value="${p.languages.join(", ")}" />
              <p class="field-error" data-error-for="languages"></p>
            </div>
          </div>
          <div class="field">
            <label for="profile-topics">Topics (comma separated: your expertise or interests)</label>
            <input id="profile-topics" name="topics" value="${p.topics.join(", ")}" />
          </div>
          <div class="field">
            <label for="profile-values">Values that matter to you (comma separated)</label>
            <input id="profile-values" name="values" value="${p.values.join(", ")}" />
          </div>
          <div class="field">
            <label for="profile-goals">Your goals as a mentee (one per line)</label>
            <textarea id="profile-goals" name="goals">${p.goals.join("\n")}</textarea>
          </div>
          <div class="grid-2">
            <div class="field">
              <label for="profile-style">Communication style</label>
              <select id="profile-style" name="style">
                ${[["live", "Live conversations"], ["async", "Asynchronous messages"], ["mixed", "A mix of both"]].map(
                  ([v, l]) => html`<option value="${v}" ${p.style === v && html`selected`}>${l}</option>`,
                )}
              </select>
            </div>
            <div class="field">
              <label for="profile-cadence">Meeting cadence</label>
              <select id="profile-cadence" name="cadence">
                ${[["weekly", "Weekly"], ["biweekly", "Every two weeks"], ["monthly", "Monthly"]].map(
                  ([v, l]) => html`<option value="${v}" ${p.cadence === v && html`selected`}>${l}</option>`,
                )}
              </select>
            </div>
            <div class="field">
              <label for="profile-capacity">Mentees I can take at once</label>
              <input id="profile-capacity" name="capacity" type="number" min="0" max="50" value="${p.roles.includes("mentor") ? p.capacity : p.capacity || 3}" />
              <p class="field-error" data-error-for="capacity"></p>
            </div>
          </div>
          <fieldset>
            <legend>Weekly working hours (in your time zone)</legend>
            <p class="hint">Mentees and mentors see these converted to their own time. An end of 00:00 means midnight.</p>
            <div data-hours>${p.working_hours.map((h) => hoursRow(h))}</div>
            <div class="actions">
              <button type="button" data-add-hours>Add hours</button>
              <button type="button" data-weekdays>Weekdays 09:00–17:00</button>
            </div>
            <p class="field-error" data-error-for="working_hours"></p>
          </fieldset>
          <p class="form-alert" role="alert"></p>
          <p class="notice" role="status" data-saved></p>
          <div class="actions"><button type="submit" class="primary">Save profile</button></div>
        </form>`,
    );
    const form = section.querySelector("form");
    const rows = form.querySelector("[data-hours]");
    form.addEventListener("submit", (event) => this.#save(event), { signal });
    form.querySelector("[data-add-hours]").addEventListener(
      "click",
      () => rows.insertAdjacentHTML("beforeend", String(hoursRow())),
      { signal },
    );
    form.querySelector("[data-weekdays]").addEventListener(
      "click",
      () => render(rows, [0, 1, 2, 3, 4].map((weekday) => hoursRow({ weekday, start: "09:00", end: "17:00" }))),
      { signal },
    );
    rows.addEventListener(
      "click",
      (event) => {
        if (event.target.matches("[data-remove-hours]")) event.target.closest("[data-hours-row]").remove();
      },
      { signal },
    );
  }

  async #save(event) {
    event.preventDefault();
    const form = event.target;
    clearErrors(form);
    const status = form.querySelector("[data-saved]");
    const get = (name) => form.elements.namedItem(name);
    const roles = [];
    if (get("role-mentee").checked) roles.push("mentee");
    if (get("role-mentor").checked) roles.push("mentor");
    const working_hours = [...form.querySelectorAll("[data-hours-row]")].map((row) => {
      const start = row.querySelector("[name=hours-start]").value;
      let end = row.querySelector("[name=hours-end]").value;
      if (end === "00:00") end = "24:00";
      return { weekday: Number(row.querySelector("[name=hours-weekday]").value), start, end };
    });
    const body = {
      roles,
      headline: get("headline").value,
      bio: get("bio").value,
      timezone: get("timezone").value,
      languages: splitList(get("languages").value),
      topics: splitList(get("topics").value),
      values: splitList(get("values").value),
      goals: splitList(get("goals").value, "\n"),
      style: get("style").value,
      cadence: get("cadence").value,
      capacity: Number(get("capacity").value || 0),
      working_hours,
    };
    const done = busy(form, "Saving…");
    try {
      const saved = await api.put("/api/me/profile", body);
      done();
      render(form.parentElement.querySelector("[data-findable]"), findableBanner(saved));
      await session.load({ force: true }).catch(() => {});
      status.textContent = "Your profile is saved.";
    } catch (error) {
      done();
      showErrors(form, error);
    }
  }
}

export function registerProfilePage() {
  customElements.define("profile-page", ProfilePage);
}
