/**
 * The one way the browser talks to Meridian's API: JSON in, JSON out, cookies sent.
 * A non-2xx answer throws ApiError carrying the problem document, so a page can show
 * `detail` to the person and put each of `errors` next to its input. `api.upload` sends
 * a file as it is (an .ics, say) and reads the JSON answer the same way. Pages never
 * call `fetch` themselves; only the tus client (lib/tus.js) does, for its binary PATCHes.
 */

export class ApiError extends Error {
  constructor(status, problem = {}) {
    super(problem.detail || problem.title || `The request failed (${status}).`);
    this.name = "ApiError";
    this.status = status;
    this.problem = problem;
    this.title = problem.title ?? "";
    this.detail = this.message;
    this.errors = Array.isArray(problem.errors) ? problem.errors : [];
  }

  /** The message for one input, e.g. error.fieldError("email"), or undefined. */
  fieldError(field) {
    return this.errors.find((e) => e.field === field)?.message;
  }
}

const NETWORK_PROBLEM = {
  title: "Network error",
  detail: "Meridian could not be reached. Check your connection and try again.",
};

async function request(method, path, body, contentType = undefined) {
  const headers = { Accept: "application/json, application/problem+json" };
  const init = { method, headers, credentials: "same-origin" };
  if (body instanceof Blob) {
    headers["Content-Type"] = contentType || body.type || "application/octet-stream";
    init.body = body;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, NETWORK_PROBLEM);
  }
  const type = response.headers.get("Content-Type") ?? "";
  const data =
    response.status !== 204 && type.includes("json") ? await response.json().catch(() => null) : null;
  if (!response.ok) {
    throw new ApiError(
      response.status,
      data ?? { title: response.statusText, detail: `The server answered ${response.status}.` },
    );
  }
  return data;
}

export const api = {
  get: (path) => request("GET", path),
  post: (path, body) => request("POST", path, body),
  put: (path, body) => request("PUT", path, body),
  patch: (path, body) => request("PATCH", path, body),
  del: (path, body) => request("DELETE", path, body),
  /** POSTs a Blob or File as the body, e.g. api.upload(path, file, "text/calendar"). */
  upload: (path, blob, type) => request("POST", path, blob, type),
};
