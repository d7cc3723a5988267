/**
 * A small tus 1.0.0 client for uploading while recording.
 *
 *   const upload = new TusUpload({ metadata: { filetype: "video/webm" } });
 *   await upload.start();                   // POST with Upload-Defer-Length: 1
 *   recorder.ondataavailable = (e) => upload.push(e.data);   // each chunk is PATCHed
 *   const uploadId = await upload.finish(); // sets Upload-Length once the last chunk is in
 *
 * PATCHes are serialized: one request at a time, each from the offset the server
 * acknowledged. When a request fails (a dropped connection, a restarting server), the
 * upload asks the server for its offset with HEAD and resumes from there, keeping every
 * byte the server has not acknowledged. "progress" events carry `{ sent, total }`.
 *
 * It calls `fetch` itself, the one module besides lib/api.js that does: tus speaks in
 * headers (Upload-Offset, Upload-Length) and binary PATCH bodies, not in JSON.
 */

const TUS = { "Tus-Resumable": "1.0.0" };
const RETRY_DELAYS = [250, 500, 1000, 2000, 4000, 8000, 8000, 8000];
const GIVE_UP = new Set([400, 401, 403, 404, 410, 413, 415, 422]);
const RESYNCED = 299; // not from the server: "adopted its offset, build the request again"

export class TusError extends Error {
  constructor(status, problem = {}) {
    super(problem.detail || `The upload failed (${status}).`);
    this.name = "TusError";
    this.status = status;
    this.problem = problem;
  }
}

function encodeMetadata(metadata) {
  return Object.entries(metadata)
    .map(([key, value]) => {
      const bytes = new TextEncoder().encode(String(value));
      let binary = "";
      bytes.forEach((b) => {
        binary += String.fromCharCode(b);
      });
      return `${key} ${btoa(binary)}`;
    })
    .join(",");
}

async function problemOf(response) {
  const type = response.headers.get("Content-Type") ?? "";
  if (type.includes("json")) return response.json().catch(() => ({}));
  return {};
}

const sleep = (ms) =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });

export class TusUpload extends EventTarget {
  #endpoint;
  #metadata;
  #url = null;
  #chunks = []; // [{ start, blob }] not yet acknowledged by the server
  #total = 0; // bytes handed to push()
  #offset = 0; // bytes the server acknowledged
  #pumping = null;
  #failure = null;
  #aborted = false;

  constructor({ endpoint = "/api/uploads/", metadata = {} } = {}) {
    super();
    this.#endpoint = endpoint;
    this.#metadata = metadata;
  }

  get url() {
    return this.#url;
  }

  get id() {
    return this.#url ? this.#url.split("/").pop() : null;
  }

  /** Bytes the server has acknowledged, and bytes recorded so far. */
  get sent() {
    return this.#offset;
  }

  get total() {
    return this.#total;
  }

