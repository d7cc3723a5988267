/**
 * Every date and time the app shows goes through this module, so a person sees one way
 * of writing them on every page, in their own zone and their browser's language. Intl
 * only: the browser's ICU knows every IANA zone and its rules, so no zone data of ours.
 *
 * An "instant" is anything `new Date(x)` accepts: a Date, epoch milliseconds, or an
 * ISO 8601 string with an offset as the API sends them ("2026-11-30T14:00:00Z"). A
 * "date" is a calendar day written "2026-11-30"; a "zone" is an IANA name.
 *
 * The words, shown for 2026-11-30T14:05:00Z in Europe/Berlin (en-GB | en-US):
 *
 *   formatTime          15:05 | 3:05 PM
 *   formatWallTime      "15:05" from the API written as formatTime writes it
 *   formatDay           Monday 30 November | Monday, November 30        (also takes a date)
 *   formatDate          Monday, 30 November 2026 | Monday, November 30, 2026
 *   formatMonth         November 2026 (from "2026-11")
 *   formatDayTime       Monday 30 November at 15:05 | Monday, November 30 at 3:05 PM
 *   formatRange         Monday 30 November at 15:05–16:05 (the end's day added if it differs)
 *   formatDateTime      30 Nov 2026, 15:05 | Nov 30, 2026, 3:05 PM     ("full": formatDate's day)
 *   formatWeekdayTime   Monday 15:05 | Monday 3:05 PM                   ("short": Mon 15:05)
 *   formatRelative      in 3 hours, tomorrow, 5 minutes ago, now
 *   formatDuration      90 minutes (session lengths are chosen in minutes)
 *   formatClock         1:05 (a recording's length or elapsed time, minutes:seconds)
 *   formatMinuteOfDay   09:30, 24:00 (working hours, always 24-hour: they are typed so)
 *   zoneLabel           Berlin, Sao Paulo (the city of a zone)
 *   zoneName            Europe/Berlin, America/Sao Paulo (the whole name, readable)
 *   offsetLabel         GMT+1, GMT+5:30
 *
 * The hour is written as the language writes it on its own: two digits where the
 * 24-hour clock is used ("09:05"), one where it is not ("9:05 AM"). `now()` is the only
 * clock: it reads Date.now(), so a test that fixes the browser's clock fixes every page.
 */

/** The current instant; every page asks this, never `new Date()` on its own. */
export function now() {
  return new Date(Date.now());
}

/** The zone the browser runs in, e.g. "Asia/Kolkata". */
export function browserTimeZone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

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

let hourStyle = null;

/** "2-digit" where the language writes 09:05 on its own, "numeric" where 9:05 AM. */
function hour() {
  if (!hourStyle) {
    const parts = formatter(undefined, { timeStyle: "short", timeZone: "UTC" }).formatToParts(
      Date.UTC(2000, 0, 1, 9, 5),
    );
    hourStyle = parts.find((p) => p.type === "hour")?.value.length === 2 ? "2-digit" : "numeric";
  }
  return hourStyle;
}

/** `instant` in `zone` with Intl options of its own; the functions below are the words to use. */
export function formatInstant(instant, zone, options = { dateStyle: "medium", timeStyle: "short" }) {
  return formatter(undefined, { ...options, timeZone: zone }).format(toDate(instant));
}

export function formatTime(instant, zone) {
  return formatInstant(instant, zone, { timeStyle: "short" });
}

/** A wall-clock time the API wrote as "13:00", the way formatTime writes times. */
export function formatWallTime(text) {
  const [h, m] = text.split(":").map(Number);
  return formatTime(Date.UTC(2000, 0, 1, h, m), "UTC");
}

/** The day of `instant` in `zone`, or of a date ("2026-11-30"; then `zone` is not needed). */
export function formatDay(day, zone) {
  const options = { weekday: "long", day: "numeric", month: "long" };
  if (typeof day === "string" && DATE.test(day)) return formatInstant(`${day}T12:00:00Z`, "UTC", options);
  return formatInstant(day, zone, options);
}

export function formatDate(instant, zone) {
  return formatInstant(instant, zone, { dateStyle: "full" });
}

/** A month written "2027-02" as "February 2027". */
export function formatMonth(month) {
  return formatInstant(`${month}-15T12:00:00Z`, "UTC", { month: "long", year: "numeric" });
}

export function formatDayTime(instant, zone) {
  const options = { weekday: "long", day: "numeric", month: "long", hour: hour(), minute: "2-digit" };
  return formatInstant(instant, zone, options);
}

