import { html } from "./html.js";

/**
 * Why mentees cannot find a mentor, in her own words, from her profile
 * (GET /api/me/profile). Discovery hides a mentor without free places or without a
 * language in common with the mentee; without working hours she is listed, but with no
 * time shown in common, so mentees pass her by.
 *
 *   findability(profile)  →  [] when nothing stands in the way, else sentences
 */
export function findability(profile) {
  if (!profile?.roles?.includes("mentor")) return [];
  const reasons = [];
  if (profile.capacity <= 0) {
    reasons.push("You take no mentees at the moment: set how many mentees you can take at once.");
  } else if (profile.active_mentees >= profile.capacity) {
    const places = profile.capacity === 1 ? "Your one place is" : `All ${profile.capacity} of your places are`;
    reasons.push(`${places} taken: make room for another mentee if you can.`);
  }
  if (!profile.languages?.length) {
    reasons.push("You have not said which languages you speak.");
  }
  if (!profile.working_hours?.length) {
    reasons.push("You have no working hours, so mentees see no time you have in common.");
  }
  return reasons;
}

/** The reasons as a banner (nothing when there are none), with a way to fix them. */
export function findableBanner(profile, { link = false } = {}) {
  const reasons = findability(profile);
  if (!reasons.length) return "";
  return html`<div class="banner" role="region" aria-label="What keeps mentees from finding you">
    <strong>What keeps mentees from finding you</strong>
    <ul>
      ${reasons.map((r) => html`<li>${r}</li>`)}
    </ul>
    ${link && html`<p><a href="/profile">Change your profile</a></p>`}
  </div>`;
}
