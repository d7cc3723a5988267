/**
 * Who is signed in. `await session.load()` asks GET /api/me once (and again with
 * `{ force: true }`); `session.user` is then the user or null. Listen for "change" to
 * follow sign-in, sign-out and account edits.
 */
import { api, ApiError } from "./api.js";

class Session extends EventTarget {
  #user = null;
  #loading = null;
  #loaded = false;

  get user() {
    return this.#user;
  }

  get loaded() {
    return this.#loaded;
  }

  async load({ force = false } = {}) {
    if (this.#loaded && !force) return this.#user;
    if (!this.#loading) {
      this.#loading = api
        .get("/api/me")
        .then((body) => body.user)
        .catch((error) => {
          if (error instanceof ApiError && error.status === 401) return null;
          throw error;
        })
        .then((user) => {
          this.set(user);
          return user;
        })
        .finally(() => {
          this.#loading = null;
        });
    }
    return this.#loading;
  }

  /** Record the user an API call just returned (sign-up, sign-in, PATCH /api/me). */
  set(user) {
    this.#user = user ?? null;
    this.#loaded = true;
    this.dispatchEvent(new CustomEvent("change", { detail: { user: this.#user } }));
  }

  async signOut() {
    await api.post("/api/auth/logout");
    this.set(null);
  }
}

export const session = new Session();
