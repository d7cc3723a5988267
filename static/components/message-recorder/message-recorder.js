/**
 * Records a voice or video message and uploads it while the person talks.
 *
 * MediaRecorder hands over a chunk every second; each is PATCHed to a tus upload with
 * a deferred length (static/lib/tus.js), so pressing stop only sends the last second
 * and fixes the length. A progress bar shows what the server has. When the upload is
 * accepted the element fires `recorded` with `{ uploadId, kind }`; the thread page
 * then posts the message.
 */
import { html, render } from "../../lib/html.js";
import { useStylesheet } from "../../lib/styles.js";
import { formatClock } from "../../lib/time.js";
import { TusUpload } from "../../lib/tus.js";

const TYPES = {
  video: ["video/webm;codecs=vp8,opus", "video/webm;codecs=vp9,opus", "video/webm", "video/mp4"],
  audio: ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/webm", "audio/mp4"],
};
const TIMESLICE_MS = 1000;

function pickType(kind) {
  return TYPES[kind].find((type) => window.MediaRecorder?.isTypeSupported(type)) ?? "";
}

function megabytes(bytes) {
  return `${(bytes / 1_000_000).toFixed(bytes < 10_000_000 ? 2 : 1)} MB`;
}

class MessageRecorder extends HTMLElement {
  #abort = null;
  #stream = null;
  #recorder = null;
  #upload = null;
  #kind = null;
  #started = 0;
  #timer = null;
  #stopped = null;

  connectedCallback() {
    useStylesheet("/components/message-recorder/message-recorder.css");
    this.#abort = new AbortController();
    this.#idle();
    this.addEventListener("click", (event) => this.#onClick(event), { signal: this.#abort.signal });
  }

  disconnectedCallback() {
    this.#abort?.abort();
    this.#cancel();
  }

  #idle(message = "") {
    render(
      this,
      html`<div class="recorder" data-state="idle">
        <div class="actions">
          <button type="button" data-record="video">Record video</button>
          <button type="button" data-record="audio">Record voice</button>
        </div>
        <p class="form-alert" role="alert">${message}</p>
      </div>`,
    );
  }

  #onClick(event) {
    const button = event.target.closest("button");
    if (!button) return;
    if (button.dataset.record) this.#start(button.dataset.record);
    else if (button.hasAttribute("data-stop")) this.#stop();
    else if (button.hasAttribute("data-cancel")) {
      this.#cancel();
      this.#idle();
    }
  }

  async #start(kind) {
    if (!window.MediaRecorder) {
      this.#idle("This browser cannot record. Try a current Chrome, Edge, Firefox or Safari.");
      return;
    }
    this.#kind = kind;
    try {
      this.#stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: kind === "video" });
    } catch {
      this.#idle(`Meridian may not use your ${kind === "video" ? "camera and microphone" : "microphone"}. Allow it in the browser's site settings.`);
      return;
    }
    const mimeType = pickType(kind);
    this.#upload = new TusUpload({
      metadata: { filetype: mimeType || `${kind}/webm`, filename: `${kind}-message.${mimeType.includes("mp4") ? "mp4" : "webm"}` },
    });
    this.#recording();
    this.#upload.addEventListener("progress", (event) => this.#showProgress(event.detail));
    this.#upload.addEventListener("retry", () => {
      this.#status("Connection lost — resuming…");
    });
    try {
      await this.#upload.start();
    } catch (error) {
      this.#cancel();
      this.#idle(error.message);
      return;
    }
    this.#recorder = new MediaRecorder(this.#stream, mimeType ? { mimeType } : {});
    this.#stopped = new Promise((resolve) => {
      this.#recorder.addEventListener("stop", resolve, { once: true });
    });
    this.#recorder.addEventListener("dataavailable", (event) => this.#upload?.push(event.data));
    this.#recorder.start(TIMESLICE_MS);
    this.#started = performance.now();
    this.#timer = setInterval(() => this.#tick(), 250);
    this.dataset.state = "recording";
    this.querySelector("[data-stop]").disabled = false;
  }

  #recording() {
    render(
      this,
      html`<div class="recorder" data-state="recording">
        ${this.#kind === "video" ? html`<video class="recorder-preview" muted playsinline autoplay></video>` : ""}
        <p class="recorder-live"><span class="recorder-dot" aria-hidden="true"></span>
          Recording <span data-elapsed>0:00</span></p>
        <label class="recorder-progress">Sent
          <progress data-progress max="1" value="0"></progress>
          <span data-sent>0.00 MB of 0.00 MB</span></label>
        <p class="hint" data-status role="status"></p>
        <div class="actions">
          <button type="button" data-stop disabled>Stop and send</button>
          <button type="button" class="link-button" data-cancel>Cancel</button>
        </div>
      </div>`,
    );
    const preview = this.querySelector("video");
    if (preview) preview.srcObject = this.#stream;
  }

  #tick() {
    const elapsed = this.querySelector("[data-elapsed]");
    if (elapsed) elapsed.textContent = formatClock(Math.floor((performance.now() - this.#started) / 1000));
  }

  #status(text) {
    const status = this.querySelector("[data-status]");
    if (status) status.textContent = text;
  }

  #showProgress({ sent, total }) {
    const bar = this.querySelector("[data-progress]");
    if (!bar) return;
    bar.max = Math.max(total, 1);
    bar.value = sent;
    this.querySelector("[data-sent]").textContent = `${megabytes(sent)} of ${megabytes(total)}`;
    this.dataset.sent = String(sent);
    this.dataset.total = String(total);
    if (sent === total) this.#status("");
  }

  async #stop() {
    const upload = this.#upload;
    if (!upload || !this.#recorder) return;
    this.querySelector("[data-stop]").disabled = true;
    this.#status("Sending the last second…");
    this.#recorder.stop();
    await this.#stopped;
    clearInterval(this.#timer);
    this.#stopTracks();
    try {
      const uploadId = await upload.finish();
      this.#upload = null;
      this.dispatchEvent(new CustomEvent("recorded", { bubbles: true, detail: { uploadId, kind: this.#kind } }));
      this.#idle();
    } catch (error) {
      this.#upload = null;
      this.#idle(error.message);
    }
  }

  #stopTracks() {
    this.#stream?.getTracks().forEach((track) => track.stop());
    this.#stream = null;
  }

  #cancel() {
    clearInterval(this.#timer);
    if (this.#recorder && this.#recorder.state !== "inactive") this.#recorder.stop();
    this.#recorder = null;
    this.#stopTracks();
    this.#upload?.abort();
    this.#upload = null;
    delete this.dataset.state;
  }
}

export function registerMessageRecorder() {
  customElements.define("message-recorder", MessageRecorder);
}
