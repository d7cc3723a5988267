/**
 * Device check (/device-check): sends the camera and microphone to Meridian's echo peer
 * and shows what comes back, a microphone level meter, and the round-trip time, jitter
 * and packet loss of the connection — before a session, not during it.
 *
 * The echo peer does not trickle ICE, so the offer is sent once the browser has
 * gathered its candidates, and the answer arrives with all of the server's.
 */
import { api } from "../../lib/api.js";
import { html, render } from "../../lib/html.js";
import { gathered, linkStats, micLevel, stopStream } from "../../lib/rtc.js";
import { useStylesheet } from "../../lib/styles.js";

export const DEVICE_CHECKED = "meridian.device-checked";

class DeviceCheckPage extends HTMLElement {
  #abort = null;
  #pc = null;
  #local = null;
  #checkId = null;
  #stopMeter = () => {};
  #timer = null;

  connectedCallback() {
    useStylesheet("/components/call-controls/call-controls.css"); // its buttons look like a call's
    this.#abort = new AbortController();
    render(
      this,
      html`<link rel="stylesheet" href="/components/call-page/call-page.css" />
        <section class="page call" aria-labelledby="check-title">
          <h1 id="check-title">Device check</h1>
          <p class="lead">See and hear yourself the way the other person will: your camera and
            microphone travel to Meridian and back.</p>
          <div class="call-lobby">
            <div class="stack">
              <h2>What you send</h2>
              <video class="check-video" data-role="local" autoplay playsinline muted></video>
              <label for="check-level">Microphone level</label>
              <meter id="check-level" class="check-meter" data-role="level" min="0" max="1" low="0.05" high="0.8" value="0"></meter>
            </div>
            <div class="stack">
              <h2>What comes back</h2>
              <video class="check-video" data-role="echo" autoplay playsinline></video>
              <dl class="facts check-facts">
                <div><dt>Round trip</dt><dd data-role="rtt">–</dd></div>
                <div><dt>Jitter</dt><dd data-role="jitter">–</dd></div>
                <div><dt>Packet loss</dt><dd data-role="loss">–</dd></div>
                <div><dt>Frames back</dt><dd data-role="frames">0</dd></div>
              </dl>
            </div>
          </div>
          <p class="call-status" role="status" data-role="status">Press start to check your camera and microphone.</p>
          <p class="form-alert" role="alert" data-role="alert"></p>
          <div class="call-controls">
            <button class="button" type="button" data-action="start">Start the check</button>
            <button class="button danger" type="button" data-action="stop" disabled>Stop</button>
          </div>
        </section>`,
    );
    const { signal } = this.#abort;
    this.querySelector('[data-action="start"]').addEventListener("click", () => this.#start(), { signal });
    this.querySelector('[data-action="stop"]').addEventListener("click", () => this.#stop(), { signal });
  }

  disconnectedCallback() {
    this.#abort?.abort();
    this.#stop();
  }

  #set(role, text) {
    const el = this.querySelector(`[data-role="${role}"]`);
    if (el) el.textContent = text;
  }

  async #start() {
    this.#set("alert", "");
    const startButton = this.querySelector('[data-action="start"]');
    startButton.disabled = true;
    try {
      this.#local = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    } catch (error) {
      this.#set("alert", `Your camera or microphone could not be opened (${error.name}). Check the browser's permissions.`);
      startButton.disabled = false;
      return;
    }
    this.querySelector('[data-role="local"]').srcObject = this.#local;
    const meter = this.querySelector('[data-role="level"]');
    this.#stopMeter = micLevel(this.#local, (level) => {
      meter.value = level;
    });
    this.#set("status", "Connecting to Meridian…");
    const pc = new RTCPeerConnection();
    this.#pc = pc;
    for (const track of this.#local.getTracks()) pc.addTrack(track, this.#local);
    pc.ontrack = (event) => {
      const echo = this.querySelector('[data-role="echo"]');
      if (echo.srcObject !== event.streams[0]) echo.srcObject = event.streams[0];
      echo.play().catch(() => {});
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === "connected") {
        this.#set("status", "Connected: this is what the other person will get.");
        // Home's first steps tick "try your camera and microphone" from this.
        localStorage.setItem(DEVICE_CHECKED, new Date().toISOString());
      }
      if (pc.connectionState === "failed") this.#set("alert", "The connection failed. A firewall may block calls from this network.");
    };
    try {
      await pc.setLocalDescription(await pc.createOffer());
      await gathered(pc);
      const answer = await api.post("/api/device-check", {
        sdp: pc.localDescription.sdp,
        type: "offer",
      });
      this.#checkId = answer.id;
      await pc.setRemoteDescription({ type: answer.type, sdp: answer.sdp });
    } catch (error) {
      this.#set("alert", error.detail ?? String(error));
      this.#stop();
      return;
    }
    this.querySelector('[data-action="stop"]').disabled = false;
    this.#timer = setInterval(() => this.#measure(), 1000);
  }

  async #measure() {
    if (!this.#pc) return;
    const stats = await linkStats(this.#pc);
    this.#set("rtt", stats.rttMs === null ? "–" : `${stats.rttMs.toFixed(0)} ms`);
    this.#set("jitter", stats.jitterMs === null ? "–" : `${stats.jitterMs.toFixed(1)} ms`);
    this.#set("loss", stats.lossPercent === null ? "–" : `${stats.lossPercent.toFixed(1)} %`);
    this.#set("frames", String(stats.framesDecoded));
    const rtt = this.querySelector('[data-role="rtt"]');
    if (rtt) rtt.dataset.value = stats.rttMs === null ? "" : String(stats.rttMs);
  }

  async #stop() {
    clearInterval(this.#timer);
    this.#stopMeter();
    this.#stopMeter = () => {};
    const pc = this.#pc;
    this.#pc = null;
    if (this.#checkId) {
      // Hang up on the server first; closing the connection first would end it there too.
      const id = this.#checkId;
      this.#checkId = null;
      await api.del(`/api/device-check/${id}`).catch(() => {});
    }
    pc?.close();
    stopStream(this.#local);
    this.#local = null;
    const start = this.querySelector('[data-action="start"]');
    if (start) start.disabled = false;
    const stop = this.querySelector('[data-action="stop"]');
    if (stop) stop.disabled = true;
    this.#set("status", "Stopped. Press start to check again.");
  }
}

export function registerDeviceCheckPage() {
  if (!customElements.get("device-check-page")) customElements.define("device-check-page", DeviceCheckPage);
}
