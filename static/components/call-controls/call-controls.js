/**
 * The buttons of a call: mute, camera, screen sharing, recording consent and leave. Each
 * says what pressing it does now ("Mute", then "Unmute") and is pressed while its
 * switch is on. It only reports: a press fires `call-action` (bubbling) with
 * `detail.action` one of "mute", "camera", "screen", "consent", "leave"; the page acts
 * and then sets `state`.
 *
 *   <call-controls recording></call-controls>   (the attribute offers the consent button)
 *   controls.state = { audio: true, video: true, screen: false, consent: false };
 */
import { html, render } from "../../lib/html.js";
import { useStylesheet } from "../../lib/styles.js";

const LABELS = {
  mute: (s) => (s.audio ? "Mute" : "Unmute"),
  camera: (s) => (s.video ? "Camera off" : "Camera on"),
  screen: (s) => (s.screen ? "Stop sharing" : "Share screen"),
  consent: (s) => (s.consent ? "Withdraw recording consent" : "Allow recording"),
};
const PRESSED = {
  mute: (s) => !s.audio,
  camera: (s) => !s.video,
  screen: (s) => s.screen,
  consent: (s) => s.consent,
};

class CallControls extends HTMLElement {
  #abort = null;
  #state = { audio: true, video: true, screen: false, consent: false };

  set state(value) {
    this.#state = { ...this.#state, ...value };
    for (const button of this.querySelectorAll("[data-action]")) {
      const action = button.dataset.action;
      if (!LABELS[action]) continue;
      button.textContent = LABELS[action](this.#state);
      button.setAttribute("aria-pressed", String(PRESSED[action](this.#state)));
    }
  }

  connectedCallback() {
    useStylesheet("/components/call-controls/call-controls.css");
    this.#abort = new AbortController();
    const actions = ["mute", "camera", "screen", ...(this.hasAttribute("recording") ? ["consent"] : [])];
    render(
      this,
      html`<div class="call-controls" role="toolbar" aria-label="Call controls">
        ${actions.map((a) => html`<button class="button" type="button" data-action="${a}" aria-pressed="false"></button>`)}
        <button class="button danger" type="button" data-action="leave">Leave</button>
      </div>`,
    );
    this.state = {};
    this.addEventListener(
      "click",
      (event) => {
        const button = event.target.closest("button[data-action]");
        if (!button) return;
        this.dispatchEvent(new CustomEvent("call-action", { bubbles: true, detail: { action: button.dataset.action } }));
      },
      { signal: this.#abort.signal },
    );
  }

  disconnectedCallback() {
    this.#abort?.abort();
  }
}

export function registerCallControls() {
  if (!customElements.get("call-controls")) customElements.define("call-controls", CallControls);
}
