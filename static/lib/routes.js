/**
 * Every page of the app, in navigation order. A page is a custom element (`tag`)
 * registered in index.js; `:name` segments of `path` reach it as `element.params.name`.
 *
 *   path   "/mentorships/:id"         matched against location.pathname
 *   tag    "mentorship-page"          the element the router mounts
 *   title  "Mentorship"               document title and navigation label
 *   nav    true                       listed in the header navigation
 *   auth   true                       signed-out visitors go to /login?next=<path>
 *   guest  true                       only for signed-out visitors (hidden when signed in)
 */
export const routes = [
  { path: "/", tag: "home-page", title: "Home", nav: true, auth: false },
  { path: "/mentors", tag: "mentors-page", title: "Find a mentor", nav: true, auth: true },
  { path: "/mentors/:id/request", tag: "request-page", title: "Ask for mentoring", auth: true },
  { path: "/mentorships", tag: "mentorships-page", title: "Mentorships", nav: true, auth: true },
  { path: "/mentorships/:id", tag: "mentorship-page", title: "Mentorship", auth: true },
  { path: "/mentorships/:id/thread", tag: "thread-page", title: "Messages", auth: true },
  { path: "/mentorships/:id/book", tag: "booking-page", title: "Book a session", auth: true },
  { path: "/sessions", tag: "sessions-page", title: "Sessions", nav: true, auth: true },
  { path: "/availability", tag: "availability-page", title: "Availability", nav: true, auth: true },
  { path: "/notifications", tag: "notifications-page", title: "Notifications", nav: true, auth: true },
  { path: "/profile", tag: "profile-page", title: "Profile", nav: true, auth: true },
  { path: "/people/:id", tag: "person-page", title: "Profile", auth: true },
  { path: "/sessions/:id/call", tag: "call-page", title: "Live session", auth: true },
  { path: "/calendar", tag: "calendars-page", title: "Calendars", nav: true, auth: true },
  { path: "/device-check", tag: "device-check-page", title: "Device check", nav: true, auth: true },
  { path: "/account", tag: "account-page", title: "Account", nav: true, auth: true },
  { path: "/login", tag: "login-page", title: "Sign in", nav: true, auth: false, guest: true },
  { path: "/signup", tag: "signup-page", title: "Sign up", nav: true, auth: false, guest: true },
  { path: "/forgot-password", tag: "forgot-password-page", title: "Forgot password", auth: false },
  { path: "/reset-password", tag: "reset-password-page", title: "New password", auth: false },
  { path: "/verify-email", tag: "verify-email-page", title: "Confirm email", auth: false },
];
