/**
 * The live call of one booking (/sessions/:id/call): a preview with device choice
 * before joining, then the two participants' video, mute, camera off, screen share,
 * text chat, a network-quality indicator, the other person's local time, recording
 * consent and its indicator, and leave.
 *
 * Signalling runs over the room's WebSocket (server/live/protocol.py). The page keeps
 * its peer id in sessionStorage, so after a reload or a dropped connection it rejoins
 * with the same id and the other side sees "reconnecting", not "left".
 */
import { api } from "../../lib/api.js";
import { html, render } from "../../lib/html.js";
import { PeerLink, linkStats, stopStream } from "../../lib/rtc.js";
import { formatInstant } from "../../lib/time.js";

const STYLESHEET = html`<link rel="stylesheet" href="/components/call-page/call-page.css" />`;
const NO_RECONNECT = new Set([4001, 4002]);

function peerKey(roomId) {
  return `meridian:peer:${roomId}`;
}

/** The later of two peers to join is the polite one (ties broken by peer id). */
function isPolite(me, other) {
  if (me.joined !== other.joined) return me.joined > other.joined;
  return me.peer_id > other.peer_id;
}

class CallPage extends HTMLElement {
  #abort = null;
  #room = null;
  #local = null;
  #camera = null;
  #screen = null;
  #ws = null;
  #me = null;
  #peers = new Map();
  #media = { audio: true, video: true, screen: false };
  #consent = false;
  #leaving = false;
  #retries = 0;
  #timers = [];
  #reconnectTimer = null;

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
    this.#load();
  }

  disconnectedCallback() {
    this.#abort?.abort();
    this.#hangUp({ bye: true }); // navigating away is leaving; a reload never gets here
  }

  get #section() {
    return this.querySelector("section.call");
  }

  async #load() {
    try {
      this.#room = await api.get(`/api/bookings/${encodeURIComponent(this.params.id)}/room`);
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
    const resuming = sessionStorage.getItem(peerKey(this.#room.room_id));
    if (resuming && this.#room.is_open) {
      await this.#startMedia({});
      this.#showCall();
      this.#connect();
    } else {
      this.#showLobby();
    }
  }

  // --- before joining: preview and devices ------------------------------------------------

  #showLobby() {
    const room = this.#room;
    const section = this.#section;
    section.removeAttribute("aria-busy");
    const opens = formatInstant(room.opens_at, undefined, { dateStyle: "medium", timeStyle: "short" });
    render(
      section,
      html`<h1 id="call-title">Live session</h1>
        <div class="call-lobby">
          <video class="call-preview" data-role="preview" autoplay playsinline muted></video>
          <div class="card stack">
            <div class="field">
              <label for="call-camera">Camera</label>
              <select id="call-camera" data-role="camera"></select>
            </div>
            <div class="field">
              <label for="call-mic">Microphone</label>
              <select id="call-mic" data-role="mic"></select>
            </div>
            <p class="hint">Not sure your camera and microphone work? <a href="/device-check">Run a device check</a>.</p>
            <p class="form-alert" role="alert" data-role="lobby-alert"></p>
            ${room.is_open
              ? html`<button class="button" type="button" data-action="join">Join the session</button>`
              : html`<p class="notice" data-role="closed">The room opens at ${opens} (10 minutes before the session) and closes 30 minutes after it ends.</p>`}
          </div>
        </div>`,
    );
    const { signal } = this.#abort;
    this.querySelector('[data-action="join"]')?.addEventListener("click", () => this.#join(), { signal });
    for (const role of ["camera", "mic"]) {
      this.querySelector(`[data-role="${role}"]`).addEventListener("change", () => this.#preview(), { signal });
    }
    this.#preview();
  }

  async #preview() {
    const camera = this.querySelector('[data-role="camera"]')?.value;
    const mic = this.querySelector('[data-role="mic"]')?.value;
    await this.#startMedia({ camera, mic });
    const video = this.querySelector('[data-role="preview"]');
    if (video && this.#local) video.srcObject = this.#local;
    await this.#listDevices();
  }

  async #startMedia({ camera, mic }) {
    stopStream(this.#local);
    try {
      this.#local = await navigator.mediaDevices.getUserMedia({
        audio: mic ? { deviceId: { exact: mic } } : true,
        video: camera ? { deviceId: { exact: camera } } : true,
      });
    } catch (error) {
      this.#local = new MediaStream();
      const alert = this.querySelector('[data-role="lobby-alert"]');
      if (alert) alert.textContent = `Your camera or microphone could not be used (${error.name}). You can still join and chat.`;
    }
    this.#camera = this.#local.getVideoTracks()[0] ?? null;
  }

  async #listDevices() {
    const devices = await navigator.mediaDevices.enumerateDevices();
    const fill = (role, kind, current) => {
      const select = this.querySelector(`[data-role="${role}"]`);
      if (!select) return;
      const options = devices
        .filter((d) => d.kind === kind)
        .map((d, i) => html`<option value="${d.deviceId}" ${d.deviceId === current && html`selected`}>${d.label || `${kind} ${i + 1}`}</option>`);
      render(select, options);
    };
    fill("camera", "videoinput", this.#local.getVideoTracks()[0]?.getSettings().deviceId);
    fill("mic", "audioinput", this.#local.getAudioTracks()[0]?.getSettings().deviceId);
  }

  #join() {
    this.#showCall();
    this.#connect();
  }

  // --- in the call -------------------------------------------------------------------------

  #showCall() {
    const section = this.#section;
    section.removeAttribute("aria-busy");
    const room = this.#room;
    render(
      section,
      html`<h1 id="call-title">Live session</h1>
        <p class="call-status" role="status" data-role="status">Connecting…</p>
        <p class="recording-indicator" data-role="recording" hidden>● Recording</p>
        <div class="call-stage">
          <div class="call-remote" data-role="remote">
            <p class="muted call-waiting" data-role="waiting">Waiting for the other person to join…</p>
          </div>
          <video class="call-self" data-role="self" autoplay playsinline muted></video>
        </div>
        <div class="call-controls" role="toolbar" aria-label="Call controls">
          <button class="button" type="button" data-action="mute" aria-pressed="false">Mute</button>
          <button class="button" type="button" data-action="camera" aria-pressed="false">Camera off</button>
          <button class="button" type="button" data-action="screen" aria-pressed="false">Share screen</button>
          ${room.recording_allowed &&
          html`<button class="button" type="button" data-action="consent" aria-pressed="false">Allow recording</button>`}
          <button class="button danger" type="button" data-action="leave">Leave</button>
        </div>
        <p class="call-quality" data-role="quality" data-quality="unknown" aria-live="polite">Connection: measuring…</p>
        ${room.recording_allowed &&
        html`<p class="hint" data-role="consent-note">Recording starts only when both of you allow it, and stops the moment either of you withdraws.</p>`}
        <section class="call-chat card" aria-labelledby="chat-title">
          <h2 id="chat-title">Chat</h2>
          <ol class="chat-log" data-role="chat-log" aria-live="polite"></ol>
          <form class="chat-form" data-role="chat-form">
            <label class="visually-hidden" for="chat-text">Message</label>
            <input id="chat-text" name="text" autocomplete="off" maxlength="4000" placeholder="Write a message" />
            <button class="button" type="submit">Send</button>
          </form>
        </section>`,
    );
    const self = this.querySelector('[data-role="self"]');
    self.srcObject = this.#local;
    const { signal } = this.#abort;
    const on = (action, fn) =>
      this.querySelector(`[data-action="${action}"]`)?.addEventListener("click", fn, { signal });
    on("mute", () => this.#toggle("audio"));
    on("camera", () => this.#toggle("video"));
    on("screen", () => this.#toggleScreen());
    on("consent", () => this.#toggleConsent());
    on("leave", () => this.#leave());
    this.querySelector('[data-role="chat-form"]').addEventListener(
      "submit",
      (event) => {
        event.preventDefault();
        this.#sendChat(event.target);
      },
      { signal },
    );
    this.#timers.push(setInterval(() => this.#measure(), 1000));
    this.#timers.push(setInterval(() => this.#updateClocks(), 15000));
  }

  async #connect() {
    clearTimeout(this.#reconnectTimer);
    let room;
    try {
      room = await api.get(`/api/bookings/${encodeURIComponent(this.params.id)}/room`);
    } catch (error) {
      this.#status(error.detail);
      this.#scheduleReconnect();
      return;
    }
    if (this.#leaving || !this.isConnected) return;
    this.#room = room;
    const ws = new WebSocket(room.ws_url);
    this.#ws = ws;
    ws.onopen = () => {
      this.#retries = 0;
      const peerId = sessionStorage.getItem(peerKey(room.room_id));
      ws.send(JSON.stringify({ type: "join", peer_id: peerId || null, media: this.#media }));
    };
    ws.onmessage = (event) => this.#onMessage(JSON.parse(event.data));
    ws.onclose = (event) => {
      if (this.#ws !== ws || this.#leaving) return;
      if (event.code === 4001) {
        this.#status("You joined this session from another window; this one has stopped.");
        this.#closeLinks();
        return;
      }
      if (event.code === 4002) {
        this.#status("The room has closed.");
        this.#closeLinks();
        sessionStorage.removeItem(peerKey(room.room_id));
        return;
      }
      if (!NO_RECONNECT.has(event.code)) {
        this.#status("Connection to Meridian lost — reconnecting…");
        this.#scheduleReconnect();
      }
    };
  }

  #scheduleReconnect() {
    if (this.#leaving) return;
    const delay = Math.min(5000, 500 * 2 ** this.#retries);
    this.#retries += 1;
    this.#reconnectTimer = setTimeout(() => this.#connect(), delay);
  }

  #sendSignal(message) {
    if (this.#ws?.readyState === WebSocket.OPEN) this.#ws.send(JSON.stringify(message));
  }

  #onMessage(message) {
    switch (message.type) {
      case "peers":
        this.#me = message.you;
        sessionStorage.setItem(peerKey(this.#room.room_id), message.you.peer_id);
        this.#closeLinks();
        for (const peer of message.peers) this.#addPeer(peer);
        this.#showRecording(message.recording);
        this.#status(this.#people().length ? "In the session." : "You are in the room.");
        break;
      case "peer-joined": {
        const known = this.#peers.get(message.peer.peer_id);
        // With several server processes, a peer who joined just as we did can be both in
        // our `peers` and announced again; the same arrival must not restart the link.
        if (known && !message.resumed && known.info.joined === message.peer.joined) break;
        this.#addPeer(message.peer);
        if (!message.peer.recorder) {
          this.#status(`${message.peer.name} ${message.resumed ? "is back" : "joined"}.`);
        }
        break;
      }
      case "peer-reconnecting": {
        const peer = this.#peers.get(message.peer_id);
        if (peer?.tile) {
          peer.tile.dataset.reconnecting = "true";
          this.#status(`${peer.info.name} is reconnecting…`);
          this.#renderBadges(peer);
        }
        break;
      }
      case "peer-left":
        this.#removePeer(message.peer_id);
        break;
      case "signal": {
        const peer = this.#peers.get(message.from);
        if (peer) peer.link.receive(message.data);
        break;
      }
      case "chat":
        this.#appendChat(this.#peers.get(message.from)?.info.name ?? "Them", message.text, false);
        break;
      case "media-state": {
        const peer = this.#peers.get(message.from);
        if (peer?.tile) {
          peer.info.media = { audio: message.audio, video: message.video, screen: message.screen };
          this.#renderBadges(peer);
        }
        break;
      }
      case "record-consent": {
        const peer = this.#peers.get(message.from);
        if (peer?.tile) {
          peer.info.consent = message.consent;
          this.#renderBadges(peer);
        }
        break;
      }
      case "recording":
        this.#showRecording(message.active);
        break;
      case "error":
        if (message.code !== "no-such-peer" && message.code !== "peer-away") this.#status(message.message);
        break;
      default:
        break;
    }
  }

  #addPeer(info) {
    this.#removePeer(info.peer_id, { quiet: true });
    const polite = isPolite(this.#me, info);
    const link = new PeerLink({
      iceServers: this.#room.ice_servers,
      polite,
      // The impolite side offers first and the polite one waits: no collision on
      // arrival. Meridian's recorder only ever answers, so a page always offers to it.
      offerFirst: !polite || info.recorder,
      send: (data) => this.#sendSignal({ type: "signal", to: info.peer_id, data }),
    });
    if (info.recorder) {
      // Meridian's recorder: it receives our camera and microphone, and shows nothing.
      link.addStream(this.#outgoing());
      this.#peers.set(info.peer_id, { info, link, tile: null });
      return;
    }
    const tile = document.createElement("figure");
    tile.className = "call-tile";
    tile.dataset.peer = info.peer_id;
    render(
      tile,
      html`<video autoplay playsinline data-role="remote-video"></video>
        <figcaption>
          <span class="call-name">${info.name}</span>
          <span class="call-local-time" data-role="local-time"></span>
          <span class="call-badges" data-role="badges"></span>
        </figcaption>
        <button class="button call-sound" type="button" data-action="sound" hidden>Turn on sound</button>`,
    );
    const video = tile.querySelector("video");
    tile.querySelector('[data-action="sound"]').addEventListener("click", (event) => {
      event.target.hidden = true;
      video.play().catch(() => {});
    });
    link.addEventListener("track", ({ detail }) => {
      const stream = detail.streams[0] ?? new MediaStream([detail.track]);
      if (video.srcObject !== stream) video.srcObject = stream;
      video.play().catch(() => {
        tile.querySelector('[data-action="sound"]').hidden = false;
      });
    });
    link.addEventListener("restart", () => this.#status("The connection dropped — trying again…"));
    link.addEventListener("state", ({ detail }) => {
      if (detail === "connected") {
        delete tile.dataset.reconnecting;
        this.#status(`Connected with ${info.name}.`);
        this.#renderBadges(peer);
      }
    });
    link.addStream(this.#outgoing());
    const peer = { info, link, tile };
    this.#peers.set(info.peer_id, peer);
    const quality = this.querySelector('[data-role="quality"]');
    if (quality) {
      // A new link starts from nothing: no stale figures from the one it replaces.
      quality.dataset.framesDecoded = "0";
      quality.dataset.quality = "unknown";
    }
    const remote = this.querySelector('[data-role="remote"]');
    remote.querySelector('[data-role="waiting"]')?.setAttribute("hidden", "");
    remote.append(tile);
    this.#renderBadges(peer);
    this.#updateClocks();
  }

  #outgoing() {
    return new MediaStream([
      ...this.#local.getAudioTracks(),
      ...(this.#screen ? [this.#screen] : this.#local.getVideoTracks()),
    ]);
  }

  /** The people in the call (not Meridian's recorder). */
  #people() {
    return [...this.#peers.values()].filter((p) => !p.info.recorder);
  }

  #removePeer(peerId, { quiet = false } = {}) {
    const peer = this.#peers.get(peerId);
    if (!peer) return;
    peer.link.close();
    peer.tile?.remove();
    this.#peers.delete(peerId);
    if (!quiet && !peer.info.recorder) {
      this.#status(`${peer.info.name} left the session.`);
      if (this.#people().length === 0) {
        this.querySelector('[data-role="waiting"]')?.removeAttribute("hidden");
      }
    }
  }

  #closeLinks() {
    for (const id of [...this.#peers.keys()]) this.#removePeer(id, { quiet: true });
  }

  #renderBadges(peer) {
    if (!peer.tile) return;
    const { media, consent } = peer.info;
    const badges = [];
    if (peer.tile.dataset.reconnecting) badges.push(html`<span class="badge" data-badge="reconnecting">Reconnecting…</span>`);
    if (media && media.audio === false) badges.push(html`<span class="badge" data-badge="muted">Muted</span>`);
    if (media && media.video === false) badges.push(html`<span class="badge" data-badge="camera-off">Camera off</span>`);
    if (media?.screen) badges.push(html`<span class="badge" data-badge="screen">Sharing screen</span>`);
    if (consent) badges.push(html`<span class="badge" data-badge="consent">Allows recording</span>`);
    render(peer.tile.querySelector('[data-role="badges"]'), badges);
  }

  #updateClocks() {
    for (const peer of this.#people()) {
      const el = peer.tile.querySelector('[data-role="local-time"]');
      try {
        el.textContent = `${formatInstant(new Date(), peer.info.timezone, { timeStyle: "short" })} there (${peer.info.timezone.replaceAll("_", " ")})`;
      } catch {
        el.textContent = "";
      }
    }
  }

  async #measure() {
    const el = this.querySelector('[data-role="quality"]');
    const peer = this.#people()[0];
    if (!el || !peer) return;
    const stats = await linkStats(peer.link.pc);
    el.dataset.quality = stats.quality;
    el.dataset.framesDecoded = String(stats.framesDecoded);
    el.dataset.rttMs = stats.rttMs === null ? "" : stats.rttMs.toFixed(0);
    const words = { good: "good", fair: "fair", poor: "poor", unknown: "measuring…" };
    const details = [];
    if (stats.rttMs !== null) details.push(`${stats.rttMs.toFixed(0)} ms round trip`);
    if (stats.lossPercent !== null) details.push(`${stats.lossPercent.toFixed(1)} % loss`);
    el.textContent = `Connection: ${words[stats.quality]}${details.length ? ` (${details.join(", ")})` : ""}`;
  }

  #toggle(kind) {
    const track = kind === "audio" ? this.#local.getAudioTracks()[0] : this.#camera;
    this.#media[kind] = !this.#media[kind];
    if (track) track.enabled = this.#media[kind];
    const button = this.querySelector(`[data-action="${kind === "audio" ? "mute" : "camera"}"]`);
    button.setAttribute("aria-pressed", String(!this.#media[kind]));
    button.textContent =
      kind === "audio" ? (this.#media.audio ? "Mute" : "Unmute") : this.#media.video ? "Camera off" : "Camera on";
    this.#sendSignal({ type: "media-state", ...this.#media });
  }

  async #toggleScreen() {
    const button = this.querySelector('[data-action="screen"]');
    if (this.#screen) {
      this.#stopScreen();
      return;
    }
    try {
      const display = await navigator.mediaDevices.getDisplayMedia({ video: true });
      this.#screen = display.getVideoTracks()[0];
    } catch {
      return; // the person cancelled the picker
    }
    this.#screen.addEventListener("ended", () => this.#stopScreen());
    for (const peer of this.#peers.values()) await peer.link.replaceTrack("video", this.#screen);
    this.querySelector('[data-role="self"]').srcObject = new MediaStream([this.#screen]);
    this.#media.screen = true;
    button.setAttribute("aria-pressed", "true");
    button.textContent = "Stop sharing";
    this.#sendSignal({ type: "media-state", ...this.#media });
  }

  async #stopScreen() {
    if (!this.#screen) return;
    this.#screen.stop();
    this.#screen = null;
    for (const peer of this.#peers.values()) await peer.link.replaceTrack("video", this.#camera);
    this.querySelector('[data-role="self"]').srcObject = this.#local;
    this.#media.screen = false;
    const button = this.querySelector('[data-action="screen"]');
    button.setAttribute("aria-pressed", "false");
    button.textContent = "Share screen";
    this.#sendSignal({ type: "media-state", ...this.#media });
  }

  #toggleConsent() {
    this.#consent = !this.#consent;
    const button = this.querySelector('[data-action="consent"]');
    button.setAttribute("aria-pressed", String(this.#consent));
    button.textContent = this.#consent ? "Withdraw recording consent" : "Allow recording";
    this.#sendSignal({ type: "record-consent", consent: this.#consent });
  }

  #showRecording(active) {
    const el = this.querySelector('[data-role="recording"]');
    if (el) el.hidden = !active;
  }

  #sendChat(form) {
    const input = form.elements.text;
    const text = input.value.trim();
    if (!text) return;
    this.#sendSignal({ type: "chat", text });
    this.#appendChat("You", text, true);
    input.value = "";
  }

  #appendChat(who, text, mine) {
    const log = this.querySelector('[data-role="chat-log"]');
    if (!log) return;
    const item = document.createElement("li");
    item.className = mine ? "chat-mine" : "chat-theirs";
    render(item, html`<strong>${who}</strong> <span class="chat-text">${text}</span>`);
    log.append(item);
    log.scrollTop = log.scrollHeight;
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
        <p>Thank you. <a href="/sessions/${this.params.id}/call">Rejoin</a> or <a href="/">go to the start page</a>.</p>`,
    );
  }

  #hangUp({ bye }) {
    if (this.#leaving) return;
    this.#leaving = true;
    clearTimeout(this.#reconnectTimer);
    for (const timer of this.#timers) clearInterval(timer);
    if (bye) {
      this.#sendSignal({ type: "bye" });
      if (this.#room) sessionStorage.removeItem(peerKey(this.#room.room_id));
    }
    this.#ws?.close(1000);
    this.#closeLinks();
    stopStream(this.#local);
    this.#screen?.stop();
  }
}

export function registerCallPage() {
  if (!customElements.get("call-page")) customElements.define("call-page", CallPage);
}
