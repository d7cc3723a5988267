/**
 * One person's side of a call's room, without any elements: the signalling socket
 * (server/live/protocol.py, reconnected by lib/live.js with a fresh room token each
 * time), the peer id kept in sessionStorage so a reload or a dropped connection rejoins
 * as the same peer (the other side sees "reconnecting", not "left"), and a PeerLink per
 * other peer. Meridian's recorder is a peer too: it gets our media and is never shown.
 * The page listens and draws:
 *
 *   const room = new CallRoom({ path: "/api/bookings/<id>/room", room, outgoing: () => stream });
 *   room.addEventListener("peer", (e) => e.detail.peer);   // a person came (or came back)
 *   room.start({ audio: true, video: true, screen: false });
 *
 * Events, each a CustomEvent with `detail`:
 *   status      { text }          what is happening, in words for the status line
 *   peer        { peer }          a person's link; `peer` is { info, link, media, consent, reconnecting }
 *   peer-left   { peer, quiet }   gone; quiet when a fresh link of the same peer replaces it
 *   peer-state  { peer }          its media, consent or reconnecting changed
 *   track       { peer, stream }  their camera and microphone (or screen) arrived
 *   chat        { peer, text }    `peer` is undefined for someone no longer known
 *   recording   { active }
 */
import { api } from "./api.js";
import { LiveSocket } from "./live.js";
import { PeerLink } from "./rtc.js";

const STOPPED = {
  4001: "You joined this session from another window; this one has stopped.",
  4002: "The room has closed.",
};

function peerKey(roomId) {
  return `meridian:peer:${roomId}`;
}

/** The later of two peers to join is the polite one (ties broken by peer id). */
function isPolite(me, other) {
  if (me.joined !== other.joined) return me.joined > other.joined;
  return me.peer_id > other.peer_id;
}

/** Forget the peer id kept for `room`: the next visit joins afresh. */
export function forgetPeer(room) {
  sessionStorage.removeItem(peerKey(room.room_id));
}

/** A room this browser was in before a reload, and that is still open. */
export function resumable(room) {
  return room.is_open && Boolean(sessionStorage.getItem(peerKey(room.room_id)));
}

export class CallRoom extends EventTarget {
  #path;
  #room;
  #outgoing;
  #live = null;
  #me = null;
  #peers = new Map(); // peer id → peer

  constructor({ path, room, outgoing }) {
    super();
    this.#path = path;
    this.#room = room;
    this.#outgoing = outgoing;
  }

  start(media) {
    this.#live = new LiveSocket({
      maxDelay: 5000,
      url: async () => {
        this.#room = await api.get(this.#path);
        return this.#room.ws_url;
      },
      onOpen: () => {
        this.#live.settled();
        const peerId = sessionStorage.getItem(peerKey(this.#room.room_id));
        this.send({ type: "join", peer_id: peerId || null, media });
      },
      onMessage: (message) => this.#onMessage(message),
      onDrop: (event) => this.#onDrop(event),
      onError: (error) => this.#emit("status", { text: error.detail }),
    });
    this.#live.start();
  }

  /** chat, media-state, record-consent: sent when connected, dropped otherwise. */
  send(message) {
    this.#live?.send(message);
  }

  /** The people in the call (not Meridian's recorder). */
  people() {
    return [...this.#peers.values()].filter((p) => !p.info.recorder);
  }

  /** Send `track` as our video to every peer (the camera, or the screen while shared). */
  async replaceVideo(track) {
    for (const peer of this.#peers.values()) await peer.link.replaceTrack("video", track);
  }

  /** Leave for good (`bye`: the others see "left" at once) or just stop, as a closing tab does. */
  leave({ bye }) {
    if (bye) {
      this.send({ type: "bye" });
      sessionStorage.removeItem(peerKey(this.#room.room_id));
    }
    this.#live?.close(1000);
    this.#closeLinks();
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  #onDrop(event) {
    const stopped = STOPPED[event.code];
    if (!stopped) {
      this.#emit("status", { text: "Connection to Meridian lost — reconnecting…" });
      return true;
    }
    this.#emit("status", { text: stopped });
    this.#closeLinks();
    if (event.code === 4002) sessionStorage.removeItem(peerKey(this.#room.room_id));
    return false;
  }

  #onMessage(message) {
    const peer = this.#peers.get(message.from ?? message.peer_id);
    const status = (text) => this.#emit("status", { text });
    switch (message.type) {
      case "peers":
        this.#me = message.you;
        sessionStorage.setItem(peerKey(this.#room.room_id), message.you.peer_id);
        this.#closeLinks();
        for (const other of message.peers) this.#addPeer(other);
        this.#emit("recording", { active: message.recording });
        status(this.people().length ? "In the session." : "You are in the room.");
        break;
      case "peer-joined": {
        const known = this.#peers.get(message.peer.peer_id);
        // With several server processes, a peer who joined just as we did can be both in
        // our `peers` and announced again; the same arrival must not restart the link.
        if (known && !message.resumed && known.info.joined === message.peer.joined) break;
        this.#addPeer(message.peer);
        if (!message.peer.recorder) status(`${message.peer.name} ${message.resumed ? "is back" : "joined"}.`);
        break;
      }
      case "peer-reconnecting":
        if (peer && !peer.info.recorder) {
          this.#change(peer, { reconnecting: true });
          status(`${peer.info.name} is reconnecting…`);
        }
        break;
      case "peer-left":
        this.#removePeer(message.peer_id);
        break;
      case "signal":
        peer?.link.receive(message.data);
        break;
      case "chat":
        this.#emit("chat", { peer, text: message.text });
        break;
      case "media-state":
        if (peer) this.#change(peer, { media: { audio: message.audio, video: message.video, screen: message.screen } });
        break;
      case "record-consent":
        if (peer) this.#change(peer, { consent: message.consent });
        break;
      case "recording":
        this.#emit("recording", { active: message.active });
        break;
      case "error":
        if (message.code !== "no-such-peer" && message.code !== "peer-away") status(message.message);
        break;
      default:
        break;
    }
  }

  #change(peer, change) {
    Object.assign(peer, change);
    if (!peer.info.recorder) this.#emit("peer-state", { peer });
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
      send: (data) => this.send({ type: "signal", to: info.peer_id, data }),
    });
    const peer = { info, link, media: info.media, consent: info.consent, reconnecting: false };
    this.#peers.set(info.peer_id, peer);
    if (!info.recorder) {
      link.addEventListener("track", ({ detail }) => {
        this.#emit("track", { peer, stream: detail.streams[0] ?? new MediaStream([detail.track]) });
      });
      link.addEventListener("restart", () => this.#emit("status", { text: "The connection dropped — trying again…" }));
      link.addEventListener("state", ({ detail }) => {
        if (detail !== "connected") return;
        this.#change(peer, { reconnecting: false });
        this.#emit("status", { text: `Connected with ${info.name}.` });
      });
      this.#emit("peer", { peer });
    }
    link.addStream(this.#outgoing());
  }

  #removePeer(peerId, { quiet = false } = {}) {
    const peer = this.#peers.get(peerId);
    if (!peer) return;
    peer.link.close();
    this.#peers.delete(peerId);
    if (peer.info.recorder) return;
    this.#emit("peer-left", { peer, quiet });
    if (!quiet) this.#emit("status", { text: `${peer.info.name} left the session.` });
  }

  #closeLinks() {
    for (const id of [...this.#peers.keys()]) this.#removePeer(id, { quiet: true });
  }
}