export function formatRange(start, end, zone) {
  const sameDay = calendarDate(start, zone) === calendarDate(end, zone);
  return `${formatDayTime(start, zone)}–${sameDay ? formatTime(end, zone) : formatDayTime(end, zone)}`;
}

export function formatDateTime(instant, zone, dateStyle = "medium") {
  return formatInstant(instant, zone, { dateStyle, timeStyle: "short" });
}

export function formatWeekdayTime(instant, zone, weekday = "long") {
  return formatInstant(instant, zone, { weekday, hour: hour(), minute: "2-digit" });
}

const RELATIVE_STEPS = [
  ["second", 60],
  ["minute", 60],
  ["hour", 24],
  ["day", 7],
  ["week", 4.35],
  ["month", 12],
  ["year", Infinity],
];

/** "in 3 hours", "tomorrow", "5 minutes ago"; under a minute away is "now". */
export function formatRelative(instant, from = now()) {
  let amount = (toDate(instant).getTime() - toDate(from).getTime()) / 1000;
  const words = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
  if (Math.abs(amount) < 60) return words.format(0, "second");
  for (const [unit, size] of RELATIVE_STEPS) {
    if (Math.abs(amount) < size) return words.format(Math.round(amount), unit);
    amount /= size;
  }
  return words.format(Math.round(amount), "year");
}

export function formatDuration(minutes) {
  return new Intl.NumberFormat(undefined, { style: "unit", unit: "minute", unitDisplay: "long" }).format(minutes);
}

export function formatClock(seconds) {
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

const pad = (n) => String(n).padStart(2, "0");

/** Minutes after midnight as "09:30"; 1440 is "24:00", the end of a day. */
export function formatMinuteOfDay(minutes) {
  return `${pad(Math.floor(minutes / 60))}:${pad(minutes % 60)}`;
}

/** "09:30" → 570. */
export function parseMinuteOfDay(text) {
  const [h, m] = text.split(":").map(Number);
  return h * 60 + m;
}

export function zoneLabel(zone) {
  return zone.split("/").pop().replaceAll("_", " ");
}

export function zoneName(zone) {
  return zone.replaceAll("_", " ");
}

/** The zone's UTC offset at that instant, e.g. "GMT+5:30" or "GMT+1". */
export function offsetLabel(instant, zone) {
  const parts = formatter("en-US", { timeZone: zone, timeZoneName: "shortOffset" }).formatToParts(
    toDate(instant),
  );
  return parts.find((p) => p.type === "timeZoneName")?.value ?? zone;
}

// --- calendar arithmetic (values for inputs and the API, not for reading) ----------------

/** The date ("2026-11-30") of `instant` in `zone`. */
export function calendarDate(instant, zone) {
  const w = wallClock(instant, zone);
  return `${w.year}-${pad(w.month)}-${pad(w.day)}`;
}

/** Today's date in `zone`. */
export function todayIn(zone) {
  return calendarDate(now(), zone);
}

/** The date `days` after `date`, by the calendar, not by hours. */
export function addDays(date, days) {
  const d = new Date(`${date}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/** The wall-clock time of `instant` in `zone` as "15:05", the value an <input type=time> takes. */
export function wallTime(instant, zone) {
  const w = wallClock(instant, zone);
  return `${pad(w.hour)}:${pad(w.minute)}`;
}

/** The wall-clock fields of `instant` in `zone`, as numbers (weekday 1 = Monday). */
export function wallClock(instant, zone) {
  const parts = formatter("en-US", {
    timeZone: zone,
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

function offsetMinutes(epochMs, zone) {
  const w = wallClock(epochMs, zone);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return Math.round((asUtc - Math.floor(epochMs / 1000) * 1000) / 60000);
}

/**
 * The instant at which the wall clock in `zone` reads `date` ("2026-03-29") and `time`
 * ("02:30"). A time skipped by a DST change moves forward by the gap; a time that
 * happens twice resolves to the earlier one.
 */
export function zonedToInstant(date, time, zone) {
  const [y, mo, d] = date.split("-").map(Number);
  const [h, mi = 0, s = 0] = time.split(":").map(Number);
  const wall = Date.UTC(y, mo - 1, d, h, mi, s);
  const before = offsetMinutes(wall - 86400000, zone);
  const after = offsetMinutes(wall + 86400000, zone);
  const candidates = [wall - before * 60000, wall - after * 60000].sort((a, b) => a - b);
  for (const t of candidates) {
    if (t - wall === -offsetMinutes(t, zone) * 60000) return new Date(t);
  }
  // In a gap: no instant shows this wall time; use the later offset's reading.
  return new Date(wall - before * 60000);
}
