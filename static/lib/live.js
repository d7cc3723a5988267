/**
 * A WebSocket that comes back: after a drop it connects again with doubling waits
 * (500 ms, 1 s, 2 s, ... up to `maxDelay`) until the page closes it, so every live page
 * (the thread, the call) retries the same way.
 *
 *   const live = new LiveSocket({
 *     url: async () => "wss://…",          // asked again before each attempt
 *     onOpen: () => live.send({ type: "join" }),
 *     onMessage: (message) => …,           // parsed JSON
 *     onDrop: (event) => …,                // return false to stop trying
 *     onError: (error) => …,               // `url()` threw; it is tried again
 *   });
 *   live.start(); … live.close();
 *
 * `live.attempts` counts the tries since the page last called `live.settled()`, which it
 * does once the server has said it is ready, so a page can tell a first connection from
 * a return (and fetch what it missed).
 */

export class LiveSocket {
  attempts = 0;
  #options;
  #ws = null;
  #timer = null;
  #closed = false;

  constructor({ url, onOpen = () => {}, onMessage = () => {}, onDrop = () => true, onError = () => {}, maxDelay = 10_000 }) {
    this.#options = { url, onOpen, onMessage, onDrop, onError, maxDelay };
  }

  get open() {
    return this.#ws?.readyState === WebSocket.OPEN;
  }

  async start() {
    clearTimeout(this.#timer);
    const { url, onOpen, onMessage, onDrop, onError } = this.#options;
    let address;
    try {
      address = await url();
    } catch (error) {
      if (this.#closed) return;
      onError(error);
      this.#retry();
      return;
    }
    if (this.#closed) return;
    const ws = new WebSocket(address);
    this.#ws = ws;
    ws.addEventListener("open", () => onOpen());
    ws.addEventListener("message", (event) => onMessage(JSON.parse(event.data)));
    ws.addEventListener("close", (event) => {
      if (this.#ws !== ws || this.#closed) return;
      if (onDrop(event) !== false) this.#retry();
    });
  }

  /** The connection is trusted again: the next drop starts from the shortest wait. */
  settled() {
    this.attempts = 0;
  }

  send(message) {
    if (this.open) this.#ws.send(JSON.stringify(message));
  }

  close(code = 1000) {
    this.#closed = true;
    clearTimeout(this.#timer);
    const ws = this.#ws;
    this.#ws = null;
    ws?.close(code);
  }

  #retry() {
    const delay = Math.min(this.#options.maxDelay, 500 * 2 ** this.attempts);
    this.attempts += 1;
    this.#timer = setTimeout(() => this.start(), delay);
  }
}
