/**
 * The live call of one booking (/sessions/:id/call): <call-lobby> to see oneself and
 * choose devices before joining, then the other participant's <video-tile> beside
 * one's own video, <call-controls> (mute, camera off, screen share, recording consent,
 * leave), a <chat-panel>, the connection's quality and the recording indicator.
 *
 * The room itself (signalling, peer links, resuming after a reload) is lib/call-room.js;
 * this page draws what it reports and sends what the person switches.
 */
import { api } from "../../lib/api.js";
import { CallRoom, forgetPeer, resumable } from "../../lib/call-room.js";
import { html, render } from "../../lib/html.js";
import { linkStats, openMedia, stopStream } from "../../lib/rtc.js";

const STYLESHEET = html`<link rel="stylesheet" href="/components/call-page/call-page.css" />`;
const QUALITY = { good: "good", fair: "fair", poor: "poor", unknown: "measuring…" };

class CallPage extends HTMLElement {
  #abort = null;
  #call = null;
  #room = null;
  #local = null;
  #camera = null;
  #screen = null;
  #tiles = new Map(); // peer id → <video-tile>
  #media = { audio: true, video: true, screen: false };
  #consent = false;
  #leaving = false;
  #timer = null;

  connectedCallback() {
    this.#abort = new AbortController();
    render(
      this,
      html`${STYLESHEET}
        <section class="page call" aria-labelledby="call-title" aria-busy="true">
          <h1 id="call-title">Live session</h1>
          <p class="muted loading">Opening the room…</p>
        </section>`,
    );
    this.#on(this, "call-join", (event) => this.#join(event.detail.stream));
    this.#load();
  }

  disconnectedCallback() {
    this.#abort?.abort();
    this.#hangUp({ bye: true }); // navigating away is leaving; a reload never gets here
  }

