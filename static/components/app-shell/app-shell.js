/**
 * The frame of every page: the header with Meridian's name and the navigation built
 * from routes.js, the outlet where the router mounts the current page, and sign-out.
 */
import { html, render } from "../../lib/html.js";
import { Router, navigate } from "../../lib/router.js";
import { routes } from "../../lib/routes.js";
import { session } from "../../lib/session.js";

class AppShell extends HTMLElement {
  #router = null;
  #current = null;
  #firstPage = true;
  #abort = null;

  connectedCallback() {
    this.#abort = new AbortController();
    const { signal } = this.#abort;
    render(
      this,
      html`<a class="skip-link" href="#main">Skip to content</a>
        <header class="shell-header">
          <div class="shell-bar">
            <a class="brand" href="/"><span class="brand-mark" aria-hidden="true"></span>Meridian</a>
            <nav class="shell-nav" aria-label="Main"></nav>
          </div>
        </header>
        <main id="main" class="shell-main" tabindex="-1"></main>
        <footer class="shell-footer"><p>Meridian · mentoring across time zones</p></footer>`,
    );
    this.querySelector(".shell-nav").addEventListener("click", (event) => this.#onNavClick(event), {
      signal,
    });
    session.addEventListener("change", () => this.#renderNav(), { signal });
    this.#renderNav();
    this.#router = new Router(this.querySelector("main"), {
      onChange: ({ route }) => this.#onPage(route),
    });
    // Start once index.js has registered every page (it does so synchronously).
    queueMicrotask(() => {
      session.load().catch(() => {});
      this.#router.start();
    });
  }

  disconnectedCallback() {
    this.#abort?.abort();
    this.#router?.stop();
  }

  #onPage(route) {
    this.#current = route;
    this.#renderNav();
    if (this.#firstPage) {
      this.#firstPage = false;
      return;
    }
    // Tell assistive technology the page changed: move focus to the new content.
    window.scrollTo(0, 0);
    this.querySelector("main").focus({ preventScroll: true });
  }

  #renderNav() {
    const user = session.user;
    const signedIn = Boolean(user);
    const known = session.loaded;
    // Until GET /api/me answers, show only pages for everyone, so nothing flickers.
    const shown = (r) => (!known ? !r.auth && !r.guest : signedIn ? !r.guest : !r.auth);
    const items = routes.filter((r) => r.nav && shown(r));
    const nav = this.querySelector(".shell-nav");
    if (!nav) return;
    render(
      nav,
      html`<ul>
        ${items.map(
          (r) =>
            html`<li>
              <a href="${r.path}" aria-current="${r === this.#current ? "page" : "false"}"
                >${r.title}</a
              >
            </li>`,
        )}
        ${signedIn &&
        html`<li class="shell-user">
          <span class="muted" title="${user.email}">${user.name}</span>
          <button type="button" class="link-button" data-action="sign-out">Sign out</button>
        </li>`}
      </ul>`,
    );
  }

  async #onNavClick(event) {
    const button = event.target.closest("[data-action=sign-out]");
    if (!button) return;
    button.disabled = true;
    button.textContent = "Signing out…";
    try {
      await session.signOut();
      navigate("/login?signed-out=1");
    } catch {
      button.disabled = false;
      button.textContent = "Sign out";
    }
  }
}

export function registerAppShell() {
  customElements.define("app-shell", AppShell);
}
