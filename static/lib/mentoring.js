/**
 * Pieces shared by the mentoring pages: list inputs, the agreement form, state words,
 * and the mentoring stylesheet (linked from each page, since inline styles are refused).
 */
import { html } from "./html.js";
import { formatDuration } from "./time.js";

export const WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

export const STATE_WORDS = {
  requested: "Requested",
  active: "Active",
  paused: "Paused",
  completed: "Completed",
  declined: "Declined",
  withdrawn: "Withdrawn",
  expired: "Expired",
  ended: "Ended",
};

export const ACTION_WORDS = {
  accept: "Accept",
  decline: "Decline",
  withdraw: "Withdraw request",
  pause: "Pause",
  resume: "Resume",
  complete: "Mark completed",
  end: "End mentorship",
};

export function stylesheet() {
  return html`<link rel="stylesheet" href="/components/mentoring.css" />`;
}

/** "a, b,  c" → ["a", "b", "c"]; lines when `separator` is "\n". */
export function splitList(text, separator = ",") {
  return String(text ?? "")
    .split(separator)
    .map((s) => s.trim())
    .filter(Boolean);
}

export function stateBadge(state) {
  return html`<span class="badge state-${state}" data-state="${state}">${STATE_WORDS[state] ?? state}</span>`;
}

function option(value, label, selected) {
  return html`<option value="${value}" ${value === selected && html`selected`}>${label}</option>`;
}

/** Inputs of an agreement, prefilled with `a` (a version from the API) when given. */
export function agreementFields(prefix, a = {}) {
  const id = (name) => `${prefix}-${name}`;
  return html`<div class="grid-2">
      <div class="field">
        <label for="${id("cadence")}">Cadence</label>
        <select id="${id("cadence")}" name="cadence">
          ${option("weekly", "Weekly", a.cadence)} ${option("biweekly", "Every two weeks", a.cadence ?? "biweekly")}
          ${option("monthly", "Monthly", a.cadence)}
        </select>
      </div>
      <div class="field">
        <label for="${id("minutes")}">Session length (minutes)</label>
        <input id="${id("minutes")}" name="session_minutes" type="number" min="15" max="240" step="5"
          value="${a.session_minutes ?? 45}" />
        <p class="field-error" data-error-for="session_minutes"></p>
      </div>
      <div class="field">
        <label for="${id("channel")}">Channel</label>
        <select id="${id("channel")}" name="channel">
          ${option("live", "Live sessions", a.channel)} ${option("async", "Asynchronous messages", a.channel)}
          ${option("mixed", "Both", a.channel ?? "mixed")}
        </select>
      </div>
      <div class="field">
        <label for="${id("retention")}">Keep recordings and media for (days, empty: no limit)</label>
        <input id="${id("retention")}" name="media_retention_days" type="number" min="1" max="3650"
          value="${a.media_retention_days ?? ""}" />
        <p class="field-error" data-error-for="media_retention_days"></p>
      </div>
      <div class="field">
        <label for="${id("review")}">Review date</label>
        <input id="${id("review")}" name="review_date" type="date" value="${a.review_date ?? ""}" />
      </div>
      <div class="field">
        <label for="${id("confidential")}">Confidential topics (comma separated)</label>
        <input id="${id("confidential")}" name="confidential_topics"
          value="${(a.confidential_topics ?? []).join(", ")}" />
      </div>
    </div>
    <label class="check"><input type="checkbox" name="recording_allowed" ${a.recording_allowed && html`checked`} />
      Live sessions may be recorded (both still consent each time)</label>
    <div class="field">
      <label for="${id("note")}">Note</label>
      <textarea id="${id("note")}" name="note" maxlength="1000">${a.note ?? ""}</textarea>
    </div>`;
}

/** The agreement in `form`, shaped for the API. */
export function readAgreement(form) {
  const get = (name) => form.elements.namedItem(name);
  const retention = get("media_retention_days").value.trim();
  return {
    cadence: get("cadence").value,
    session_minutes: Number(get("session_minutes").value),
    channel: get("channel").value,
    recording_allowed: get("recording_allowed").checked,
    confidential_topics: splitList(get("confidential_topics").value),
    media_retention_days: retention === "" ? null : Number(retention),
    review_date: get("review_date").value || null,
    note: get("note").value,
  };
}

/** One version of the agreement as a definition list. */
export function agreementFacts(a) {
  const cadence = { weekly: "Weekly", biweekly: "Every two weeks", monthly: "Monthly" }[a.cadence];
  const channel = { live: "Live sessions", async: "Asynchronous messages", mixed: "Both" }[a.channel];
  return html`<dl class="facts">
    <div><dt>Cadence</dt><dd>${cadence}</dd></div>
    <div><dt>Session length</dt><dd>${formatDuration(a.session_minutes)}</dd></div>
    <div><dt>Channel</dt><dd>${channel}</dd></div>
    <div><dt>Recording</dt><dd>${a.recording_allowed ? "Allowed, with consent each time" : "Not allowed"}</dd></div>
    <div><dt>Confidential topics</dt><dd>${a.confidential_topics.join(", ") || "None"}</dd></div>
    <div><dt>Media kept for</dt><dd>${a.media_retention_days ? `${a.media_retention_days} days` : "No limit"}</dd></div>
    <div><dt>Review date</dt><dd>${a.review_date ?? "None"}</dd></div>
    ${a.note && html`<div><dt>Note</dt><dd>${a.note}</dd></div>`}
  </dl>`;
}
