/**
 * WebRTC helpers shared by the call and device-check pages.
 *
 * PeerLink is one RTCPeerConnection to one other peer, negotiated with the "perfect
 * negotiation" pattern: both sides may offer whenever they need to; on a collision the
 * polite side (in Meridian: the one who joined second) rolls back and accepts the other's
 * offer, the impolite one ignores the incoming offer. ICE candidates trickle through
 * `send`, and a failed connection restarts ICE instead of giving up.
 *
 * The first offer is the impolite side's alone (`offerFirst`); the polite side waits for
 * it before offering anything itself. If both offered on arrival, every meeting would
 * start with a collision, and when Chromium rolls back a local offer whose ICE gathering
 * has just begun, it never gathers candidates for its answer: ICE stays "new" on both
 * sides and no video ever flows. The wait ends with the first remote description, or
 * after `OFFER_WAIT_MS` if none comes (an impolite side with nothing to send).
 *
 *   const link = new PeerLink({ iceServers, polite, offerFirst: !polite, send: (data) => ws.send(...) });
 *   link.addStream(localStream);
 *   link.addEventListener("track", (e) => (video.srcObject = e.detail.streams[0]));
 *   link.receive(data);   // every `signal` message from the other peer
 */

const OFFER_WAIT_MS = 4000;

export class PeerLink extends EventTarget {
  #send;
  #polite;
  #makingOffer = false;
  #ignoreOffer = false;
  #settingAnswer = false;
  #closed = false;
  #waiting = false; // for the other side's first offer
  #deferred = false; // negotiation was needed while waiting
  #waitTimer = null;

