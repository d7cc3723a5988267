/**
 * One participant of a call: their video, their name, the time where they are, and
 * what they have switched: muted, camera off, sharing the screen, allowing recording,
 * or reconnecting. When the browser refuses to start sound on its own, a "Turn on
 * sound" button lets the person start it.
 *
 *   tile.person = { name: "Sam", timezone: "America/Sao_Paulo" };
 *   tile.stream = mediaStream;
 *   tile.state = { media: { audio, video, screen }, consent, reconnecting };
 *
 * The local time is kept current while the tile is on the page.
 */
import { html, render } from "../../lib/html.js";
import { useStylesheet } from "../../lib/styles.js";
import { formatTime, now, zoneName } from "../../lib/time.js";

const CLOCK_MS = 15_000;

class VideoTile extends HTMLElement {
  #abort = null;
  #person = { name: "", timezone: "UTC" };
  #stream = null;
  #state = {};
  #clock = null;

  set person(value) {
    this.#person = value;
    if (this.isConnected) this.#render();
  }

  set state(value) {
    this.#state = value;
    this.toggleAttribute("data-reconnecting", Boolean(value.reconnecting));
    if (this.isConnected) this.#badges();
  }

  set stream(stream) {
    this.#stream = stream;
    if (this.isConnected) this.#play();
  }

  connectedCallback() {
    useStylesheet("/components/video-tile/video-tile.css");
    this.#abort = new AbortController();
    this.#render();
    this.#clock = setInterval(() => this.#tick(), CLOCK_MS);
  }

  disconnectedCallback() {
    this.#abort?.abort();
    clearInterval(this.#clock);
  }

  #render() {
    render(
      this,
      html`<figure class="video-tile">
        <video autoplay playsinline data-role="remote-video"></video>
        <figcaption>
          <span class="call-name">${this.#person.name}</span>
          <span class="call-local-time" data-role="local-time"></span>
          <span class="call-badges" data-role="badges"></span>
        </figcaption>
        <button class="button call-sound" type="button" data-action="sound" hidden>Turn on sound</button>
      </figure>`,
    );
    this.querySelector('[data-action="sound"]').addEventListener(
      "click",
      (event) => {
        event.target.hidden = true;
        this.querySelector("video").play().catch(() => {});
      },
      { signal: this.#abort.signal },
    );
    this.#tick();
    this.#badges();
    this.#play();
  }

  #play() {
    const video = this.querySelector("video");
    if (!video || !this.#stream) return;
    if (video.srcObject !== this.#stream) video.srcObject = this.#stream;
    video.play().catch(() => {
      this.querySelector('[data-action="sound"]').hidden = false;
    });
  }

  #tick() {
    const el = this.querySelector('[data-role="local-time"]');
    if (!el) return;
    const zone = this.#person.timezone;
    try {
      el.textContent = `${formatTime(now(), zone)} there (${zoneName(zone)})`;
    } catch {
      el.textContent = "";
    }
  }

  #badges() {
    const { media, consent, reconnecting } = this.#state;
    const badges = [];
    if (reconnecting) badges.push(html`<span class="badge" data-badge="reconnecting">Reconnecting…</span>`);
    if (media?.audio === false) badges.push(html`<span class="badge" data-badge="muted">Muted</span>`);
    if (media?.video === false) badges.push(html`<span class="badge" data-badge="camera-off">Camera off</span>`);
    if (media?.screen) badges.push(html`<span class="badge" data-badge="screen">Sharing screen</span>`);
    if (consent) badges.push(html`<span class="badge" data-badge="consent">Allows recording</span>`);
    const holder = this.querySelector('[data-role="badges"]');
    if (holder) render(holder, badges);
  }
}

export function registerVideoTile() {
  if (!customElements.get("video-tile")) customElements.define("video-tile", VideoTile);
}
