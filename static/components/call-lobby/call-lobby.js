/**
 * Before joining a call: a preview of one's own camera, the camera and microphone to
 * use, a way to the device check, and "Join the session" (or when the room opens). The
 * lobby opens the devices itself; Join hands the stream over with `call-join` (bubbling,
 * `detail: { stream }`), and a stream not handed over is stopped when the lobby goes.
 *
 *   lobby.room = room;   // GET /api/bookings/{id}/room (is_open, opens_at)
 */
import { html, render } from "../../lib/html.js";
import { openMedia, stopStream } from "../../lib/rtc.js";
import { browserTimeZone, formatDateTime } from "../../lib/time.js";

class CallLobby extends HTMLElement {
  room = null;
  #abort = null;
  #stream = null;

  connectedCallback() {
    this.#abort = new AbortController();
    const { signal } = this.#abort;
    const room = this.room;
    render(
      this,
      html`<div class="call-lobby">
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
            : html`<p class="notice" data-role="closed">The room opens at ${formatDateTime(room.opens_at, browserTimeZone())}
                (10 minutes before the session) and closes 30 minutes after it ends.</p>`}
        </div>
      </div>`,
    );
    this.querySelector('[data-action="join"]')?.addEventListener("click", () => this.#join(), { signal });
    for (const role of ["camera", "mic"]) {
      this.querySelector(`[data-role="${role}"]`).addEventListener("change", () => this.#preview(), { signal });
    }
    this.#preview();
  }

  disconnectedCallback() {
    this.#abort?.abort();
    stopStream(this.#stream);
    this.#stream = null;
  }

  #join() {
    const stream = this.#stream;
    this.#stream = null; // the call's now
    this.dispatchEvent(new CustomEvent("call-join", { bubbles: true, detail: { stream } }));
  }

  async #preview() {
    const camera = this.querySelector('[data-role="camera"]').value;
    const mic = this.querySelector('[data-role="mic"]').value;
    stopStream(this.#stream);
    const { stream, error } = await openMedia({ camera, mic });
    if (!this.isConnected) {
      stopStream(stream);
      return;
    }
    this.#stream = stream;
    if (error) {
      this.querySelector('[data-role="lobby-alert"]').textContent =
        `Your camera or microphone could not be used (${error.name}). You can still join and chat.`;
    }
    this.querySelector('[data-role="preview"]').srcObject = stream;
    const devices = await navigator.mediaDevices.enumerateDevices();
    this.#fill("camera", devices.filter((d) => d.kind === "videoinput"), stream.getVideoTracks()[0]);
    this.#fill("mic", devices.filter((d) => d.kind === "audioinput"), stream.getAudioTracks()[0]);
  }

  #fill(role, devices, track) {
    const select = this.querySelector(`[data-role="${role}"]`);
    if (!select) return;
    const current = track?.getSettings().deviceId;
    render(
      select,
      devices.map(
        (d, i) => html`<option value="${d.deviceId}" ${d.deviceId === current && html`selected`}>${d.label || `${d.kind} ${i + 1}`}</option>`,
      ),
    );
  }
}

export function registerCallLobby() {
  if (!customElements.get("call-lobby")) customElements.define("call-lobby", CallLobby);
}