  constructor({ iceServers = [], polite, send, offerFirst = !polite }) {
    super();
    this.#send = send;
    this.#polite = polite;
    this.pc = new RTCPeerConnection({ iceServers });
    if (!offerFirst) {
      this.#waiting = true;
      this.#waitTimer = setTimeout(() => this.#stopWaiting(), OFFER_WAIT_MS);
    }
    this.pc.onnegotiationneeded = () => {
      if (this.#waiting) this.#deferred = true;
      else this.#negotiate();
    };
    this.pc.onicecandidate = ({ candidate }) => {
      if (candidate) this.#send({ candidate: candidate.toJSON() });
    };
    this.pc.ontrack = (event) => {
      this.dispatchEvent(new CustomEvent("track", { detail: event }));
    };
    this.pc.oniceconnectionstatechange = () => {
      if (this.pc.iceConnectionState === "failed") this.restartIce();
    };
    this.pc.onconnectionstatechange = () => {
      this.dispatchEvent(new CustomEvent("state", { detail: this.pc.connectionState }));
    };
  }

  get polite() {
    return this.#polite;
  }

  addStream(stream) {
    for (const track of stream.getTracks()) this.pc.addTrack(track, stream);
  }

  /** Swap the outgoing track of `kind` (camera ⇄ screen) without renegotiating. */
  async replaceTrack(kind, track) {
    const sender = this.pc.getSenders().find((s) => s.track?.kind === kind || s.kind === kind);
    if (sender) await sender.replaceTrack(track);
  }

  restartIce() {
    if (this.#closed) return;
    this.dispatchEvent(new CustomEvent("restart"));
    this.pc.restartIce();
  }

  /** Offer what was deferred, unless the other side's description came meanwhile. */
  #stopWaiting() {
    clearTimeout(this.#waitTimer);
    if (!this.#waiting) return;
    this.#waiting = false;
    const untouched = this.pc.signalingState === "stable" && !this.pc.remoteDescription;
    if (this.#deferred && untouched && !this.#closed) this.#negotiate();
  }

  async #negotiate() {
    try {
      this.#makingOffer = true;
      await this.pc.setLocalDescription();
      this.#send({ description: this.pc.localDescription.toJSON() });
    } catch (error) {
      this.dispatchEvent(new CustomEvent("problem", { detail: error }));
    } finally {
      this.#makingOffer = false;
    }
  }

  /** Apply one signal from the other peer: `{description}` or `{candidate}`. */
  async receive({ description, candidate }) {
    if (this.#closed) return;
    try {
      if (description) {
        // Chromium fires negotiationneeded again once stable if the answer left anything out.
        this.#waiting = false;
        clearTimeout(this.#waitTimer);
        const readyForOffer =
          !this.#makingOffer && (this.pc.signalingState === "stable" || this.#settingAnswer);
        const collision = description.type === "offer" && !readyForOffer;
        this.#ignoreOffer = !this.#polite && collision;
        if (this.#ignoreOffer) return;
        this.#settingAnswer = description.type === "answer";
        await this.pc.setRemoteDescription(description);
        this.#settingAnswer = false;
        if (description.type === "offer") {
          await this.pc.setLocalDescription();
          this.#send({ description: this.pc.localDescription.toJSON() });
        }
      } else if (candidate) {
        try {
          await this.pc.addIceCandidate(candidate);
        } catch (error) {
          if (!this.#ignoreOffer) throw error;
        }
      }
    } catch (error) {
      this.dispatchEvent(new CustomEvent("problem", { detail: error }));
    }
  }

  close() {
    this.#closed = true;
    clearTimeout(this.#waitTimer);
    this.pc.onnegotiationneeded = null;
    this.pc.onicecandidate = null;
    this.pc.ontrack = null;
    this.pc.close();
  }
}

/** Resolves once `pc` has gathered all its candidates (for servers that do not trickle). */
export function gathered(pc, timeoutMs = 5000) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (pc.iceGatheringState !== "complete") return;
      pc.removeEventListener("icegatheringstatechange", done);
      resolve();
    };
    pc.addEventListener("icegatheringstatechange", done);
    setTimeout(resolve, timeoutMs);
  });
}

/**
 * What getStats says about the link, summed up for people: round-trip time (ms),
 * jitter (ms), packet loss (%), video frames decoded and a quality word.
 */
export async function linkStats(pc) {
  const out = {
    rttMs: null,
    jitterMs: null,
    lossPercent: null,
    framesDecoded: 0,
    framesPerSecond: null,
    quality: "unknown",
  };
  if (!pc || pc.connectionState === "closed") return out;
  const report = await pc.getStats();
  let lost = 0;
  let received = 0;
  let jitters = [];
  report.forEach((s) => {
    if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded") {
      if (typeof s.currentRoundTripTime === "number") out.rttMs = s.currentRoundTripTime * 1000;
    }
    if (s.type === "remote-inbound-rtp" && out.rttMs === null && typeof s.roundTripTime === "number") {
      out.rttMs = s.roundTripTime * 1000;
    }
    if (s.type === "inbound-rtp") {
      lost += s.packetsLost ?? 0;
      received += s.packetsReceived ?? 0;
      if (typeof s.jitter === "number") jitters.push(s.jitter * 1000);
      if (s.kind === "video") {
        out.framesDecoded += s.framesDecoded ?? 0;
        if (typeof s.framesPerSecond === "number") out.framesPerSecond = s.framesPerSecond;
      }
    }
  });
  if (received + lost > 0) out.lossPercent = (100 * lost) / (received + lost);
  if (jitters.length) out.jitterMs = Math.max(...jitters);
  out.quality = qualityWord(out);
  return out;
}

function qualityWord({ rttMs, jitterMs, lossPercent }) {
  if (rttMs === null && lossPercent === null) return "unknown";
  const rtt = rttMs ?? 0;
  const loss = lossPercent ?? 0;
  const jitter = jitterMs ?? 0;
  if (rtt > 400 || loss > 5 || jitter > 60) return "poor";
  if (rtt > 200 || loss > 2 || jitter > 30) return "fair";
  return "good";
}

/**
 * A microphone level meter: calls `onLevel(0..1)` about 20 times a second until the
 * returned function is called. Needs an AudioContext, so start it from a click.
 */
export function micLevel(stream, onLevel) {
  const Context = window.AudioContext || window.webkitAudioContext;
  if (!Context || stream.getAudioTracks().length === 0) return () => {};
  const context = new Context();
  const source = context.createMediaStreamSource(stream);
  const analyser = context.createAnalyser();
  analyser.fftSize = 512;
  source.connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  const timer = setInterval(() => {
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const v of samples) sum += v * v;
    onLevel(Math.min(1, Math.sqrt(sum / samples.length) * 4));
  }, 50);
  context.resume().catch(() => {});
  return () => {
    clearInterval(timer);
    source.disconnect();
    context.close().catch(() => {});
  };
}

/** Stops every track of `stream` (camera light off). */
export function stopStream(stream) {
  for (const track of stream?.getTracks() ?? []) track.stop();
}

/**
 * The camera and microphone (the ones with these device ids, or the browser's choice).
 * When they cannot be opened, `stream` is empty and `error` says why, so a person can
 * still join a call and chat.
 */
export async function openMedia({ camera, mic } = {}) {
  try {
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: mic ? { deviceId: { exact: mic } } : true,
      video: camera ? { deviceId: { exact: camera } } : true,
    });
    return { stream, error: null };
  } catch (error) {
    return { stream: new MediaStream(), error };
  }
}