  get #section() {
    return this.querySelector("section.call");
  }

  get #path() {
    return `/api/bookings/${encodeURIComponent(this.params.id)}/room`;
  }

  #on(target, type, listener) {
    target.addEventListener(type, listener, { signal: this.#abort.signal });
  }

  async #load() {
    try {
      this.#room = await api.get(this.#path);
    } catch (error) {
      if (!this.isConnected) return;
      render(
        this.#section,
        html`<h1 id="call-title">Live session</h1>
          <p class="form-alert" role="alert">${error.detail}</p>
          <p><a href="/">Back to the start page</a></p>`,
      );
      return;
    }
    if (!this.isConnected) return;
    this.#section.removeAttribute("aria-busy");
    if (resumable(this.#room)) {
      const { stream } = await openMedia();
      if (this.isConnected) this.#join(stream);
      else stopStream(stream);
      return;
    }
    render(this.#section, html`<h1 id="call-title">Live session</h1>`);
    const lobby = document.createElement("call-lobby");
    lobby.room = this.#room;
    this.#section.append(lobby);
  }

  #join(stream) {
    this.#local = stream;
    this.#camera = stream.getVideoTracks()[0] ?? null;
    this.#showCall();
    const call = new CallRoom({ path: this.#path, room: this.#room, outgoing: () => this.#outgoing() });
    this.#call = call;
    this.#on(call, "status", (e) => this.#status(e.detail.text));
    this.#on(call, "peer", (e) => this.#addTile(e.detail.peer));
    this.#on(call, "peer-left", (e) => this.#removeTile(e.detail.peer, e.detail.quiet));
    this.#on(call, "peer-state", ({ detail: { peer } }) => {
      const tile = this.#tiles.get(peer.info.peer_id);
      if (tile) tile.state = { media: peer.media, consent: peer.consent, reconnecting: peer.reconnecting };
    });
    this.#on(call, "track", (e) => {
      const tile = this.#tiles.get(e.detail.peer.info.peer_id);
      if (tile) tile.stream = e.detail.stream;
    });
    this.#on(call, "chat", (e) => {
      this.querySelector("chat-panel")?.append({ who: e.detail.peer?.info.name ?? "Them", text: e.detail.text, mine: false });
    });
    this.#on(call, "recording", (e) => {
      const el = this.querySelector('[data-role="recording"]');
      if (el) el.hidden = !e.detail.active;
    });
    call.start(this.#media);
  }

  #showCall() {
    const recording = this.#room.recording_allowed;
    render(
      this.#section,
      html`<h1 id="call-title">Live session</h1>
        <p class="call-status" role="status" data-role="status">Connecting…</p>
        <p class="recording-indicator" data-role="recording" hidden>● Recording</p>
        <div class="call-layout">
        <div class="call-main">
        <div class="call-stage">
          <div class="call-remote" data-role="remote">
            <p class="muted call-waiting" data-role="waiting">Waiting for the other person to join…</p>
          </div>
          <video class="call-self" data-role="self" autoplay playsinline muted></video>
        </div>
        <call-controls ${recording && html`recording`}></call-controls>
        <p class="call-quality" data-role="quality" data-quality="unknown" aria-live="polite">Connection: measuring…</p>
        ${recording &&
        html`<p class="hint" data-role="consent-note">Recording starts only when both of you allow it, and stops the moment either of you withdraws.</p>`}
        </div>
        <chat-panel class="call-side"></chat-panel>
        </div>`,
    );
    this.querySelector('[data-role="self"]').srcObject = this.#local;
    const actions = {
      mute: () => this.#toggle("audio"),
      camera: () => this.#toggle("video"),
      screen: () => (this.#screen ? this.#stopScreen() : this.#shareScreen()),
      consent: () => this.#toggleConsent(),
      leave: () => this.#leave(),
    };
    this.#on(this, "call-action", (event) => actions[event.detail.action]?.());
    this.#on(this, "chat-send", (event) => {
      this.#call.send({ type: "chat", text: event.detail.text });
      this.querySelector("chat-panel").append({ who: "You", text: event.detail.text, mine: true });
    });
    this.#timer = setInterval(() => this.#measure(), 1000);
  }

  #addTile(peer) {
    const tile = document.createElement("video-tile");
    tile.className = "call-tile";
    tile.dataset.peer = peer.info.peer_id;
    tile.person = { name: peer.info.name, timezone: peer.info.timezone };
    tile.state = { media: peer.media, consent: peer.consent, reconnecting: peer.reconnecting };
    this.#tiles.set(peer.info.peer_id, tile);
    const quality = this.querySelector('[data-role="quality"]');
    // A new link starts from nothing: no stale figures from the one it replaces.
    quality.dataset.framesDecoded = "0";
    quality.dataset.quality = "unknown";
    const remote = this.querySelector('[data-role="remote"]');
    remote.querySelector('[data-role="waiting"]').hidden = true;
    remote.append(tile);
  }

  #removeTile(peer, quiet) {
    const tile = this.#tiles.get(peer.info.peer_id);
    if (tile === undefined) return;
    tile.remove();
    this.#tiles.delete(peer.info.peer_id);
    if (!quiet && this.#call.people().length === 0) {
      const waiting = this.querySelector('[data-role="waiting"]');
      if (waiting) waiting.hidden = false;
    }
  }

  #outgoing() {
    return new MediaStream([
      ...this.#local.getAudioTracks(),
      ...(this.#screen ? [this.#screen] : this.#local.getVideoTracks()),
    ]);
  }

  async #measure() {
    const el = this.querySelector('[data-role="quality"]');
    const peer = this.#call?.people()[0];
    if (!el || !peer) return;
    const stats = await linkStats(peer.link.pc);
    el.dataset.quality = stats.quality;
    el.dataset.framesDecoded = String(stats.framesDecoded);
    el.dataset.rttMs = stats.rttMs === null ? "" : stats.rttMs.toFixed(0);
    const details = [];
    if (stats.rttMs !== null) details.push(`${stats.rttMs.toFixed(0)} ms round trip`);
    if (stats.lossPercent !== null) details.push(`${stats.lossPercent.toFixed(1)} % loss`);
    el.textContent = `Connection: ${QUALITY[stats.quality]}${details.length ? ` (${details.join(", ")})` : ""}`;
  }

  /** Tell the other side, and the buttons, what is switched on now. */
  #announce() {
    this.querySelector("call-controls").state = { ...this.#media, consent: this.#consent };
    this.#call.send({ type: "media-state", ...this.#media });
  }

  #toggle(kind) {
    const track = kind === "audio" ? this.#local.getAudioTracks()[0] : this.#camera;
    this.#media[kind] = !this.#media[kind];
    if (track) track.enabled = this.#media[kind];
    this.#announce();
  }

  async #shareScreen() {
    try {
      const display = await navigator.mediaDevices.getDisplayMedia({ video: true });
      this.#screen = display.getVideoTracks()[0];
    } catch {
      return; // the person cancelled the picker
    }
    this.#screen.addEventListener("ended", () => this.#stopScreen());
    await this.#sendVideo(this.#screen, new MediaStream([this.#screen]));
  }

  async #stopScreen() {
    if (!this.#screen) return;
    this.#screen.stop();
    this.#screen = null;
    await this.#sendVideo(this.#camera, this.#local);
  }

  /** Send `track` as our video (the camera or the screen) and show `self` as our own view. */
  async #sendVideo(track, self) {
    await this.#call.replaceVideo(track);
    this.querySelector('[data-role="self"]').srcObject = self;
    this.#media.screen = Boolean(this.#screen);
    this.#announce();
  }

  #toggleConsent() {
    this.#consent = !this.#consent;
    this.querySelector("call-controls").state = { consent: this.#consent };
    this.#call.send({ type: "record-consent", consent: this.#consent });
  }

  #status(text) {
    const el = this.querySelector('[data-role="status"]');
    if (el) el.textContent = text;
  }

  #leave() {
    this.#hangUp({ bye: true });
    render(
      this.#section,
      html`<h1 id="call-title">You left the session</h1>
        <p>Thank you. <a href="/sessions/${this.params.id}/call">Rejoin</a>, see <a href="/sessions">your sessions</a> or <a href="/">go to the start page</a>.</p>`,
    );
  }

  #hangUp({ bye }) {
    if (this.#leaving) return;
    this.#leaving = true;
    clearInterval(this.#timer);
    if (this.#call) this.#call.leave({ bye });
    else if (bye && this.#room) forgetPeer(this.#room);
    stopStream(this.#local);
    this.#screen?.stop();
  }
}

export function registerCallPage() {
  if (!customElements.get("call-page")) customElements.define("call-page", CallPage);
}
