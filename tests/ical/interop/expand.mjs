// Reads an iCalendar document on stdin the way Thunderbird does (Mozilla's ical.js) and
// prints every occurrence that starts before the given end, as JSON lines:
// {"uid", "start", "end"} with UTC ISO times. Usage: node expand.mjs ICALJS_DIR END_ISO
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const [dir, endIso] = process.argv.slice(2);
const ICAL = (await import(pathToFileURL(`${dir}/node_modules/ical.js/dist/ical.js`).href)).default;
const end = ICAL.Time.fromJSDate(new Date(endIso), true);
const root = new ICAL.Component(ICAL.parse(readFileSync(0, "utf8")));
for (const zone of root.getAllSubcomponents("vtimezone")) {
  ICAL.TimezoneService.register(new ICAL.Timezone(zone));
}
const masters = new Map();
const exceptions = [];
for (const component of root.getAllSubcomponents("vevent")) {
  const event = new ICAL.Event(component);
  if (event.isRecurrenceException()) exceptions.push(event);
  else masters.set(event.uid, event);
}
for (const exception of exceptions) {
  const master = masters.get(exception.uid);
  if (master) master.relateException(exception);
  else masters.set(exception.uid + exception.recurrenceId, exception);
}
const out = (uid, start, finish) =>
  console.log(JSON.stringify({ uid, start: start.toJSDate().toISOString(), end: finish.toJSDate().toISOString() }));
for (const event of masters.values()) {
  if (!event.isRecurring()) {
    out(event.uid, event.startDate, event.endDate);
    continue;
  }
  const it = event.iterator();
  for (let next = it.next(); next && next.compare(end) < 0; next = it.next()) {
    const details = event.getOccurrenceDetails(next);
    out(event.uid, details.startDate, details.endDate);
  }
}
