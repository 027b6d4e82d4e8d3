// The API client: every call goes through request(), which adds the credential and turns the
// OMS's JSON errors ({error, message, field}) and an unreachable API into one error type the
// banner shows.
import { authHeaders, currentCredential, ownLocations, type ConsoleConfig } from "./auth";
import { renew } from "./refresh";

export class ApiError extends Error {
  constructor(
    readonly status: number, // 0: the API could not be reached
    message: string,
    readonly code: string | null = null,
    readonly field: string | null = null,
    readonly body: unknown = null, // the answer's JSON, for callers that read more than the message
  ) {
    super(message);
  }
}

let config: ConsoleConfig = { apiBase: "", auth: "api-key" };

export async function loadConfig(): Promise<ConsoleConfig> {
  try {
    const response = await fetch("./config.json", { cache: "no-store" });
    if (response.ok) config = { ...config, ...(await response.json()) };
  } catch {
    // No config: the API is on this origin (the defaults).
  }
  return config;
}

export async function request<T>(method: string, path: string, body?: unknown, contentType = "application/json"): Promise<T> {
  await renew(config); // a person's token near its expiry: renewed first
  const payload = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
  const send = () => fetch(config.apiBase + path, { method, body: payload, headers: { Accept: "application/json",
    ...(body !== undefined ? { "Content-Type": contentType } : {}), ...authHeaders(currentCredential(), config.consoleKey) } });
  let response: Response;
  try {
    response = await send();
    // Expired after all (a clock behind, a laptop woken from sleep): renewed once, and asked again.
    if (response.status === 401 && (await renew(config, true))) response = await send();
  } catch {
    throw new ApiError(0, `The API at ${config.apiBase || location.origin} cannot be reached. It will be tried again.`);
  }
  const text = await response.text();
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const e = (data ?? {}) as { error?: string; message?: string; field?: string | null };
    throw new ApiError(response.status, e.message || response.statusText || "request failed", e.error ?? null, e.field ?? null, data);
  }
  return data as T;
}

export const get = <T>(path: string) => request<T>("GET", path);
export const post = <T>(path: string, body?: unknown) => request<T>("POST", path, body);

export function query(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : "";
}

/** A CSV answer (Accept: text/csv) fetched with the credential and handed to the browser as a file. */
export async function downloadCsv(path: string, filename: string): Promise<void> {
  await renew(config);
  let response: Response;
  try {
    response = await fetch(config.apiBase + path, { headers: { Accept: "text/csv", ...authHeaders(currentCredential(), config.consoleKey) } });
  } catch {
    throw new ApiError(0, `The API at ${config.apiBase || location.origin} cannot be reached.`);
  }
  if (!response.ok) {
    const e = (await response.json().catch(() => ({}))) as { error?: string; message?: string; field?: string | null };
    throw new ApiError(response.status, e.message || response.statusText || "request failed", e.error ?? null, e.field ?? null);
  }
  const url = URL.createObjectURL(new Blob([await response.text()], { type: "text/csv" }));
  const a = Object.assign(document.createElement("a"), { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** The locations the caller may pick: a warehouse person's own (from their groups), else GET /locations. */
export async function pickableLocations(): Promise<{ location_id: string; name: string }[]> {
  const own = ownLocations();
  return own ? own.map((location_id) => ({ location_id, name: "yours" })) : get<{ location_id: string; name: string }[]>("/locations");
}
