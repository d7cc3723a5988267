/** The start page: what Meridian is for visitors, a greeting and shortcuts when signed in. */
import { html, render } from "../../lib/html.js";
import { routes } from "../../lib/routes.js";
import { session } from "../../lib/session.js";
import { now, wallClock } from "../../lib/time.js";

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
    const links = routes.filter((r) => r.nav && r.auth && !r.path.includes(":"));
    render(
      this,
      html`<section class="page" aria-labelledby="home-title">
        <h1 id="home-title">${greeting(user)}, ${user.name}</h1>
        <p class="lead">Welcome back to Meridian.</p>
        <ul class="tiles">
          ${links.map((r) => html`<li><a class="tile" href="${r.path}">${r.title}</a></li>`)}
        </ul>
      </section>`,
    );
  }
}

export function registerHomePage() {
  customElements.define("home-page", HomePage);
}
