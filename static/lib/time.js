/**
 * Instants shown in a person's own time zone, with Intl only (no time-zone data of our
 * own: the browser's ICU knows every IANA zone and its rules).
 *
 * An "instant" is anything `new Date(x)` accepts: a Date, epoch milliseconds, or an
 * ISO 8601 string with an offset as the API sends them ("2026-11-25T12:00:00Z").
 */

/** The zone the browser runs in, e.g. "Asia/Kolkata". */
export function browserTimeZone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

function toDate(instant) {
  const date = instant instanceof Date ? instant : new Date(instant);
  if (Number.isNaN(date.getTime())) throw new RangeError(`Not an instant: ${instant}`);
  return date;
}

const formatters = new Map();

function formatter(locale, options) {
  const key = `${locale ?? ""}|${JSON.stringify(options)}`;
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(locale, options);
    formatters.set(key, f);
  }
  return f;
}

/** "25 Nov 2026, 17:30" style text for `instant` as seen in `timeZone`. */
export function formatInstant(
  instant,
  timeZone,
  options = { dateStyle: "medium", timeStyle: "short" },
  locale = undefined,
) {
  return formatter(locale, { ...options, timeZone }).format(toDate(instant));
}

/** Only the wall-clock time, e.g. "17:30" or "5:30 PM" depending on the locale. */
export function formatTime(instant, timeZone, locale = undefined) {
  return formatInstant(instant, timeZone, { timeStyle: "short" }, locale);
}

/** Only the date, with the weekday, e.g. "Wednesday, 25 November 2026". */
export function formatDate(instant, timeZone, locale = undefined) {
  return formatInstant(instant, timeZone, { dateStyle: "full" }, locale);
}

/** The zone's UTC offset at that instant, e.g. "GMT+5:30" or "GMT+1". */
export function offsetLabel(instant, timeZone, locale = "en-US") {
  const parts = formatter(locale, { timeZone, timeZoneName: "shortOffset" }).formatToParts(
    toDate(instant),
  );
  return parts.find((p) => p.type === "timeZoneName")?.value ?? timeZone;
}

/** The wall-clock fields of `instant` in `timeZone`, as numbers (weekday 1 = Monday). */
export function wallClock(instant, timeZone) {
  const parts = formatter("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "numeric",
    day: "numeric",
    hour: "numeric",
    minute: "numeric",
    second: "numeric",
    weekday: "short",
  }).formatToParts(toDate(instant));
  const get = (type) => parts.find((p) => p.type === type)?.value;
  const weekdays = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
  return {
    year: Number(get("year")),
    month: Number(get("month")),
    day: Number(get("day")),
    hour: Number(get("hour")),
    minute: Number(get("minute")),
    second: Number(get("second")),
    weekday: weekdays.indexOf(get("weekday")) + 1,
  };
}

function offsetMinutes(epochMs, timeZone) {
  const w = wallClock(epochMs, timeZone);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return Math.round((asUtc - Math.floor(epochMs / 1000) * 1000) / 60000);
}

/**
 * The instant at which the wall clock in `timeZone` reads `date` ("2026-03-29") and
 * `time` ("02:30"). A time skipped by a DST change moves forward by the gap; a time
 * that happens twice resolves to the earlier one.
 */
export function zonedToInstant(date, time, timeZone) {
  const [y, mo, d] = date.split("-").map(Number);
  const [h, mi = 0, s = 0] = time.split(":").map(Number);
  const wall = Date.UTC(y, mo - 1, d, h, mi, s);
  const before = offsetMinutes(wall - 86400000, timeZone);
  const after = offsetMinutes(wall + 86400000, timeZone);
  const candidates = [wall - before * 60000, wall - after * 60000].sort((a, b) => a - b);
  for (const t of candidates) {
    if (t - wall === -offsetMinutes(t, timeZone) * 60000) return new Date(t);
  }
  // In a gap: no instant shows this wall time; use the later offset's reading.
  return new Date(wall - before * 60000);
}
