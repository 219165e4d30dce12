// The REST API, as any client calls it: the API key (kept for this tab in sessionStorage) goes
// in the Authorization header, and the server decides what this tenant may see.

const KEY = "memstrata.apiKey";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function savedKey() {
  return sessionStorage.getItem(KEY);
}

export function saveKey(key) {
  sessionStorage.setItem(KEY, key);
}

export function forgetKey() {
  sessionStorage.removeItem(KEY);
}

function url(path, query) {
  const target = new URL(`v1${path}`, document.baseURI);
  for (const [name, value] of Object.entries(query || {})) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item !== null && item !== undefined && item !== "") target.searchParams.append(name, item);
    }
  }
  return target;
}

/** Call the API; resolve to the JSON answer, or throw an ApiError with the server's message. */
export async function api(method, path, { query, body, key = savedKey() } = {}) {
  const headers = { Accept: "application/json" };
  if (key) headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url(path, query), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    throw new ApiError(0, "unreachable", `the server did not answer (${error.message})`);
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const error = (data && data.error) || {};
    if (response.status === 401) window.dispatchEvent(new Event("memstrata:unauthorized"));
    throw new ApiError(response.status, error.code || "error", error.message || response.statusText);
  }
  return data;
}

export const get = (path, query) => api("GET", path, { query });
export const post = (path, body, query) => api("POST", path, { body, query });
