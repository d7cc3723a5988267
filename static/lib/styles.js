/**
 * A component's own stylesheet, linked once into <head> however many copies of the
 * component a page shows, so a component brings its look to whichever page uses it.
 * (A <link> is the only way: the Content-Security-Policy refuses inline styles.)
 *
 *   connectedCallback() { useStylesheet("/components/slot-picker/slot-picker.css"); ... }
 */

export function useStylesheet(href) {
  if (document.head.querySelector(`link[rel="stylesheet"][href="${CSS.escape(href)}"]`)) return;
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = href;
  document.head.append(link);
}
