/**
 * The IANA zones the server accepts (GET /api/timezones, fetched once) and <option>s
 * for a <select>, grouped by region, each with its current UTC offset.
 */
import { api } from "./api.js";
import { html } from "./html.js";
import { browserTimeZone, now as currentTime, offsetLabel, zoneName } from "./time.js";

let zones = null;

export function loadTimezones() {
  zones ??= api.get("/api/timezones").then((body) => body.items);
  zones.catch(() => {
    zones = null;
  });
  return zones;
}

// Older names some browsers still report, and the names the zone database uses today.
const CURRENT_NAMES = {
  "Asia/Calcutta": "Asia/Kolkata",
  "Asia/Katmandu": "Asia/Kathmandu",
  "Asia/Rangoon": "Asia/Yangon",
  "Asia/Saigon": "Asia/Ho_Chi_Minh",
  "Atlantic/Faeroe": "Atlantic/Faroe",
  "Europe/Kiev": "Europe/Kyiv",
  "America/Buenos_Aires": "America/Argentina/Buenos_Aires",
  "America/Indianapolis": "America/Indiana/Indianapolis",
  "Pacific/Truk": "Pacific/Chuuk",
  "Pacific/Ponape": "Pacific/Pohnpei",
  "Etc/UTC": "UTC",
  "Etc/GMT": "UTC",
};

/** The browser's zone as a name from `known`, or "UTC" when the server does not know it. */
export function detectedTimeZone(known) {
  const zone = browserTimeZone();
  const current = CURRENT_NAMES[zone];
  if (current && known.includes(current)) return current;
  if (known.includes(zone)) return zone;
  return known.includes("UTC") ? "UTC" : known[0];
}

export function timezoneOptions(known, selected, now = currentTime()) {
  const groups = new Map();
  for (const zone of known) {
    const slash = zone.indexOf("/");
    const region = slash === -1 ? "Other" : zone.slice(0, slash);
    if (!groups.has(region)) groups.set(region, []);
    groups.get(region).push(zone);
  }
  return [...groups].map(
    ([region, names]) =>
      html`<optgroup label="${region}">
        ${names.map(
          (zone) =>
            html`<option value="${zone}" ${zone === selected && html`selected`}>${zoneName(zone)} (${offsetLabel(now, zone)})</option>`,
        )}
      </optgroup>`,
  );
}
