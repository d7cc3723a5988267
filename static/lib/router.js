/**
 * A small History API router: matches location.pathname against routes.js, mounts the
 * page element into an outlet and hands it `params` (from `:name` segments) and
 * `query` (URLSearchParams) before it is connected, so a page can read both in
 * connectedCallback. Same-origin <a href> clicks navigate without a reload.
 */
import { routes } from "./routes.js";
import { session } from "./session.js";

const APP_EVENT = "meridian:navigate";

function compile(path) {
  const names = [];
  const pattern = path
    .split("/")
    .map((segment) => {
      if (segment.startsWith(":")) {
        names.push(segment.slice(1));
        return "([^/]+)";
      }
      return segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    })
    .join("/");
  return { regex: new RegExp(`^${pattern}/?$`), names };
}

const compiled = new Map();

/** The route for `pathname` and its params, or null. */
export function match(pathname) {
  for (const route of routes) {
    if (!compiled.has(route)) compiled.set(route, compile(route.path));
    const { regex, names } = compiled.get(route);
    const found = regex.exec(pathname);
    if (found) {
      const params = {};
      names.forEach((name, i) => {
        params[name] = decodeURIComponent(found[i + 1]);
      });
      return { route, params };
    }
  }
  return null;
}

/** Go to an app path ("/account", "/login?next=%2Faccount"). */
export function navigate(to, { replace = false } = {}) {
  const url = new URL(to, location.origin);
  const target = url.pathname + url.search + url.hash;
  if (replace) history.replaceState(null, "", target);
  else history.pushState(null, "", target);
  window.dispatchEvent(new Event(APP_EVENT));
}

/** The in-app path the person asked for in ?next=, or `fallback` (never another site). */
export function nextPath(fallback = "/") {
  const next = new URLSearchParams(location.search).get("next");
  if (next && next.startsWith("/") && !next.startsWith("//")) return next;
  return fallback;
}

function isAppLink(event) {
  if (event.defaultPrevented || event.button !== 0) return null;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return null;
  const link = event.composedPath().find((el) => el instanceof HTMLAnchorElement);
  if (!link || !link.href || link.target || link.hasAttribute("download")) return null;
  const url = new URL(link.href);
  if (url.origin !== location.origin) return null;
  const samePage = url.pathname + url.search === location.pathname + location.search;
  if (samePage && url.hash) return null; // an in-page anchor such as the skip link
  if (/^\/(api|calendars|metrics|healthz|readyz)(\/|$)/.test(url.pathname)) return null;
  return url;
}

function whenDefined(tag) {
  if (customElements.get(tag)) return Promise.resolve(true);
  const timeout = new Promise((resolve) => {
    setTimeout(() => resolve(false), 3000);
  });
  return Promise.race([customElements.whenDefined(tag).then(() => true), timeout]);
}

export class Router {
  #outlet;
  #onChange;
  #abort = new AbortController();
  #generation = 0;

  /** `onChange({ route, params })` runs after each page is mounted (route null: not found). */
  constructor(outlet, { onChange = () => {} } = {}) {
    this.#outlet = outlet;
    this.#onChange = onChange;
  }

  start() {
    const { signal } = this.#abort;
    window.addEventListener("popstate", () => this.resolve(), { signal });
    window.addEventListener(APP_EVENT, () => this.resolve(), { signal });
    document.addEventListener(
      "click",
      (event) => {
        const url = isAppLink(event);
        if (!url) return;
        event.preventDefault();
        if (url.pathname + url.search !== location.pathname + location.search) {
          navigate(url.pathname + url.search + url.hash);
        }
      },
      { signal },
    );
    return this.resolve();
  }

  stop() {
    this.#abort.abort();
  }

  async resolve() {
    const generation = ++this.#generation;
    const found = match(location.pathname);
    if (!found) {
      this.#mountNotFound();
      return;
    }
    const { route, params } = found;
    if (route.auth || route.guest) {
      let user = null;
      try {
        user = await session.load();
      } catch {
        user = null;
      }
      if (generation !== this.#generation) return;
      if (route.auth && !user) {
        const here = location.pathname + location.search;
        navigate(`/login?next=${encodeURIComponent(here)}`, { replace: true });
        return;
      }
      if (route.guest && user) {
        navigate(nextPath("/"), { replace: true });
        return;
      }
    }
    const defined = await whenDefined(route.tag);
    if (generation !== this.#generation) return;
    if (!defined) {
      this.#mountNotFound();
      return;
    }
    const page = document.createElement(route.tag);
    page.params = params;
    page.query = new URLSearchParams(location.search);
    this.#outlet.replaceChildren(page);
    document.title = route.path === "/" ? "Meridian" : `${route.title} · Meridian`;
    this.#onChange({ route, params });
  }

  #mountNotFound() {
    const page = document.createElement("section");
    page.className = "page narrow";
    const heading = document.createElement("h1");
    heading.textContent = "Page not found";
    const text = document.createElement("p");
    text.textContent = "There is nothing at this address. ";
    const home = document.createElement("a");
    home.href = "/";
    home.textContent = "Go to the start page";
    text.append(home);
    page.append(heading, text);
    this.#outlet.replaceChildren(page);
    document.title = "Not found · Meridian";
    this.#onChange({ route: null, params: {} });
  }
}
