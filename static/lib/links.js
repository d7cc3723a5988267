/**
 * Links mailed by Meridian carry their secret in the fragment (#token=…): browsers never
 * send it to a server, so it reaches no log and no Referer. A page takes it once and
 * removes it from the address bar and the history.
 */
export function takeLinkToken() {
  const token = new URLSearchParams(location.hash.slice(1)).get("token") ?? "";
  if (location.hash) history.replaceState(history.state, "", location.pathname + location.search);
  return token.trim();
}
