/**
 * One mentorship: its state and the moves each side may make, the request, the
 * agreement with who confirmed which version, the goals, and the action items.
 */
import { api } from "../../lib/api.js";
import { busy, clearErrors, showErrors } from "../../lib/forms.js";
import { html, render } from "../../lib/html.js";
import {
  ACTION_WORDS,
  agreementFacts,
  agreementFields,
  readAgreement,
  stateBadge,
  stylesheet,
} from "../../lib/mentoring.js";
import { onNotice } from "../../lib/notices.js";
import { session } from "../../lib/session.js";
import { formatDateTime } from "../../lib/time.js";

const WORKING = new Set(["active", "paused"]);
const OPEN = new Set(["requested", "active", "paused"]);

class MentorshipPage extends HTMLElement {
  params = {};
  #abort = null;
  #m = null;
  #items = [];
  #stopNotices = null;

  connectedCallback() {
    this.#abort = new AbortController();
    render(this, html`${stylesheet()}<section class="page" aria-busy="true"><p class="muted loading">Loading…</p></section>`);
    const { signal } = this.#abort;
    this.addEventListener("submit", (event) => this.#onSubmit(event), { signal });
    this.addEventListener("click", (event) => this.#onClick(event), { signal });
    this.addEventListener("change", (event) => this.#onChange(event), { signal });
    this.#stopNotices = onNotice((event) => {
      // The other side answered, proposed or confirmed: show it without a reload,
      // unless the person is in the middle of typing.
      if (event.notification?.data?.mentorship_id !== this.params.id) return;
      if (this.querySelector("form[aria-busy]") || this.#typing()) return;
      this.#load();
    });
    this.#load();
  }

  disconnectedCallback() {
    this.#abort?.abort();
    this.#stopNotices?.();
  }

  #typing() {
    const active = document.activeElement;
    return Boolean(active && this.contains(active) && active.matches("input:not([type=checkbox]), textarea, select") && active.value);
  }

  get #base() {
    return `/api/mentorships/${encodeURIComponent(this.params.id)}`;
  }

  async #load() {
    const section = this.querySelector("section");
    try {
      const [m, items] = await Promise.all([api.get(this.#base), api.get(`${this.#base}/action-items`), session.load()]);
      this.#m = m;
      this.#items = items.items;
    } catch (error) {
      if (this.isConnected) render(section, html`<h1>Mentorship</h1><p class="form-alert" role="alert">${error.detail}</p>`);
      return;
    }
    if (this.isConnected) this.#render();
  }

  #name(id) {
    const m = this.#m;
    if (id === session.user?.id) return "You";
    return id === m.mentor.id ? m.mentor.name : m.mentee.name;
  }

  #render() {
    const m = this.#m;
    const me = session.user;
    const zone = me?.timezone ?? "UTC";
    const other = m.my_role === "mentor" ? m.mentee : m.mentor;
    const section = this.querySelector("section");
    section.removeAttribute("aria-busy");
    render(
      section,
      html`<h1>${m.my_role === "mentor" ? `Mentoring ${other.name}` : `Mentored by ${other.name}`}</h1>
        <nav class="actions" aria-label="This mentorship" data-links>
          <a href="/mentorships/${m.id}/thread">Messages</a>
          ${m.state === "active" && html`<a href="/mentorships/${m.id}/book">Book a session</a>`}
          <a href="/sessions">Sessions</a>
        </nav>
        <div class="card stack" data-lifecycle>
          <p class="actions">State: ${stateBadge(m.state)}
            ${m.state === "requested" && html`<span class="hint">Waiting for an answer until ${formatDateTime(m.expires_at, zone)}</span>`}</p>
          ${m.state_reason && html`<p class="muted" data-reason>Reason: ${m.state_reason}</p>`}
          ${m.message && html`<blockquote data-message>${m.message}</blockquote>`}
          ${m.allowed_actions.length > 0 &&
          html`<form class="stack" data-form="lifecycle">
            <div class="field">
              <label for="lifecycle-reason">Reason (optional, shown to ${other.name})</label>
              <input id="lifecycle-reason" name="reason" maxlength="1000" />
            </div>
            <p class="form-alert" role="alert"></p>
            <div class="actions">
              ${m.allowed_actions.map(
                (a) => html`<button type="submit" value="${a}" data-action="${a}" class="${a === "accept" ? "primary" : a === "decline" || a === "end" ? "danger" : ""}">${ACTION_WORDS[a]}</button>`,
              )}
            </div>
          </form>`}
        </div>
        ${this.#agreement(zone)} ${this.#goals()} ${this.#actionItems(other)}`,
    );
  }

