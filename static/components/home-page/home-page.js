/**
 * The start page: what Meridian is for visitors; when signed in, the person's week: the
 * next session (Join once its room opens), requests to answer, new messages, agreements due for review, and first steps until each is done.
 */
import { html, render } from "../../lib/html.js";
import { api } from "../../lib/api.js";
import { DEVICE_CHECKED } from "../device-check-page/device-check-page.js";
import { findableBanner } from "../../lib/findable.js";
import { stylesheet } from "../../lib/mentoring.js";
import { session } from "../../lib/session.js";
import { formatDayTime, formatRelative, now, todayIn, wallClock } from "../../lib/time.js";

const HOUR = 60 * 60 * 1000;

function plural(count, one, many) {
  return `${count} ${count === 1 ? one : many}`;
}

function greeting(user) {
  const { hour } = wallClock(now(), user.timezone);
  if (hour < 5) return "Good night";
  if (hour < 12) return "Good morning";
  if (hour < 18) return "Good afternoon";
  return "Good evening";
}

class HomePage extends HTMLElement {
  #abort = null;

  connectedCallback() {
    this.#abort = new AbortController();
    session.addEventListener("change", () => this.#render(), { signal: this.#abort.signal });
    this.#render();
    if (!session.loaded) {
      session.load().catch((error) => {
        render(
          this,
          html`<section class="page"><p class="form-alert" role="alert">${error.detail}</p></section>`,
        );
      });
    }
  }

  disconnectedCallback() {
    this.#abort?.abort();
  }

  #render() {
    if (!session.loaded) {
      render(this, html`<section class="page" aria-busy="true"><p class="muted">Loading…</p></section>`);
      return;
    }
    const user = session.user;
    if (!user) {
      render(
        this,
        html`<section class="page hero" aria-labelledby="home-title">
          <h1 id="home-title">Mentoring across time zones</h1>
          <p class="lead">
            Meridian brings mentors and mentees together, whichever side of the world they live
            on. Every meeting is shown in your own time.
          </p>
          <p class="actions">
            <a class="button primary" href="/signup">Create an account</a>
            <a class="button" href="/login">Sign in</a>
          </p>
        </section>`,
      );
      return;
    }
    render(
      this,
      html`${stylesheet()}<section class="page stack" aria-labelledby="home-title" aria-busy="true">
        <h1 id="home-title">${greeting(user)}, ${user.name}</h1>
        <div data-week><p class="muted">Loading your week…</p></div>
      </section>`,
    );
    this.#loadWeek(user).catch((error) => {
      const box = this.querySelector("[data-week]");
      if (box) render(box, html`<p class="form-alert" role="alert">${error.detail || error.message}</p>`);
    });
  }

  async #loadWeek(user) {
    const at = now();
    const [profile, bookings, mentorships, unread, feeds, availability] = await Promise.all([
      api.get("/api/me/profile"),
      api.get(`/api/bookings?start=${encodeURIComponent(new Date(at.getTime() - 3 * HOUR).toISOString())}`),
      api.get("/api/mentorships"),
      api.get("/api/threads/unread"),
      api.get("/api/me/calendar-feeds"),
      api.get("/api/me/availability"),
    ]);
    const box = this.querySelector("[data-week]");
    if (!box || !this.isConnected) return;
    this.querySelector("section").removeAttribute("aria-busy");
    const zone = user.timezone;
    const upcoming = bookings.items.filter((b) => new Date(b.end) > at);
    const next = upcoming[0];
    const byId = new Map(mentorships.items.map((m) => [m.id, m]));
    const other = (m) => (m.my_role === "mentor" ? m.mentee : m.mentor);
    const toAnswer = mentorships.items.filter((m) => m.state === "requested" && m.my_role === "mentor");
    const waiting = mentorships.items.filter((m) => m.state === "requested" && m.my_role === "mentee");
    const reviews = mentorships.items.filter(
      (m) => m.state === "active" && m.agreement?.in_force && m.agreement.review_date && m.agreement.review_date <= todayIn(zone),
    );
    const unreadItems = unread.items.filter((u) => u.unread_count > 0 && byId.has(u.mentorship_id));
    const isMentor = profile.roles.includes("mentor");
    const steps = [
      { done: profile.roles.length > 0 && profile.languages.length > 0, text: "Say who you are: your role, languages and topics", href: "/profile" },
      isMentor && { done: profile.capacity > 0, text: "Say how many mentees you can take at once", href: "/profile" },
      isMentor && { done: availability.source === "saved", text: "Choose when mentees can book you", href: "/availability" },
      { done: feeds.items.length > 0, text: "Add your sessions to your own calendar", href: "/calendar" },
      { done: Boolean(localStorage.getItem(DEVICE_CHECKED)), text: "Try your camera and microphone before a call", href: "/device-check" },
    ].filter(Boolean);
    const open = (b) => new Date(b.start) - at <= 10 * 60 * 1000;
    const live = (b) => new Date(b.start) <= at;
    render(
      box,
      html`${findableBanner(profile, { link: true })}
        ${next
          ? html`<article class="card stack next-session" aria-labelledby="next-title">
              <h2 id="next-title">${live(next) ? html`<span class="live-badge">Live now</span> ` : ""}Your next session</h2>
              <p class="lead">
                With ${next.mentor.id === user.id ? next.mentee.name : next.mentor.name},
                ${formatDayTime(next.start, zone)} (${formatRelative(next.start, at)})
              </p>
              <p class="actions">
                ${open(next)
                  ? html`<a class="button primary" href="/sessions/${next.id}/call">Join the session</a>`
                  : ""}
                <a class="button" href="/sessions">All sessions</a>
              </p>
            </article>`
          : html`<article class="card stack" aria-labelledby="next-title">
              <h2 id="next-title">No session booked</h2>
              <p>${mentorships.items.some((m) => m.state === "active")
                ? html`Book the next one from your <a href="/mentorships">mentorship</a>.`
                : profile.roles.includes("mentee")
                  ? html`<a href="/mentors">Find a mentor</a> to get started.`
                  : "Sessions appear here once a mentee books one with you."}</p>
            </article>`}
        ${toAnswer.length > 0 &&
        html`<article class="card stack" aria-labelledby="answer-title">
          <h2 id="answer-title">${plural(toAnswer.length, "request waits", "requests wait")} for your answer</h2>
          <ul class="plain-list">
            ${toAnswer.map((m) => html`<li><a href="/mentorships/${m.id}">${m.mentee.name} asks you to mentor them</a></li>`)}
          </ul>
        </article>`}
        ${waiting.length > 0 &&
        html`<article class="card stack" aria-labelledby="waiting-title">
          <h2 id="waiting-title">Waiting for an answer</h2>
          <ul class="plain-list">
            ${waiting.map((m) => html`<li><a href="/mentorships/${m.id}">Your request to ${m.mentor.name}</a></li>`)}
          </ul>
        </article>`}
        ${unreadItems.length > 0 &&
        html`<article class="card stack" aria-labelledby="unread-title">
          <h2 id="unread-title">New messages</h2>
          <ul class="plain-list">
            ${unreadItems.map((u) => {
              const m = byId.get(u.mentorship_id);
              return html`<li>
                <a href="/mentorships/${m.id}/thread">${plural(u.unread_count, "new message", "new messages")} from ${other(m).name}</a>
              </li>`;
            })}
          </ul>
        </article>`}
        ${reviews.length > 0 &&
        html`<article class="card stack" aria-labelledby="review-title">
          <h2 id="review-title">Agreements to review</h2>
          <ul class="plain-list">
            ${reviews.map((m) => html`<li><a href="/mentorships/${m.id}">Review how you work with ${other(m).name}</a></li>`)}
          </ul>
        </article>`}
        ${steps.some((x) => !x.done) &&
        html`<article class="card stack" aria-labelledby="start-title">
          <h2 id="start-title">Getting started</h2>
          <ol class="checklist">
            ${steps.map(
              (x) => html`<li class="${x.done ? "done" : ""}">
                ${x.done ? html`<span class="visually-hidden">Done: </span>${x.text}` : html`<a href="${x.href}">${x.text}</a>`}
              </li>`,
            )}
          </ol>
        </article>`}`,
    );
  }
}

export function registerHomePage() {
  customElements.define("home-page", HomePage);
}