  async start() {
    const headers = { ...TUS, "Upload-Defer-Length": "1" };
    if (Object.keys(this.#metadata).length) headers["Upload-Metadata"] = encodeMetadata(this.#metadata);
    const response = await this.#retrying(() => fetch(this.#endpoint, { method: "POST", headers, credentials: "same-origin" }));
    if (response.status !== 201) throw new TusError(response.status, await problemOf(response));
    this.#url = new URL(response.headers.get("Location"), location.href).pathname;
    return this.#url;
  }

  /** Queue a recorded chunk; it is sent as soon as the previous PATCH is done. */
  push(blob) {
    if (!blob || blob.size === 0 || this.#aborted) return;
    this.#chunks.push({ start: this.#total, blob });
    this.#total += blob.size;
    this.#progress();
    this.#pump();
  }

  /** Wait for every chunk, then fix the length; resolves with the upload id. */
  async finish() {
    let failures = 0;
    for (;;) {
      try {
        await this.#drain();
      } catch (error) {
        // A long outage used up one round of retries; stopping is worth one more.
        failures += 1;
        if (failures > 1) throw error;
        this.#pump();
        continue;
      }
      if (this.#offset < this.#total) {
        this.#pump();
        continue;
      }
      const response = await this.#retrying(
        () =>
          fetch(this.#url, {
            method: "PATCH",
            headers: {
              ...TUS,
              "Content-Type": "application/offset+octet-stream",
              "Upload-Offset": String(this.#total),
              "Upload-Length": String(this.#total),
            },
            credentials: "same-origin",
          }),
        { resync: true },
      );
      if (response.status === RESYNCED) continue;
      if (response.status !== 204) throw new TusError(response.status, await problemOf(response));
      this.#offset = this.#total;
      this.#progress();
      return this.id;
    }
  }

  /** Give the upload up; the server removes what it had (tus termination). */
  async abort() {
    this.#aborted = true;
    this.#chunks = [];
    if (this.#url) {
      await fetch(this.#url, { method: "DELETE", headers: TUS, credentials: "same-origin" }).catch(() => {});
    }
  }

  #progress() {
    this.dispatchEvent(new CustomEvent("progress", { detail: { sent: this.#offset, total: this.#total } }));
  }

  async #drain() {
    while (this.#pumping) await this.#pumping;
    if (this.#failure) throw this.#failure;
  }

  #pump() {
    if (this.#pumping || !this.#url) return;
    this.#failure = null; // new chunks are a new chance for the connection to come back
    this.#pumping = this.#sendAll()
      .catch((error) => {
        this.#failure = error;
        this.dispatchEvent(new CustomEvent("error", { detail: error }));
      })
      .finally(() => {
        this.#pumping = null;
        if (!this.#failure && this.#offset < this.#total && !this.#aborted) this.#pump();
      });
  }

  async #sendAll() {
    while (this.#offset < this.#total && !this.#aborted) {
      const start = this.#offset;
      if (this.#chunks.length && this.#chunks[0].start > start) {
        throw new TusError(0, { detail: "The server lost part of the recording; record it again." });
      }
      const parts = this.#chunks.map(({ start: s, blob }) => (s < start ? blob.slice(start - s) : blob));
      const body = new Blob(parts);
      const end = start + body.size;
      const response = await this.#retrying(
        () =>
          fetch(this.#url, {
            method: "PATCH",
            headers: { ...TUS, "Content-Type": "application/offset+octet-stream", "Upload-Offset": String(start) },
            body,
            credentials: "same-origin",
          }),
        { resync: true },
      );
      if (response.status === RESYNCED) continue; // the server's offset moved: rebuild
      if (response.status !== 204) throw new TusError(response.status, await problemOf(response));
      this.#acknowledge(Number(response.headers.get("Upload-Offset") ?? end));
    }
  }

  #acknowledge(offset) {
    this.#offset = offset;
    this.#chunks = this.#chunks.filter(({ start, blob }) => start + blob.size > offset);
    this.#progress();
  }

  /** Run `send` until it gets an answer worth keeping; after a failure, ask the offset. */
  async #retrying(send, { resync = false } = {}) {
    for (let attempt = 0; ; attempt += 1) {
      let response = null;
      try {
        response = await send();
      } catch {
        response = null; // the network went away
      }
      if (response && (response.ok || GIVE_UP.has(response.status))) return response;
      if (attempt >= RETRY_DELAYS.length || this.#aborted) {
        if (response) return response;
        throw new TusError(0, { detail: "The connection is gone; the recording could not be sent." });
      }
      this.dispatchEvent(new CustomEvent("retry", { detail: { attempt: attempt + 1 } }));
      await sleep(RETRY_DELAYS[attempt]);
      if (resync && (await this.#resync())) {
        return new Response(null, { status: RESYNCED });
      }
    }
  }

  /** HEAD: adopt the server's offset. True when the pending PATCH must be rebuilt. */
  async #resync() {
    try {
      const response = await fetch(this.#url, { method: "HEAD", headers: TUS, credentials: "same-origin" });
      if (!response.ok) return false;
      const offset = Number(response.headers.get("Upload-Offset"));
      if (Number.isFinite(offset) && offset !== this.#offset) {
        this.#acknowledge(offset);
        return true;
      }
    } catch {
      // still offline: the next attempt will tell
    }
    return false;
  }
}