  #agreement(zone) {
    const m = this.#m;
    const latest = m.agreement;
    const force = m.agreement_in_force;
    const mine = session.user?.id;
    const confirmedByMe = latest?.confirmed_by.includes(mine);
    return html`<h2>Agreement</h2>
      <div class="card stack" data-agreement>
        ${!latest && html`<p class="muted">No agreement proposed yet.</p>`}
        ${force && html`<p><span class="badge in-force" data-in-force="${force.version}">Version ${force.version} is in force</span></p>`}
        ${latest &&
        html`<h3>Version ${latest.version}${latest.in_force ? "" : " (proposed)"}</h3>
          <p class="hint">Proposed by ${this.#name(latest.proposed_by)} on ${formatDateTime(latest.proposed_at, zone)}</p>
          ${agreementFacts(latest)}
          <p data-confirmed>Confirmed by: ${latest.confirmed_by.map((id) => this.#name(id)).join(", ")}</p>
          ${!confirmedByMe &&
          OPEN.has(m.state) &&
          html`<button type="button" class="primary" data-confirm="${latest.version}">Confirm version ${latest.version}</button>`}`}
        ${OPEN.has(m.state) &&
        html`<details>
          <summary>${latest ? "Propose a change" : "Propose an agreement"}</summary>
          <form class="stack" data-form="agreement" novalidate>
            ${agreementFields("agreement", latest ?? {})}
            <p class="form-alert" role="alert"></p>
            <button type="submit">Propose version ${(latest?.version ?? 0) + 1}</button>
          </form>
        </details>`}
      </div>`;
  }

  #goals() {
    const m = this.#m;
    const editable = WORKING.has(m.state);
    if (!editable) {
      return html`<h2>Goals</h2>
        <ul class="card plain-list" data-goals>${m.goals.map((g) => html`<li>${g.achieved ? "✓ " : ""}${g.text}</li>`)}</ul>`;
    }
    return html`<h2>Goals</h2>
      <form class="card stack" data-form="goals" novalidate>
        <ul class="plain-list" data-goals>
          ${m.goals.map(
            (g, i) => html`<li class="hours-row" data-goal="${g.id}">
              <input name="goal-text" aria-label="Goal ${i + 1}" value="${g.text}" maxlength="300" />
              <label class="check"><input type="checkbox" name="goal-achieved" ${g.achieved && html`checked`} /> Achieved</label>
            </li>`,
          )}
        </ul>
        <div class="field">
          <label for="goal-new">Add a goal</label>
          <input id="goal-new" name="goal-new" maxlength="300" />
        </div>
        <p class="hint">Clear a goal's text to remove it.</p>
        <p class="form-alert" role="alert"></p>
        <button type="submit">Save goals</button>
      </form>`;
  }

  #actionItems(other) {
    const m = this.#m;
    const editable = WORKING.has(m.state);
    const me = session.user;
    return html`<h2>Action items</h2>
      <div class="card stack">
        ${this.#items.length === 0 && html`<p class="muted">No action items yet.</p>`}
        <ul class="plain-list" data-items>
          ${this.#items.map(
            (item) => html`<li class="${item.done ? "item-done" : ""}" data-item="${item.id}">
              <label class="check">
                <input type="checkbox" data-done="${item.id}" ${item.done && html`checked`} ${!editable && html`disabled`} />
                <span class="item-title">${item.title}</span>
              </label>
              <span class="hint">${this.#name(item.owner_id)}${item.due_date ? ` · due ${item.due_date}` : ""}</span>
            </li>`,
          )}
        </ul>
        ${editable &&
        html`<form class="stack" data-form="item" novalidate>
          <div class="grid-2">
            <div class="field">
              <label for="item-title">New action item</label>
              <input id="item-title" name="title" maxlength="300" required />
              <p class="field-error" data-error-for="title"></p>
            </div>
            <div class="field">
              <label for="item-owner">Owner</label>
              <select id="item-owner" name="owner_id">
                <option value="${me?.id}">You</option>
                <option value="${other.id}">${other.name}</option>
              </select>
            </div>
            <div class="field">
              <label for="item-due">Due date</label>
              <input id="item-due" name="due_date" type="date" />
              <p class="field-error" data-error-for="due_date"></p>
            </div>
          </div>
          <p class="form-alert" role="alert"></p>
          <button type="submit">Add action item</button>
        </form>`}
      </div>`;
  }

  async #onSubmit(event) {
    const form = event.target.closest("form[data-form]");
    if (!form) return;
    event.preventDefault();
    clearErrors(form);
    const kind = form.dataset.form;
    const done = busy(form, "Saving…");
    try {
      if (kind === "lifecycle") {
        const action = event.submitter?.value;
        const reason = form.elements.namedItem("reason").value;
        this.#m = await api.post(`${this.#base}/${action}`, { reason });
      } else if (kind === "agreement") {
        this.#m = await api.put(`${this.#base}/agreement`, readAgreement(form));
      } else if (kind === "goals") {
        const goals = [...form.querySelectorAll("[data-goal]")]
          .map((li) => ({
            id: li.dataset.goal,
            text: li.querySelector("[name=goal-text]").value.trim(),
            achieved: li.querySelector("[name=goal-achieved]").checked,
          }))
          .filter((g) => g.text);
        const fresh = form.elements.namedItem("goal-new").value.trim();
        if (fresh) goals.push({ text: fresh });
        this.#m = await api.put(`${this.#base}/goals`, { goals });
      } else if (kind === "item") {
        const get = (name) => form.elements.namedItem(name).value;
        const item = await api.post(`${this.#base}/action-items`, {
          title: get("title"),
          owner_id: get("owner_id"),
          due_date: get("due_date") || null,
        });
        this.#items = [...this.#items, item];
      }
      done();
      this.#render();
    } catch (error) {
      done();
      showErrors(form, error);
    }
  }

  async #onClick(event) {
    const confirm = event.target.closest("[data-confirm]");
    if (!confirm) return;
    confirm.disabled = true;
    try {
      this.#m = await api.post(`${this.#base}/agreement/confirm`, { version: Number(confirm.dataset.confirm) });
      this.#render();
    } catch (error) {
      confirm.disabled = false;
      const alert = this.querySelector("[data-agreement]");
      alert.insertAdjacentHTML("beforeend", String(html`<p class="form-alert" role="alert">${error.detail}</p>`));
    }
  }

  async #onChange(event) {
    const box = event.target.closest("[data-done]");
    if (!box) return;
    const id = box.dataset.done;
    box.disabled = true;
    try {
      const item = await api.patch(`/api/action-items/${encodeURIComponent(id)}`, { done: box.checked });
      this.#items = this.#items.map((i) => (i.id === id ? item : i));
      this.#render();
    } catch (error) {
      box.checked = !box.checked;
      box.disabled = false;
      box.closest("li").insertAdjacentHTML("beforeend", String(html`<p class="form-alert" role="alert">${error.detail}</p>`));
    }
  }
}

export function registerMentorshipPage() {
  customElements.define("mentorship-page", MentorshipPage);
}
