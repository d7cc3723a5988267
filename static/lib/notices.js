/**
 * Live notifications for open pages: one EventSource on /api/notifications/events,
 * opened while at least one page listens and closed when the last one stops.
 *
 *   const stop = onNotice((event) => { ... event.notification ... });  // later: stop()
 *
 * Events are the bus messages of the signed-in person: {type: "notification",
 * notification} and {type: "notifications-read", unread_count}. The browser reconnects
 * by itself when the connection drops.
 */

const listeners = new Set();
let source = null;

function dispatch(message) {
  let data;
  try {
    data = JSON.parse(message.data);
  } catch {
    return;
  }
  for (const listener of [...listeners]) listener(data);
}

export function onNotice(listener) {
  listeners.add(listener);
  if (!source) {
    source = new EventSource("/api/notifications/events");
    source.addEventListener("notification", dispatch);
    source.addEventListener("notifications-read", dispatch);
  }
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0 && source) {
      source.close();
      source = null;
    }
  };
}
